// Specification of the GitHub simulator's REST behaviour: shapes, pagination and Link headers, special
// repositories, ETags, mutations and the truth it reports. Rate limits: sim-limits.test.ts; HTTP adapter
// and CLI: sim-server.test.ts.

import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { GitHubSimulator, type SimOptions, type SimTruth } from "../../sim/simulator";
import { extractAll, fetchVia, normalizeTruth, parseLink, walkPages } from "../../sim/testkit";

const ORIGIN = "https://api.github.com";
const AUTH = { "user-agent": "sim-test/1.0", authorization: "Bearer sim-token" };
const STAR = { accept: "application/vnd.github.star+json" };

type Row = Record<string, any>;

function client(opts: SimOptions = {}) {
  const sim = new GitHubSimulator(opts);
  const fetchFn = fetchVia(sim);
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetchFn(path.startsWith("http") ? path : `${ORIGIN}${path}`, { headers: { ...AUTH, ...headers } });
  const json = async (path: string, headers: Record<string, string> = {}) => {
    const res = await get(path, headers);
    return { res, body: (await res.json()) as any };
  };
  return { sim, fetchFn, get, json };
}

/** The ordinary repository with the most issues+PRs. */
function biggest(truth: SimTruth): string {
  const sizes = Object.keys(truth.tables.issues).map((fn) => [fn, truth.tables.issues[fn]!.length + truth.tables.pull_requests[fn]!.length] as const);
  return sizes.sort((a, b) => b[1] - a[1])[0]![0];
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

describe("authentication and request hygiene", () => {
  const { sim, fetchFn, get } = client();

  it("refuses a request without User-Agent with GitHub's 403 text and counts it as rejected", async () => {
    sim.resetStats();
    const res = await fetchFn(`${ORIGIN}/user`, { headers: { authorization: "Bearer sim-token" } });
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/^Request forbidden by administrative rules\. Please make sure your request has a User-Agent header/);
    const s = sim.stats();
    expect(s.requests).toBe(1);
    expect(s.byStatus["403"]).toBe(1);
    expect(s.rejected.userAgent).toBe(1);
    expect(s.perUser["octo-sim"]!.used).toBe(0);
  });

  it("answers 401 Requires authentication without a token and Bad credentials for an unknown one", async () => {
    const missing = await fetchFn(`${ORIGIN}/user`, { headers: { "user-agent": "x" } });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ message: "Requires authentication", documentation_url: "https://docs.github.com/rest", status: "401" });
    const bad = await get("/user", { authorization: "Bearer nope" });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" });
    expect(bad.headers.get("x-ratelimit-limit")).toBe("60");
    expect(bad.headers.get("content-type")).toBe("application/json; charset=utf-8");
  });

  it("accepts both `Bearer` and `token` schemes", async () => {
    expect((await get("/user", { authorization: "Bearer sim-token" })).status).toBe(200);
    expect((await get("/user", { authorization: "token sim-token" })).status).toBe(200);
  });

  it("answers 400 for an unsupported X-GitHub-Api-Version and accepts 2022-11-28", async () => {
    expect((await get("/user", { "x-github-api-version": "2022-11-28" })).status).toBe(200);
    const res = await get("/user", { "x-github-api-version": "1999-01-01" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Row).status).toBe("400");
  });

  it("answers unknown paths and non-GET methods with GitHub's 404 body", async () => {
    const notFound = { message: "Not Found", documentation_url: "https://docs.github.com/rest", status: "404" };
    const a = await get("/repos/octo-sim/no-such-repo");
    expect(a.status).toBe(404);
    expect(await a.json()).toEqual(notFound);
    expect(a.headers.get("x-ratelimit-remaining")).not.toBeNull();
    const b = await fetchFn(`${ORIGIN}/user`, { method: "DELETE", headers: AUTH });
    expect(b.status).toBe(404);
    expect(await b.json()).toEqual(notFound);
    expect((await get("/nope")).status).toBe(404);
  });
});

describe("response headers", () => {
  it("puts the rate-limit headers, a request id and the JSON content type on every answer", async () => {
    let t = Date.UTC(2026, 11, 1, 10, 0, 0);
    const { get } = client({ now: () => t });
    const ids = new Set<string>();
    for (const [i, path] of ["/user", "/user/repos", "/repos/octo-sim/empty-repo/commits", "/nope"].entries()) {
      t += 1000;
      const res = await get(path);
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(res.headers.get("x-ratelimit-limit")).toBe("5000");
      expect(res.headers.get("x-ratelimit-used")).toBe(String(i + 1));
      expect(res.headers.get("x-ratelimit-remaining")).toBe(String(5000 - (i + 1)));
      expect(res.headers.get("x-ratelimit-resource")).toBe("core");
      // The window opened with the first counted request (t0 + 1 s).
      expect(res.headers.get("x-ratelimit-reset")).toBe(String((Date.UTC(2026, 11, 1, 10, 0, 1) + 3_600_000) / 1000));
      ids.add(res.headers.get("x-github-request-id")!);
    }
    expect(ids.size).toBe(4);
  });
});

