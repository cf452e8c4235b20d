// Talks to Microsoft Defender for Endpoint: an app-only token from Microsoft Entra ID (OAuth 2.0
// client credentials), cached until shortly before it expires and fetched again once on a 401,
// and every documented error turned into one BackendError whose message an analyst can act on.
// The client secret and tokens never appear in an error message, in any spelling (lib/redact.ts),
// and an upstream error body is never passed on whole: only its status, its error code (when it
// looks like one), its message and correlation id, redacted and cut short.
import type { DefenderConfig } from "../../config/env.ts";
import { createRedactor } from "../../lib/redact.ts";
import { BackendError, BackendRateLimitError } from "../types.ts";

export type DefenderClientSettings = Pick<
  DefenderConfig,
  "tenantId" | "clientId" | "clientSecret" | "tokenUrl" | "apiUrl" | "scope"
>;

export type CallOptions = {
  method: "GET" | "POST" | "DELETE";
  /** Under the API base, starting with /api. */
  path: string;
  body?: unknown;
  /** The application permission the call needs, named when Defender answers 403. */
  permission: string;
  /** What a 404 means for this call, e.g. "device LAPTOP-7 is not known to Defender". */
  notFound: string;
};

/** A refusal from Defender's API, with its documented error code (e.g. ActiveRequestAlreadyExists). */
export class DefenderApiError extends BackendError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message, false);
    this.name = "DefenderApiError";
  }
}

export const ACTIVE_REQUEST_ALREADY_EXISTS = "ActiveRequestAlreadyExists";
const REQUEST_TIMEOUT_MS = 20_000;
// Without a Retry-After, wait as long as a per-minute quota needs to roll over.
const DEFAULT_RETRY_AFTER_MS = 60_000;
const MAX_REFRESH_MARGIN_MS = 5 * 60_000;
/** What an error code or correlation id looks like; anything else an upstream sends is not shown. */
const ERROR_CODE = /^[A-Za-z][A-Za-z0-9_.]{0,63}$/;
const CORRELATION_ID = /^[0-9A-Za-z-]{8,64}$/;

export type DefenderClient = ReturnType<typeof createDefenderClient>;

