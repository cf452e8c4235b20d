// `npm run build`: src/ compiled to dist/ (tsconfig.build.json), so that production runs
// `node dist/main.js` with no TypeScript loader. The other files of src/ (the sandbox page's
// script and styles) are copied beside their modules, which read them relative to themselves;
// the migrations stay in drizzle/, two levels above dist/db/migrate.js as above src/db/migrate.ts.
//
// `--into DIR` writes DIR/dist instead of the repository's dist/ (DIR must then hold drizzle/,
// node_modules/ and package.json as the repository does); `--no-check` only emits, leaving the
// types to `npm run typecheck`: for tests that start the built program many times.
import { execFileSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

const { values: options } = parseArgs({
  options: { into: { type: "string" }, "no-check": { type: "boolean", default: false } },
});
const root = new URL("..", import.meta.url);
const at = (path: string) => new URL(path, root).pathname;
const dist = options.into ? `${options.into}/dist` : at("dist");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

rmSync(dist, { recursive: true, force: true });
try {
  execFileSync(
    process.execPath,
    [tsc, "-p", at("tsconfig.build.json"), "--outDir", dist, ...(options["no-check"] ? ["--noCheck"] : [])],
    { stdio: "inherit" },
  );
} catch {
  // tsc has printed the errors.
  console.error("build: tsc failed");
  process.exit(1);
}
cpSync(at("src"), dist, { recursive: true, filter: (path) => !path.endsWith(".ts") });
console.log(`build: ${dist} ready; run it with node dist/main.js`);
