import { env, exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, it, vi } from "vitest";
import { nextMessage } from "../helpers";

const ADMIN = { Authorization: `Bearer ${env.ADMIN_TOKEN}` };
const call = (path: string, init: RequestInit = {}) => exports.default.fetch(new Request(`https://lake.test${path}`, init));
const post = (body: string, headers: Record<string, string> = {}) =>
  call("/runs", { method: "POST", body, headers: { ...ADMIN, "Content-Type": "application/json", ...headers } });

// Runs started here discover through a GitHub that lists no repositories, so they end at once and touch nothing.
beforeAll(() => {
  vi.spyOn(globalThis, "fetch").mockImplementation(async () =>
    Response.json([], { headers: { "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999", "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600), "x-ratelimit-used": "1", "x-ratelimit-resource": "core" } }));
});
afterAll(() => vi.restoreAllMocks());

describe("admin API: authentication", () => {
  it("answers /health without a token", async ({ expect }) => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true });
  });

  it.for([
    ["no header", {}],
    ["a wrong token", { Authorization: "Bearer nope" }],
    ["the right token with another scheme", { Authorization: `Basic ${env.ADMIN_TOKEN}` }],
    ["a token that is a prefix of the right one", { Authorization: `Bearer ${env.ADMIN_TOKEN.slice(0, -1)}` }],
  ] as const)("refuses %s with 401 JSON on every admin route", async ([, headers], { expect }) => {
    for (const [method, path] of [["GET", "/runs"], ["POST", "/runs"], ["GET", "/ratelimit"], ["GET", "/runs/20261204T020000Z-abcd"], ["GET", "/lake"]] as const) {
      const res = await call(path, { method, headers });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(((await res.json()) as { error: string }).error).toMatch(/admin token/);
    }
  });
});

describe("admin API: POST /runs validation", () => {
  it.for([
    ["malformed JSON", "{", /malformed JSON/],
    ["a JSON array", "[]", /JSON object/],
    ["an unknown field", '{"repo": ["a/b"]}', /unknown field/],
    ["an unknown resource", '{"resources": ["issues", "wikis"]}', /unknown resource.*wikis/],
    ["an empty resource list", '{"resources": []}', /non-empty/],
    ["a path-traversal repository", '{"repos": ["../x"]}', /invalid repository/],
    ["a repository with two slashes", '{"repos": ["a/b/c"]}', /invalid repository/],
    ["a repository named ..", '{"repos": ["octo/.."]}', /invalid repository/],
    ["a non-string repository", '{"repos": [42]}', /invalid repository/],
    ["unicode in a name", '{"repos": ["octo/r\u00e9po"]}', /invalid repository/],
    ["an owner starting with a hyphen", '{"repos": ["-octo/repo"]}', /invalid repository/],
  ] as const)("rejects %s with 400 and a clear message", async ([, body, message], { expect }) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
  });

  it("rejects an oversized body with 413", async ({ expect }) => {
    const res = await post(JSON.stringify({ repos: Array.from({ length: 5000 }, (_, i) => `octo/repo-${i}-${"x".repeat(20)}`) }));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toMatch(/larger than/);
  });

  it("accepts a valid request with 202 and a run id, and the run can be read back", async ({ expect }) => {
    const res = await post(JSON.stringify({ repos: ["octo-org/my_repo.js", "a/b"], resources: ["issues", "commits"] }));
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    expect(runId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{4}$/);
    const status = await call(`/runs/${runId}`, { headers: ADMIN });
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ runId, resources: ["issues", "commits"] });
    const list = (await (await call("/runs", { headers: ADMIN })).json()) as { runs: Array<{ runId: string }> };
    expect(list.runs.map((r) => r.runId)).toContain(runId);
  });

  it("treats an empty body as 'everything'", async ({ expect }) => {
    const res = await post("");
    expect(res.status).toBe(202);
  });
});

describe("admin API: reading", () => {
  it("answers 404 JSON for unknown or malformed run ids", async ({ expect }) => {
    for (const id of ["20261204T020000Z-ffff", "nope", "..%2F..%2Fetc"]) {
      const res = await call(`/runs/${id}`, { headers: ADMIN });
      expect(res.status, id).toBe(404);
      expect(((await res.json()) as { error: string }).error).toMatch(/not found/);
    }
  });

  it("answers 404 JSON for unknown routes", async ({ expect }) => {
    const res = await call("/nope", { headers: ADMIN });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/json");
  });

  it("shows every bucket's state in /ratelimit without the token", async ({ expect }) => {
    const res = await call("/ratelimit", { headers: ADMIN });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(env.GITHUB_TOKEN);
    const body = JSON.parse(text) as { buckets: Array<{ name: string; maxConcurrent: number }> };
    expect(body.buckets).toHaveLength(1);
    expect(body.buckets[0]!.name).toMatch(/^tok:[0-9a-f]{16}$/);
  });

  it("serves lake objects only under the lake prefix", async ({ expect }) => {
    await env.LAKE.put("sources/github/issues/x.parquet", "PAR1");
    await env.LAKE.put("secrets/other.txt", "no");
    expect(await (await call("/lake/sources/github/issues/x.parquet", { headers: ADMIN })).text()).toBe("PAR1");
    expect((await call("/lake/secrets/other.txt", { headers: ADMIN })).status).toBe(404);
    expect((await call("/lake?prefix=secrets/", { headers: ADMIN })).status).toBe(400);
    const listing = (await (await call("/lake?prefix=sources/github/issues/", { headers: ADMIN })).json()) as { objects: Array<{ key: string }> };
    expect(listing.objects.map((o) => o.key)).toEqual(["sources/github/issues/x.parquet"]);
  });

  it("opens the live feed for an authenticated upgrade and sends a snapshot first", async ({ expect }) => {
    const { runId } = (await (await post('{"repos": ["a/b"], "resources": ["releases"]}')).json()) as { runId: string };
    const res = await call(`/runs/${runId}/ws`, { headers: { ...ADMIN, Upgrade: "websocket" } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    const first = nextMessage(ws);
    ws.accept();
    expect(JSON.parse(await first)).toMatchObject({ type: "snapshot", run: { runId } });
    ws.close();
  });

  it("refuses an unauthenticated WebSocket upgrade", async ({ expect }) => {
    const res = await call("/runs/20261204T020000Z-abcd/ws", { headers: { Upgrade: "websocket" } });
    expect(res.status).toBe(401);
    expect(res.webSocket).toBeFalsy();
  });

  it("refuses a plain GET on the WebSocket route with 426", async ({ expect }) => {
    const res = await call("/runs/20261204T020000Z-abcd/ws", { headers: ADMIN });
    expect(res.status).toBe(426);
  });
});
