/** Benchmark of the TokenBucket (issue 3), side by side in one run on the bundled simulator:
 *  (a) the TokenBucket fleet (the real Worker under `wrangler dev`) against the standard per-process answer — N
 *      independent Octokit fetchers with plugin-throttling and plugin-retry — for the same work against the same
 *      simulator settings: limit violations, wall time, utilization, and how much of the data each had at the moment
 *      the other was done;
 *  (b) one quota identity against a pool of two: requests GitHub counted in the same time while quota-bound;
 *  (c) one bucket alone: permits per second it sustains, and acquire latency p50/p99 with 1, 10 and 100 callers.
 *  Usage: npx tsx bench/ratelimit.ts [a] [b] [c]   (all three by default; `npm run bench` runs them) */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT, freePort, startDevStack, type DevStack } from "../scripts/devstack";
import { startSimulator } from "../sim/server";
import { GitHubSimulator } from "../sim/simulator";
import { extractAll, fetchVia } from "../sim/testkit";
import type { SimOptions, SimStats, SimWindow } from "../sim/types";
import type { RunStatus } from "../src/objects/RunCoordinator";
import { runOctokitFleet } from "./octokit";

const BIN = join(ROOT, "node_modules", ".bin");
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

interface RateLimitView {
  buckets: Array<{ name: string; penalties: number; learnedConcurrency: number; learnedPerMinute: number; windows: Array<{ resetAt: string | null; exhausted: boolean; used: number }> }>;
}

async function simStats(url: string): Promise<SimStats> {
  return (await (await fetch(`${url}/_sim/stats`)).json()) as SimStats;
}

/** Budget GitHub counted ÷ budget available, over the windows where the fleet was quota-bound: for the TokenBucket,
 *  those in which it made a caller wait for the reset (its `exhausted` flag; x-ratelimit-reset is the window's end
 *  rounded up to the second). */
function boundUtilization(windows: SimWindow[], bucketWindows: Array<{ resetAt: string | null; exhausted: boolean }>, reserve: number) {
  const bound = windows.filter((w) => bucketWindows.some((b) => b.exhausted && b.resetAt !== null && Date.parse(b.resetAt) - w.end >= 0 && Date.parse(b.resetAt) - w.end < 1_000));
  const spent = bound.reduce((n, w) => n + w.used, 0);
  return { windows: bound.length, share: spent / Math.max(1, bound.reduce((n, w) => n + w.limit - reserve, 0)) };
}

/** Every window but the last (which the run ended in) — the measure for a fleet that never stops on its own. */
function windowsBeforeLast(windows: SimWindow[], reserve: number) {
  const closed = windows.slice(0, -1);
  return { windows: closed.length, share: closed.reduce((n, w) => n + w.used, 0) / Math.max(1, closed.reduce((n, w) => n + w.limit - reserve, 0)) };
}

async function runToEnd(stack: DevStack, onTick?: () => Promise<void>): Promise<{ status: RunStatus; seconds: number }> {
  const t0 = Date.now();
  const { runId } = await stack.apiJson<{ runId: string }>("/runs", { method: "POST", body: JSON.stringify({ mode: "full" }) });
  for (;;) {
    const status = await stack.apiJson<RunStatus>(`/runs/${runId}`);
    if (status.status !== "running") return { status, seconds: (Date.now() - t0) / 1000 };
    await onTick?.();
    await new Promise((r) => setTimeout(r, 250));
  }
}

