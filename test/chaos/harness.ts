/** A whole run under every fault at once, inside workerd. The Worker's own code runs unchanged — admin API, the
 *  RunCoordinator, the TokenBuckets and the QuotaRegistry (real Durable Objects on SQLite), the queue consumer, the
 *  Parquet writer and R2 — while the harness plays the two things around it that fail:
 *
 *  - GitHub: the simulator behind `sim/chaos.ts` (5xx, hangs, resets, truncated and non-JSON bodies, secondary-limit
 *    bursts with and without retry-after, a repository deleted and tokens revoked mid-run), with real limits of its own.
 *  - The platform: a queue with Cloudflare's semantics (batches, ack/retry, `max_retries`, a dead-letter queue, delays)
 *    delivered by several concurrent consumers, which duplicates messages, redelivers acked ones (lost acks), kills
 *    consumers at a random I/O step (every later I/O of that isolate never settles, and its unacked messages come back),
 *    makes their RPCs and R2 writes fail (before or after they land), fails the coordinator's queue sends and manifest
 *    writes, and restarts the coordinator, the buckets and the registry while work is in flight.
 *
 *  Time is real except where the platform would make a test wait for minutes: when nothing is queued or running and the
 *  run is not over (its lost work sits behind claims that expire in 3 minutes, or a stall noticed after 10), the harness
 *  ages the coordinator's clocks and runs its alarm — the watchdog, fast-forwarded.
 *
 *  Afterwards every object of the run is read back from R2 and compared with the simulator's ground truth: each row
 *  exactly once, the files the run reports are the files in the lake, and the counters match what landed. */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { tableFromIPC } from "apache-arrow";
import { env, exports } from "cloudflare:workers";
import init, { readParquet } from "parquet-wasm/esm";
import wasm from "parquet-wasm/esm/parquet_wasm_bg.wasm";
import { vi } from "vitest";
import { ChaosGitHub, type ChaosOptions } from "../../sim/chaos";
import { hashSeed, mulberry32, type Rng } from "../../sim/prng";
import { GitHubSimulator, type SimOptions, type SimTruth } from "../../sim/simulator";
import { readConfig } from "../../src/config";
import type { FetchJob, PartReport } from "../../src/github/jobs";
import { tokenHash } from "../../src/github/permits";
import type { RunStatus } from "../../src/objects/RunCoordinator";
import { consumeDeadLetters, consumeFetchBatch } from "../../src/queue";
import type { ChaosReport, Check } from "./table";

export type { ChaosReport } from "./table";

const KEY = { issues: "id", pull_requests: "id", commits: "sha", stargazers: "user_id", releases: "id", workflow_runs: "id", reactions: "id", repositories: "id" } as const;
type Table = keyof typeof KEY;
const DATA_TABLES = Object.keys(KEY).filter((t) => t !== "repositories") as Array<Exclude<Table, "repositories">>;

export interface PlatformFaults {
  /** Consumer invocations (isolates) working at once. */
  consumers: number;
  batchSize: number;
  maxRetries: number;
  /** Per delivered message: also delivered a second time in the same batch. */
  duplicateRate: number;
  /** Per acked message: the ack is lost and the message comes back. */
  redeliverRate: number;
  /** Per batch: the consumer's isolate dies at a random I/O step (1…crashWithin). */
  crashRate: number;
  crashWithin: number;
  /** Per RPC from a consumer: recordPart fails before the coordinator sees it; or after it applied it. */
  reportFailRate: number;
  reportAnswerLostRate: number;
  claimFailRate: number;
  /** Per R2 put of a part: fails; or lands and then fails. */
  r2FailRate: number;
  r2FailAfterWriteRate: number;
  /** Per manifest put and per coordinator queue send: fails. */
  manifestFailRate: number;
  queueSendFailRate: number;
  /** Restart (evict) the coordinator / a token bucket / the registry after this many batches (0: never). */
  coordinatorRestartEvery: number;
  bucketRestartEvery: number;
  registryRestartEvery: number;
  /** Queue retry delays (msg.retry) are scaled by this; rate-limit deferrals are kept as the coordinator asks. */
  retryDelayScale: number;
}

export interface ChaosRunOptions {
  label: string;
  seed: number;
  sim: Omit<SimOptions, "users" | "seed">;
  /** GitHub faults, given the tokens (revocations and targeted bursts name them) and the repository to delete. */
  github: (t: Tokens, victim: string) => ChaosOptions;
  platform: PlatformFaults;
  timeoutMs: number;
  /** GITHUB_TIMEOUT_MS for the run: how long a hung connection holds a request (default: the Worker's). */
  githubTimeoutMs?: number;
  /** The pool's tokens (default: fresh ones). */
  tokens?: Tokens;
  /** Which of them GITHUB_TOKEN holds, in order (default all: c, a, b1, b2, d). */
  pool?: (t: Tokens) => string[];
  /** Print progress every 5 s. */
  trace?: boolean;
  /** Extra work while the run goes (e.g. capture WebSocket messages), and once it has ended (faults off, the pool's
   *  tokens still configured). */
  onRunStarted?: (runId: string) => Promise<void> | void;
  onRunEnded?: (runId: string) => Promise<void> | void;
}

