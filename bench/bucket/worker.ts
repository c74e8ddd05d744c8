/** Load generator for one TokenBucket, inside workerd: `GET /load?callers=N&seconds=S&batch=B` runs N concurrent
 *  callers against a fresh bucket for S seconds, each looping acquire({ n: B }) → release(…, a GitHub-like report), and
 *  answers the permits granted per second and the acquire latency percentiles. Used by bench/ratelimit.ts. */
import { DurableObject } from "cloudflare:workers";
import type { RateObservation } from "../../src/github/client";
export { TokenBucket } from "../../src/objects/TokenBucket";

/** The floor under any bucket here: a Durable Object that does nothing but the same storage writes per acquire (a lease
 *  row, a start slot, a state row) and nothing on release. Its rate is what workerd allows on this machine. */
export class Baseline extends DurableObject {
  #n = 0;
  async acquire(_request?: unknown): Promise<{ granted: true; leases: string[] }> {
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS lease (id TEXT PRIMARY KEY, at INTEGER)");
    sql.exec("CREATE TABLE IF NOT EXISTS start_slot (slot INTEGER PRIMARY KEY, n INTEGER)");
    sql.exec("CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY, state TEXT)");
    const id = crypto.randomUUID();
    sql.exec("INSERT INTO lease (id, at) VALUES (?, ?)", id, Date.now());
    sql.exec("INSERT INTO start_slot (slot, n) VALUES (?, 1) ON CONFLICT (slot) DO UPDATE SET n = n + 1", Math.floor(Date.now() / 100));
    sql.exec("INSERT OR REPLACE INTO ledger (id, state) VALUES (1, ?)", JSON.stringify({ n: ++this.#n }));
    return { granted: true, leases: [id] };
  }
  async release(): Promise<void> {}
}

/** The floor under any Durable Object here: an RPC that does nothing at all. */
export class Noop extends DurableObject {
  async acquire(_request?: unknown): Promise<{ granted: true; leases: string[] }> {
    return { granted: true, leases: ["x"] };
  }
  async release(): Promise<void> {}
}

type BenchEnv = {
  TOKEN_BUCKET: DurableObjectNamespace<import("../../src/objects/TokenBucket").TokenBucket>;
  BASELINE: DurableObjectNamespace<Baseline>;
  NOOP: DurableObjectNamespace<Noop>;
};

export default {
  async fetch(request: Request, env: BenchEnv): Promise<Response> {
    const q = new URL(request.url).searchParams;
    const callers = Number(q.get("callers") ?? 1);
    const seconds = Number(q.get("seconds") ?? 5);
    const batch = Number(q.get("batch") ?? 1);
    const baseline = q.get("baseline") === "1";
    const noop = q.get("noop") === "1";
    const exchange = q.get("exchange") === "1";
    const bucket = (noop ? env.NOOP : baseline ? env.BASELINE : env.TOKEN_BUCKET).getByName(`bench:${crypto.randomUUID()}`) as unknown as DurableObjectStub<import("../../src/objects/TokenBucket").TokenBucket>;
    const reset = Math.floor(Date.now() / 1000) + 3600;
    let used = 0;
    const report = (): RateObservation => ({ status: 200, limit: 1e9, remaining: 1e9 - ++used, used, reset, resource: "core", kind: "ok" });
    // Past the slow start (one more permit in flight per good answer) before measuring.
    for (let i = 0; i < callers * batch + 10; i++) {
      const g = await bucket.acquire({ maxWaitMs: 1_000 });
      if (g.granted) await bucket.release(g.leases, report());
    }
    const latencies: number[] = [];
    let permits = 0;
    let calls = 0;
    const start = Date.now();
    const end = start + seconds * 1000;
    await Promise.all(Array.from({ length: callers }, async () => {
      let held: string[] = [];
      while (Date.now() < end) {
        const t = Date.now();
        // exchange: the permits just used go back inside the next acquire (one call per round, as BucketLink sends them)
        const release = exchange && held.length > 0 ? [{ leaseIds: held, observation: report() }] : undefined;
        const g = await bucket.acquire({ n: batch, maxWaitMs: 5_000, release });
        latencies.push(Date.now() - t);
        calls++;
        held = [];
        if (!g.granted) continue;
        permits += g.leases.length;
        if (exchange) held = g.leases;
        else await bucket.release(g.leases, report());
      }
      if (held.length > 0) await bucket.release(held, report());
    }));
    const elapsed = (Date.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
    const mean = latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length);
    return Response.json({ baseline, noop, exchange, callers, batch, seconds: elapsed, calls, permits, permitsPerSecond: permits / elapsed, p50: pct(50), p99: pct(99), mean });
  },
};