describe("repositories", () => {
  const c = client();
  let truth: SimTruth;
  beforeAll(() => {
    truth = c.sim.truth();
  });

  it("GET /user describes the token's user", async () => {
    const { res, body } = await c.json("/user");
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ login: "octo-sim", id: 9000001, type: "User" });
    expect(typeof body.node_id).toBe("string");
  });

  it("GET /user/repos lists every repository, special ones included, by full_name ascending", async () => {
    const { res, body } = await c.json("/user/repos?affiliation=owner,collaborator,organization_member&per_page=100");
    expect(res.status).toBe(200);
    expect(res.headers.get("link")).toBeNull();
    const names = (body as Row[]).map((r) => r.full_name as string);
    expect(names).toEqual([...names].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
    expect(names).toEqual(truth.repositories.map((r) => r.full_name));
    expect(names).toEqual(expect.arrayContaining(["octo-sim/empty-repo", "sim-org/vanished-repo", "sim-org/private-stars"]));
    expect(names).toHaveLength(9);
    expect(new Set((body as Row[]).map((r) => r.owner.login))).toEqual(new Set(["octo-sim", "sim-org", "sim-friend"]));
    for (const r of body as Row[]) {
      for (const k of ["id", "node_id", "name", "full_name", "private", "owner", "html_url", "description", "fork", "url", "created_at", "updated_at", "pushed_at", "homepage", "size", "stargazers_count", "watchers_count", "language", "forks_count", "open_issues_count", "archived", "disabled", "default_branch", "visibility", "topics", "permissions"]) {
        expect(r, `${r.full_name}.${k}`).toHaveProperty(k);
      }
      expect(r.owner).toMatchObject({ login: expect.any(String), id: expect.any(Number), type: expect.stringMatching(/^(User|Organization)$/) });
      expect(r.permissions).toMatchObject({ admin: expect.any(Boolean), push: expect.any(Boolean), pull: true });
      expect(r.visibility).toBe(r.private ? "private" : "public");
      expect(Date.parse(r.created_at)).toBeLessThanOrEqual(Date.parse(r.updated_at));
    }
  });

  it("paginates /user/repos with links on /user/repos and filters by affiliation, visibility and type", async () => {
    const { res, body } = await c.json("/user/repos?per_page=4");
    expect(body).toHaveLength(4);
    expect(res.headers.get("link")).toBe(`<${ORIGIN}/user/repos?per_page=4&page=2>; rel="next", <${ORIGIN}/user/repos?per_page=4&page=3>; rel="last"`);
    const owned = (await c.json("/user/repos?affiliation=owner&per_page=100")).body as Row[];
    expect(owned.length).toBeGreaterThan(0);
    expect(owned.every((r) => r.owner.login === "octo-sim")).toBe(true);
    const priv = (await c.json("/user/repos?visibility=private&per_page=100")).body as Row[];
    expect(priv.length).toBeGreaterThan(0);
    expect(priv.every((r) => r.private === true)).toBe(true);
    const both = await c.json("/user/repos?type=owner&affiliation=owner");
    expect(both.res.status).toBe(422);
    expect(both.body.message).toBe("If you specify visibility or affiliation, you cannot specify type.");
    const sorted = (await c.json("/user/repos?sort=created&per_page=100")).body as Row[];
    const created = sorted.map((r) => Date.parse(r.created_at));
    expect(created).toEqual([...created].sort((a, b) => b - a));
  });

  it("GET /repos/{owner}/{repo} and /repositories/{id} return the same repository, case-insensitively", async () => {
    const fn = biggest(truth);
    const id = truth.repositories.find((r) => r.full_name === fn)!.id;
    const a = (await c.json(`/repos/${fn}`)).body;
    const b = (await c.json(`/repositories/${id}`)).body;
    const upper = (await c.json(`/repos/${fn.toUpperCase()}`)).body;
    expect(a).toEqual(b);
    expect(upper).toEqual(a);
    expect(a.id).toBe(id);
    expect(a.stargazers_count).toBe(truth.tables.stargazers[fn]!.length);
  });
});

