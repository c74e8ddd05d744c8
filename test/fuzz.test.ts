/** Property-based fuzzing of the admin API inside workerd (fast-check): random methods, paths (`..`, escapes, unicode,
 *  huge), headers and bodies against the Worker's own `fetch`. Every answer is a 2xx/4xx — JSON, or the dashboard page
 *  at `GET /`, or a lake object — never a 5xx, and the Worker keeps answering. 10,000 cases in all. */
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, it, vi } from "vitest";
import { RESOURCES } from "../src/lake/schemas";

const CASES = { anyRequest: 4_000, runBodies: 3_000, runRoutes: 2_000, lake: 1_000 };
const ADMIN = `Bearer ${env.ADMIN_TOKEN}`;
const SECRET = "not-for-the-admin-api-0b5f2c";
const mutableEnv = env as unknown as Record<string, unknown>;
let savedQueue: unknown;
let runId = "";

// Methods workerd accepts in a Request (it refuses unknown ones before any Worker sees them).
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PURGE", "TRACE", "COPY", "LOCK", "MKCOL", "MOVE",
  "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK", "ACL", "REPORT", "MKACTIVITY", "CHECKOUT", "MERGE", "MSEARCH", "NOTIFY",
  "SUBSCRIBE", "UNSUBSCRIBE", "QUERY", "BAN", "get", "post", "Delete"];

