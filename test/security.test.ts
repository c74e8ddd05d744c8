/** Security specs: no token ever leaves (logs, errors, API answers, R2 objects, WebSocket messages), no repository
 *  name GitHub could return steers an R2 key out of its prefix, WebSocket upgrades need the admin token or a live
 *  ticket, and CORS is closed unless CORS_ORIGINS opens it to named origins. */
import { runInDurableObject } from "cloudflare:test";
import { tableFromIPC } from "apache-arrow";
import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import init, { readParquet } from "parquet-wasm/esm";
import wasm from "parquet-wasm/esm/parquet_wasm_bg.wasm";
import { afterEach, beforeAll, describe, it, vi } from "vitest";
import { LAKE_PREFIX, partKey } from "../src/lake/keys";
import { RESOURCES } from "../src/lake/schemas";
import worker from "../src/index";
import { makeTokens, runChaos } from "./chaos/harness";

const ADMIN = { Authorization: `Bearer ${env.ADMIN_TOKEN}` };
const call = (path: string, init: RequestInit = {}) => exports.default.fetch(new Request(`https://lake.test${path}`, init));
const coordinator = () => env.RUN_COORDINATOR.getByName("coordinator");

beforeAll(async () => {
  await init({ module_or_path: wasm });
});
afterEach(() => vi.restoreAllMocks());

/** Every R2 object, as text a token could hide in: raw bytes (latin1) and, for Parquet, every cell of every column. */
async function lakeText(): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const listed = await env.LAKE.list({ cursor, limit: 1000 });
    for (const { key } of listed.objects) {
      const bytes = new Uint8Array(await (await env.LAKE.get(key))!.arrayBuffer());
      out.push(key, new TextDecoder("latin1").decode(bytes));
      if (key.endsWith(".parquet")) {
        const table = tableFromIPC(readParquet(bytes).intoIPCStream());
        out.push(JSON.stringify(table.toArray().map((r) => r.toJSON()), (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)));
      }
    }
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
  return out;
}

/** Where any of `secrets` (or a 16-character piece of one) shows up in `haystack`. */
function leaks(secrets: string[], haystack: Array<{ where: string; text: string }>): string[] {
  const needles = secrets.flatMap((s) => [s, s.slice(-16), s.replace(/^ghp_/, "").slice(0, 16)]);
  return haystack.flatMap(({ where, text }) => needles.filter((n) => text.includes(n)).map((n) => `${where} contains ${n.slice(0, 6)}…`));
}

