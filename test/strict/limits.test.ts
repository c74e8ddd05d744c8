/** Runs under strict limits (this project: RATE_MAX_CONCURRENT=4, RATE_RESERVE=5): a primary window that resets
 *  several times during the run, 5% 5xx answers, and a GitHub that refuses a fifth request in flight. */
import { afterEach, describe, it, vi } from "vitest";
import { landed, runToEnd, simulate, TABLES, truthKeys } from "./kit";

afterEach(() => vi.restoreAllMocks());

describe("a whole run under strict limits", () => {
  it("completes with every row and not one 403/429 while the primary window resets again and again", async ({ expect }) => {
    const sim = simulate({
      primary: { limit: 60, windowSeconds: 3 },
      secondary: { maxConcurrent: 4, retryAfterSeconds: 5 }, // any fifth request in flight would be a violation
      faultRate: 0.05,
      seed: 11,
    });
    const status = await runToEnd({ mode: "full" });
    const stats = sim.stats();
    expect(stats.violations).toEqual({ primary: 0, secondary: 0, total: 0 });
    expect(stats.byStatus["429"]).toBeUndefined();
    expect(stats.faults).toBeGreaterThan(0);
    expect(stats.perUser["octo-sim"]!.windows.length).toBeGreaterThanOrEqual(3); // reset at least twice
    expect(stats.perUser["octo-sim"]!.maxInFlight).toBeLessThanOrEqual(4);
    expect(status.tasks.failed).toBe(0);
    const got = await landed(status);
    for (const table of TABLES) expect(got[table], table).toEqual(truthKeys(sim, table));
  });
});
