// A local stand-in for Microsoft Entra ID's token endpoint and the Microsoft Defender for Endpoint
// API, on 127.0.0.1. Paths, case-sensitive body parameters, status codes, response entities and the
// error body `{"error":{"code","message","target"}}` follow Microsoft's API reference (see
// docs/DEFENDER.md). Machine actions move Pending → InProgress → a final status as they are polled.
// Alerts (with evidence), automated investigations, machine actions and files are listed the way
// the connector reads them: OData `$filter` on their times and states, `$top`/`$skip` pages linked
// by `@odata.nextLink`. Live response runs one session at a time per
// machine: a second gets 400 ActiveRequestAlreadyExists (Microsoft's run-live-response page), and a
// session someone else started lasts until the test ends it. Every call is recorded; tests steer throttling (of some paths or all),
// token lifetime, granted roles and outcomes, and may hold a request up before it is answered.
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const FAKE_SCOPE = "https://api.securitycenter.microsoft.com/.default";

const ALL_ROLES = [
  "Machine.Isolate",
  "Machine.RestrictExecution",
  "Machine.StopAndQuarantine",
  "Machine.Scan",
  "Machine.CollectForensics",
  "Machine.LiveResponse",
  "Machine.Read.All",
  "Ti.ReadWrite",
  "Alert.Read.All",
  "File.Read.All",
];

export type FinalStatus = "Succeeded" | "Failed" | "TimeOut" | "Cancelled";

export type FakeMachineAction = {
  id: string;
  type: string;
  scope: string | null;
  requestor: string;
  requestorComment: string;
  status: string;
  machineId: string;
  computerDnsName: string;
  creationDateTimeUtc: string;
  lastUpdateDateTimeUtc: string;
  cancellationRequestor: string | null;
  cancellationComment: string | null;
  cancellationDateTimeUtc: string | null;
  title: string;
  relatedFileInfo: { fileIdentifier: string; fileIdentifierType: string } | null;
  commands: { index: number; commandStatus: string; errors: string[]; command: unknown }[];
  errorHResult: number;
};

/** An alert's evidence item, with every field of Microsoft's example (null where it does not apply). */
export type FakeEvidence = {
  entityType: string;
  evidenceCreationTime: string;
  sha1: string | null;
  sha256: string | null;
  fileName: string | null;
  filePath: string | null;
  processId: number | null;
  processCommandLine: string | null;
  processCreationTime: string | null;
  parentProcessId: number | null;
  parentProcessCreationTime: string | null;
  parentProcessFileName: string | null;
  parentProcessFilePath: string | null;
  ipAddress: string | null;
  url: string | null;
  registryKey: string | null;
  registryHive: string | null;
  registryValueType: string | null;
  registryValue: string | null;
  accountName: string | null;
  domainName: string | null;
  userSid: string | null;
  aadUserId: string | null;
  userPrincipalName: string | null;
  detectionStatus: string | null;
};

export type FakeAlert = {
  id: string;
  incidentId: number;
  investigationId: number | null;
  assignedTo: string | null;
  severity: string;
  status: string;
  classification: string | null;
  determination: string | null;
  investigationState: string;
  detectionSource: string;
  detectorId: string;
  category: string;
  threatFamilyName: string | null;
  title: string;
  description: string;
  alertCreationTime: string;
  firstEventTime: string;
  lastEventTime: string;
  lastUpdateTime: string;
  resolvedTime: string | null;
  machineId: string;
  computerDnsName: string;
  rbacGroupName: string;
  aadTenantId: string;
  threatName: string | null;
  mitreTechniques: string[];
  relatedUser: { userName: string; domainName: string } | null;
  comments: { comment: string; createdBy: string; createdTime: string }[];
  evidence: FakeEvidence[];
};

export type FakeInvestigation = {
  id: string;
  startTime: string;
  endTime: string | null;
  state: string;
  cancelledBy: string | null;
  statusDetails: string | null;
  machineId: string;
  computerDnsName: string;
  triggeringAlertId: string;
};

/** A live response session on a machine, from its submission to its final status. */
export type LiveResponseSession = {
  machineActionId: string;
  machineId: string;
  requestor: string;
  /** The library script it ran, if any. */
  script: string | null;
  startedAt: number;
  endedAt: number | null;
};

export type RecordedCall = {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  at: number;
};