describe("pagination and Link headers", () => {
  const c = client();
  let fn: string;
  let id: number;
  let total: number;
  beforeAll(() => {
    const truth = c.sim.truth();
    fn = biggest(truth);
    id = truth.repositories.find((r) => r.full_name === fn)!.id;
    total = truth.tables.issues[fn]!.length + truth.tables.pull_requests[fn]!.length;
  });

  it("writes GitHub's Link header on the first, a middle and the last page, on /repositories/{id}", async () => {
    const last = Math.ceil(total / 100);
    expect(last).toBeGreaterThan(10);
    const base = `${ORIGIN}/repositories/${id}/issues`;
    const first = await c.get(`/repos/${fn}/issues?state=all&per_page=100`);
    expect(first.headers.get("link")).toBe(`<${base}?state=all&per_page=100&page=2>; rel="next", <${base}?state=all&per_page=100&page=${last}>; rel="last"`);
    // `page` keeps its position among the other parameters.
    const mid = await c.get(`/repos/${fn}/issues?state=all&page=5&per_page=100`);
    expect(mid.headers.get("link")).toBe(
      `<${base}?state=all&page=4&per_page=100>; rel="prev", <${base}?state=all&page=6&per_page=100>; rel="next", ` +
        `<${base}?state=all&page=${last}&per_page=100>; rel="last", <${base}?state=all&page=1&per_page=100>; rel="first"`,
    );
    const end = await c.get(`/repos/${fn}/issues?state=all&per_page=100&page=${last}`);
    expect(end.headers.get("link")).toBe(`<${base}?state=all&per_page=100&page=${last - 1}>; rel="prev", <${base}?state=all&per_page=100&page=1>; rel="first"`);
    expect(((await end.json()) as Row[]).length).toBe(total - (last - 1) * 100);
  });

  it("builds links from the request's own origin", async () => {
    const res = await c.get(`http://127.0.0.1:9999/repos/${fn}/issues?state=all`);
    expect(parseLink(res.headers.get("link")).next).toBe(`http://127.0.0.1:9999/repositories/${id}/issues?state=all&page=2`);
  });

  it("defaults per_page to 30 and clamps it to 100", async () => {
    expect(((await c.json(`/repos/${fn}/issues?state=all`)).body as Row[]).length).toBe(30);
    expect(((await c.json(`/repos/${fn}/issues?state=all&per_page=500`)).body as Row[]).length).toBe(100);
  });

  it("serves /repositories/{id}/... as an alias with identical pages", async () => {
    const a = await c.get(`/repos/${fn}/issues?state=all&per_page=100&page=2`);
    const b = await c.get(`/repositories/${id}/issues?state=all&per_page=100&page=2`);
    expect(b.status).toBe(200);
    expect(await b.text()).toBe(await a.text());
    expect(b.headers.get("link")).toBe(a.headers.get("link"));
  });

  it("walking rel=next returns every issue and PR exactly once, newest created first", async () => {
    const w = await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/issues?state=all&per_page=100`, AUTH);
    expect(w.pages).toBe(Math.ceil(total / 100));
    const numbers = w.rows.map((r) => r.number as number);
    expect(new Set(numbers).size).toBe(total);
    const created = w.rows.map((r) => Date.parse(r.created_at));
    expect(created).toEqual([...created].sort((a, b) => b - a));
  });

  it("answers an empty page past the end, and no Link when one page holds everything", async () => {
    const past = await c.json(`/repos/${fn}/issues?state=all&per_page=100&page=999`);
    expect(past.body).toEqual([]);
    expect(parseLink(past.res.headers.get("link")).first).toBeDefined();
    const small = await c.get("/repos/octo-sim/empty-repo/issues?state=all");
    expect(small.headers.get("link")).toBeNull();
  });
});

describe("issues and pull requests", () => {
  const c = client();
  let truth: SimTruth;
  let fn: string;
  let all: Row[];
  beforeAll(async () => {
    truth = c.sim.truth();
    fn = biggest(truth);
    all = (await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/issues?state=all&per_page=100`, AUTH)).rows;
  });

  it("lists only open items by default, sorted by created descending", async () => {
    const open = (await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/issues?per_page=100`, AUTH)).rows;
    expect(open.length).toBeGreaterThan(0);
    expect(open.every((i) => i.state === "open")).toBe(true);
    expect(open.length).toBe(all.filter((i) => i.state === "open").length);
    const closed = (await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/issues?state=closed&per_page=100`, AUTH)).rows;
    expect(closed.length + open.length).toBe(all.length);
  });

  it("returns pull requests in the issues listing with a pull_request key and a distinct id", async () => {
    const prs = all.filter((i) => i.pull_request);
    const issues = all.filter((i) => !i.pull_request);
    expect(issues.map((i) => i.id).sort()).toEqual([...truth.tables.issues[fn]!].sort());
    const pulls = (await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/pulls?state=all&per_page=100`, AUTH)).rows;
    expect(pulls.map((p) => p.id).sort()).toEqual([...truth.tables.pull_requests[fn]!].sort());
    expect(prs.map((p) => p.number).sort()).toEqual(pulls.map((p) => p.number).sort());
    const byNumber = new Map(pulls.map((p) => [p.number, p]));
    for (const issueSide of prs) {
      const pr = byNumber.get(issueSide.number)!;
      expect(pr.id).not.toBe(issueSide.id);
      expect(Object.keys(issueSide.pull_request).sort()).toEqual(["diff_url", "html_url", "merged_at", "patch_url", "url"]);
      expect(issueSide.pull_request.merged_at).toBe(pr.merged_at);
      expect(issueSide.state).toBe(pr.state);
    }
  });

  it("issue objects carry GitHub's fields with consistent values", () => {
    let nullBody = 0;
    let crlf = 0;
    let emoji = 0;
    let labelled = 0;
    let unlabelled = 0;
    let withReactions = 0;
    for (const i of all) {
      for (const k of ["id", "node_id", "number", "title", "user", "labels", "state", "state_reason", "locked", "assignee", "assignees", "milestone", "comments", "created_at", "updated_at", "closed_at", "author_association", "body", "reactions"]) {
        expect(i, `#${i.number}.${k}`).toHaveProperty(k);
      }
      expect(i.user).toMatchObject({ login: expect.any(String), id: expect.any(Number) });
      for (const l of i.labels) expect(l).toMatchObject({ id: expect.any(Number), name: expect.any(String), color: expect.stringMatching(/^[0-9a-f]{6}$/) });
      for (const t of [i.created_at, i.updated_at]) expect(t).toMatch(ISO);
      expect(Date.parse(i.created_at)).toBeGreaterThanOrEqual(Date.UTC(2019, 0, 1));
      expect(Date.parse(i.updated_at)).toBeLessThan(Date.UTC(2027, 0, 1));
      expect(Date.parse(i.created_at)).toBeLessThanOrEqual(Date.parse(i.updated_at));
      expect(i.closed_at === null).toBe(i.state === "open");
      if (i.closed_at) expect(Date.parse(i.closed_at)).toBeLessThanOrEqual(Date.parse(i.updated_at));
      if (i.state === "closed" && !i.pull_request) expect(["completed", "not_planned", "duplicate"]).toContain(i.state_reason);
      const r = i.reactions;
      const sum = ["+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"].reduce((n, k) => n + r[k], 0);
      expect(r.total_count).toBe(sum);
      expect(r.url).toBe(`${ORIGIN}/repos/${fn}/issues/${i.number}/reactions`);
      if (r.total_count > 0) withReactions++;
      if (i.body === null) nullBody++;
      else {
        if (i.body.includes("\r\n")) crlf++;
        if (/\p{Extended_Pictographic}/u.test(i.body)) emoji++;
      }
      if (i.labels.length > 0) labelled++;
      else unlabelled++;
      expect(i.assignee === null).toBe(i.assignees.length === 0);
    }
    expect(nullBody).toBeGreaterThan(0);
    expect(crlf).toBeGreaterThan(0);
    expect(emoji).toBeGreaterThan(0);
    expect(labelled).toBeGreaterThan(0);
    expect(unlabelled).toBeGreaterThan(0);
    expect(withReactions).toBeGreaterThan(0);
    expect(withReactions).toBeLessThan(all.length / 5);
    expect(all.some((i) => i.assignees.length >= 2)).toBe(true);
  });

  it("filters issues by since (updated_at >= since), labels, and sorts by updated ascending", async () => {
    const updated = all.map((i) => Date.parse(i.updated_at)).sort((a, b) => a - b);
    const cut = updated[Math.floor(updated.length * 0.9)]!;
    const since = new Date(cut).toISOString();
    const got = (await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/issues?state=all&since=${since}&per_page=100`, AUTH)).rows;
    expect(got.map((i) => i.number).sort()).toEqual(all.filter((i) => Date.parse(i.updated_at) >= cut).map((i) => i.number).sort());
    const label = all.find((i) => i.labels.length > 0)!.labels[0].name as string;
    const labelled = (await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/issues?state=all&per_page=100&labels=${encodeURIComponent(label)}`, AUTH)).rows;
    expect(labelled.length).toBe(all.filter((i) => i.labels.some((l: Row) => l.name === label)).length);
    const asc = (await c.json(`/repos/${fn}/issues?state=all&sort=updated&direction=asc&per_page=100`)).body as Row[];
    const times = asc.map((i) => Date.parse(i.updated_at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it("pull request objects carry head/base, draft, merge data consistent with their state", async () => {
    const pulls = (await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/pulls?state=all&per_page=100`, AUTH)).rows;
    let merged = 0;
    let closedUnmerged = 0;
    for (const p of pulls) {
      for (const k of ["id", "node_id", "number", "title", "user", "state", "locked", "body", "created_at", "updated_at", "closed_at", "merged_at", "merge_commit_sha", "draft", "head", "base", "labels", "assignees", "author_association"]) {
        expect(p, `PR #${p.number}.${k}`).toHaveProperty(k);
      }
      expect(p.head).toMatchObject({ ref: expect.any(String), sha: expect.stringMatching(/^[0-9a-f]{40}$/), label: expect.any(String) });
      expect(p.base).toMatchObject({ ref: expect.any(String), sha: expect.stringMatching(/^[0-9a-f]{40}$/), label: expect.any(String) });
      expect(typeof p.draft).toBe("boolean");
      if (p.merged_at !== null) {
        merged++;
        expect(p.state).toBe("closed");
        expect(p.merged_at).toBe(p.closed_at);
      } else if (p.state === "closed") closedUnmerged++;
      if (p.state === "open") expect(p.closed_at).toBeNull();
    }
    expect(merged).toBeGreaterThan(0);
    expect(closedUnmerged).toBeGreaterThan(0);
    const open = (await c.json(`/repos/${fn}/pulls?per_page=100`)).body as Row[];
    expect(open.every((p) => p.state === "open")).toBe(true);
    const created = open.map((p) => Date.parse(p.created_at));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    // sort=updated defaults to ascending on /pulls.
    const upd = ((await c.json(`/repos/${fn}/pulls?state=all&sort=updated&per_page=100`)).body as Row[]).map((p) => Date.parse(p.updated_at));
    expect(upd).toEqual([...upd].sort((a, b) => a - b));
  });

  it("lists reactions matching each rollup; unknown numbers are 404; large lists paginate", async () => {
    const withR = all.filter((i) => i.reactions.total_count > 0);
    for (const i of withR.slice(0, 15)) {
      const rows = (await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/issues/${i.number}/reactions?per_page=100`, AUTH)).rows;
      expect(rows.length).toBe(i.reactions.total_count);
      for (const content of ["+1", "heart", "eyes"]) expect(rows.filter((r) => r.content === content).length).toBe(i.reactions[content]);
      for (const r of rows) {
        expect(r).toMatchObject({ id: expect.any(Number), node_id: expect.any(String), user: { login: expect.any(String), id: expect.any(Number) }, created_at: expect.stringMatching(ISO) });
        expect(["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]).toContain(r.content);
        expect(Date.parse(r.created_at)).toBeGreaterThanOrEqual(Date.parse(i.created_at));
      }
      expect(new Set(rows.map((r) => `${r.user.id}:${r.content}`)).size).toBe(rows.length);
    }
    const big = all.reduce((m, i) => (i.reactions.total_count > m.reactions.total_count ? i : m));
    expect(big.reactions.total_count).toBeGreaterThan(100);
    const w = await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/issues/${big.number}/reactions?per_page=100`, AUTH);
    expect(w.pages).toBe(2);
    expect(w.rows.length).toBe(big.reactions.total_count);
    const none = await c.json(`/repos/${fn}/issues/999999/reactions`);
    expect(none.res.status).toBe(404);
    expect(none.body.message).toBe("Not Found");
  });
});

describe("commits", () => {
  const c = client();
  let fn: string;
  let commits: Row[];
  beforeAll(async () => {
    fn = biggest(c.sim.truth());
    commits = (await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/commits?per_page=100`, AUTH)).rows;
  });

  it("lists the default-branch history newest first with linked parents", () => {
    expect(commits.length).toBeGreaterThan(300);
    const dates = commits.map((x) => Date.parse(x.commit.committer.date));
    expect(dates).toEqual([...dates].sort((a, b) => b - a));
    commits.forEach((x, i) => {
      expect(x.sha).toMatch(/^[0-9a-f]{40}$/);
      expect(x.commit).toMatchObject({
        author: { name: expect.any(String), email: expect.any(String), date: expect.stringMatching(ISO) },
        committer: { name: expect.any(String), email: expect.any(String), date: expect.stringMatching(ISO) },
        message: expect.any(String),
        comment_count: expect.any(Number),
      });
      expect(x.html_url).toBe(`https://github.com/${fn}/commit/${x.sha}`);
      const next = commits[i + 1];
      expect(x.parents.map((p: Row) => p.sha)).toEqual(next ? [next.sha] : []);
    });
    expect(commits.some((x) => x.author === null)).toBe(true);
    expect(commits.some((x) => x.author !== null && typeof x.author.login === "string")).toBe(true);
  });

  it("filters by since/until on the commit date and starts from `sha`", async () => {
    const mid = commits[150]!;
    const until = mid.commit.committer.date as string;
    const older = (await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/commits?until=${until}&per_page=100`, AUTH)).rows;
    expect(older.map((x) => x.sha)).toEqual(commits.filter((x) => Date.parse(x.commit.committer.date) <= Date.parse(until)).map((x) => x.sha));
    const newer = (await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/commits?since=${until}&per_page=100`, AUTH)).rows;
    expect(newer.map((x) => x.sha)).toEqual(commits.filter((x) => Date.parse(x.commit.committer.date) >= Date.parse(until)).map((x) => x.sha));
    const from = (await c.json(`/repos/${fn}/commits?sha=${mid.sha}&per_page=5`)).body as Row[];
    expect(from.map((x) => x.sha)).toEqual(commits.slice(150, 155).map((x) => x.sha));
    expect((await c.get(`/repos/${fn}/commits?sha=deadbeefdeadbeef`)).status).toBe(404);
  });

  it("answers 409 Git Repository is empty for the empty repository", async () => {
    const { res, body } = await c.json("/repos/octo-sim/empty-repo/commits");
    expect(res.status).toBe(409);
    expect(body).toEqual({ message: "Git Repository is empty.", documentation_url: "https://docs.github.com/rest/commits/commits#list-commits", status: "409" });
    expect(res.headers.get("x-ratelimit-remaining")).not.toBeNull();
  });
});

