import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import type { RateObservation } from "../../src/github/client";

// wrangler.toml: RATE_MAX_CONCURRENT=8, RATE_MAX_PER_MINUTE=600, RATE_RESERVE=100.
const freshBucket = () => env.TOKEN_BUCKET.getByName(`user:test-${crypto.randomUUID()}`);
type Bucket = ReturnType<typeof freshBucket>;
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
const report = (remaining: number, used: number, reset = inAnHour(), extra: Partial<RateObservation> = {}): RateObservation =>
  ({ status: 200, limit: 5000, remaining, used, reset, resource: "core", kind: "ok", ...extra });
const secondary = (retryAfterSec?: number): RateObservation => report(4900, 100, inAnHour(), { status: 403, kind: "secondary", retryAfterSec });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function grantOne(bucket: Bucket, maxWaitMs = 0): Promise<string> {
  const g = await bucket.acquire({ maxWaitMs });
  if (!g.granted) throw new Error(`not granted: ${g.reason}`);
  return g.leases[0]!;
}

/** A bucket that knows GitHub's budget and has finished its slow start (8 good answers), so all 8 slots are open. */
async function primed(remaining = 4990, reset = inAnHour()): Promise<Bucket> {
  const bucket = freshBucket();
  for (let i = 0; i < 8; i++) await bucket.release(await grantOne(bucket), report(remaining, 5000 - remaining, reset));
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

  it("starts slowly: one more permit in flight per good answer, up to RATE_MAX_CONCURRENT", async ({ expect }) => {
    const bucket = freshBucket();
    await bucket.release(await grantOne(bucket), report(4999, 1));
    const out = [await grantOne(bucket), await grantOne(bucket)];
    expect(await bucket.acquire()).toMatchObject({ granted: false, reason: "in flight" }); // two after one good answer
    await bucket.release(out.pop()!, report(4998, 2));
    out.push(await grantOne(bucket), await grantOne(bucket));
    expect((await bucket.acquire()).granted).toBe(false);
    expect((await bucket.snapshot()).slowStart).toBe(true);
  });

  it("never has more than RATE_MAX_CONCURRENT permits out, and a released permit frees a slot", async ({ expect }) => {
    const bucket = await primed();
    const leases = [];
    for (let i = 0; i < 8; i++) leases.push(await grantOne(bucket));
    expect(await bucket.acquire()).toMatchObject({ granted: false, reason: "in flight" });
    await bucket.release(leases[0]!, report(4980, 20));
    expect((await bucket.acquire()).granted).toBe(true);
    expect(await bucket.snapshot()).toMatchObject({ inFlight: 8, slowStart: false, concurrencyNow: 8 });
  });

  it("grants a batch of up to n permits in one call and refunds those returned unused", async ({ expect }) => {
    const bucket = await primed();
    const first = await bucket.acquire({ n: 5 });
    const second = await bucket.acquire({ n: 5 });
    if (!first.granted || !second.granted) throw new Error("batch refused");
    expect([first.leases.length, second.leases.length]).toEqual([5, 3]); // 8 slots
    const before = await bucket.snapshot();
    await bucket.release(second.leases, null, { unused: true });
    const after = await bucket.snapshot();
    expect(after.inFlight).toBe(5);
    expect(after.remaining).toBe(before.remaining! + 3);
    expect(after.lastMinute).toBe(before.lastMinute - 3);
    expect(after.unused).toBe(3);
  });

  it("holds waiters and serves them first come, first served as permits come back", async ({ expect }) => {
    const bucket = await primed();
    const out = [];
    for (let i = 0; i < 8; i++) out.push(await grantOne(bucket));
    const served: number[] = [];
    const waiters = Array.from({ length: 30 }, (_, i) => bucket.acquire({ maxWaitMs: 20_000 }).then(async (g) => {
      if (!g.granted) throw new Error(`${i}: ${g.reason} ${g.retryAfterMs}`);
      served.push(i);
      await sleep(5);
      await bucket.release(g.leases[0]!, report(4800 - i, 200 + i));
    }));
    await sleep(50);
    expect((await bucket.snapshot()).waiters).toBe(30);
    for (const lease of out) await bucket.release(lease, report(4900, 100));
    await Promise.all(waiters);
    expect(served).toEqual([...Array(30).keys()]);
  });

  it("refuses at once a wait longer than the caller may hold, saying how long", async ({ expect }) => {
    const reset = inAnHour();
    const bucket = await primed(4000, reset);
    await bucket.release(await grantOne(bucket), report(0, 5000, reset, { status: 403, kind: "primary" }));
    const started = Date.now();
    const refused = await bucket.acquire({ maxWaitMs: 30_000 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(refused.granted).toBe(false);
    if (!refused.granted) expect(refused.retryAfterMs).toBeGreaterThan(3500_000);
  });

  it("keeps the reserve: stops granting when the budget left reaches RATE_RESERVE, until the window resets", async ({ expect }) => {
    const reset = inAnHour();
    const bucket = await primed(103, reset);
    const granted = [];
    for (let i = 0; i < 5; i++) {
      const g = await bucket.acquire();
      if (g.granted) {
        granted.push(g.leases[0]);
        await bucket.release(g.leases[0]!, report(103 - granted.length, 4897 + granted.length, reset));
      }
    }
    expect(granted).toHaveLength(3);
    const refused = await bucket.acquire();
    expect(refused).toMatchObject({ granted: false, reason: expect.stringMatching(/primary/) });
    if (!refused.granted) expect(refused.retryAfterMs).toBeGreaterThan(3500_000);
  });

  it("recognises a new window by its reset time and spends it in full", async ({ expect }) => {
    const reset = Math.floor(Date.now() / 1000) + 4; // this window ends in a few seconds (priming takes some under load)
    const bucket = await primed(101, reset);
    expect((await bucket.acquire()).granted).toBe(true); // the last one above the reserve
    expect((await bucket.acquire()).granted).toBe(false);
    await sleep(reset * 1000 + 1_100 - Date.now()); // past the reset and its safety margin
    const g = await bucket.acquire({ n: 4 });
    expect(g.granted).toBe(true);
    await bucket.release(g.granted ? g.leases[0]! : "", report(4999, 1, inAnHour()));
    expect((await bucket.snapshot()).remaining).toBeGreaterThan(4900);
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

  it("ignores a report about a window older than the one it knows", async ({ expect }) => {
    const bucket = await primed(4000);
    const a = await grantOne(bucket);
    await bucket.release(a, report(4500, 500, inAnHour() - 600));
    expect((await bucket.snapshot()).remaining).toBe(3999); // 4000 less the permit it granted: the old report changed nothing
  });

  it("pauses the whole fleet for retry-after after a secondary-limit answer", async ({ expect }) => {
    const bucket = await primed();
    const lease = await grantOne(bucket);
    await bucket.release(lease, secondary(42));
    const refused = await bucket.acquire();
    expect(refused).toMatchObject({ granted: false, reason: expect.stringMatching(/penalty: secondary/) });
    if (!refused.granted) expect(refused.retryAfterMs).toBeGreaterThan(40_000);
    expect((await bucket.snapshot()).penalties).toBe(1);
  });

  it("after the first secondary-limit answer lets no request out until the penalty is lifted, then releases waiters one by one", async ({ expect }) => {
    const bucket = await primed();
    const out = [];
    for (let i = 0; i < 8; i++) out.push(await grantOne(bucket));
    const grantedAt: number[] = [];
    const waiters = Array.from({ length: 20 }, () => bucket.acquire({ maxWaitMs: 20_000 }).then((g) => {
      if (g.granted) grantedAt.push(Date.now());
      return g;
    }));
    await sleep(20);
    const penaltyFrom = Date.now();
    await bucket.release(out.pop()!, secondary(1)); // the first refusal (of the deepest request): a one-second penalty
    // Those already in flight come back (refused too, or fine): they belong to the same episode, and free no slot.
    await bucket.release(out.pop()!, secondary(1));
    for (const lease of out.splice(0)) await bucket.release(lease, report(4800, 200));
    await sleep(400);
    expect(grantedAt).toEqual([]);
    const snap = await bucket.snapshot();
    expect(snap).toMatchObject({ inFlight: 0, penalties: 1, waiters: 20 });
    expect(snap.learnedConcurrency).toBeLessThan(8);
    await sleep(penaltyFrom + 1_200 - Date.now());
    expect(grantedAt).toHaveLength(1); // slow start: one permit first
    expect(grantedAt[0]!).toBeGreaterThanOrEqual(penaltyFrom + 1_000);
    const first = await waiters[0]!;
    await bucket.release(first.granted ? first.leases[0]! : "", report(4799, 201));
    await sleep(50);
    expect(grantedAt).toHaveLength(3); // one good answer: two in flight
    for (const w of waiters) {
      const g = await w;
      if (g.granted) await bucket.release(g.leases[0]!, report(4700, 300));
    }
  });

  it("learns a lower concurrency from a secondary limit hit at a depth no request had succeeded at", async ({ expect }) => {
    const bucket = freshBucket();
    await bucket.release(await grantOne(bucket), report(4999, 1)); // slow start: 2 now
    await bucket.release(await grantOne(bucket), report(4998, 2));
    const a = await grantOne(bucket);
    const b = await grantOne(bucket);
    const c = await grantOne(bucket); // depth 3: GitHub's real limit is 2
    await bucket.release(a, report(4997, 3));
    await bucket.release(b, report(4996, 4));
    await bucket.release(c, secondary(1));
    const snap = await bucket.snapshot();
    expect(snap.learnedConcurrency).toBe(2);
    expect(snap.learnedPerMinute).toBe(600); // the rate was not the suspect
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

  it("takes a caller's returns inside its next acquire: the freed slot serves that very call", async ({ expect }) => {
    const bucket = await primed();
    const leases = [];
    for (let i = 0; i < 8; i++) leases.push(await grantOne(bucket));
    expect(await bucket.acquire()).toMatchObject({ granted: false, reason: "in flight" });
    const next = await bucket.acquire({ release: [{ leaseIds: [leases[0]!], observation: report(4900, 100) }] });
    expect(next.granted).toBe(true);
    expect(await bucket.snapshot()).toMatchObject({ inFlight: 8, remaining: 4900 - 8 });
    // several batches in one call, for returns that found no acquire to ride with
    await bucket.returnPermits([{ leaseIds: leases.slice(1, 4), observation: report(4890, 110) }, { leaseIds: [leases[4]!], observation: null, unused: true }]);
    expect(await bucket.snapshot()).toMatchObject({ inFlight: 4, unused: 1 });
  });

  it("keeps its leases, budget and penalty across eviction: no over-grant after a restart", async ({ expect }) => {
    const bucket = await primed();
    for (let i = 0; i < 8; i++) await grantOne(bucket);
    await evictDurableObject(bucket);
    expect(await bucket.acquire()).toMatchObject({ granted: false, reason: "in flight" });
    expect(await bucket.snapshot()).toMatchObject({ inFlight: 8, limit: 5000, remaining: 4990 - 8 });

    const penalised = await primed();
    await penalised.release(await grantOne(penalised), secondary(60));
    await evictDurableObject(penalised);
    expect(await penalised.acquire()).toMatchObject({ granted: false, reason: expect.stringMatching(/penalty/) });
  });

  it("never over-grants while restarted again and again under hundreds of concurrent callers", async ({ expect }) => {
    const bucket = await primed();
    let held = 0;
    let maxHeld = 0;
    let served = 0;
    const caller = async () => {
      for (;;) {
        let g;
        try {
          g = await bucket.acquire({ maxWaitMs: 10_000 });
        } catch {
          await sleep(5); // the bucket restarted under us: ask again
          continue;
        }
        if (!g.granted) continue;
        held++;
        maxHeld = Math.max(maxHeld, held);
        await sleep(2 + Math.random() * 10);
        held--;
        for (;;) {
          try {
            await bucket.release(g.leases[0]!, report(4000, 1000));
            break;
          } catch {
            await sleep(5);
          }
        }
        served++;
        return;
      }
    };
    const all = Promise.all(Array.from({ length: 200 }, caller));
    for (let i = 0; i < 3; i++) {
      await sleep(60);
      await bucket.snapshot(); // running again (the callers may be between attempts)
      await evictDurableObject(bucket);
    }
    await all;
    expect(served).toBe(200);
    expect(maxHeld).toBeLessThanOrEqual(8);
    expect((await bucket.snapshot()).inFlight).toBe(0);
  });

  it("reclaims the permits of a crashed fetcher once their lease expires", async ({ expect }) => {
    const bucket = await primed();
    for (let i = 0; i < 8; i++) await grantOne(bucket);
    await runInDurableObject(bucket, (_obj, state) => {
      state.storage.sql.exec("UPDATE lease SET expires_at_ms = ?", Date.now() - 1);
    });
    await evictDurableObject(bucket); // reload from SQLite, as after a restart
    expect((await bucket.acquire()).granted).toBe(true);
    expect((await bucket.snapshot()).expired).toBe(8);
  });

  it("caps requests started in any 60 s window at RATE_MAX_PER_MINUTE", async ({ expect }) => {
    const bucket = await primed();
    await runInDurableObject(bucket, (_obj, state) => {
      state.storage.sql.exec("INSERT INTO start_slot (slot, n) VALUES (?, 592)", Math.floor((Date.now() - 30_000) / 100));
    });
    await evictDurableObject(bucket);
    const refused = await bucket.acquire();
    expect(refused).toMatchObject({ granted: false, reason: "per-minute cap" });
    if (!refused.granted) expect(refused.retryAfterMs).toBeLessThanOrEqual(32_000);
  });
});
