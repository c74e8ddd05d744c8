// Fault injection in front of the GitHub simulator: what a whole run meets on the way to GitHub and back. Wraps a
// GitHubSimulator (web-standard Request → Response, so it runs in Node and inside workerd) and, per request, draws
// from a seeded stream whether to answer it with a fault instead:
//   - 5xx: 500 JSON "Server Error", 502/503 GitHub's unicorn HTML page, 504 an HTML gateway page;
//   - a connection that hangs (nothing comes back until the client aborts it) or resets (a network error);
//   - a 200 whose body is cut short (the real page, truncated in transit) or is not JSON at all (an HTML error page
//     or plain text from a proxy in between);
//   - bursts of secondary-rate-limit answers (403/429), with or without `retry-after`, for every token or one;
//   - a repository deleted mid-run (after its first few requests it answers 404 and leaves /user/repos);
//   - tokens revoked mid-run (401 from then on);
//   - optionally, error answers that echo the request's headers (a misbehaving proxy), for the no-leak specs.
// It also measures the client's side of the limits GitHub enforces: requests in flight and started per sliding
// minute, per user, including those that hang (which never reach the simulator). Every number it reports is one
// that a chaos run's table prints.

import { mulberry32, hashSeed, type Rng } from "./prng";
import { UNICORN_HTML, parseAuthorization } from "./http";
import type { GitHubSimulator } from "./simulator";

export interface SecondaryBurst {
  /** The burst starts at this request (1-based count of requests seen by the wrapper). */
  atRequest: number;
  /** Secondary-limit answers in the burst (requests of other tokens pass, when `token` is set). */
  length: number;
  /** Sent as `retry-after`; null or absent: no `retry-after` (GitHub does not always send one). */
  retryAfterSeconds?: number | null;
  /** Only requests with this token are refused (default: every token). */
  token?: string;
  status?: 403 | 429;
}

export interface ChaosOptions {
  /** Seed of the fault stream (default 1). Same seed and same request order → same faults. */
  seed?: number;
  /** Share of requests answered 500/502/503/504 (default 0). */
  serverErrorRate?: number;
  /** Share of requests that hang until the client aborts them (default 0). */
  hangRate?: number;
  /** Share of requests whose connection resets (the fetch rejects with a network error) (default 0). */
  resetRate?: number;
  /** Share of 200 answers whose body is cut short (default 0). */
  truncateRate?: number;
  /** Share of requests answered 200 with a body that is not JSON (an HTML page or text) (default 0). */
  nonJsonRate?: number;
  /** Faults at given requests (1-based counts), whatever the rates say, so a short run meets each at least once. */
  faultAt?: Record<number, "hang" | "reset" | "serverError" | "truncated" | "nonJson" | "reflect">;
  /** Share of requests answered 400 with a page that echoes the request headers, token included (default 0). */
  reflectRate?: number;
  secondaryBursts?: SecondaryBurst[];
  /** Deletes this repository (`owner/name`) once it has been asked `afterRequests` times (default 3). */
  deleteRepo?: { repo: string; afterRequests?: number };
  /** Revokes each token once the wrapper has seen `atRequest` requests. */
  revoke?: Array<{ token: string; atRequest: number }>;
  /** No fault before this many requests (lets a run get going first) (default 0). */
  quietFirst?: number;
  /** A hang that no abort signal ends gives up after this long with a network error (default 120 000). */
  maxHangMs?: number;
}

export type FaultKind =
  | "serverError"
  | "htmlErrorPage"
  | "hang"
  | "reset"
  | "truncated"
  | "nonJson"
  | "reflect"
  | "secondaryWithRetryAfter"
  | "secondaryWithoutRetryAfter";

export interface ChaosStats {
  /** Requests the wrapper saw (every request the run sent to "GitHub"). */
  requests: number;
  /** Requests passed on to the simulator. */
  passed: number;
  /** `GET /user` requests (identity lookups: no permit, not in a run's counters). */
  identityLookups: number;
  injected: Record<FaultKind, number>;
  /** Secondary-limit bursts that started. */
  bursts: number;
  deleted: string[];
  revoked: string[];
  /** Revoked tokens that were sent again and answered 401 (the client can only learn of a revocation by using it). */
  refused: string[];
  /** Hangs the client ended by aborting (its timeout). */
  hangsAborted: number;
  /** Per user (login): most requests in flight at once, and most started within any 60 s. */
  maxInFlight: Record<string, number>;
  maxPerMinute: Record<string, number>;
}

