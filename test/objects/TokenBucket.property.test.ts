/** Properties of the TokenBucket's ledger, in virtual time: hundreds of concurrent acquirers (batches, random holds,
 *  answers out of order, primary windows that reset) against a model of GitHub that counts what it receives. */
import fc from "fast-check";
import { describe, it } from "vitest";
import type { RateObservation } from "../../src/github/client";
import { MINUTE_MS, PermitLedger, type Grant } from "../../src/objects/ledger";

const T0 = Date.UTC(2026, 10, 1, 8, 0, 0);

interface Acquirer {
  arriveMs: number;
  n: number;
  holdMs: number[];
}

interface Scenario {
  maxConcurrent: number;
  maxPerMinute: number;
  reserve: number;
  quota: number;
  windowMs: number;
  /** GitHub refuses a request with a secondary limit (retry-after) with this probability. */
  secondaryRate: number;
  retryAfterSec: number;
  acquirers: Acquirer[];
  /** Limits GitHub does not announce: requests in flight, requests arriving per sliding minute (0 = none). */
  ghConcurrency?: number;
  ghPerMinute?: number;
}

const scenario = (opts: { secondary: boolean }) => fc.record({
  maxConcurrent: fc.integer({ min: 1, max: 12 }),
  maxPerMinute: fc.integer({ min: 10, max: 300 }),
  reserve: fc.integer({ min: 0, max: 10 }),
  quota: fc.integer({ min: 40, max: 400 }),
  windowMs: fc.integer({ min: 2, max: 10 }).map((m) => m * MINUTE_MS),
  secondaryRate: opts.secondary ? fc.double({ min: 0.005, max: 0.05, noNaN: true }) : fc.constant(0),
  retryAfterSec: fc.integer({ min: 1, max: 90 }),
  // Arrivals within a burst of 1 s to 10 min: from a stampede to a trickle.
  acquirers: fc.integer({ min: 1_000, max: 10 * MINUTE_MS }).chain((spanMs) => fc.array(fc.record({
    arriveMs: fc.integer({ min: 0, max: spanMs }),
    n: fc.integer({ min: 1, max: 4 }),
    holdMs: fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 4, maxLength: 4 }),
  }), { minLength: 100, maxLength: 400 })),
}) satisfies fc.Arbitrary<Scenario>;

interface Outcome {
  /** `order` counts grants and penalties together: events of one instant happen in order too. */
  grants: Array<{ atMs: number; acquirer: number; order: number }>;
  servedOrder: number[];
  maxInFlight: number;
  violations: number;
  penalties: Array<{ fromMs: number; untilMs: number; order: number }>;
  unserved: number;
  maxUsedInWindow: number;
  githubPenalties?: number;
  learned?: { concurrency: number; perMinute: number; state: PermitLedger["state"] };
}

/** Runs a scenario to the end: every acquirer asks (and asks again after a refusal) until it holds a permit whose
 *  request GitHub accepted. Events at the same instant run in the order they were scheduled. */
