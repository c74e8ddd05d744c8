import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../config";
import type { RateObservation } from "../github/client";
import { log } from "../log";
import { PermitLedger, initialState, type Grant, type Headroom, type Journal, type Lease, type LedgerState, type WindowRecord } from "./ledger";
import { migrate } from "./migrate";

/** One per quota identity (`getByName("user:<id>")`, `"app:<installationId>"`; never a raw token). Responsibilities:
 *  hand out permits to every fetcher isolate so that together they stay within GitHub's limits for that identity, and
 *  hold waiters (first come, first served) until a permit is free. The decisions are PermitLedger's (./ledger.ts);
 *  this object owns its SQLite persistence, the RPC surface, the timer that serves waiters when time (not a release)
 *  frees a permit, and the log lines for `wrangler tail`.
 *
 *  Every RPC method runs the ledger synchronously, so each grant is atomic. What a grant changes is buffered and written
 *  by one group commit for every call that arrived meanwhile (`#commit`): a grant's answer leaves only once its lease,
 *  start and budget are durable, so an evicted or restarted bucket resumes from SQLite without a single over-grant, but
 *  a hundred concurrent callers share one storage commit instead of paying one each. Waiters live in memory: on
 *  eviction their calls fail and the clients ask again. */

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
  // v2: the ledger's state as one JSON row (carrying over what v1 knew), starts counted per 100 ms slot, and what each
  // lease saw when granted (for learning which limit a refusal hit).
  `CREATE TABLE ledger (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL);
   INSERT INTO ledger (id, state) SELECT 1, json_object(
     'quotaLimit', quota_limit, 'remaining', remaining_est, 'maxUsed', max_used, 'resetAtMs', reset_at_ms,
     'penaltyUntilMs', penalty_until_ms, 'penaltyReason', penalty_reason, 'penaltyStartMs', last_penalty_ms,
     'strikes', strikes, 'grantedTotal', granted_total, 'refusedTotal', refused_total, 'penaltiesTotal', penalties_total)
     FROM bucket WHERE quota_limit IS NOT NULL OR penalty_until_ms > 0;
   DROP TABLE bucket;
   DROP TABLE start_log;
   CREATE TABLE start_slot (slot INTEGER PRIMARY KEY, n INTEGER NOT NULL);
   ALTER TABLE lease ADD COLUMN depth INTEGER NOT NULL DEFAULT 1;
   ALTER TABLE lease ADD COLUMN minute INTEGER NOT NULL DEFAULT 1;
   ALTER TABLE lease ADD COLUMN slot INTEGER NOT NULL DEFAULT 0;`,
] as const;

/** Refusals that ask for at least this long are logged (shorter ones are ordinary pacing). */
const LOG_WAIT_FROM_MS = 1_000;
/** A release that only brings good news (a slot freed, a higher budget, counters) is written at most this much later:
 *  its answer then need not wait for a storage commit. Losing it in a crash only under-grants (a lease that expires). */
const DEFERRED_WRITE_MS = 250;

/** Rows per multi-row statement: the storage API binds at most 100 parameters to one statement. */
const ROWS_PER_STATEMENT = 16;

export interface AcquireRequest {
  /** Permits wanted (a batch): the answer grants between 1 and n. Default 1. */
  n?: number;
  /** How long the call may be held waiting for its turn. 0 (default) answers at once; a longer wait than this (a
   *  penalty, a spent window) is refused at once with `retryAfterMs`, so the caller can hand its work back. */
  maxWaitMs?: number;
  /** Permits this caller is done with, returned before the new ones are granted: one call instead of two, which is how
   *  a fetcher that goes straight on to its next page halves its round trips (BucketLink sends them this way). */
  release?: ReleaseBatch[];
}

/** Permits returned together: with what GitHub's answer said, or `unused` (never sent: their budget is refunded). */
export interface ReleaseBatch {
  leaseIds: string[];
  observation: RateObservation | null;
  unused?: boolean;
}

export interface ReleaseAnswer {
  headroom: Headroom;
}

interface LeaseRow {
  id: string;
  granted_at_ms: number;
  expires_at_ms: number;
  depth: number;
  minute: number;
  slot: number;
  [key: string]: SqlStorageValue;
}

