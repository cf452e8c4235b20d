// The demo's stream of pending actions, as Defender would raise them: automated investigations (each a
// batch on one device), antivirus detections and manual requests by analysts, played into the running
// bot through the ingest API. Every run has ids of its own, so playing it again adds new actions.
import { randomBytes, randomInt } from "node:crypto";
import type { ActionType } from "../domain/actionTypes.ts";
import {
  ACTION_TYPE_INFO,
  describeEntity,
  type Entity,
  SOURCE_LABELS,
  type Source,
} from "../domain/actionTypes.ts";
import { deviceIdOf, fileHashes, SHARED_INSTALLER } from "./fleet.ts";

type DemoAction = { type: ActionType; device?: string; entity?: Entity };
type Scene = {
  source: Source;
  /** An automated investigation's actions arrive together, as one batch. */
  investigation?: boolean;
  requestedBy?: string;
  comment?: string;
  actions: DemoAction[];
};

const file = (path: string): Entity => ({ ...fileHashes(path), path });
const RUN_KEY = "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run";

export const SCENES: Scene[] = [
  {
    source: "automated_investigation",
    investigation: true,
    actions: [
      {
        type: "quarantine_file",
        device: "LAPTOP-FIN-07",
        entity: file("C:\\Users\\kim.larsen\\Downloads\\Invoice_0423.pdf.exe"),
      },
      {
        type: "stop_process",
        device: "LAPTOP-FIN-07",
        entity: { pid: 7312, imagePath: "C:\\Users\\kim.larsen\\AppData\\Roaming\\OneDriveSync\\odsync.exe" },
      },
      {
        type: "remove_registry_key",
        device: "LAPTOP-FIN-07",
        entity: { key: RUN_KEY, valueName: "OneDriveSync" },
      },
      {
        type: "remove_scheduled_task",
        device: "LAPTOP-FIN-07",
        entity: { path: "\\Microsoft\\Windows\\OneDriveSyncCheck" },
      },
    ],
  },
  {
    source: "antivirus",
    comment: "TrojanDownloader:O97M/Qakbot.RVB!MTB in a macro-enabled document opened from e-mail",
    actions: [
      {
        type: "quarantine_file",
        device: "LAPTOP-HR-03",
        entity: file("C:\\Users\\j.okafor\\Downloads\\Resume_JSmith.docm"),
      },
    ],
  },
  {
    source: "manual",
    requestedBy: "alice.nguyen@contoso.com",
    comment:
      "Interactive logons by svc_sqlbackup at 03:10 from an unknown host. Isolate until the SQL team confirms (INC-4411).",
    actions: [{ type: "isolate_device", device: "SRV-SQL-02" }],
  },
  {
    source: "automated_investigation",
    investigation: true,
    actions: [
      { type: "stop_service", device: "SRV-SQL-02", entity: { name: "WinRMHelperSvc" } },
      { type: "disable_driver", device: "SRV-SQL-02", entity: { name: "RTCore64.sys" } },
      {
        type: "quarantine_file",
        device: "SRV-SQL-02",
        entity: file("C:\\ProgramData\\Microsoft\\Crypto\\RSA\\svch0st.exe"),
      },
    ],
  },
  {
    source: "manual",
    requestedBy: "bob.osei@contoso.com",
    comment: "Credential phishing page from this morning's 'Payroll update' campaign; 14 recipients clicked.",
    actions: [
      {
        type: "block_url",
        entity: { url: "https://login-microsoftonline.example.com/common/oauth2/authorize" },
      },
    ],
  },
  {
    source: "antivirus",
    comment:
      "Behavior:Win32/SuspNpmPostinstall.A — a package install script ran an encoded PowerShell command",
    actions: [{ type: "run_antivirus_scan", device: "LAPTOP-DEV-12" }],
  },
  {
    // One file on three devices: undoing one of them offers "Apply to 2 more instances".
    source: "antivirus",
    comment: "Trojan:Win32/Bladabindi!ml in a repackaged Zoom installer left in the Public folder",
    actions: ["LAPTOP-HR-03", "LAPTOP-DEV-12", "LAPTOP-SALES-22"].map((device) => ({
      type: "quarantine_file" as const,
      device,
      entity: file(SHARED_INSTALLER),
    })),
  },
  {
    // The service is not installed on that laptop: approved, it fails, and the message offers Retry.
    source: "manual",
    requestedBy: "bob.osei@contoso.com",
    comment: "The postinstall script fetched a remote-access tool; stop its service until IT confirms.",
    actions: [{ type: "stop_service", device: "LAPTOP-DEV-12", entity: { name: "TeamViewer" } }],
  },
  {
    source: "manual",
    requestedBy: "carla.mendes@contoso.com",
    comment: "Forensics package for IR case 2291 (Kerberoasting alert on the domain controller).",
    actions: [{ type: "collect_investigation_package", device: "SRV-DC-01" }],
  },
  {
    source: "automated_investigation",
    investigation: true,
    actions: [
      {
        type: "quarantine_file",
        device: "SRV-WEB-01",
        entity: file("C:\\inetpub\\wwwroot\\aspnet_client\\system_web\\error.aspx"),
      },
      {
        type: "remove_scheduled_task",
        device: "SRV-WEB-01",
        entity: { path: "\\Microsoft\\Windows\\IISLogRotate" },
      },
      { type: "block_url", entity: { url: "https://update-cdn.example.net/gate.php" } },
    ],
  },
  {
    source: "manual",
    requestedBy: "alice.nguyen@contoso.com",
    comment:
      "Kiosk ran an unsigned binary from a USB stick; allow only Microsoft-signed code until reimaged.",
    actions: [{ type: "restrict_code_execution", device: "KIOSK-LOBBY-01" }],
  },
  {
    source: "automated_investigation",
    investigation: true,
    actions: [
      {
        type: "quarantine_file",
        device: "LAPTOP-SALES-22",
        entity: file("C:\\Users\\m.rossi\\AppData\\Local\\Temp\\chrome_update.exe"),
      },
      {
        type: "remove_registry_key",
        device: "LAPTOP-SALES-22",
        entity: { key: RUN_KEY, valueName: "ChromeUpdater" },
      },
      {
        type: "remove_scheduled_task",
        device: "LAPTOP-SALES-22",
        entity: { path: "\\GoogleUpdateTaskMachineCore" },
      },
      { type: "isolate_device", device: "LAPTOP-SALES-22" },
    ],
  },
];

