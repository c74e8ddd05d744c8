// Platform-neutral GitHub REST simulator: web-standard Request → Response. Runs in Node (sim/server.ts)
// and inside workerd (tests inject `sim.handle` as fetch). Order of checks per request, as GitHub's
// front end and API do it: User-Agent → authentication → API version → penalties/primary/secondary
// limits → latency → faults → the endpoint → conditional request (304).

import type { World } from "./model";
import type { Mutation, PrimaryLimit, SecondaryLimits, SimConfig, SimOptions, SimStats, SimTruth, SimUser } from "./types";
import { generateWorld } from "./data";
import { Limiter, type UserState } from "./limits";
import { Router, type RouteResult } from "./routes";
import { computeTruth } from "./truth";
import { applyMutation } from "./mutate";
import { handleAdmin } from "./admin";
import { AppRegistry } from "./apps";
import { hashSeed, mulberry32, rngFor, type Rng } from "./prng";
import {
  DOCS,
  JSON_TYPE,
  UNICORN_HTML,
  USER_AGENT_MESSAGE,
  commonHeaders,
  errorBody,
  ifNoneMatchHits,
  parseAuthorization,
  setRateHeaders,
  sha256Hex,
} from "./http";

export type { Mutation, SimApp, SimConfig, SimOptions, SimStats, SimTruth, SimUser } from "./types";

export const DEFAULT_USER: SimUser = { login: "octo-sim", id: 9000001, tokens: ["sim-token"] };
const DEFAULT_API_VERSIONS = ["2022-11-28", "2026-03-10"];

interface Settings {
  primary: PrimaryLimit;
  secondary: SecondaryLimits;
  faultRate: number;
  latencyMs: number | [number, number];
  stargazerPageCap: number;
  actionsFilterCap: number;
}

interface CachedPage {
  result: RouteResult;
  etag: string;
}

/** Cached pages are dropped wholesale past this many characters (bounded memory under varied queries). */
const CACHE_CHARS = 128 * 1024 * 1024;

function emptyStats(): Omit<SimStats, "perUser" | "inFlight" | "penalties"> {
  return {
    requests: 0,
    byStatus: {},
    counted: 0,
    notModified: 0,
    faults: 0,
    violations: { primary: 0, secondary: 0, total: 0 },
    rejected: { userAgent: 0, auth: 0, apiVersion: 0 },
    maxInFlight: 0,
  };
}

function validateSettings(s: Settings): void {
  const { primary, secondary } = s;
  if (!(primary.limit >= 0) || !(primary.windowSeconds > 0)) throw new RangeError("primary needs limit >= 0 and windowSeconds > 0");
  if (!(s.faultRate >= 0 && s.faultRate <= 1)) throw new RangeError("faultRate must be within 0..1");
  if (secondary.status !== undefined && secondary.status !== 403 && secondary.status !== 429) throw new RangeError("secondary.status must be 403 or 429");
  const lat = s.latencyMs;
  if (Array.isArray(lat) ? !(lat[0] >= 0 && lat[1] >= lat[0]) : !(lat >= 0)) throw new RangeError("latencyMs must be >= 0 or [min, max]");
  if (!(s.stargazerPageCap >= 1) || !(s.actionsFilterCap >= 1)) throw new RangeError("caps must be >= 1");
}

export class GitHubSimulator {
  readonly users: SimUser[];
  private readonly world: World;
  private readonly router: Router;
  private readonly limiter: Limiter;
  private readonly apps: AppRegistry;
  /** App installation id → its quota state. */
  private readonly installations = new Map<number, UserState>();
  private readonly now: () => number;
  private readonly apiVersions: Set<string>;
  private readonly seed: number;
  private settings: Settings;
  private counters = emptyStats();
  private inFlight = 0;
  private cache = new Map<string, CachedPage>();
  private cacheChars = 0;
  private faultRng: Rng;
  private latencyRng: Rng;
  private mutationRng: Rng;
  private requestSeq = 0;