describe("no token ever appears", () => {
  it("in a log line, an error, an API answer, an R2 object or a WebSocket message, whatever GitHub answers", async ({ expect }) => {
    const logged: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map((a) => (a instanceof Error ? `${a.name}: ${a.message} ${a.stack}` : typeof a === "string" ? a : JSON.stringify(a))).join(" ")));
    }
    const tokens = makeTokens(11);
    const answers: Array<{ where: string; text: string }> = [];
    const frames: string[] = [];
    const sockets: WebSocket[] = [];
    const sweep = async (runId: string) => {
      const get = async (path: string, init: RequestInit = {}) => {
        const res = await call(path, { ...init, headers: { ...ADMIN, ...(init.headers as Record<string, string> | undefined) } });
        const body = res.status === 101 ? "" : new TextDecoder("latin1").decode(await res.arrayBuffer());
        answers.push({ where: `${init.method ?? "GET"} ${path} → ${res.status}`, text: `${[...res.headers].join("\n")}\n${body}` });
        return res;
      };
      for (const path of ["/health", "/", "/runs", `/runs/${runId}`, `/runs/${runId}/repositories`, "/ratelimit", "/lake", "/runs/20260101T000000Z-0000", "/nope"]) await get(path);
      await get(`/runs/${runId}/ws-ticket`, { method: "POST" });
      await get(`/runs/${runId}/retry`, { method: "POST" }); // the failed tasks are sent again (to a queue nobody reads)…
      await get(`/runs/${runId}/cancel`, { method: "POST" }); // …so the reopened run is ended here
      await get("/runs", { method: "POST", body: '{"repos": ["../x"]}' });
      await get("/runs", { headers: { Authorization: `Bearer ${tokens.a}` } }); // a GitHub token is not the admin token
      const listed = (await (await call(`/lake?prefix=${LAKE_PREFIX}/`, { headers: ADMIN })).json()) as { objects: Array<{ key: string }> };
      for (const { key } of listed.objects) await get(`/lake/${key.split("/").map(encodeURIComponent).join("/")}`);
    };
    await runChaos({
      label: "security",
      seed: 11,
      tokens,
      sim: { repos: 3 },
      // Besides the usual faults, a proxy that echoes the request — Authorization included — in its error pages.
      github: (t, victim) => ({
        seed: 11, serverErrorRate: 0.05, resetRate: 0.02, truncateRate: 0.02, nonJsonRate: 0.02, reflectRate: 0.05, quietFirst: 6,
        faultAt: { 12: "reflect", 30: "reflect" },
        secondaryBursts: [{ atRequest: 20, length: 1, retryAfterSeconds: 1, token: t.d }],
        deleteRepo: { repo: victim }, revoke: [{ token: t.a, atRequest: 25 }],
      }),
      platform: {
        consumers: 2, batchSize: 10, maxRetries: 5, duplicateRate: 0.1, redeliverRate: 0.05, crashRate: 0, crashWithin: 1,
        reportFailRate: 0.03, reportAnswerLostRate: 0.03, claimFailRate: 0.02, r2FailRate: 0.03, r2FailAfterWriteRate: 0.02,
        manifestFailRate: 0.3, queueSendFailRate: 0.02, coordinatorRestartEvery: 6, bucketRestartEvery: 5, registryRestartEvery: 7, retryDelayScale: 0.02,
      },
      timeoutMs: 90_000,
      onRunStarted: async (runId) => {
        for (const init of [{ headers: { Upgrade: "websocket", ...ADMIN } }]) {
          const res = await call(`/runs/${runId}/ws`, init);
          const ws = res.webSocket!;
          ws.addEventListener("message", (e) => void frames.push(String(e.data)));
          ws.accept();
          sockets.push(ws);
        }
        const { url } = (await (await call(`/runs/${runId}/ws-ticket`, { method: "POST", headers: ADMIN })).json()) as { url: string };
        const ws = (await call(url, { headers: { Upgrade: "websocket" } })).webSocket!;
        ws.addEventListener("message", (e) => void frames.push(String(e.data)));
        ws.accept();
        sockets.push(ws);
      },
      onRunEnded: sweep,
    });
    for (const ws of sockets) ws.close();
    vi.restoreAllMocks();

    const secrets = [...tokens.all, env.ADMIN_TOKEN];
    const found = leaks(secrets, [
      ...logged.map((text, i) => ({ where: `log line ${i}: ${text.slice(0, 120)}`, text })),
      ...answers,
      ...(await lakeText()).map((text, i) => ({ where: `R2 object ${i}`, text })),
      ...frames.map((text, i) => ({ where: `WebSocket message ${i}`, text })),
    ]);
    expect(found).toEqual([]);
    // The capture saw what it should have: errors in the log, failed tasks in the API, progress on the feed.
    expect(logged.some((l) => l.includes('"level":"error"'))).toBe(true);
    expect(answers.some((a) => a.text.includes('"state":"failed"'))).toBe(true);
    expect(frames.some((f) => f.includes('"type":"completed"'))).toBe(true);
  });
});

