import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export type Metrics = ReturnType<typeof createMetrics>;

/** One registry per process (and per test app), so that nothing is registered twice. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: "action_center_http_requests_total",
      help: "HTTP requests served, by route and status code",
      labelNames: ["method", "route", "status"] as const,
      registers: [registry],
    }),
    actionsIngested: new Counter({
      name: "action_center_actions_ingested_total",
      help: "Actions stored through the ingest API (duplicates excluded)",
      labelNames: ["source", "type"] as const,
      registers: [registry],
    }),
    transitions: new Counter({
      name: "action_center_action_transitions_total",
      help: "Action status changes, by transition",
      labelNames: ["transition"] as const,
      registers: [registry],
    }),
    jobs: new Counter({
      name: "action_center_jobs_total",
      help: "Queue jobs finished, by queue and outcome",
      labelNames: ["queue", "outcome"] as const,
      registers: [registry],
    }),
    executionSeconds: new Histogram({
      name: "action_center_execution_seconds",
      help: "Time from a committed decision to the action's final status",
      labelNames: ["operation", "outcome"] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: "action_center_queue_depth",
      help: "Jobs waiting, delayed or active, by queue and state",
      labelNames: ["queue", "state"] as const,
      registers: [registry],
    }),
    slackCalls: new Counter({
      name: "action_center_slack_calls_total",
      help: "Slack Web API calls made by the workers, by method and outcome (ok, error, rate_limited)",
      labelNames: ["method", "outcome"] as const,
      registers: [registry],
    }),
    decisions: new Counter({
      name: "action_center_decisions_total",
      help: "Decisions asked for in Slack, by decision and outcome (done, recorded, held_for_sign_in, refused, forbidden, error)",
      labelNames: ["decision", "outcome"] as const,
      registers: [registry],
    }),
    slackRequests: new Counter({
      name: "action_center_slack_requests_total",
      help: "Requests to /slack/events, by outcome (accepted, bad_signature, stale, future, replayed, retry_of_received, store_down, malformed)",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    inboxRecovered: new Counter({
      name: "action_center_slack_inbox_recovered_total",
      help: "Slack requests taken over from the inbox after the process that answered them stopped, by kind",
      labelNames: ["kind"] as const,
      registers: [registry],
    }),
    oldestPendingSeconds: new Gauge({
      name: "action_center_oldest_pending_seconds",
      help: "Age of the oldest action still waiting for a decision (0 when none waits)",
      registers: [registry],
    }),
    failedActions: new Gauge({
      name: "action_center_failed_actions",
      help: "Actions whose run or undo failed and that nobody has retried yet",
      registers: [registry],
    }),
    connectorItems: new Counter({
      name: "action_center_connector_items_total",
      help: "What the Defender connector read, by stream and outcome (proposed, recorded, own, skipped…)",
      labelNames: ["stream", "outcome"] as const,
      registers: [registry],
    }),
    connectorRounds: new Counter({
      name: "action_center_connector_rounds_total",
      help: "Rounds of reading Defender, by outcome (done, throttled, failed, standby)",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    outboxDepth: new Gauge({
      name: "action_center_outbox_depth",
      help: "Committed work not yet handed to the queues",
      registers: [registry],
    }),
  };
}
