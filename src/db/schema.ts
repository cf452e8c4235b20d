// The store. Postgres is the source of truth: actions, their append-only audit trail, the outbox
// of work that must follow a committed decision, the Slack messages that show actions, and the
// simulated fleet that the default backend acts on.
//
// Why one long file: drizzle-kit reads the whole schema to diff it into migrations, and every table
// here is read by several rooms; it holds definitions only, no logic.
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import type { ActionType, Entity, Source } from "../domain/actionTypes.ts";
import type { Status } from "../domain/status.ts";

const createdAt = () => timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow();
const time = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const investigations = pgTable("investigations", {
  id: text("id").primaryKey(),
  createdAt: createdAt(),
});

export const slackMessages = pgTable(
  "slack_messages",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    channel: text("channel").notNull(),
    /** Set once chat.postMessage answered; null while the post is under way. */
    ts: text("ts"),
    investigationId: text("investigation_id"),
    /**
     * Set on a threat message: the thing its actions share across devices and investigations
     * (`file:<sha256>`, domain/threats.ts); null on an investigation's or a single action's message.
     */
    threatKey: text("threat_key"),
    /** Bumped with every status change of its actions; a render shows at least this version. */
    version: integer("version").notNull().default(0),
    renderedVersion: integer("rendered_version").notNull().default(-1),
    /** The newest audit event already posted in the message's thread: the thread's cursor. */
    threadedEventId: bigint("threaded_event_id", { mode: "number" }).notNull().default(0),
    /**
     * Set just before a thread reply is posted (the newest event it holds), cleared when the
     * cursor moves past it: set at start, the last reply may have landed without being recorded.
     */
    threadPendingEventId: bigint("thread_pending_event_id", { mode: "number" }),
    createdAt: createdAt(),
  },
  (t) => [
    index("slack_messages_channel_ts_idx").on(t.channel, t.ts),
    // The reconciler's sweeps: messages not yet posted, and messages behind their actions.
    index("slack_messages_unposted_idx").on(t.createdAt).where(sql`${t.ts} is null`),
    index("slack_messages_behind_idx").on(t.id).where(sql`${t.renderedVersion} < ${t.version}`),
    // Ingest looks up the open threat message of a key.
    index("slack_messages_threat_idx")
      .on(t.channel, t.threatKey, t.createdAt.desc())
      .where(sql`${t.threatKey} is not null`),
  ],
);

export const actions = pgTable(
  "actions",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    externalId: text("external_id").notNull(),
    source: text("source").$type<Source>().notNull(),
    type: text("type").$type<ActionType>().notNull(),
    status: text("status").$type<Status>().notNull(),
    investigationId: text("investigation_id").references(() => investigations.id),
    incidentId: text("incident_id"),
    deviceId: text("device_id"),
    deviceName: text("device_name"),
    entity: jsonb("entity").$type<Entity>().notNull().default({}),
    /** Copied out of `entity` so that history by file hash is an index look-up. */
    sha256: text("sha256"),
    /** What it acts on when that can be the same across devices (domain/threats.ts), set at ingest. */
    threatKey: text("threat_key"),
    requestedBy: text("requested_by"),
    comment: text("comment"),
    createdAt: createdAt(),
    updatedAt: time("updated_at").notNull().defaultNow(),
    decidedBy: text("decided_by"),
    decidedAt: time("decided_at"),
    decisionComment: text("decision_comment"),
    completedAt: time("completed_at"),
    error: text("error"),
    /** What the backend saved when applying, so that undo can restore it exactly. */
    undoData: jsonb("undo_data").$type<Record<string, unknown>>(),
    /** A remote backend's own record of the run under way (e.g. Defender's machine action id). */
    backendState: jsonb("backend_state").$type<Record<string, unknown>>(),
    /** Execution attempt; a retry after failure starts the next one (and a new job id). */
    attempt: integer("attempt").notNull().default(1),
    undoAttempt: integer("undo_attempt").notNull().default(0),
    /**
     * The message that shows it. No foreign key: a statement's new actions are checked against
     * `slack_messages`, and their messages locked, in one look-up (drizzle/0018), where a foreign
     * key checks and locks the message row by row, once for each of its actions.
     */
    slackMessageId: bigint("slack_message_id", { mode: "number" }),
    /** When a pending action expires if nobody decides it; set at ingest by the policy. */
    expiresAt: time("expires_at"),
    /** Distinct approvals needed before it runs (the two-person rule); set at ingest by the policy. */
    approvalsNeeded: integer("approvals_needed").notNull().default(1),
    /** Distinct approvers who must ask for its undo before it is undone; set at ingest by the policy. */
    undoApprovalsNeeded: integer("undo_approvals_needed").notNull().default(1),
  },
  (t) => [
    uniqueIndex("actions_source_external_id_uq").on(t.source, t.externalId),
    // Every index here is written again by each status change (a changed indexed column makes
    // the update non-HOT), three times in an action's life, so an index must earn that. None
    // for type or source: each is a tenth or more of the actions, and the history's newest-first
    // scan of the primary key finds a page of them within a few hundred rows (BENCHMARKS.md).
    index("actions_status_id_idx").on(t.status, t.id.desc()),
    index("actions_device_id_idx").on(t.deviceId, t.id.desc()),
    index("actions_investigation_id_idx").on(t.investigationId, t.id.desc()),
    index("actions_sha256_id_idx").on(t.sha256, t.id.desc()),
    index("actions_slack_message_idx").on(t.slackMessageId),
    index("actions_decided_by_id_idx").on(t.decidedBy, t.id.desc()),
    index("actions_created_at_idx").on(t.createdAt.desc()),
    // The expiry sweep looks only at pending actions.
    index("actions_pending_expires_at_idx").on(t.expiresAt).where(sql`${t.status} = 'pending'`),
    // Ingest counts the pending actions of a threat that arrived within the grouping window.
    index("actions_pending_threat_idx")
      .on(t.threatKey, t.createdAt)
      .where(sql`${t.status} = 'pending' and ${t.threatKey} is not null`),
  ],
);