export interface BucketSnapshot {
  name: string;
  limit: number | null;
  remaining: number | null;
  resetAt: string | null;
  inFlight: number;
  waiters: number;
  lastMinute: number;
  penaltyUntil: string | null;
  penaltyReason: string | null;
  strikes: number;
  /** The in-flight cap in force now (configured ∧ learned ∧ slow start) and the learned caps alone. */
  concurrencyNow: number;
  learnedConcurrency: number;
  learnedPerMinute: number;
  slowStart: boolean;
  maxConcurrent: number;
  maxPerMinute: number;
  reserve: number;
  granted: number;
  refused: number;
  waits: number;
  penalties: number;
  unused: number;
  expired: number;
  /** The last primary windows, oldest first: used, granted, and whether the fleet waited for the reset (quota-bound). */
  windows: Array<Omit<WindowRecord, "resetAtMs"> & { resetAt: string | null }>;
}

export class TokenBucket extends DurableObject<Env> {
  #ledger!: PermitLedger;
  #dirty = false;
  /** Writes not yet made, coalesced (a lease granted and returned before the next commit is never written; starts of
   *  one slot are one upsert), and how many things this event changed that must be durable before its answer leaves
   *  (a lease, a start: what a restarted bucket must know to never over-grant). */
  readonly #unwritten = { leases: new Map<string, Lease>(), deletes: new Set<string>(), starts: new Map<number, number>(), pruneBelow: -Infinity };
  #urgent = 0;
  /** The next group commit, not yet started: every caller that joins it is answered once it is durable. */
  #group: { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #deferred: ReturnType<typeof setTimeout> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage, MIGRATIONS);
      this.#ledger = this.#load();
    });
  }

  /** RPC. Up to `n` permits now; or, held first come first served for up to `maxWaitMs`, as soon as they are free;
   *  or a refusal with how long to wait. Never throws for a refusal. */
  async acquire(request: AcquireRequest = {}): Promise<Grant> {
    const before = this.#safetyKey();
    let durable: Promise<void> | null = null;
    const grant = await new Promise<Grant>((settle) => {
      durable = this.#run(() => {
        for (const r of request.release ?? []) this.#return(r);
        this.#ledger.acquire(request.n ?? 1, Math.max(0, request.maxWaitMs ?? 0), settle);
      }, () => this.#safetyKey() === before);
    });
    // A grant (made now, or later for a held waiter) leaves only once it is written; so does a lower budget.
    if (grant.granted) await this.#commit();
    else if (durable) await durable;
    if (!grant.granted && grant.retryAfterMs >= LOG_WAIT_FROM_MS) {
      log("ratelimit.wait", { bucket: this.#name, reason: grant.reason, waitMs: grant.retryAfterMs });
    }
    return grant;
  }

  /** RPC. Returns permits with what GitHub's answer said (null when no answer came: network error, timeout), or,
   *  with `unused`, permits that were never used (their budget is refunded). Answers the bucket's headroom. */
  async release(leaseIds: string | string[], observation: RateObservation | null, options: { unused?: boolean } = {}): Promise<ReleaseAnswer> {
    const batch: ReleaseBatch = { leaseIds: Array.isArray(leaseIds) ? leaseIds : [leaseIds], observation, unused: options.unused };
    const before = this.#safetyKey();
    const durable = this.#run(() => this.#return(batch), () => this.#safetyKey() === before);
    if (durable) await durable;
    return { headroom: this.#ledger.headroom() };
  }

  /** Hands permits back to the ledger; a new penalty episode is a log line for `wrangler tail`. */
  #return({ leaseIds, observation, unused }: ReleaseBatch): void {
    for (const id of leaseIds) {
      if (unused) {
        this.#ledger.returnUnused(id);
        continue;
      }
      const event = this.#ledger.release(id, observation);
      if (event?.newEpisode) {
        log("ratelimit.penalty", {
          bucket: this.#name,
          reason: event.reason,
          until: new Date(event.untilMs).toISOString(),
          strikes: event.strikes,
          learnedConcurrency: event.learnedConcurrency,
          learnedPerMinute: event.learnedPerMinute,
        }, "warn");
      }
    }
  }

  /** RPC. Returns several batches of permits in one call (a fetcher's returns that found no acquire to ride with). */
  async returnPermits(batches: ReleaseBatch[]): Promise<ReleaseAnswer> {
    const before = this.#safetyKey();
    const durable = this.#run(() => batches.forEach((b) => this.#return(b)), () => this.#safetyKey() === before);
    if (durable) await durable;
    return { headroom: this.#ledger.headroom() };
  }

  /** RPC. Folds a report that came without a permit (an identity lookup) into the budget. */
  async observe(observation: RateObservation): Promise<void> {
    const durable = this.#run(() => this.#ledger.observe(observation));
    if (durable) await durable;
  }

  /** RPC. State for `GET /ratelimit` (no token in it: buckets are named by quota identity). */
  async snapshot(): Promise<BucketSnapshot> {
    const l = this.#ledger;
    const s = l.state;
    const now = Date.now();
    const cfg = l.limits;
    return {
      name: this.#name,
      limit: s.quotaLimit,
      remaining: s.remaining,
      resetAt: s.resetAtMs > 0 ? new Date(s.resetAtMs).toISOString() : null,
      inFlight: l.inFlight,
      waiters: l.waiting,
      lastMinute: l.minuteCount(now),
      penaltyUntil: s.penaltyUntilMs > now ? new Date(s.penaltyUntilMs).toISOString() : null,
      penaltyReason: s.penaltyUntilMs > now ? s.penaltyReason : null,
      strikes: s.strikes,
      concurrencyNow: l.concurrencyCap(),
      learnedConcurrency: Math.floor(Math.min(cfg.maxConcurrent, s.learnedConcurrency ?? Infinity)),
      learnedPerMinute: l.perMinuteCap(),
      slowStart: s.ramp > 0,
      maxConcurrent: cfg.maxConcurrent,
      maxPerMinute: cfg.maxPerMinute,
      reserve: cfg.reserve,
      granted: s.grantedTotal,
      refused: s.refusedTotal,
      waits: s.waitsTotal,
      penalties: s.penaltiesTotal,
      unused: s.unusedTotal,
      expired: s.expiredTotal,
      windows: s.windows.map(({ resetAtMs, ...w }) => ({ resetAt: resetAtMs > 0 ? new Date(resetAtMs).toISOString() : null, ...w })),
    };
  }

  get #name(): string {
    return this.ctx.id.name ?? this.ctx.id.toString();
  }

  /** Runs a ledger step and serves the waiters it may have unblocked, then re-arms the timer. Synchronous: no other
   *  event can interleave, so each grant is atomic. Returns the group commit the answer must wait for when the step
   *  granted permits or changed what must be durable; null when what changed may be written a little later
   *  (`deferrable`: only good news). */
  #run(step: () => void, deferrable?: () => boolean): Promise<void> | null {
    this.#urgent = 0;
    step();
    this.#ledger.pump();
    const later = this.#urgent === 0 && (deferrable?.() ?? false);
    this.#arm();
    if (!later) return this.#commit();
    this.#deferred ??= setTimeout(() => {
      this.#deferred = undefined;
      this.#flush();
    }, DEFERRED_WRITE_MS);
    return null;
  }

  /** The next group commit: the calls of this turn and of any that run before it starts share one storage commit.
   *  It resolves once everything buffered before it started is durable. */
  #commit(): Promise<void> {
    if (this.#group) return this.#group.promise;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#group = { promise, resolve, reject };
    setTimeout(() => {
      const group = this.#group!;
      this.#group = null;
      try {
        this.#flush();
      } catch (err) {
        group.reject(err);
        return;
      }
      this.ctx.storage.sync().then(group.resolve, group.reject);
    }, 0);
    return promise;
  }

  /** What must be durable before an answer leaves: a lower budget, another window, a penalty, lower learned caps. */
  #safetyKey(): string {
    const s = this.#ledger.state;
    return `${s.remaining}|${s.quotaLimit}|${s.resetAtMs}|${s.penaltyUntilMs}|${s.strikes}|${s.learnedConcurrency}|${s.learnedPerMinute}`;
  }

  #arm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const at = this.#ledger.wakeAt();
    if (at === null) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run(() => {});
    }, Math.max(1, at - Date.now()));
  }

  /** Writes everything buffered, in order, in this event (one implicit transaction). */
  #flush(): void {
    if (this.#deferred !== undefined) clearTimeout(this.#deferred);
    this.#deferred = undefined;
    this.#writeUnwritten();
    if (!this.#dirty) return;
    this.#dirty = false;
    this.ctx.storage.sql.exec("UPDATE ledger SET state = ? WHERE id = 1", JSON.stringify(this.#ledger.state));
  }

  /** Writes the buffered leases, deletions and starts: a few multi-row statements per commit, not three per permit. */
  #writeUnwritten(): void {
    const sql = this.ctx.storage.sql;
    const u = this.#unwritten;
    const chunks = <T>(items: T[], size: number) => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
    for (const rows of chunks([...u.leases.values()], ROWS_PER_STATEMENT)) {
      sql.exec(`INSERT INTO lease (id, granted_at_ms, expires_at_ms, depth, minute, slot) VALUES ${rows.map(() => "(?, ?, ?, ?, ?, ?)").join(", ")}`,
        ...rows.flatMap((l) => [l.id, l.grantedAtMs, l.expiresAtMs, l.depth, l.minute, l.slot]));
    }
    for (const ids of chunks([...u.deletes], ROWS_PER_STATEMENT * 6)) sql.exec(`DELETE FROM lease WHERE id IN (${ids.map(() => "?").join(", ")})`, ...ids);
    if (u.pruneBelow > -Infinity) sql.exec("DELETE FROM start_slot WHERE slot < ?", u.pruneBelow);
    const starts = [...u.starts].filter(([slot, n]) => slot >= u.pruneBelow && n !== 0);
    for (const rows of chunks(starts, ROWS_PER_STATEMENT * 3)) {
      sql.exec(`INSERT INTO start_slot (slot, n) VALUES ${rows.map(() => "(?, ?)").join(", ")} ON CONFLICT (slot) DO UPDATE SET n = n + excluded.n`, ...rows.flat());
    }
    u.leases.clear();
    u.deletes.clear();
    u.starts.clear();
    u.pruneBelow = -Infinity;
  }

  #load(): PermitLedger {
    const sql = this.ctx.storage.sql;
    const cfg = readConfig(this.env);
    const u = this.#unwritten;
    const journal: Journal = {
      saveState: () => void (this.#dirty = true),
      addLease: (l: Lease) => {
        this.#urgent++;
        u.leases.set(l.id, l);
      },
      // Forgetting a lease, a refunded start or old slots only under-grants if lost: no answer waits for them.
      deleteLease: (id) => void (u.leases.delete(id) || u.deletes.add(id)),
      addStarts: (slot, delta) => {
        if (delta > 0) this.#urgent++;
        u.starts.set(slot, (u.starts.get(slot) ?? 0) + delta);
      },
      pruneStarts: (below) => void (u.pruneBelow = Math.max(u.pruneBelow, below)),
    };
    const row = sql.exec<{ state: string }>("SELECT state FROM ledger WHERE id = 1").toArray()[0];
    const limits = { maxConcurrent: cfg.rateMaxConcurrent, maxPerMinute: cfg.rateMaxPerMinute, reserve: cfg.rateReserve };
    if (!row) {
      const ledger = new PermitLedger(limits, Date.now, journal);
      sql.exec("INSERT INTO ledger (id, state) VALUES (1, ?)", JSON.stringify(ledger.state));
      this.#dirty = false;
      return ledger;
    }
    const state: LedgerState = { ...initialState(), ...(JSON.parse(row.state) as Partial<LedgerState>) };
    const leases = sql.exec<LeaseRow>("SELECT * FROM lease").toArray().map((r) => ({
      id: r.id, grantedAtMs: r.granted_at_ms, expiresAtMs: r.expires_at_ms, depth: r.depth, minute: r.minute, slot: r.slot,
    }));
    const starts = sql.exec<{ slot: number; n: number }>("SELECT slot, n FROM start_slot").toArray().map((r): [number, number] => [r.slot, r.n]);
    return new PermitLedger(limits, Date.now, journal, { state, leases, starts });
  }
}