describe("repository names GitHub could return", () => {
  const HOSTILE: Array<[owner: string, name: string]> = [
    ["..", ".."], ["a", "../../../etc/passwd"], ["a/b", "c"], ["ünïcødé", "🚀-rocket"], ["o", "x".repeat(300)], ["%2F", "%2e%2e"],
    ["a\\b", "c\\d"], [".", "."], ["sources", "..%2F..%2Fsecret"], ["a_b", "c"], ["a", "b_c"], ["CON", "nul"], ["o\u0000", "r\n\r"],
  ];

  /** A GitHub whose repository list holds the names above; each repository has one release. */
  function hostileGitHub(): void {
    let id = 1000;
    const repos = HOSTILE.map(([owner, name]) => ({ id: ++id, name, full_name: `${owner}/${name}`, owner: { login: owner, id: 1 }, private: false, fork: false, archived: false, open_issues_count: 0, stargazers_count: 0, pushed_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z", created_at: "2025-01-01T00:00:00Z" }));
    const headers = { "content-type": "application/json", "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4000", "x-ratelimit-used": "1000", "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600), "x-ratelimit-resource": "core" };
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(new Request(input, init).url);
      if (url.pathname === "/user") return Response.json({ login: "hostile", id: 424242 }, { headers });
      if (url.pathname === "/user/repos") return Response.json(repos, { headers });
      const m = /^\/repos\/([^/]+)\/([^/]+)\/releases$/.exec(url.pathname);
      if (m) {
        const owner = decodeURIComponent(m[1]!);
        const name = decodeURIComponent(m[2]!);
        const repo = repos.find((r) => r.owner.login === owner && r.name === name);
        if (!repo) return Response.json({ message: `Not Found ${url.pathname}` }, { status: 404, headers });
        return Response.json([{ id: repo.id * 10, tag_name: "v1", name: "one", draft: false, prerelease: false, created_at: "2026-01-01T00:00:00Z", published_at: "2026-01-01T00:00:00Z", author: { login: owner, id: 1 } }], { headers });
      }
      return Response.json({ message: `Not Found ${url.pathname}` }, { status: 404, headers });
    });
  }

  it("land under their resource's partition, each repository in its own file, and the names survive in the rows", async ({ expect }) => {
    hostileGitHub();
    const res = await call("/runs", { method: "POST", headers: ADMIN, body: JSON.stringify({ resources: ["repositories", "releases"], mode: "full" }) });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    let status = (await coordinator().status(runId))!;
    for (let i = 0; i < 600 && status.status === "running"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await coordinator().status(runId))!;
    }
    // "." and ".." cannot be a URL path segment (URL parsers resolve them, escaped or not): those repositories' API
    // paths resolve elsewhere on the same origin and answer 404 — recorded, and GitHub never names a repository so.
    const dotted = HOSTILE.filter(([o, n]) => [o, n].some((x) => x === "." || x === "..")).map(([o, n]) => `${o}/${n}`);
    expect(status.status).toBe("completed_with_errors");
    expect([...new Set(status.errors.map((e) => e.repository))].sort()).toEqual(dotted.sort());
    expect(status.errors.every((e) => e.coverage === "not_found")).toBe(true);
    const releases = status.files.filter((f) => f.resource === "releases");
    expect(releases).toHaveLength(HOSTILE.length - dotted.length); // one file per repository: no two names collide into one key
    for (const f of status.files) {
      const parts = f.key.split("/");
      expect(f.key.startsWith(`${LAKE_PREFIX}/${f.resource}/year=`), f.key).toBe(true);
      expect(parts, f.key).toHaveLength(7); // sources/github/{resource}/year=/month=/day=/{file}
      expect(parts.some((p) => p === "." || p === ".." || p === ""), f.key).toBe(false);
      expect(f.key, f.key).not.toMatch(/[\\\u0000-\u001f]/);
      expect(new TextEncoder().encode(f.key).byteLength).toBeLessThanOrEqual(1024);
    }
    const rows = await Promise.all(releases.map(async (f) => {
      const table = tableFromIPC(readParquet(new Uint8Array(await (await env.LAKE.get(f.key))!.arrayBuffer())).intoIPCStream());
      return `${table.getChild("repository_owner")!.get(0)}/${table.getChild("repository_name")!.get(0)}`;
    }));
    expect(rows.sort()).toEqual(HOSTILE.map(([o, n]) => `${o}/${n}`).filter((r) => !dotted.includes(r)).sort());
    const listed = status.files.filter((f) => f.resource === "repositories");
    let names = 0;
    for (const f of listed) names += tableFromIPC(readParquet(new Uint8Array(await (await env.LAKE.get(f.key))!.arrayBuffer())).intoIPCStream()).numRows;
    expect(names).toBe(HOSTILE.length); // the repositories table has every one of them, dotted or not
  });

  it("never make a key leave its prefix, or two different repositories share one (2,000 random names)", () => {
    const name = fc.oneof(fc.string({ unit: "binary", maxLength: 120 }), fc.constantFrom("..", ".", "", "/", "_all", "%2F", "~"), fc.string({ unit: "grapheme", maxLength: 400 }));
    fc.assert(fc.property(fc.constantFrom(...RESOURCES), name, name, name, name, fc.nat(20_000), (resource, o1, r1, o2, r2, part) => {
      const key = (owner: string, repo: string) => partKey({ resource, runId: "20261204T020000Z-7f3a", runStartedAt: "2026-12-04T02:00:00Z", owner, repo, part });
      const k = key(o1, r1);
      const parts = k.split("/");
      if (!k.startsWith(`${LAKE_PREFIX}/${resource}/year=2026/month=12/day=04/`) || parts.length !== 7) return false;
      if (parts.some((p) => p === "." || p === "..")) return false;
      if (new TextEncoder().encode(k).byteLength > 1024) return false;
      return o1 === o2 && r1 === r2 ? k === key(o2, r2) : k !== key(o2, r2);
    }), { numRuns: 2_000 });
  });
});

describe("WebSocket upgrades", () => {
  it("are refused without the admin token or a live ticket of that very run", async ({ expect }) => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => Response.json([], { headers: { "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999", "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600) } }));
    const start = async () => ((await (await call("/runs", { method: "POST", headers: ADMIN, body: '{"repos": ["octo/a"], "resources": ["releases"]}' })).json()) as { runId: string }).runId;
    const [runA, runB] = [await start(), await start()];
    const ticket = async (runId: string) => ((await (await call(`/runs/${runId}/ws-ticket`, { method: "POST", headers: ADMIN })).json()) as { ticket: string }).ticket;
    const upgrade = (path: string, headers: Record<string, string> = {}) => call(path, { headers: { Upgrade: "websocket", ...headers } });

    const expired = await ticket(runA);
    await runInDurableObject(coordinator(), (_i, state) => void state.storage.sql.exec("UPDATE ticket SET expires_at = 0"));
    const refused: Array<[string, Promise<Response>]> = [
      ["no credentials", upgrade(`/runs/${runA}/ws`)],
      ["a wrong token", upgrade(`/runs/${runA}/ws`, { Authorization: "Bearer nope" })],
      ["an empty bearer", upgrade(`/runs/${runA}/ws`, { Authorization: "Bearer " })],
      ["the admin token as Basic", upgrade(`/runs/${runA}/ws`, { Authorization: `Basic ${env.ADMIN_TOKEN}` })],
      ["the admin token in the query", upgrade(`/runs/${runA}/ws?token=${env.ADMIN_TOKEN}`)],
      ["a forged ticket", upgrade(`/runs/${runA}/ws?ticket=${"0".repeat(48)}`)],
      ["an empty ticket", upgrade(`/runs/${runA}/ws?ticket=`)],
      ["an expired ticket", upgrade(`/runs/${runA}/ws?ticket=${expired}`)],
      ["a ticket of another run", upgrade(`/runs/${runA}/ws?ticket=${await ticket(runB)}`)],
      ["a live ticket with a wrong token beside it", upgrade(`/runs/${runA}/ws?ticket=${await ticket(runA)}`, { Authorization: "Bearer nope" })],
      ["a trailing slash", upgrade(`/runs/${runA}/ws/?ticket=${await ticket(runA)}`)],
    ];
    for (const [why, pending] of refused) {
      const res = await pending;
      expect(res.status, why).toBeGreaterThanOrEqual(400);
      expect(res.status, why).toBeLessThan(500);
      expect(res.webSocket, why).toBeNull();
      expect(res.headers.get("content-type"), why).toContain("application/json");
    }
    const once = await ticket(runA);
    const ok = await upgrade(`/runs/${runA}/ws?ticket=${once}`);
    expect(ok.status).toBe(101);
    ok.webSocket!.accept();
    ok.webSocket!.close();
    expect((await upgrade(`/runs/${runA}/ws?ticket=${once}`)).status).toBe(401); // single use
    for (const runId of [runA, runB]) await call(`/runs/${runId}/cancel`, { method: "POST", headers: ADMIN }); // no work left behind
  });
});

describe("CORS", () => {
  const ORIGIN = "https://dashboard.example";
  const routes: Array<[string, string, Record<string, string>]> = [["GET", "/health", {}], ["GET", "/", {}], ["GET", "/runs", ADMIN], ["GET", "/ratelimit", ADMIN], ["POST", "/runs", {}], ["GET", "/nope", ADMIN]];
  const cors = (res: Response) => [...res.headers].filter(([k]) => k.startsWith("access-control-"));

  it("is closed by default: no Access-Control header on any answer, and a preflight is refused", async ({ expect }) => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => Response.json([]));
    for (const [method, path, headers] of routes) {
      const res = await call(path, { method, headers: { ...headers, Origin: ORIGIN } });
      expect(cors(res), `${method} ${path}`).toEqual([]);
    }
    const preflight = await call("/runs", { method: "OPTIONS", headers: { Origin: ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization" } });
    expect(preflight.status).toBeGreaterThanOrEqual(400);
    expect(cors(preflight)).toEqual([]);
  });

  it("opens only to the origins CORS_ORIGINS names, and never lets the token be skipped", async ({ expect }) => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => Response.json([]));
    const configured = { ...env, CORS_ORIGINS: `${ORIGIN}, https://other.example` } as Env;
    const fetchWith = (path: string, init: RequestInit) => worker.fetch(new Request(`https://lake.test${path}`, init) as Request<unknown, IncomingRequestCfProperties>, configured, { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext);
    const preflight = await fetchWith("/runs", { method: "OPTIONS", headers: { Origin: ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(preflight.headers.get("access-control-allow-credentials")).toBeNull();
    const runs = await fetchWith("/runs", { headers: { ...ADMIN, Origin: ORIGIN } });
    expect(runs.status).toBe(200);
    expect(runs.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(runs.headers.get("vary")).toContain("Origin");
    const noToken = await fetchWith("/runs", { headers: { Origin: ORIGIN } });
    expect(noToken.status).toBe(401); // CORS lets the browser read the answer; it never replaces the token
    for (const origin of ["https://evil.example", "null", `${ORIGIN}.evil.example`, "https://dashboard.example:8443", "http://dashboard.example"]) {
      const res = await fetchWith("/runs", { headers: { ...ADMIN, Origin: origin } });
      expect(cors(res), origin).toEqual([]);
      const pre = await fetchWith("/runs", { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "POST" } });
      expect(cors(pre), origin).toEqual([]);
    }
  });
});