/** The ingest API's action objects for one scene of this run. */
/** Who requests the demo's manual actions: the sandbox knows them as members of its workspace. */
export const DEMO_REQUESTERS: readonly string[] = [
  ...new Set(SCENES.flatMap((scene) => (scene.requestedBy ? [scene.requestedBy] : []))),
];

function sceneBatch(scene: Scene, index: number, runId: string): Record<string, unknown>[] {
  // Defender numbers investigations and incidents; random ones keep runs apart.
  const investigationId = scene.investigation ? String(randomInt(100_000, 1_000_000)) : undefined;
  const incidentId = String(randomInt(10_000, 100_000));
  return scene.actions.map((action, n) => ({
    externalId: `demo-${runId}-${index + 1}-${n + 1}`,
    source: scene.source,
    type: action.type,
    ...(investigationId && { investigationId }),
    incidentId,
    ...(action.device && { device: { id: deviceIdOf(action.device), name: action.device } }),
    entity: action.entity ?? {},
    ...(scene.requestedBy && { requestedBy: scene.requestedBy }),
    ...(scene.comment && { comment: scene.comment }),
  }));
}

export type FeedOptions = {
  baseUrl: string;
  token: string;
  /** Pause between scenes. */
  intervalMs: number;
  print: (line: string) => void;
  /** Stops between scenes when aborted. */
  signal?: AbortSignal;
};

export type FeedResult = { batches: number; actions: { id: string; externalId: string; status: string }[] };

export class FeedError extends Error {}

/** What the demo shares with the bot, said whenever it cannot reach the bot it needs. */
const SAME_SETTINGS =
  "start the bot first (npm start), and run the demo with the same PORT (or DEMO_URL) and DATABASE_URL as the bot";
const TOKEN_REFUSED = "the bot refused the ingest token: set INGEST_TOKEN to the bot's";

/** Why a request found nobody: the system's error code (ECONNREFUSED…) when there is one. */
function unreachable(error: unknown): string {
  const { cause, message } = error as { cause?: { code?: string }; message?: string };
  return cause?.code ?? message ?? String(error);
}

function describe(action: DemoAction): string {
  const entity = action.entity ? describeEntity(action.type, action.entity) : "";
  return `${ACTION_TYPE_INFO[action.type].label}${entity ? ` ${entity}` : ""}`;
}