/** What an approval under the two-person rule is for: running the action, or undoing it. */
export type ApprovalOperation = "approve" | "undo";

/**
 * One row per person who approved an action (or its undo) under the two-person rule; nobody
 * counts twice for one operation.
 */
export const actionApprovals = pgTable(
  "action_approvals",
  {
    actionId: bigint("action_id", { mode: "number" })
      .notNull()
      .references(() => actions.id),
    operation: text("operation").$type<ApprovalOperation>().notNull().default("approve"),
    userId: text("user_id").notNull(),
    at: time("at").notNull().default(sql`clock_timestamp()`),
  },
  (t) => [primaryKey({ columns: [t.actionId, t.operation, t.userId] })],
);

export const actionEvents = pgTable(
  "action_events",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    /**
     * The action's id. Not a foreign key: a trigger checks each statement's events against
     * `actions` in one look-up, where a foreign key checks and locks their action row by row
     * (drizzle/0017). That lock only guards against the action's deletion, which `actions` refuses.
     */
    actionId: bigint("action_id", { mode: "number" }).notNull(),
    at: time("at").notNull().default(sql`clock_timestamp()`),
    kind: text("kind").notNull(),
    /** A Slack user ID, `system`, or `api` for ingest. */
    actor: text("actor").notNull(),
    detail: jsonb("detail").$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index("action_events_action_idx").on(t.actionId, t.id)],
);

export const outbox = pgTable("outbox", {
  id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
  topic: text("topic").notNull(),
  payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
  createdAt: createdAt(),
});

/**
 * Every signed request from Slack, written before it is answered (the ack is a promise that the
 * click counts), then decided from here: right away by the process that answered it, or after a
 * crash by any web process once the claim runs out. The unique key is the signed request (its
 * signature, or an event's id), which doubles as the memory of requests already received.
 */
export const slackInbox = pgTable(
  "slack_inbox",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    /** `sig:<X-Slack-Signature>`, or `event:<event_id>` for Events API deliveries that Slack retries. */
    requestKey: text("request_key").notNull(),
    /** `block_actions`, `view_submission`, `command`, `event`…: how its answer is given. */
    kind: text("kind").notNull(),
    /** The verified payload as Bolt reads it, without Slack's verification token. */
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    receivedAt: time("received_at").notNull().defaultNow(),
    /** Until then the process handling it owns it; after, a recovery may take it over. */
    claimedUntil: time("claimed_until").notNull(),
    /** Recoveries that took it over; a request that keeps failing is given up after a few. */
    attempts: integer("attempts").notNull().default(0),
    /** Set in the decision's own transaction, or once a request that decides nothing was handled. */
    doneAt: time("done_at"),
    outcome: text("outcome").$type<"decided" | "handled" | "abandoned">(),
  },
  (t) => [
    uniqueIndex("slack_inbox_request_key_uq").on(t.requestKey),
    index("slack_inbox_open_idx").on(t.claimedUntil).where(sql`${t.doneAt} is null`),
    index("slack_inbox_received_at_idx").on(t.receivedAt),
  ],
);