function simulate(s: Scenario): Outcome {
  let now = T0;
  const ledger = new PermitLedger({ maxConcurrent: s.maxConcurrent, maxPerMinute: s.maxPerMinute, reserve: s.reserve }, () => now);
  const events: Array<{ at: number; seq: number; run: () => void }> = [];
  let seq = 0;
  const at = (time: number, run: () => void) => {
    events.push({ at: time, seq: seq++, run });
  };
  // GitHub: a fixed window opened by the first counted request; secondary penalties refuse everything until they end.
  const gh = { windowStart: null as number | null, used: 0, penaltyUntil: 0, inFlight: 0, starts: [] as number[], penalties: 0 };
  let rng = 0x9e3779b9 ^ s.acquirers.length;
  const random = () => {
    rng = (Math.imul(rng ^ (rng >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0;
    return ((rng >>> 0) % 1_000_000) / 1_000_000;
  };
  const out: Outcome = { grants: [], servedOrder: [], maxInFlight: 0, violations: 0, penalties: [], unserved: 0, maxUsedInWindow: 0 };
  const done = new Set<number>();
  let order = 0;

  const send = (acquirer: number, leaseId: string, holdMs: number) => {
    if (gh.windowStart !== null && now >= gh.windowStart + s.windowMs) {
      gh.windowStart = null;
      gh.used = 0;
    }
    let kind: RateObservation["kind"] = "ok";
    let status = 200;
    while (gh.starts.length > 0 && gh.starts[0]! <= now - MINUTE_MS) gh.starts.shift();
    const overLimit = (s.ghConcurrency && gh.inFlight + 1 > s.ghConcurrency) || (s.ghPerMinute && gh.starts.length + 1 > s.ghPerMinute);
    if (now < gh.penaltyUntil || overLimit || random() < s.secondaryRate) {
      if (now >= gh.penaltyUntil) {
        gh.penaltyUntil = now + s.retryAfterSec * 1000;
        gh.penalties++;
      }
      kind = "secondary";
      status = 403;
      out.violations++;
    } else if (gh.used >= s.quota) {
      kind = "primary";
      status = 403;
      out.violations++;
    } else {
      gh.windowStart ??= now;
      gh.used++;
      gh.starts.push(now);
      out.maxUsedInWindow = Math.max(out.maxUsedInWindow, gh.used);
    }
    const start = gh.windowStart ?? now;
    const obs: RateObservation = {
      status, kind, limit: s.quota, used: gh.used, remaining: Math.max(0, s.quota - gh.used),
      reset: Math.ceil((start + s.windowMs) / 1000), resource: "core",
      retryAfterSec: kind === "secondary" ? Math.ceil((gh.penaltyUntil - now) / 1000) : undefined,
    };
    gh.inFlight++;
    at(now + holdMs, () => {
      gh.inFlight--;
      const event = ledger.release(leaseId, obs);
      if (event?.newEpisode) out.penalties.push({ fromMs: now, untilMs: event.untilMs, order: order++ });
      if (kind === "ok") {
        done.add(acquirer);
        ledger.pump();
      } else {
        ledger.pump();
        ask(acquirer); // refused by GitHub: ask again, at the back of the queue
      }
    });
  };

  const ask = (i: number) => {
    const a = s.acquirers[i]!;
    const settle = (g: Grant) => {
      if (!g.granted) {
        at(now + g.retryAfterMs, () => ask(i)); // a refusal (hold ran out): ask again later
        return;
      }
      out.servedOrder.push(i);
      g.leases.forEach((leaseId, k) => {
        out.grants.push({ atMs: now, acquirer: i, order: order++ });
        out.maxInFlight = Math.max(out.maxInFlight, ledger.inFlight);
        // The acquirer uses its first permit; the others of a batch it would not need go back unused half the time.
        if (k > 0 && random() < 0.5) {
          out.grants.pop();
          ledger.returnUnused(leaseId);
        } else send(i, leaseId, a.holdMs[k % a.holdMs.length]!);
      });
    };
    ledger.acquire(a.n, 24 * 3_600_000, settle);
    ledger.pump(); // as the TokenBucket does after every call: the head of the queue may be grantable now
  };

  s.acquirers.forEach((a, i) => at(T0 + a.arriveMs, () => ask(i)));
  let steps = 0;
  for (;;) {
    const wake = ledger.wakeAt();
    if (wake !== null && !events.some((e) => e.at <= wake)) at(wake, () => ledger.pump());
    if (events.length === 0) break;
    events.sort((x, y) => x.at - y.at || x.seq - y.seq);
    const e = events.shift()!;
    now = Math.max(now, e.at);
    e.run();
    if (++steps > 2_000_000) throw new Error("simulation does not end");
  }
  out.unserved = s.acquirers.length - done.size;
  out.githubPenalties = gh.penalties;
  out.learned = { concurrency: ledger.concurrencyCap(), perMinute: ledger.perMinuteCap(), state: ledger.state };
  return out;
}

describe("TokenBucket ledger (property, virtual time)", () => {
  it("never exceeds the in-flight cap, the per-minute cap or the budget, and serves every acquirer, in order", () => {
    fc.assert(fc.property(scenario({ secondary: false }), (s) => {
      const o = simulate(s);
      if (o.unserved !== 0) return false;
      if (o.violations !== 0) return false; // GitHub never refused: no primary exhaustion
      if (o.maxUsedInWindow > s.quota - s.reserve) return false; // the reserve was kept
      if (o.maxInFlight > s.maxConcurrent) return false;
      // Requests started in any sliding minute (a window ending at each grant) stay within the cap.
      const times = o.grants.map((g) => g.atMs);
      for (let i = 0, j = 0; i < times.length; i++) {
        while (times[j]! <= times[i]! - MINUTE_MS) j++;
        if (i - j + 1 > s.maxPerMinute) return false;
      }
      // First come, first served: acquirers are first served in the order they first asked (ties by their index).
      const firstServed = [...new Set(o.servedOrder)];
      const arrival = s.acquirers.map((a, i) => ({ i, t: a.arriveMs })).sort((x, y) => x.t - y.t || x.i - y.i).map((x) => x.i);
      return JSON.stringify(firstServed) === JSON.stringify(arrival);
    }), { numRuns: 60 });
  });

  it("after a secondary-limit answer lets no permit out until the penalty is lifted, and still serves everyone", () => {
    fc.assert(fc.property(scenario({ secondary: true }), (s) => {
      const o = simulate(s);
      if (o.unserved !== 0) return false;
      if (o.maxInFlight > s.maxConcurrent) return false;
      return o.grants.every((g) => !o.penalties.some((p) => g.order > p.order && g.atMs < p.untilMs));
    }), { numRuns: 40 });
  });

  const steady = (count: number, everyMs: number, holdMs: number): Acquirer[] =>
    Array.from({ length: count }, (_, i) => ({ arriveMs: i * everyMs, n: 1, holdMs: [holdMs] }));

  it("learns an undisclosed concurrency limit (2, configured 8) in at most 3 penalties, then keeps to it", ({ expect }) => {
    const o = simulate({
      maxConcurrent: 8, maxPerMinute: 600, reserve: 0, quota: 5000, windowMs: 60 * MINUTE_MS, secondaryRate: 0, retryAfterSec: 60,
      ghConcurrency: 2, acquirers: steady(600, 20, 400),
    });
    expect(o.unserved).toBe(0);
    expect(o.githubPenalties).toBeLessThanOrEqual(3);
    expect(o.learned!.state.learnedConcurrency).toBe(2);
    expect(o.learned!.perMinute).toBe(600); // the rate was never blamed
  });

  it("learns an undisclosed per-minute limit (100, configured 600) in at most 3 penalties, then keeps to it", ({ expect }) => {
    const o = simulate({
      maxConcurrent: 8, maxPerMinute: 600, reserve: 0, quota: 5000, windowMs: 60 * MINUTE_MS, secondaryRate: 0, retryAfterSec: 60,
      ghPerMinute: 100, acquirers: steady(600, 100, 300),
    });
    expect(o.unserved).toBe(0);
    expect(o.githubPenalties).toBeLessThanOrEqual(3);
    expect(o.learned!.perMinute).toBeLessThanOrEqual(100);
    expect(o.learned!.perMinute).toBeGreaterThanOrEqual(90);
  });
});