async function post(options: FeedOptions, actions: Record<string, unknown>[]) {
  let response: Response;
  try {
    response = await fetch(`${options.baseUrl}/api/v1/actions`, {
      method: "POST",
      headers: { authorization: `Bearer ${options.token}`, "content-type": "application/json" },
      body: JSON.stringify({ actions }),
    });
  } catch (error) {
    throw new FeedError(`nothing answers at ${options.baseUrl} (${unreachable(error)}): ${SAME_SETTINGS}`);
  }
  if (response.status === 401) throw new FeedError(TOKEN_REFUSED);
  const body = (await response.json().catch(() => ({}))) as {
    actions?: FeedResult["actions"];
    issues?: unknown;
  };
  if (response.status !== 201 || !body.actions) {
    throw new FeedError(`the bot answered HTTP ${response.status}: ${JSON.stringify(body.issues ?? body)}`);
  }
  return body.actions;
}

/**
 * Waits until the bot at `baseUrl` is ready (its Postgres and Redis answer). Nothing listening
 * there is an error at once, not a wait: the bot is not running, or not on that port. A bot that
 * answers but is not ready yet is waited for, up to `timeoutMs`, saying what it waits for.
 */
export async function waitForBot(
  baseUrl: string,
  timeoutMs: number,
  options: { print: (line: string) => void; signal?: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let said = "";
  for (;;) {
    let response: Response;
    try {
      response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
    } catch (error) {
      throw new FeedError(`nothing answers at ${baseUrl} (${unreachable(error)}): ${SAME_SETTINGS}`);
    }
    if (response.ok) return;
    if (response.status !== 503) {
      throw new FeedError(
        `${baseUrl}/readyz answered HTTP ${response.status}, not the bot: ${SAME_SETTINGS}`,
      );
    }
    const { checks = {} } = (await response.json().catch(() => ({}))) as { checks?: Record<string, string> };
    const waiting =
      Object.entries(checks)
        .filter(([, state]) => state !== "ok")
        .map(([service, state]) => `${service}: ${state}`)
        .join(", ") || "not ready";
    if (Date.now() > deadline || options.signal?.aborted) {
      throw new FeedError(`the bot at ${baseUrl} did not become ready in ${timeoutMs / 1000} s (${waiting})`);
    }
    if (waiting !== said) {
      options.print(
        `The bot at ${baseUrl} is not ready yet (${waiting}); waiting up to ${timeoutMs / 1000} s`,
      );
      said = waiting;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/**
 * Makes sure the bot works on the store the demo seeded (`seededIn` names it): the demo's
 * actions are about the simulated fleet's devices, which exist only there.
 */
export async function checkBotSeesFleet(
  baseUrl: string,
  token: string,
  deviceId: string,
  seededIn: string,
): Promise<void> {
  const response = await fetch(`${baseUrl}/api/v1/devices/${encodeURIComponent(deviceId)}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (response.ok) return;
  if (response.status === 401) throw new FeedError(TOKEN_REFUSED);
  const { message = "" } = (await response.json().catch(() => ({}))) as { message?: string };
  if (response.status === 404 && message.includes("BACKEND=simulated")) {
    throw new FeedError(
      "the bot does not run the simulated fleet (BACKEND=defender?): the demo's devices exist only there",
    );
  }
  if (response.status === 404) {
    throw new FeedError(
      `the bot does not see the fleet just seeded into ${seededIn}: run the demo with the bot's DATABASE_URL`,
    );
  }
  throw new FeedError(`the bot answered HTTP ${response.status} for a demo device: ${message}`);
}

/** Plays every scene once, `intervalMs` apart, printing what it sends; stops early when `signal` aborts. */
export async function playFeed(options: FeedOptions): Promise<FeedResult> {
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
  const started = Date.now();
  const result: FeedResult = { batches: 0, actions: [] };
  for (const [index, scene] of SCENES.entries()) {
    if (options.signal?.aborted) break;
    if (index > 0 && options.intervalMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
      if (options.signal?.aborted) break;
    }
    const batch = sceneBatch(scene, index, runId);
    const stored = await post(options, batch);
    result.batches += 1;
    result.actions.push(...stored);
    const elapsed = new Date(Date.now() - started).toISOString().slice(14, 19);
    const first = batch[0]!;
    const device = scene.actions[0]?.device ?? "all devices";
    const origin =
      scene.source === "manual"
        ? `Manual request by ${scene.requestedBy}`
        : first.investigationId
          ? `Automated investigation ${first.investigationId as string}`
          : SOURCE_LABELS[scene.source];
    options.print(
      `[${elapsed}] ${origin} on ${device}: ${stored.length} action${stored.length === 1 ? "" : "s"}`,
    );
    scene.actions.forEach((action, n) => {
      options.print(`        #${stored[n]!.id} ${describe(action)} (${stored[n]!.status})`);
    });
  }
  return result;
}
