/** The fetcher's side of one TokenBucket. Responsibilities: name credentials without revealing them (a short SHA-256
 *  hash), and coalesce the permits that several concurrent requests of one isolate want from the same bucket into one
 *  `acquire({ n })` call (a batch), handing the permits out in the order they were asked for. Permits are only asked
 *  for requests that are about to leave, so a batch never holds a permit idle; one that turns out unusable is returned
 *  (`release(…, { unused: true })`), which refunds its budget. A permit returned with good news rides along with the
 *  next acquire (a pager asks for its next page's permit right away: one call per page instead of two), or goes alone
 *  after RELEASE_LINGER_MS; bad news (a rate-limit answer) goes at once. */
import type { RateObservation } from "./client";
import type { Headroom } from "../objects/ledger";
import type { ReleaseBatch } from "../objects/TokenBucket";

/** How long a good-news return waits for an acquire to carry it before it is sent alone. Short next to a GitHub
 *  request: the slot it frees is idle at most this long. */
export const RELEASE_LINGER_MS = 5;

/** A credential's public name: `tok:` + the first 16 hex digits of its SHA-256. Never the token itself. */
export async function tokenHash(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `tok:${hex.slice(0, 16)}`;
}

export type SingleGrant =
  | { granted: true; leaseId: string; headroom: Headroom }
  | { granted: false; retryAfterMs: number; reason: string; headroom: Headroom };

type BucketStub = DurableObjectStub<import("../objects/TokenBucket").TokenBucket>;

interface Asker {
  maxWaitMs: number;
  resolve: (grant: SingleGrant) => void;
  reject: (err: unknown) => void;
}

/** One bucket, as seen by the requests of one isolate (one queue batch). */
export class BucketLink {
  readonly #pending: Asker[] = [];
  #busy = false;
  /** Returns waiting for a carrier, the timer that sends them alone, and returns on their way alone. */
  #outbox: ReleaseBatch[] = [];
  #linger: ReturnType<typeof setTimeout> | undefined;
  readonly #sending = new Set<Promise<unknown>>();
  /** RPC calls made and permits they carried (batching makes the second larger than the first). */
  readonly stats = { calls: 0, permits: 0, carried: 0 };

  /** `onHeadroom` hears the headroom every answer of the bucket brings (returns sent alone included). */
  constructor(readonly name: string, readonly stub: BucketStub, readonly onHeadroom: (headroom: Headroom) => void = () => {}) {}

  /** One permit, held by the bucket up to `maxWaitMs`. Concurrent askers share one call. */
  acquire(maxWaitMs: number): Promise<SingleGrant> {
    return new Promise<SingleGrant>((resolve, reject) => {
      this.#pending.push({ maxWaitMs, resolve, reject });
      if (!this.#busy) void this.#drain();
    });
  }

  /** Returns a permit. Bad news is sent at once and answers the bucket's headroom; good news waits for a carrier
   *  (answers null: the carrier's answer brings the headroom). */
  release(leaseId: string, observation: RateObservation | null): Promise<{ headroom: Headroom } | null> {
    if (observation && observation.kind !== "ok") return this.#alone(this.stub.release(leaseId, observation));
    this.#outbox.push({ leaseIds: [leaseId], observation });
    this.#linger ??= setTimeout(() => void this.flush().catch(() => undefined), RELEASE_LINGER_MS);
    return Promise.resolve(null);
  }

  returnUnused(leaseId: string): Promise<{ headroom: Headroom }> {
    return this.#alone(this.stub.release(leaseId, null, { unused: true }));
  }

  /** Sends the returns still waiting for a carrier, and waits for every return on its way. */
  async flush(): Promise<void> {
    const batches = this.#takeOutbox();
    if (batches.length > 0) {
      try {
        await this.#alone(this.stub.returnPermits(batches));
      } catch {
        // The bucket is restarting: once more, else the leases expire (the bucket only under-grants meanwhile).
        await this.#alone(this.stub.returnPermits(batches)).catch(() => undefined);
      }
    }
    while (this.#sending.size > 0) await Promise.allSettled([...this.#sending]);
  }

  #takeOutbox(): ReleaseBatch[] {
    if (this.#linger !== undefined) clearTimeout(this.#linger);
    this.#linger = undefined;
    return this.#outbox.splice(0);
  }

  #alone<T extends { headroom: Headroom }>(call: Promise<T>): Promise<T> {
    // (the caller sees a failure through `call`; the tracked copy only has to end)
    const tracked = call.then((answer) => this.onHeadroom(answer.headroom), () => undefined).finally(() => this.#sending.delete(tracked));
    this.#sending.add(tracked);
    return call;
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0);
        const maxWaitMs = Math.min(...batch.map((a) => a.maxWaitMs));
        const release = this.#takeOutbox();
        let grant;
        try {
          this.stats.calls++;
          this.stats.carried += release.length;
          grant = await this.stub.acquire({ n: batch.length, maxWaitMs, ...(release.length > 0 ? { release } : {}) });
        } catch (err) {
          // The returns it carried may not have arrived: they go again, alone (a return of a returned permit is a no-op).
          if (release.length > 0) {
            this.#outbox.unshift(...release);
            this.#linger ??= setTimeout(() => void this.flush().catch(() => undefined), RELEASE_LINGER_MS);
          }
          for (const a of batch) a.reject(err);
          continue;
        }
        if (!grant.granted) {
          for (const a of batch) a.resolve({ granted: false, retryAfterMs: grant.retryAfterMs, reason: grant.reason, headroom: grant.headroom });
          continue;
        }
        this.stats.permits += grant.leases.length;
        const served = batch.slice(0, grant.leases.length);
        served.forEach((a, i) => a.resolve({ granted: true, leaseId: grant.leases[i]!, headroom: grant.headroom }));
        // Fewer permits than askers: the rest ask again first, ahead of anyone who came later.
        this.#pending.unshift(...batch.slice(grant.leases.length));
      }
    } finally {
      this.#busy = false;
    }
  }
}
