import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Three projects: "workers" runs unit tests inside workerd (the real runtime, bindings from wrangler.toml);
// "workers-strict" runs whole pipelines inside workerd under strict rate limits (RATE_MAX_CONCURRENT=4, a small
// reserve); "node" runs the simulator's own tests and the end-to-end test, which drives `wrangler dev` and reads
// the Parquet files back with DuckDB (a native addon, so it cannot run inside workerd).
const WORKER_BINDINGS = {
  ADMIN_TOKEN: "test-admin-token",
  GITHUB_TOKEN: "test-github-token",
  GITHUB_API_URL: "https://sim.test",
  PAGES_PER_PART: "2", // small parts, so continuations are exercised on the simulator's big repository
  // The fuzzers' seed: fixed, so CI is reproducible; `FUZZ_SEED=random npm test` (or a number) explores further.
  FUZZ_SEED: process.env.FUZZ_SEED ?? "20261204",
};

export default defineConfig({
  test: {
    // The Worker's structured log lines (one JSON object per event) are for `wrangler tail`, not for test output.
    onConsoleLog: (log) => !log.trimStart().startsWith('{"level"'),
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: WORKER_BINDINGS },
          }),
        ],
        test: { name: "workers", setupFiles: ["test/setup.ts"], include: ["test/**/*.test.ts"], exclude: ["test/node/**", "test/strict/**"], testTimeout: 120_000 },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: { ...WORKER_BINDINGS, RATE_MAX_CONCURRENT: "4", RATE_RESERVE: "5" } },
          }),
        ],
        test: { name: "workers-strict", setupFiles: ["test/setup.ts"], include: ["test/strict/**/*.test.ts"], testTimeout: 180_000 },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/node/**/*.test.ts"],
          testTimeout: 240_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
