// The layers of src/, checked in `npm test` (npm run deps). The folder names are the architecture:
// domain/ is pure; db/ owns SQL; services/ own the rules; jobs/, slack/, http/ are adapters;
// sandbox/ stands in for Slack and only the wiring (app.ts) reaches it.

/** A folder that may import, of ours, only itself and `allowed` (folders under src/). */
function onlyImports(name, folder, allowed, comment) {
  return {
    name,
    severity: "error",
    comment,
    from: { path: `^src/${folder}/` },
    to: { path: "^src/", pathNot: [folder, ...allowed].map((f) => `^src/${f}/`) },
  };
}

/** A folder that must not import any of `forbidden` (folders or files under src/). */
function neverImports(name, folder, forbidden, comment) {
  return {
    name,
    severity: "error",
    comment,
    from: { path: `^src/${folder}/` },
    to: { path: `^src/(${forbidden.join("|")})` },
  };
}

const WIRING = ["app\\.ts", "main\\.ts"];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment: "An import cycle makes two modules one; split what they share into its own module.",
      from: {},
      to: { circular: true },
    },
    onlyImports("domain-is-pure", "domain", [], "domain/ is plain TypeScript: nothing of ours outside it."),
    {
      name: "domain-no-io",
      severity: "error",
      comment: "domain/ does no I/O: no node: modules.",
      from: { path: "^src/domain/" },
      to: { dependencyTypes: ["core"] },
    },
    onlyImports("lib-is-leaf", "lib", [], "lib/ holds generic helpers: nothing of ours."),
    onlyImports("db-below-services", "db", ["domain", "lib"], "db/ owns SQL and knows only the domain."),
    onlyImports(
      "config-is-input",
      "config",
      ["domain", "lib"],
      "config/ reads the environment and the policy file into typed values.",
    ),
    onlyImports(
      "hunting-is-pure",
      "hunting",
      ["domain"],
      "The hunting queries are pure text from domain objects.",
    ),
    neverImports(
      "services-below-adapters",
      "services",
      ["slack/", "http/", "sandbox/", "jobs/", ...WIRING],
      "services/ combine store, policy and domain; they know no Slack, HTTP, jobs or sandbox.",
    ),
    neverImports(
      "backend-below-adapters",
      "backend",
      ["slack/", "http/", "sandbox/", "jobs/", "services/", ...WIRING],
      "A backend runs actions; it knows no Slack, HTTP, jobs, services or sandbox.",
    ),
    neverImports(
      "connector-below-adapters",
      "connector",
      ["slack/", "http/", "sandbox/", "jobs/", ...WIRING],
      "connector/ reads Defender (through backend/) into the store (through services/); Slack, HTTP and the queues are the workers' and the web role's.",
    ),
    {
      name: "http-apart-from-slack-and-jobs",
      severity: "error",
      comment:
        "http/ does not reach into slack/ or jobs/: the wiring joins them. The queues module (names, connections) is shared, as the context is.",
      from: { path: "^src/http/" },
      to: { path: "^src/(slack|jobs)/", pathNot: "^src/jobs/queues\\.ts$" },
    },
    neverImports("slack-apart-from-http", "slack", ["http/"], "slack/ does not reach into http/."),
    {
      name: "only-wiring-uses-sandbox",
      severity: "error",
      comment: "The sandbox stands in for Slack; only app.ts (and the sandbox itself) may import it.",
      from: { path: "^src/", pathNot: ["^src/sandbox/", "^src/app\\.ts$"] },
      to: { path: "^src/sandbox/" },
    },
    {
      name: "src-not-tests",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench|scripts)/" },
    },
    {
      name: "no-orphans",
      severity: "error",
      comment: "A module nothing imports is dead code (entry points aside).",
      from: {
        orphan: true,
        pathNot: ["\\.d\\.ts$", "^src/main\\.ts$", "^src/sandbox/client/", "(^|/)tsconfig\\.json$"],
      },
      to: {},
    },
    {
      name: "known-modules",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(test|bench|scripts|drizzle|node_modules)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
    },
  },
};
