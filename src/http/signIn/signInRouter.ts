// The step-up sign-in pages: GET /sign-in/<token> shows what the link is for and a button (a GET
// alone changes nothing, so Slack's link preview cannot use the link up); POST uses the link once
// and sends the person to the identity provider; GET /sign-in/callback takes the provider's
// answer and commits the held decision only for the Slack user who clicked.
import { type Request, type Response, Router } from "express";
import type { AppContext } from "../../context.ts";
import type { ActionRow, StepUpRow } from "../../db/schema.ts";
import { ACTION_TYPE_INFO, describeEntity } from "../../domain/actionTypes.ts";
import {
  finishSignIn,
  type Recheck,
  signInInProgress,
  startSignIn,
  stepUpForLink,
} from "../../services/stepUp.ts";
import { SIGN_IN_CALLBACK_PATH, SIGN_IN_PATH } from "../../services/stepUpGate.ts";
import { html, sendPage } from "../pages/html.ts";
import { messagePage, pageLayout } from "../pages/investigationPage.ts";
import type { SignInClient } from "./oidcClient.ts";

/** The browser's half of a sign-in in progress: only the browser that started it can finish it. */
const BROWSER_COOKIE = "action_center_sign_in";
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export type SignInRoutes = {
  client: SignInClient;
  /** The per-person checks of a click (approver lists, own requests), asked again. */
  mayStillDecide: (stepUp: StepUpRow, action: ActionRow) => Promise<Recheck>;
};

export function signInRouter(ctx: AppContext, routes: SignInRoutes): Router {
  const router = Router();
  const { policy } = ctx.config;
  // The base may carry a path (behind a proxy at /action-center): links, the redirect URI and
  // the cookie all live under it, while the routes here see the path after it.
  const base = new URL(ctx.config.signIn?.baseUrl ?? ctx.config.publicUrl);
  const secure = base.protocol === "https:";
  const cookiePath = `${base.pathname.replace(/\/+$/, "")}${SIGN_IN_PATH}`;
  const page = (res: Response, status: number, title: string, text: string) =>
    sendPage(res, status, messagePage(title, text));

  const failed = (res: Response, error: unknown, req: Request) => {
    ctx.log.error(
      { err: error, path: req.path.replace(/\/[A-Za-z0-9_-]{43}$/, "/…") },
      "sign-in page failed",
    );
    page(
      res,
      500,
      "Try again in a moment",
      "The sign-in could not go on; nothing was done. The error is in the server log.",
    );
  };

  router.get(SIGN_IN_CALLBACK_PATH, async (req, res) => {
    try {
      // The address the provider redirected to, as it was registered (openid-client sends it back).
      const url = new URL(routes.client.redirectUri);
      url.search = new URL(req.originalUrl, base).search;
      const state = url.searchParams.get("state");
      if (!state)
        return page(res, 400, "Not a sign-in", "This address is for the identity provider's answer only.");
      const found = await signInInProgress(ctx.db, state, cookie(req, BROWSER_COOKIE));
      if (!found.ok) return page(res, 400, "Sign-in not in progress", found.message);
      const { stepUp } = found;
      const answer = await routes.client.answer(url, {
        state,
        nonce: stepUp.nonce!,
        codeVerifier: stepUp.codeVerifier!,
      });
      if (answer.kind === "failed")
        ctx.log.warn({ stepUpId: stepUp.id, reason: answer.message }, "sign-in refused");
      const outcome = await finishSignIn(
        ctx.db,
        { policy, mayStillDecide: routes.mayStillDecide },
        stepUp.id,
        answer,
      );
      res.clearCookie(BROWSER_COOKIE, { path: cookiePath });
      if (!outcome.ok)
        return page(res, outcome.code === "cancelled" ? 200 : 403, "Nothing was done", outcome.message);
      const done = outcome.approvals
        ? `Approval recorded (${outcome.approvals.count} of ${outcome.approvals.needed})`
        : outcome.decision === "approve"
          ? "Approved"
          : "Undo requested";
      page(
        res,
        200,
        done,
        `${done}: ${describe(outcome.action)}. You can close this page; Slack shows the rest.`,
      );
    } catch (error) {
      failed(res, error, req);
    }
  });

  router.get(`${SIGN_IN_PATH}/:token`, async (req: Request<{ token: string }>, res) => {
    try {
      if (!TOKEN.test(req.params.token))
        return page(res, 404, "Not found", "This sign-in link is not known here.");
      const found = await stepUpForLink(ctx.db, req.params.token);
      if (!found.ok)
        return page(res, found.code === "no_such_link" ? 404 : 410, "This link does not work", found.message);
      const { stepUp, action } = found;
      const verb = stepUp.decision === "approve" ? "approve" : "undo";
      const origin = await routes.client.authorizationOrigin();
      sendPage(
        res,
        200,
        pageLayout(
          `Sign in to ${verb}`,
          html`<h1>Sign in to ${verb}</h1>
<p>${verb === "approve" ? "Approving" : "Undoing"} <strong>${describe(action)}</strong> needs a fresh sign-in with your organisation's account, as the Slack user who clicked.</p>
<p>Nothing is done until you have signed in. This link works once.</p>
<form method="post" action="${req.params.token}"><button type="submit">Sign in to ${verb}</button></form>`,
        ),
        `default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self' ${origin}; frame-ancestors 'none'`,
      );
    } catch (error) {
      failed(res, error, req);
    }
  });

  router.post(`${SIGN_IN_PATH}/:token`, async (req: Request<{ token: string }>, res) => {
    try {
      if (!TOKEN.test(req.params.token))
        return page(res, 404, "Not found", "This sign-in link is not known here.");
      const started = await startSignIn(ctx.db, req.params.token, policy);
      if (!started.ok)
        return page(
          res,
          started.code === "no_such_link" ? 404 : 410,
          "This link does not work",
          started.message,
        );
      const { secrets } = started;
      res.cookie(BROWSER_COOKIE, secrets.browserSecret, {
        httpOnly: true,
        secure,
        // Lax: sent on the provider's top-level redirect back, not on other sites' requests.
        sameSite: "lax",
        path: cookiePath,
        maxAge: policy.signIn.linkValidFor,
      });
      res.redirect(303, String(await routes.client.authorizationUrl(secrets)));
    } catch (error) {
      failed(res, error, req);
    }
  });

  return router;
}

function describe(action: ActionRow): string {
  const entity = describeEntity(action.type, action.entity);
  const where = action.deviceName ?? action.deviceId ?? "all devices";
  return `${ACTION_TYPE_INFO[action.type].label}${entity ? ` ${entity}` : ""} on ${where}`;
}

function cookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return decodeURIComponent(value.join("="));
  }
  return undefined;
}
