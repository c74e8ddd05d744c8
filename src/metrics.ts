/** Metrics: one Analytics Engine data point (binding `ANALYTICS`) per fetch outcome, so an operator can chart requests,
 *  304s, rate-limit waits, errors and rows by run, repository and resource with the SQL API (docs/RUNBOOK.md).
 *  Writes are fire-and-forget and never fail the work they describe.
 *
 *  Schema of dataset `github_lake` (append only: queries depend on the positions):
 *    index1  run id (the sampling key)
 *    blob1   event: `part` (a part was recorded), `wait` (deferred by a long rate-limit wait), `retry` (the queue will
 *            redeliver), `failed` (a GitHub answer retrying cannot change), `dead` (dead-lettered after the retries)
 *    blob2   run id      blob3  repository `owner/name` (`(discovery)` for the repositories listing)
 *    blob4   resource    blob5  detail: the part's outcome, or the error's class
 *    double1 requests    double2 304s (not modified)    double3 rate-limit waits    double4 errors
 *    double5 rows        double6 bytes                  double7 pages               double8 retried requests */
import { GitHubError, RateLimitWait } from "./github/errors";
import type { FetchJob, PartReport } from "./github/jobs";

export type MetricEvent = "part" | "wait" | "retry" | "failed" | "dead";

export interface MetricValues {
  requests?: number;
  notModified?: number;
  waits?: number;
  errors?: number;
  rows?: number;
  bytes?: number;
  pages?: number;
  retries?: number;
}

type JobRef = Pick<FetchJob, "runId" | "resource" | "repo">;

/** The data point for one event (exported for tests). */
export function dataPoint(event: MetricEvent, job: JobRef, detail: string, v: MetricValues): AnalyticsEngineDataPoint {
  const repository = job.repo ? `${job.repo.owner}/${job.repo.name}` : "(discovery)";
  return {
    indexes: [job.runId.slice(0, 96)],
    blobs: [event, job.runId, repository, job.resource, detail.slice(0, 200)],
    doubles: [v.requests ?? 0, v.notModified ?? 0, v.waits ?? 0, v.errors ?? 0, v.rows ?? 0, v.bytes ?? 0, v.pages ?? 0, v.retries ?? 0],
  };
}

function write(env: Env, point: AnalyticsEngineDataPoint): void {
  try {
    env.ANALYTICS?.writeDataPoint(point);
  } catch {
    /* metrics are best effort: a full or missing dataset must never fail a fetch */
  }
}

/** A part was recorded: its requests, 304s, waits, rows, bytes, pages and retried requests. */
export function recordPartMetrics(env: Env, job: JobRef, report: PartReport): void {
  write(env, dataPoint("part", job, report.next ? "continues" : report.outcome, {
    requests: report.requests, notModified: report.notModified, waits: report.rateLimitWaits, rows: report.rows,
    bytes: report.bytes, pages: report.pages, retries: report.retries,
  }));
}

/** A delivery ended in an error: a long rate-limit wait (deferred), a final GitHub answer, or a retry. */
export function recordErrorMetrics(env: Env, job: JobRef, err: unknown): void {
  if (err instanceof RateLimitWait) write(env, dataPoint("wait", job, err.reason, { waits: 1 }));
  else if (err instanceof GitHubError && !err.retryable) write(env, dataPoint("failed", job, `${err.name} ${err.status}`, { errors: 1 }));
  else write(env, dataPoint("retry", job, err instanceof Error ? err.name : "error", { errors: 1 }));
}

/** A message was dead-lettered after the queue's retries: its task fails. */
export function recordDeadMetrics(env: Env, job: JobRef): void {
  write(env, dataPoint("dead", job, "dead-lettered", { errors: 1 }));
}
