import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    // More files than cores: the heaviest spend most of their time waiting (Slack's pace of about
    // a post a second, outages and grace periods played out, processes starting), not computing.
    maxWorkers: 4,
    // The files of a worker share its modules instead of each loading the app's module graph
    // afresh, which cost seconds a file. Each file starts its own apps on its own database and
    // queue prefix, and leaves no global state.
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
