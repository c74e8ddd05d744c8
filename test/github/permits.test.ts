/** BucketLink, the fetcher's side of a TokenBucket: how permits and their returns travel (one call per page). */
import { describe, it } from "vitest";
import type { RateObservation } from "../../src/github/client";
import { BucketLink, RELEASE_LINGER_MS } from "../../src/github/permits";
import type { AcquireRequest, ReleaseBatch } from "../../src/objects/TokenBucket";

const ok: RateObservation = { status: 200, limit: 5000, remaining: 4000, used: 1000, reset: 2_000_000_000, resource: "core", kind: "ok" };
const refused: RateObservation = { ...ok, status: 403, kind: "secondary", retryAfterSec: 60 };
const headroom = { budget: 100, limit: 5000, freeSlots: 4, blockedUntilMs: 0 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A stand-in for the bucket's stub that records every call it gets. */
function recordingBucket(options: { failAcquire?: number } = {}) {
  const calls: Array<{ method: string; request?: AcquireRequest; batches?: ReleaseBatch[]; leaseId?: string; observation?: RateObservation | null }> = [];
  let next = 0;
  let failures = options.failAcquire ?? 0;
  const stub = {
    async acquire(request: AcquireRequest) {
      calls.push({ method: "acquire", request });
      if (failures-- > 0) throw new Error("Durable Object reset");
      return { granted: true as const, leases: Array.from({ length: request.n ?? 1 }, () => `lease-${++next}`), headroom };
    },
    async release(leaseId: string, observation: RateObservation | null) {
      calls.push({ method: "release", leaseId, observation });
      return { headroom };
    },
    async returnPermits(batches: ReleaseBatch[]) {
      calls.push({ method: "returnPermits", batches });
      return { headroom };
    },
  };
  return { calls, link: new BucketLink("user:1", stub as never) };
}

describe("BucketLink", () => {
  it("carries a permit's return with the next acquire: a pager makes one call per page, not two", async ({ expect }) => {
    const { calls, link } = recordingBucket();
    for (let page = 0; page < 5; page++) {
      const grant = await link.acquire(1_000);
      if (!grant.granted) throw new Error("refused");
      await link.release(grant.leaseId, ok);
    }
    await link.flush();
    expect(calls.map((c) => c.method)).toEqual(["acquire", "acquire", "acquire", "acquire", "acquire", "returnPermits"]);
    expect(calls[1]!.request!.release).toEqual([{ leaseIds: ["lease-1"], observation: ok }]);
    expect(calls[5]!.batches).toEqual([{ leaseIds: ["lease-5"], observation: ok }]);
  });

  it("sends a rate-limit answer at once, alone, so the whole fleet pauses without waiting for a carrier", async ({ expect }) => {
    const { calls, link } = recordingBucket();
    const grant = await link.acquire(1_000);
    if (!grant.granted) throw new Error("refused");
    const answer = await link.release(grant.leaseId, refused);
    expect(answer).toEqual({ headroom });
    expect(calls.map((c) => c.method)).toEqual(["acquire", "release"]);
    expect(calls[1]).toMatchObject({ leaseId: "lease-1", observation: refused });
  });

  it("sends a return nobody carried on its own after a few milliseconds", async ({ expect }) => {
    const { calls, link } = recordingBucket();
    const grant = await link.acquire(1_000);
    if (!grant.granted) throw new Error("refused");
    await link.release(grant.leaseId, ok);
    expect(calls.map((c) => c.method)).toEqual(["acquire"]);
    await sleep(RELEASE_LINGER_MS + 20);
    expect(calls.map((c) => c.method)).toEqual(["acquire", "returnPermits"]);
  });

  it("sends again, alone, the returns an acquire carried when that acquire failed", async ({ expect }) => {
    const { calls, link } = recordingBucket({ failAcquire: 1 });
    const first = recordingBucket();
    const g = await first.link.acquire(1_000); // a lease id to return
    if (!g.granted) throw new Error("refused");
    await link.release(g.leaseId, ok);
    await expect(link.acquire(1_000)).rejects.toThrow("Durable Object reset");
    await link.flush();
    expect(calls.map((c) => c.method)).toEqual(["acquire", "returnPermits"]);
    expect(calls[1]!.batches).toEqual([{ leaseIds: [g.leaseId], observation: ok }]);
  });
});
