// The layers of src/, checked in `npm test` (npm run deps). The folder names are the architecture:
// domain/ is pure; db/ owns SQL; services/ own the rules; jobs/, slack/, http/ are adapters;
// sandbox/ stands in for Slack and only the wiring (app.ts) reaches it.
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
    {
      name: "domain-is-pure",
      severity: "error",
      comment: "domain/ is plain TypeScript: it imports nothing of ours outside domain/ and no I/O.",
      from: { path: "^src/domain/" },
      to: {
        pathNot: ["^src/domain/", "^node_modules/zod/"],
        dependencyTypesNot: ["type-only"],
      },
    },
    {
      name: "domain-no-io",
      severity: "error",
      from: { path: "^src/domain/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "lib-is-leaf",
      severity: "error",
      comment: "lib/ holds generic helpers: nothing of ours.",
      from: { path: "^src/lib/" },
      to: { path: "^src/", pathNot: "^src/lib/" },
    },
    {
      name: "db-below-services",
      severity: "error",
      comment: "db/ owns SQL and knows only the domain (and lib/).",
      from: { path: "^src/db/" },
      to: { path: "^src/", pathNot: ["^src/db/", "^src/domain/", "^src/lib/"] },
    },
    {
      name: "services-below-adapters",
      severity: "error",
      comment: "services/ combine store, policy and domain; they know no Slack, HTTP, jobs or sandbox.",
      from: { path: "^src/services/" },
      to: { path: "^src/(slack|http|sandbox|jobs|app\\.ts|main\\.ts)" },
    },
    {
      name: "backend-below-adapters",
      severity: "error",
      comment: "A backend runs actions; it knows no Slack, HTTP, jobs or sandbox.",
      from: { path: "^src/backend/" },
      to: { path: "^src/(slack|http|sandbox|jobs|services|app\\.ts|main\\.ts)" },
    },
    {
      name: "connector-below-adapters",
      severity: "error",
      comment:
        "connector/ reads Defender (through backend/) into the store (through services/); Slack, HTTP and the queues are the workers' and the web role's.",
      from: { path: "^src/connector/" },
      to: { path: "^src/(slack|http|sandbox|jobs|app\\.ts|main\\.ts)" },
    },
    {
      name: "config-is-input",
      severity: "error",
      comment:
        "config/ reads the environment and the policy file into typed values, and needs only the domain.",
      from: { path: "^src/config/" },
      to: { path: "^src/", pathNot: ["^src/config/", "^src/domain/", "^src/lib/"] },
    },
    {
      name: "hunting-is-pure",
      severity: "error",
      from: { path: "^src/hunting/" },
      to: { path: "^src/", pathNot: ["^src/hunting/", "^src/domain/"] },
    },
    {
      name: "adapters-apart",
      severity: "error",
      comment:
        "http/ does not reach into slack/ or jobs/ (nor slack/ into http/): the wiring joins them. The queues module (names, connections) is shared, as the context is.",
      from: { path: "^src/http/" },
      to: { path: "^src/(slack|jobs)/", pathNot: "^src/jobs/queues\\.ts$" },
    },
    {
      name: "slack-not-http",
      severity: "error",
      from: { path: "^src/slack/" },
      to: { path: "^src/http/" },
    },
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
    includeOnly: "^src/",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
    },
  },
};