const FAULT_KINDS: FaultKind[] = [
  "serverError", "htmlErrorPage", "hang", "reset", "truncated", "nonJson", "reflect", "secondaryWithRetryAfter", "secondaryWithoutRetryAfter",
];

const SECONDARY_MESSAGE = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID CHAOS:0000.";
const GATEWAY_HTML = "<html><head><title>504 Gateway Time-out</title></head><body><center><h1>504 Gateway Time-out</h1></center></body></html>";
const PROXY_HTML = "<!DOCTYPE html><html><head><title>Service unavailable</title></head><body><h1>We'll be right back</h1><p>The proxy could not reach the upstream server.</p></body></html>";
const PROXY_TEXT = "upstream connect error or disconnect/reset before headers. reset reason: connection termination";

export class ChaosGitHub {
  readonly options: Required<Omit<ChaosOptions, "deleteRepo">> & { deleteRepo: ChaosOptions["deleteRepo"] };
  readonly #sim: GitHubSimulator;
  readonly #rng: Rng;
  readonly #burstRng: Rng;
  readonly #stats: ChaosStats;
  readonly #userOf = new Map<string, string>();
  readonly #inFlight = new Map<string, number>();
  readonly #starts = new Map<string, number[]>();
  readonly #bursts: Array<{ left: number; spec: SecondaryBurst }> = [];
  #victim: { fullName: string; id: number; asked: number; after: number } | null = null;
  #enabled = true;