describe("stargazers", () => {
  it("lists {starred_at, user} with the star media type and plain users otherwise, oldest first", async () => {
    const c = client();
    const fn = biggest(c.sim.truth());
    const star = await c.json(`/repos/${fn}/stargazers?per_page=100`, STAR);
    expect(star.res.status).toBe(200);
    const rows = star.body as Row[];
    expect(rows).toHaveLength(100);
    for (const r of rows) expect(Object.keys(r).sort()).toEqual(["starred_at", "user"]);
    const times = rows.map((r) => Date.parse(r.starred_at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const plain = (await c.json(`/repos/${fn}/stargazers?per_page=100`)).body as Row[];
    expect(plain.map((u) => u.id)).toEqual(rows.map((r) => r.user.id));
    expect(plain[0]).toMatchObject({ login: expect.any(String), id: expect.any(Number), type: "User" });
    const all = await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/stargazers?per_page=100`, { ...AUTH, ...STAR });
    expect(new Set(all.rows.map((r) => r.user.id)).size).toBe(all.rows.length);
    expect(all.rows.map((r) => r.user.id)).toEqual(c.sim.truth().tables.stargazers[fn]);
  });

  it("answers 403 restricted for private-stars: not a rate limit (no retry-after, quota left, no violation)", async () => {
    const c = client();
    const { res, body } = await c.json("/repos/sim-org/private-stars/stargazers", STAR);
    expect(res.status).toBe(403);
    expect(body).toEqual({
      message: "You do not have permission to view the stargazers of this repository",
      documentation_url: "https://docs.github.com/rest/activity/starring#list-stargazers",
      status: "403",
    });
    expect(res.headers.get("retry-after")).toBeNull();
    expect(Number(res.headers.get("x-ratelimit-remaining"))).toBeGreaterThan(0);
    expect(c.sim.stats().violations.total).toBe(0);
    // Its other resources are served normally.
    expect((await c.get("/repos/sim-org/private-stars/issues?state=all")).status).toBe(200);
  });

  it("refuses pages past the stargazer page cap with 422 and stops rel=last at the cap", async () => {
    const c = client({ stargazerPageCap: 2 });
    const fn = biggest(c.sim.truth());
    const first = await c.get(`/repos/${fn}/stargazers?per_page=100`, STAR);
    expect(parseLink(first.headers.get("link")).last).toMatch(/[?&]page=2$/);
    const over = await c.json(`/repos/${fn}/stargazers?per_page=100&page=3`, STAR);
    expect(over.res.status).toBe(422);
    expect(over.body.message).toMatch(/^In order to keep the API fast for everyone, pagination is limited for this resource/);
    const truth = c.sim.truth();
    expect(truth.coverage[fn]!.stargazers).toBe("partial");
    expect(truth.tables.stargazers[fn]).toHaveLength(200);
  });
});

describe("releases and workflow runs", () => {
  const c = client();
  let fn: string;
  beforeAll(() => {
    fn = biggest(c.sim.truth());
  });

  it("lists releases newest first; drafts have no published_at", async () => {
    const rows = (await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/releases?per_page=100`, AUTH)).rows;
    expect(rows.length).toBeGreaterThan(0);
    const created = rows.map((r) => Date.parse(r.created_at));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    for (const r of rows) {
      expect(r).toMatchObject({ id: expect.any(Number), tag_name: expect.any(String), draft: expect.any(Boolean), prerelease: expect.any(Boolean), author: { login: expect.any(String), id: expect.any(Number) }, target_commitish: expect.any(String) });
      expect(r.published_at === null).toBe(r.draft);
    }
    expect(new Set(rows.map((r) => r.tag_name)).size).toBe(rows.length);
  });

  it("wraps workflow runs in {total_count, workflow_runs}, newest first, conclusion null unless completed", async () => {
    const first = await c.json(`/repos/${fn}/actions/runs?per_page=100`);
    expect(Object.keys(first.body).sort()).toEqual(["total_count", "workflow_runs"]);
    const total = first.body.total_count as number;
    expect(total).toBe(c.sim.truth().tables.workflow_runs[fn]!.length);
    const rows = (await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/actions/runs?per_page=100`, AUTH, (b) => (b as Row).workflow_runs)).rows;
    expect(rows).toHaveLength(total);
    const created = rows.map((r) => Date.parse(r.created_at));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    for (const r of rows) {
      expect(r).toMatchObject({ id: expect.any(Number), name: expect.any(String), run_number: expect.any(Number), run_attempt: expect.any(Number), event: expect.any(String), status: expect.any(String), head_branch: expect.any(String), head_sha: expect.stringMatching(/^[0-9a-f]{40}$/), workflow_id: expect.any(Number), actor: { login: expect.any(String), id: expect.any(Number) } });
      expect(r.conclusion === null).toBe(r.status !== "completed");
      expect(Date.parse(r.run_started_at)).toBeGreaterThanOrEqual(Date.parse(r.created_at));
      expect(Date.parse(r.updated_at)).toBeGreaterThanOrEqual(Date.parse(r.run_started_at));
    }
    expect(rows.some((r) => r.id > 2 ** 32)).toBe(true);
  });

  it("caps filtered run listings (total_count stays the real count)", async () => {
    const capped = client({ actionsFilterCap: 50 });
    const all = (await capped.json(`/repos/${fn}/actions/runs?per_page=100&event=push`)).body;
    expect(all.total_count).toBeGreaterThan(50);
    const w = await walkPages<Row>(capped.fetchFn, `${ORIGIN}/repos/${fn}/actions/runs?per_page=20&event=push`, AUTH, (b) => (b as Row).workflow_runs);
    expect(w.rows).toHaveLength(50);
    expect(w.rows.every((r) => r.event === "push")).toBe(true);
    // Without a filter there is no cap.
    const unfiltered = (await capped.json(`/repos/${fn}/actions/runs?per_page=100`)).body;
    expect(unfiltered.workflow_runs).toHaveLength(100);
  });

  it("filters runs by status/conclusion and created ranges", async () => {
    const rows = (await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/actions/runs?per_page=100`, AUTH, (b) => (b as Row).workflow_runs)).rows;
    const success = (await c.json(`/repos/${fn}/actions/runs?status=success&per_page=100`)).body;
    expect(success.total_count).toBe(rows.filter((r) => r.conclusion === "success").length);
    const day = (rows[10]!.created_at as string).slice(0, 10);
    const onDay = (await c.json(`/repos/${fn}/actions/runs?created=${day}&per_page=100`)).body;
    expect(onDay.total_count).toBe(rows.filter((r) => (r.created_at as string).startsWith(day)).length);
    const after = (await c.json(`/repos/${fn}/actions/runs?created=>=${day}&per_page=100`)).body;
    expect(after.total_count).toBe(rows.filter((r) => (r.created_at as string).slice(0, 10) >= day).length);
  });
});

