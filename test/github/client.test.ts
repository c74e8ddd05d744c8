import { describe, it } from "vitest";
import { GitHubClient, observe, type PermitGrant, type Permits, type RateObservation } from "../../src/github/client";
import { GitHubError, RateLimitWait } from "../../src/github/errors";

/** Permits that always grant (or follow a script) and remember what was reported back. */
function recordingPermits(script: PermitGrant[] = []) {
  const released: Array<RateObservation | null> = [];
  let n = 0;
  const permits: Permits = {
    acquire: async () => script.shift() ?? { granted: true, leaseId: `l${n++}` },
    release: async (_id, obs) => void released.push(obs),
  };
  return { permits, released };
}

const rate = { "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999", "x-ratelimit-used": "1", "x-ratelimit-reset": "1893456000", "x-ratelimit-resource": "core" };
const ok = (body: unknown, headers: Record<string, string> = {}) => Response.json(body, { headers: { ...rate, ...headers } });

function client(fetcher: (url: string, init: RequestInit) => Promise<Response>, permits = recordingPermits().permits, extra = {}) {
  const sleeps: number[] = [];
  const c = new GitHubClient({ apiUrl: "https://api.github.com", token: "ghp_secret", permits, fetcher, sleep: async (ms) => void sleeps.push(ms), ...extra });
  return { c, sleeps };
}

describe("GitHubClient", () => {
  it("sends the headers GitHub requires on every request", async ({ expect }) => {
    let seen: Headers | undefined;
    const { c } = client(async (_url, init) => {
      seen = new Headers(init.headers);
      return ok([]);
    });
    await c.get("/repos/o/r/issues?per_page=100", { accept: "application/vnd.github.star+json" });
    expect(seen?.get("user-agent")).toMatch(/^github-lake\/\d+\.\d+\.\d+$/);
    expect(seen?.get("authorization")).toBe("Bearer ghp_secret");
    expect(seen?.get("accept")).toBe("application/vnd.github.star+json");
    expect(seen?.get("x-github-api-version")).toBe("2022-11-28");
  });

  it("returns the body and the absolute next page from the Link header", async ({ expect }) => {
    const { c } = client(async () => ok([{ id: 1 }], { link: '<https://api.github.com/repositories/9/issues?page=2>; rel="next"' }));
    const page = await c.get("/repos/o/r/issues");
    expect(page.body).toEqual([{ id: 1 }]);
    expect(page.next).toBe("https://api.github.com/repositories/9/issues?page=2");
  });

  it("takes a permit before every attempt and reports each answer's rate-limit headers", async ({ expect }) => {
    const { permits, released } = recordingPermits();
    let calls = 0;
    const { c } = client(async () => (++calls === 1 ? new Response("bad gateway", { status: 502, headers: rate }) : ok([])), permits);
    await c.get("/x");
    expect(released).toHaveLength(2);
    expect(released[0]).toMatchObject({ status: 502, remaining: 4999, limit: 5000, reset: 1893456000, kind: "ok" });
    expect(c.stats).toMatchObject({ requests: 2, retries: 1 });
  });

  it("retries 5xx, network errors and unparseable bodies with growing backoff, then gives up retryably", async ({ expect }) => {
    const answers: Array<() => Response> = [
      () => new Response("<html>unicorn</html>", { status: 503 }),
      () => { throw new TypeError("connection reset"); },
      () => new Response('[{"id": 1', { status: 200 }),
      () => new Response("oops", { status: 500 }),
    ];
    const { c, sleeps } = client(async () => answers.shift()!());
    const err = await c.get("/x").catch((e) => e);
    expect(err).toBeInstanceOf(GitHubError);
    expect(err.retryable).toBe(true);
    expect(sleeps).toHaveLength(3);
    expect(sleeps[2]!).toBeGreaterThanOrEqual(1000); // third backoff: cap 2 s, full jitter on the upper half
  });

  it("throws a non-retryable GitHubError with GitHub's message for 4xx answers", async ({ expect }) => {
    const { c } = client(async () => Response.json({ message: "Not Found" }, { status: 404, headers: rate }));
    const err = await c.get("/repos/o/gone/issues").catch((e) => e);
    expect(err).toMatchObject({ status: 404, retryable: false, path: "/repos/o/gone/issues" });
    expect(err.message).toContain("Not Found");
  });

  it("reports a secondary-limit answer as a penalty and asks again instead of failing", async ({ expect }) => {
    const { permits, released } = recordingPermits();
    let calls = 0;
    const { c } = client(async () =>
      ++calls === 1
        ? Response.json({ message: "You have exceeded a secondary rate limit." }, { status: 403, headers: { ...rate, "retry-after": "30" } })
        : ok([]), permits);
    await c.get("/x");
    expect(released[0]).toMatchObject({ kind: "secondary", retryAfterSec: 30 });
    expect(c.stats.rateLimitWaits).toBe(1);
  });

  it("holds short permit waits and hands long ones back as RateLimitWait", async ({ expect }) => {
    const short = client(async () => ok([]), recordingPermits([{ granted: false, retryAfterMs: 200, reason: "in flight" }]).permits);
    await short.c.get("/x");
    expect(short.sleeps).toEqual([200]);
    const long = client(async () => ok([]), recordingPermits([{ granted: false, retryAfterMs: 40 * 60_000, reason: "primary" }]).permits);
    await expect(long.c.get("/x")).rejects.toBeInstanceOf(RateLimitWait);
  });

  it("never sends the token to a host other than the API's", async ({ expect }) => {
    let calls = 0;
    const { c } = client(async () => {
      calls++;
      return ok([]);
    });
    await expect(c.get("https://evil.example/steal")).rejects.toThrow(/outside/);
    expect(calls).toBe(0);
  });

  it("returns 304 for a matching ETag without a body", async ({ expect }) => {
    const { c } = client(async (_u, init) =>
      new Headers(init.headers).get("if-none-match") === '"abc"' ? new Response(null, { status: 304, headers: rate }) : ok([]));
    const page = await c.get("/x", { etag: '"abc"' });
    expect(page.status).toBe(304);
    expect(c.stats.notModified).toBe(1);
  });
});