/** Users and tokens of the pool: A has one token, B two, C one (first: discovery is pinned to it), D one. */
export interface Tokens {
  a: string;
  b1: string;
  b2: string;
  c: string;
  d: string;
  all: string[];
}
const TOKEN_KEYS = ["a", "b1", "b2", "c", "d"] as const;

export const USERS = {
  a: { login: "octo-sim", id: 9000001 },
  b: { login: "chaos-b", id: 9000002 },
  c: { login: "chaos-c", id: 9000003 },
  d: { login: "chaos-d", id: 9000004 },
};

function ghToken(rng: Rng): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let s = "ghp_";
  for (let i = 0; i < 36; i++) s += alphabet[Math.floor(rng() * alphabet.length)];
  return s;
}

/** Fresh, realistic-looking tokens for every run (the no-leak specs search for them). */
export function makeTokens(seed: number): Tokens {
  const rng = mulberry32(hashSeed(seed, "tokens", Date.now()));
  const t = { a: ghToken(rng), b1: ghToken(rng), b2: ghToken(rng), c: ghToken(rng), d: ghToken(rng) };
  return { ...t, all: [t.c, t.a, t.b1, t.b2, t.d] };
}

const coordinator = () => env.RUN_COORDINATOR.getByName("coordinator");
const never = <T>() => new Promise<T>(() => {});
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const mutableEnv = env as unknown as Record<string, unknown>;

interface Queued {
  id: string;
  body: FetchJob;
  attempts: number;
  visibleAt: number;
}

/** Cloudflare Queues, as the coordinator and the consumers see them: delayed sends, batches, retries, a DLQ. */
class QueueEmulator {
  readonly ready: Queued[] = [];
  readonly dlq: Queued[] = [];
  #seq = 0;
  constructor(readonly stats: { sendFailed: number; deferrals: number }, readonly sendFailRate: number, readonly rng: Rng, readonly faulty: () => boolean) {}

  producer(): Queue {
    const send = async (body: FetchJob, delaySeconds = 0) => {
      this.push(body, 1, delaySeconds * 1000);
    };
    const fail = () => {
      if (this.faulty() && this.rng() < this.sendFailRate) {
        this.stats.sendFailed++;
        throw new Error("chaos: queue send failed (Queue is overloaded)");
      }
    };
    return {
      send: async (body: FetchJob, options?: QueueSendOptions) => {
        fail();
        if ((options?.delaySeconds ?? 0) > 0) this.stats.deferrals++;
        await send(body, options?.delaySeconds ?? 0);
      },
      sendBatch: async (messages: Iterable<MessageSendRequest<FetchJob>>, options?: QueueSendBatchOptions) => {
        fail();
        for (const m of messages) await send(m.body, m.delaySeconds ?? options?.delaySeconds ?? 0);
      },
      metrics: async () => ({ backlogCount: this.ready.length, backlogBytes: 0 }),
    } as unknown as Queue;
  }

  push(body: FetchJob, attempts: number, delayMs: number, id = `m${++this.#seq}`): void {
    this.ready.push({ id, body, attempts, visibleAt: Date.now() + Math.max(0, delayMs) });
  }

  take(max: number): Queued[] {
    const now = Date.now();
    const out: Queued[] = [];
    for (let i = 0; i < this.ready.length && out.length < max; ) {
      if (this.ready[i]!.visibleAt <= now) out.push(...this.ready.splice(i, 1));
      else i++;
    }
    return out;
  }

  nextVisibleAt(): number | null {
    return this.ready.length === 0 ? null : Math.min(...this.ready.map((m) => m.visibleAt));
  }
}

