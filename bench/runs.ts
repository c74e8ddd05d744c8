/** Benchmark of the RunCoordinator (issue 4), on the real Worker under `wrangler dev` against the simulator:
 *  (1) incremental runs — the counted requests of a run after a few new issues, stars and commits, and of a run over
 *      unchanged data, as ratios of the full run's;
 *  (2) the ETA — on a quota-bound run (a small primary window), the estimate shown at the run's half-way point
 *      against the time the run really took from there.
 *  Usage: npx tsx bench/runs.ts [--scale 3]   (npm run bench runs it too) */
import { startDevStack, type DevStack } from "../scripts/devstack";
import type { RunStatus } from "../src/objects/RunCoordinator";

interface SimStats { requests: number; counted: number; notModified: number; violations: { total: number } }

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

async function simStats(stack: DevStack): Promise<SimStats> {
  return (await (await fetch(`${stack.simUrl}/_sim/stats`)).json()) as SimStats;
}

async function runOnce(stack: DevStack, body: unknown, onStatus?: (s: RunStatus, t: number) => void): Promise<{ status: RunStatus; counted: number; requests: number; seconds: number }> {
  const before = await simStats(stack);
  const t0 = Date.now();
  const { runId } = await stack.apiJson<{ runId: string }>("/runs", { method: "POST", body: JSON.stringify(body) });
  for (;;) {
    const status = await stack.apiJson<RunStatus>(`/runs/${runId}`);
    onStatus?.(status, Date.now());
    if (status.status !== "running") {
      const after = await simStats(stack);
      return { status, counted: after.counted - before.counted, requests: after.requests - before.requests, seconds: (Date.now() - t0) / 1000 };
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function benchIncremental(scale: number): Promise<string[]> {
  const stack = await startDevStack({ sim: { scale } });
  try {
    const full = await runOnce(stack, { mode: "full" });
    const truth = (await (await fetch(`${stack.simUrl}/_sim/truth`)).json()) as { repositories: Array<{ full_name: string }> };
    const repos = truth.repositories.map((r) => r.full_name).filter((n) => !/vanished|empty-repo/.test(n));
    await fetch(`${stack.simUrl}/_sim/mutate`, {
      method: "POST",
      body: JSON.stringify({ addIssues: [{ repo: repos[0], count: 3 }], addStars: [{ repo: repos[1], count: 4 }], addCommits: [{ repo: repos[2], count: 2 }] }),
    });
    const changed = await runOnce(stack, {});
    const unchanged = await runOnce(stack, {});
    const pct = (n: number) => `${((100 * n) / full.counted).toFixed(2)}%`;
    return [
      `| run | mode | counted requests | all requests (304s) | rows | seconds | counted ÷ full |`,
      `|---|---|---:|---:|---:|---:|---:|`,
      `| full | ${full.status.mode} | ${full.counted} | ${full.requests} (${full.status.counters.notModified}) | ${full.status.counters.rows} | ${full.seconds.toFixed(1)} | 100% |`,
      `| after +3 issues, +4 stars, +2 commits | ${changed.status.mode} | ${changed.counted} | ${changed.requests} (${changed.status.counters.notModified}) | ${changed.status.counters.rows} | ${changed.seconds.toFixed(1)} | **${pct(changed.counted)}** (target ≤ 5%) |`,
      `| unchanged | ${unchanged.status.mode} | ${unchanged.counted} | ${unchanged.requests} (${unchanged.status.counters.notModified}) | ${unchanged.status.counters.rows} | ${unchanged.seconds.toFixed(1)} | **${pct(unchanged.counted)}** (target ≤ 2%) |`,
    ];
  } finally {
    await stack.stop();
  }
}

export async function benchEta(scale: number): Promise<string[]> {
  // A primary window of 100 requests per 15 s makes the run quota-bound for several windows.
  const windowSeconds = 15;
  const stack = await startDevStack({
    sim: { scale, primary: { limit: 100, windowSeconds } },
    vars: { RATE_RESERVE: "0", RATE_WINDOW_SECONDS: String(windowSeconds), PAGES_PER_PART: "5" },
  });
  try {
    const samples: Array<{ t: number; eta: number | null; quotaBound: boolean; remaining: number }> = [];
    const run = await runOnce(stack, { mode: "full" }, (s, t) => {
      if (s.status === "running" && s.estimate) samples.push({ t, eta: s.estimate.etaSeconds, quotaBound: s.estimate.quotaBound, remaining: s.estimate.remainingRequests });
    });
    const t0 = Date.parse(run.status.startedAt);
    const tEnd = Date.parse(run.status.finishedAt ?? new Date().toISOString());
    const half = t0 + (tEnd - t0) / 2;
    const at = samples.reduce((best, s) => (Math.abs(s.t - half) < Math.abs(best.t - half) ? s : best), samples[0]!);
    const actual = (tEnd - at.t) / 1000;
    const error = at.eta === null ? null : (100 * (at.eta - actual)) / actual;
    return [
      `| run | requests | duration | sampled at | ETA shown | actual remaining | error |`,
      `|---|---:|---:|---:|---:|---:|---:|`,
      `| full, quota-bound (100 req / ${windowSeconds} s window) | ${run.requests} | ${((tEnd - t0) / 1000).toFixed(1)} s | ${((at.t - t0) / 1000).toFixed(1)} s (quota-bound: ${at.quotaBound}) | ${at.eta ?? "—"} s | ${actual.toFixed(1)} s | **${error === null ? "—" : `${error >= 0 ? "+" : ""}${error.toFixed(1)}%`}** (target within ±10%) |`,
    ];
  } finally {
    await stack.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const scale = arg("scale", 3);
  console.log(`## RunCoordinator: incremental runs (simulator scale ${scale})\n`);
  console.log((await benchIncremental(scale)).join("\n"));
  console.log(`\n## RunCoordinator: ETA at half-way (simulator scale ${scale})\n`);
  console.log((await benchEta(scale)).join("\n"));
}
