import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import type { RateObservation } from "../../src/github/client";

// wrangler.toml: RATE_MAX_CONCURRENT=8, RATE_MAX_PER_MINUTE=600, RATE_RESERVE=100.
const freshBucket = () => env.TOKEN_BUCKET.getByName(`tok:test-${crypto.randomUUID()}`);
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
const report = (remaining: number, used: number, reset = inAnHour(), extra: Partial<RateObservation> = {}): RateObservation =>
  ({ status: 200, limit: 5000, remaining, used, reset, resource: "core", kind: "ok", ...extra });

async function grantOne(bucket: ReturnType<typeof freshBucket>) {
  const g = await bucket.acquire();
  if (!g.granted) throw new Error(`not granted: ${g.reason}`);
  return g.leaseId;
}

/** Teaches a fresh bucket GitHub's budget (it lets one probe out until it knows it). */
async function primed(remaining = 4990, reset = inAnHour()) {
  const bucket = freshBucket();
  await bucket.release(await grantOne(bucket), report(remaining, 5000 - remaining, reset));
  return bucket;
}

describe("TokenBucket", () => {
  it("lets a single probe out until GitHub has told it the budget", async ({ expect }) => {
    const bucket = freshBucket();
    const probe = await grantOne(bucket);
    expect(await bucket.acquire()).toMatchObject({ granted: false, reason: "in flight" });
    await bucket.release(probe, report(4999, 1));
    expect((await bucket.acquire()).granted).toBe(true);
  });

  it("never has more than RATE_MAX_CONCURRENT permits out, and a released permit frees a slot", async ({ expect }) => {
    const bucket = await primed();
    const leases = [];
    for (let i = 0; i < 8; i++) leases.push(await grantOne(bucket));
    expect(await bucket.acquire()).toMatchObject({ granted: false, reason: "in flight" });
    await bucket.release(leases[0]!, report(4980, 20));
    expect((await bucket.acquire()).granted).toBe(true);
  });

  it("keeps the reserve: stops granting when the budget left reaches RATE_RESERVE, until the window resets", async ({ expect }) => {
    const reset = inAnHour();
    const bucket = await primed(103, reset);
    const granted = [];
    for (let i = 0; i < 5; i++) {
      const g = await bucket.acquire();
      if (g.granted) {
        granted.push(g.leaseId);
        await bucket.release(g.leaseId, report(103 - granted.length, 4897 + granted.length, reset));
      }
    }
    expect(granted).toHaveLength(3);
    const refused = await bucket.acquire();
    expect(refused).toMatchObject({ granted: false, reason: expect.stringMatching(/primary/) });
    if (!refused.granted) expect(refused.retryAfterMs).toBeGreaterThan(3500_000);
  });

  it("ignores a stale report that arrives after a newer one", async ({ expect }) => {
    const bucket = await primed(4000);
    const a = await grantOne(bucket);
    const b = await grantOne(bucket);
    await bucket.release(b, report(3000, 2000)); // newer
    await bucket.release(a, report(3999, 1001)); // older, arrives late
    // 3000 as the newer report said, less the permit (a) that was still out when it came: the stale one changed nothing.
    expect((await bucket.snapshot()).remaining).toBe(2999);
  });

  it("pauses the whole fleet for retry-after after a secondary-limit answer", async ({ expect }) => {
    const bucket = await primed();
    const lease = await grantOne(bucket);
    await bucket.release(lease, report(4900, 100, inAnHour(), { status: 403, kind: "secondary", retryAfterSec: 42 }));
    const refused = await bucket.acquire();
    expect(refused).toMatchObject({ granted: false, reason: expect.stringMatching(/penalty: secondary/) });
    if (!refused.granted) expect(refused.retryAfterMs).toBeGreaterThan(40_000);
    expect((await bucket.snapshot()).penalties).toBe(1);
  });

  it("waits at least a minute, growing, when a secondary limit comes without retry-after", async ({ expect }) => {
    const bucket = await primed();
    const lease = await grantOne(bucket);
    await bucket.release(lease, report(4900, 100, inAnHour(), { status: 429, kind: "secondary" }));
    const first = await bucket.acquire();
    expect(first.granted).toBe(false);
    if (!first.granted) expect(first.retryAfterMs).toBeGreaterThanOrEqual(59_000);
  });

  it("waits for the reset after the primary budget is exhausted", async ({ expect }) => {
    const reset = inAnHour();
    const bucket = await primed(4000, reset);
    await bucket.release(await grantOne(bucket), report(0, 5000, reset, { status: 403, kind: "primary" }));
    const refused = await bucket.acquire();
    expect(refused.granted).toBe(false);
    if (!refused.granted) expect(refused.retryAfterMs).toBeGreaterThan(3500_000);
  });

  it("keeps its leases, budget and penalty across eviction: no over-grant after a restart", async ({ expect }) => {
    const bucket = await primed();
    for (let i = 0; i < 8; i++) await grantOne(bucket);
    await evictDurableObject(bucket);
    expect(await bucket.acquire()).toMatchObject({ granted: false, reason: "in flight" });
    const snap = await bucket.snapshot();
    expect(snap).toMatchObject({ inFlight: 8, limit: 5000 });
  });

  it("reclaims the permits of a crashed fetcher once their lease expires", async ({ expect }) => {
    const bucket = await primed();
    for (let i = 0; i < 8; i++) await grantOne(bucket);
    await runInDurableObject(bucket, (_obj, state) => {
      state.storage.sql.exec("UPDATE lease SET expires_at_ms = ?", Date.now() - 1);
    });
    expect((await bucket.acquire()).granted).toBe(true);
  });

  it("caps requests started in any 60 s window at RATE_MAX_PER_MINUTE", async ({ expect }) => {
    const bucket = await primed();
    await runInDurableObject(bucket, (_obj, state) => {
      const now = Date.now();
      for (let i = 0; i < 599; i++) state.storage.sql.exec("INSERT INTO start_log (ts_ms) VALUES (?)", now - 30_000);
    });
    const refused = await bucket.acquire();
    expect(refused).toMatchObject({ granted: false, reason: "per-minute cap" });
    if (!refused.granted) expect(refused.retryAfterMs).toBeLessThanOrEqual(30_000);
  });
});
