// The Defender backend: each approved action (or undo) becomes one call to Microsoft Defender for
// Endpoint. Machine actions run on the device later, so a submission records its machine action
// id in the action's backend_state, in the worker's transaction, and answers "check later"; the
// same job comes back, finds the id for this attempt and asks Defender instead of submitting again.
// URL indicators answer at once. Calls are metered against Defender's documented quotas.
//
// Why one long file: apply, undo, their polling and the live response session turns share one
// closure over the client, the call budgets and the installation id; the pure parts (requests,
// budgets, links) are modules of their own.
import { eq } from "drizzle-orm";
import type { DefenderConfig } from "../../config/env.ts";
import type { Tx } from "../../db/client.ts";
import {
  earlierSessionRun,
  lockDeviceSession,
  releaseSession,
  type SessionRun,
  sessionHolder,
  takeSession,
} from "../../db/queries/liveResponseLeases.ts";
import { type ActionRow, actions } from "../../db/schema.ts";
import { ACTION_TYPE_INFO, isUndoable } from "../../domain/actionTypes.ts";
import { createRedis } from "../../lib/redis.ts";
import type { Logger } from "../../telemetry/log.ts";
import {
  BackendError,
  BackendRateLimitError,
  CheckLater,
  type RemoteBackend,
  type UndoData,
} from "../types.ts";
import { defenderBudgets, meteredBy, spendFromBudgets } from "./budget.ts";
import { ACTIVE_REQUEST_ALREADY_EXISTS, createDefenderClient, DefenderApiError } from "./client.ts";
import {
  actionMarker,
  type DefenderRequest,
  type Operation,
  PERMISSIONS,
  planRequest,
  runMarker,
  SCRIPTED_TYPES,
} from "./requests.ts";

/** A MachineAction as Defender returns it (the fields we read). */
type MachineAction = {
  id: string;
  type?: string;
  status?: string;
  requestor?: string | null;
  requestorComment?: string | null;
  computerDnsName?: string | null;
  creationDateTimeUtc?: string | null;
  cancellationRequestor?: string | null;
  cancellationComment?: string | null;
  commands?: { commandStatus?: string; errors?: unknown[] }[];
};

type Indicator = {
  id: string | number;
  indicatorValue?: string;
  indicatorType?: string;
  action?: string;
  title?: string;
  description?: string;
  [field: string]: unknown;
};

/** What backend_state holds while Defender works on a submission. */
type RunState = {
  operation: Operation;
  attempt: number;
  machineActionId: string;
  machineActionType: string;
  status: string;
  /** How many times we asked; sets the wait before the next check. */
  checks: number;
  submittedAt: string;
  /** The last passing failure to check, kept for whoever reads the action. */
  lastError?: string;
};

/**
 * What backend_state holds while a live response waits for a session someone else holds on its
 * device (Defender answered ActiveRequestAlreadyExists): since when, and whose it is.
 */
type SessionWait = {
  operation: Operation;
  attempt: number;
  waitingSince: string;
  checks: number;
  blocker: string;
};

