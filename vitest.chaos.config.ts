import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// `npm run chaos`: the full-scale chaos run (test/chaos/full.chaos.ts) inside workerd, with the Worker's production
// defaults (wrangler.toml's vars). Kept out of `npm test`, whose projects only pick up `*.test.ts`.
export default defineConfig({
  test: {
    onConsoleLog: (log) => !log.trimStart().startsWith('{"level"'),
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: { ADMIN_TOKEN: "chaos-admin-token", GITHUB_TOKEN: "set-by-the-harness", GITHUB_API_URL: "https://sim.test" } },
          }),
        ],
        test: { name: "chaos", include: ["test/chaos/**/*.chaos.ts"], testTimeout: 60 * 60_000 },
      },
    ],
  },
});
