import { Router } from "express";
import type { AppContext } from "../../context.ts";
import { getDeviceView } from "../../db/queries/fleet.ts";
import { isStorableText } from "../../domain/storableText.ts";

export function devicesRouter(ctx: AppContext): Router {
  const router = Router();
  router.get("/:id", async (req, res) => {
    // Devices are kept in our store only by the backend that runs in it: the simulated fleet.
    if (ctx.backend.runs !== "in_transaction") {
      res.status(404).json({ error: "not_found", message: "device views exist only with BACKEND=simulated" });
      return;
    }
    // An id Postgres could not store names no device.
    const device = isStorableText(req.params.id) ? await getDeviceView(ctx.db, req.params.id) : undefined;
    if (!device) {
      res.status(404).json({ error: "not_found", message: "no device with that id" });
      return;
    }
    res.json(device);
  });
  return router;
}
