/** PermitLedger: every decision of a TokenBucket, as a synchronous state machine with an injected clock, so the
 *  Durable Object only wires it to RPC, SQLite and a timer, and property tests can run it in virtual time.
 *
 *  Responsibilities, for one quota identity:
 *  - the primary budget as GitHub last reported it (`x-ratelimit-*`), reconciled from out-of-order reports while other
 *    permits are in flight, a new window recognised by its reset time, and a reserve left for people and other tools;
 *  - requests in flight (leases that expire, so a crashed isolate's permits come back) and requests started per sliding
 *    minute, each capped by the configured limit AND by what the ledger has learned (AIMD: a secondary-limit answer
 *    lowers the cap that was exceeded multiplicatively; a quiet period raises it by one step);
 *  - penalties (secondary limits, exhausted primary) that pause every waiter at once, and a slow start afterwards
 *    (one permit, then one more per answer that came back fine), so a pause never ends in a burst;
 *  - waiters, served strictly first come, first served, each for up to `n` permits (a batch).
 *
 *  Persistence goes through a Journal, called synchronously inside each operation: the DO writes it to SQLite with no
 *  `await` in between, so every grant is atomic and an evicted bucket resumes with its leases, budget and penalty. */
import type { RateObservation } from "../github/client";

export interface Limits {
  maxConcurrent: number;
  maxPerMinute: number;
  reserve: number;
}

export const MINUTE_MS = 60_000;
/** Starts are counted in slots of this size; a start counts for a minute (+ STARTS_MARGIN_MS) from its slot's end. */
export const SLOT_MS = 100;
/** GitHub counts a request when it arrives, a little after we grant it, and not always equally late: a start stays in
 *  our sliding minute this much longer, so GitHub's minute never holds more than ours. */
export const STARTS_MARGIN_MS = 1_000;
const STARTS_WINDOW_MS = MINUTE_MS + STARTS_MARGIN_MS;
/** A permit not returned within this time (a crashed or evicted isolate) is reclaimed. Longer than the client timeout. */
export const LEASE_TTL_MS = 90_000;
/** After `x-ratelimit-reset`, wait this much more before trusting the new window (clock skew with GitHub). */
export const RESET_MARGIN_MS = 1_000;
/** GitHub: without retry-after, wait at least a minute after a secondary limit, and longer if it repeats. */
export const MIN_SECONDARY_PENALTY_MS = 60_000;
export const MAX_SECONDARY_PENALTY_MS = 15 * 60_000;
/** Strikes (repeated penalties) are forgiven after this long without one. */
export const STRIKE_MEMORY_MS = 15 * 60_000;
/** Multiplicative decrease of the exceeded cap. */
export const DECREASE_FACTOR = 0.5;
/** Additive increase: one step per quiet period (no penalty, no other change). */
export const INCREASE_EVERY_MS = 60_000;
/** A level that drew a penalty is tried again only after this long: probing costs a penalty each time. */
export const REPROBE_AFTER_MS = 30 * 60_000;
/** Retry hint for a waiter whose hold ran out while only in-flight permits blocked it. */
const BUSY_RETRY_MS = 50;

/** The persisted scalar state (one SQLite row). */
export interface LedgerState {
  quotaLimit: number | null;
  /** What is left of the window, net of our permits in flight (an estimate that only errs low). */
  remaining: number | null;
  /** Highest `x-ratelimit-used` seen in this window: a report with less is stale. */
  maxUsed: number;
  resetAtMs: number;
  penaltyUntilMs: number;
  penaltyReason: string | null;
  /** Start of the latest penalty episode: refusals of permits granted before it belong to that episode. */
  penaltyStartMs: number;
  strikes: number;
  /** Learned caps; null = the configured limit. */
  learnedConcurrency: number | null;
  learnedPerMinute: number | null;
  /** Lowest level that drew a penalty (0 = none), and when: not probed again before REPROBE_AFTER_MS. */
  failedConcurrency: number;
  failedPerMinute: number;
  failedAtMs: number;
  adjustedAtMs: number;
  /** Slow start: while > 0, at most this many in flight; grows by one per good answer. 0 = off. */
  ramp: number;
  /** Deepest in-flight level that got a good answer since the last decrease (weak evidence: GitHub may have counted
   *  fewer, as answers reach us after GitHub is done), and the busiest minute that did (strong: we count starts at least
   *  as GitHub does). */
  okDepth: number;
  okMinute: number;
  /** Starts in the minute when the latest penalty's request was granted: a rate limit refuses at the same count again. */
  lastPenaltyMinute: number;
  grantedTotal: number;
  refusedTotal: number;
  penaltiesTotal: number;
  waitsTotal: number;
  unusedTotal: number;
  expiredTotal: number;
  /** Permits granted in the current window, and whether a caller had to wait because its budget was spent. */
  windowGranted: number;
  windowExhausted: boolean;
  /** The last windows, oldest first: what each spent and whether the fleet was bound by it. */
  windows: WindowRecord[];
}

