// The ingest API of the contract: POST actions, GET one, GET a filtered page.

import { Router } from "express";
import { z } from "zod";
import type { AppContext } from "../../context.ts";
import { getAction, getActionEvents, listActions } from "../../db/queries/actions.ts";
import { parseIngestBody } from "../../domain/actionInput.ts";
import { ACTION_TYPES } from "../../domain/actionTypes.ts";
import { STATUSES } from "../../domain/status.ts";
import { storableString } from "../../domain/storableText.ts";
import { plainWords } from "../../domain/zodMessages.ts";
import { ingestActions } from "../../services/ingest.ts";
import { presentAction } from "./present.ts";

const csvOf = <T extends string>(values: readonly T[]) =>
  z
    .string()
    .transform((raw) => raw.split(",").map((v) => v.trim()))
    .pipe(z.array(z.enum(values as [T, ...T[]], `must be among ${values.join(", ")}`)));

const listQuerySchema = z
  .object({
    status: csvOf(STATUSES).optional(),
    type: csvOf(ACTION_TYPES).optional(),
    deviceId: storableString().min(1).max(200).optional(),
    investigationId: storableString().min(1).max(200).optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hexadecimal characters")
      .optional(),
    limit: z.coerce.number().int("must be a whole number").min(1).max(500).default(50),
    cursor: z
      .string()
      .regex(/^[1-9][0-9]{0,17}$/, "must be a cursor returned by a previous page")
      .optional(),
  })
  .strict();

const ID = /^[1-9][0-9]{0,17}$/;

export function actionsRouter(ctx: AppContext): Router {
  const router = Router();

  router.post("/", async (req, res) => {
    const parsed = parseIngestBody(req.body);
    if (!parsed.ok) {
      res.status(400).json({ error: "invalid_request", issues: parsed.issues });
      return;
    }
    const results = await ingestActions(ctx.db, parsed.actions, {
      channel: ctx.config.slack.channel,
      policy: ctx.config.policy,
      onRecordedCompleted: ctx.recordCompleted,
    });
    // Counted once per source and type: a counter's increment hashes its labels each time.
    const created = new Map<string, { source: string; type: string; n: number }>();
    parsed.actions.forEach(({ source, type }, index) => {
      if (!results[index]!.created) return;
      const counted = created.get(`${source} ${type}`);
      if (counted) counted.n += 1;
      else created.set(`${source} ${type}`, { source, type, n: 1 });
    });
    for (const { source, type, n } of created.values()) ctx.metrics.actionsIngested.inc({ source, type }, n);
    res.status(201).json({
      actions: results.map((r) => ({ id: String(r.id), externalId: r.externalId, status: r.status })),
    });
  });

  router.get("/:id", async (req, res) => {
    if (!ID.test(req.params.id)) {
      res.status(404).json({ error: "not_found", message: "no action with that id" });
      return;
    }
    const id = Number(req.params.id);
    const action = await getAction(ctx.db, id);
    if (!action) {
      res.status(404).json({ error: "not_found", message: "no action with that id" });
      return;
    }
    res.json(presentAction(action, await getActionEvents(ctx.db, id)));
  });

  router.get("/", async (req, res) => {
    const repeated = Object.entries(req.query).find(([, value]) => typeof value !== "string");
    if (repeated) {
      res.status(400).json({
        error: "invalid_request",
        issues: [{ path: `query.${repeated[0]}`, message: "must be given once, as plain text" }],
      });
      return;
    }
    const parsed = listQuerySchema.safeParse(req.query, { error: plainWords });
    if (!parsed.success) {
      res.status(400).json({
        error: "invalid_request",
        issues: parsed.error.issues.map((issue) => ({
          // The parameter's name is the useful part; `status.0` says nothing more to a caller.
          path: ["query", ...issue.path.slice(0, 1).map(String)].join("."),
          message:
            issue.code === "unrecognized_keys"
              ? `unknown parameter(s): ${issue.keys.join(", ")}`
              : issue.message,
        })),
      });
      return;
    }
    const q = parsed.data;
    const page = await listActions(
      ctx.db,
      {
        status: q.status,
        type: q.type,
        deviceId: q.deviceId,
        investigationId: q.investigationId,
        sha256: q.sha256,
      },
      { limit: q.limit, before: q.cursor === undefined ? undefined : Number(q.cursor) },
    );
    res.json({
      actions: page.actions.map((a) => presentAction(a)),
      nextCursor: page.nextCursor === null ? null : String(page.nextCursor),
    });
  });

  return router;
}