describe("special repositories", () => {
  const c = client();

  it("vanished-repo is listed but 404 everywhere, also through /repositories/{id}", async () => {
    const listed = ((await c.json("/user/repos?per_page=100")).body as Row[]).find((r) => r.name === "vanished-repo")!;
    expect(listed).toBeDefined();
    for (const p of ["", "/issues", "/pulls", "/commits", "/stargazers", "/releases", "/actions/runs", "/issues/1/reactions"]) {
      expect((await c.get(`/repos/sim-org/vanished-repo${p}`)).status, p).toBe(404);
      expect((await c.get(`/repositories/${listed.id}${p}`)).status, p).toBe(404);
    }
  });

  it("empty-repo answers empty lists everywhere but commits", async () => {
    for (const p of ["/issues?state=all", "/pulls?state=all", "/stargazers", "/releases"]) {
      const { res, body } = await c.json(`/repos/octo-sim/empty-repo${p}`);
      expect(res.status).toBe(200);
      expect(body).toEqual([]);
    }
    expect((await c.json("/repos/octo-sim/empty-repo/actions/runs")).body).toEqual({ total_count: 0, workflow_runs: [] });
  });

  it("special: false leaves them out", () => {
    const names = new GitHubSimulator({ special: false }).truth().repositories.map((r) => r.full_name);
    expect(names.some((n) => /empty-repo|vanished-repo|private-stars/.test(n))).toBe(false);
    expect(names).toHaveLength(6);
  });
});