beforeAll(async () => {
  // GitHub lists nothing; runs the fuzzer starts are recorded but their messages go nowhere (no fetch work in the background).
  vi.spyOn(globalThis, "fetch").mockImplementation(async () =>
    Response.json([], { headers: { "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999", "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600), "x-ratelimit-used": "1", "x-ratelimit-resource": "core" } }));
  savedQueue = mutableEnv.FETCH_QUEUE;
  mutableEnv.FETCH_QUEUE = { send: async () => ({}), sendBatch: async () => ({}) };
  await env.LAKE.put("sources/github/issues/year=2026/month=01/day=01/issues_octo_a_20260101T020000Z-abcd.parquet", "PAR1…");
  await env.LAKE.put("sources/github/issues/year=2026/month=01/day=01/odd %2F name ü.parquet", "PAR1…");
  await env.LAKE.put("secret/admin.txt", SECRET); // outside the lake's prefix: no route may ever hand it out
  const res = await call("POST", "/runs", { Authorization: ADMIN }, '{"repos": ["octo/a"], "resources": ["issues"]}');
  runId = ((await res.json()) as { runId: string }).runId;
});
afterAll(async () => {
  // The runs the fuzzer started never got a consumer: end them and their watchdog, or its alarm would send them to the
  // real queue (and the network, with the mocks gone) once they look stalled.
  await runInDurableObject(env.RUN_COORDINATOR.getByName("coordinator"), async (_instance, state) => {
    state.storage.sql.exec("UPDATE run SET status = 'cancelled', finished_at = ? WHERE status = 'running'", Date.now());
    await state.storage.deleteAlarm();
  });
  mutableEnv.FETCH_QUEUE = savedQueue;
  vi.restoreAllMocks();
});

function call(method: string, path: string, headers: Record<string, string> = {}, body?: BodyInit): Promise<Response> {
  const hasBody = body !== undefined && !/^(GET|HEAD)$/i.test(method);
  return exports.default.fetch(new Request(`https://lake.test${path}`, { method, headers, body: hasBody ? body : undefined }));
}

/** The invariant: a 2xx/4xx (101 for a WebSocket), JSON unless it is the dashboard page or a lake object. */
async function checkAnswer(res: Response, method: string, path: string, upgrade = false): Promise<void> {
  const where = `${method} ${path.slice(0, 200)} → ${res.status}`;
  if (res.status === 101) {
    res.webSocket?.accept();
    res.webSocket?.close();
    return;
  }
  if (res.status < 200 || res.status >= 500) throw new Error(`${where}: ${(await res.text()).slice(0, 300)}`);
  const text = await res.text();
  if (text.includes(SECRET)) throw new Error(`${where}: handed out an object outside the lake's prefix`);
  const type = res.headers.get("content-type") ?? "";
  const pathname = new URL(`https://lake.test${path}`).pathname;
  // The dashboard page (public): GET / (the router folds repeated slashes: `//` is `/`), and any request workerd hands
  // the Worker as a GET (a WebSocket upgrade is one).
  if (res.status < 300 && /^\/+$/.test(pathname) && (method.toUpperCase() === "GET" || upgrade)) {
    if (!type.startsWith("text/html")) throw new Error(`${where}: dashboard is ${type}`);
    return;
  }
  if (res.status < 300 && pathname.startsWith("/lake/")) return; // an object of the lake, as stored
  if (!type.includes("application/json")) throw new Error(`${where}: content-type ${type}: ${text.slice(0, 200)}`);
  if (method.toUpperCase() === "HEAD") return; // no body, by HTTP's rules
  try {
    JSON.parse(text);
  } catch {
    throw new Error(`${where}: body is not JSON: ${text.slice(0, 200)}`);
  }
}

async function stillAnswering(): Promise<void> {
  const health = await call("GET", "/health");
  const runs = await call("GET", "/runs", { Authorization: ADMIN });
  if (health.status !== 200 || runs.status !== 200) throw new Error(`the Worker stopped answering: /health ${health.status}, /runs ${runs.status}`);
  await runs.arrayBuffer();
  await health.arrayBuffer();
}

// ── Arbitraries ──────────────────────────────────────────────────────────────────────────────────────────────────

const hostileSegment = fc.oneof(
  fc.constantFrom("runs", "ratelimit", "lake", "health", "ws", "ws-ticket", "cancel", "retry", "repositories", "sources", "github",
    "issues", "", ".", "..", "%2e%2e", "%2E%2e%2f", "%2F", "%5C", "%00", "%", "%ZZ", "%E0%A4%A", "%C0%AE%C0%AE", "%FF", "~", "*", "__proto__",
    "constructor", "20261204T020000Z-abcd", "_manifests", "secret", "admin.txt"),
  fc.string({ unit: "grapheme", maxLength: 12 }).map(encodeURIComponent),
  fc.string({ unit: "binary", maxLength: 8 }).map(encodeURIComponent),
  fc.integer({ min: 1, max: 20_000 }).map((n) => "x".repeat(n)),
  fc.stringMatching(/^[A-Za-z0-9%._~!$&'()*+,;=:@-]{1,16}$/),
);
const pathArb = fc.tuple(fc.array(hostileSegment, { maxLength: 6 }), fc.option(fc.dictionary(fc.constantFrom("prefix", "cursor", "ticket", "x"), fc.string({ maxLength: 30 }), { maxKeys: 3 })))
  .map(([segments, query]) => `/${segments.join("/")}${query ? `?${new URLSearchParams(query).toString()}` : ""}`);

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });
const authArb = fc.oneof(
  fc.constant(undefined), fc.constant(ADMIN), fc.constant(ADMIN.toLowerCase()), fc.constant(`Basic ${env.ADMIN_TOKEN}`),
  fc.constant(`Bearer ${env.ADMIN_TOKEN} extra`), fc.constant(`Bearer  ${env.ADMIN_TOKEN}`), printable, printable.map((s) => `Bearer ${s}`),
  fc.integer({ min: 1_000, max: 16_000 }).map((n) => `Bearer ${"A".repeat(n)}`),
);
const headersArb = fc.record({
  authorization: authArb,
  "content-type": fc.option(fc.constantFrom("application/json", "text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/json; charset=utf-16"), { nil: undefined }),
  upgrade: fc.option(fc.constantFrom("websocket", "WebSocket", "h2c"), { nil: undefined }),
  origin: fc.option(fc.constantFrom("https://evil.example", "null", "https://lake.test"), { nil: undefined }),
  "x-forwarded-for": fc.option(printable, { nil: undefined }),
}, { requiredKeys: [] }).map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>);

const bodyArb: fc.Arbitrary<BodyInit | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 4 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }),
  fc.integer({ min: 60_000, max: 70_000 }).map((n) => JSON.stringify({ repos: ["a/b"], pad: "x".repeat(n) })),
  fc.integer({ min: 1, max: 5_000 }).map((n) => "[".repeat(n)),
  fc.constantFrom('{"__proto__": {"repos": ["a/b"]}}', '{"constructor": {"prototype": {}}}', '{"repos": ["a/b"], "repos": 1}', "\uFEFF{}", "null", "1e999", '"x"'),
);