  constructor(opts: SimOptions = {}) {
    this.seed = opts.seed ?? 1;
    this.users = opts.users && opts.users.length > 0 ? opts.users.map((u) => ({ ...u, tokens: [...u.tokens] })) : [{ ...DEFAULT_USER, tokens: [...DEFAULT_USER.tokens] }];
    const tokens = this.users.flatMap((u) => u.tokens);
    if (new Set(tokens).size !== tokens.length) throw new Error("a token may belong to one user only");
    this.now = opts.now ?? Date.now;
    this.apiVersions = new Set(opts.apiVersions ?? DEFAULT_API_VERSIONS);
    this.settings = {
      primary: { ...(opts.primary ?? { limit: 5000, windowSeconds: 3600 }) },
      secondary: { ...(opts.secondary ?? {}) },
      faultRate: opts.faultRate ?? 0,
      latencyMs: opts.latencyMs ?? 0,
      stargazerPageCap: opts.stargazerPageCap ?? 400,
      actionsFilterCap: opts.actionsFilterCap ?? 1000,
    };
    validateSettings(this.settings);
    const viewer = this.users[0]!;
    this.world = generateWorld({
      seed: this.seed,
      repos: opts.repos ?? 6,
      scale: opts.scale ?? 1,
      special: opts.special ?? true,
      viewer: { login: viewer.login, id: viewer.id },
    });
    this.router = new Router(this.world, () => this.settings);
    this.limiter = new Limiter(this.users, () => this.settings, this.now);
    this.apps = new AppRegistry(opts.apps ?? [], this.now, opts.installationTokenTtlSeconds ?? 3600);
    for (const app of opts.apps ?? []) {
      for (const inst of app.installations) {
        if (this.installations.has(inst.id)) throw new Error(`installation ${inst.id} is listed twice`);
        this.installations.set(inst.id, this.limiter.addState({ login: `installation-${inst.id}`, id: inst.id, tokens: [] }, inst.limit));
      }
    }
    // Faults and latency draw from their own stream: turning faults on never changes the data.
    const faultSeed = opts.faultSeed ?? hashSeed(this.seed, "faults");
    this.faultRng = mulberry32(faultSeed);
    this.latencyRng = mulberry32(hashSeed(faultSeed, "latency"));
    this.mutationRng = rngFor(this.seed, "mutations");
  }