export type FakeDefender = {
  url: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  calls: RecordedCall[];
  machineActions: Map<string, FakeMachineAction>;
  /** Every access token handed out, to prove none leaks into logs or the store. */
  issuedTokens: string[];
  indicators: Map<string, Record<string, unknown>>;
  alerts: Map<string, FakeAlert>;
  investigations: Map<string, FakeInvestigation>;
  /** File profiles by SHA-1: what `GET /api/files/{id}` answers. */
  files: Map<string, { sha1: string; sha256: string }>;
  /** The permissions the next tokens carry (the app's consented roles). */
  roles: Set<string>;
  /** How long a token is really valid; `expires_in` still says an hour unless `reportedExpiresIn` is set. */
  tokenLifetimeMs: number;
  reportedExpiresIn: number;
  /** How many polls a machine action takes to reach its final status. */
  pollsToFinish: number;
  /** The final status of each machine action. */
  outcome: (action: FakeMachineAction) => FinalStatus;
  /** The transcript each live response script leaves. */
  scriptResult: (scriptName: string) => { exit_code: number; script_errors: string };
  addMachine(id: string, computerDnsName: string): void;
  /**
   * The next `count` API calls (those whose path `only` matches, when given) answer 429 with
   * `Retry-After: retryAfterSeconds`.
   */
  throttle(count: number, retryAfterSeconds: number, only?: RegExp): void;
  /** An alert raised now on `machineId`, updated now; fields as in Microsoft's example unless given. */
  addAlert(machineId: string, fields?: Partial<FakeAlert>): FakeAlert;
  /** An alert changed in the portal (resolved, assigned…): its lastUpdateTime moves to now. */
  updateAlert(id: string, fields: Partial<FakeAlert>): FakeAlert;
  /** An evidence item with every documented field, null unless given. */
  evidence(entityType: string, fields?: Partial<FakeEvidence>): FakeEvidence;
  addInvestigation(alert: FakeAlert, state: string): FakeInvestigation;
  setInvestigationState(id: string, state: string, fields?: Partial<FakeInvestigation>): void;
  /** A machine action someone took elsewhere, already in its final status (or still running). */
  portalMachineAction(
    machineId: string,
    type: string,
    fields: Partial<FakeMachineAction> & { requestor: string },
  ): FakeMachineAction;
  /** Runs before each API request is answered (after it is recorded as received), e.g. to kill a client. */
  beforeAnswer: ((request: { method: string; path: string; query: Record<string, string> }) => void) | null;
  /**
   * The next `count` API calls answer `status` (a server error), with `body` as the answer when
   * given (an upstream echoing whatever it likes, e.g. the app's secret).
   */
  failNext(count: number, status: number, body?: unknown): void;
  /** Every token issued so far stops working (as after a secret rotation or revocation). */
  revokeTokens(): void;
  /**
   * A machine action someone else (or an earlier try of ours) submitted; by default requested by
   * the app itself. A `held` one stays InProgress, however often it is polled, until `endMachineAction`.
   */
  seedMachineAction(
    machineId: string,
    type: string,
    requestorComment: string,
    options?: { requestor?: string; held?: boolean },
  ): FakeMachineAction;
  /** Ends a held machine action (an analyst's live response session closing, say). */
  endMachineAction(id: string, status?: FinalStatus): void;
  /** Every live response session so far on `machineId`, in the order they were submitted. */
  liveResponseSessions(machineId: string): LiveResponseSession[];
  callsTo(method: string, pathPattern: RegExp): RecordedCall[];
  reset(): void;
  close(): Promise<void>;
};

type Json = Record<string, unknown>;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const ISOLATION_TYPES = ["Full", "Selective", "UnManagedDevice"];
const INDICATOR_TYPES = [
  "FileSha1",
  "FileMd5",
  "CertificateThumbprint",
  "FileSha256",
  "IpAddress",
  "DomainName",
  "Url",
];
const INDICATOR_ACTIONS = [
  "Alert",
  "Warn",
  "Block",
  "Audit",
  "BlockAndRemediate",
  "AlertAndBlock",
  "Allowed",
];
const INDICATOR_FIELDS = [
  "indicatorValue",
  "indicatorType",
  "action",
  "application",
  "title",
  "description",
  "expirationTime",
  "severity",
  "recommendedActions",
  "rbacGroupNames",
  "educateUrl",
  "generateAlert",
];
const FINAL = ["Succeeded", "Failed", "TimeOut", "Cancelled"];

/** The machine action endpoints: MachineAction type, the permissions (any one of), the body's fields. */
const MACHINE_ENDPOINTS: Record<
  string,
  { type: string; roles: string[]; required: string[]; optional: string[] }