export interface WindowRecord {
  /** `x-ratelimit-reset` × 1000 (0 when GitHub never said). */
  resetAtMs: number;
  limit: number | null;
  /** Highest `x-ratelimit-used` reported in it (our permits and anyone else's). */
  used: number;
  granted: number;
  /** A caller waited for the window to reset: the fleet was bound by the primary quota. */
  exhausted: boolean;
}

const WINDOW_HISTORY = 24;
const PRIMARY_SPENT = "primary budget spent (reserve kept)";

export interface Lease {
  id: string;
  grantedAtMs: number;
  expiresAtMs: number;
  /** Permits in flight when this one was granted, itself included. */
  depth: number;
  /** Starts in the sliding minute when this one was granted, itself included. */
  minute: number;
  slot: number;
}

/** Synchronous persistence, called inside each operation. */
export interface Journal {
  saveState(state: LedgerState): void;
  addLease(lease: Lease): void;
  deleteLease(id: string): void;
  /** Adds `delta` (may be negative) to the starts counted in `slot`. */
  addStarts(slot: number, delta: number): void;
  /** Forgets every slot below `slot`. */
  pruneStarts(belowSlot: number): void;
}

/** What a caller needs to choose between buckets: plain data, returned with every answer. */
export interface Headroom {
  /** Requests of the window still grantable (remaining − reserve − in flight); null until GitHub has answered once. */
  budget: number | null;
  limit: number | null;
  freeSlots: number;
  /** Epoch ms until which nothing will be granted (penalty, spent window); 0 when not blocked. */
  blockedUntilMs: number;
}

export type Grant =
  | { granted: true; leases: string[]; headroom: Headroom }
  | { granted: false; retryAfterMs: number; reason: string; headroom: Headroom };

export interface PenaltyEvent {
  reason: string;
  untilMs: number;
  strikes: number;
  newEpisode: boolean;
  learnedConcurrency: number;
  learnedPerMinute: number;
}

interface Block {
  reason: string;
  /** When the block ends by itself; null when only releases can end it. */
  untilMs: number | null;
  /** A release may end it earlier (in-flight permits may report a larger budget). */
  soft: boolean;
}

interface Waiter {
  n: number;
  deadlineMs: number;
  settle: (grant: Grant) => void;
}

export function initialState(): LedgerState {
  return {
    quotaLimit: null,
    remaining: null,
    maxUsed: 0,
    resetAtMs: 0,
    penaltyUntilMs: 0,
    penaltyReason: null,
    penaltyStartMs: 0,
    strikes: 0,
    learnedConcurrency: null,
    learnedPerMinute: null,
    failedConcurrency: 0,
    failedPerMinute: 0,
    failedAtMs: 0,
    adjustedAtMs: 0,
    ramp: 1, // a new bucket starts slowly too: it does not know the limits GitHub does not announce
    okDepth: 0,
    okMinute: 0,
    lastPenaltyMinute: 0,
    grantedTotal: 0,
    refusedTotal: 0,
    penaltiesTotal: 0,
    waitsTotal: 0,
    unusedTotal: 0,
    expiredTotal: 0,
    windowGranted: 0,
    windowExhausted: false,
    windows: [],
  };
}

