/** The credential pool. Responsibilities: turn the configured credentials — GITHUB_TOKEN (one or several tokens,
 *  comma-separated) and a GitHub App's installations — into one permit source for the GitHub client. Each quota
 *  identity has one TokenBucket; each request takes its permit from the bucket with the most headroom (free slots
 *  first, then budget left), so throughput grows with the number of identities, and goes out with a credential of that
 *  identity. A credential GitHub refuses (401) is retired fleet-wide while the others carry on; an installation token
 *  is minted once, shared through the QuotaRegistry, and replaced before it expires. Also the `GET /ratelimit` view. */
import { readConfig } from "../config";
import { log } from "../log";
import type { Headroom } from "../objects/ledger";
import type { BucketSnapshot } from "../objects/TokenBucket";
import { REFRESH_BEFORE_MS, appCredentials, mintInstallationToken, type AppCredentials, type InstallationToken } from "./app";
import { GitHubClient, type Fetcher, type PermitGrant, type Permits, type RateObservation } from "./client";
import { GitHubError } from "./errors";
import { identify, registry, retire, type Identity } from "./identity";
import { BucketLink, tokenHash, type SingleGrant } from "./permits";

export interface PoolDeps {
  fetcher?: Fetcher;
  sleep?: (ms: number) => Promise<void>;
}

interface Credential {
  /** `tok:<hash>` or `app:<installationId>`: what logs and GET /ratelimit show. */
  id: string;
  kind: "token" | "app";
  token(): Promise<string>;
  installationId?: number;
}

interface Member {
  bucket: string;
  label: string;
  link: BucketLink;
  credentials: Credential[];
  next: number;
}

/** With several identities, a bucket holds a caller at most this long before the pool looks at the others again. */
const POOL_HOLD_MS = 2_000;

/** Per isolate, plain data only (safe to share between requests): the last headroom each bucket reported. */
const headrooms = new Map<string, { headroom: Headroom; atMs: number }>();
/** Per isolate: installation tokens in hand. */
const appTokens = new Map<number, InstallationToken>();
/** Bucket links per batch scope (the deps object of one queue batch): its concurrent requests share one acquire call.
 *  Links hold DO stubs, which belong to the request that made them, so they are never shared between batches. */
const scopes = new WeakMap<object, Map<string, BucketLink>>();

/** A GitHub client for one job, drawing permits from the pool. A job of an App installation (FetchJob.installation)
 *  is pinned to that installation's bucket: another installation's token would get 404 for its private repositories.
 *  Otherwise discovery (`/user/repos`, whose answer depends on the user) is pinned to the first token, so its pages are
 *  one user's listing. */
export async function clientFor(env: Env, deps: PoolDeps = {}, job?: { resource: string; repos?: string[]; installation?: number }): Promise<GitHubClient> {
  const cfg = readConfig(env);
  const pin = job?.installation !== undefined
    ? { pinBucket: `app:${job.installation}` }
    : { pinFirst: job?.resource === "repositories" && !job.repos };
  const permits = await CredentialPool.open(env, deps, pin);
  return new GitHubClient({ apiUrl: cfg.apiUrl, permits, fetcher: deps.fetcher, sleep: deps.sleep, timeoutMs: cfg.timeoutMs });
}

export class CredentialPool implements Permits {
  readonly #members: Member[];
  readonly #leases = new Map<string, { member: Member; credential: Credential }>();
  readonly #refreshedApp = new Set<string>();

  /** Every link this pool drew from, retired members' too (their returns must still be sent). */
  readonly #links: BucketLink[];

  private constructor(readonly env: Env, members: Member[]) {
    this.#members = members;
    this.#links = members.map((m) => m.link);
  }