// (a) ------------------------------------------------------------------------------------------------------------
async function fleetVersusOctokit(): Promise<string[]> {
  const reserve = 10;
  const fetchers = 10;
  const sim: SimOptions = {
    scale: 2,
    primary: { limit: 150, windowSeconds: 20 },
    secondary: { maxConcurrent: 4, retryAfterSeconds: 5 }, // GitHub's real limit, below what either fleet assumes
    latencyMs: [20, 60],
    faultRate: 0.02,
  };
  const reference = await extractAll(fetchVia(new GitHubSimulator({ scale: sim.scale })), "https://api.github.com", "sim-token");
  const pagesTotal = reference.requests;

  // The TokenBucket fleet twice: configured above GitHub's real limit (it must learn it), and at it (as with GitHub's
  // documented limits: RATE_MAX_CONCURRENT below GitHub's 100 concurrent requests).
  type FleetRun = { configured: number; seconds: number; status: RunStatus; stats: SimStats; view: RateLimitView };
  const fleets: FleetRun[] = [];
  for (const configured of [8, sim.secondary!.maxConcurrent!]) {
    process.stderr.write(`(a) TokenBucket fleet, RATE_MAX_CONCURRENT=${configured}: the Worker under wrangler dev …\n`);
    const stack = await startDevStack({ sim, verbose: process.env.BENCH_VERBOSE === "1", vars: { RATE_MAX_CONCURRENT: String(configured), RATE_RESERVE: String(reserve), FETCH_CONCURRENCY: String(fetchers) } });
    try {
      const { status, seconds } = await runToEnd(stack);
      fleets.push({ configured, seconds, status, stats: await simStats(stack.simUrl), view: await stack.apiJson<RateLimitView>("/ratelimit") });
    } finally {
      await stack.stop();
    }
  }
  const bucket = fleets[0]!;

  process.stderr.write(`(a) ${fetchers} Octokit fetchers (throttling + retry) …\n`);
  const plain = await startSimulator({ ...sim, port: 0 });
  let octo: Awaited<ReturnType<typeof runOctokitFleet>>;
  let octoStats: SimStats;
  try {
    octo = await runOctokitFleet({ apiUrl: plain.url, token: "sim-token", fetchers, deadlineMs: Math.max(120, 3 * bucket.seconds) * 1000 });
    octoStats = plain.sim.stats();
  } finally {
    await plain.close();
  }

  const ow = octoStats.perUser["octo-sim"]!.windows;
  const oBefore = windowsBeforeLast(ow, 0);
  const atBucketEnd = [...octo.progress].reverse().find((p) => p.t <= bucket.seconds)?.pages ?? 0;
  const fleetRow = (f: FleetRun) => {
    const b = f.stats;
    const bw = b.perUser["octo-sim"]!.windows;
    const bBound = boundUtilization(bw, f.view.buckets[0]?.windows ?? [], reserve);
    const bBefore = windowsBeforeLast(bw, reserve);
    const complete = f.status.tasks.failed === 0 && f.status.status !== "failed";
    return `| TokenBucket, RATE_MAX_CONCURRENT=${f.configured} (Worker, wrangler dev) | ${complete ? "yes, every task" : `no (${f.status.status})`} | ${f.seconds.toFixed(1)} s | 100% | ` +
      `${b.violations.total} (${b.violations.primary} / ${b.violations.secondary}) | ${b.penalties} | **${pct(bBound.share)}** of ${sim.primary!.limit - reserve} × ${bBound.windows} | ${pct(bBefore.share)} (${bBefore.windows}) |`;
  };
  return [
    `Simulator: scale ${sim.scale} (${pagesTotal} pages), primary ${sim.primary!.limit} requests per ${sim.primary!.windowSeconds} s window, ` +
      `secondary limit ${sim.secondary!.maxConcurrent} in flight (retry-after ${sim.secondary!.retryAfterSeconds} s), latency 20–60 ms, ` +
      `${100 * sim.faultRate!}% 5xx. Both fleets: ${fetchers} jobs/fetchers at once. TokenBucket: RATE_RESERVE=${reserve}.`,
    "",
    "| fleet | finished | wall time | data done when the first TokenBucket fleet finished | 403/429 answers (primary / secondary) | penalties | utilization, quota-bound windows | utilization, windows before the last |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
    ...fleets.map(fleetRow),
    `| ${fetchers} × Octokit (throttling + retry) | ${octo.finished ? "yes" : `no, stopped at ${octo.seconds.toFixed(0)} s`} | ${octo.finished ? `${octo.seconds.toFixed(1)} s` : `> ${octo.seconds.toFixed(0)} s`} | ` +
      `${pct(Math.min(1, atBucketEnd / pagesTotal))} | ${octoStats.violations.total} (${octoStats.violations.primary} / ${octoStats.violations.secondary}) | ${octoStats.penalties} | — | ${pct(oBefore.share)} (${oBefore.windows}) |`,
    "",
    `TokenBucket learned: ${fleets.map((f) => `configured ${f.configured} → concurrency ${f.view.buckets[0]?.learnedConcurrency}, ${f.view.buckets[0]?.learnedPerMinute}/min`).join("; ")}. ` +
      `Octokit pages done at the end: ${octo.pages} of ${pagesTotal}.`,
  ];
}