/**
 * This installation's id, created once: in every marker left in Defender, so that two
 * installations on one tenant (staging and production, a rebuilt database) never take each
 * other's machine actions for their own.
 */
export const installation = pgTable(
  "installation",
  {
    /** Always true: the table holds one row. */
    singleton: boolean("singleton").primaryKey().default(true),
    id: text("id").notNull(),
    createdAt: createdAt(),
  },
  (t) => [check("installation_singleton", sql`${t.singleton}`)],
);

/**
 * Defender runs one live response session at a time per device: the action holding a device's
 * session, shared by every worker. A lease whose holder no longer runs that attempt is free.
 */
export const liveResponseLeases = pgTable("live_response_leases", {
  deviceId: text("device_id").primaryKey(),
  actionId: bigint("action_id", { mode: "number" })
    .notNull()
    .references(() => actions.id),
  operation: text("operation").$type<"apply" | "undo">().notNull(),
  attempt: integer("attempt").notNull(),
  acquiredAt: time("acquired_at").notNull().defaultNow(),
});

// --- The simulated fleet ------------------------------------------------------------------

export const devices = pgTable("devices", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  isolated: boolean("isolated").notNull().default(false),
  codeExecutionRestricted: boolean("code_execution_restricted").notNull().default(false),
  /** An offline device cannot be acted on; the simulated backend fails with a retryable error. */
  online: boolean("online").notNull().default(true),
  createdAt: createdAt(),
});

const deviceRef = () =>
  text("device_id")
    .notNull()
    .references(() => devices.id);

export const deviceFiles = pgTable(
  "device_files",
  {
    deviceId: deviceRef(),
    sha256: text("sha256").notNull(),
    path: text("path"),
    /** `present`, `quarantined`, or `missing` (deleted behind our back: quarantine fails). */
    state: text("state").$type<"present" | "quarantined" | "missing">().notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.sha256] }), index("device_files_sha256_idx").on(t.sha256)],
);

export const deviceRegistryValues = pgTable(
  "device_registry_values",
  {
    deviceId: deviceRef(),
    key: text("key").notNull(),
    /** Empty string for the key's default value. */
    valueName: text("value_name").notNull().default(""),
    valueType: text("value_type").notNull().default("REG_SZ"),
    data: text("data").notNull().default(""),
    present: boolean("present").notNull().default(true),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.key, t.valueName] })],
);

export const deviceServices = pgTable(
  "device_services",
  {
    deviceId: deviceRef(),
    name: text("name").notNull(),
    state: text("state").$type<"running" | "stopped">().notNull(),
    startType: text("start_type").$type<"automatic" | "manual" | "disabled">().notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.name] })],
);

export const deviceDrivers = pgTable(
  "device_drivers",
  {
    deviceId: deviceRef(),
    name: text("name").notNull(),
    enabled: boolean("enabled").notNull(),
    startType: text("start_type").notNull().default("system"),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.name] })],
);

export const deviceScheduledTasks = pgTable(
  "device_scheduled_tasks",
  {
    deviceId: deviceRef(),
    path: text("path").notNull(),
    definition: jsonb("definition").$type<Record<string, unknown>>().notNull(),
    present: boolean("present").notNull().default(true),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.path] })],
);

export const deviceProcesses = pgTable(
  "device_processes",
  {
    deviceId: deviceRef(),
    pid: integer("pid").notNull(),
    imagePath: text("image_path"),
    running: boolean("running").notNull().default(true),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.pid] })],
);

export const blockedUrls = pgTable("blocked_urls", {
  url: text("url").primaryKey(),
  actionId: bigint("action_id", { mode: "number" }).notNull(),
  blockedAt: createdAt(),
});

