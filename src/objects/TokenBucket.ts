import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../config";
import type { PermitGrant, RateObservation } from "../github/client";
import { log } from "../log";
import { migrate } from "./migrate";

/** One per quota identity (`getByName("tok:<hash>")`, never a raw token). Responsibilities: hand out permits to every
 *  fetcher isolate so that together they stay within GitHub's limits for that identity — the primary budget as GitHub
 *  last reported it (minus a reserve), requests in flight (leases that expire, so a crashed isolate's permits come
 *  back), requests started per sliding minute, and penalties after a rate-limit answer that pause the whole fleet.
 *  All state is in SQLite: an evicted or restarted bucket resumes without over-granting.
 *
 *  Every RPC method reads and writes SQLite with no `await` in between, so the input gate makes each grant atomic. */

const MIGRATIONS = [
  `CREATE TABLE bucket (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     quota_limit INTEGER,              -- x-ratelimit-limit; NULL until GitHub first answers
     remaining_est INTEGER,            -- what we believe is left in this window, net of our own permits in flight
     max_used INTEGER NOT NULL DEFAULT 0, -- highest x-ratelimit-used seen in this window: older reports are stale
     reset_at_ms INTEGER NOT NULL DEFAULT 0,
     penalty_until_ms INTEGER NOT NULL DEFAULT 0,
     penalty_reason TEXT,
     strikes INTEGER NOT NULL DEFAULT 0,
     last_penalty_ms INTEGER NOT NULL DEFAULT 0,
     granted_total INTEGER NOT NULL DEFAULT 0,
     refused_total INTEGER NOT NULL DEFAULT 0,
     penalties_total INTEGER NOT NULL DEFAULT 0);
   INSERT INTO bucket (id) VALUES (1);
   CREATE TABLE lease (id TEXT PRIMARY KEY, granted_at_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL);
   CREATE TABLE start_log (ts_ms INTEGER NOT NULL);
   CREATE INDEX start_log_ts ON start_log (ts_ms);`,
] as const;

/** A permit not returned within this time (a crashed or evicted isolate) is reclaimed. Longer than the client timeout. */
const LEASE_TTL_MS = 90_000;
const MINUTE_MS = 60_000;
/** GitHub: without retry-after, wait at least a minute after a secondary limit, and longer if it repeats. */
const MIN_SECONDARY_PENALTY_MS = 60_000;
const MAX_SECONDARY_PENALTY_MS = 15 * 60_000;
/** Strikes are forgiven after this long without a penalty. */
const STRIKE_MEMORY_MS = 15 * 60_000;
/** Poll hint when only the in-flight cap is full: permits come back within a request's latency. */
const BUSY_RETRY_MS = 100;

interface BucketRow {
  quota_limit: number | null;
  remaining_est: number | null;
  max_used: number;
  reset_at_ms: number;
  penalty_until_ms: number;
  penalty_reason: string | null;
  strikes: number;
  last_penalty_ms: number;
  granted_total: number;
  refused_total: number;
  penalties_total: number;
  [key: string]: SqlStorageValue;
}

export interface BucketSnapshot {
  name: string;
  limit: number | null;
  remaining: number | null;
  resetAt: string | null;
  inFlight: number;
  lastMinute: number;
  penaltyUntil: string | null;
  penaltyReason: string | null;
  maxConcurrent: number;
  maxPerMinute: number;
  reserve: number;
  granted: number;
  refused: number;
  penalties: number;
}

