/** The credential pool against the simulator: buckets keyed by quota identity, budgets that add up per identity (not
 *  per token), 401s that retire a credential while the others carry on, and GET /ratelimit without a raw token. */
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, it, vi } from "vitest";
import { GitHubSimulator, type SimOptions } from "../../sim/simulator";
import { GitHubClient } from "../../src/github/client";
import { RateLimitWait } from "../../src/github/errors";
import { forgetIdentities } from "../../src/github/identity";
import { CredentialPool } from "../../src/github/pool";
import { tokenHash } from "../../src/github/permits";

afterEach(() => vi.restoreAllMocks());

/** Fresh users (ids unique to the test, so buckets are fresh too) and a simulator serving GITHUB_API_URL. */
function world(names: string[], options: SimOptions = {}) {
  const base = 100_000 + Math.floor(Math.random() * 1e6) * 10;
  const users = names.map((login, i) => ({ login: `${login}-${base}`, id: base + i, tokens: [`${login}-${base}-1`, `${login}-${base}-2`] }));
  const sim = new GitHubSimulator({ users, repos: 1, special: false, ...options });
  const calls: string[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(env.GITHUB_API_URL)) throw new TypeError(`network disabled in tests: ${request.url}`);
    calls.push(new URL(request.url).pathname);
    return sim.handle(request);
  });
  return { sim, users, calls, repo: sim.truth().repositories[0]!.full_name };
}

/** Requests until the pool's buckets refuse for longer than a second (their budgets net of the reserve are spent). */
async function spend(pool: CredentialPool, path: string): Promise<number> {
  const client = new GitHubClient({ apiUrl: env.GITHUB_API_URL, permits: pool, maxHoldMs: 1_000 });
  let ok = 0;
  for (;;) {
    try {
      await client.get(path);
      ok++;
    } catch (err) {
      if (err instanceof RateLimitWait) return ok;
      throw err;
    }
  }
}

// wrangler.toml keeps RATE_RESERVE=100 of each window: a limit of 140 leaves 40 per identity.
const LIMIT = 140;
const RESERVE = 100;

describe("credential pool", () => {
  it("gives two tokens of one user one bucket and one budget; two users' tokens double it", async ({ expect }) => {
    const { sim, users, repo } = world(["alice", "bob", "carol"], { primary: { limit: LIMIT, windowSeconds: 3600 } });
    const [alice, bob, carol] = users as [typeof users[0], typeof users[0], typeof users[0]];

    const shared = await CredentialPool.open(env, {}, { tokens: alice.tokens });
    expect(shared.buckets).toEqual([`user:${alice.id}`]);
    const one = await spend(shared, `/repos/${repo}`);

    const pair = await CredentialPool.open(env, {}, { tokens: [bob.tokens[0]!, carol.tokens[0]!] });
    expect(pair.buckets.sort()).toEqual([`user:${bob.id}`, `user:${carol.id}`].sort());
    const two = await spend(pair, `/repos/${repo}`);

    const stats = sim.stats();
    expect(stats.violations.total).toBe(0);
    // Every identity spent exactly its budget net of the reserve (the identity lookups, one per token, included).
    for (const u of [alice, bob, carol]) expect(stats.perUser[u.login]!.used).toBe(LIMIT - RESERVE);
    expect(one).toBe(LIMIT - RESERVE - 2); // two tokens looked up, one budget
    expect(two).toBe(2 * (LIMIT - RESERVE - 1));
    expect(two / one).toBeGreaterThanOrEqual(1.9);
  });

  it("looks each token up once (GET /user), then remembers it across isolates through the registry", async ({ expect }) => {
    const { users, calls } = world(["dora"]);
    await CredentialPool.open(env, {}, { tokens: users[0]!.tokens });
    await CredentialPool.open(env, {}, { tokens: users[0]!.tokens });
    forgetIdentities(); // a new isolate: only the registry remembers
    const pool = await CredentialPool.open(env, {}, { tokens: users[0]!.tokens });
    expect(pool.buckets).toEqual([`user:${users[0]!.id}`]);
    expect(calls.filter((p) => p === "/user")).toHaveLength(2);
  });

  it("retires a revoked token fleet-wide and goes on with the others", async ({ expect }) => {
    const { sim, users, repo } = world(["erin", "fred"]);
    const [erin, fred] = users as [typeof users[0], typeof users[0]];
    const pool = await CredentialPool.open(env, {}, { tokens: [erin.tokens[0]!, fred.tokens[0]!] });
    const client = new GitHubClient({ apiUrl: env.GITHUB_API_URL, permits: pool });
    for (let i = 0; i < 4; i++) await client.get(`/repos/${repo}`);
    sim.revoke(erin.tokens[0]!);
    for (let i = 0; i < 12; i++) expect((await client.get(`/repos/${repo}`)).status).toBe(200);
    expect(pool.buckets).toEqual([`user:${fred.id}`]);
    const [record] = await env.QUOTA_REGISTRY.getByName("registry").lookup([await tokenHash(erin.tokens[0]!)]);
    expect(record?.retiredAtMs).not.toBeNull();
    forgetIdentities();
    const next = await CredentialPool.open(env, {}, { tokens: [erin.tokens[0]!, fred.tokens[0]!] });
    expect(next.buckets).toEqual([`user:${fred.id}`]); // the next job does not send it again
    const alone = await CredentialPool.open(env, {}, { tokens: [fred.tokens[1]!] });
    sim.revoke(fred.tokens[1]!);
    await expect(new GitHubClient({ apiUrl: env.GITHUB_API_URL, permits: alone }).get(`/repos/${repo}`)).rejects.toMatchObject({ status: 401 });
  });

  it("shows every bucket in GET /ratelimit with its credentials as hashes, never a token", async ({ expect }) => {
    world(["gus"], { users: [{ login: "octo-sim", id: 9000001, tokens: [env.GITHUB_TOKEN] }] });
    const res = await exports.default.fetch(new Request("https://lake.test/ratelimit", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }));
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain(env.GITHUB_TOKEN);
    const body = JSON.parse(text) as { buckets: Array<Record<string, unknown>>; credentials: Array<Record<string, unknown>> };
    expect(body.credentials).toEqual([{ id: await tokenHash(env.GITHUB_TOKEN), kind: "token", bucket: "user:9000001", identity: "octo-sim", retired: false }]);
    expect(body.buckets).toHaveLength(1);
    expect(body.buckets[0]).toMatchObject({ name: "user:9000001", credentials: [await tokenHash(env.GITHUB_TOKEN)], waiters: 0, penalties: 0 });
    for (const key of ["limit", "remaining", "resetAt", "inFlight", "lastMinute", "penaltyUntil", "learnedConcurrency", "learnedPerMinute", "granted", "refused"]) {
      expect(body.buckets[0]).toHaveProperty(key);
    }
  });
});
