import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    // Two cores: more files at once only adds contention on Postgres and Redis.
    maxWorkers: 2,
    // The files of a worker share its modules instead of each loading the app's module graph
    // afresh, which cost seconds a file. Each file starts its own apps on its own database and
    // queue prefix, and leaves no global state.
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