describe("ETags and conditional requests", () => {
  it("sends a strong SHA-256 ETag; If-None-Match answers 304 without body and without spending quota", async () => {
    const c = client();
    const res = await c.get("/user/repos?per_page=100");
    const text = await res.text();
    expect(res.headers.get("etag")).toBe(`"${sha256(text)}"`);
    const etag = res.headers.get("etag")!;
    c.sim.resetStats();
    const before = c.sim.stats().perUser["octo-sim"]!.used;
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`]) {
      const again = await c.get("/user/repos?per_page=100", { "if-none-match": inm });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe("");
      expect(again.headers.get("etag")).toBe(etag);
      expect(again.headers.get("x-ratelimit-used")).toBe(String(before));
    }
    const s = c.sim.stats();
    expect(s.notModified).toBe(3);
    expect(s.counted).toBe(0);
    expect(s.perUser["octo-sim"]!.used).toBe(before);
    const stale = await c.get("/user/repos?per_page=100", { "if-none-match": '"stale"' });
    expect(stale.status).toBe(200);
  });

  it("gives different pages different ETags, and a mutation changes the ETag of affected pages", async () => {
    let t = Date.UTC(2026, 11, 4, 12);
    const c = client({ now: () => t });
    const fn = biggest(c.sim.truth());
    const p1 = await c.get(`/repos/${fn}/issues?state=all&per_page=100`);
    const p2 = await c.get(`/repos/${fn}/issues?state=all&per_page=100&page=2`);
    expect(p1.headers.get("etag")).not.toBe(p2.headers.get("etag"));
    t += 60_000;
    c.sim.mutate({ addIssues: [{ repo: fn, count: 1 }] });
    const after = await c.get(`/repos/${fn}/issues?state=all&per_page=100`, { "if-none-match": p1.headers.get("etag")! });
    expect(after.status).toBe(200);
    expect(after.headers.get("etag")).not.toBe(p1.headers.get("etag"));
  });
});

describe("truth", () => {
  it("equals what a complete extraction lands; default data needs 150–300 requests", async () => {
    const c = client();
    const truth = c.sim.truth();
    const got = await extractAll(c.fetchFn, ORIGIN, "sim-token");
    expect(normalizeTruth(got.truth)).toEqual(normalizeTruth(truth));
    expect(got.requests).toBeGreaterThanOrEqual(150);
    expect(got.requests).toBeLessThanOrEqual(300);
    expect(c.sim.stats().requests).toBe(got.requests);
  });

  it("reports coverage for the special repositories and rows in every table", () => {
    const truth = new GitHubSimulator().truth();
    expect(truth.coverage["sim-org/vanished-repo"]).toEqual({
      issues: "not_found", pull_requests: "not_found", commits: "not_found", stargazers: "not_found",
      releases: "not_found", workflow_runs: "not_found", reactions: "not_found",
    });
    for (const table of Object.values(truth.tables)) expect(table).not.toHaveProperty("sim-org/vanished-repo");
    expect(truth.coverage["octo-sim/empty-repo"]!.commits).toBe("empty");
    expect(truth.tables.commits["octo-sim/empty-repo"]).toEqual([]);
    expect(truth.coverage["sim-org/private-stars"]!.stargazers).toBe("restricted");
    expect(truth.coverage["sim-org/private-stars"]!.issues).toBe("complete");
    for (const [name, table] of Object.entries(truth.tables)) {
      expect(Object.values(table).reduce((n, ids) => n + ids.length, 0), name).toBeGreaterThan(0);
    }
    const fn = biggest(truth);
    expect(truth.tables.issues[fn]!.length + truth.tables.pull_requests[fn]!.length).toBeGreaterThan(1000);
    expect(truth.tables.commits[fn]!.length).toBeGreaterThan(300);
    // ids are unique across the whole world
    for (const table of ["issues", "pull_requests", "releases", "workflow_runs", "reactions"] as const) {
      const ids = Object.values(truth.tables[table]).flat();
      expect(new Set(ids).size, table).toBe(ids.length);
    }
  });

  it("is deterministic per seed and differs between seeds", () => {
    const a = new GitHubSimulator({ seed: 7 }).truth();
    const b = new GitHubSimulator({ seed: 7 }).truth();
    const other = new GitHubSimulator({ seed: 8 }).truth();
    expect(a).toEqual(b);
    expect(other).not.toEqual(a);
  });

  it("scales: repos and scale options change the sizes", () => {
    const base = new GitHubSimulator().truth();
    const big = new GitHubSimulator({ scale: 2 }).truth();
    const many = new GitHubSimulator({ repos: 20 }).truth();
    const count = (t: SimTruth) => Object.values(t.tables.issues).flat().length;
    expect(count(big)).toBeGreaterThan(count(base) * 1.8);
    expect(many.repositories).toHaveLength(23);
  });
});

describe("mutations", () => {
  it("adds issues and PRs at the clock's time; since-queries, counts and truth see them", async () => {
    let t = Date.UTC(2026, 11, 4, 12);
    const c = client({ now: () => t });
    const fn = biggest(c.sim.truth());
    const before = c.sim.truth();
    const repoBefore = (await c.json(`/repos/${fn}`)).body;
    t += 3_600_000;
    c.sim.mutate({ addIssues: [{ repo: fn, count: 3 }], addPulls: [{ repo: fn, count: 2 }] });
    const since = new Date(t - 1000).toISOString();
    const fresh = (await c.json(`/repos/${fn}/issues?state=all&since=${since}&per_page=100`)).body as Row[];
    expect(fresh).toHaveLength(5);
    expect(fresh.filter((i) => i.pull_request)).toHaveLength(2);
    for (const i of fresh) expect(Date.parse(i.created_at)).toBe(Math.floor(t / 1000) * 1000);
    const newest = (await c.json(`/repos/${fn}/issues?state=all&per_page=5`)).body as Row[];
    expect(newest.map((i) => i.number).sort()).toEqual(fresh.map((i) => i.number).sort());
    const after = c.sim.truth();
    expect(after.tables.issues[fn]!.length).toBe(before.tables.issues[fn]!.length + 3);
    expect(after.tables.pull_requests[fn]!.length).toBe(before.tables.pull_requests[fn]!.length + 2);
    const repoAfter = (await c.json(`/repos/${fn}`)).body;
    expect(repoAfter.open_issues_count).toBe(repoBefore.open_issues_count + 5);
    expect(Date.parse(repoAfter.updated_at)).toBe(Math.floor(t / 1000) * 1000);
    expect(Date.parse(repoAfter.pushed_at)).toBe(Math.floor(t / 1000) * 1000);
  });

  it("adds commits (an empty repository stops answering 409), stars, releases and runs", async () => {
    let t = Date.UTC(2026, 11, 4, 12);
    const c = client({ now: () => t });
    t += 1000;
    c.sim.mutate({
      addCommits: [{ repo: "octo-sim/empty-repo", count: 2 }],
      addStars: [{ repo: "empty-repo", count: 4 }],
      addReleases: [{ repo: "empty-repo", count: 1 }],
      addWorkflowRuns: [{ repo: "empty-repo", count: 3 }],
    });
    const commits = await c.json("/repos/octo-sim/empty-repo/commits");
    expect(commits.res.status).toBe(200);
    expect(commits.body).toHaveLength(2);
    expect((await c.json("/repos/octo-sim/empty-repo/stargazers", STAR)).body).toHaveLength(4);
    expect((await c.json("/repos/octo-sim/empty-repo/releases")).body).toHaveLength(1);
    expect((await c.json("/repos/octo-sim/empty-repo/actions/runs")).body.total_count).toBe(3);
    const truth = c.sim.truth();
    expect(truth.coverage["octo-sim/empty-repo"]!.commits).toBe("complete");
    expect(truth.tables.stargazers["octo-sim/empty-repo"]).toHaveLength(4);
  });

  it("updates and closes old issues, adds reactions, deletes repositories", async () => {
    let t = Date.UTC(2026, 11, 4, 12);
    const c = client({ now: () => t });
    const fn = biggest(c.sim.truth());
    t += 5000;
    c.sim.mutate({ updateIssues: [{ repo: fn, count: 4, close: true }], addReactions: [{ repo: fn, count: 3, number: 1 }] });
    const since = new Date(t - 1000).toISOString();
    const touched = (await c.json(`/repos/${fn}/issues?state=all&since=${since}`)).body as Row[];
    expect(touched).toHaveLength(4);
    expect(touched.every((i) => i.state === "closed" && !i.pull_request)).toBe(true);
    const one = (await c.json(`/repos/${fn}/issues/1`)).body;
    const reactions = (await walkPages<Row>(c.fetchFn, `${ORIGIN}/repos/${fn}/issues/1/reactions?per_page=100`, AUTH)).rows;
    expect(reactions.length).toBe(one.reactions.total_count);
    expect(reactions.length).toBeGreaterThanOrEqual(3);
    c.sim.mutate({ deleteRepos: [fn] });
    expect((await c.get(`/repos/${fn}`)).status).toBe(404);
    expect(((await c.json("/user/repos?per_page=100")).body as Row[]).some((r) => r.full_name === fn)).toBe(false);
    expect(c.sim.truth().repositories.some((r) => r.full_name === fn)).toBe(false);
  });

  it("rejects unknown repositories", () => {
    const sim = new GitHubSimulator();
    expect(() => sim.mutate({ addIssues: [{ repo: "nobody/nothing", count: 1 }] })).toThrow(/unknown/);
  });
});

describe("robustness", () => {
  it("answers malformed paths with 404 rather than throwing", async () => {
    const c = client();
    expect((await c.get("/repos/%E0%A4%A/x")).status).toBe(404);
    expect((await c.get("/repositories/abc/issues")).status).toBe(404);
    expect((await c.get("/repos/octo-sim")).status).toBe(404);
  });
});
