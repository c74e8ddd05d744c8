/** Whose quota a personal token spends. GitHub counts the primary quota per user (or App installation), not per token:
 *  two tokens of one user share one budget, so they must share one TokenBucket. Responsibilities: find the user behind
 *  a token once (`GET /user`), remember it fleet-wide in the QuotaRegistry (keyed by the token's hash, never the token)
 *  and per isolate, fold that answer's quota headers into the bucket, and tell revoked tokens (401) apart. */
import { readConfig } from "../config";
import { observe, type Fetcher } from "./client";
import { GitHubError } from "./errors";
import { tokenHash } from "./permits";
import { USER_AGENT } from "../version";

export type Identity =
  | { hash: string; bucket: string; label: string; retired: false }
  | { hash: string; retired: true; reason: string };

/** A 401 keeps a credential out of the pool this long; then it is looked up again (a fixed secret comes back). */
export const RETIRED_FOR_MS = 60 * 60_000;
const LOOKUP_ATTEMPTS = 3;

/** Per isolate: hash → identity (plain data only, safe to share between requests). */
const known = new Map<string, Identity & { atMs: number }>();

export function registry(env: Env) {
  return env.QUOTA_REGISTRY.getByName("registry");
}

/** Forgets what this isolate knows (tests). */
export function forgetIdentities(): void {
  known.clear();
}

/** Marks a credential refused (401), here and fleet-wide. */
export async function retire(env: Env, hash: string, reason: string): Promise<void> {
  known.set(hash, { hash, retired: true, reason, atMs: Date.now() });
  try {
    await registry(env).retire(hash, reason);
  } catch {
    /* this isolate stops using it anyway; others learn it from their own 401 */
  }
}

/** The quota identities of these tokens, in the same order: from this isolate's memory, then the registry, then
 *  `GET /user` for the ones nobody has seen yet. */
export async function identify(env: Env, apiUrl: string, tokens: string[], fetcher: Fetcher, sleep: (ms: number) => Promise<void>): Promise<Identity[]> {
  const hashes = await Promise.all(tokens.map(tokenHash));
  const now = Date.now();
  const fresh = (h: string) => {
    const k = known.get(h);
    return k && (!k.retired || now - k.atMs < RETIRED_FOR_MS) ? k : undefined;
  };
  const missing = [...new Set(hashes.filter((h) => !fresh(h)))];
  if (missing.length > 0) {
    for (const r of await registry(env).lookup(missing)) {
      if (r.retiredAtMs !== null && now - r.retiredAtMs < RETIRED_FOR_MS) {
        known.set(r.hash, { hash: r.hash, retired: true, reason: r.retiredReason ?? "401", atMs: r.retiredAtMs });
      } else if (r.retiredAtMs === null && r.bucket) {
        known.set(r.hash, { hash: r.hash, bucket: r.bucket, label: r.label ?? r.bucket, retired: false, atMs: now });
      }
    }
  }
  await Promise.all(tokens.map(async (token, i) => {
    const hash = hashes[i]!;
    if (fresh(hash)) return;
    const found = await lookupUser(env, apiUrl, token, hash, fetcher, sleep);
    known.set(hash, { ...found, atMs: Date.now() });
    if (found.retired) await retire(env, hash, found.reason);
    else await registry(env).record(hash, found.bucket, found.label);
  }));
  return hashes.map((h) => {
    const { atMs: _atMs, ...identity } = known.get(h)!;
    return identity;
  });
}

/** `GET /user` with the token. Its quota headers go to the bucket (this request had no permit: it is the one request
 *  per token that cannot, and RATE_RESERVE covers it). */
async function lookupUser(env: Env, apiUrl: string, token: string, hash: string, fetcher: Fetcher, sleep: (ms: number) => Promise<void>): Promise<Identity> {
  let lastError = "";
  for (let attempt = 1; attempt <= LOOKUP_ATTEMPTS; attempt++) {
    let response: Response;
    let text: string;
    try {
      response = await fetcher(`${apiUrl}/user`, {
        method: "GET",
        headers: { Authorization: `Bearer ${token}`, Accept: "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28", "User-Agent": USER_AGENT },
        signal: AbortSignal.timeout(readConfig(env).timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      await sleep(500 * 2 ** attempt);
      continue;
    }
    if (response.status === 401) return { hash, retired: true, reason: "401 Bad credentials on GET /user" };
    const obs = observe(response, text);
    if (response.status >= 500 || obs.kind !== "ok") {
      lastError = `HTTP ${response.status}${obs.kind !== "ok" ? ` (${obs.kind} rate limit)` : ""}`;
      await sleep(obs.retryAfterSec !== undefined ? obs.retryAfterSec * 1000 : 500 * 2 ** attempt);
      continue;
    }
    let bucket = hash; // GitHub would not say whose token it is (an installation token, SSO): a bucket of its own
    let label = `unresolved ${hash}`;
    if (response.status === 200) {
      let body: { id?: unknown; login?: unknown } | null;
      try {
        body = JSON.parse(text) as { id?: unknown; login?: unknown } | null;
      } catch {
        lastError = "unparseable JSON body"; // cut short or an HTML page on the way: ask again, as the client does
        await sleep(500 * 2 ** attempt);
        continue;
      }
      if (typeof body?.id === "number") {
        bucket = `user:${body.id}`;
        label = typeof body.login === "string" ? body.login : bucket;
      }
    }
    {
      try {
        await env.TOKEN_BUCKET.getByName(bucket).observe(obs);
      } catch {
        /* the next permit's report teaches the bucket the same */
      }
    }
    return { hash, bucket, label, retired: false };
  }
  throw new GitHubError(0, "/user", `identity lookup failed: ${lastError}`, true);
}
