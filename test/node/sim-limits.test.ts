// Specification of the simulator's rate limiting and failure injection: the primary quota per user and
// window, secondary limits with penalties, what does and does not count, faults and latency.

import { describe, expect, it } from "vitest";
import { GitHubSimulator, type SimOptions } from "../../sim/simulator";
import { fetchVia } from "../../sim/testkit";

const ORIGIN = "https://api.github.com";
const UA = { "user-agent": "sim-test/1.0" };

function client(opts: SimOptions = {}) {
  const sim = new GitHubSimulator(opts);
  const fetchFn = fetchVia(sim);
  const get = (path: string, token = "sim-token", headers: Record<string, string> = {}) =>
    fetchFn(`${ORIGIN}${path}`, { headers: { ...UA, authorization: `Bearer ${token}`, ...headers } });
  return { sim, get };
}

const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);

describe("primary rate limit", () => {
  it("refuses with 403 and remaining 0 once the window's quota is spent, and resets at x-ratelimit-reset", async () => {
    let t = T0;
    const { sim, get } = client({ now: () => t, primary: { limit: 5, windowSeconds: 600 } });
    for (let i = 1; i <= 5; i++) {
      const res = await get("/user");
      expect(res.status).toBe(200);
      expect(res.headers.get("x-ratelimit-remaining")).toBe(String(5 - i));
      t += 1000;
    }
    const res = await get("/user");
    expect(res.status).toBe(403);
    const body = (await res.json()) as Record<string, string>;
    expect(body.message).toMatch(/^API rate limit exceeded for user ID 9000001\. /);
    expect(body.message).toContain(res.headers.get("x-github-request-id")!);
    expect(body.documentation_url).toBe("https://docs.github.com/rest/overview/rate-limits-for-the-rest-api");
    expect(res.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(res.headers.get("x-ratelimit-used")).toBe("5");
    expect(res.headers.get("x-ratelimit-limit")).toBe("5");
    expect(res.headers.get("retry-after")).toBeNull();
    const reset = Number(res.headers.get("x-ratelimit-reset"));
    expect(reset).toBe((T0 + 600_000) / 1000);

    // Refusals spend nothing and are counted as violations.
    await get("/user");
    let s = sim.stats();
    expect(s.violations).toEqual({ primary: 2, secondary: 0, total: 2 });
    expect(s.perUser["octo-sim"]).toMatchObject({ used: 5, remaining: 0, reset });
    expect(s.counted).toBe(5);

    t = reset * 1000 - 1;
    expect((await get("/user")).status).toBe(403);
    t = reset * 1000;
    const fresh = await get("/user");
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get("x-ratelimit-remaining")).toBe("4");
    expect(fresh.headers.get("x-ratelimit-reset")).toBe(String(reset + 600));
    s = sim.stats();
    expect(s.perUser["octo-sim"]!.used).toBe(1);
  });

  it("counts quota per user: tokens of one user share it, another user has its own", async () => {
    const { sim, get } = client({
      now: () => T0,
      primary: { limit: 3, windowSeconds: 3600 },
      users: [
        { login: "alice", id: 11, tokens: ["a1", "a2"] },
        { login: "bob", id: 22, tokens: ["b1"] },
      ],
    });
    expect((await get("/user", "a1")).headers.get("x-ratelimit-remaining")).toBe("2");
    expect((await get("/user", "a2")).headers.get("x-ratelimit-remaining")).toBe("1");
    expect((await get("/user", "a1")).headers.get("x-ratelimit-remaining")).toBe("0");
    const refused = await get("/user", "a2");
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toMatch(/for user ID 11\./);
    const bob = await get("/user", "b1");
    expect(bob.status).toBe(200);
    expect(bob.headers.get("x-ratelimit-remaining")).toBe("2");
    expect(((await bob.json()) as { login: string }).login).toBe("bob");
    expect(sim.stats().perUser).toMatchObject({ alice: { used: 3, remaining: 0 }, bob: { used: 1, remaining: 2 } });
  });

  it("does not count 304s, /rate_limit, 401s or the User-Agent refusal; does count 404/409/403-restricted", async () => {
    const { sim, get } = client({ now: () => T0 });
    const first = await get("/user/repos");
    const etag = first.headers.get("etag")!;
    expect((await get("/user/repos", "sim-token", { "if-none-match": etag })).status).toBe(304);
    const rl = await get("/rate_limit");
    expect(rl.status).toBe(200);
    const body = (await rl.json()) as { resources: Record<string, Record<string, number>>; rate: Record<string, number> };
    expect(body.resources.core).toEqual({ limit: 5000, used: 1, remaining: 4999, reset: (T0 + 3_600_000) / 1000 });
    expect(body.rate).toEqual(body.resources.core);
    expect(Object.keys(body.resources)).toEqual(expect.arrayContaining(["core", "search", "graphql"]));
    expect((await get("/user", "wrong")).status).toBe(401);
    await fetchVia(sim)(`${ORIGIN}/user`, { headers: { authorization: "Bearer sim-token" } });
    expect(sim.stats().perUser["octo-sim"]!.used).toBe(1);
    expect((await get("/repos/octo-sim/nope")).status).toBe(404);
    expect((await get("/repos/octo-sim/empty-repo/commits")).status).toBe(409);
    expect((await get("/repos/sim-org/private-stars/stargazers")).status).toBe(403);
    const s = sim.stats();
    expect(s.perUser["octo-sim"]!.used).toBe(4);
    expect(s.counted).toBe(4);
    expect(s.notModified).toBe(1);
    expect(s.requests).toBe(8);
    expect(s.byStatus).toEqual({ "200": 2, "304": 1, "401": 1, "403": 2, "404": 1, "409": 1 });
  });

  it("serves /rate_limit even when the primary quota is exhausted", async () => {
    const { get } = client({ now: () => T0, primary: { limit: 1, windowSeconds: 60 } });
    await get("/user");
    expect((await get("/user")).status).toBe(403);
    const rl = await get("/rate_limit");
    expect(rl.status).toBe(200);
    expect(rl.headers.get("x-ratelimit-remaining")).toBe("0");
  });
});