/** How many times the simulated backend ran each operation: the proof that nothing ran twice. */
export const backendRuns = pgTable(
  "backend_runs",
  {
    actionId: bigint("action_id", { mode: "number" }).notNull(),
    operation: text("operation").$type<"apply" | "undo">().notNull(),
    attempt: integer("attempt").notNull(),
    count: integer("count").notNull().default(1),
    lastRunAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.actionId, t.operation, t.attempt] })],
);

// --- The Defender connector ----------------------------------------------------------------

/** Who runs the connector: one process at a time holds the lease, and renews it while it lives. */
export const connectorLeases = pgTable("connector_leases", {
  name: text("name").primaryKey(),
  holder: text("holder").notNull(),
  expiresAt: time("expires_at").notNull(),
  acquiredAt: time("acquired_at").notNull(),
});

/** Where each of the connector's reads of Defender resumes (a time, or the next page under way). */
export const connectorCursors = pgTable("connector_cursors", {
  stream: text("stream").primaryKey(),
  state: jsonb("state").$type<Record<string, unknown>>().notNull(),
  updatedAt: time("updated_at").notNull().defaultNow(),
});

/** The Defender alerts that proposed actions, as last read: what their messages say about them. */
export const defenderAlerts = pgTable("defender_alerts", {
  id: text("id").primaryKey(),
  incidentId: text("incident_id"),
  investigationId: text("investigation_id"),
  title: text("title").notNull(),
  severity: text("severity").notNull(),
  status: text("status").notNull(),
  assignedTo: text("assigned_to"),
  classification: text("classification"),
  determination: text("determination"),
  machineId: text("machine_id"),
  computerDnsName: text("computer_dns_name"),
  lastUpdateTime: time("last_update_time"),
  /** When the connector first saw the alert resolved; its pending proposals were told then. */
  resolvedAt: time("resolved_at"),
  createdAt: createdAt(),
});

/** Which alert proposed which action. */
export const defenderAlertActions = pgTable(
  "defender_alert_actions",
  {
    actionId: bigint("action_id", { mode: "number" })
      .primaryKey()
      .references(() => actions.id),
    alertId: text("alert_id")
      .notNull()
      .references(() => defenderAlerts.id),
  },
  (t) => [index("defender_alert_actions_alert_idx").on(t.alertId)],
);

