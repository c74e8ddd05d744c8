/** The chaos suite, small enough for `npm test`: one whole run under every GitHub and platform fault at once (see
 *  test/chaos/harness.ts and sim/chaos.ts), against the simulator's default world. `npm run chaos` runs the same at
 *  full scale and prints the table RELIABILITY.md records. */
import { env, exports } from "cloudflare:workers";
import { describe, it } from "vitest";
import { tokenHash } from "../src/github/permits";
import { PermitLedger } from "../src/objects/ledger";
import { makeTokens, runChaos, type ChaosReport } from "./chaos/harness";
import { formatTable } from "./chaos/table";

describe("chaos: a run under every fault at once", () => {
  it("lands every row of the ground truth exactly once, with exact counters and no limit violated", async ({ expect }) => {
    const report: ChaosReport = await runChaos({
      label: "npm test",
      seed: 3,
      sim: { repos: 6, latencyMs: [0, 4], secondary: { maxConcurrent: 8, maxPerMinute: 900, retryAfterSeconds: 60 } },
      github: (t, victim) => ({
        seed: 3,
        serverErrorRate: 0.1,
        resetRate: 0.02,
        truncateRate: 0.02,
        nonJsonRate: 0.02,
        faultAt: { 1: "truncated", 2: "nonJson", 75: "hang" }, // two identity lookups (GET /user) glitch, a request hangs
        quietFirst: 6,
        // Bursts land on C and D only: a secondary-limit answer teaches a bucket a lower rate for half an hour
        // (RELIABILITY.md), and this run must end in seconds. A is revoked while busy; B loses one of its two tokens.
        secondaryBursts: [
          { atRequest: 30, length: 2, retryAfterSeconds: 1, token: t.d },
          { atRequest: 45, length: 1, retryAfterSeconds: null, status: 429, token: t.c },
        ],
        deleteRepo: { repo: victim, afterRequests: 3 },
        revoke: [{ token: t.a, atRequest: 60 }, { token: t.b2, atRequest: 110 }],
      }),
      platform: {
        consumers: 3, batchSize: 10, maxRetries: 5,
        duplicateRate: 0.1, redeliverRate: 0.05, crashRate: 0.15, crashWithin: 25,
        reportFailRate: 0.03, reportAnswerLostRate: 0.03, claimFailRate: 0.02,
        r2FailRate: 0.03, r2FailAfterWriteRate: 0.02, manifestFailRate: 0.5, queueSendFailRate: 0.02,
        coordinatorRestartEvery: 5, bucketRestartEvery: 4, registryRestartEvery: 7, retryDelayScale: 0.02,
      },
      githubTimeoutMs: 2_000, // a hung connection costs 2 s here, not the production 30 s
      timeoutMs: 150_000,
    });
    expect(report.checks.filter((c) => !c.ok), formatTable(report)).toEqual([]);
    expect(report.run.status).toBe("completed_with_errors");
  }, 200_000);
});

describe("a token revoked mid-run", () => {
  it("ends the run with a clear error when the pool has no token left, and stops asking GitHub", async ({ expect }) => {
    const tokens = makeTokens(7);
    let view: { credentials: Array<{ id: string; retired: boolean; bucket: string | null }> } = { credentials: [] };
    const report = await runChaos({
      label: "no token left",
      seed: 7,
      tokens,
      pool: (t) => [t.a], // one token: the only one there is
      sim: { repos: 3 },
      github: (t) => ({ revoke: [{ token: t.a, atRequest: 12 }] }),
      platform: {
        consumers: 2, batchSize: 10, maxRetries: 5, duplicateRate: 0, redeliverRate: 0, crashRate: 0, crashWithin: 1, reportFailRate: 0,
        reportAnswerLostRate: 0, claimFailRate: 0, r2FailRate: 0, r2FailAfterWriteRate: 0, manifestFailRate: 0, queueSendFailRate: 0,
        coordinatorRestartEvery: 0, bucketRestartEvery: 0, registryRestartEvery: 0, retryDelayScale: 0.02,
      },
      timeoutMs: 60_000,
      onRunEnded: async () => {
        const res = await exports.default.fetch(new Request("https://lake.test/ratelimit", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }));
        view = (await res.json()) as typeof view;
      },
    });
    expect(report.run.status).toBe("completed_with_errors");
    expect(report.run.error).toMatch(/GitHub refused every credential \(401\): \d+ task\(s\) could not finish/);
    const { done = 0, failed = 0, total = -1 } = report.run.tasks;
    expect(failed).toBeGreaterThan(0);
    expect(done + failed).toBe(total);
    for (const e of report.run.errors.filter((x) => x.state === "failed")) {
      expect(e.error).toMatch(/401.*(Bad credentials|every configured GitHub credential was refused)/);
    }
    // Once retired, the token is not sent again: a few 401s from requests already on their way, then nothing.
    expect(report.github.requests - 12).toBeLessThan(10);
    expect(report.rows.duplicates).toBe(0);
    expect(view.credentials).toEqual([expect.objectContaining({ id: await tokenHash(tokens.a), retired: true, bucket: null })]);
  });
});

describe("chaos findings", () => {
  it("a secondary-limit refusal of the first request after a pause teaches the bucket no rate", ({ expect }) => {
    // Found at full scale: two bursts on one identity, a pause between them, and its rate was pinned at 1 a minute.
    let now = 1_000_000;
    const ledger = new PermitLedger({ maxConcurrent: 8, maxPerMinute: 600, reserve: 100 }, () => now);
    const one = () => {
      let lease = "";
      ledger.acquire(1, 0, (g) => void (g.granted && (lease = g.leases[0]!)));
      return lease;
    };
    const ok = { status: 200, limit: 5000, remaining: 4000, used: 1000, reset: Math.floor(now / 1000) + 3600, resource: "core", kind: "ok" as const };
    for (let i = 0; i < 50; i++, now += 200) ledger.release(one(), { ...ok, used: 1000 + i });
    now += 120_000; // a pause: the sliding minute empties
    ledger.release(one(), { status: 403, retryAfterSec: 3, kind: "secondary" });
    expect(ledger.perMinuteCap()).toBe(600);
    expect(ledger.state.penaltyUntilMs).toBeGreaterThan(now); // the penalty itself stands
  });
});
