// Bulk decisions: "Approve all" on one threat message holding 5,000 quarantines of one file on
// 5,000 devices across 200 investigations (one signed click), and one bulk-undo request over
// 5,000 completed quarantines: seconds until all are final. Beside each, in the same run, the
// floor of the store's own writes for those actions: their two row updates and three audit
// events each as bare set-based statements (rolled back), with no checks, no fleet, no outbox,
// no queue and no Slack, and the machine's load average, since other work shares its cores.
import { cpus, loadavg } from "node:os";
import { sql } from "drizzle-orm";
import { requestBulkUndo } from "../src/services/bulkUndo.ts";
import { actionBody, sha256Of } from "../test/support/fixtures.ts";
import {
  blockActionsPayload,
  postToSlackEndpoint,
  viewSubmissionPayload,
} from "../test/support/slackRequests.ts";
import { waitUntil } from "./processes.ts";
import { type BenchApp, type BenchRow, fmt, startBenchApp, storeActions } from "./support.ts";

const COUNT = 5000;

/**
 * Seconds for the bare writes every one of these actions needs at least: the decision's update
 * and event, the run's update (started and finished at once) and its two events; rolled back.
 */
async function storeFloorSeconds(app: BenchApp, ids: number[], statuses: [string, string]): Promise<number> {
  const connection = await app.ctx.sql.reserve();
  try {
    await connection`begin`;
    const started = performance.now();
    await connection`update actions set status = ${statuses[0]}, decided_by = 'U0BENCHAPPR',
      decided_at = now(), updated_at = now() where id = any(${ids})`;
    await connection`insert into action_events (action_id, kind, actor, detail)
      select unnest(${ids}::bigint[]), 'decision', 'U0BENCHAPPR', '{}'`;
    await connection`update actions set status = ${statuses[1]}, completed_at = now(), updated_at = now()
      where id = any(${ids})`;
    await connection`insert into action_events (action_id, kind, actor, detail)
      select id, kind, 'system', '{}' from unnest(${ids}::bigint[]) id, unnest(array['start', 'finish']) kind`;
    const seconds = (performance.now() - started) / 1000;
    await connection`rollback`;
    return seconds;
  } finally {
    connection.release();
  }
}

const load = () => `load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`;

async function allIn(app: BenchApp, ids: number[], status: string): Promise<boolean> {
  const [row] = await app.ctx.db.execute<{ n: number }>(
    sql`select count(*)::int as n from actions where status = ${status} and id between ${ids[0]} and ${ids[ids.length - 1]}`,
  );
  return row!.n === ids.length;
}

export async function runBulkBench(): Promise<BenchRow[]> {
  const app = await startBenchApp("bulk", { env: { WORKER_CONCURRENCY: "32" } });
  try {
    const pending = await storeActions(
      app,
      Array.from({ length: COUNT }, (_, i) =>
        actionBody("quarantine_file", i, {
          investigationId: `inv-bulk-${i % 200}`,
          device: { id: `dev-bulk-${i}`, name: `PC-BULK-${i}` },
          entity: { sha256: sha256Of(777_777), path: "C:\\Users\\Public\\worm.exe" },
        }),
      ),
    );
    // Later instances of the threat join its message: one message, one click.
    const messages = await app.ctx.db.execute<{ id: number }>(
      sql`select distinct slack_message_id as id from actions
          where id between ${pending[0]} and ${pending[pending.length - 1]} order by 1`,
    );
    // Approve all opens its confirmation; the clock starts at its submission, which decides
    // (the time a person spends reading the modal is not ours).
    const confirmations: { callbackId: string; privateMetadata: string }[] = [];
    for (const message of messages) {
      const triggerId = `bench-approve-all-${message.id}`;
      const res = await postToSlackEndpoint(app.url, app.env.SLACK_SIGNING_SECRET!, {
        kind: "interactive",
        body: blockActionsPayload({
          userId: "U0BENCHAPPR",
          triggerId,
          actionId: `approve_all:${message.id}`,
          value: String(message.id),
          channelId: app.env.SLACK_CHANNEL!,
          messageTs: "1.000001",
        }),
      });
      if (res.status !== 200) throw new Error(`approve all answered ${res.status}`);
      const opened = () =>
        (
          app.slackApi.callsTo("views.open").find((c) => c.args.trigger_id === triggerId)?.response as
            | { view?: { callback_id: string; private_metadata: string } }
            | undefined
        )?.view;
      await waitUntil(async () => opened() !== undefined, 30_000, "the Approve all confirmation");
      const view = opened()!;
      confirmations.push({ callbackId: view.callback_id, privateMetadata: view.private_metadata });
    }
    const approveStart = performance.now();
    for (const confirmation of confirmations) {
      const res = await postToSlackEndpoint(app.url, app.env.SLACK_SIGNING_SECRET!, {
        kind: "interactive",
        body: viewSubmissionPayload({ userId: "U0BENCHAPPR", values: {}, ...confirmation }),
      });
      if (res.status !== 200) throw new Error(`the Approve all confirmation answered ${res.status}`);
    }
    await waitUntil(() => allIn(app, pending, "completed"), 300_000, "all approved actions to complete");
    const approveSeconds = (performance.now() - approveStart) / 1000;
    const approveLoad = load();
    const approveFloor = await storeFloorSeconds(app, pending, ["approved", "completed"]);

    const done = await storeActions(
      app,
      Array.from({ length: COUNT }, (_, i) =>
        actionBody("quarantine_file", 10_000 + i, {
          status: "completed",
          source: "antivirus",
          investigationId: undefined,
        }),
      ),
    );
    const undoStart = performance.now();
    const outcome = await requestBulkUndo(app.ctx.db, {
      actionIds: done,
      actor: "U0BENCHAPPR",
      policy: app.ctx.config.policy,
    });
    if (!outcome.ok) throw new Error(outcome.message);
    await waitUntil(() => allIn(app, done, "undone"), 300_000, "all undos to finish");
    const undoSeconds = (performance.now() - undoStart) / 1000;
    const undoLoad = load();
    const undoFloor = await storeFloorSeconds(app, done, ["undo_requested", "undone"]);
    return [
      {
        benchmark: `"Approve all" on a threat of ${COUNT.toLocaleString("en")} quarantines on ${COUNT.toLocaleString("en")} devices (${messages.length === 1 ? "one message, one click" : `${messages.length} messages, a click on each`})`,
        figure: `${fmt(approveSeconds)} s until all completed (${fmt(COUNT / approveSeconds, 0)} actions/s)`,
        reference: `the store's bare writes for them (2 updates, 3 events each, set-based): ${fmt(approveFloor, 2)} s; ${approveLoad}`,
        ratio: fmt(approveFloor / approveSeconds, 2),
        target: "≤ 3 s",
        met: approveSeconds <= 3 ? "yes" : "no",
      },
      {
        benchmark: `bulk undo of ${COUNT.toLocaleString("en")} quarantines in one request`,
        figure: `${fmt(undoSeconds)} s until all undone (${fmt(COUNT / undoSeconds, 0)} actions/s)`,
        reference: `the store's bare writes for them (2 updates, 3 events each, set-based): ${fmt(undoFloor, 2)} s; ${undoLoad}`,
        ratio: fmt(undoFloor / undoSeconds, 2),
        target: "≤ 3 s",
        met: undoSeconds <= 3 ? "yes" : "no",
      },
    ];
  } finally {
    await app.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await runBulkBench());
  process.exit(0);
}