/** Automated investigations seen waiting for approval in Defender, and the message announcing each. */
export const defenderInvestigations = pgTable(
  "defender_investigations",
  {
    id: text("id").primaryKey(),
    state: text("state").notNull(),
    statusDetails: text("status_details"),
    machineId: text("machine_id"),
    computerDnsName: text("computer_dns_name"),
    triggeringAlertId: text("triggering_alert_id"),
    startTime: time("start_time"),
    endTime: time("end_time"),
    cancelledBy: text("cancelled_by"),
    slackMessageId: bigint("slack_message_id", { mode: "number" })
      .notNull()
      .references(() => slackMessages.id),
    createdAt: createdAt(),
    updatedAt: time("updated_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("defender_investigations_message_uq").on(t.slackMessageId),
    index("defender_investigations_pending_idx").on(t.id).where(sql`${t.state} = 'PendingApproval'`),
  ],
);

export type ActionRow = typeof actions.$inferSelect;
export type ActionEventRow = typeof actionEvents.$inferSelect;
export type DeviceRow = typeof devices.$inferSelect;
export type SlackMessageRow = typeof slackMessages.$inferSelect;
export type OutboxRow = typeof outbox.$inferSelect;
export type DefenderAlertRow = typeof defenderAlerts.$inferSelect;
export type DefenderInvestigationRow = typeof defenderInvestigations.$inferSelect;

/**
 * Slack deliveries handled over Socket Mode, by what identifies the person's gesture (a click's
 * trigger_id, an event's event_id): Slack redelivers an envelope it saw no ack for, on any of the
 * app's connections, and each delivery must decide at most once.
 */
export const slackDeliveries = pgTable(
  "slack_deliveries",
  {
    key: text("key").primaryKey(),
    claimedAt: time("claimed_at").notNull().defaultNow(),
    /** Null while a listener is on it; a claim left unhandled by a process that died is taken over. */
    handledAt: time("handled_at"),
    deliveries: integer("deliveries").notNull().default(1),
  },
  (t) => [index("slack_deliveries_claimed_at").on(t.claimedAt)],
);
export type SlackInboxRow = typeof slackInbox.$inferSelect;

/**
 * The local Slack sandbox's workspace (its channel, the app's DM, private replies and shared files),
 * saved whole after each change, so that `npm start` again finds the channel as it was, with the
 * messages the store's `slack_messages` point at. One row; a real workspace never writes it.
 */
export const sandboxWorkspace = pgTable(
  "sandbox_workspace",
  {
    id: integer("id").primaryKey().default(1),
    state: jsonb("state").$type<Record<string, unknown>>().notNull(),
    savedAt: time("saved_at").notNull().defaultNow(),
  },
  (t) => [check("sandbox_workspace_one_row", sql`${t.id} = 1`)],
);

/**
 * A decision waiting for the person's fresh sign-in (step-up): the Approve or Undo they clicked,
 * held here, not committed, until the identity provider has signed them in. The link in Slack
 * carries a random token of which only the hash is stored; it is used once, before `expiresAt`.
 * `state` is the hash of the OAuth `state` sent to the provider; the nonce and PKCE verifier
 * live here, server-side, and the browser that started the sign-in holds a binding cookie
 * whose hash is `browserHash`, so a callback from another browser does not count.
 */
export const stepUps = pgTable(
  "step_ups",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    tokenHash: text("token_hash").notNull(),
    actionId: bigint("action_id", { mode: "number" })
      .notNull()
      .references(() => actions.id),
    /** `approve` or `request_undo`: what commits once the sign-in is done. */
    decision: text("decision").$type<"approve" | "request_undo">().notNull(),
    /** The verified Slack user who clicked; only they can finish it. */
    slackUserId: text("slack_user_id").notNull(),
    /** Slack's address for that user at the click (users.info), to match the provider's. */
    slackEmail: text("slack_email"),
    status: text("status")
      .$type<"open" | "signing_in" | "committed" | "refused" | "cancelled" | "expired">()
      .notNull()
      .default("open"),
    createdAt: createdAt(),
    expiresAt: time("expires_at").notNull(),
    /** When the link was used to start the sign-in; a second use is refused. */
    startedAt: time("started_at"),
    stateHash: text("state_hash"),
    nonce: text("nonce"),
    codeVerifier: text("code_verifier"),
    browserHash: text("browser_hash"),
    finishedAt: time("finished_at"),
  },
  (t) => [
    uniqueIndex("step_ups_token_hash_uq").on(t.tokenHash),
    uniqueIndex("step_ups_state_hash_uq").on(t.stateHash),
    index("step_ups_open_idx").on(t.actionId).where(sql`${t.status} in ('open', 'signing_in')`),
  ],
);
export type StepUpRow = typeof stepUps.$inferSelect;

/**
 * A private reply the bot sent (`show`, `history`, `pending`, or one of them replaced after a
 * click): Slack changes an ephemeral message only through a response_url, valid for 30 minutes
 * and 5 uses, so the latest one that reaches the reply is kept here, with what the reply is rebuilt
 * from, to refresh it when one of its actions changes. The URL is a credential for that one reply:
 * never logged, never in job data; rows past their expiry are deleted by the expiry sweep.
 */
export const privateReplies = pgTable(
  "private_replies",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    slackUserId: text("slack_user_id").notNull(),
    responseUrl: text("response_url").notNull(),
    /** What the reply is rebuilt from: a listing's page (blocks/history.ts `Listing`) or, for `show`, the action's id. */
    source: text("source").notNull(),
    /** The answer to the person's last click in it (mrkdwn), kept on top through refreshes. */
    note: text("note"),
    /** The actions the reply shows: a change of one of them refreshes it. */
    actionIds: bigint("action_ids", { mode: "number" }).array().notNull(),
    /** Uses of `responseUrl` spent (Slack allows 5). */
    uses: integer("uses").notNull().default(1),
    expiresAt: time("expires_at").notNull(),
    /** Bumped by each change of a shown action; a refresh brings `renderedVersion` up to it. */
    version: integer("version").notNull().default(0),
    renderedVersion: integer("rendered_version").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    index("private_replies_action_ids_idx").using("gin", t.actionIds),
    index("private_replies_expires_at_idx").on(t.expiresAt),
  ],
);
export type PrivateReplyRow = typeof privateReplies.$inferSelect;