export class TokenBucket extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => migrate(ctx.storage, MIGRATIONS));
  }

  /** RPC. One permit now, or how long to wait before asking again. Never throws for a refusal. */
  async acquire(): Promise<PermitGrant> {
    const now = Date.now();
    const cfg = readConfig(this.env);
    const sql = this.ctx.storage.sql;
    sql.exec("DELETE FROM lease WHERE expires_at_ms <= ?", now);
    sql.exec("DELETE FROM start_log WHERE ts_ms <= ?", now - MINUTE_MS);
    const b = this.#row();
    const refuse = (retryAfterMs: number, reason: string): PermitGrant => {
      sql.exec("UPDATE bucket SET refused_total = refused_total + 1 WHERE id = 1");
      return { granted: false, retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)), reason };
    };

    if (b.penalty_until_ms > now) return refuse(b.penalty_until_ms - now, `penalty: ${b.penalty_reason ?? "rate limited"}`);

    // The window GitHub last told us about has ended: the full limit is back (GitHub starts the next window on first use).
    if (b.reset_at_ms > 0 && now >= b.reset_at_ms && b.quota_limit !== null) {
      sql.exec("UPDATE bucket SET remaining_est = quota_limit, max_used = 0, reset_at_ms = 0 WHERE id = 1");
      b.remaining_est = b.quota_limit;
      b.max_used = 0;
      b.reset_at_ms = 0;
    }

    const inFlight = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM lease").one().n;
    // Until GitHub has told us the budget, let one request out at a time: the first answer teaches the limit.
    const maxInFlight = b.quota_limit === null ? 1 : cfg.rateMaxConcurrent;
    if (inFlight >= maxInFlight) return refuse(BUSY_RETRY_MS, "in flight");

    if (b.remaining_est !== null && b.remaining_est - cfg.rateReserve <= 0) {
      const wait = b.reset_at_ms > now ? b.reset_at_ms - now + 1_000 : MIN_SECONDARY_PENALTY_MS;
      return refuse(wait, "primary budget spent (reserve kept)");
    }

    const started = sql.exec<{ n: number; oldest: number | null }>("SELECT COUNT(*) AS n, MIN(ts_ms) AS oldest FROM start_log").one();
    if (started.n >= cfg.rateMaxPerMinute) return refuse((started.oldest ?? now) + MINUTE_MS - now, "per-minute cap");

    const leaseId = crypto.randomUUID();
    sql.exec("INSERT INTO lease (id, granted_at_ms, expires_at_ms) VALUES (?, ?, ?)", leaseId, now, now + LEASE_TTL_MS);
    sql.exec("INSERT INTO start_log (ts_ms) VALUES (?)", now);
    sql.exec(
      "UPDATE bucket SET granted_total = granted_total + 1, remaining_est = CASE WHEN remaining_est IS NULL THEN NULL ELSE remaining_est - 1 END WHERE id = 1",
    );
    return { granted: true, leaseId };
  }

  /** RPC. Returns a permit with what GitHub's answer said (null when no answer came: network error, timeout). */
  async release(leaseId: string, obs: RateObservation | null): Promise<void> {
    const now = Date.now();
    const sql = this.ctx.storage.sql;
    sql.exec("DELETE FROM lease WHERE id = ?", leaseId);
    if (!obs) return;
    // A 401 carries the unauthenticated quota's headers (60/h), not this identity's: never fold them in.
    if (obs.status !== 401 && (obs.resource === undefined || obs.resource === "core")) this.#reconcile(obs, now);
    if (obs.kind !== "ok") this.#penalise(obs, now);
  }

  /** RPC. State for `GET /ratelimit` (no token in it: the name is a hash). */
  async snapshot(): Promise<BucketSnapshot> {
    const now = Date.now();
    const cfg = readConfig(this.env);
    const sql = this.ctx.storage.sql;
    const b = this.#row();
    const inFlight = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM lease WHERE expires_at_ms > ?", now).one().n;
    const lastMinute = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM start_log WHERE ts_ms > ?", now - MINUTE_MS).one().n;
    return {
      name: this.ctx.id.name ?? "",
      limit: b.quota_limit,
      remaining: b.remaining_est,
      resetAt: b.reset_at_ms > 0 ? new Date(b.reset_at_ms).toISOString() : null,
      inFlight,
      lastMinute,
      penaltyUntil: b.penalty_until_ms > now ? new Date(b.penalty_until_ms).toISOString() : null,
      penaltyReason: b.penalty_until_ms > now ? b.penalty_reason : null,
      maxConcurrent: cfg.rateMaxConcurrent,
      maxPerMinute: cfg.rateMaxPerMinute,
      reserve: cfg.rateReserve,
      granted: b.granted_total,
      refused: b.refused_total,
      penalties: b.penalties_total,
    };
  }

  #row(): BucketRow {
    return this.ctx.storage.sql.exec<BucketRow>("SELECT * FROM bucket WHERE id = 1").one();
  }

  /** Folds GitHub's view of the primary window into ours. Reports can arrive out of order: `x-ratelimit-used` only grows
   *  within a window, so a report with a smaller `used` than one already seen is stale and ignored. Permits still in
   *  flight are subtracted (some may already be counted by GitHub: that errs on the safe side and heals on the next report). */
  #reconcile(obs: RateObservation, now: number): void {
    if (obs.limit === undefined || obs.remaining === undefined || obs.reset === undefined) return;
    const sql = this.ctx.storage.sql;
    const b = this.#row();
    const resetMs = obs.reset * 1000;
    if (resetMs <= now) return; // a report about a window that has already ended
    const inFlight = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM lease").one().n;
    const used = obs.used ?? obs.limit - obs.remaining;
    const sameWindow = b.reset_at_ms !== 0 && Math.abs(resetMs - b.reset_at_ms) < 2_000;
    if (sameWindow && used < b.max_used) return;
    if (!sameWindow && b.reset_at_ms !== 0 && resetMs < b.reset_at_ms) return; // older window
    sql.exec(
      "UPDATE bucket SET quota_limit = ?, remaining_est = ?, max_used = ?, reset_at_ms = ? WHERE id = 1",
      obs.limit,
      obs.remaining - inFlight,
      used,
      resetMs,
    );
  }

  #penalise(obs: RateObservation, now: number): void {
    const sql = this.ctx.storage.sql;
    const b = this.#row();
    const strikes = now - b.last_penalty_ms > STRIKE_MEMORY_MS ? 1 : b.strikes + 1;
    let until: number;
    let reason: string;
    if (obs.kind === "secondary") {
      reason = `secondary rate limit (HTTP ${obs.status})`;
      until = obs.retryAfterSec !== undefined
        ? now + obs.retryAfterSec * 1000
        : now + Math.min(MAX_SECONDARY_PENALTY_MS, MIN_SECONDARY_PENALTY_MS * 2 ** (strikes - 1));
      if (obs.remaining === 0 && obs.reset !== undefined) until = Math.max(until, obs.reset * 1000 + 1000);
    } else {
      reason = `primary rate limit exhausted (HTTP ${obs.status})`;
      until = obs.reset !== undefined ? obs.reset * 1000 + 1000 : now + MIN_SECONDARY_PENALTY_MS;
      sql.exec("UPDATE bucket SET remaining_est = 0 WHERE id = 1");
    }
    until = Math.max(until, b.penalty_until_ms);
    sql.exec(
      "UPDATE bucket SET penalty_until_ms = ?, penalty_reason = ?, strikes = ?, last_penalty_ms = ?, penalties_total = penalties_total + 1 WHERE id = 1",
      until,
      reason,
      strikes,
      now,
    );
    log("ratelimit.penalty", { bucket: this.ctx.id.name, reason, until: new Date(until).toISOString(), strikes }, "warn");
  }
}