  /** The pool of `tokens` (default: GITHUB_TOKEN) and the env's GitHub App, identities resolved. `pinFirst`: the first
   *  token only; `pinBucket`: that bucket's credentials only (e.g. `app:<installationId>`). */
  static async open(env: Env, deps: PoolDeps = {}, options: { pinFirst?: boolean; pinBucket?: string; tokens?: string[] } = {}): Promise<CredentialPool> {
    const cfg = readConfig(env);
    const fetcher: Fetcher = deps.fetcher ?? ((input, init) => fetch(input, init));
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const tokens = [...new Set(options.tokens ?? cfg.tokens)];
    const app = appCredentials(env);

    const found: Array<{ bucket: string; label: string; credential: Credential }> = [];
    const identities = tokens.length > 0 ? await identify(env, cfg.apiUrl, tokens, fetcher, sleep) : [];
    identities.forEach((identity, i) => {
      if (identity.retired) return;
      const token = tokens[i]!;
      found.push({ bucket: identity.bucket, label: identity.label, credential: { id: identity.hash, kind: "token", token: async () => token } });
    });
    for (const installationId of app?.installationIds ?? []) {
      const id = `app:${installationId}`;
      found.push({
        bucket: id,
        label: `installation ${installationId}`,
        credential: { id, kind: "app", installationId, token: () => installationToken(env, cfg.apiUrl, app!, installationId, fetcher) },
      });
    }
    if (found.length === 0) {
      throw new GitHubError(401, "/", tokens.length > 0 || app ? "every configured GitHub credential was refused (401)" : "no GitHub credential configured (GITHUB_TOKEN or a GitHub App)");
    }
    let chosen = options.pinFirst ? [found.find((f) => f.credential.kind === "token") ?? found[0]!] : found;
    if (options.pinBucket !== undefined) {
      chosen = found.filter((f) => f.bucket === options.pinBucket);
      // Final: retrying cannot bring back an installation that left the configuration (or a token GitHub refused).
      if (chosen.length === 0) throw new GitHubError(401, "/", `credential ${options.pinBucket} is not configured (or was refused)`);
    }

    let links = new Map<string, BucketLink>();
    if (deps && typeof deps === "object") {
      links = scopes.get(deps) ?? links;
      scopes.set(deps, links);
    }
    const members = new Map<string, Member>();
    for (const f of chosen) {
      let member = members.get(f.bucket);
      if (!member) {
        let link = links.get(f.bucket);
        if (!link) {
          const bucket = f.bucket;
          link = new BucketLink(bucket, env.TOKEN_BUCKET.getByName(bucket), (headroom) => headrooms.set(bucket, { headroom, atMs: Date.now() }));
          links.set(f.bucket, link);
        }
        member = { bucket: f.bucket, label: f.label, link, credentials: [], next: 0 };
        members.set(f.bucket, member);
      }
      member.credentials.push(f.credential);
    }
    return new CredentialPool(env, [...members.values()]);
  }

  /** The quota identities in this pool (bucket names). */
  get buckets(): string[] {
    return this.#members.map((m) => m.bucket);
  }

  /** A permit from the bucket with the most headroom; with several identities, the others are tried when it would
   *  make the request wait. A refusal is the shortest wait any bucket asked for. */
  async acquire(maxWaitMs: number): Promise<PermitGrant> {
    const now = Date.now();
    const ranked = this.#members
      .map((m) => ({ m, score: score(headrooms.get(m.bucket)?.headroom, now), tie: Math.random() }))
      .sort((a, b) => b.score - a.score || a.tie - b.tie)
      .map((r) => r.m);
    const hold = ranked.length > 1 ? Math.min(maxWaitMs, POOL_HOLD_MS) : maxWaitMs;
    let best: Extract<SingleGrant, { granted: false }> | null = null;
    for (const member of ranked) {
      const grant = await member.link.acquire(hold);
      headrooms.set(member.bucket, { headroom: grant.headroom, atMs: Date.now() });
      if (grant.granted) {
        const credential = member.credentials[member.next++ % member.credentials.length]!;
        let token: string;
        try {
          token = await credential.token();
        } catch (err) {
          await member.link.returnUnused(grant.leaseId).catch(() => undefined);
          throw err;
        }
        this.#leases.set(grant.leaseId, { member, credential });
        return { granted: true, leaseId: grant.leaseId, token };
      }
      if (!best || grant.retryAfterMs < best.retryAfterMs) best = grant;
    }
    return { granted: false, retryAfterMs: best!.retryAfterMs, reason: best!.reason };
  }

  async release(leaseId: string, observation: RateObservation | null): Promise<void> {
    const entry = this.#leases.get(leaseId);
    if (!entry) return;
    this.#leases.delete(leaseId);
    const bucket = entry.member.bucket;
    const answer = await entry.member.link.release(leaseId, observation);
    if (answer) {
      headrooms.set(bucket, { headroom: answer.headroom, atMs: Date.now() });
      return;
    }
    // The return rides with a later call: count the slot free now, or the bucket would look full (as it was when this
    // permit was granted) and lose every choice to the others until someone asks it again.
    const known = headrooms.get(bucket);
    if (known) headrooms.set(bucket, { ...known, headroom: { ...known.headroom, freeSlots: known.headroom.freeSlots + 1 } });
  }

