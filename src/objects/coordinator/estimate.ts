/** The run's plan and ETA. Cost: each open task's pages left — exact once its first page has told the listing's size
 *  (Link rel="last"), estimated from discovery's counts before that. Time: at the observed request rate while the budget
 *  lasts; past it, the wait for the window's reset plus whole windows of (limit − reserve) requests. */
import type { Config } from "../../config";
import type { RunEstimate } from "./types";

const RATE_SAMPLE_MS = 120_000;
const BURST_MS = 5_000;

export function estimateRun(sql: SqlStorage, runId: string, cfg: Config): RunEstimate {
  const now = Date.now();
  const run = sql.exec<{ started_at: number; quota_limit: number | null; quota_remaining: number | null; quota_reset: number | null }>(
    "SELECT started_at, quota_limit, quota_remaining, quota_reset FROM run WHERE id = ?", runId,
  ).one();
  const left = sql.exec<{ remaining: number; done: number }>(
    `SELECT COALESCE(SUM(CASE WHEN state IN ('waiting','pending','running') THEN MAX(COALESCE(total_pages, est_pages) - pages, 0) ELSE 0 END), 0) AS remaining,
            COALESCE(SUM(requests), 0) AS done FROM task WHERE run_id = ?`, runId,
  ).one();
  // Reactions wait for their issues listing: each issue with reactions costs at least one request. Extrapolate from
  // the issues seen so far to the pages of the listing still to come.
  const reactions = sql.exec<{ n: number }>(
    `SELECT COALESCE(SUM(CAST((SELECT COUNT(*) FROM reacted r WHERE r.run_id = x.run_id AND r.owner = x.owner AND r.repo = x.repo) AS REAL)
        * MAX(1.0, CAST(COALESCE(i.total_pages, i.est_pages) AS REAL) / MAX(i.pages, 1))), 0) AS n
     FROM task x JOIN task i ON i.run_id = x.run_id AND i.owner = x.owner AND i.repo = x.repo AND i.resource = 'issues'
     WHERE x.run_id = ? AND x.resource = 'reactions' AND x.state = 'waiting'`, runId,
  ).one().n;
  const remaining = Math.round(left.remaining + reactions);
  // The rate the fleet reaches when the budget does not hold it back: the busiest few seconds so far (a quota-bound
  // fleet spends each new window in a burst; averaging over a minute would count the waits as slowness).
  const sampleFrom = Math.max(run.started_at, now - RATE_SAMPLE_MS);
  const recent = sql.exec<{ n: number }>("SELECT COALESCE(SUM(requests), 0) AS n FROM part WHERE run_id = ? AND recorded_at >= ?", runId, sampleFrom).one().n;
  const peak = sql.exec<{ n: number }>(
    `SELECT COALESCE(MAX(n), 0) AS n FROM (SELECT SUM(requests) AS n FROM part WHERE run_id = ? GROUP BY recorded_at / ${BURST_MS})`, runId,
  ).one().n;
  const elapsed = Math.max(1, (now - sampleFrom) / 1000);
  const observedRate = recent > 0 ? recent / elapsed : null;
  const freeRate = Math.max(observedRate ?? 0, now - run.started_at >= BURST_MS ? peak / (BURST_MS / 1000) : 0);

  let etaSeconds: number | null = null;
  let quotaBound = false;
  if (remaining === 0) etaSeconds = 0;
  else if (run.quota_limit !== null && run.quota_remaining !== null && run.quota_reset !== null) {
    const budget = Math.max(0, run.quota_remaining - cfg.rateReserve);
    const perWindow = Math.max(1, run.quota_limit - cfg.rateReserve);
    if (remaining > budget) {
      quotaBound = true;
      const toReset = Math.max(0, run.quota_reset * 1000 - now) / 1000;
      const beyond = remaining - budget;
      const fullWindows = Math.floor((beyond - 1) / perWindow);
      const lastWindow = beyond - fullWindows * perWindow;
      etaSeconds = toReset + fullWindows * cfg.rateWindowSeconds + (freeRate > 0 ? lastWindow / freeRate : 0);
    } else if (freeRate > 0) etaSeconds = remaining / freeRate;
  } else if (freeRate > 0) etaSeconds = remaining / freeRate;

  return {
    estimatedRequests: left.done + remaining,
    remainingRequests: remaining,
    observedRate: observedRate === null ? null : Math.round(observedRate * 100) / 100,
    quotaBound,
    etaSeconds: etaSeconds === null ? null : Math.round(etaSeconds),
    etaAt: etaSeconds === null ? null : new Date(now + etaSeconds * 1000).toISOString(),
  };
}