export function createDefenderClient(
  settings: DefenderClientSettings,
  hooks: {
    /** Runs before every API call (not token requests): the shared hourly budget. */
    beforeCall?: () => Promise<void>;
  } = {},
) {
  let cached: { value: string; refreshAt: number } | null = null;
  let signingIn: Promise<string> | null = null;

  /** Removes anything secret a remote message could echo back, in any spelling; at most 300 characters. */
  const redact = createRedactor(() => [settings.clientSecret, cached?.value]);
  /** The same for a whole summary: status, code, message and correlation id. */
  const redactSummary = createRedactor(() => [settings.clientSecret, cached?.value], 500);

  async function send(url: string, init: RequestInit, what: string): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (error) {
      // fetch reports a network failure as TypeError("fetch failed") with the cause, and a timeout
      // as TimeoutError; anything else is a bug here, not the service's fault.
      const network = error instanceof TypeError && error.message === "fetch failed";
      if (!network && !(error instanceof DOMException && error.name === "TimeoutError")) throw error;
      const reason = (error.cause instanceof Error ? error.cause : error).message;
      throw new BackendError(`could not reach ${what} at ${new URL(url).host}: ${redact(reason)}`, true);
    }
  }

  async function signIn(): Promise<string> {
    const response = await send(
      settings.tokenUrl,
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: settings.clientId,
          client_secret: settings.clientSecret,
          scope: settings.scope,
        }),
      },
      "Microsoft Entra ID",
    );
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (response.ok && typeof body.access_token === "string" && Number(body.expires_in) >= 0) {
      const lifetimeMs = Number(body.expires_in) * 1000;
      // Refresh a little early so a token never expires between the check and Defender reading it.
      const margin = Math.min(MAX_REFRESH_MARGIN_MS, lifetimeMs / 2);
      cached = { value: body.access_token, refreshAt: Date.now() + lifetimeMs - margin };
      return body.access_token;
    }
    if (response.ok) throw new BackendError("Microsoft Entra ID answered without an access token", true);
    if (response.status === 429) {
      throw new BackendRateLimitError(
        "Microsoft Entra ID is throttling token requests (429)",
        retryAfterMs(response),
      );
    }
    // Entra ID's description starts with the AADSTS code and sentence; trace ids follow on new lines.
    const code = typeof body.error === "string" && ERROR_CODE.test(body.error) ? body.error : "";
    const reason = [
      code,
      typeof body.error_description === "string" ? body.error_description.split(/\r?\n/)[0] : "",
    ]
      .filter((part) => part !== "")
      .join(": ");
    const detail = `${response.status}${reason ? ` ${redact(reason)}` : ""}`;
    if (response.status >= 500) {
      throw new BackendError(`Microsoft Entra ID could not issue a token (${detail})`, true);
    }
    throw new BackendError(
      `Microsoft Entra ID refused the app's sign-in (${detail}); check DEFENDER_TENANT_ID, DEFENDER_CLIENT_ID and DEFENDER_CLIENT_SECRET`,
      false,
    );
  }

  async function token(): Promise<string> {
    if (cached && Date.now() < cached.refreshAt) return cached.value;
    // One sign-in at a time; concurrent calls share it.
    signingIn ??= signIn().finally(() => {
      signingIn = null;
    });
    return signingIn;
  }

  /** Calls the API; resolves with the parsed body, or null for 204 No Content. */
  async function call<T>(options: CallOptions): Promise<T | null> {
    for (let signedInAgain = false; ; signedInAgain = true) {
      await hooks.beforeCall?.();
      const bearer = await token();
      const response = await send(
        `${settings.apiUrl}${options.path}`,
        {
          method: options.method,
          headers: {
            authorization: `Bearer ${bearer}`,
            ...(options.body !== undefined && { "content-type": "application/json" }),
          },
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
        },
        "Microsoft Defender",
      );
      if (response.status === 401 && !signedInAgain) {
        // Expired or revoked early: sign in again once, keeping a newer token another call fetched.
        if (cached?.value === bearer) cached = null;
        await response.body?.cancel();
        continue;
      }
      if (response.status === 204) return null;
      if (response.ok) return (await response.json()) as T;
      throw await apiError(response, options);
    }
  }

  async function apiError(response: Response, options: CallOptions): Promise<BackendError> {
    const body = (await response.json().catch(() => ({}))) as {
      error?: { code?: unknown; message?: unknown; target?: unknown };
    };
    const code =
      typeof body.error?.code === "string" && ERROR_CODE.test(body.error.code)
        ? body.error.code
        : String(response.status);
    const message =
      typeof body.error?.message === "string" ? redact(body.error.message.split(/\r?\n/)[0]!) : "";
    // `target` is the request's correlation id, which Microsoft support asks for.
    const target =
      typeof body.error?.target === "string" && CORRELATION_ID.test(body.error.target)
        ? `; correlation id ${body.error.target}`
        : "";
    const said = redactSummary(`${response.status} ${code}${message ? `: ${message}` : ""}${target}`);
    switch (true) {
      case response.status === 429:
        return new BackendRateLimitError(`Defender is throttling the app (${said})`, retryAfterMs(response));
      case response.status >= 500:
        return new BackendError(`Defender could not process the request (${said})`, true);
      case response.status === 401:
        return new DefenderApiError(
          `Defender did not accept the app's token even after signing in again (${said}); check that DEFENDER_API_URL and DEFENDER_SCOPE belong to the same cloud`,
          401,
          code,
        );
      case response.status === 403:
        return new DefenderApiError(
          `Defender refused the request: the app needs the ${options.permission} application permission ` +
            `(WindowsDefenderATP API, with admin consent) (${said})`,
          403,
          code,
        );
      case response.status === 404:
        return new DefenderApiError(`${options.notFound} (${said})`, 404, code);
      case code === ACTIVE_REQUEST_ALREADY_EXISTS || /already in progress/i.test(message):
        return new DefenderApiError(
          `an action of the same type is already pending on the device (${said})`,
          response.status,
          ACTIVE_REQUEST_ALREADY_EXISTS,
        );
      default:
        return new DefenderApiError(`Defender rejected the request (${said})`, response.status, code);
    }
  }

  /** Reads a live response result from the link Defender handed out; the link is its own credential. */
  async function download(url: string): Promise<unknown> {
    const response = await send(url, { method: "GET" }, "the live response result store");
    if (!response.ok) {
      await response.body?.cancel();
      throw new BackendError(`could not read a live response result (${response.status})`, true);
    }
    return response.json();
  }

  return { call, download, redact };
}

/** Retry-After in seconds or as an HTTP date, as Defender documents for 429. */
export function retryAfterMs(response: Response): number {
  const header = response.headers.get("retry-after");
  if (header === null) return DEFAULT_RETRY_AFTER_MS;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) ? Math.max(1000, ms) : DEFAULT_RETRY_AFTER_MS;
}
