/** The fetcher's side of one TokenBucket. Responsibilities: name credentials without revealing them (a short SHA-256
 *  hash), and coalesce the permits that several concurrent requests of one isolate want from the same bucket into one
 *  `acquire({ n })` call (a batch), handing the permits out in the order they were asked for. Permits are only asked
 *  for requests that are about to leave, so a batch never holds a permit idle; one that turns out unusable is returned
 *  (`release(…, { unused: true })`), which refunds its budget. */
import type { Headroom } from "../objects/ledger";

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
  /** RPC calls made and permits they carried (batching makes the second larger than the first). */
  readonly stats = { calls: 0, permits: 0 };

  constructor(readonly name: string, readonly stub: BucketStub) {}

  /** One permit, held by the bucket up to `maxWaitMs`. Concurrent askers share one call. */
  acquire(maxWaitMs: number): Promise<SingleGrant> {
    return new Promise<SingleGrant>((resolve, reject) => {
      this.#pending.push({ maxWaitMs, resolve, reject });
      if (!this.#busy) void this.#drain();
    });
  }

  release(leaseId: string, observation: import("./client").RateObservation | null): Promise<{ headroom: Headroom }> {
    return this.stub.release(leaseId, observation);
  }

  returnUnused(leaseId: string): Promise<{ headroom: Headroom }> {
    return this.stub.release(leaseId, null, { unused: true });
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0);
        const maxWaitMs = Math.min(...batch.map((a) => a.maxWaitMs));
        let grant;
        try {
          this.stats.calls++;
          grant = await this.stub.acquire({ n: batch.length, maxWaitMs });
        } catch (err) {
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