describe("observe (classifying GitHub's refusals)", () => {
  const res = (status: number, body: unknown, headers: Record<string, string>) => new Response(JSON.stringify(body), { status, headers });
  it("tells primary exhaustion, secondary limits and permission refusals apart", ({ expect }) => {
    expect(observe(res(403, { message: "API rate limit exceeded for user ID 1." }, { ...rate, "x-ratelimit-remaining": "0" }), '{"message":"API rate limit exceeded for user ID 1."}').kind).toBe("primary");
    expect(observe(res(429, {}, { ...rate, "retry-after": "60" }), "{}").kind).toBe("secondary");
    expect(observe(res(403, {}, rate), '{"message":"You have exceeded a secondary rate limit"}').kind).toBe("secondary");
    expect(observe(res(403, {}, rate), '{"message":"You do not have permission to view the stargazers of this repository"}').kind).toBe("ok");
  });
});

describe("GitHubClient with a credential pool", () => {
  it("sends the credential each permit names, and asks the limiter to hold the wait up to maxHoldMs", async ({ expect }) => {
    const asked: number[] = [];
    const seen: string[] = [];
    let n = 0;
    const permits: Permits = {
      acquire: async (maxWaitMs) => {
        asked.push(maxWaitMs);
        return { granted: true, leaseId: `l${n}`, token: `tok-${n++ % 2}` };
      },
      release: async () => {},
    };
    const c = new GitHubClient({ apiUrl: "https://api.github.com", permits, maxHoldMs: 12_000, fetcher: async (_u, init) => {
      seen.push(new Headers(init.headers).get("authorization")!);
      return ok([]);
    } });
    await c.get("/a");
    await c.get("/b");
    expect(seen).toEqual(["Bearer tok-0", "Bearer tok-1"]);
    expect(asked).toEqual([12_000, 12_000]);
  });

  it("on a 401 lets the pool retire the credential and retries with another; without one it fails for good", async ({ expect }) => {
    const events: string[] = [];
    let n = 0;
    const pool = (others: boolean): Permits => ({
      acquire: async () => ({ granted: true, leaseId: `l${n}`, token: `tok-${n++}` }),
      release: async (id, obs) => void events.push(`release ${id} ${obs?.status}`),
      unauthorized: async (id) => {
        events.push(`unauthorized ${id}`);
        return others;
      },
    });
    const answer = async (_u: string, init: RequestInit) =>
      new Headers(init.headers).get("authorization") === "Bearer tok-0"
        ? Response.json({ message: "Bad credentials" }, { status: 401 })
        : ok([{ id: 1 }]);
    const c = new GitHubClient({ apiUrl: "https://api.github.com", permits: pool(true), fetcher: answer });
    expect((await c.get("/x")).body).toEqual([{ id: 1 }]);
    expect(events).toEqual(["unauthorized l0", "release l0 401", "release l1 200"]);
    n = 0;
    const alone = new GitHubClient({ apiUrl: "https://api.github.com", permits: pool(false), fetcher: answer });
    await expect(alone.get("/x")).rejects.toMatchObject({ status: 401, retryable: false });
  });

  it("asks an unreachable limiter again with backoff (a bucket restarting), then gives up retryably", async ({ expect }) => {
    let calls = 0;
    const flaky: Permits = {
      acquire: async () => {
        if (++calls <= 2) throw new Error("Durable Object reset because its code was updated");
        return { granted: true, leaseId: "l" };
      },
      release: async () => {},
    };
    const { c, sleeps } = client(async () => ok([]), flaky);
    await c.get("/x");
    expect(sleeps).toHaveLength(2);
    const dead: Permits = { acquire: async () => { throw new Error("overloaded"); }, release: async () => {} };
    await expect(client(async () => ok([]), dead).c.get("/x")).rejects.toMatchObject({ retryable: true });
  });

  it("never fails a page because a permit's report could not be delivered", async ({ expect }) => {
    let releases = 0;
    const lossy: Permits = {
      acquire: async () => ({ granted: true, leaseId: "l" }),
      release: async () => {
        releases++;
        throw new Error("bucket restarting");
      },
    };
    const { c } = client(async () => ok([{ id: 7 }]), lossy);
    expect((await c.get("/x")).body).toEqual([{ id: 7 }]);
    expect(releases).toBe(2); // tried twice; the lease's expiry reclaims the permit
  });
});
