/** The TokenBucket under whole runs inside workerd (wrangler.toml: RATE_MAX_CONCURRENT=8, RATE_RESERVE=100): it learns
 *  a secondary limit GitHub does not announce, and a bucket restarted mid-run never over-grants. */
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, it, vi } from "vitest";
import { landed, runToEnd, simulate, TABLES, truthKeys, utilization } from "../strict/kit";

afterEach(() => vi.restoreAllMocks());

const bucket = () => env.TOKEN_BUCKET.getByName("user:9000001"); // the simulator's octo-sim, owner of env.GITHUB_TOKEN

describe("TokenBucket in a whole run", () => {
  it("learns a secondary concurrency limit of 2 (configured 8): every row, at most 3 penalties, ≥ 85% of each window spent", async ({ expect }) => {
    const sim = simulate({
      primary: { limit: 160, windowSeconds: 5 }, // 60 a window net of the reserve: quota-bound
      secondary: { maxConcurrent: 2, retryAfterSeconds: 2 },
      latencyMs: [5, 15],
    });
    const status = await runToEnd({ mode: "full" });
    const stats = sim.stats();
    const snap = await bucket().snapshot();
    const use = utilization(stats.perUser["octo-sim"]!.windows, snap.windows, 100);
    console.info(JSON.stringify({ penalties: stats.penalties, refused: stats.violations.secondary, ...use, learned: snap.learnedConcurrency }));
    expect(stats.penalties).toBeLessThanOrEqual(3);
    expect(stats.violations.primary).toBe(0);
    expect(use.windows).toBeGreaterThanOrEqual(3);
    expect(use.quotaBound).toBeGreaterThanOrEqual(2);
    expect(use.share).toBeGreaterThanOrEqual(0.85);
    expect((await bucket().snapshot()).learnedConcurrency).toBe(2);
    expect(status.tasks.failed).toBe(0);
    const got = await landed(status);
    for (const table of TABLES) expect(got[table], table).toEqual(truthKeys(sim, table));
  });

  it("never over-grants when the bucket is restarted again and again during a run", async ({ expect }) => {
    const sim = simulate({ secondary: { maxConcurrent: 8, retryAfterSeconds: 2 }, latencyMs: [5, 30], seed: 3 });
    let evictions = 0;
    const status = await runToEnd({ mode: "full" }, 120_000, async () => {
      if (evictions >= 10) return;
      try {
        await bucket().snapshot();
        await evictDurableObject(bucket());
        evictions++;
      } catch {
        /* not running at this instant */
      }
    });
    const stats = sim.stats();
    expect(evictions).toBeGreaterThanOrEqual(5);
    expect(stats.violations.total).toBe(0);
    expect(stats.perUser["octo-sim"]!.maxInFlight).toBeLessThanOrEqual(8);
    expect(status.tasks.failed).toBe(0);
    const got = await landed(status);
    for (const table of TABLES) expect(got[table], table).toEqual(truthKeys(sim, table));
  });
});