/** The TokenBucket fleet alone, with GitHub's secondary concurrency limit at 2 while RATE_MAX_CONCURRENT is 8. */
async function learnsTwoOfEight(): Promise<string[]> {
  const reserve = 10;
  const sim: SimOptions = { scale: 2, primary: { limit: 150, windowSeconds: 20 }, secondary: { maxConcurrent: 2, retryAfterSeconds: 5 }, latencyMs: [20, 60] };
  process.stderr.write("(a) TokenBucket fleet, real limit 2 of 8 …\n");
  const stack = await startDevStack({ sim, verbose: process.env.BENCH_VERBOSE === "1", vars: { RATE_MAX_CONCURRENT: "8", RATE_RESERVE: String(reserve), FETCH_CONCURRENCY: "10" } });
  try {
    const { status, seconds } = await runToEnd(stack);
    const stats = await simStats(stack.simUrl);
    const view = await stack.apiJson<RateLimitView>("/ratelimit");
    const bound = boundUtilization(stats.perUser["octo-sim"]!.windows, view.buckets[0]?.windows ?? [], reserve);
    return [
      "| GitHub's concurrency limit (configured 8) | finished | wall time | 403/429 answers | penalties | learned | utilization, quota-bound windows |",
      "|---|---|---:|---:|---:|---:|---:|",
      `| 2 | ${status.tasks.failed === 0 ? "yes, every task" : status.status} | ${seconds.toFixed(1)} s | ${stats.violations.total} | ${stats.penalties} | ${view.buckets[0]?.learnedConcurrency} | **${pct(bound.share)}** of ${sim.primary!.limit - reserve} × ${bound.windows} |`,
    ];
  } finally {
    await stack.stop();
  }
}