const FINAL_FAILURES = ["Failed", "TimeOut", "Cancelled"];
const STILL_RUNNING = ["Pending", "InProgress"];
const BLOCKING_ACTIONS = ["Block", "BlockAndRemediate", "AlertAndBlock"];
// The indicator fields a POST accepts, to put back an indicator our block replaced.
const RESTORABLE_FIELDS = [
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
const MINUTE = 60_000;
// Each job makes about one call and Defender allows 100 a minute: a few at once keep up, and they
// hold database connections while a call is under way.
const MAX_CONCURRENCY = 4;

export function createDefenderBackend(
  config: DefenderConfig,
  deps: { redisUrl: string; queuePrefix: string; log: Logger; installationId: string },
): RemoteBackend {
  const redis = createRedis(deps.redisUrl, "producer");
  // Shared with the connector, whose share of each window is capped (budget.ts).
  const budgets = defenderBudgets(deps.queuePrefix, config);
  const client = createDefenderClient(config, { beforeCall: meteredBy(redis, budgets.worker) });
  const settings = {
    isolationType: config.isolationType,
    scripts: config.liveResponseScripts,
    installationId: deps.installationId,
  };

  const deviceNotFound = (action: ActionRow) =>
    `device ${action.deviceName ?? action.deviceId} (id ${action.deviceId}) is not known to Defender`;

  /** Waits grow with each check: most actions finish in minutes, some wait days for their device. */
  const checkDelay = (checks: number) =>
    Math.min(config.pollIntervalMs * 2 ** Math.min(checks, 20), config.pollMaxIntervalMs);

  async function saveRun(tx: Tx, actionId: number, state: RunState | SessionWait): Promise<void> {
    await tx.update(actions).set({ backendState: state }).where(eq(actions.id, actionId));
  }

  async function run(tx: Tx, action: ActionRow, operation: Operation): Promise<UndoData | CheckLater> {
    const attempt = operation === "apply" ? action.attempt : action.undoAttempt;
    const state = action.backendState as Partial<RunState> | null;
    if (
      state?.operation === operation &&
      state.attempt === attempt &&
      typeof state.machineActionId === "string"
    ) {
      return check(tx, action, state as RunState);
    }
    const request = planRequest(action, operation, settings);
    switch (request.kind) {
      case "block_url":
        return blockUrl(action, request);
      case "unblock_url":
        await unblockUrl(action);
        return {};
      case "machine_action": {
        const waiting =
          state?.operation === operation && state.attempt === attempt && "waitingSince" in state
            ? (state as SessionWait)
            : null;
        return submit(tx, action, operation, request, waiting);
      }
    }
  }

  async function submit(
    tx: Tx,
    action: ActionRow,
    operation: Operation,
    request: Extract<DefenderRequest, { kind: "machine_action" }>,
    waiting: SessionWait | null,
  ): Promise<CheckLater> {
    if (request.script !== null) {
      const turn = await takeSessionTurn(tx, action, operation);
      if (turn) return turn;
      // Someone else's session was running: while Defender still lists it, asking again only
      // spends the live response quota.
      if (waiting && (await foreignSession(action, operation)))
        return waitForSession(tx, action, operation, waiting);
      const { wait } = await spendFromBudgets(redis, [budgets.liveResponse]);
      // Only live response is spent: this action waits, the others go on.
      if (wait > 0) return new CheckLater(wait);
    }
    let submitted: MachineAction | null;
    try {
      submitted = await client.call<MachineAction>({
        method: "POST",
        path: request.path,
        body: request.body,
        permission: request.permission,
        notFound: deviceNotFound(action),
      });
    } catch (error) {
      if (!(error instanceof DefenderApiError && error.code === ACTIVE_REQUEST_ALREADY_EXISTS)) throw error;
      // Ours, if an earlier try was accepted but died before recording it; anyone else's is a refusal.
      submitted = await findOwnSubmission(action, operation, request);
      if (!submitted) {
        // A live response session someone else holds on the device: waited for, then named.
        if (request.script !== null) return waitForSession(tx, action, operation, waiting);
        throw error;
      }
    }
    if (typeof submitted?.id !== "string") {
      throw new BackendError("Defender accepted the request but answered without a machine action id", false);
    }
    await saveRun(tx, action.id, {
      operation,
      attempt: operation === "apply" ? action.attempt : action.undoAttempt,
      machineActionId: submitted.id,
      machineActionType: submitted.type ?? request.machineActionType,
      status: submitted.status ?? "Pending",
      checks: 0,
      submittedAt: new Date().toISOString(),
    });
    return new CheckLater(checkDelay(0));
  }

  /** The machine actions of `type` on the action's device that Defender has not finished. */
  async function runningMachineActions(action: ActionRow, type: string): Promise<MachineAction[]> {
    const filter = `machineId eq ${odataString(action.deviceId!)} and type eq ${odataString(type)}`;
    const found = await client.call<{ value?: MachineAction[] }>({
      method: "GET",
      path: `/api/machineactions?$filter=${encodeURIComponent(filter)}`,
      permission: PERMISSIONS.read,
      notFound: deviceNotFound(action),
    });
    return (found?.value ?? []).filter((machineAction) => STILL_RUNNING.includes(machineAction.status ?? ""));
  }

  /**
   * Ours: requested by this app (its Entra ID application) with this installation's marker for
   * this run. Another installation on the tenant (staging, a rebuilt database) numbers its
   * actions from 1 too, and a person can copy a comment; neither is ours to adopt.
   */
  const isOwnRun = (machineAction: MachineAction, action: ActionRow, operation: Operation) =>
    machineAction.requestor?.toLowerCase() === config.clientId.toLowerCase() &&
    machineAction.requestorComment?.includes(runMarker(action, operation, deps.installationId)) === true;

  async function findOwnSubmission(
    action: ActionRow,
    operation: Operation,
    request: Extract<DefenderRequest, { kind: "machine_action" }>,
  ): Promise<MachineAction | null> {
    const running = await runningMachineActions(action, request.machineActionType);
    return running.find((machineAction) => isOwnRun(machineAction, action, operation)) ?? null;
  }

  /** The live response session someone else runs on the action's device, as Defender lists it. */
  async function foreignSession(action: ActionRow, operation: Operation): Promise<MachineAction | null> {
    const running = await runningMachineActions(action, "LiveResponse");
    return running.find((machineAction) => !isOwnRun(machineAction, action, operation)) ?? null;
  }

  /**
   * Defender runs one live response session at a time per device. Among our own actions, the
   * device's lease (db/queries/liveResponseLeases.ts) gives it to one run at a time, in decision
   * order: null when it is this run's turn (the lease is taken in this transaction), otherwise
   * when to ask again.
   */
  async function takeSessionTurn(
    tx: Tx,
    action: ActionRow,
    operation: Operation,
  ): Promise<CheckLater | null> {
    const deviceId = action.deviceId!;
    const run: SessionRun = {
      actionId: action.id,
      operation,
      attempt: operation === "apply" ? action.attempt : action.undoAttempt,
    };
    const later = new CheckLater(config.pollIntervalMs);
    if (!(await lockDeviceSession(tx, deviceId))) return later;
    const holder = await sessionHolder(tx, deviceId);
    if (holder) {
      const mine =
        holder.actionId === run.actionId && holder.operation === operation && holder.attempt === run.attempt;
      return mine ? null : later;
    }
    if ((await earlierSessionRun(tx, deviceId, run, SCRIPTED_TYPES)) !== null) return later;
    await takeSession(tx, deviceId, run);
    return null;
  }

  /**
   * Someone else's live response session blocks the device: wait for it, checking with Defender,
   * up to DEFENDER_LIVE_RESPONSE_WAIT_MS; then fail, naming it, without running anything.
   */
  async function waitForSession(
    tx: Tx,
    action: ActionRow,
    operation: Operation,
    waiting: SessionWait | null,
  ): Promise<CheckLater> {
    const blocker = await foreignSession(action, operation);
    const described = describeSession(action, blocker);
    const since = waiting ? Date.parse(waiting.waitingSince) : Date.now();
    const waited = Date.now() - since;
    if (waited >= config.liveResponseWaitMs) {
      throw new BackendError(
        `${described}; waited ${describeWait(waited)} for it to end, so nothing was run — retry once it has ended`,
        false,
      );
    }
    const checks = (waiting?.checks ?? 0) + 1;
    await saveRun(tx, action.id, {
      operation,
      attempt: operation === "apply" ? action.attempt : action.undoAttempt,
      waitingSince: new Date(since).toISOString(),
      checks,
      blocker: described,
    });
    if (!waiting)
      deps.log.info(
        { actionId: action.id, blocker: described },
        "waiting for a live response session to end",
      );
    return new CheckLater(Math.min(checkDelay(checks), Math.max(config.liveResponseWaitMs - waited, 0) + 1));
  }

  function describeSession(action: ActionRow, session: MachineAction | null): string {
    const device = action.deviceName ?? session?.computerDnsName ?? action.deviceId;
    const base = `another live response session is running on ${device}`;
    if (!session) {
      return `${base}, started outside this app (Defender lists no live response machine action for it, e.g. an interactive session in the portal)`;
    }
    // What Defender says about someone else's session is upstream text: redacted like its errors.
    const by = session.requestor ? `, started by ${client.redact(session.requestor)}` : "";
    const at = session.creationDateTimeUtc
      ? ` at ${session.creationDateTimeUtc.slice(0, 16).replace("T", " ")} UTC`
      : "";
    const comment = session.requestorComment
      ? `: "${client.redact(session.requestorComment).slice(0, 120)}"`
      : "";
    return `${base}${by}${at} (Defender machine action ${session.id}${comment})`;
  }

  async function check(tx: Tx, action: ActionRow, state: RunState): Promise<UndoData | CheckLater> {
    let machineAction: MachineAction | null;
    try {
      machineAction = await client.call<MachineAction>({
        method: "GET",
        path: `/api/machineactions/${encodeURIComponent(state.machineActionId)}`,
        permission: PERMISSIONS.read,
        notFound: `Defender no longer knows machine action ${state.machineActionId}`,
      });
      if (machineAction?.status === "Succeeded" && state.machineActionType === "LiveResponse") {
        await checkScriptResult(state);
      }
    } catch (error) {
      if (!(error instanceof BackendError) || !error.retryable || error instanceof BackendRateLimitError) {
        throw error;
      }
      // The machine action goes on in Defender whatever our connection does: keep checking, as
      // failing the action now would misreport a change that may still happen on the device.
      deps.log.warn(
        { actionId: action.id, machineActionId: state.machineActionId, error: error.message },
        "could not check a Defender machine action; checking again later",
      );
      await saveRun(tx, action.id, { ...state, checks: state.checks + 1, lastError: error.message });
      return new CheckLater(checkDelay(state.checks + 1));
    }
    const status = machineAction?.status ?? "unknown";
    const { lastError: _cleared, ...current } = state;
    await saveRun(tx, action.id, { ...current, status, checks: state.checks + 1 });
    // The session is over: the device's next live response may start (a failure, which rolls
    // this back, leaves a lease whose holder has stopped running: free as well).
    if (state.machineActionType === "LiveResponse" && status === "Succeeded") {
      await releaseSession(tx, action.deviceId!, action.id);
    }
    if (status === "Succeeded") return { machineActionId: state.machineActionId };
    if (FINAL_FAILURES.includes(status)) {
      throw new BackendError(describeFailure(action, state, machineAction!), false);
    }
    if (!STILL_RUNNING.includes(status)) {
      deps.log.warn(
        { actionId: action.id, status },
        "Defender reported a machine action status we do not know",
      );
    }
    return new CheckLater(checkDelay(state.checks + 1));
  }

  function describeFailure(action: ActionRow, state: RunState, machineAction: MachineAction): string {
    const device = action.deviceName ?? action.deviceId;
    const base = `Defender's ${state.machineActionType} action ${state.machineActionId} on ${device} ended ${machineAction.status}`;
    if (machineAction.status === "Cancelled") {
      const by = machineAction.cancellationRequestor
        ? ` by ${client.redact(machineAction.cancellationRequestor)}`
        : "";
      const why = machineAction.cancellationComment
        ? `: ${client.redact(machineAction.cancellationComment)}`
        : "";
      return `${base}${by}${why}`;
    }
    const errors = (machineAction.commands ?? []).flatMap((command) => command.errors ?? []).map(String);
    return errors.length > 0 ? `${base}: ${client.redact(errors.join("; "))}` : base;
  }

  /** A script that ran but exited non-zero did not do its job, though Defender says Succeeded. */
  async function checkScriptResult(state: RunState): Promise<void> {
    const link = await client.call<{ value?: string }>({
      method: "GET",
      path: `/api/machineactions/${encodeURIComponent(state.machineActionId)}/GetLiveResponseResultDownloadLink(index=0)`,
      permission: PERMISSIONS.read,
      notFound: `Defender has no result for live response ${state.machineActionId}`,
    });
    if (typeof link?.value !== "string") {
      throw new BackendError(
        `Defender gave no result link for live response ${state.machineActionId}`,
        false,
      );
    }
    const result = (await client.download(link.value)) as {
      script_name?: string;
      exit_code?: number;
      script_errors?: string;
    };
    if (result.exit_code !== 0) {
      const errors = result.script_errors ? `: ${client.redact(String(result.script_errors))}` : "";
      throw new BackendError(
        `live response script ${result.script_name ?? ""} exited with code ${result.exit_code}${errors}`,
        false,
      );
    }
  }

  async function findUrlIndicator(action: ActionRow, url: string): Promise<Indicator | null> {
    const found = await client.call<{ value?: Indicator[] }>({
      method: "GET",
      path: `/api/indicators?$filter=${encodeURIComponent(`indicatorValue eq ${odataString(url)}`)}`,
      permission: PERMISSIONS.indicators,
      notFound: `Defender's indicators could not be listed for action ${action.id}`,
    });
    return found?.value?.find((i) => i.indicatorType === "Url" && i.indicatorValue === url) ?? null;
  }

  /** Blocks the URL tenant-wide; undo data says how to put back exactly what was there before. */
  async function blockUrl(
    action: ActionRow,
    request: Extract<DefenderRequest, { kind: "block_url" }>,
  ): Promise<UndoData> {
    const existing = await findUrlIndicator(action, request.url);
    const mine =
      existing &&
      `${existing.title} ${existing.description}`.includes(actionMarker(action, deps.installationId));
    // Ours from an earlier try that died before recording it: nothing older is known to restore.
    if (existing && mine) return { indicatorId: String(existing.id), previous: null };
    if (existing && BLOCKING_ACTIONS.includes(existing.action ?? "")) {
      return { indicatorId: String(existing.id), alreadyBlocked: true };
    }
    // Defender's POST submits or updates the URL's indicator; an older one is kept to restore.
    const created = await client.call<Indicator>({
      method: "POST",
      path: "/api/indicators",
      body: request.body,
      permission: PERMISSIONS.indicators,
      notFound: "Defender's indicators are not available",
    });
    if (created?.id === undefined) throw new BackendError("Defender answered without an indicator id", false);
    const previous = existing
      ? Object.fromEntries(RESTORABLE_FIELDS.filter((f) => existing[f] != null).map((f) => [f, existing[f]]))
      : null;
    return { indicatorId: String(created.id), previous };
  }

  async function unblockUrl(action: ActionRow): Promise<void> {
    const saved = action.undoData ?? {};
    // Blocked before this action: the block is not ours to lift.
    if (saved.alreadyBlocked === true) return;
    if (saved.previous && typeof saved.previous === "object") {
      await client.call({
        method: "POST",
        path: "/api/indicators",
        body: saved.previous,
        permission: PERMISSIONS.indicators,
        notFound: "Defender's indicators are not available",
      });
      return;
    }
    if (typeof saved.indicatorId !== "string") {
      throw new BackendError("the action's undo data names no Defender indicator", false);
    }
    try {
      await client.call({
        method: "DELETE",
        path: `/api/indicators/${encodeURIComponent(saved.indicatorId)}`,
        permission: PERMISSIONS.indicators,
        notFound: `indicator ${saved.indicatorId} is gone`,
      });
    } catch (error) {
      // Someone already removed it: the URL is unblocked, which is what undo wants.
      if (!(error instanceof DefenderApiError && error.status === 404)) throw error;
    }
  }

  return {
    name: "defender",
    runs: "remote",
    workerLimits: {
      maxConcurrency: MAX_CONCURRENCY,
      limiter: { max: config.callsPerMinute, duration: MINUTE },
    },
    apply: (tx, action) => run(tx, action, "apply"),
    async undo(tx, action) {
      if (!isUndoable(action.type)) {
        throw new BackendError(`${ACTION_TYPE_INFO[action.type].label} cannot be undone`, false);
      }
      const result = await run(tx, action, "undo");
      return result instanceof CheckLater ? result : undefined;
    },
    async close() {
      redis.disconnect();
    },
  };
}

/** "12 min", "45 s": how long a wait lasted, for a person. */
function describeWait(ms: number): string {
  return ms >= MINUTE ? `${Math.round(ms / MINUTE)} min` : `${Math.max(1, Math.round(ms / 1000))} s`;
}

/** An OData string literal: single quotes doubled. */
function odataString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
