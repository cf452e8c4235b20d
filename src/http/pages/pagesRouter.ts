// GET /investigations/:id and GET /actions/:id: the pages the Slack buttons link to. Read-only, no
// login on the embedded default; a failure still answers with a page a person can read.
import { type Request, type Response, Router } from "express";
import type { AppContext } from "../../context.ts";
import { isStoreUnavailable } from "../../db/errors.ts";
import { getAction } from "../../db/queries/actions.ts";
import { getInvestigation, withEvents } from "../../db/queries/investigations.ts";
import { isStorableText } from "../../domain/storableText.ts";
import type { Html } from "./html.ts";
import { sendPage } from "./html.ts";
import { actionPage, investigationPage, messagePage } from "./investigationPage.ts";

/** More actions than this in one investigation are left to the API's paged list. */
const PAGE_ACTIONS_LIMIT = 500;

const ACTION_ID = /^[1-9][0-9]{0,15}$/;

export function pagesRouter(ctx: AppContext): Router {
  const router = Router();

  const answer =
    (render: (req: Request<{ id: string }>) => Promise<Html | null>) =>
    async (req: Request<{ id: string }>, res: Response) => {
      try {
        const page = await render(req);
        if (page) sendPage(res, 200, page);
        else sendPage(res, 404, messagePage("Not found", "There is no such investigation or action here."));
      } catch (error) {
        ctx.log.error({ err: error, path: req.path }, "page failed");
        const unavailable = isStoreUnavailable(error);
        sendPage(
          res,
          unavailable ? 503 : 500,
          messagePage(
            "Try again in a moment",
            unavailable
              ? "The store does not answer right now, so this page cannot be shown."
              : "This page could not be shown; the error is in the server log.",
          ),
        );
      }
    };

  router.get(
    "/investigations/:id",
    answer(async (req) => {
      // An id Postgres could not store names no investigation.
      if (!isStorableText(req.params.id)) return null;
      const view = await getInvestigation(ctx.db, req.params.id, PAGE_ACTIONS_LIMIT);
      return view ? investigationPage(view) : null;
    }),
  );

  router.get(
    "/actions/:id",
    answer(async (req) => {
      const action = ACTION_ID.test(req.params.id)
        ? await getAction(ctx.db, Number(req.params.id))
        : undefined;
      if (!action) return null;
      const [item] = await withEvents(ctx.db, [action]);
      return actionPage(item!);
    }),
  );

  return router;
}
