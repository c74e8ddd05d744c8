import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two projects: "workers" runs unit tests inside workerd (the real runtime, bindings from wrangler.toml);
// "node" runs the simulator's own tests and the end-to-end test, which drives `wrangler dev` and reads
// the Parquet files back with DuckDB (a native addon, so it cannot run inside workerd).
export default defineConfig({
  test: {
    // The Worker's structured log lines (one JSON object per event) are for `wrangler tail`, not for test output.
    onConsoleLog: (log) => !log.trimStart().startsWith('{"level"'),
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ADMIN_TOKEN: "test-admin-token",
                GITHUB_TOKEN: "test-github-token",
                GITHUB_API_URL: "https://sim.test",
                PAGES_PER_PART: "2", // small parts, so continuations are exercised on the simulator's big repository
              },
            },
          }),
        ],
        test: { name: "workers", include: ["test/**/*.test.ts"], exclude: ["test/node/**"], testTimeout: 120_000 },
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
