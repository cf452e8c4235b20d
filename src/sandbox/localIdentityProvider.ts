// A real OpenID Connect provider (oidc-provider) on this machine, standing in for Microsoft Entra
// ID where none is configured: the sandbox starts it when the policy asks for step-up sign-in, and
// the tests sign people in through it. Its login page lets you pick who you are (there are no
// passwords: it stands in for the person's credentials, not for checking them) or cancel.
// Only the sandbox (app.ts, when no workspace is configured) and the tests load it.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { escapeHtml } from "../http/pages/html.ts";

export type LocalAccount = {
  sub: string;
  email: string;
  name: string;
  /** Whether the provider vouches for the address (`email_verified`); true unless said. */
  emailVerified?: boolean;
};

export type LocalIdentityProvider = {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
};

/** How the stand-in says the person signed in: a password and a second factor. */
export const LOCAL_AMR = ["pwd", "mfa"];
export const LOCAL_ACR = "urn:action-center:sandbox:mfa";

export async function startLocalIdentityProvider(options: {
  accounts: readonly LocalAccount[];
  redirectUri: string;
}): Promise<LocalIdentityProvider> {
  // Loaded here, not at the top: production paths never load the provider.
  const { default: Provider } = await import("oidc-provider");
  const clientId = "action-center-sandbox";
  const clientSecret = randomBytes(24).toString("base64url");
  const accounts = new Map(options.accounts.map((a) => [a.sub, a]));
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  const server = createServer((req, res) => handle?.(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signingKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        response_types: ["code"],
        grant_types: ["authorization_code"],
        token_endpoint_auth_method: "client_secret_post",
      },
    ],
    jwks: { keys: [{ ...signingKey, use: "sig", alg: "RS256", kid: "local" } as never] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    pkce: { required: () => true },
    // How and when the person signed in (acr, amr, auth_time) go in the ID token, as asked.
    claims: {
      acr: null,
      amr: null,
      auth_time: null,
      sid: null,
      openid: ["sub", "acr", "amr"],
      email: ["email", "email_verified"],
      profile: ["name"],
    },
    // Short-lived, all of it: a sign-in here is one step-up, not a session to keep.
    ttl: { Interaction: 600, Session: 600, Grant: 600, AuthorizationCode: 60, AccessToken: 60, IdToken: 60 },
    // The claims asked for go in the ID token itself, as Entra ID's do.
    conformIdTokenClaims: false,
    acrValues: [LOCAL_ACR],
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, id) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return {
        accountId: id,
        claims: () => ({
          sub: id,
          email: account.email,
          email_verified: account.emailVerified ?? true,
          name: account.name,
        }),
      };
    },
    // First-party: no consent screen; the grant covers what the sign-in asks for.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client!.clientId,
        accountId: ctx.oidc.session!.accountId!,
      });
      grant.addOIDCScope("openid email profile");
      await grant.save();
      return grant;
    },
  });
  const callback = provider.callback();
  handle = (req, res) => {
    const match = /^\/interaction\/([\w-]+)(\/login|\/abort)?$/.exec(req.url?.split("?")[0] ?? "");
    if (!match) return void callback(req, res);
    interaction(req, res, match[2]).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(400, { "content-type": "text/plain" });
      res.end(`sign-in failed: ${(error as Error).message}`);
    });
  };

  async function interaction(req: IncomingMessage, res: ServerResponse, step: string | undefined) {
    const details = await provider.interactionDetails(req, res);
    if (req.method === "GET" && !step) {
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
      });
      res.end(loginPage(details.uid, options.accounts));
      return;
    }
    if (req.method !== "POST") throw new Error("not a sign-in step");
    if (step === "/abort") {
      await provider.interactionFinished(
        req,
        res,
        { error: "access_denied", error_description: "The person cancelled the sign-in" },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    const account = new URLSearchParams(await body(req)).get("account") ?? "";
    if (!accounts.has(account)) throw new Error("no such account");
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: account, amr: LOCAL_AMR, acr: LOCAL_ACR } },
      { mergeWithLastSubmission: false },
    );
  }

  return {
    issuer,
    clientId,
    clientSecret,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function loginPage(uid: string, accounts: readonly LocalAccount[]): string {
  const buttons = accounts
    .map(
      (a) =>
        `<form method="post" action="/interaction/${escapeHtml(uid)}/login"><input type="hidden" name="account" value="${escapeHtml(a.sub)}"><button type="submit">Sign in as ${escapeHtml(a.name)} (${escapeHtml(a.email)})</button></form>`,
    )
    .join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Local sign-in</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}button{margin:.3rem 0;padding:.5rem .8rem}</style></head>
<body><h1>Local sign-in</h1><p>This stands in for your organisation's sign-in (Microsoft Entra ID in production). Choose who you are:</p>
${buttons}
<form method="post" action="/interaction/${escapeHtml(uid)}/abort"><button type="submit">Cancel</button></form></body></html>`;
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      text += chunk;
      if (text.length > 10_000) reject(new Error("body too large"));
    });
    req.on("end", () => resolve(text));
    req.on("error", reject);
  });
}
