// `npm run bench`: every benchmark, each figure beside a reference measured in the same run on the
// same machine; prints the table and writes docs/BENCHMARKS.md.
import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { runAckBench } from "./ack.ts";
import { runBulkBench } from "./bulk.ts";
import { runHistoryBench } from "./history.ts";
import { runIngestBench } from "./ingest.ts";
import { runOutbreakBench } from "./outbreak.ts";
import { runScaleBench } from "./scale.ts";
import { type BenchRow, printTable } from "./support.ts";
import { runWorkerBench } from "./worker.ts";

const started = Date.now();
const rows: BenchRow[] = [];
const steps: [string, () => Promise<BenchRow[]>][] = [
  ["execute worker vs bare BullMQ", () => runWorkerBench(6000)],
  ["ack latency, 100 clicks", () => runAckBench(100)],
  ["ack latency, 200 clicks", () => runAckBench(200)],
  ["history and ingest on 1,000,000 actions", () => runHistoryBench(runIngestBench)],
  ["scale-out and paced approvals", () => runScaleBench()],
  ["bulk approve and undo", () => runBulkBench()],
  ["outbreak", () => runOutbreakBench()],
];
for (const [name, run] of steps) {
  const t = Date.now();
  console.error(`bench: ${name}…`);
  rows.push(...(await run()));
  console.error(`bench: ${name} took ${((Date.now() - t) / 1000).toFixed(0)} s`);
}
const table = printTable(rows);
console.log(table);
const machine = `${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
writeFileSync(
  new URL("../docs/BENCHMARKS.md", import.meta.url),
  `# Benchmarks

Produced by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} (${((Date.now() - started) / 60_000).toFixed(1)} minutes), on ${machine},
with PostgreSQL and Redis on the same machine and Slack faked at the HTTP boundary. Each figure
stands beside a reference measured in the same run.

${table}

What limits each figure, and what was tried, is in [BENCHMARK-NOTES.md](BENCHMARK-NOTES.md).
`,
);
process.exit(0);
