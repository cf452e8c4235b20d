// Run by `npm install` / `npm ci` (postinstall), in production too (the image's `npm ci --omit=dev`),
// so plain JavaScript: no TypeScript loader is installed there. postgres.js 3.4.9, the latest release, mishandles
// a connection that closes under it (a Postgres restart, a failover, a cut network):
//   1. A transaction's ROLLBACK after the close is written to the closed connection; the write is
//      deferred with setImmediate and the deferred write dereferences the socket that close() set
//      to null: a TypeError outside every promise, which kills the process (porsager/postgres
//      issues 1154, 1066, 1208; fixes proposed in pull requests 1168 and 1209, unreleased).
//      Here a write to a closed connection rejects its queries with CONNECTION_CLOSED instead.
//      It reports the write as done (true), or the pool would file the connection under "full"
//      and never use it again; and it rejects only the closed session's queries, not one a
//      reconnect is already carrying.
//   2. close() cancels a deferred write but keeps its bytes and timer, so the connection's next
//      session starts with the dead one's bytes in front of its startup message and never sends
//      it. Here they are forgotten.
//   3. close() keeps the last query and its error (the server's "terminating connection due to
//      administrator command"), so the first query of the next session fails with that stale
//      error, and a half-read result would shift the next result's rows. Here they are reset
//      once the closed session's queries are rejected.
//   4. A session that closes while the driver reads the array types (its own first query of each
//      session) leaves that query's promise rejected with nobody listening: an unhandled rejection,
//      which kills the process. The close already fails the session's queries and the next
//      session reads the types again, so the look-up's own rejection is dropped here.
// Each edit applies to the exact text it was written for, in each build of the driver (ESM,
// CommonJS, Workers). When a release changes that text this script stops the install and says
// so: check whether the release fixes these, then adapt or drop the script (docs/RELIABILITY.md).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const MARK = "/* action-center: closed-connection patch */";
const BUILDS = ["src/connection.js", "cjs/src/connection.js", "cf/src/connection.js"];

/** @type {{ name: string; from: string; to: string }[]} */
const EDITS = [
  {
    name: "a deferred write after the close",
    from: `  function nextWrite(fn) {
    const x = socket.write(chunk, fn)`,
    to: `  function nextWrite(fn) {
    if (!socket) { ${MARK}
      nextWriteTimer !== null && clearImmediate(nextWriteTimer)
      chunk = nextWriteTimer = null
      const err = Errors.connection('CONNECTION_CLOSED', options)
      query && queryError(query, err)
      while (sent.length)
        queryError(sent.shift(), err)
      query = null
      return true
    }
    const x = socket.write(chunk, fn)`,
  },
  {
    name: "the cancelled write kept on close",
    from: `    incomings = null
    clearImmediate(nextWriteTimer)
    socket.removeListener('data', data)`,
    to: `    incomings = null
    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null ${MARK}
    socket.removeListener('data', data)`,
  },
  {
    name: "the closed session's query state kept on close",
    from: `    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))
`,
    to: `    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))
    query = results = errorResponse = null, result = new Result(), rows = 0 ${MARK}
`,
  },
  {
    name: "the array types' look-up rejected with nobody listening",
    from: `        return fetchArrayTypes()
`,
    to: `        return fetchArrayTypes().catch(() => {}) ${MARK}
`,
  },
];

/** The driver's connection.js with every edit applied; the same text again if already patched. */
/**
 * @param {string} source
 * @param {string} file
 * @returns {string}
 */
export function patchConnectionSource(source, file) {
  let patched = source;
  for (const edit of EDITS) {
    if (patched.includes(edit.to)) continue;
    const at = patched.indexOf(edit.from);
    if (at === -1 || patched.indexOf(edit.from, at + 1) !== -1) {
      throw new Error(
        `${file}: the code of "${edit.name}" is not the code this patch was written for (postgres.js changed). ` +
          "Check whether the installed release fixes porsager/postgres#1154, then adapt or remove scripts/patchPostgres.ts.",
      );
    }
    patched = patched.replace(edit.from, edit.to);
  }
  return patched;
}

function main() {
  const root = join(import.meta.dirname, "..", "node_modules", "postgres");
  if (!existsSync(root)) return;
  /** @type {string[]} */
  const changed = [];
  for (const build of BUILDS) {
    const file = join(root, build);
    if (!existsSync(file)) continue;
    const source = readFileSync(file, "utf8");
    const patched = patchConnectionSource(source, `postgres/${build}`);
    if (patched !== source) {
      writeFileSync(file, patched);
      changed.push(build);
    }
  }
  if (changed.length > 0) console.log(`patched postgres.js for closed connections: ${changed.join(", ")}`);
}

if (import.meta.filename === process.argv[1]) {
  try {
    main();
  } catch (error) {
    console.error(`postinstall: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
