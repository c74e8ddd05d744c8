/** GitHub REST client. Responsibilities: take a permit from the rate limiter before EVERY call (the permit may name the
 *  credential to use: a pool) and hand back what the response said about the quota; send the headers GitHub requires;
 *  retry 5xx, timeouts, network errors and bad bodies with exponential backoff and jitter; wait out rate-limit answers
 *  as the limiter says (short waits held, long ones thrown as RateLimitWait); on a 401, let the pool retire the
 *  credential and go on with another; follow `Link` pagination. */
import { GitHubError, RateLimitWait } from "./errors";
import { parseLink } from "./link";
import { USER_AGENT } from "../version";

/** What one GitHub answer said about the quota, reported to the TokenBucket when the permit is released. */
export interface RateObservation {
  status: number;
  limit?: number;
  remaining?: number;
  used?: number;
  /** Epoch seconds at which the primary window resets. */
  reset?: number;
  resource?: string;
  retryAfterSec?: number;
  /** "secondary" / "primary": GitHub refused the call for a rate limit; "ok" otherwise (even for 4xx/5xx). */
  kind: "ok" | "secondary" | "primary";
}

/** A permit for one request; `token` names the credential to send (a pool), else the client's own token is used. */
export type PermitGrant = { granted: true; leaseId: string; token?: string } | { granted: false; retryAfterMs: number; reason: string };

export interface Permits {
  /** One permit, held by the limiter for up to `maxWaitMs` until it is free; a refusal says how long to wait. */
  acquire(maxWaitMs: number): Promise<PermitGrant>;
  release(leaseId: string, observation: RateObservation | null): Promise<void>;
  /** Sends permits still waiting to be returned (a limiter may hold good news back to carry it with its next call). */
  flush?(): Promise<void>;
  /** GitHub answered 401 to this permit's credential (revoked, expired). Called before `release`. True when the
   *  request may be sent again with another credential. */
  unauthorized?(leaseId: string): Promise<boolean>;
}

export type Fetcher = (input: string, init: RequestInit) => Promise<Response>;

export interface ClientOptions {
  apiUrl: string;
  /** The credential, unless each permit names its own. */
  token?: string;
  permits: Permits;
  fetcher?: Fetcher;
  timeoutMs?: number;
  /** Attempts for one page on 5xx/network errors before giving up (the queue then retries the message). */
  maxAttempts?: number;
  /** Longest wait for a permit that is held in place; longer ones throw RateLimitWait so the message is handed back. */
  maxHoldMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface GitHubPage {
  status: 200 | 304;
  url: string;
  body: unknown;
  etag: string | null;
  /** Absolute URL of the next page, or null on the last one. */
  next: string | null;
  /** Absolute URL of the last page (Link rel="last"), when GitHub gives one: the listing's size, for estimates. */
  last?: string | null;
}

/** Counters a caller reports to the RunCoordinator. */
export interface ClientStats {
  requests: number;
  notModified: number;
  retries: number;
  rateLimitWaits: number;
  waitedMs: number;
}

const BASE_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 20_000;

export class GitHubClient {
  readonly stats: ClientStats = { requests: 0, notModified: 0, retries: 0, rateLimitWaits: 0, waitedMs: 0 };
  /** The primary quota as the latest answer reported it (for the run's ETA). */
  lastQuota: { limit: number; remaining: number; reset: number } | null = null;
  readonly #o: Required<Omit<ClientOptions, "fetcher" | "token">> & { fetcher: Fetcher; token: string | undefined };
  /** Permits being returned: the page does not wait for its permit's return, the job's end does (`settle`). */
  readonly #returning = new Set<Promise<void>>();
  readonly #origin: string;

  constructor(options: ClientOptions) {
    this.#o = {
      apiUrl: options.apiUrl,
      token: options.token,
      permits: options.permits,
      timeoutMs: options.timeoutMs ?? 30_000,
      maxAttempts: options.maxAttempts ?? 4,
      maxHoldMs: options.maxHoldMs ?? 30_000,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: options.random ?? Math.random,
      // The arrow wrapper matters: a bare `fetch` stored on an object throws "Illegal invocation" in workerd.
      fetcher: options.fetcher ?? ((input, init) => fetch(input, init)),
    };
    this.#origin = new URL(this.#o.apiUrl).origin;
  }