> = {
  isolate: {
    type: "Isolate",
    roles: ["Machine.Isolate"],
    required: ["Comment"],
    optional: ["IsolationType"],
  },
  unisolate: { type: "Unisolate", roles: ["Machine.Isolate"], required: ["Comment"], optional: [] },
  restrictCodeExecution: {
    type: "RestrictCodeExecution",
    roles: ["Machine.RestrictExecution"],
    required: ["Comment"],
    optional: [],
  },
  unrestrictCodeExecution: {
    type: "UnrestrictCodeExecution",
    roles: ["Machine.RestrictExecution"],
    required: ["Comment"],
    optional: [],
  },
  StopAndQuarantineFile: {
    type: "StopAndQuarantineFile",
    roles: ["Machine.StopAndQuarantine", "Machine.Read.All", "Machine.ReadWrite.All"],
    required: ["Comment", "Sha1"],
    optional: [],
  },
  runAntiVirusScan: {
    type: "RunAntiVirusScan",
    roles: ["Machine.Scan"],
    required: ["Comment", "ScanType"],
    optional: [],
  },
  collectInvestigationPackage: {
    type: "CollectInvestigationPackage",
    roles: ["Machine.CollectForensics"],
    required: ["Comment"],
    optional: [],
  },
  runliveresponse: {
    type: "LiveResponse",
    roles: ["Machine.LiveResponse"],
    required: ["Comment", "Commands"],
    optional: [],
  },
};
const READ_ROLES = ["Machine.Read.All", "Machine.ReadWrite.All"];
const TI_ROLES = ["Ti.ReadWrite", "Ti.ReadWrite.All"];
const ALERT_ROLES = ["Alert.Read.All", "Alert.ReadWrite.All"];
const FILE_ROLES = ["File.Read.All"];

