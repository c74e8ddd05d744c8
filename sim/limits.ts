// Primary quota (per user, fixed window opened by the first counted request) and secondary limits
// (in-flight requests, requests per sliding minute, penalties). Synchronous on purpose: a check and its
// consumption happen in one step, so concurrent requests can never overdraw the quota.

import type { PrimaryLimit, SecondaryLimits, SimUser, SimWindow } from "./types";
import type { RateView } from "./http";

export class UserState {
  /** Window start (ms) or null when no window is open. */
  windowStart: number | null = null;
  /** Bumped whenever a new window opens, so a late refund never lands in the wrong window. */
  windowSeq = 0;
  used = 0;
  inFlight = 0;
  maxInFlight = 0;
  requests = 0;
  /** Start times (ms) of admitted requests within the last minute; tracked only when maxPerMinute is on. */
  starts: number[] = [];
  penaltyUntil = 0;
  /** Penalty episodes imposed (a refusal while a penalty runs does not start a new one). */
  penalties = 0;
  /** Closed windows, oldest first (bounded). */
  closed: SimWindow[] = [];
  /** @param limit this state's own primary quota (an App installation's), else the configured one. */
  constructor(readonly user: SimUser, readonly limit?: number) {}
}

const WINDOW_HISTORY = 200;

export type Admission =
  | { ok: true; counted: boolean; windowSeq: number }
  | { ok: false; kind: "primary" }
  | { ok: false; kind: "secondary"; retryAfter: number };

export interface LimitConfig {
  primary: PrimaryLimit;
  secondary: SecondaryLimits;
}

export class Limiter {
  private readonly byToken = new Map<string, UserState>();
  readonly states: UserState[];
  /** Unauthenticated (401) answers report GitHub's 60/hour anonymous budget; it never refuses here. */
  readonly anonymous = new UserState({ login: "", id: 0, tokens: [] });

  constructor(
    users: SimUser[],
    private readonly config: () => LimitConfig,
    private readonly now: () => number,
  ) {
    this.states = users.map((u) => new UserState(u));
    for (const s of this.states) for (const t of s.user.tokens) this.byToken.set(t, s);
  }

  userByToken(token: string): UserState | undefined {
    return this.byToken.get(token);
  }

  private windowMs(): number {
    return this.config().primary.windowSeconds * 1000;
  }

  /** Adds a quota owner whose tokens arrive later (an App installation); see bindToken. */
  addState(user: SimUser, limit?: number): UserState {
    const s = new UserState(user, limit);
    this.states.push(s);
    return s;
  }

  bindToken(token: string, s: UserState): void {
    this.byToken.set(token, s);
  }

  /** Forgets a token (revoked): it answers 401 from now on. */
  unbindToken(token: string): boolean {
    const s = this.byToken.get(token);
    if (!s) return false;
    this.byToken.delete(token);
    const i = s.user.tokens.indexOf(token);
    if (i >= 0) s.user.tokens.splice(i, 1);
    return true;
  }

  limitOf(s: UserState): number {
    return s.limit ?? this.config().primary.limit;
  }

  /** The state's windows, closed ones then the open one. */
  windows(s: UserState): SimWindow[] {
    this.roll(s, this.now());
    const out = [...s.closed];
    if (s.windowStart !== null) out.push({ start: s.windowStart, end: s.windowStart + this.windowMs(), used: s.used, limit: this.limitOf(s), open: true });
    return out;
  }

  /** Close an expired window (the next counted request opens a new one). */
  private roll(s: UserState, now: number): void {
    if (s.windowStart !== null && now >= s.windowStart + this.windowMs()) {
      s.closed.push({ start: s.windowStart, end: s.windowStart + this.windowMs(), used: s.used, limit: this.limitOf(s), open: false });
      if (s.closed.length > WINDOW_HISTORY) s.closed.splice(0, s.closed.length - WINDOW_HISTORY);
      s.windowStart = null;
      s.used = 0;
    }
  }

  /**
   * Admit one request or refuse it. `counts` = it spends primary quota (false for /rate_limit). A penalty
   * from an earlier secondary violation keeps refusing until it expires, as GitHub does.
   */
  admit(s: UserState, counts: boolean): Admission {
    const now = this.now();
    const { primary, secondary } = this.config();
    s.requests++;
    this.roll(s, now);
    if (now < s.penaltyUntil) return { ok: false, kind: "secondary", retryAfter: Math.ceil((s.penaltyUntil - now) / 1000) };
    if (counts && s.used >= (s.limit ?? primary.limit)) return { ok: false, kind: "primary" };

    const retryAfter = secondary.retryAfterSeconds ?? 60;
    if (secondary.maxConcurrent && s.inFlight + 1 > secondary.maxConcurrent) {
      s.penaltyUntil = now + retryAfter * 1000;
      s.penalties++;
      return { ok: false, kind: "secondary", retryAfter };
    }
    if (secondary.maxPerMinute) {
      let drop = 0;
      while (drop < s.starts.length && (s.starts[drop] as number) <= now - 60_000) drop++;
      if (drop > 0) s.starts.splice(0, drop);
      if (s.starts.length + 1 > secondary.maxPerMinute) {
        s.penaltyUntil = now + retryAfter * 1000;
        s.penalties++;
        return { ok: false, kind: "secondary", retryAfter };
      }
      s.starts.push(now);
    }

    if (counts) {
      if (s.windowStart === null) {
        s.windowStart = now;
        s.windowSeq++;
      }
      s.used++;
    }
    s.inFlight++;
    if (s.inFlight > s.maxInFlight) s.maxInFlight = s.inFlight;
    return { ok: true, counted: counts, windowSeq: s.windowSeq };
  }

  finish(s: UserState): void {
    s.inFlight--;
  }

  /** Give back quota taken at admission (answer was a 304 or a fault). */
  refund(s: UserState, windowSeq: number): void {
    if (s.windowSeq === windowSeq && s.windowStart !== null && s.used > 0) s.used--;
  }

  /** Consume from the anonymous budget (401 answers). */
  spendAnonymous(): void {
    const s = this.anonymous;
    this.roll(s, this.now());
    if (s.windowStart === null) {
      s.windowStart = this.now();
      s.windowSeq++;
    }
    if (s.used < 60) s.used++;
  }

  view(s: UserState, limit = this.limitOf(s)): RateView {
    const now = this.now();
    this.roll(s, now);
    const start = s.windowStart ?? now;
    const used = Math.min(s.used, limit);
    return { limit, used, remaining: Math.max(0, limit - s.used), reset: Math.ceil((start + this.windowMs()) / 1000) };
  }

  anonymousView(): RateView {
    return this.view(this.anonymous, 60);
  }

  /** Forget windows and penalties (admin reset). In-flight counts stay: those requests are still running. */
  reset(): void {
    for (const s of [...this.states, this.anonymous]) {
      s.windowStart = null;
      s.used = 0;
      s.starts = [];
      s.penaltyUntil = 0;
      s.maxInFlight = s.inFlight;
      s.requests = 0;
      s.penalties = 0;
      s.closed = [];
    }
  }
}