  async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/_sim" || url.pathname.startsWith("/_sim/")) return handleAdmin(this, req, url);
    this.counters.requests++;
    const res = await this.api(req, url);
    const key = String(res.status);
    this.counters.byStatus[key] = (this.counters.byStatus[key] ?? 0) + 1;
    return res;
  }

  stats(): SimStats {
    const perUser: SimStats["perUser"] = {};
    let penalties = 0;
    for (const s of this.limiter.states) {
      const v = this.limiter.view(s);
      penalties += s.penalties;
      perUser[s.user.login] = {
        id: s.user.id,
        limit: v.limit,
        used: v.used,
        remaining: v.remaining,
        reset: v.reset,
        requests: s.requests,
        inFlight: s.inFlight,
        maxInFlight: s.maxInFlight,
        penaltyUntil: s.penaltyUntil > this.now() ? s.penaltyUntil : null,
        penalties: s.penalties,
        windows: this.limiter.windows(s),
      };
    }
    const c = this.counters;
    return {
      ...c,
      penalties,
      byStatus: { ...c.byStatus },
      violations: { ...c.violations },
      rejected: { ...c.rejected },
      inFlight: this.inFlight,
      perUser,
    };
  }

  truth(): SimTruth {
    return computeTruth(this.world, this.settings.stargazerPageCap);
  }

  /** Zero the counters (quota windows and penalties stay; see resetLimits). */
  resetStats(): void {
    this.counters = emptyStats();
    this.counters.maxInFlight = this.inFlight;
    for (const s of this.limiter.states) {
      s.requests = 0;
      s.maxInFlight = s.inFlight;
      s.penalties = 0;
    }
  }

  /** Installation tokens minted and not yet expired. */
  installationTokens(): string[] {
    return this.apps.live();
  }

  /** The installation a live installation token belongs to (tests check which credential fetched what). */
  installationOf(token: string): number | undefined {
    return this.apps.tokenInstallation(token)?.installationId;
  }

  /** Revokes a token (a user's or a minted installation token): it answers 401 from now on. */
  revoke(token: string): boolean {
    return this.limiter.unbindToken(token) || this.apps.revoke(token);
  }

  /** Forget quota windows and penalties, as if the next request were the first. */
  resetLimits(): void {
    this.limiter.reset();
  }

  mutate(m: Mutation): void {
    applyMutation(this.world, m, this.now(), this.mutationRng);
    this.router.reindex();
    this.clearCache();
  }

  configure(c: SimConfig): void {
    const next: Settings = {
      ...this.settings,
      ...(c.primary ? { primary: { ...this.settings.primary, ...c.primary } } : {}),
      ...(c.secondary ? { secondary: { ...this.settings.secondary, ...c.secondary } } : {}),
      ...(c.faultRate !== undefined ? { faultRate: c.faultRate } : {}),
      ...(c.latencyMs !== undefined ? { latencyMs: c.latencyMs } : {}),
      ...(c.stargazerPageCap !== undefined ? { stargazerPageCap: c.stargazerPageCap } : {}),
      ...(c.actionsFilterCap !== undefined ? { actionsFilterCap: c.actionsFilterCap } : {}),
    };
    validateSettings(next);
    const capsChanged = next.stargazerPageCap !== this.settings.stargazerPageCap || next.actionsFilterCap !== this.settings.actionsFilterCap;
    this.settings = next;
    if (capsChanged) this.clearCache();
  }

  config(): SimConfig {
    return structuredClone(this.settings);
  }

  // ---------------------------------------------------------------------------------------------

  private clearCache(): void {
    this.cache.clear();
    this.cacheChars = 0;
  }

  private nextRequestId(): string {
    const n = ++this.requestSeq;
    const h = (x: number, w: number) => (x >>> 0).toString(16).toUpperCase().padStart(w, "0").slice(-w);
    return `${h(hashSeed(this.seed, "rid"), 4)}:${h(n * 2654435761, 6)}:${h(n * 40503, 7)}:${h(n, 7)}:${h(Math.floor(this.now() / 1000), 8)}`;
  }

  private async api(req: Request, url: URL): Promise<Response> {
    const now = this.now();
    const requestId = this.nextRequestId();
    const headers = commonHeaders(requestId, now);

    // GitHub's edge refuses requests without a User-Agent before any API logic (no rate-limit headers).
    if (!req.headers.get("user-agent")?.trim()) {
      this.counters.rejected.userAgent++;
      headers.set("content-type", "text/plain; charset=utf-8");
      return new Response(USER_AGENT_MESSAGE, { status: 403, headers });
    }

    const authHeader = req.headers.get("authorization");
    const token = parseAuthorization(authHeader);
    const appRoute = /^\/app(\/|$)/.test(url.pathname);
    if (appRoute && token !== null && token.split(".").length === 3) return this.appApi(req, url, token, headers);
    let state = token === null || appRoute ? undefined : this.limiter.userByToken(token);
    const installationId = token !== null && !state && !appRoute ? this.apps.tokenInstallation(token)?.installationId : undefined;
    if (installationId !== undefined) state = this.installations.get(installationId);
    if (!state) {
      this.counters.rejected.auth++;
      this.limiter.spendAnonymous();
      setRateHeaders(headers, this.limiter.anonymousView());
      const message = authHeader ? "Bad credentials" : "Requires authentication";
      return this.json(401, errorBody(message, DOCS.rest, 401), headers, req);
    }

    const version = req.headers.get("x-github-api-version");
    if (version !== null && !this.apiVersions.has(version.trim())) {
      this.counters.rejected.apiVersion++;
      setRateHeaders(headers, this.limiter.view(state));
      return this.json(400, errorBody(`Unsupported 'X-GitHub-Api-Version' header value: ${version}`, DOCS.apiVersions, 400), headers, req);
    }
    if (version !== null) headers.set("x-github-api-version-selected", version.trim());

    const isRateLimit = url.pathname === "/rate_limit";
    const adm = this.limiter.admit(state, !isRateLimit);
    if (!adm.ok) return this.refuse(adm, state, headers, requestId, req, now);

    this.inFlight++;
    if (this.inFlight > this.counters.maxInFlight) this.counters.maxInFlight = this.inFlight;
    try {
      const delay = this.latency();
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      if (this.settings.faultRate > 0 && this.faultRng() < this.settings.faultRate) {
        if (adm.counted) this.limiter.refund(state, adm.windowSeq);
        this.counters.faults++;
        return this.fault(headers, state);
      }
      if (isRateLimit) {
        setRateHeaders(headers, this.limiter.view(state));
        const body = JSON.stringify(this.rateLimitBody(state));
        headers.set("etag", `"${await sha256Hex(body)}"`);
        headers.set("cache-control", "no-cache");
        return this.json(200, body, headers, req);
      }
      const page = await this.page(req, url, state, installationId);
      if (page.result.status === 200 && ifNoneMatchHits(req.headers.get("if-none-match"), page.etag)) {
        this.limiter.refund(state, adm.windowSeq);
        this.counters.notModified++;
        setRateHeaders(headers, this.limiter.view(state));
        headers.set("etag", page.etag);
        headers.set("cache-control", "private, max-age=60, s-maxage=60");
        return new Response(null, { status: 304, headers });
      }
      this.counters.counted++;
      setRateHeaders(headers, this.limiter.view(state));
      const r = page.result;
      headers.set("x-oauth-scopes", "repo, read:org, workflow");
      headers.set("x-accepted-oauth-scopes", r.status === 200 ? "repo" : "");
      headers.set("x-github-media-type", r.mediaType ?? "github.v3; format=json");
      if (r.status === 200) {
        headers.set("cache-control", "private, max-age=60, s-maxage=60");
        headers.set("etag", page.etag);
        if (r.link) headers.set("link", r.link);
      }
      return this.json(r.status, r.body, headers, req);
    } finally {
      this.inFlight--;
      this.limiter.finish(state);
    }
  }

  /** Route result for this request, from the page cache when possible; 200s carry a SHA-256 ETag. */
  private async page(req: Request, url: URL, state: UserState, installationId?: number): Promise<CachedPage> {
    const accept = req.headers.get("accept") ?? "";
    const star = accept.toLowerCase().includes("star+json") ? "star" : "";
    const key = `${url.origin}|${url.pathname.toLowerCase()}|${url.search}|${star}|${state.user.login}|${req.method === "HEAD" ? "GET" : req.method}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const granted = installationId === undefined ? undefined : this.apps.installation(installationId)?.installation.repositories;
    const result = this.router.route({
      method: req.method,
      url,
      api: url.origin,
      accept,
      viewer: { login: state.user.login, id: state.user.id, installationId, granted: granted && new Set(granted.map((n) => n.toLowerCase())) },
    });
    const page: CachedPage = { result, etag: result.status === 200 ? `"${await sha256Hex(result.body)}"` : "" };
    if (result.status === 200) {
      if (this.cacheChars + result.body.length > CACHE_CHARS) this.clearCache();
      this.cache.set(key, page);
      this.cacheChars += result.body.length;
    }
    return page;
  }

  /** `/app/*` with an App JWT: `POST /app/installations/{id}/access_tokens` mints an installation token; `GET /app`
   *  describes the App. JWT requests spend no installation's quota (GitHub counts them per App). */
  private async appApi(req: Request, url: URL, jwt: string, headers: Headers): Promise<Response> {
    const check = await this.apps.verify(jwt);
    if (!check.ok) {
      this.counters.rejected.auth++;
      return this.json(401, errorBody(check.message, DOCS.rest, 401), headers, req);
    }
    const mint = /^\/app\/installations\/(\d+)\/access_tokens\/?$/.exec(url.pathname);
    if (mint && req.method === "POST") {
      const found = this.apps.installation(Number(mint[1]));
      if (!found || found.app.id !== check.app.id) return this.json(404, errorBody("Not Found", DOCS.rest, 404), headers, req);
      const issued = this.apps.issue(check.app, found.installation.id);
      const body = JSON.stringify({
        token: issued.token,
        expires_at: new Date(issued.expiresAtMs).toISOString().replace(/\.\d{3}Z$/, "Z"),
        permissions: { metadata: "read", issues: "read", pull_requests: "read", contents: "read", actions: "read" },
        repository_selection: found.installation.repositories ? "selected" : "all",
      });
      return this.json(201, body, headers, req);
    }
    if (url.pathname.replace(/\/+$/, "") === "/app" && req.method === "GET") {
      return this.json(200, JSON.stringify({ id: check.app.id, slug: `sim-app-${check.app.id}`, client_id: check.app.clientId ?? null, name: `Sim App ${check.app.id}` }), headers, req);
    }
    return this.json(404, errorBody("Not Found", DOCS.rest, 404), headers, req);
  }

  private refuse(
    adm: { ok: false; kind: "primary" } | { ok: false; kind: "secondary"; retryAfter: number },
    state: UserState,
    headers: Headers,
    requestId: string,
    req: Request,
    now: number,
  ): Response {
    const v = this.counters.violations;
    v.total++;
    setRateHeaders(headers, this.limiter.view(state));
    const stamp = new Date(now).toISOString().replace("T", " ").replace(/\.\d{3}Z$/, " UTC");
    if (adm.kind === "primary") {
      v.primary++;
      headers.set("x-ratelimit-remaining", "0");
      const msg = `API rate limit exceeded for user ID ${state.user.id}. If you reach out to GitHub Support for help, please include the request ID ${requestId} and timestamp ${stamp}.`;
      return this.json(403, errorBody(msg, DOCS.rateLimits, 403), headers, req);
    }
    v.secondary++;
    const sec = this.settings.secondary;
    const status = sec.status ?? 403;
    if (!sec.omitRetryAfter) headers.set("retry-after", String(adm.retryAfter));
    const msg = `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`;
    return this.json(status, errorBody(msg, DOCS.secondary, status), headers, req);
  }

  /** 5xx as GitHub's front end produces them: HTML unicorn pages (no rate headers) or JSON "Server Error". */
  private fault(headers: Headers, state: UserState): Response {
    const r = this.faultRng();
    if (r < 0.4) {
      headers.set("content-type", "text/html; charset=utf-8");
      return new Response(UNICORN_HTML, { status: 502, headers });
    }
    if (r < 0.7) {
      headers.set("content-type", "text/html; charset=utf-8");
      return new Response(UNICORN_HTML, { status: 503, headers });
    }
    setRateHeaders(headers, this.limiter.view(state));
    headers.set("content-type", JSON_TYPE);
    return new Response(JSON.stringify({ message: "Server Error" }), { status: 500, headers });
  }

  private latency(): number {
    const l = this.settings.latencyMs;
    if (Array.isArray(l)) return l[0] + Math.floor(this.latencyRng() * (l[1] - l[0] + 1));
    return l;
  }

  private json(status: number, body: string, headers: Headers, req: Request): Response {
    headers.set("content-type", JSON_TYPE);
    return new Response(req.method === "HEAD" ? null : body, { status, headers });
  }

  private rateLimitBody(state: UserState): Record<string, unknown> {
    const core = this.limiter.view(state);
    const reset = Math.ceil(this.now() / 1000) + 3600;
    const other = (limit: number, r = reset) => ({ limit, used: 0, remaining: limit, reset: r });
    const c = { limit: core.limit, used: core.used, remaining: core.remaining, reset: core.reset };
    return {
      resources: {
        core: c,
        search: other(30, Math.ceil(this.now() / 1000) + 60),
        graphql: other(5000),
        integration_manifest: other(5000),
        source_import: other(100, Math.ceil(this.now() / 1000) + 60),
        code_scanning_upload: other(1000),
        code_scanning_autofix: other(10, Math.ceil(this.now() / 1000) + 60),
        actions_runner_registration: other(10000),
        scim: other(15000),
        dependency_snapshots: other(100, Math.ceil(this.now() / 1000) + 60),
        dependency_sbom: other(100),
        audit_log: other(1750),
        audit_log_streaming: other(15),
        code_search: other(10, Math.ceil(this.now() / 1000) + 60),
      },
      rate: c,
    };
  }
}