  /** Absolute URL for an API path (`/repos/o/r/issues?…`) or a `Link` URL, refusing any other host: the token must never leave. */
  resolve(pathOrUrl: string): string {
    const url = new URL(pathOrUrl.startsWith("http") ? pathOrUrl : `${this.#o.apiUrl}${pathOrUrl}`);
    if (url.origin !== this.#origin) throw new GitHubError(0, url.pathname, `refusing to follow a URL outside ${this.#origin}`);
    return url.toString();
  }

  /** GET one page. Returns 200 or 304 (when `etag` matches); throws GitHubError for any other final answer. */
  async get(pathOrUrl: string, opts: { accept?: string; etag?: string | null } = {}): Promise<GitHubPage> {
    const url = this.resolve(pathOrUrl);
    const path = new URL(url).pathname;
    let failures = 0;
    for (;;) {
      const { leaseId, token } = await this.#permit();
      let observation: RateObservation | null = null;
      let response: Response;
      let text: string;
      try {
        this.stats.requests++;
        response = await this.#o.fetcher(url, {
          method: "GET",
          headers: {
            Authorization: `Bearer ${token}`,
            Accept: opts.accept ?? "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": USER_AGENT,
            ...(opts.etag ? { "If-None-Match": opts.etag } : {}),
          },
          signal: AbortSignal.timeout(this.#o.timeoutMs),
        });
        text = await response.text(); // read inside the timeout: a body can hang too
        observation = observe(response, text);
      } catch (err) {
        await this.#release(leaseId, null);
        failures = await this.#backoff(failures, path, `network: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      if (response.status === 401) {
        // A revoked or expired credential: a pool retires it and the request goes out again with another one.
        const retry = (await this.#o.permits.unauthorized?.(leaseId)) ?? false;
        await this.#release(leaseId, observation);
        if (retry) continue;
        throw new GitHubError(401, path, messageOf(text, token));
      }
      this.#releaseInBackground(leaseId, observation);
      if (observation.limit !== undefined && observation.remaining !== undefined && observation.reset !== undefined && (observation.resource ?? "core") === "core" && response.status !== 401) {
        this.lastQuota = { limit: observation.limit, remaining: observation.remaining, reset: observation.reset };
      }

      if (observation.kind !== "ok") {
        this.stats.rateLimitWaits++;
        continue; // the bucket now holds a penalty; the next #permit() waits it out (or hands the message back)
      }
      if (response.status === 304) {
        this.stats.notModified++;
        return { status: 304, url, body: null, etag: response.headers.get("etag"), next: null };
      }
      if (response.status >= 500 || response.status === 408) {
        failures = await this.#backoff(failures, path, `HTTP ${response.status}`);
        continue;
      }
      if (response.status < 200 || response.status >= 300) {
        throw new GitHubError(response.status, path, messageOf(text, token));
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        // A 200 with a truncated or HTML body is a glitch on the way, not data: fetch the page again.
        failures = await this.#backoff(failures, path, "unparseable JSON body");
        continue;
      }
      const links = parseLink(response.headers.get("link"));
      return { status: 200, url, body, etag: response.headers.get("etag"), next: links.next ? this.resolve(links.next) : null, last: links.last ?? null };
    }
  }

  /** A permit, waiting for it as long as `maxHoldMs` allows: the limiter holds the call while the wait is short; a
   *  longer one is thrown as RateLimitWait so the queue message is handed back. A limiter that cannot be reached (a
   *  bucket being restarted) is asked again with backoff. */
  async #permit(): Promise<{ leaseId: string; token: string }> {
    let unreachable = 0;
    for (;;) {
      const started = Date.now();
      let grant: PermitGrant;
      try {
        grant = await this.#o.permits.acquire(this.#o.maxHoldMs);
      } catch (err) {
        if (err instanceof RateLimitWait || err instanceof GitHubError) throw err;
        unreachable = await this.#backoff(unreachable, "(rate limiter)", `unreachable: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      } finally {
        this.stats.waitedMs += Date.now() - started;
      }
      if (grant.granted) {
        const token = grant.token ?? this.#o.token;
        if (!token) throw new GitHubError(401, "/", "no GitHub credential configured");
        return { leaseId: grant.leaseId, token };
      }
      if (grant.retryAfterMs > this.#o.maxHoldMs) throw new RateLimitWait(Date.now() + grant.retryAfterMs, grant.reason);
      this.stats.waitedMs += grant.retryAfterMs;
      await this.#o.sleep(grant.retryAfterMs);
    }
  }

  /** Waits until every permit this client used is back with its bucket (call before the job ends). */
  async settle(): Promise<void> {
    while (this.#returning.size > 0) await Promise.all(this.#returning);
    await this.#o.permits.flush?.().catch(() => undefined);
  }

  #releaseInBackground(leaseId: string, observation: RateObservation | null): void {
    const returning = this.#release(leaseId, observation).finally(() => this.#returning.delete(returning));
    this.#returning.add(returning);
  }

  /** Returns a permit; a failed report is tried once more, then left to the lease's expiry (it never fails a page). */
  async #release(leaseId: string, observation: RateObservation | null): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.#o.permits.release(leaseId, observation);
        return;
      } catch {
        /* the bucket is restarting: once more */
      }
    }
  }

  /** Exponential backoff with full jitter; throws a retryable GitHubError once the attempts are spent. */
  async #backoff(failures: number, path: string, why: string): Promise<number> {
    const attempt = failures + 1;
    if (attempt >= this.#o.maxAttempts) throw new GitHubError(0, path, `${why} (after ${attempt} attempts)`, true);
    this.stats.retries++;
    const cap = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** failures);
    await this.#o.sleep(Math.round(cap / 2 + (this.#o.random() * cap) / 2));
    return attempt;
  }
}

