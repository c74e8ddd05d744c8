/** `npm run chaos`: every fault at once at full scale — the design's 150 repositories (twice the simulator's default
 *  size each: about 41,000 rows), five tokens of four users, four consumers at once — then the table (printed by
 *  scripts/chaos.ts from the `CHAOS_REPORT` line) that RELIABILITY.md records. */
import { it } from "vitest";
import { runChaos } from "./harness";

it("a full-scale run under every fault at once lands the ground truth exactly once", async ({ expect }) => {
  const report = await runChaos({
    label: "npm run chaos",
    seed: 2026,
    sim: { repos: 150, scale: 2, latencyMs: [0, 15], secondary: { maxConcurrent: 8, maxPerMinute: 900, retryAfterSeconds: 60 } },
    github: (t, victim) => ({
      seed: 2026,
      serverErrorRate: 0.1,
      hangRate: 0.002,
      faultAt: { 1: "truncated", 2: "nonJson", 3: "reset", 120: "hang", 700: "hang" },
      resetRate: 0.02,
      truncateRate: 0.02,
      nonJsonRate: 0.02,
      quietFirst: 8,
      secondaryBursts: [
        { atRequest: 200, length: 3, retryAfterSeconds: 1, token: t.d },
        { atRequest: 500, length: 2, retryAfterSeconds: null, token: t.c },
        { atRequest: 900, length: 3, retryAfterSeconds: 2, status: 429, token: t.d },
        { atRequest: 1500, length: 4, retryAfterSeconds: 3 },
      ],
      deleteRepo: { repo: victim, afterRequests: 4 },
      revoke: [{ token: t.a, atRequest: 400 }, { token: t.b2, atRequest: 1000 }],
    }),
    platform: {
      consumers: 4, batchSize: 10, maxRetries: 5,
      duplicateRate: 0.1, redeliverRate: 0.05, crashRate: 0.05, crashWithin: 40,
      reportFailRate: 0.02, reportAnswerLostRate: 0.02, claimFailRate: 0.01,
      r2FailRate: 0.02, r2FailAfterWriteRate: 0.01, manifestFailRate: 0.5, queueSendFailRate: 0.01,
      coordinatorRestartEvery: 20, bucketRestartEvery: 15, registryRestartEvery: 30, retryDelayScale: 0.05,
    },
    githubTimeoutMs: 5_000,
    timeoutMs: 45 * 60_000,
    trace: true,
  });
  console.log(`CHAOS_REPORT ${JSON.stringify(report)}`);
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
});