describe("secondary rate limits", () => {
  it("refuses beyond maxPerMinute with retry-after, keeps refusing during the penalty, then recovers", async () => {
    let t = T0;
    const { sim, get } = client({ now: () => t, secondary: { maxPerMinute: 3, retryAfterSeconds: 60 } });
    for (let i = 0; i < 3; i++) {
      expect((await get("/user")).status).toBe(200);
      t += 1000;
    }
    const res = await get("/user");
    expect(res.status).toBe(403);
    expect(res.headers.get("retry-after")).toBe("60");
    expect(Number(res.headers.get("x-ratelimit-remaining"))).toBeGreaterThan(0);
    const body = (await res.json()) as Record<string, string>;
    expect(body.message).toMatch(/^You have exceeded a secondary rate limit\. Please wait a few minutes before you try again\. If you reach out to GitHub Support for help, please include the request ID /);
    expect(body.message).toContain(res.headers.get("x-github-request-id")!);
    expect(body.documentation_url).toBe("https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits");

    t += 30_000;
    const during = await get("/user");
    expect(during.status).toBe(403);
    expect(during.headers.get("retry-after")).toBe("30");
    expect(sim.stats().perUser["octo-sim"]!.penaltyUntil).toBe(T0 + 3000 + 60_000);

    t = T0 + 3000 + 60_000;
    expect((await get("/user")).status).toBe(200);
    const s = sim.stats();
    expect(s.violations).toEqual({ primary: 0, secondary: 2, total: 2 });
    expect(s.perUser["octo-sim"]!.used).toBe(4);
  });

  it("uses a sliding 60 s window: spaced requests never trip it", async () => {
    let t = T0;
    const { sim, get } = client({ now: () => t, secondary: { maxPerMinute: 2 } });
    for (let i = 0; i < 10; i++) {
      expect((await get("/user")).status).toBe(200);
      t += 30_001;
    }
    expect(sim.stats().violations.secondary).toBe(0);
  });

  it("can answer 429 and omit retry-after, as GitHub sometimes does", async () => {
    let t = T0;
    const { get } = client({ now: () => t, secondary: { maxPerMinute: 1, status: 429, omitRetryAfter: true } });
    await get("/user");
    t += 10;
    const res = await get("/user");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBeNull();
    expect(((await res.json()) as Record<string, string>).status).toBe("429");
  });

  it("refuses the request that exceeds maxConcurrent in flight, and penalises the user", async () => {
    const { sim, get } = client({ secondary: { maxConcurrent: 2, retryAfterSeconds: 5 }, latencyMs: 40 });
    const statuses = (await Promise.all(Array.from({ length: 6 }, () => get("/user")))).map((r) => r.status);
    expect(statuses).toEqual([200, 200, 403, 403, 403, 403]);
    const s = sim.stats();
    expect(s.maxInFlight).toBe(2);
    expect(s.perUser["octo-sim"]!.maxInFlight).toBe(2);
    expect(s.violations.secondary).toBe(4);
    expect(s.inFlight).toBe(0);
  });

  it("counts /rate_limit against secondary limits", async () => {
    let t = T0;
    const { get } = client({ now: () => t, secondary: { maxPerMinute: 1 } });
    expect((await get("/rate_limit")).status).toBe(200);
    t += 1;
    expect((await get("/rate_limit")).status).toBe(403);
  });
});

