/** Read models of a run, computed from the coordinator's SQLite ledger. */
import type { Coverage } from "../../github/jobs";
import type { RepoProgress, ResourceProgress, RunMode, RunStatus, RunStatusName, RunSummary } from "./types";

interface RunLike {
  id: string;
  status: string;
  trigger: string;
  mode: string;
  started_at: number;
  finished_at: number | null;
  resources: string;
  manifest_key: string | null;
  error: string | null;
  pruned: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function loadSummary(sql: SqlStorage, run: RunLike): RunSummary {
  const t = sql.exec<Record<string, number>>(
    `SELECT COUNT(*) AS total,
       COUNT(*) FILTER (WHERE state = 'waiting') AS waiting, COUNT(*) FILTER (WHERE state = 'pending') AS pending,
       COUNT(*) FILTER (WHERE state = 'running') AS running, COUNT(*) FILTER (WHERE state = 'done') AS done,
       COUNT(*) FILTER (WHERE state = 'failed') AS failed, COUNT(*) FILTER (WHERE state = 'dead') AS dead,
       COUNT(*) FILTER (WHERE state = 'cancelled') AS cancelled,
       COUNT(DISTINCT CASE WHEN resource != 'repositories' THEN owner || '/' || repo END) AS repositories
     FROM task WHERE run_id = ? AND write = 1`, run.id,
  ).one();
  const c = sql.exec<Record<string, number>>(
    `SELECT COALESCE(SUM(requests),0) AS requests, COALESCE(SUM(not_modified),0) AS notModified, COALESCE(SUM(pages),0) AS pages,
       COALESCE(SUM(rows),0) AS rows, COALESCE(SUM(bytes),0) AS bytes, COALESCE(SUM(retries),0) AS retries,
       COALESCE(SUM(rate_limit_waits),0) AS rateLimitWaits FROM task WHERE run_id = ?`, run.id,
  ).one();
  const files = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM part WHERE run_id = ? AND key IS NOT NULL", run.id).one().n;
  const coverage: Partial<Record<Coverage, number>> = {};
  for (const row of sql.exec<{ coverage: Coverage; n: number }>(
    "SELECT coverage, COUNT(*) AS n FROM task WHERE run_id = ? AND write = 1 AND coverage IS NOT NULL GROUP BY coverage", run.id,
  )) coverage[row.coverage] = row.n;
  const n = (k: string) => t[k] ?? 0;
  return {
    runId: run.id,
    status: run.status as RunStatusName,
    trigger: run.trigger,
    mode: run.mode as RunMode,
    startedAt: iso(run.started_at)!,
    finishedAt: iso(run.finished_at),
    resources: JSON.parse(run.resources) as string[],
    repositories: n("repositories"),
    tasks: { total: n("total"), waiting: n("waiting"), pending: n("pending"), running: n("running"), done: n("done"), failed: n("failed"), dead: n("dead"), cancelled: n("cancelled") },
    coverage,
    counters: {
      requests: c.requests ?? 0, notModified: c.notModified ?? 0, pages: c.pages ?? 0, rows: c.rows ?? 0, bytes: c.bytes ?? 0,
      files, retries: c.retries ?? 0, rateLimitWaits: c.rateLimitWaits ?? 0,
    },
    estimate: null,
    manifestKey: run.manifest_key,
    error: run.error,
    pruned: run.pruned === 1,
  };
}

export function resourceProgress(sql: SqlStorage, runId: string): Record<string, ResourceProgress> {
  const out: Record<string, ResourceProgress> = {};
  for (const r of sql.exec<{ resource: string; tasks: number; done: number; failed: number; rows: number; requests: number }>(
    `SELECT resource, COUNT(*) AS tasks, COUNT(*) FILTER (WHERE state = 'done') AS done,
       COUNT(*) FILTER (WHERE state IN ('failed','dead')) AS failed, SUM(rows) AS rows, SUM(requests) AS requests
     FROM task WHERE run_id = ? AND write = 1 GROUP BY resource`, runId,
  )) out[r.resource] = { tasks: r.tasks, done: r.done, failed: r.failed, rows: r.rows, files: 0, requests: r.requests };
  for (const f of sql.exec<{ resource: string; n: number }>(
    "SELECT resource, COUNT(*) AS n FROM part WHERE run_id = ? AND key IS NOT NULL GROUP BY resource", runId,
  )) if (out[f.resource]) out[f.resource]!.files = f.n;
  return out;
}

/** Per repository: unfinished first (started before not started), for per-repository progress bars. */
export function repoProgress(sql: SqlStorage, runId: string, limit = 500): RepoProgress[] {
  return sql.exec<RepoProgress & Record<string, SqlStorageValue>>(
    `SELECT repository, tasks, finished, failed, rows, requests FROM (
       SELECT owner || '/' || repo AS repository, COUNT(*) AS tasks, COUNT(*) FILTER (WHERE state IN ('done','failed','dead','cancelled')) AS finished,
         COUNT(*) FILTER (WHERE state IN ('failed','dead')) AS failed, COALESCE(SUM(rows),0) AS rows, COALESCE(SUM(requests),0) AS requests
       FROM task WHERE run_id = ? AND write = 1 AND resource != 'repositories' GROUP BY owner, repo)
     ORDER BY CASE WHEN finished = tasks THEN 2 WHEN finished > 0 THEN 0 ELSE 1 END, repository LIMIT ?`, runId, limit,
  ).toArray();
}

export function loadStatus(sql: SqlStorage, run: RunLike, summary: RunSummary): RunStatus {
  return {
    ...summary,
    byResource: resourceProgress(sql, run.id),
    files: sql.exec<{ key: string; resource: string; rows: number; bytes: number }>(
      "SELECT key, resource, rows, bytes FROM part WHERE run_id = ? AND key IS NOT NULL ORDER BY key", run.id,
    ).toArray().map((f) => ({ key: f.key, resource: f.resource, rows: f.rows, bytes: f.bytes })),
    errors: sql.exec<{ repository: string; resource: string; coverage: string | null; state: string; error: string | null }>(
      `SELECT owner || '/' || repo AS repository, resource, coverage, state, error FROM task
       WHERE run_id = ? AND (state IN ('failed','dead') OR coverage = 'not_found') ORDER BY owner, repo, resource LIMIT 200`, run.id,
    ).toArray(),
  };
}