export async function startFakeDefender(
  options: { tenantId?: string; clientId?: string; clientSecret?: string } = {},
): Promise<FakeDefender> {
  const tokens = new Map<string, { expiresAt: number; roles: Set<string> }>();
  const machines = new Map<string, string>();
  let throttled: { count: number; retryAfter: number; only?: RegExp } = { count: 0, retryAfter: 0 };
  let alertSeq = 0;
  let investigationSeq = 60_000;
  let failing: { count: number; status: number; body?: unknown } = { count: 0, status: 503 };
  let indicatorSeq = 1000;
  const polls = new Map<string, number>();
  const held = new Set<string>();
  const endedAt = new Map<string, number>();

  const fake: FakeDefender = {
    url: "",
    tenantId: options.tenantId ?? "11111111-2222-3333-4444-555555555555",
    clientId: options.clientId ?? "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    clientSecret: options.clientSecret ?? `secret-${randomBytes(12).toString("hex")}`,
    calls: [],
    machineActions: new Map(),
    issuedTokens: [],
    indicators: new Map(),
    alerts: new Map(),
    investigations: new Map(),
    files: new Map(),
    beforeAnswer: null,
    roles: new Set(ALL_ROLES),
    tokenLifetimeMs: 3600_000,
    reportedExpiresIn: 3599,
    pollsToFinish: 2,
    outcome: () => "Succeeded",
    scriptResult: () => ({ exit_code: 0, script_errors: "" }),
    addMachine: (id, name) => void machines.set(id, name),
    throttle(count, retryAfter, only) {
      throttled = { count, retryAfter, only };
    },
    addAlert(machineId, fields = {}) {
      alertSeq += 1;
      const now = new Date().toISOString();
      const alert: FakeAlert = {
        id: `da6373${String(alertSeq).padStart(8, "0")}_${randomBytes(4).readUInt32BE() % 1_000_000_000}`,
        incidentId: 7000 + alertSeq,
        investigationId: null,
        assignedTo: null,
        severity: "High",
        status: "New",
        classification: null,
        determination: null,
        investigationState: "Queued",
        detectionSource: "WindowsDefenderAtp",
        detectorId: randomUUID(),
        category: "Execution",
        threatFamilyName: null,
        title: "Low-reputation arbitrary code executed by signed executable",
        description: "Binaries signed by Microsoft can be used to run low-reputation arbitrary code.",
        alertCreationTime: now,
        firstEventTime: now,
        lastEventTime: now,
        lastUpdateTime: now,
        resolvedTime: null,
        machineId,
        computerDnsName: machines.get(machineId) ?? machineId,
        rbacGroupName: "A",
        aadTenantId: fake.tenantId,
        threatName: null,
        mitreTechniques: ["T1064", "T1085", "T1220"],
        relatedUser: { userName: "temp123", domainName: "DOMAIN" },
        comments: [],
        evidence: [],
        ...fields,
      };
      fake.alerts.set(alert.id, alert);
      return alert;
    },
    updateAlert(id, fields) {
      const alert = fake.alerts.get(id);
      if (!alert) throw new Error(`no alert ${id}`);
      Object.assign(alert, fields, { lastUpdateTime: new Date().toISOString() });
      return alert;
    },
    evidence(entityType, fields = {}) {
      const keys = [
        "sha1",
        "sha256",
        "fileName",
        "filePath",
        "processId",
        "processCommandLine",
        "processCreationTime",
        "parentProcessId",
        "parentProcessCreationTime",
        "parentProcessFileName",
        "parentProcessFilePath",
        "ipAddress",
        "url",
        "registryKey",
        "registryHive",
        "registryValueType",
        "registryValue",
        "accountName",
        "domainName",
        "userSid",
        "aadUserId",
        "userPrincipalName",
        "detectionStatus",
      ];
      return {
        entityType,
        evidenceCreationTime: new Date().toISOString(),
        ...Object.fromEntries(keys.map((key) => [key, null])),
        ...fields,
      } as FakeEvidence;
    },
    addInvestigation(alert, state) {
      investigationSeq += 1;
      const investigation: FakeInvestigation = {
        id: String(investigationSeq),
        startTime: new Date().toISOString(),
        endTime: null,
        state,
        cancelledBy: null,
        statusDetails: null,
        machineId: alert.machineId,
        computerDnsName: alert.computerDnsName,
        triggeringAlertId: alert.id,
      };
      fake.investigations.set(investigation.id, investigation);
      return investigation;
    },
    setInvestigationState(id, state, fields = {}) {
      const investigation = fake.investigations.get(id);
      if (!investigation) throw new Error(`no investigation ${id}`);
      Object.assign(investigation, { state, ...fields });
    },
    portalMachineAction(machineId, type, fields) {
      const action = {
        ...newMachineAction(machineId, type, "", null, []),
        title: `${type} by ${fields.requestor}`,
        ...fields,
      };
      fake.machineActions.set(action.id, action);
      return action;
    },
    failNext(count, status, body) {
      failing = { count, status, body };
    },
    revokeTokens: () => tokens.clear(),
    seedMachineAction(machineId, type, requestorComment, options = {}) {
      const action = newMachineAction(machineId, type, requestorComment, null, []);
      if (options.requestor !== undefined) action.requestor = options.requestor;
      if (options.held) {
        held.add(action.id);
        action.status = "InProgress";
      }
      fake.machineActions.set(action.id, action);
      return action;
    },
    endMachineAction(id, status = "Succeeded") {
      const action = fake.machineActions.get(id);
      if (!action) throw new Error(`no machine action ${id}`);
      held.delete(id);
      finish(action, status);
    },
    liveResponseSessions: (machineId) =>
      [...fake.machineActions.values()]
        .filter((a) => a.machineId === machineId && a.type === "LiveResponse")
        .map((a) => {
          const script = a.commands[0]?.command as { params?: { key: string; value: string }[] } | undefined;
          return {
            machineActionId: a.id,
            machineId,
            requestor: a.requestor,
            script: script?.params?.find((p) => p.key === "ScriptName")?.value ?? null,
            startedAt: Date.parse(a.creationDateTimeUtc),
            endedAt: endedAt.get(a.id) ?? null,
          };
        })
        .sort((x, y) => x.startedAt - y.startedAt),
    callsTo: (method, pattern) => fake.calls.filter((c) => c.method === method && pattern.test(c.path)),
    reset() {
      fake.calls.length = 0;
      fake.roles = new Set(ALL_ROLES);
      fake.tokenLifetimeMs = 3600_000;
      fake.reportedExpiresIn = 3599;
      fake.pollsToFinish = 2;
      fake.outcome = () => "Succeeded";
      fake.scriptResult = () => ({ exit_code: 0, script_errors: "" });
      throttled = { count: 0, retryAfter: 0 };
      failing = { count: 0, status: 503 };
      fake.beforeAnswer = null;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  function newMachineAction(
    machineId: string,
    type: string,
    comment: string,
    scope: string | null,
    commands: FakeMachineAction["commands"],
    relatedFileInfo: FakeMachineAction["relatedFileInfo"] = null,
  ): FakeMachineAction {
    const now = new Date().toISOString();
    return {
      id: randomUUID(),
      type,
      scope,
      requestor: fake.clientId,
      requestorComment: comment,
      status: "Pending",
      machineId,
      computerDnsName: machines.get(machineId) ?? machineId,
      creationDateTimeUtc: now,
      lastUpdateDateTimeUtc: now,
      cancellationRequestor: null,
      cancellationComment: null,
      cancellationDateTimeUtc: null,
      title: `${type} by ${fake.clientId}`,
      relatedFileInfo,
      commands,
      errorHResult: 0,
    };
  }

  function authorize(req: IncomingMessage, roles: string[]): void {
    const header = req.headers.authorization ?? "";
    const token = tokens.get(header.replace(/^Bearer /, ""));
    if (!header.startsWith("Bearer ") || !token || token.expiresAt <= Date.now()) {
      throw new HttpError(401, "Unauthorized", "Unauthorized (invalid or expired authorization header).");
    }
    if (!roles.some((role) => token.roles.has(role))) {
      throw new HttpError(
        403,
        "Forbidden",
        "Forbidden (valid token but insufficient permission for the action).",
      );
    }
  }

  function issueToken(form: URLSearchParams, tenant: string): Json {
    const fail = (status: number, error: string, description: string) => {
      const trace = randomUUID();
      throw Object.assign(new HttpError(status, error, description), {
        oauth: {
          error,
          error_description: `${description}\r\nTrace ID: ${trace}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`,
          error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1])],
          timestamp: new Date().toISOString(),
          trace_id: trace,
          correlation_id: randomUUID(),
        },
      });
    };
    if (tenant !== fake.tenantId) fail(400, "invalid_request", `AADSTS90002: Tenant '${tenant}' not found.`);
    if (form.get("grant_type") !== "client_credentials") {
      fail(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.");
    }
    if (form.get("client_id") !== fake.clientId) {
      fail(
        400,
        "unauthorized_client",
        `AADSTS700016: Application with identifier '${form.get("client_id")}' was not found in the directory.`,
      );
    }
    if (form.get("client_secret") !== fake.clientSecret) {
      fail(
        401,
        "invalid_client",
        `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${fake.clientId}'.`,
      );
    }
    if (form.get("scope") !== FAKE_SCOPE) {
      fail(
        400,
        "invalid_scope",
        `AADSTS70011: The provided value for the input parameter 'scope' is not valid.`,
      );
    }
    const accessToken = `fake.${randomBytes(24).toString("base64url")}`;
    fake.issuedTokens.push(accessToken);
    tokens.set(accessToken, { expiresAt: Date.now() + fake.tokenLifetimeMs, roles: new Set(fake.roles) });
    return {
      token_type: "Bearer",
      expires_in: fake.reportedExpiresIn,
      ext_expires_in: fake.reportedExpiresIn,
      access_token: accessToken,
    };
  }

  /** Case-sensitive body parameters, as Defender reads them. */
  function checkBody(body: unknown, required: string[], optional: string[]): Json {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new HttpError(400, "InvalidRequestBody", "Request body is incorrect");
    }
    const json = body as Json;
    for (const key of Object.keys(json)) {
      if (!required.includes(key) && !optional.includes(key)) {
        throw new HttpError(400, "InvalidRequestBody", `Request body is incorrect: unknown parameter ${key}`);
      }
    }
    for (const key of required) {
      if (json[key] === undefined || json[key] === "") {
        throw new HttpError(400, "MissingRequiredParameter", `Parameter ${key} is missing.`);
      }
    }
    return json;
  }

  function submitMachineAction(machineId: string, endpoint: string, body: unknown): FakeMachineAction {
    const spec = MACHINE_ENDPOINTS[endpoint];
    if (!spec) throw new HttpError(404, "NotFound", `No endpoint ${endpoint}`);
    const json = checkBody(body, spec.required, spec.optional);
    if (!machines.has(machineId))
      throw new HttpError(404, "ResourceNotFound", `Machine ${machineId} was not found`);
    let scope: string | null = null;
    let commands: FakeMachineAction["commands"] = [];
    let relatedFileInfo: FakeMachineAction["relatedFileInfo"] = null;
    if (endpoint === "isolate") {
      if (json.IsolationType !== undefined && !ISOLATION_TYPES.includes(String(json.IsolationType))) {
        throw new HttpError(400, "InvalidInput", `Invalid input ${json.IsolationType}.`);
      }
      scope = String(json.IsolationType ?? "Full");
    }
    if (endpoint === "runAntiVirusScan") {
      if (!["Quick", "Full"].includes(String(json.ScanType)))
        throw new HttpError(400, "InvalidInput", `Invalid input ${json.ScanType}.`);
      scope = String(json.ScanType);
    }
    if (endpoint === "StopAndQuarantineFile") {
      if (!/^[0-9a-fA-F]{40}$/.test(String(json.Sha1)))
        throw new HttpError(400, "InvalidHashValue", `Hash value ${json.Sha1} is invalid.`);
      relatedFileInfo = { fileIdentifier: String(json.Sha1), fileIdentifierType: "Sha1" };
    }
    if (endpoint === "runliveresponse") commands = liveResponseCommands(json.Commands);
    // One of a type at a time per machine; for live response that is one session at a time,
    // whoever started it.
    const pending = [...fake.machineActions.values()].find(
      (a) => a.machineId === machineId && !FINAL.includes(a.status) && a.type === spec.type,
    );
    if (pending) {
      throw new HttpError(400, "ActiveRequestAlreadyExists", "Action is already in progress");
    }
    const action = newMachineAction(
      machineId,
      spec.type,
      String(json.Comment),
      scope,
      commands,
      relatedFileInfo,
    );
    fake.machineActions.set(action.id, action);
    return action;
  }

  function liveResponseCommands(value: unknown): FakeMachineAction["commands"] {
    const order = ["PutFile", "RunScript", "GetFile"];
    const keysFor: Record<string, string[]> = {
      PutFile: ["FileName"],
      RunScript: ["ScriptName", "Args"],
      GetFile: ["Path"],
    };
    if (!Array.isArray(value) || value.length === 0)
      throw new HttpError(400, "InvalidRequestBody", "Commands must be a non-empty array");
    let last = -1;
    return value.map((command: unknown, index) => {
      const c = command as { type?: string; params?: { key?: string; value?: unknown }[] };
      const rank = order.indexOf(String(c.type));
      if (rank < 0 || rank < last)
        throw new HttpError(400, "InvalidRequestBody", `Command ${c.type} is not allowed here`);
      last = rank;
      for (const param of c.params ?? []) {
        if (!keysFor[c.type!]!.includes(String(param.key)) || typeof param.value !== "string") {
          throw new HttpError(400, "InvalidRequestBody", `Parameter ${param.key} of ${c.type} is not valid`);
        }
      }
      if (c.type === "RunScript" && !c.params?.some((p) => p.key === "ScriptName")) {
        throw new HttpError(400, "MissingRequiredParameter", "Parameter ScriptName is missing.");
      }
      return { index, commandStatus: "Created", errors: [], command };
    });
  }

  /** Each poll moves the action one step: Pending → InProgress → … → its outcome. */
  function advance(action: FakeMachineAction): void {
    if (FINAL.includes(action.status) || held.has(action.id)) return;
    const seen = (polls.get(action.id) ?? 0) + 1;
    polls.set(action.id, seen);
    finish(action, seen >= fake.pollsToFinish ? fake.outcome(action) : null);
  }

  function finish(action: FakeMachineAction, final: FinalStatus | null): void {
    action.status = final ?? "InProgress";
    action.lastUpdateDateTimeUtc = new Date().toISOString();
    if (final) endedAt.set(action.id, Date.now());
    if (final === "Cancelled") {
      action.cancellationRequestor = "analyst@contoso.com";
      action.cancellationComment = "Cancelled from the portal";
      action.cancellationDateTimeUtc = action.lastUpdateDateTimeUtc;
    }
    for (const command of action.commands) {
      command.commandStatus = final === "Succeeded" ? "Completed" : final ? "Failed" : "Created";
      if (final && final !== "Succeeded")
        command.errors = [`The command ${final === "TimeOut" ? "timed out" : "failed"}`];
    }
  }

  /**
   * The `$filter`s the app sends: clauses joined by `and`, each `field eq 'text'` or a time
   * compared with `ge`/`gt`/`le`/`lt` and an unquoted DateTimeOffset. Field names are matched
   * without case, as OData property names are in Microsoft's examples.
   */
  function odataFilter(filter: string | undefined): (entity: object) => boolean {
    const clauses: ((entity: Json) => boolean)[] = [];
    for (const clause of (filter ?? "").split(/\s+and\s+/i).filter(Boolean)) {
      const text = /^(\w+)\s+eq\s+'((?:[^']|'')*)'$/.exec(clause.trim());
      const time = /^(\w+)\s+(ge|gt|le|lt)\s+(\d{4}-\d\d-\d\dT[\d:.]+Z)$/.exec(clause.trim());
      const field = (entity: Json, name: string) =>
        entity[Object.keys(entity).find((key) => key.toLowerCase() === name.toLowerCase()) ?? name];
      if (text) {
        const expected = text[2]!.replaceAll("''", "'");
        clauses.push((entity) => String(field(entity, text[1]!)) === expected);
      } else if (time && Number.isFinite(Date.parse(time[3]!))) {
        const bound = Date.parse(time[3]!);
        const compare = {
          ge: (a: number) => a >= bound,
          gt: (a: number) => a > bound,
          le: (a: number) => a <= bound,
          lt: (a: number) => a < bound,
        }[time[2] as "ge"];
        clauses.push((entity) => compare(Date.parse(String(field(entity, time[1]!)))));
      } else {
        throw new HttpError(400, "ODataError", `Invalid OData URI query: ${clause}`);
      }
    }
    return (entity) => clauses.every((clause) => clause(entity as Json));
  }

  /** A collection page: filtered, ordered by `orderBy`, `$top` (at most 10,000) from `$skip`, linked to the next. */
  function collection<T extends object>(
    path: string,
    query: Record<string, string>,
    items: T[],
    orderBy: (item: T) => string,
    context: string,
  ): Json {
    const top = query.$top === undefined ? 10_000 : Number(query.$top);
    const skip = query.$skip === undefined ? 0 : Number(query.$skip);
    if (!Number.isInteger(top) || top < 1 || top > 10_000 || !Number.isInteger(skip) || skip < 0) {
      throw new HttpError(400, "ODataError", "Invalid $top or $skip");
    }
    const matching = items
      .filter(odataFilter(query.$filter))
      .sort((a, b) => orderBy(a).localeCompare(orderBy(b)));
    const value = matching.slice(skip, skip + top);
    const next = new URLSearchParams({ ...query, $skip: String(skip + top) });
    return {
      "@odata.context": `https://api.securitycenter.microsoft.com/api/$metadata#${context}`,
      value,
      ...(skip + top < matching.length && { "@odata.nextLink": `${fake.url}${path}?${next}` }),
    };
  }

  function route(
    req: IncomingMessage,
    path: string,
    query: Record<string, string>,
    body: unknown,
  ): [number, unknown] {
    const method = req.method ?? "GET";
    const tokenPath = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
    if (tokenPath && method === "POST")
      return [200, issueToken(new URLSearchParams(String(body)), decodeURIComponent(tokenPath[1]!))];
    const blob = /^\/blob\/([^/]+)$/.exec(path);
    if (blob && method === "GET") {
      const action = fake.machineActions.get(blob[1]!);
      const script = action?.commands[0]?.command as
        | { params?: { key: string; value: string }[] }
        | undefined;
      const name = script?.params?.find((p) => p.key === "ScriptName")?.value ?? "";
      return [200, { script_name: name, script_output: "Transcript started", ...fake.scriptResult(name) }];
    }
    if (!path.startsWith("/api/")) throw new HttpError(404, "NotFound", `No resource ${path}`);

    if (failing.count > 0) {
      failing.count -= 1;
      const error = new HttpError(failing.status, "InternalServerError", "");
      throw failing.body === undefined ? error : Object.assign(error, { answer: failing.body });
    }
    if (throttled.count > 0 && (throttled.only === undefined || throttled.only.test(path))) {
      throttled.count -= 1;
      throw new HttpError(429, "TooManyRequests", "Response represents reaching quota limit.", {
        "Retry-After": String(throttled.retryAfter),
      });
    }

    const machineCall = /^\/api\/machines\/([^/]+)\/([A-Za-z]+)$/.exec(path);
    if (machineCall && method === "POST") {
      const spec = MACHINE_ENDPOINTS[machineCall[2]!];
      authorize(req, spec?.roles ?? []);
      return [
        201,
        withContext(submitMachineAction(decodeURIComponent(machineCall[1]!), machineCall[2]!, body)),
      ];
    }
    const resultLink =
      /^\/api\/machineactions\/([^/]+)\/GetLiveResponseResultDownloadLink\(index=(\d+)\)$/.exec(path);
    if (resultLink && method === "GET") {
      authorize(req, READ_ROLES);
      const action = fake.machineActions.get(decodeURIComponent(resultLink[1]!));
      if (action?.type !== "LiveResponse" || action.status !== "Succeeded" || resultLink[2] !== "0") {
        throw new HttpError(
          404,
          "ResourceNotFound",
          `Result ${resultLink[2]} of ${resultLink[1]} was not found`,
        );
      }
      return [
        200,
        { "@odata.context": "$metadata#Edm.String", value: `${fake.url}/blob/${action.id}?se=soon&sig=x` },
      ];
    }
    const oneAction = /^\/api\/machineactions\/([^/]+)$/.exec(path);
    if (oneAction && method === "GET") {
      authorize(req, READ_ROLES);
      const action = fake.machineActions.get(decodeURIComponent(oneAction[1]!));
      if (!action)
        throw new HttpError(404, "ResourceNotFound", `MachineAction ${oneAction[1]} was not found`);
      advance(action);
      return [200, withContext(action)];
    }
    if (path === "/api/machineactions" && method === "GET") {
      authorize(req, READ_ROLES);
      const all = [...fake.machineActions.values()];
      return [200, collection(path, query, all, (a) => `${a.creationDateTimeUtc}${a.id}`, "MachineActions")];
    }
    if (path === "/api/alerts" && method === "GET") {
      authorize(req, ALERT_ROLES);
      const expand = query.$expand === "evidence";
      const all = [...fake.alerts.values()].map((a) => ({ ...a, evidence: expand ? a.evidence : [] }));
      return [200, collection(path, query, all, (a) => `${a.lastUpdateTime}${a.id}`, "Alerts")];
    }
    if (path === "/api/investigations" && method === "GET") {
      authorize(req, ALERT_ROLES);
      const all = [...fake.investigations.values()];
      return [200, collection(path, query, all, (i) => `${i.startTime}${i.id}`, "Investigations")];
    }
    const oneInvestigation = /^\/api\/investigations\/([^/]+)$/.exec(path);
    if (oneInvestigation && method === "GET") {
      authorize(req, ALERT_ROLES);
      const investigation = fake.investigations.get(decodeURIComponent(oneInvestigation[1]!));
      if (!investigation)
        throw new HttpError(404, "ResourceNotFound", `Investigation ${oneInvestigation[1]} was not found`);
      return [200, { "@odata.context": "$metadata#Investigations/$entity", ...investigation }];
    }
    const oneFile = /^\/api\/files\/([^/]+)$/.exec(path);
    if (oneFile && method === "GET") {
      authorize(req, FILE_ROLES);
      const id = decodeURIComponent(oneFile[1]!).toLowerCase();
      const file = [...fake.files.values()].find((f) => f.sha1 === id || f.sha256 === id);
      if (!file) throw new HttpError(404, "ResourceNotFound", `File ${id} was not found`);
      return [
        200,
        { "@odata.context": "$metadata#Files/$entity", ...file, globalPrevalence: 1, fileType: null },
      ];
    }
    if (path === "/api/indicators" && method === "GET") {
      authorize(req, TI_ROLES);
      const value = [...fake.indicators.values()].filter(odataFilter(query.$filter));
      return [200, { "@odata.context": "$metadata#Indicators", value }];
    }
    if (path === "/api/indicators" && method === "POST") {
      authorize(req, TI_ROLES);
      const json = checkBody(
        body,
        ["indicatorValue", "indicatorType", "action", "title", "description"],
        INDICATOR_FIELDS,
      );
      if (!INDICATOR_TYPES.includes(String(json.indicatorType)))
        throw new HttpError(400, "InvalidInput", `Invalid input ${json.indicatorType}.`);
      if (!INDICATOR_ACTIONS.includes(String(json.action)))
        throw new HttpError(400, "InvalidInput", `Invalid input ${json.action}.`);
      if (json.indicatorType === "Url" && !URL.canParse(String(json.indicatorValue))) {
        throw new HttpError(400, "InvalidUrl", `URL ${json.indicatorValue} is invalid.`);
      }
      // Submits or updates: one indicator per type and value.
      const existing = [...fake.indicators.values()].find(
        (i) => i.indicatorType === json.indicatorType && i.indicatorValue === json.indicatorValue,
      );
      const id = existing ? String(existing.id) : String(++indicatorSeq);
      const indicator = {
        ...existing,
        ...json,
        id,
        sourceType: "AadApp",
        createdBy: fake.clientId,
        creationTimeDateTimeUtc: existing?.creationTimeDateTimeUtc ?? new Date().toISOString(),
        lastUpdateTime: new Date().toISOString(),
      };
      fake.indicators.set(id, indicator);
      return [200, { "@odata.context": "$metadata#Indicators/$entity", ...indicator }];
    }
    const oneIndicator = /^\/api\/indicators\/([^/]+)$/.exec(path);
    if (oneIndicator && method === "DELETE") {
      authorize(req, TI_ROLES);
      const id = decodeURIComponent(oneIndicator[1]!);
      if (!fake.indicators.delete(id))
        throw new HttpError(404, "ResourceNotFound", `Indicator ${id} was not found`);
      return [204, null];
    }
    throw new HttpError(404, "NotFound", `No resource ${method} ${path}`);
  }

  const withContext = (entity: object) => ({
    "@odata.context": "https://api.securitycenter.microsoft.com/api/$metadata#MachineActions/$entity",
    ...entity,
  });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const raw = Buffer.concat(chunks).toString("utf8");
      const isJson = (req.headers["content-type"] ?? "").includes("application/json");
      let body: unknown = raw;
      let status: number;
      let payload: unknown;
      const headers: Record<string, string> = {};
      if (url.pathname.startsWith("/api/")) {
        fake.beforeAnswer?.({
          method: req.method ?? "GET",
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
        });
      }
      try {
        if (isJson) body = raw === "" ? undefined : JSON.parse(raw);
        [status, payload] = route(req, url.pathname, Object.fromEntries(url.searchParams), body);
      } catch (thrown) {
        // A bug in the stand-in answers 500 and shows in the recorded call, not as a crash.
        const error =
          thrown instanceof HttpError ? thrown : new HttpError(500, "InternalServerError", String(thrown));
        status = error.status;
        Object.assign(headers, error.headers);
        payload =
          "answer" in error
            ? error.answer
            : "oauth" in error
              ? error.oauth
              : { error: { code: error.code, message: error.message, target: randomUUID() } };
      }
      fake.calls.push({
        method: req.method ?? "GET",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body,
        status,
        at: Date.now(),
      });
      if (payload === null) {
        res.writeHead(status, headers).end();
        return;
      }
      res
        .writeHead(status, { ...headers, "content-type": "application/json; charset=utf-8" })
        .end(JSON.stringify(payload));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

/** The environment that points the app at `fake`. */
export function defenderEnv(fake: FakeDefender, extra: Record<string, string> = {}): Record<string, string> {
  return {
    BACKEND: "defender",
    DEFENDER_TENANT_ID: fake.tenantId,
    DEFENDER_CLIENT_ID: fake.clientId,
    DEFENDER_CLIENT_SECRET: fake.clientSecret,
    DEFENDER_TOKEN_URL: `${fake.url}/{tenant}/oauth2/v2.0/token`,
    DEFENDER_API_URL: fake.url,
    DEFENDER_POLL_INTERVAL_MS: "50",
    DEFENDER_POLL_MAX_INTERVAL_MS: "200",
    // The tests make many calls in a minute; the quotas themselves are tested on their own.
    DEFENDER_CALLS_PER_MINUTE: "100000",
    DEFENDER_CALLS_PER_HOUR: "1000000",
    DEFENDER_LIVE_RESPONSE_PER_MINUTE: "100000",
    ...extra,
  };
}