// POST /runs bodies: fields with the right name and the wrong shape, names GitHub could not have, resources that do not exist.
const repoName = fc.oneof(
  fc.tuple(fc.array(fc.stringMatching(/^[A-Za-z0-9]{1,10}$/), { minLength: 1, maxLength: 4 }), fc.stringMatching(/^[A-Za-z0-9._-]{1,100}$/))
    .map(([owner, repo]) => `${owner.join("-").slice(0, 39).replace(/-$/, "")}/${repo}`),
  fc.constantFrom("../x", "a/b/c", "octo/..", "octo/.", "-octo/r", "octo-/r", "octo/r\u00e9po", "a/", "/b", "", "a\\b/c", "a/b\u0000", `o/${"r".repeat(101)}`, `${"o".repeat(40)}/r`),
  fc.string({ maxLength: 30 }),
);
const runBody = fc.record({
  repos: fc.oneof(fc.array(repoName, { maxLength: 6 }), fc.array(fc.anything(), { maxLength: 3 }), fc.string(), fc.constant(null), fc.integer()),
  resources: fc.oneof(fc.subarray([...RESOURCES]), fc.array(fc.oneof(fc.constantFrom(...RESOURCES), fc.string({ maxLength: 12 })), { maxLength: 5 }), fc.string(), fc.constant(null)),
  mode: fc.oneof(fc.constantFrom("full", "incremental", "FULL", "", "partial"), fc.integer(), fc.constant(null)),
  extra: fc.anything(),
}, { requiredKeys: [] });

const GITHUB_REPO = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}\/(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}$/;
/** The spec of a valid POST /runs body, written independently of src/api/validate.ts. */
function isValidRunBody(body: Record<string, unknown>): boolean {
  const keys = Object.keys(body);
  if (keys.some((k) => !["repos", "resources", "mode"].includes(k))) return false;
  if ("repos" in body && !(Array.isArray(body.repos) && body.repos.length > 0 && body.repos.length <= 1000 && body.repos.every((r) => typeof r === "string" && GITHUB_REPO.test(r)))) return false;
  if ("resources" in body && !(Array.isArray(body.resources) && body.resources.length > 0 && body.resources.every((r) => (RESOURCES as readonly unknown[]).includes(r)))) return false;
  if ("mode" in body && body.mode !== "full" && body.mode !== "incremental") return false;
  return true;
}

// ── Properties ───────────────────────────────────────────────────────────────────────────────────────────────────