/** One consumer invocation: its I/O goes through `gate`, which can kill it (every later I/O never settles). */
class Invocation {
  dead = false;
  ops = 0;
  requests = 0;
  reported = 0;
  readonly death: Promise<void>;
  #die!: () => void;
  constructor(readonly crashAt: number | null) {
    this.death = new Promise((r) => (this.#die = r));
  }
  gate<T>(fn: () => Promise<T>): Promise<T> {
    if (this.dead) return never();
    if (this.crashAt !== null && ++this.ops >= this.crashAt) {
      this.dead = true;
      this.#die();
      return never();
    }
    return fn();
  }
}

export async function runChaos(o: ChaosRunOptions): Promise<ChaosReport> {
  const started = Date.now();
  const tokens = o.tokens ?? makeTokens(o.seed);
  const sim = new GitHubSimulator({
    ...o.sim,
    seed: o.seed,
    users: [
      { ...USERS.a, tokens: [tokens.a] },
      { ...USERS.b, tokens: [tokens.b1, tokens.b2] },
      { ...USERS.c, tokens: [tokens.c] },
      { ...USERS.d, tokens: [tokens.d] },
    ],
  });
  const before = sim.truth();
  // The repository deleted mid-run: a middle-sized one, so part of it lands before it vanishes and the rest does not.
  const size = (name: string) => DATA_TABLES.reduce((n, t) => n + ((before.tables[t] as Record<string, unknown[]>)[name]?.length ?? 0), 0);
  const ordinary = before.repositories.map((r) => r.full_name).filter((n) => !/vanished|empty-repo|private-stars/.test(n));
  ordinary.sort((x, y) => size(x) - size(y) || (x < y ? -1 : 1));
  const victim = ordinary[Math.floor(ordinary.length / 2)]!;
  const chaos = new ChaosGitHub(sim, o.github(tokens, victim));
  const rng = mulberry32(hashSeed(o.seed, "platform"));
  const pf = o.platform;
  const cfg = readConfig(env);

  const p: ChaosReport["platform"] = {
    batches: 0, deliveries: 0, duplicated: 0, redelivered: 0, crashed: 0, reportFailed: 0, reportAnswerLost: 0, claimFailed: 0,
    r2Failed: 0, r2FailedAfterWrite: 0, manifestFailed: 0, queueSendFailed: 0, restarts: { coordinator: 0, buckets: 0, registry: 0 },
    deadLettered: 0, watchdogRuns: 0, alarmFailed: 0,
  };
  let faulty = true; // platform faults stop once the run has ended (the harness's own reads must not fail)
  const qstats = { sendFailed: 0, deferrals: 0 };
  const queue = new QueueEmulator(qstats, pf.queueSendFailRate, rng, () => faulty);
  let queueRetries = 0;
  /** Reports whose RPC failed for a reason the harness did not inject: applied or not, the ledger will tell. */
  const unsure: PartReport[] = [];
  const reportedOk = new Set<string>();
  let reportedRequests = 0;
  let madeRequests = 0;

  // The Worker's own fetches (outside consumer invocations) reach the chaos GitHub too; nothing else is reachable.
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(env.GITHUB_API_URL)) throw new TypeError(`network disabled in tests: ${request.url}`);
    return chaos.handle(request, init?.signal ?? undefined);
  });
  const saved = { FETCH_QUEUE: env.FETCH_QUEUE, LAKE: env.LAKE, GITHUB_TOKEN: env.GITHUB_TOKEN, GITHUB_TIMEOUT_MS: env.GITHUB_TIMEOUT_MS };
  const realLake = saved.LAKE;
  mutableEnv.FETCH_QUEUE = queue.producer();
  mutableEnv.GITHUB_TOKEN = (o.pool?.(tokens) ?? tokens.all).join(",");
  if (o.githubTimeoutMs !== undefined) mutableEnv.GITHUB_TIMEOUT_MS = String(o.githubTimeoutMs);
  // The coordinator's R2 (the manifest): a put that fails makes the run end on a later pass.
  mutableEnv.LAKE = new Proxy(realLake, {
    get(target, prop) {
      if (prop === "put") {
        return async (...args: Parameters<R2Bucket["put"]>) => {
          if (faulty && rng() < pf.manifestFailRate) {
            p.manifestFailed++;
            throw new Error("chaos: manifest write failed (R2 internal error 10001)");
          }
          return target.put(...args);
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });

  /** A namespace whose stubs run every call through the invocation's gate (and, for the coordinator, its faults). */
  const wrapNamespace = <T extends Rpc.DurableObjectBranded | undefined>(ns: DurableObjectNamespace<T & Rpc.DurableObjectBranded>, inv: Invocation, hook?: (method: string, args: unknown[], call: () => Promise<unknown>) => Promise<unknown>) =>
    new Proxy(ns, {
      get(target, prop) {
        if (prop !== "getByName") {
          const v = Reflect.get(target, prop) as unknown;
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        }
        return (name: string) => {
          const stub = target.getByName(name) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
          return new Proxy({}, {
            get(_t, method) {
              if (typeof method !== "string" || method === "then") return undefined;
              return (...args: unknown[]) => inv.gate(() => {
                const call = () => stub[method]!(...args);
                return hook ? hook(method, args, call) : call();
              });
            },
          });
        };
      },
    });

  const coordinatorHook = (inv: Invocation) => async (method: string, args: unknown[], call: () => Promise<unknown>) => {
    if (method === "claim" && faulty && rng() < pf.claimFailRate) {
      p.claimFailed++;
      throw new Error("chaos: coordinator unreachable (claim)");
    }
    if (method !== "recordPart") return call();
    const report = args[0] as PartReport;
    if (faulty && rng() < pf.reportFailRate) {
      p.reportFailed++;
      throw new Error("chaos: coordinator unreachable (report lost)");
    }
    let result: unknown;
    try {
      result = await call();
    } catch (err) {
      if (String(err).includes("chaos: manifest")) counted(inv, report); // applied; only the run's end failed
      else unsure.push(report);
      throw err;
    }
    counted(inv, report);
    if (faulty && rng() < pf.reportAnswerLostRate) {
      p.reportAnswerLost++;
      throw new Error("chaos: coordinator answer lost (report applied)");
    }
    return result;
  };
  const counted = (inv: Invocation, report: PartReport) => {
    const key = `${report.taskId}#${report.part}`;
    if (reportedOk.has(key)) return;
    reportedOk.add(key);
    inv.reported += report.requests;
    reportedRequests += report.requests;
  };

  const lakeFor = (inv: Invocation): R2Bucket => new Proxy(realLake, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => inv.gate(async () => {
        if (prop === "put" && faulty) {
          if (rng() < pf.r2FailRate) {
            p.r2Failed++;
            throw new Error("chaos: R2 put failed (We encountered an internal error. Please try again.)");
          }
          if (rng() < pf.r2FailAfterWriteRate) {
            await target.put(...(args as Parameters<R2Bucket["put"]>));
            p.r2FailedAfterWrite++;
            throw new Error("chaos: R2 put failed after the object landed (network)");
          }
        }
        return (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      });
    },
  });

  const deliver = async (messages: Queued[]): Promise<void> => {
    p.batches++;
    const inv = new Invocation(faulty && rng() < pf.crashRate ? 1 + Math.floor(rng() * pf.crashWithin) : null);
    const outcome = new Map<object, { kind: "ack" } | { kind: "retry"; delaySeconds: number }>();
    const copies: Array<{ q: Queued; msg: Message<unknown> }> = [];
    for (const q of messages) {
      const n = faulty && rng() < pf.duplicateRate ? 2 : 1;
      if (n === 2) p.duplicated++;
      for (let i = 0; i < n; i++) {
        const msg: Message<unknown> = {
          id: q.id, timestamp: new Date(), body: structuredClone(q.body), attempts: q.attempts,
          ack: () => void (inv.dead || outcome.has(msg) || outcome.set(msg, { kind: "ack" })),
          retry: (opts?: QueueRetryOptions) => void (inv.dead || outcome.has(msg) || outcome.set(msg, { kind: "retry", delaySeconds: opts?.delaySeconds ?? 0 })),
        };
        copies.push({ q, msg });
      }
    }
    p.deliveries += copies.length;
    const batchEnv = {
      ...env,
      LAKE: lakeFor(inv),
      RUN_COORDINATOR: wrapNamespace(env.RUN_COORDINATOR, inv, coordinatorHook(inv)),
      TOKEN_BUCKET: wrapNamespace(env.TOKEN_BUCKET, inv),
      QUOTA_REGISTRY: wrapNamespace(env.QUOTA_REGISTRY, inv),
    } as Env;
    const fetcher = (input: string, init: RequestInit) => inv.gate(async () => {
      if (new URL(input).pathname !== "/user") {
        inv.requests++;
        madeRequests++;
      }
      return chaos.handle(new Request(input, init), init.signal ?? undefined);
    });
    const batch = { queue: "github-fetch-queue", messages: copies.map((c) => c.msg), metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } }, retryAll() {}, ackAll() {} } as unknown as MessageBatch<unknown>;
    const result = await Promise.race([
      consumeFetchBatch(batch, batchEnv, { fetcher }).then(() => "done" as const, () => "threw" as const),
      inv.death.then(() => "dead" as const),
    ]);
    if (result === "dead") p.crashed++;
    for (const { q, msg } of copies) {
      const o = outcome.get(msg);
      if (o?.kind === "ack" || (!o && result === "done")) {
        if (faulty && rng() < pf.redeliverRate) {
          p.redelivered++;
          queue.push(q.body, q.attempts + 1, 0, q.id);
        }
        continue;
      }
      // Retried explicitly, or the invocation died / threw: the queue delivers the message again, or dead-letters it.
      if (o?.kind === "retry") queueRetries++;
      if (q.attempts >= 1 + pf.maxRetries) {
        queue.dlq.push(q);
        p.deadLettered++;
      } else {
        queue.push(q.body, q.attempts + 1, o?.kind === "retry" ? o.delaySeconds * 1000 * pf.retryDelayScale : 0, q.id);
      }
    }
  };

  /** Evicts an object that is running (one that is not has nothing to lose). */
  const evict = async (stub: DurableObjectStub<Rpc.DurableObjectBranded>): Promise<boolean> => {
    try {
      await evictDurableObject(stub as never);
      return true;
    } catch (err) {
      if (/not currently running/.test(String(err))) return false;
      throw err;
    }
  };
  const restart = async (batches: number) => {
    if (!faulty) return;
    if (pf.coordinatorRestartEvery > 0 && batches % pf.coordinatorRestartEvery === 0 && (await evict(coordinator()))) p.restarts.coordinator++;
    if (pf.bucketRestartEvery > 0 && batches % pf.bucketRestartEvery === 0) {
      const users = Object.values(USERS);
      const u = users[Math.floor(rng() * users.length)]!;
      if (await evict(env.TOKEN_BUCKET.getByName(`user:${u.id}`))) p.restarts.buckets++;
    }
    if (pf.registryRestartEvery > 0 && batches % pf.registryRestartEvery === 0 && (await evict(env.QUOTA_REGISTRY.getByName("registry")))) p.restarts.registry++;
  };

  /** The watchdog, fast-forwarded: ages the coordinator's claims and progress clocks past their limits, runs its alarm. */
  const watchdog = async () => {
    p.watchdogRuns++;
    await runInDurableObject(coordinator(), (_instance, state) => {
      const sql = state.storage.sql;
      const d = 10 * 60_000 + 1_000;
      sql.exec("UPDATE task SET claimed_at = claimed_at - ? WHERE claimed_at IS NOT NULL", d);
      sql.exec("UPDATE part_claim SET claimed_at = claimed_at - ?", d);
      sql.exec("UPDATE task SET updated_at = updated_at - ? WHERE state IN ('pending','running')", d);
      sql.exec("UPDATE run SET last_progress_at = last_progress_at - ? WHERE status = 'running'", d);
    });
    try {
      if (!(await runDurableObjectAlarm(coordinator()))) await runInDurableObject(coordinator(), (instance) => instance.alarm());
    } catch {
      p.alarmFailed++; // e.g. the manifest write failed: the platform retries an alarm that throws, and so do we
    }
  };

  // With trace on, the buckets' penalty episodes (what they learned from each refusal) are printed as they happen.
  const warn = console.warn.bind(console);
  const penaltySpy = o.trace
    ? vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => {
      const line = String(args[0]);
      if (line.includes('"event":"ratelimit.penalty"')) console.log(`[penalty ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}`);
      warn(...args);
    })
    : null;
  let runId = "";
  let status: RunStatus;
  let ratelimit = "";
  try {
    const res = await exports.default.fetch(new Request("https://lake.test/runs", {
      method: "POST", body: JSON.stringify({ mode: "full" }), headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` },
    }));
    if (res.status !== 202) throw new Error(`POST /runs → ${res.status} ${await res.text()}`);
    runId = ((await res.json()) as { runId: string }).runId;
    await o.onRunStarted?.(runId);

    const live = new Set<Promise<void>>();
    const deadline = started + o.timeoutMs;
    let traced = Date.now();
    for (;;) {
      if (o.trace && Date.now() - traced > 5_000) {
        traced = Date.now();
        const s = await coordinator().status(runId);
        const buckets = await Promise.all(Object.values(USERS).map(async (u) => {
          const b = await env.TOKEN_BUCKET.getByName(`user:${u.id}`).snapshot();
          return `${u.login}: inFlight ${b.inFlight} waiters ${b.waiters} lastMinute ${b.lastMinute} cap ${b.concurrencyNow}/${b.learnedPerMinute} penalty ${b.penaltyUntil} slow ${b.slowStart} remaining ${b.remaining}`;
        }));
        console.log(`[chaos ${((traced - started) / 1000).toFixed(0)}s] tasks ${JSON.stringify(s?.tasks)} queued ${queue.ready.length} live ${live.size} github ${JSON.stringify({ ...chaos.stats(), maxInFlight: undefined, maxPerMinute: undefined, revoked: undefined })} platform ${JSON.stringify(p)}\n  ${buckets.join("\n  ")}`);
      }
      if (Date.now() > deadline) {
        const s = await coordinator().status(runId);
        throw new Error(`chaos run ${runId} did not end in ${o.timeoutMs} ms: ${JSON.stringify({ tasks: s?.tasks, queued: queue.ready.length, live: live.size })}`);
      }
      if (queue.dlq.length > 0) {
        const dead = queue.dlq.splice(0);
        const batch = { queue: "github-fetch-dlq", messages: dead.map((q) => ({ id: q.id, timestamp: new Date(), body: q.body, attempts: q.attempts, ack() {}, retry() {} })), metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } }, retryAll() {}, ackAll() {} } as unknown as MessageBatch<unknown>;
        await consumeDeadLetters(batch, env);
      }
      while (live.size < pf.consumers) {
        const messages = queue.take(pf.batchSize);
        if (messages.length === 0) break;
        await restart(p.batches + 1);
        const job = deliver(messages).finally(() => live.delete(job));
        live.add(job);
      }
      if (live.size > 0) {
        await Promise.race([...live, sleep(25)]);
        continue;
      }
      const next = queue.nextVisibleAt();
      if (next !== null) {
        await sleep(Math.max(5, Math.min(1_000, next - Date.now())));
        continue;
      }
      const s = (await coordinator().status(runId))!;
      if (s.status !== "running") break;
      await watchdog();
    }
    faulty = false;
    chaos.enabled = false;
    status = (await coordinator().status(runId))!;
    const rl = await exports.default.fetch(new Request("https://lake.test/ratelimit", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }));
    ratelimit = await rl.text();
    await o.onRunEnded?.(runId);
  } finally {
    faulty = false;
    chaos.enabled = false;
    mutableEnv.FETCH_QUEUE = saved.FETCH_QUEUE;
    mutableEnv.LAKE = saved.LAKE;
    mutableEnv.GITHUB_TOKEN = saved.GITHUB_TOKEN;
    mutableEnv.GITHUB_TIMEOUT_MS = saved.GITHUB_TIMEOUT_MS;
    spy.mockRestore();
    penaltySpy?.mockRestore();
  }

  // ── Verification ───────────────────────────────────────────────────────────────────────────────────────────────
  for (const report of unsure) {
    const key = `${report.taskId}#${report.part}`;
    if (reportedOk.has(key)) continue;
    const applied = await runInDurableObject(coordinator(), (_i, state) =>
      state.storage.sql.exec("SELECT requests FROM part WHERE run_id = ? AND task_id = ? AND part = ?", report.runId, report.taskId, report.part).toArray()[0]);
    if (applied && applied.requests === report.requests) {
      reportedOk.add(key);
      reportedRequests += report.requests;
    }
  }
  const lake = await readRun(realLake, runId);
  const after = sim.truth();
  const stats = sim.stats();
  const cs = chaos.stats();
  const hashes = Object.fromEntries(await Promise.all(TOKEN_KEYS.map(async (k) => [k, await tokenHash(tokens[k])])));
  return buildReport({ o, started, runId, status, before, after, victim, lake, stats, cs, p, tokens, cfg, queueRetries, qstats, reportedRequests, madeRequests, ratelimit, hashes });
}

interface LakeRead {
  /** table → repo → keys (with repeats). */
  keys: Record<string, Record<string, string[]>>;
  files: Map<string, { rows: number; bytes: number; resource: string }>;
  manifest: { files?: Array<{ key: string }> } | null;
}

/** Every object of the run in R2 (listed, not taken from the run's own file list), read back row by row. */
async function readRun(bucket: R2Bucket, runId: string): Promise<LakeRead> {
  await init({ module_or_path: wasm });
  const out: LakeRead = { keys: {}, files: new Map(), manifest: null };
  let cursor: string | undefined;
  const keys: string[] = [];
  do {
    const listed = await bucket.list({ prefix: "sources/github/", cursor, limit: 1000 });
    for (const object of listed.objects) if (object.key.includes(runId)) keys.push(object.key);
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
  for (const key of keys) {
    const object = (await bucket.get(key))!;
    const bytes = new Uint8Array(await object.arrayBuffer());
    if (key.endsWith(".json")) {
      out.manifest = JSON.parse(new TextDecoder().decode(bytes)) as LakeRead["manifest"];
      continue;
    }
    const resource = key.split("/")[2] as Table;
    const table = tableFromIPC(readParquet(bytes).intoIPCStream());
    const owners = table.getChild("repository_owner")!.toArray() as string[];
    const names = table.getChild("repository_name")!.toArray() as string[];
    const ids = [...table.getChild(KEY[resource])!.toArray()].map(String);
    ids.forEach((k, i) => ((out.keys[resource] ??= {})[`${owners[i]}/${names[i]}`] ??= []).push(k));
    out.files.set(key, { rows: table.numRows, bytes: object.size, resource });
  }
  return out;
}

function buildReport(x: {
  o: ChaosRunOptions; started: number; runId: string; status: RunStatus; before: SimTruth; after: SimTruth; victim: string; lake: LakeRead;
  stats: ReturnType<GitHubSimulator["stats"]>; cs: ReturnType<ChaosGitHub["stats"]>; p: ChaosReport["platform"]; tokens: Tokens;
  cfg: ReturnType<typeof readConfig>; queueRetries: number; qstats: { sendFailed: number; deferrals: number }; reportedRequests: number; madeRequests: number;
  ratelimit: string; hashes: Record<string, string>;
}): ChaosReport {
  const { status, before, after, victim, lake } = x;
  const deleted = x.cs.deleted.includes(victim);
  // Expected: the truth at the end (the deleted repository gone from it), and the repositories as discovery listed them.
  const expected: Record<string, Record<string, string[]>> = {};
  for (const t of DATA_TABLES) {
    for (const [repo, ids] of Object.entries(after.tables[t] as Record<string, Array<string | number>>)) {
      if (ids.length > 0) (expected[t] ??= {})[repo] = ids.map(String);
    }
  }
  expected.repositories = {};
  for (const r of before.repositories) (expected.repositories[r.full_name] ??= []).push(String(r.id));

  let expectedRows = 0;
  let landed = 0;
  let duplicates = 0;
  let missing = 0;
  let extra = 0;
  let victimLanded = 0;
  let victimBefore = 0;
  const examples: string[] = [];
  for (const t of Object.keys(KEY)) {
    const want = expected[t] ?? {};
    const got = lake.keys[t] ?? {};
    for (const [repo, ids] of Object.entries(want)) {
      expectedRows += ids.length;
      const have = got[repo] ?? [];
      const seen = new Set(have);
      for (const id of ids) if (!seen.has(id)) {
        missing++;
        if (examples.length < 5) examples.push(`missing ${t} ${repo} ${id}`);
      }
    }
    for (const [repo, ids] of Object.entries(got)) {
      landed += ids.length;
      const seen = new Set<string>();
      for (const id of ids) {
        if (seen.has(id)) {
          duplicates++;
          if (examples.length < 5) examples.push(`duplicate ${t} ${repo} ${id}`);
        }
        seen.add(id);
      }
      const allowed = new Set(want[repo] ?? []);
      if (deleted && repo === victim && t !== "repositories") {
        // Rows of the deleted repository that landed before it vanished: a subset of what it held, never more.
        const was = new Set(((before.tables[t as keyof SimTruth["tables"]] as Record<string, Array<string | number>>)[repo] ?? []).map(String));
        victimLanded += ids.length;
        for (const id of seen) if (!was.has(id)) extra++;
        continue;
      }
      for (const id of seen) if (!allowed.has(id)) {
        extra++;
        if (examples.length < 5) examples.push(`extra ${t} ${repo} ${id}`);
      }
    }
  }
  if (deleted) for (const t of DATA_TABLES) victimBefore += ((before.tables[t] as Record<string, unknown[]>)[victim] ?? []).length;
  const rowsLanded = landed - victimLanded; // compared with the expected rows (the deleted repository's are extra to the truth)

  const reported = new Set(status.files.map((f) => f.key));
  const inLake = new Set(lake.files.keys());
  const orphans = [...inLake].filter((k) => !reported.has(k));
  const unlisted = [...reported].filter((k) => !inLake.has(k));
  const rowMismatches = status.files.filter((f) => lake.files.has(f.key) && (lake.files.get(f.key)!.rows !== f.rows || lake.files.get(f.key)!.bytes !== f.bytes)).length;
  const lakeRows = [...lake.files.values()].reduce((n, f) => n + f.rows, 0);
  const lakeBytes = [...lake.files.values()].reduce((n, f) => n + f.bytes, 0);
  const manifestKeys = new Set((lake.manifest?.files ?? []).map((f) => f.key));

  const maxInFlight = Math.max(0, ...Object.entries(x.cs.maxInFlight).filter(([u]) => u !== "(unknown)").map(([, v]) => v));
  const maxPerMinute = Math.max(0, ...Object.entries(x.cs.maxPerMinute).filter(([u]) => u !== "(unknown)").map(([, v]) => v));
  const githubPerMinute = x.o.sim.secondary?.maxPerMinute || 900; // GitHub: 900 points a minute for REST
  const victimErrors = status.errors.filter((e) => e.repository === victim);
  // GET /ratelimit after the run: each revoked token retired (A's identity had no other: its bucket left the pool).
  const view = JSON.parse(x.ratelimit) as { buckets: Array<{ name: string }>; credentials: Array<{ id: string; retired: boolean; bucket: string | null }> };
  const cred = (k: string) => view.credentials.find((c) => c.id === x.hashes[k]);
  const revokedKeys = TOKEN_KEYS.filter((k) => x.cs.refused.includes(x.tokens[k]));
  const retiredOk = revokedKeys.every((k) => cred(k)?.retired === true && cred(k)?.bucket === null)
    && TOKEN_KEYS.filter((k) => !x.cs.revoked.includes(x.tokens[k])).every((k) => cred(k)?.retired === false)
    && (!revokedKeys.includes("a") || !view.buckets.some((b) => b.name === `user:${USERS.a.id}`));
  const leaked = x.tokens.all.filter((t) => x.ratelimit.includes(t));
  const checks: Check[] = [
    { name: "the run ended", ok: status.status !== "running", detail: status.status },
    { name: "no task failed or dead", ok: status.tasks.failed + status.tasks.dead === 0, detail: JSON.stringify(status.errors.filter((e) => e.state !== "done").slice(0, 3)) },
    { name: "every row of the truth landed", ok: missing === 0, detail: `${missing} missing ${examples.join("; ")}` },
    { name: "no row landed twice", ok: duplicates === 0, detail: `${duplicates} duplicates ${examples.join("; ")}` },
    { name: "no row outside the truth", ok: extra === 0, detail: `${extra} extra ${examples.join("; ")}` },
    { name: "the deleted repository is recorded as an error", ok: deleted && victimErrors.some((e) => e.coverage === "not_found"), detail: deleted ? JSON.stringify(victimErrors.slice(0, 2)) : "not deleted" },
    { name: "the run's files are exactly the lake's objects", ok: orphans.length === 0 && unlisted.length === 0, detail: `orphans ${orphans.slice(0, 3).join(", ")} unlisted ${unlisted.slice(0, 3).join(", ")}` },
    { name: "the manifest lists the run's files", ok: lake.manifest !== null && manifestKeys.size === reported.size && [...reported].every((k) => manifestKeys.has(k)), detail: `${manifestKeys.size} in the manifest, ${reported.size} reported` },
    { name: "each file's rows and bytes are what the run reports", ok: rowMismatches === 0, detail: `${rowMismatches} mismatches` },
    { name: "counter: rows", ok: status.counters.rows === lakeRows, detail: `${status.counters.rows} vs ${lakeRows}` },
    { name: "counter: files", ok: status.counters.files === inLake.size, detail: `${status.counters.files} vs ${inLake.size}` },
    { name: "counter: bytes", ok: status.counters.bytes === lakeBytes, detail: `${status.counters.bytes} vs ${lakeBytes}` },
    { name: "counter: requests", ok: status.counters.requests === x.reportedRequests, detail: `${status.counters.requests} vs ${x.reportedRequests} reported` },
    { name: "revoked tokens are retired, and an identity left without a token leaves the pool", ok: revokedKeys.includes("a") && retiredOk, detail: `${revokedKeys.join(",")} revoked; ${JSON.stringify(view.credentials)} buckets ${view.buckets.map((b) => b.name).join(",")}` },
    { name: "GET /ratelimit names no token", ok: leaked.length === 0, detail: `${leaked.length} tokens in it` },
    { name: "no primary or secondary limit violated", ok: x.stats.violations.total === 0, detail: JSON.stringify(x.stats.violations) },
    { name: "never more in flight than the cap", ok: maxInFlight <= x.cfg.rateMaxConcurrent, detail: `${maxInFlight} > ${x.cfg.rateMaxConcurrent}` },
    // Measured where GitHub counts (arrival), hung requests included; the bucket counts at grant time, so scheduling
    // jitter between a grant and its request leaving can show a start or two above its own cap — never above GitHub's.
    { name: "never more per minute than GitHub allows", ok: maxPerMinute <= githubPerMinute, detail: `${maxPerMinute} > ${githubPerMinute}` },
  ];
  return {
    label: x.o.label,
    durationMs: Date.now() - x.started,
    scale: {
      repositories: before.repositories.length, expectedRows, tasks: status.tasks.total, tokens: x.tokens.all.length, identities: Object.keys(USERS).length, consumers: x.o.platform.consumers,
    },
    run: { runId: x.runId, status: status.status, tasks: status.tasks as unknown as Record<string, number>, errors: status.errors, error: status.error },
    github: {
      requests: x.cs.requests, passed: x.cs.passed, identityLookups: x.cs.identityLookups, injected: x.cs.injected, bursts: x.cs.bursts,
      deleted: x.cs.deleted, revoked: x.cs.revoked.length, hangsAborted: x.cs.hangsAborted,
    },
    platform: { ...x.p, queueSendFailed: x.qstats.sendFailed },
    retries: { client: status.counters.retries, queue: x.queueRetries, deferrals: x.qstats.deferrals, rateLimitWaits: status.counters.rateLimitWaits },
    rows: { expected: expectedRows, landed: rowsLanded, duplicates, missing, extra, deletedRepoLanded: victimLanded, deletedRepoBefore: victimBefore },
    files: { reported: reported.size, inLake: inLake.size, orphans: orphans.length, unlisted: unlisted.length, rowMismatches },
    counters: {
      rows: [status.counters.rows, lakeRows],
      files: [status.counters.files, inLake.size],
      bytes: [status.counters.bytes, lakeBytes],
      requests: [status.counters.requests, x.reportedRequests],
      requestsLost: x.madeRequests - x.reportedRequests,
    },
    limits: {
      violations: { primary: x.stats.violations.primary, secondary: x.stats.violations.secondary },
      maxInFlight, capInFlight: x.cfg.rateMaxConcurrent, maxPerMinute, capPerMinute: x.cfg.rateMaxPerMinute, githubPerMinute,
    },
    checks,
  };
}