const NO_JOURNAL: Journal = { saveState() {}, addLease() {}, deleteLease() {}, addStarts() {}, pruneStarts() {} };

export class PermitLedger {
  readonly state: LedgerState;
  readonly #leases = new Map<string, Lease>();
  /** slot → starts; insertion order is slot order (slots only grow). */
  readonly #starts = new Map<number, number>();
  #startCount = 0;
  readonly #queue: Waiter[] = [];

  constructor(
    readonly limits: Limits,
    readonly now: () => number = Date.now,
    readonly journal: Journal = NO_JOURNAL,
    loaded?: { state: LedgerState; leases: Lease[]; starts: Array<[slot: number, count: number]> },
    readonly newId: () => string = () => crypto.randomUUID(),
  ) {
    this.state = loaded ? { ...loaded.state } : initialState();
    for (const lease of loaded?.leases ?? []) this.#leases.set(lease.id, lease);
    for (const [slot, count] of [...(loaded?.starts ?? [])].sort((a, b) => a[0] - b[0])) {
      this.#starts.set(slot, count);
      this.#startCount += count;
    }
    if (!loaded) journal.saveState(this.state);
  }

  get inFlight(): number {
    return this.#leases.size;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  /** Starts counted in the sliding minute at `now` (conservatively: a start counts until its slot's end + 60 s). */
  minuteCount(now = this.now()): number {
    this.#pruneStarts(now);
    return this.#startCount;
  }

  /** In-flight cap now: configured ∧ learned ∧ slow start; one probe until GitHub has told the budget. */
  concurrencyCap(): number {
    const s = this.state;
    if (s.quotaLimit === null) return 1;
    let cap = Math.min(this.limits.maxConcurrent, s.learnedConcurrency ?? Infinity);
    if (s.ramp > 0) cap = Math.min(cap, s.ramp);
    return Math.max(1, Math.floor(cap));
  }

  perMinuteCap(): number {
    return Math.max(1, Math.floor(Math.min(this.limits.maxPerMinute, this.state.learnedPerMinute ?? Infinity)));
  }

  /** Asks for up to `n` permits. Settles at once (granted, or refused because the wait would exceed `maxWaitMs`), or
   *  later from pump(): first come, first served, refused when the hold runs out. */
  acquire(n: number, maxWaitMs: number, settle: (grant: Grant) => void): void {
    const now = this.now();
    this.#refresh(now);
    const want = Math.max(1, Math.floor(n));
    if (this.#queue.length === 0) {
      const leases = this.#grant(want, now);
      if (leases) {
        settle({ granted: true, leases, headroom: this.headroom(now) });
        return;
      }
    }
    const block = this.#block(now) ?? { reason: "queued behind earlier waiters", untilMs: null, soft: true };
    if (block.reason === PRIMARY_SPENT) this.state.windowExhausted = true;
    const longWait = block.untilMs !== null && !block.soft && block.untilMs - now > maxWaitMs;
    if (maxWaitMs <= 0 || longWait) {
      settle(this.#refusal(block, now));
      return;
    }
    this.state.waitsTotal++;
    this.journal.saveState(this.state);
    this.#queue.push({ n: want, deadlineMs: now + maxWaitMs, settle });
  }

  /** Serves waiters in order while permits can be granted; refuses those whose hold ran out, or whose wait has
   *  become longer than their hold (a penalty began): they hand their work back instead of sitting idle. */
  pump(): void {
    const now = this.now();
    this.#refresh(now);
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const leases = head.deadlineMs > now ? this.#grant(head.n, now) : null;
      if (!leases) break;
      this.#queue.shift();
      head.settle({ granted: true, leases, headroom: this.headroom(now) });
    }
    if (this.#queue.length === 0) return;
    const block = this.#block(now) ?? { reason: "queued behind earlier waiters", untilMs: null, soft: true };
    if (block.reason === PRIMARY_SPENT && !this.state.windowExhausted) {
      this.state.windowExhausted = true;
      this.journal.saveState(this.state);
    }
    const kept: Waiter[] = [];
    for (const w of this.#queue) {
      const tooLong = block.untilMs !== null && !block.soft && block.untilMs > w.deadlineMs;
      if (w.deadlineMs <= now || tooLong) w.settle(this.#refusal(block, now));
      else kept.push(w);
    }
    this.#queue.splice(0, this.#queue.length, ...kept);
  }

  /** Refuses every waiter (the object is shutting down); they ask again. */
  drain(reason: string): void {
    const now = this.now();
    for (const w of this.#queue.splice(0)) w.settle(this.#refusal({ reason, untilMs: null, soft: true }, now));
  }

  /** When pump() should run next if nothing is released: a penalty or window ends, a minute slot frees, a lease expires,
   *  a hold runs out. Null when there is nobody waiting. */
  wakeAt(): number | null {
    if (this.#queue.length === 0) return null;
    const now = this.now();
    let at = Math.min(...this.#queue.map((w) => w.deadlineMs));
    const block = this.#block(now);
    if (block?.untilMs !== null && block?.untilMs !== undefined) at = Math.min(at, block.untilMs);
    for (const lease of this.#leases.values()) at = Math.min(at, lease.expiresAtMs);
    return Math.max(now + 1, at);
  }

  /** Returns a permit with what GitHub's answer said (null: no answer came — network error, timeout). */
  release(leaseId: string, obs: RateObservation | null): PenaltyEvent | null {
    const now = this.now();
    const lease = this.#leases.get(leaseId);
    if (lease) {
      this.#leases.delete(leaseId);
      this.journal.deleteLease(leaseId);
    }
    let event: PenaltyEvent | null = null;
    if (obs) {
      // A 401 carries the unauthenticated quota's headers (60/h), not this identity's: never fold them in.
      if (obs.status !== 401 && (obs.resource === undefined || obs.resource === "core")) this.#reconcile(obs, now);
      // Only a permit the ledger knows advances the slow start: a return sent twice must not count twice.
      if (obs.kind === "ok") {
        if (lease) this.#succeeded(lease);
      }
      else event = this.#penalise(obs, lease, now);
    }
    this.journal.saveState(this.state);
    return event;
  }

  /** Gives back a permit that was never used: its budget and its start are refunded. */
  returnUnused(leaseId: string): void {
    const lease = this.#leases.get(leaseId);
    if (!lease) return;
    this.#leases.delete(leaseId);
    this.journal.deleteLease(leaseId);
    if (this.#starts.has(lease.slot)) {
      this.#starts.set(lease.slot, this.#starts.get(lease.slot)! - 1);
      this.#startCount--;
      this.journal.addStarts(lease.slot, -1);
    }
    if (this.state.remaining !== null) this.state.remaining++;
    this.state.grantedTotal--;
    this.state.unusedTotal++;
    this.journal.saveState(this.state);
  }

  /** Folds a report that came without a permit (an identity lookup) into the budget. */
  observe(obs: RateObservation): void {
    if (obs.status !== 401 && (obs.resource === undefined || obs.resource === "core")) this.#reconcile(obs, this.now());
    this.journal.saveState(this.state);
  }

  headroom(now = this.now()): Headroom {
    const s = this.state;
    const block = this.#block(now);
    const budget = s.remaining === null ? null : Math.max(0, s.remaining - this.limits.reserve);
    return {
      budget,
      limit: s.quotaLimit,
      freeSlots: Math.max(0, this.concurrencyCap() - this.#leases.size),
      blockedUntilMs: block && !block.soft && block.untilMs !== null && block.reason !== "per-minute cap" ? block.untilMs : 0,
    };
  }

  // ------------------------------------------------------------------------------------------------------------

  /** Time-driven changes: expired leases come back, old starts leave the minute, a window ends, a quiet period
   *  raises the learned caps. */
  #refresh(now: number): void {
    const s = this.state;
    let dirty = false;
    for (const lease of this.#leases.values()) {
      if (lease.expiresAtMs <= now) {
        this.#leases.delete(lease.id);
        this.journal.deleteLease(lease.id);
        s.expiredTotal++;
        dirty = true;
      }
    }
    this.#pruneStarts(now);
    // The window GitHub told us about has ended: the full limit is back (GitHub opens the next window on first use).
    // Permits still out may land in the new window: count them against it until GitHub reports.
    if (s.resetAtMs > 0 && now >= s.resetAtMs + RESET_MARGIN_MS && s.quotaLimit !== null) {
      this.#closeWindow();
      s.remaining = s.quotaLimit - this.#leases.size;
      s.maxUsed = 0;
      s.resetAtMs = 0;
      dirty = true;
    }
    if (this.#increase(now)) dirty = true;
    if (dirty) this.journal.saveState(s);
  }

  #pruneStarts(now: number): void {
    const firstLive = Math.floor((now - STARTS_WINDOW_MS) / SLOT_MS); // slot s counts while now < (s + 1) * SLOT + window
    let pruned = false;
    for (const [slot, count] of this.#starts) {
      if (slot >= firstLive) break;
      this.#starts.delete(slot);
      this.#startCount -= count;
      pruned = true;
    }
    if (pruned) this.journal.pruneStarts(firstLive);
  }

  /** What stops a grant now, or null. */
  #block(now: number): Block | null {
    const s = this.state;
    if (s.penaltyUntilMs > now) return { reason: `penalty: ${s.penaltyReason ?? "rate limited"}`, untilMs: s.penaltyUntilMs, soft: false };
    if (s.remaining !== null && s.remaining - this.limits.reserve < 1) {
      const until = s.resetAtMs > 0 ? s.resetAtMs + RESET_MARGIN_MS : null;
      return { reason: PRIMARY_SPENT, untilMs: until ?? now + MINUTE_MS, soft: this.#leases.size > 0 || until === null };
    }
    if (this.#leases.size >= this.concurrencyCap()) {
      let until = Infinity;
      for (const lease of this.#leases.values()) until = Math.min(until, lease.expiresAtMs);
      return { reason: "in flight", untilMs: Number.isFinite(until) ? until : null, soft: true };
    }
    if (this.#startCount >= this.perMinuteCap()) {
      const oldest = this.#starts.keys().next().value as number;
      return { reason: "per-minute cap", untilMs: (oldest + 1) * SLOT_MS + STARTS_WINDOW_MS, soft: false };
    }
    return null;
  }

  #refusal(block: Block, now: number): Grant {
    this.state.refusedTotal++;
    this.journal.saveState(this.state);
    const retryAfterMs = block.untilMs === null || block.soft ? BUSY_RETRY_MS : Math.max(1, block.untilMs - now);
    return { granted: false, retryAfterMs: Math.ceil(retryAfterMs), reason: block.reason, headroom: this.headroom(now) };
  }

  /** Grants up to `n` permits if at least one can go now. */
  #grant(n: number, now: number): string[] | null {
    if (this.#block(now)) return null;
    const s = this.state;
    let k = Math.min(n, this.concurrencyCap() - this.#leases.size, this.perMinuteCap() - this.#startCount);
    if (s.remaining !== null) k = Math.min(k, s.remaining - this.limits.reserve);
    if (k < 1) return null;
    const slot = Math.floor(now / SLOT_MS);
    const ids: string[] = [];
    for (let i = 0; i < k; i++) {
      const lease: Lease = {
        id: this.newId(),
        grantedAtMs: now,
        expiresAtMs: now + LEASE_TTL_MS,
        depth: this.#leases.size + 1,
        minute: this.#startCount + i + 1,
        slot,
      };
      this.#leases.set(lease.id, lease);
      this.journal.addLease(lease);
      ids.push(lease.id);
    }
    this.#starts.set(slot, (this.#starts.get(slot) ?? 0) + k);
    this.#startCount += k;
    this.journal.addStarts(slot, k);
    if (s.remaining !== null) s.remaining -= k;
    s.grantedTotal += k;
    s.windowGranted += k;
    this.journal.saveState(s);
    return ids;
  }

  /** Folds GitHub's view of the primary window into ours. `x-ratelimit-used` only grows within a window, so a report
   *  with less than the most seen is stale; a report whose reset lies before ours belongs to an older window. Permits
   *  still in flight are subtracted (GitHub may already count some: that errs low, and heals as they report). */
  #reconcile(obs: RateObservation, now: number): void {
    if (obs.limit === undefined || obs.remaining === undefined || obs.reset === undefined) return;
    const s = this.state;
    const resetMs = obs.reset * 1000;
    if (resetMs <= now) return; // about a window that has already ended
    const used = obs.used ?? obs.limit - obs.remaining;
    const sameWindow = s.resetAtMs !== 0 && Math.abs(resetMs - s.resetAtMs) < 1_500;
    if (sameWindow && used < s.maxUsed) return;
    if (!sameWindow && s.resetAtMs !== 0 && resetMs < s.resetAtMs) return;
    if (!sameWindow && s.resetAtMs !== 0) this.#closeWindow(); // a newer window began before we rolled ours
    s.quotaLimit = obs.limit;
    s.remaining = obs.remaining - this.#leases.size;
    s.maxUsed = used;
    s.resetAtMs = resetMs;
  }

  /** A good answer: evidence that its depth and minute are safe, and a step of the slow start — unless the permit went
   *  out before the latest penalty (its answer says nothing about the levels since). */
  /** Files the window that ended in the history (what GET /ratelimit shows, and what utilization is measured on). */
  #closeWindow(): void {
    const s = this.state;
    s.windows.push({ resetAtMs: s.resetAtMs, limit: s.quotaLimit, used: s.maxUsed, granted: s.windowGranted, exhausted: s.windowExhausted });
    if (s.windows.length > WINDOW_HISTORY) s.windows.splice(0, s.windows.length - WINDOW_HISTORY);
    s.windowGranted = 0;
    s.windowExhausted = false;
  }

  #succeeded(lease: Lease | undefined): void {
    const s = this.state;
    if (lease && lease.grantedAtMs <= s.penaltyStartMs) return;
    if (lease) {
      s.okDepth = Math.max(s.okDepth, lease.depth);
      s.okMinute = Math.max(s.okMinute, lease.minute);
    }
    if (s.ramp > 0) {
      s.ramp++;
      const full = Math.min(this.limits.maxConcurrent, s.learnedConcurrency ?? Infinity);
      if (s.ramp >= full) s.ramp = 0;
    }
  }

  #penalise(obs: RateObservation, lease: Lease | undefined, now: number): PenaltyEvent {
    const s = this.state;
    // Permits granted before the current episode began were already on their way: their refusals are the same episode.
    const sameEpisode = lease ? lease.grantedAtMs <= s.penaltyStartMs : s.penaltyUntilMs > now;
    if (!sameEpisode) {
      s.strikes = now - s.penaltyStartMs > STRIKE_MEMORY_MS ? 1 : s.strikes + 1;
      s.penaltyStartMs = now;
      s.penaltiesTotal++;
      if (obs.kind === "secondary") this.#decrease(lease, now);
      s.ramp = 1; // when the pause ends, one request first, then one more per good answer
    }
    let until: number;
    let reason: string;
    if (obs.kind === "secondary") {
      reason = `secondary rate limit (HTTP ${obs.status})`;
      until = obs.retryAfterSec !== undefined
        ? now + obs.retryAfterSec * 1000
        : now + Math.min(MAX_SECONDARY_PENALTY_MS, MIN_SECONDARY_PENALTY_MS * 2 ** Math.max(0, s.strikes - 1));
      if (obs.remaining === 0 && obs.reset !== undefined) until = Math.max(until, obs.reset * 1000 + RESET_MARGIN_MS);
    } else {
      reason = `primary rate limit exhausted (HTTP ${obs.status})`;
      until = obs.reset !== undefined && obs.reset * 1000 > now ? obs.reset * 1000 + RESET_MARGIN_MS : now + MIN_SECONDARY_PENALTY_MS;
      s.remaining = 0;
    }
    if (until > s.penaltyUntilMs) {
      s.penaltyUntilMs = until;
      s.penaltyReason = reason;
    }
    return {
      reason,
      untilMs: s.penaltyUntilMs,
      strikes: s.strikes,
      newEpisode: !sameEpisode,
      learnedConcurrency: Math.floor(Math.min(this.limits.maxConcurrent, s.learnedConcurrency ?? Infinity)),
      learnedPerMinute: this.perMinuteCap(),
    };
  }

  /** Multiplicative decrease of the cap the refused request exceeded, between two bounds: never above the level that
   *  failed (GitHub counted at most as many as we had out, so its limit is below that) and never below the deepest level
   *  that has just worked. GitHub does not say which limit it was. The rate is the suspect when a lone request was
   *  refused, or when the refusal came at about the same count of starts in the minute as the previous one (a rate limit
   *  refuses at its threshold every time; under a concurrency limit that count keeps growing) and above any count that
   *  worked; otherwise concurrency is. */
  #decrease(lease: Lease | undefined, now: number): void {
    const s = this.state;
    const depth = lease?.depth ?? this.#leases.size + 1;
    const minute = lease?.minute ?? this.#startCount;
    const conc = Math.min(this.limits.maxConcurrent, s.learnedConcurrency ?? Infinity);
    const rate = Math.min(this.limits.maxPerMinute, s.learnedPerMinute ?? Infinity);
    const sameCount = s.lastPenaltyMinute > 0 && Math.abs(minute - s.lastPenaltyMinute) <= Math.max(2, 0.1 * s.lastPenaltyMinute);
    const rateSuspect = depth < 2 || (sameCount && minute > s.okMinute);
    if (!rateSuspect) {
      s.learnedConcurrency = Math.max(1, Math.min(depth - 1, Math.max(Math.floor(conc * DECREASE_FACTOR), s.okDepth)));
      s.failedConcurrency = s.failedConcurrency > 0 ? Math.min(s.failedConcurrency, depth) : depth;
    } else if (minute > Math.max(1, s.okMinute)) {
      s.learnedPerMinute = Math.max(1, Math.min(minute - 1, Math.max(Math.floor(rate * DECREASE_FACTOR), s.okMinute)));
      s.failedPerMinute = s.failedPerMinute > 0 ? Math.min(s.failedPerMinute, minute) : minute;
      s.okMinute = Math.min(s.okMinute, s.learnedPerMinute);
    }
    // Otherwise a lone request was refused at a count of starts GitHub has already accepted, or as the only start of
    // its minute (typically the first request after a pause, when the minute has emptied): no per-minute limit explains
    // it, and learning `minute - 1` from it pinned the bucket at 1 request a minute for REPROBE_AFTER_MS (the chaos
    // suite's finding). Nothing is learned; the penalty stands.
    s.lastPenaltyMinute = minute;
    s.failedAtMs = now;
    s.adjustedAtMs = now;
    s.okDepth = 0;
  }

  /** Additive increase after a quiet period: one in flight more, 5% of the configured rate more; never back to a level
   *  that failed until REPROBE_AFTER_MS has passed. Returns whether anything changed. */
  #increase(now: number): boolean {
    const s = this.state;
    if (s.learnedConcurrency === null && s.learnedPerMinute === null) return false;
    if (now - Math.max(s.adjustedAtMs, s.penaltyStartMs) < INCREASE_EVERY_MS || s.penaltyUntilMs > now) return false;
    if (s.failedAtMs > 0 && now - s.failedAtMs >= REPROBE_AFTER_MS) {
      s.failedConcurrency = 0;
      s.failedPerMinute = 0;
    }
    const step = (value: number | null, max: number, by: number, failed: number): number | null => {
      if (value === null) return null;
      let next = value + by;
      if (failed > 0) next = Math.min(next, Math.max(value, failed - 1));
      return next >= max ? null : next;
    };
    const conc = step(s.learnedConcurrency, this.limits.maxConcurrent, 1, s.failedConcurrency);
    const rate = step(s.learnedPerMinute, this.limits.maxPerMinute, Math.max(1, Math.round(this.limits.maxPerMinute * 0.05)), s.failedPerMinute);
    s.adjustedAtMs = now;
    s.learnedConcurrency = conc;
    s.learnedPerMinute = rate;
    return true;
  }
}
