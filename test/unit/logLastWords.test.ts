// The process log ends with what ended the process. `main.ts` logs "stopped" (or why it could not
// start) and exits at once. An asynchronous log hands each write to libuv's thread pool; a write
// still waiting there at the exit lands after the last words or not at all (seen in CI: a
// request's failure printed after "stopped").
import { spawn } from "node:child_process";
import { expect, it } from "vitest";

// The child keeps its only pool thread busy (as file or DNS work under load does), logs a line,
// then its last words, and exits, as main.ts does on SIGTERM.
const CHILD = `
import { pbkdf2 } from "node:crypto";
import { createLogger } from "./src/telemetry/log.ts";
const log = createLogger("info");
pbkdf2("x", "y", 2_000_000, 32, "sha256", () => {});
log.info({ path: "/api/v1/actions" }, "request failed");
log.info("stopped");
process.exit(0);
`;

it("a line logged just before the last words is written, and before them", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CHILD], {
    cwd: new URL("../..", import.meta.url),
    env: { ...process.env, UV_THREADPOOL_SIZE: "1" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (chunk) => (out += String(chunk)));
  expect(await new Promise((resolve) => child.on("close", resolve))).toBe(0);
  const messages = out
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line).msg);
  expect(messages).toEqual(["request failed", "stopped"]);
});