describe("faults and latency", () => {
  it("faultRate 1 answers every request with 500/502/503 without spending quota", async () => {
    const { sim, get } = client({ faultRate: 1 });
    const seen = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const res = await get("/user/repos");
      seen.add(res.status);
      const text = await res.text();
      if (res.status === 500) expect(JSON.parse(text)).toEqual({ message: "Server Error" });
      else expect(text).toContain("Unicorn!");
    }
    expect([...seen].every((s) => s === 500 || s === 502 || s === 503)).toBe(true);
    expect(seen.size).toBeGreaterThanOrEqual(2);
    const s = sim.stats();
    expect(s.faults).toBe(30);
    expect(s.perUser["octo-sim"]!.used).toBe(0);
  });

  it("draws faults from their own seeded stream: same faultSeed, same sequence; data unchanged", async () => {
    const run = async () => {
      const { get } = client({ faultRate: 0.5, faultSeed: 42 });
      const out: number[] = [];
      for (let i = 0; i < 40; i++) out.push((await get("/user")).status);
      return out;
    };
    const a = await run();
    expect(a).toEqual(await run());
    expect(a.filter((s) => s === 200).length).toBeGreaterThan(5);
    expect(a.filter((s) => s !== 200).length).toBeGreaterThan(5);
    expect(new GitHubSimulator({ faultRate: 0.5 }).truth()).toEqual(new GitHubSimulator().truth());
  });

  it("delays answers by latencyMs (fixed or a range)", async () => {
    const fixed = client({ latencyMs: 60 });
    let start = performance.now();
    await fixed.get("/user");
    expect(performance.now() - start).toBeGreaterThanOrEqual(55);
    const range = client({ latencyMs: [20, 30] });
    start = performance.now();
    await range.get("/user");
    const took = performance.now() - start;
    expect(took).toBeGreaterThanOrEqual(15);
    expect(took).toBeLessThan(500);
  });

  it("changes limits, faults and latency at runtime through configure()", async () => {
    let t = T0;
    const { sim, get } = client({ now: () => t });
    sim.configure({ primary: { limit: 2, windowSeconds: 60 } });
    await get("/user");
    await get("/user");
    expect((await get("/user")).status).toBe(403);
    sim.resetLimits();
    expect((await get("/user")).status).toBe(200);
    sim.configure({ faultRate: 1 });
    expect((await get("/user")).status).toBeGreaterThanOrEqual(500);
    expect(() => sim.configure({ faultRate: 2 })).toThrow(RangeError);
    expect(sim.config()).toMatchObject({ primary: { limit: 2, windowSeconds: 60 }, faultRate: 1 });
  });
});