describe("fuzzing the admin API", () => {
  it("answers what the fuzzer first found (malformed %-escapes, keys longer than R2 allows) with 404, not 500", async ({ expect }) => {
    for (const [method, path] of [["GET", "/runs/%"], ["POST", "/runs/%-/ws-ticket"], ["GET", "/runs/%E0%A4%A/ws?ticket=x"], ["GET", "/lake/sources/github/%&"], ["GET", `/lake/sources/github/${"x".repeat(2000)}`]] as const) {
      const res = await call(method, path, { Authorization: ADMIN, Upgrade: "websocket" });
      expect(res.status, `${method} ${path.slice(0, 60)}`).toBe(404);
      expect(await res.json()).toMatchObject({ status: 404, error: expect.any(String) });
    }
  });

  it(`answers ${CASES.anyRequest} random requests (method, path, headers, body) with 2xx/4xx JSON, never a 5xx`, async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...METHODS), pathArb, headersArb, bodyArb, async (method, path, headers, body) => {
      await checkAnswer(await call(method, path, headers, body), method, path, "upgrade" in headers);
    }), { numRuns: CASES.anyRequest });
    await stillAnswering();
  });

  it(`accepts exactly the valid POST /runs bodies among ${CASES.runBodies} (202), and says why it refuses the others (4xx)`, async () => {
    await fc.assert(fc.asyncProperty(runBody, async (body) => {
      const res = await call("POST", "/runs", { Authorization: ADMIN, "content-type": "application/json" }, JSON.stringify(body));
      const text = await res.clone().text();
      await checkAnswer(res, "POST", "/runs");
      const valid = isValidRunBody(JSON.parse(JSON.stringify(body)) as Record<string, unknown>);
      if (valid && res.status !== 202) throw new Error(`valid body refused: ${JSON.stringify(body).slice(0, 300)} → ${res.status} ${text.slice(0, 200)}`);
      if (!valid && (res.status < 400 || !(JSON.parse(text) as { error?: string }).error)) throw new Error(`invalid body: ${JSON.stringify(body).slice(0, 300)} → ${res.status} ${text.slice(0, 200)}`);
    }), { numRuns: CASES.runBodies });
    await stillAnswering();
  });

  it(`never fails on ${CASES.runRoutes} run routes with hostile run ids, methods and WebSocket upgrades`, async () => {
    const runIdArb = fc.oneof(fc.constant(runId), fc.constant("20261204T020000Z-abcd"), hostileSegment, fc.stringMatching(/^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$/));
    const sub = fc.constantFrom("", "/ws", "/ws-ticket", "/cancel", "/retry", "/repositories", "/ws?ticket=", "/ws?ticket=forged", "/x", "/ws/");
    await fc.assert(fc.asyncProperty(fc.constantFrom("GET", "POST", "DELETE", "PUT", "HEAD"), runIdArb, sub, headersArb, async (method, id, tail, headers) => {
      const path = `/runs/${id}${tail}`;
      await checkAnswer(await call(method, path, headers), method, path, "upgrade" in headers);
    }), { numRuns: CASES.runRoutes });
    await stillAnswering();
  });

  it(`never hands out an object outside the lake's prefix in ${CASES.lake} tries`, async () => {
    const keyArb = fc.oneof(
      fc.constantFrom("secret/admin.txt", "sources/github/../../secret/admin.txt", "sources/github/%2E%2E/%2E%2E/secret/admin.txt", "sources%2Fgithub%2F..%2F..%2Fsecret%2Fadmin.txt",
        "sources/github/issues/year=2026/month=01/day=01/odd%20%252F%20name%20%C3%BC.parquet", "sources/github/issues/year=2026/month=01/day=01/issues_octo_a_20260101T020000Z-abcd.parquet",
        "./secret/admin.txt", "sources/github/./../secret/admin.txt", "%2e%2e/secret/admin.txt"),
      fc.array(hostileSegment, { minLength: 1, maxLength: 5 }).map((s) => `sources/github/${s.join("/")}`),
    );
    const prefixArb = fc.oneof(fc.constantFrom("sources/github/", "secret/", "", "sources/github/../secret", "sources/githubx"), fc.string({ maxLength: 40 }));
    await fc.assert(fc.asyncProperty(fc.boolean(), keyArb, prefixArb, async (list, key, prefix) => {
      const path = list ? `/lake?prefix=${encodeURIComponent(prefix)}` : `/lake/${key}`;
      const res = await call("GET", path, { Authorization: ADMIN });
      const body = await res.clone().text();
      await checkAnswer(res, "GET", path);
      if (list && res.status === 200 && body.includes("secret/admin.txt")) throw new Error(`${path} listed an object outside the prefix`);
    }), { numRuns: CASES.lake });
    await stillAnswering();
  });
});
