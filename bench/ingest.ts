// Ingest throughput through the HTTP API, in batches of 500, into a store that already holds a
// million actions, beside a bare multi-row INSERT of like rows with postgres.js: the same columns
// ingest writes (investigation, threat key, expiry, approvals needed… as ingest computes them),
// 500 rows a statement, into the same table with the same indexes, the investigations they name
// already there, no RETURNING, no audit events, no outbox, no HTTP. The API's figure includes
// all of those.
import { Agent, request } from "node:http";
import { cpus, loadavg } from "node:os";
import postgres from "postgres";
import { parseIngestBody } from "../src/domain/actionInput.ts";
import { THREAT_KIND_NAMES, threatKeyOf } from "../src/domain/threats.ts";
import { actionBody } from "../test/support/fixtures.ts";
import { type BenchRow, fmt, startBenchApp } from "./support.ts";

const BATCH = 500;
const BATCHES = 20;
/**
 * Batches of each run first and not timed: the first batch of a process pays for compiling the
 * code and preparing the statements on its connections, a cost of starting, not of ingest.
 */
const WARM_UP = 2;

function batch(run: string, b: number) {
  return Array.from({ length: BATCH }, (_, i) =>
    actionBody(i % 2 ? "quarantine_file" : "stop_service", b * BATCH + i, {
      externalId: `ingest-${run}-${b}-${i}`,
      investigationId: `inv-ingest-${run}-${b}-${Math.floor(i / 25)}`,
    }),
  );
}

/**
 * A POST as a client of the API makes it, on a kept-alive connection. node:http rather than
 * fetch: the client runs on the thread that serves the API, and fetch takes more of it than
 * node:http does (BENCHMARK-NOTES.md), a cost of this client, not of the API.
 */
function post(
  agent: Agent,
  url: string,
  token: string,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent,
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export async function runIngestBench(databaseUrl: string): Promise<BenchRow[]> {
  const app = await startBenchApp("ingest", { role: "web", databaseUrl });
  const sql = postgres(databaseUrl, { max: 4, onnotice: () => {} });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const token = app.env.INGEST_TOKEN!;
    const bodies = Array.from({ length: WARM_UP + BATCHES }, (_, b) =>
      JSON.stringify({ actions: batch("api", b) }),
    );
    const expiresAt = new Date(Date.now() + 3_600_000);
    const rows = Array.from({ length: WARM_UP + BATCHES }, (_, b) =>
      batch("bare", b).map((body) => {
        const parsed = parseIngestBody({ actions: [body] });
        if (!parsed.ok) throw new Error("bad bench input");
        const a = parsed.actions[0]!;
        return {
          external_id: a.externalId,
          source: a.source,
          type: a.type,
          status: "pending",
          investigation_id: a.investigationId ?? null,
          incident_id: a.incidentId ?? null,
          device_id: a.device?.id ?? null,
          device_name: a.device?.name ?? null,
          entity: a.entity as Record<string, unknown>,
          sha256: a.entity.sha256 ?? null,
          threat_key: threatKeyOf(a, THREAT_KIND_NAMES),
          requested_by: a.requestedBy ?? null,
          comment: a.comment ?? null,
          expires_at: expiresAt,
          approvals_needed: 1,
        };
      }),
    );
    const investigations = [...new Set(rows.flat().map((r) => r.investigation_id))].map((id) => ({ id }));
    await sql`insert into investigations ${sql(investigations as never)} on conflict do nothing`;
    // Interleaved, a batch of each in turn, so that both see the same moments of a shared
    // machine's load (run one after the other, the ratio moved by half with the machine's load).
    let apiMs = 0;
    let bareMs = 0;
    for (let b = 0; b < WARM_UP + BATCHES; b += 1) {
      const apiStart = performance.now();
      const answer = await post(agent, `${app.url}/api/v1/actions`, token, bodies[b]!);
      if (answer.status !== 201) throw new Error(`ingest answered ${answer.status}: ${answer.body}`);
      if (b >= WARM_UP) apiMs += performance.now() - apiStart;
      const bareStart = performance.now();
      await sql`insert into actions ${sql(rows[b]! as never)}`;
      if (b >= WARM_UP) bareMs += performance.now() - bareStart;
    }
    const api = (BATCH * BATCHES) / (apiMs / 1000);
    const bare = (BATCH * BATCHES) / (bareMs / 1000);
    return [
      {
        benchmark: `ingest API, ${BATCHES} batches of ${BATCH} (after ${WARM_UP} not timed) into a store of 1,000,000 actions`,
        figure: `${fmt(api, 0)} actions/s`,
        reference: `bare multi-row INSERT of like rows, batches interleaved with the API's (same columns, ${BATCH} a statement, same table and indexes; no events, outbox or HTTP): ${fmt(bare, 0)} rows/s; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`,
        ratio: fmt(api / bare, 2),
        target: "≥ 5,000/s and ≥ 0.5",
        met: api >= 5000 && api / bare >= 0.5 ? "yes" : "no",
      },
    ];
  } finally {
    agent.destroy();
    await sql.end();
    await app.close();
  }
}