function num(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** Shapes of credentials whatever their value: GitHub tokens (`ghp_`, `ghs_` installation tokens, …), JWTs, PEM keys. */
const CREDENTIAL_SHAPES = [
  /\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{22,})/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
];

/** `text` with every copy of each secret blanked (longest first, so no part of one survives another's blanking), and
 *  anything shaped like a credential too: an upstream that echoes what it was sent (a proxy's error page, an API
 *  quoting a bad JWT) must not put a credential in logs, errors or the API. */
export function redact(text: string, secrets: ReadonlyArray<string | undefined> = []): string {
  let out = text;
  for (const secret of [...secrets].filter((x): x is string => !!x).sort((a, b) => b.length - a.length)) out = out.replaceAll(secret, "[redacted]");
  for (const shape of CREDENTIAL_SHAPES) out = out.replace(shape, "[redacted]");
  return out;
}

/** The message of an error answer, with the credentials the request carried (`secrets`) redacted. */
export function messageOf(text: string, ...secrets: Array<string | undefined>): string {
  const clean = (m: string) => redact(m, secrets);
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body?.message === "string") return clean(body.message);
  } catch {
    /* not JSON: fall through */
  }
  return clean(text).replace(/\s+/g, " ").slice(0, 200);
}

/** Reads GitHub's rate-limit headers and classifies a refusal as GitHub documents it:
 *  403/429 with `x-ratelimit-remaining: 0` → primary exhausted; with `retry-after` or a "secondary rate limit"
 *  message (or a bare 429) → secondary limit. Other 403s (permissions, restricted stargazers) are not rate limits. */
export function observe(response: Response, text: string): RateObservation {
  const h = response.headers;
  const obs: RateObservation = {
    status: response.status,
    limit: num(h.get("x-ratelimit-limit")),
    remaining: num(h.get("x-ratelimit-remaining")),
    used: num(h.get("x-ratelimit-used")),
    reset: num(h.get("x-ratelimit-reset")),
    resource: h.get("x-ratelimit-resource") ?? undefined,
    retryAfterSec: num(h.get("retry-after")),
    kind: "ok",
  };
  if (response.status === 403 || response.status === 429) {
    const message = messageOf(text);
    if (/secondary rate limit|abuse/i.test(message) || obs.retryAfterSec !== undefined) obs.kind = "secondary";
    else if (obs.remaining === 0 || /rate limit exceeded/i.test(message)) obs.kind = "primary";
    else if (response.status === 429) obs.kind = "secondary";
  }
  return obs;
}