// (b) ------------------------------------------------------------------------------------------------------------
async function poolScaling(): Promise<string[]> {
  const windowSeconds = 15;
  const measureMs = 4 * windowSeconds * 1000 + 3_000; // at least three windows of each identity closed
  const reserve = 10;
  const sim: SimOptions = {
    scale: 6,
    primary: { limit: 100, windowSeconds },
    latencyMs: [20, 60],
    users: [
      { login: "octo-sim", id: 9000001, tokens: ["sim-token"] },
      { login: "octo-sim-2", id: 9000002, tokens: ["sim-token-2"] },
    ],
  };
  // Per identity: the requests GitHub counted in its closed windows, over the time from the first one's start to the
  // last one's end (the gaps between a window's end and the next one's first request included: a slow restart costs).
  // A cut at a fixed instant would count windows almost whole or not at all (each is spent within seconds).
  type Rate = { login: string; windows: number; used: number; seconds: number; perSecond: number };
  const results: Array<{ tokens: string; rates: Rate[]; perSecond: number }> = [];
  for (const tokens of ["sim-token", "sim-token,sim-token-2"]) {
    process.stderr.write(`(b) GITHUB_TOKEN with ${tokens.split(",").length} identit${tokens.includes(",") ? "ies" : "y"} …\n`);
    const stack = await startDevStack({ sim, vars: { GITHUB_TOKEN: tokens, RATE_RESERVE: String(reserve), FETCH_CONCURRENCY: "10" } });
    try {
      await stack.apiJson("/runs", { method: "POST", body: JSON.stringify({ mode: "full" }) });
      let t0 = 0;
      for (;;) {
        const s = await simStats(stack.simUrl);
        if (t0 === 0 && s.counted > 0) t0 = Date.now();
        if (t0 > 0 && Date.now() - t0 >= measureMs) {
          const rates = Object.entries(s.perUser).flatMap(([login, u]): Rate[] => {
            const closed = u.windows.filter((w) => !w.open && w.end <= Date.now());
            if (closed.length === 0) return [];
            const used = closed.reduce((n, w) => n + w.used, 0);
            const seconds = (closed.at(-1)!.end - closed[0]!.start) / 1000;
            return [{ login, windows: closed.length, used, seconds, perSecond: used / seconds }];
          });
          results.push({ tokens, rates, perSecond: rates.reduce((n, r) => n + r.perSecond, 0) });
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await stack.stop();
    }
  }
  const [one, two] = results as [typeof results[0], typeof results[0]];
  const detail = (rates: Rate[]) => rates.map((r) => `${r.login}: ${r.used} in ${r.windows} windows, ${r.seconds.toFixed(1)} s`).join("; ");
  return [
    `Simulator: scale ${sim.scale}, primary ${sim.primary!.limit} requests per ${windowSeconds} s window per identity, RATE_RESERVE=${reserve}; ` +
      `the run is quota-bound throughout. Per identity, the requests GitHub counted in its windows closed within ${measureMs / 1000} s, ` +
      "over the time from the first one's start to the last one's end.",
    "",
    "| GITHUB_TOKEN | identities | counted in closed windows | requests/s |",
    "|---|---:|---|---:|",
    `| one token | 1 | ${detail(one.rates)} | ${one.perSecond.toFixed(2)} |`,
    `| two tokens, two users | 2 | ${detail(two.rates)} | ${two.perSecond.toFixed(2)} |`,
    "",
    `Throughput ratio, pool of two ÷ one: **${(two.perSecond / one.perSecond).toFixed(2)}×**.`,
  ];
}

// (c) ------------------------------------------------------------------------------------------------------------
interface LoadResult { baseline: boolean; callers: number; batch: number; seconds: number; calls: number; permits: number; permitsPerSecond: number; p50: number; p99: number; mean: number }

async function bucketThroughput(): Promise<string[]> {
  const port = await freePort();
  const inspectorPort = await freePort();
  const persist = join(ROOT, ".wrangler", `bucket-bench-${process.pid}`);
  rmSync(persist, { recursive: true, force: true });
  mkdirSync(persist, { recursive: true });
  process.stderr.write("(c) one TokenBucket under load, inside workerd …\n");
  const child = spawn(join(BIN, "wrangler"), ["dev", "-c", "bench/bucket/wrangler.toml", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort),
    "--persist-to", persist, "--show-interactive-dev-session=false"], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${BIN}:${process.env.PATH ?? ""}`, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  const load = async (callers: number, seconds: number, batch = 1, mode: "bucket" | "exchange" | "writes" | "noop" = "bucket") =>
    (await (await fetch(`${url}/load?callers=${callers}&seconds=${seconds}&batch=${batch}&baseline=${mode === "writes" ? 1 : 0}&noop=${mode === "noop" ? 1 : 0}&exchange=${mode === "exchange" ? 1 : 0}`)).json()) as LoadResult;
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        await load(1, 0.2);
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`bench worker did not start:\n${output.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    type Mode = "bucket" | "exchange" | "writes" | "noop";
    const plan: Array<[Mode, number, number, string]> = [
      ["bucket", 1, 1, "TokenBucket, acquire then release (2 calls a permit)"],
      ["bucket", 10, 1, "TokenBucket, acquire then release (2 calls a permit)"],
      ["bucket", 100, 1, "TokenBucket, acquire then release (2 calls a permit)"],
      ["exchange", 1, 1, "TokenBucket, the release carried by the next acquire (1 call a permit)"],
      ["exchange", 10, 1, "TokenBucket, the release carried by the next acquire (1 call a permit)"],
      ["exchange", 100, 1, "TokenBucket, the release carried by the next acquire (1 call a permit)"],
      ["exchange", 100, 10, "TokenBucket, batches of 10, release carried"],
      ["writes", 100, 1, "floor: a DO doing only the same writes, then an empty release (2 calls a permit)"],
      ["noop", 100, 1, "floor: a DO doing nothing, then an empty release (2 calls a permit)"],
    ];
    const only = process.env.BENCH_C_ROWS?.split(",").map(Number);
    const rows: Array<LoadResult & { label: string }> = [];
    for (const [i, [mode, callers, batch, label]] of plan.entries()) {
      if (only && !only.includes(i)) continue;
      rows.push({ ...(await load(callers, 8, batch, mode)), label });
    }
    return [
      "Inside workerd (`wrangler dev`, one process on this 2-core machine): N callers in one Worker loop acquire → release " +
        "(with a GitHub-like report) against one fresh bucket for 8 s each. Latency is Date.now() in workerd, which advances " +
        "in whole milliseconds at I/O: 0 ms means under a millisecond.",
      "",
      "| object | callers | permits per acquire | acquire calls | permits/s | acquire latency p50 | p99 | mean |",
      "|---|---|---:|---:|---:|---:|---:|---:|",
      ...rows.map((r) => `| ${r.label} | ${r.callers} | ${r.batch} | ${r.calls} | **${Math.round(r.permitsPerSecond)}** | ${r.p50} ms | ${r.p99} ms | ${r.mean.toFixed(2)} ms |`),
    ];
  } finally {
    try {
      if (child.pid) process.kill(-child.pid, "SIGTERM");
    } catch {
      /* gone */
    }
    rmSync(persist, { recursive: true, force: true });
  }
}

const wanted = process.argv.slice(2).filter((a) => /^(a|b|c|a2)$/.test(a));
const run = (s: string) => wanted.length === 0 || wanted.includes(s);
const started = Date.now();
console.log(`# TokenBucket benchmark (${new Date().toISOString().slice(0, 10)}, \`npx tsx bench/ratelimit.ts\`)\n`);
if (run("a")) {
  console.log(`## (a) TokenBucket fleet vs per-process throttling (Octokit)\n\n${(await fleetVersusOctokit()).join("\n")}\n`);
  console.log(`Learning a limit GitHub does not announce, same simulator otherwise (no 5xx):\n\n${(await learnsTwoOfEight()).join("\n")}\n`);
}
if (wanted.includes("a2")) console.log((await learnsTwoOfEight()).join("\n"));
if (run("b")) console.log(`## (b) Token pool: one identity vs two\n\n${(await poolScaling()).join("\n")}\n`);
if (run("c")) console.log(`## (c) One bucket: permits per second and acquire latency\n\n${(await bucketThroughput()).join("\n")}\n`);
console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
process.exit(0); // abandoned Octokit limiters may still hold timers