  constructor(sim: GitHubSimulator, options: ChaosOptions = {}) {
    this.#sim = sim;
    this.options = {
      seed: options.seed ?? 1,
      serverErrorRate: options.serverErrorRate ?? 0,
      hangRate: options.hangRate ?? 0,
      resetRate: options.resetRate ?? 0,
      truncateRate: options.truncateRate ?? 0,
      nonJsonRate: options.nonJsonRate ?? 0,
      reflectRate: options.reflectRate ?? 0,
      faultAt: { ...(options.faultAt ?? {}) },
      secondaryBursts: [...(options.secondaryBursts ?? [])].sort((a, b) => a.atRequest - b.atRequest),
      deleteRepo: options.deleteRepo,
      revoke: [...(options.revoke ?? [])],
      quietFirst: options.quietFirst ?? 0,
      maxHangMs: options.maxHangMs ?? 120_000,
    };
    const total = this.options.serverErrorRate + this.options.hangRate + this.options.resetRate + this.options.truncateRate + this.options.nonJsonRate + this.options.reflectRate;
    if (total > 1) throw new RangeError("fault rates add up to more than 1");
    this.#rng = mulberry32(hashSeed(this.options.seed, "chaos"));
    this.#burstRng = mulberry32(hashSeed(this.options.seed, "chaos-bursts"));
    for (const u of sim.users) for (const t of u.tokens) this.#userOf.set(t, u.login);
    if (options.deleteRepo) {
      const repo = sim.truth().repositories.find((r) => r.full_name.toLowerCase() === options.deleteRepo!.repo.toLowerCase());
      if (!repo) throw new Error(`deleteRepo: no repository ${options.deleteRepo.repo}`);
      this.#victim = { fullName: repo.full_name, id: repo.id, asked: 0, after: options.deleteRepo.afterRequests ?? 3 };
    }
    this.#stats = {
      requests: 0,
      passed: 0,
      identityLookups: 0,
      injected: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>,
      bursts: 0,
      deleted: [],
      revoked: [],
      refused: [],
      hangsAborted: 0,
      maxInFlight: {},
      maxPerMinute: {},
    };
  }

  /** A fetch function (for `vi.spyOn(globalThis, "fetch")` or a client's injected fetcher). */
  readonly fetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => this.handle(new Request(input, init), init?.signal ?? undefined);

  /** Stops injecting faults (bursts, deletions and revocations included); requests still pass through and count. */
  set enabled(on: boolean) {
    this.#enabled = on;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  stats(): ChaosStats {
    return structuredClone(this.#stats);
  }

  /** Total faults injected (every kind), plus the deletion and revocations. */
  get faultsInjected(): number {
    return Object.values(this.#stats.injected).reduce((a, b) => a + b, 0) + this.#stats.deleted.length + this.#stats.revoked.length;
  }

  async handle(req: Request, signal?: AbortSignal): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/_sim" || url.pathname.startsWith("/_sim/")) return this.#sim.handle(req); // admin: never faulted
    const n = ++this.#stats.requests;
    if (url.pathname === "/user") this.#stats.identityLookups++;
    const token = parseAuthorization(req.headers.get("authorization"));
    const user = (token && this.#userOf.get(token)) || "(unknown)";
    const started = Date.now();
    this.#track(user, started);
    try {
      return await this.#answer(req, url, n, token, signal);
    } finally {
      this.#inFlight.set(user, (this.#inFlight.get(user) ?? 1) - 1);
    }
  }

  #track(user: string, now: number): void {
    const inFlight = (this.#inFlight.get(user) ?? 0) + 1;
    this.#inFlight.set(user, inFlight);
    this.#stats.maxInFlight[user] = Math.max(this.#stats.maxInFlight[user] ?? 0, inFlight);
    const starts = this.#starts.get(user) ?? [];
    starts.push(now);
    while (starts.length > 0 && starts[0]! <= now - 60_000) starts.shift();
    this.#starts.set(user, starts);
    this.#stats.maxPerMinute[user] = Math.max(this.#stats.maxPerMinute[user] ?? 0, starts.length);
  }

  async #answer(req: Request, url: URL, n: number, token: string | null, signal?: AbortSignal): Promise<Response> {
    const o = this.options;
    if (this.#enabled) {
      for (const r of o.revoke) {
        if (n >= r.atRequest && !this.#stats.revoked.includes(r.token) && this.#sim.revoke(r.token)) this.#stats.revoked.push(r.token);
      }
      const v = this.#victim;
      if (v && this.#stats.deleted.length === 0 && this.#isVictim(url.pathname, v) && ++v.asked > v.after) {
        this.#sim.mutate({ deleteRepos: [v.fullName] });
        this.#stats.deleted.push(v.fullName);
      }
    }
    const faulty = this.#enabled && n > o.quietFirst;
    // A burst refuses the next `length` requests (of its token, if it names one), as GitHub's secondary limit does.
    // Bursts are independent: one waiting for its token's next request does not hold back the others.
    if (faulty) {
      while (o.secondaryBursts.length > 0 && n >= o.secondaryBursts[0]!.atRequest) {
        const spec = o.secondaryBursts.shift()!;
        this.#bursts.push({ left: spec.length, spec });
        this.#stats.bursts++;
      }
      const i = this.#bursts.findIndex((b) => !b.spec.token || b.spec.token === token);
      if (i >= 0) {
        const b = this.#bursts[i]!;
        if (--b.left <= 0) this.#bursts.splice(i, 1);
        return this.#secondary(b.spec);
      }
    }
    // One draw per request past the quiet period (so the k-th request always meets the k-th draw); a scheduled fault
    // takes its place, quiet period or not.
    const drawn = faulty ? this.#draw() : null;
    const kind = (this.#enabled ? o.faultAt[n] : undefined) ?? drawn;
    switch (kind) {
      case "serverError":
        return this.#serverError();
      case "hang":
        return this.#hang(signal);
      case "reset":
        this.#stats.injected.reset++;
        throw new TypeError("Network connection lost.");
      case "nonJson":
        return this.#nonJson();
      case "reflect":
        return this.#reflect(req);
      default:
    }
    this.#stats.passed++;
    const res = await this.#sim.handle(req);
    if (res.status === 401 && token && this.#stats.revoked.includes(token) && !this.#stats.refused.includes(token)) this.#stats.refused.push(token);
    if (kind !== "truncated" || res.status !== 200) return res;
    const text = await res.text();
    if (text.length < 2) return new Response(text, { status: res.status, headers: res.headers });
    this.#stats.injected.truncated++;
    const cut = 1 + Math.floor(this.#rng() * (text.length - 1));
    const headers = new Headers(res.headers);
    headers.delete("content-length");
    return new Response(text.slice(0, cut), { status: 200, headers });
  }

  /** Which fault (if any) the next draw of the stream picks, by the configured rates. */
  #draw(): "serverError" | "hang" | "reset" | "nonJson" | "reflect" | "truncated" | null {
    const o = this.options;
    let r = this.#rng();
    for (const [kind, rate] of [["serverError", o.serverErrorRate], ["hang", o.hangRate], ["reset", o.resetRate], ["nonJson", o.nonJsonRate], ["reflect", o.reflectRate], ["truncated", o.truncateRate]] as const) {
      if (r < rate) return kind;
      r -= rate;
    }
    return null;
  }

  #isVictim(path: string, v: { fullName: string; id: number }): boolean {
    const p = path.toLowerCase();
    const name = `/repos/${v.fullName.toLowerCase()}`;
    return p === name || p.startsWith(`${name}/`) || p === `/repositories/${v.id}` || p.startsWith(`/repositories/${v.id}/`);
  }

  #secondary(spec: SecondaryBurst): Response {
    const headers = new Headers({ "content-type": "application/json; charset=utf-8" });
    const withRetry = spec.retryAfterSeconds !== undefined && spec.retryAfterSeconds !== null;
    if (withRetry) headers.set("retry-after", String(spec.retryAfterSeconds));
    this.#stats.injected[withRetry ? "secondaryWithRetryAfter" : "secondaryWithoutRetryAfter"]++;
    const status = spec.status ?? (this.#burstRng() < 0.5 ? 403 : 429);
    return new Response(JSON.stringify({ message: SECONDARY_MESSAGE, documentation_url: "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits", status: String(status) }), { status, headers });
  }

  #serverError(): Response {
    const r = this.#rng();
    if (r < 0.3) {
      this.#stats.injected.serverError++;
      return new Response(JSON.stringify({ message: "Server Error" }), { status: 500, headers: { "content-type": "application/json; charset=utf-8" } });
    }
    this.#stats.injected.htmlErrorPage++;
    const html = { "content-type": "text/html; charset=utf-8" };
    if (r < 0.55) return new Response(UNICORN_HTML, { status: 502, headers: html });
    if (r < 0.8) return new Response(UNICORN_HTML, { status: 503, headers: html });
    return new Response(GATEWAY_HTML, { status: 504, headers: html });
  }

  #hang(signal?: AbortSignal): Promise<Response> {
    this.#stats.injected.hang++;
    return new Promise<Response>((_resolve, reject) => {
      const giveUp = setTimeout(() => reject(new TypeError("Network connection lost.")), this.options.maxHangMs);
      if (!signal) return;
      const abort = () => {
        clearTimeout(giveUp);
        this.#stats.hangsAborted++;
        reject(signal.reason ?? new DOMException("The operation was aborted.", "AbortError"));
      };
      if (signal.aborted) abort();
      else signal.addEventListener("abort", abort, { once: true });
    });
  }

  #nonJson(): Response {
    this.#stats.injected.nonJson++;
    return this.#rng() < 0.5
      ? new Response(PROXY_HTML, { status: 200, headers: { "content-type": "text/html; charset=utf-8" } })
      : new Response(PROXY_TEXT, { status: 200, headers: { "content-type": "text/plain" } });
  }

  /** A proxy's error page that reflects the request (headers included): a client must never repeat it verbatim. */
  #reflect(req: Request): Response {
    this.#stats.injected.reflect++;
    const lines: string[] = [];
    req.headers.forEach((value, name) => lines.push(`${name}: ${value}`));
    return new Response(JSON.stringify({ message: `Bad request. Your request was: GET ${new URL(req.url).pathname} ${lines.join("; ")}` }), {
      status: 400,
      headers: { "content-type": "application/json; charset=utf-8" },
    });
  }
}