  async flush(): Promise<void> {
    await Promise.all(this.#links.map((link) => link.flush()));
  }

  /** GitHub refused the credential (401). An installation token is minted afresh once; a personal token is retired
   *  (fleet-wide, through the registry). True when the pool still has a credential to retry with. */
  async unauthorized(leaseId: string): Promise<boolean> {
    const entry = this.#leases.get(leaseId);
    if (!entry) return false;
    const { member, credential } = entry;
    if (credential.kind === "app" && !this.#refreshedApp.has(credential.id)) {
      this.#refreshedApp.add(credential.id);
      const token = await credential.token();
      appTokens.delete(credential.installationId!);
      await registry(this.env).dropInstallationToken(credential.installationId!, token).catch(() => undefined);
      return true;
    }
    member.credentials = member.credentials.filter((c) => c !== credential);
    if (member.credentials.length === 0) this.#members.splice(this.#members.indexOf(member), 1);
    log("credential.retired", { credential: credential.id, bucket: member.bucket, reason: "401 Bad credentials" }, "warn");
    if (credential.kind === "token") await retire(this.env, credential.id, "401 Bad credentials");
    return this.#members.length > 0;
  }
}

/** Higher is better: a bucket with a free slot first, then the larger share of its window left; unknown ones are tried
 *  (a fresh identity); blocked ones last, the soonest free first. */
function score(h: Headroom | undefined, now: number): number {
  if (!h) return 3;
  if (h.blockedUntilMs > now) return -1 - (h.blockedUntilMs - now) / 1e10;
  const share = h.budget === null ? 1 : h.limit ? Math.min(1, h.budget / h.limit) : 0;
  if (h.budget === 0) return -1;
  return (h.freeSlots > 0 ? 1 : 0) + share;
}

/** The installation's access token: this isolate's, else the fleet's (registry), else a new one, minted and shared. */
async function installationToken(env: Env, apiUrl: string, app: AppCredentials, installationId: number, fetcher: Fetcher): Promise<string> {
  const now = Date.now();
  const inHand = appTokens.get(installationId);
  if (inHand && inHand.expiresAtMs - now > REFRESH_BEFORE_MS) return inHand.token;
  const reg = registry(env);
  let token: InstallationToken | null = await reg.installationToken(installationId).catch(() => null);
  if (!token) {
    token = await mintInstallationToken(apiUrl, app, installationId, fetcher);
    log("app.token_minted", { installation: installationId, expiresAt: new Date(token.expiresAtMs).toISOString() });
    await reg.storeInstallationToken(installationId, token).catch(() => undefined);
  }
  appTokens.set(installationId, token);
  return token.token;
}

export interface CredentialView {
  /** `tok:<hash>` (never the token) or `app:<installationId>`. */
  id: string;
  kind: "token" | "app";
  bucket: string | null;
  identity: string | null;
  retired: boolean;
}

/** GET /ratelimit: every bucket of the configured credentials, with which credentials spend it. A token nobody has
 *  used yet is identified now (one `GET /user`, once); if GitHub cannot be asked, it shows with `bucket: null`. */
export async function rateLimitView(env: Env): Promise<{ buckets: Array<BucketSnapshot & { credentials: string[] }>; credentials: CredentialView[] }> {
  const cfg = readConfig(env);
  const tokens = [...new Set(cfg.tokens)];
  const hashes = await Promise.all(tokens.map(tokenHash));
  let identities: Identity[] | null = null;
  try {
    identities = await identify(env, cfg.apiUrl, tokens, (input, init) => fetch(input, init), async () => {});
  } catch {
    /* GitHub unreachable: show what the registry knows */
  }
  const records = new Map((await registry(env).lookup(hashes)).map((r) => [r.hash, r]));
  const credentials: CredentialView[] = hashes.map((id, i) => {
    const known = identities?.[i];
    if (known) return { id, kind: "token", bucket: known.retired ? null : known.bucket, identity: known.retired ? null : known.label, retired: known.retired };
    const r = records.get(id);
    return { id, kind: "token", bucket: r?.bucket ?? null, identity: r?.label ?? null, retired: r?.retiredAtMs != null };
  });
  let app: AppCredentials | null = null;
  try {
    app = appCredentials(env);
  } catch {
    /* half-configured: the fetchers report it */
  }
  for (const id of app?.installationIds ?? []) credentials.push({ id: `app:${id}`, kind: "app", bucket: `app:${id}`, identity: `installation ${id}`, retired: false });
  const names = [...new Set(credentials.map((c) => c.bucket).filter((b): b is string => b !== null))];
  const buckets = await Promise.all(names.map(async (name) => ({
    ...(await env.TOKEN_BUCKET.getByName(name).snapshot()),
    credentials: credentials.filter((c) => c.bucket === name).map((c) => c.id),
  })));
  return { buckets, credentials };
}
