// An acknowledged click is never lost: the web process, a real child process, is killed with
// SIGKILL right after each of 50 acknowledged Approve confirmations (the submission of the modal
// an Approve click opens, the request that decides), at a random point (before its
// decision, during it, after it), and started again. Every acknowledged decision must be
// recorded once and executed once, by the worker process that stays up meanwhile.
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { type FakeSlackApi, startFakeSlackApi } from "../../src/sandbox/fakeSlackApi.ts";
import { DECISION_CALLBACK_ID } from "../../src/slack/actionIds.ts";
import { decisionMetadata } from "../../src/slack/blocks/modals.ts";
import { obliterateQueues, POSTGRES_BASE, REDIS_URL, uniqueName } from "../support/db.ts";
import { actionBody } from "../support/fixtures.ts";
import { seedFleetFor } from "../support/fleet.ts";
import { buildProgram, freePort, type StartedProcess, waitForHttp } from "../support/process.ts";
import { postToSlackEndpoint, viewSubmissionPayload } from "../support/slackRequests.ts";

const CLICKS = 50;
/**
 * The kill comes 0–200 ms after the ack: before the decision (a fresh process takes tens of
 * milliseconds for its first), during it or after it.
 */
const MAX_KILL_DELAY_MS = 200;
/** Web processes starting while one takes its click. */
const SPARES = 2;
const SIGNING_SECRET = "crash-test-signing-secret";
const APPROVER = "U0CRASHAPPR";
const INGEST_TOKEN = "crash-test-ingest-token-0123";

const database = uniqueName("click_crash");
const prefix = uniqueName("click_crash");
const started: StartedProcess[] = [];
let slackApi: FakeSlackApi;
let sql: postgres.Sql;
// Started from a build: each of the 52 starts costs about half the CPU it does through tsx.
let program: Awaited<ReturnType<typeof buildProgram>>;

beforeAll(async () => {
  slackApi = await startFakeSlackApi();
  sql = postgres(`${POSTGRES_BASE}/${database}`, { max: 2, onnotice: () => {} });
  program = await buildProgram();
});
afterAll(async () => {
  for (const p of started)
    if (p.child.exitCode === null && p.child.signalCode === null) await p.stop("SIGKILL");
  await sql?.end();
  const admin = postgres(`${POSTGRES_BASE}/postgres`, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${database}" with (force)`);
  await admin.end();
  await obliterateQueues(prefix);
  await slackApi?.close();
  await program?.remove();
});

/** A small seeded generator, so that a failing run can be repeated with its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

describe("click crash", () => {
  it(`${CLICKS} acknowledged clicks, the web process SIGKILLed after each: every decision recorded and executed once`, async () => {
    const env = {
      DATABASE_URL: `${POSTGRES_BASE}/${database}`,
      REDIS_URL,
      INGEST_TOKEN,
      QUEUE_PREFIX: prefix,
      SLACK_BOT_TOKEN: "xoxb-crash-test",
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_CHANNEL: "C0CRASHTST1",
      SLACK_API_URL: slackApi.url,
      APPROVERS: APPROVER,
      LOG_LEVEL: "warn",
    };
    // Each web process takes one click and is killed. The next ones start while it works, so
    // that the test waits for a start (a second or two of module loading) only when it must.
    type Web = { process: StartedProcess; base: string };
    const startWeb = async (): Promise<Web> => {
      const port = await freePort();
      const web = program.start({ ...env, PORT: String(port) }, ["web"]);
      started.push(web);
      const base = `http://127.0.0.1:${port}`;
      await waitForHttp(`${base}/healthz`, 60_000);
      return { process: web, base };
    };
    const spares: Promise<Web>[] = [];
    const nextWeb = () => {
      while (spares.length < SPARES) spares.push(startWeb());
      return spares.shift()!;
    };
    // The first one creates the database; the worker starts once it exists.
    let web = await startWeb();
    const worker = program.start({ ...env, PORT: String(await freePort()) }, ["worker"]);
    started.push(worker);
    const base = web.base;

    const bodies = Array.from({ length: CLICKS }, (_, i) =>
      actionBody("stop_service", i + 1, { investigationId: undefined }),
    );
    // The simulated fleet stops only services it has.
    const store = createDb(`${POSTGRES_BASE}/${database}`, { max: 1 });
    await seedFleetFor(store.db, bodies);
    await store.client.end();
    const created = await fetch(`${base}/api/v1/actions`, {
      method: "POST",
      headers: { authorization: `Bearer ${INGEST_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ actions: bodies }),
    });
    expect(created.status).toBe(201);
    const ids = ((await created.json()) as { actions: { id: string }[] }).actions.map((a) => Number(a.id));

    const seed = Date.now() % 1_000_000;
    const next = random(seed);
    let decidedBeforeKill = 0;
    for (const id of ids) {
      // The request that decides: the submission of Approve's confirmation (the click only opens it).
      const res = await postToSlackEndpoint(web.base, SIGNING_SECRET, {
        kind: "interactive",
        body: viewSubmissionPayload({
          userId: APPROVER,
          callbackId: DECISION_CALLBACK_ID,
          privateMetadata: decisionMetadata(id, "approve", { channel: env.SLACK_CHANNEL }),
          values: {},
        }),
      });
      expect(res.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(next() * (MAX_KILL_DELAY_MS + 1))));
      await web.process.stop("SIGKILL");
      const [row] = await sql<{ status: string }[]>`select status from actions where id = ${id}`;
      if (row!.status !== "pending") decidedBeforeKill += 1;
      web = await nextWeb();
    }

    for (const spare of spares) await (await spare).process.stop();

    // The last process's recovery takes over what the killed ones left once their claims run out.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from actions where id = any(${ids}) and status = 'completed'`;
      if (row!.n === CLICKS) break;
      if (Date.now() > deadline) {
        const stuck = await sql`
          select a.id, a.status, i.attempts, i.outcome, i.claimed_until from actions a
          left join slack_inbox i on i.payload->'actions'->0->>'action_id' = 'approve:' || a.id
          where a.id = any(${ids}) and a.status <> 'completed'`;
        throw new Error(
          `only ${row!.n} of ${CLICKS} completed: ${JSON.stringify(stuck)}\n${web.process.output()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    const approvals = await sql<{ id: number; n: number }[]>`
      select action_id::int as id, count(*)::int as n from action_events
      where action_id = any(${ids}) and kind = 'approve' group by action_id order by action_id`;
    expect(approvals).toEqual(ids.map((id) => ({ id, n: 1 })));
    const runs = await sql<{ id: number; count: number }[]>`
      select action_id::int as id, count from backend_runs
      where action_id = any(${ids}) and operation = 'apply' order by action_id`;
    expect(runs).toEqual(ids.map((id) => ({ id, count: 1 })));
    const inbox = await sql<{ outcome: string; n: number }[]>`
      select outcome, count(*)::int as n from slack_inbox where kind = 'view_submission' group by outcome`;
    expect(inbox).toEqual([{ outcome: "decided", n: CLICKS }]);
    console.info(
      `click crash (seed ${seed}): ${CLICKS} acked clicks, ${CLICKS} SIGKILLs; ${decidedBeforeKill} decided before their kill, ${CLICKS - decidedBeforeKill} by a later process's recovery; every one approved once and run once`,
    );

    expect(await web.process.stop()).toBe(0);
    expect(await worker.stop()).toBe(0);
  }, 300_000);
});
