import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../config";
import { appCredentials } from "../github/app";
import type { ResourceState } from "../github/incremental";
import type { Coverage, FetchJob, PartReport, RepoMeta } from "../github/jobs";
import { manifestKey } from "../lake/keys";
import type { ResourceName } from "../lake/schemas";
import { errorText, log } from "../log";
import { notifyDeadTask, notifyRunFinished } from "../notify";
import { estimateRun } from "./coordinator/estimate";
import { MIGRATIONS } from "./coordinator/schema";
import { loadStatus, loadSummary, repoProgress, resourceProgress } from "./coordinator/status";
import type { CreateRunRequest, CreateRunResult, FeedMessage, RepoProgress, RunMode, RunStatus, RunSummary } from "./coordinator/types";
import { migrate } from "./migrate";
import { newRunId } from "./runId";

export type * from "./coordinator/types";

/** The one coordinator of all runs (`getByName("coordinator")`). Responsibilities: create runs and their task ledger
 *  in SQLite (repository × resource, with one part per page); fan work out to github-fetch-queue, largest repositories
 *  first; apply fetchers' reports exactly once under the queue's at-least-once delivery; keep incremental state
 *  (watermarks, ETags) that moves only when a task fully succeeded; end each run exactly once with a manifest in R2;
 *  stream progress to WebSocket watchers (hibernatable); and, from its alarm, resume work whose consumer died so no run
 *  stays `running` forever. Callers use RPC; fetch() is only the WebSocket upgrade. */

/** A consumer refreshes its claim with every report; a claim older than this belongs to a consumer that died. */
const CLAIM_TTL_MS = 3 * 60_000;
/** A run with no report for this long (and no deliberate wait) has lost messages: send its open tasks again. */
const STALL_AFTER_MS = 10 * 60_000;
const WATCHDOG_EVERY_MS = 60_000;
/** Watchdog resends before a task is declared failed. */
const MAX_STALLS = 3;
/** Explicit repositories resolved per discovery message, and issue numbers per reactions message. */
const REPOS_PER_PART = 50;
const ISSUES_PER_REACTIONS_PART = 50;
/** Progress messages to watchers are coalesced to at most one per run per this interval. */
const FEED_INTERVAL_MS = 250;
const TICKET_TTL_MS = 60_000;
const SEND_BATCH = 100;

interface RunRow {
  id: string;
  status: string;
  trigger: string;
  mode: RunMode;
  started_at: number;
  finished_at: number | null;
  last_progress_at: number;
  resources: string;
  repos_requested: string | null;
  manifest_key: string | null;
  error: string | null;
  summary: string | null;
  pruned: number;
  [key: string]: SqlStorageValue;
}
interface TaskRow {
  run_id: string;
  task_id: string;
  resource: string;
  owner: string;
  repo: string;
  repo_id: number | null;
  repo_pushed_at: string | null;
  repo_updated_at: string | null;
  write: number;
  state: string;
  coverage: string | null;
  parts_expected: number | null;
  parts_done: number;
  cursor_part: number;
  cursor_url: string | null;
  enqueued_part: number;
  not_before: number;
  claimed_at: number | null;
  job_state: string | null;
  max_seen: string | null;
  ids_at_max: string | null;
  first_url: string | null;
  first_etag: string | null;
  resume_url: string | null;
  installation: number | null;
  attempts: number;
  error: string | null;
  note: string | null;
  updated_at: number;
  [key: string]: SqlStorageValue;
}
interface StateRow {
  watermark: string | null;
  boundary_ids: string | null;
  etag_url: string | null;
  etag: string | null;
  resume_url: string | null;
  pushed_at: string | null;
  outcome: string | null;
  repo_updated_at: string | null;
  [key: string]: SqlStorageValue;
}

const taskIdOf = (resource: string, owner: string, repo: string) => `${resource}:${owner}/${repo}`;
/** Discovery pages of an App installation are cached under its own key: every installation lists the same URLs. */
const cacheKey = (url: string, installation: number | null) => (installation === null ? url : `app:${installation} ${url}`);
const OPEN = "('waiting','pending','running')";
const later = (a: string | null, b: string | null) => (!a ? b : !b ? a : Date.parse(b) > Date.parse(a) ? b : a);

export class RunCoordinator extends DurableObject<Env> {
  #feedTimers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Runs before any RPC, fetch, alarm or WebSocket event is delivered: local storage work only.
    void ctx.blockConcurrencyWhile(async () => migrate(ctx.storage, MIGRATIONS));
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong")); // answered without waking us
  }

  // ── RPC: runs ────────────────────────────────────────────────────────────────────────────────────────────────

  /** RPC. Starts a run: records it and enqueues discovery. Incremental unless `mode: "full"` or no run has succeeded
   *  yet. A cron firing while an earlier scheduled run is still going is logged and starts nothing. */
  async createRun(req: CreateRunRequest): Promise<CreateRunResult> {
    const sql = this.ctx.storage.sql;
    if (req.trigger === "cron") {
      const busy = sql.exec<{ id: string }>("SELECT id FROM run WHERE status = 'running' AND trigger = 'cron' LIMIT 1").toArray()[0];
      if (busy) {
        log("run.skipped", { runId: busy.id, reason: "previous scheduled run still running" }, "warn");
        return { skipped: busy.id, reason: "previous scheduled run still running" };
      }
    }
    this.#prune();
    const now = Date.now();
    const runId = newRunId(now);
    const succeeded = sql.exec("SELECT 1 FROM run WHERE status IN ('completed','completed_with_errors') LIMIT 1").toArray().length > 0;
    const mode: RunMode = req.mode === "full" || !succeeded ? "full" : "incremental";
    const explicit = req.repos ? [...new Set(req.repos)] : null;
    sql.exec(
      `INSERT INTO run (id, status, trigger, mode, started_at, last_progress_at, resources, repos_requested)
       VALUES (?, 'running', ?, ?, ?, ?, ?, ?)`,
      runId, req.trigger, mode, now, now, JSON.stringify(req.resources), explicit ? JSON.stringify(explicit) : null,
    );
    // Discovery: one task, or with only a GitHub App one per installation (each lists what it was granted).
    const installations = explicit ? [] : this.#appOnlyInstallations();
    const discovery = installations.length > 0
      ? installations.map((id) => ({ owner: "_installation", repo: String(id), installation: id as number | null }))
      : [{ owner: explicit ? "_selected" : "_all", repo: "repositories", installation: null }];
    for (const d of discovery) {
      sql.exec(
        `INSERT INTO task (run_id, task_id, resource, owner, repo, write, state, parts_expected, installation, updated_at)
         VALUES (?, ?, 'repositories', ?, ?, ?, 'pending', ?, ?, ?)`,
        runId, taskIdOf("repositories", d.owner, d.repo), d.owner, d.repo, req.resources.includes("repositories") ? 1 : 0,
        explicit ? Math.max(1, Math.ceil(explicit.length / REPOS_PER_PART)) : null, d.installation, now,
      );
    }
    log("run.started", { runId, trigger: req.trigger, mode, resources: req.resources, repos: explicit?.length ?? "discover", ...(installations.length > 0 ? { installations } : {}) });
    await this.#enqueue(discovery.flatMap((d) => this.#jobsFor(this.#task(runId, taskIdOf("repositories", d.owner, d.repo))!)));
    await this.#armWatchdog();
    return { runId, startedAt: new Date(now).toISOString(), mode };
  }

  /** RPC. Status of one run with its files and errors, or null for an unknown run. */
  async status(runId: string): Promise<RunStatus | null> {
    const run = this.#run(runId);
    return run ? this.#status(run) : null;
  }

  /** RPC. Progress per repository of a run (unfinished first), for per-repository progress bars. */
  async repositories(runId: string, limit = 500): Promise<RepoProgress[]> {
    return repoProgress(this.ctx.storage.sql, runId, limit);
  }

  /** RPC. The latest runs, newest first. */
  async listRuns(limit = 50): Promise<RunSummary[]> {
    const runs = this.ctx.storage.sql.exec<RunRow>("SELECT * FROM run ORDER BY started_at DESC LIMIT ?", limit).toArray();
    return runs.map((r) => this.#summary(r));
  }

  /** RPC. Stops a running run: its open tasks are cancelled and the messages still queued for it are dropped on
   *  delivery. Returns the final status, or an error string when the run is unknown or not running. */
  async cancel(runId: string): Promise<RunStatus | { refused: string; code: number }> {
    const run = this.#run(runId);
    if (!run) return { refused: `run ${runId} not found`, code: 404 };
    if (run.status !== "running") return { refused: `run ${runId} is ${run.status}, not running`, code: 409 };
    const now = Date.now();
    this.ctx.storage.sql.exec(`UPDATE task SET state = 'cancelled', claimed_at = NULL, updated_at = ? WHERE run_id = ? AND state IN ${OPEN}`, now, runId);
    await this.#finish(run, "cancelled", "cancelled by an operator");
    return this.#status(this.#run(runId)!);
  }

  /** RPC. Sends a run's failed and dead tasks again, from where each stopped; reopens the run if it had ended. */
  async retry(runId: string): Promise<{ retried: number; status: RunStatus } | { refused: string; code: number }> {
    const sql = this.ctx.storage.sql;
    const run = this.#run(runId);
    if (!run) return { refused: `run ${runId} not found`, code: 404 };
    if (run.status === "cancelled") return { refused: `run ${runId} was cancelled: start a new run instead`, code: 409 };
    if (run.pruned) return { refused: `run ${runId} is past retention: start a new run instead`, code: 409 };
    const now = Date.now();
    const failed = sql.exec<TaskRow>("SELECT * FROM task WHERE run_id = ? AND state IN ('failed','dead')", runId).toArray();
    if (failed.length === 0) return { retried: 0, status: this.#status(run) };
    // Reactions that failed because their issues listing failed wait for it again.
    const issuesRetried = new Set(failed.filter((t) => t.resource === "issues").map((t) => `${t.owner}/${t.repo}`));
    const toSend: TaskRow[] = [];
    for (const t of failed) {
      const waits = t.resource === "reactions" && issuesRetried.has(`${t.owner}/${t.repo}`);
      sql.exec("UPDATE task SET state = ?, coverage = NULL, claimed_at = NULL, attempts = 0, not_before = 0, updated_at = ? WHERE run_id = ? AND task_id = ?",
        waits ? "waiting" : "pending", now, runId, t.task_id);
      if (!waits) toSend.push(this.#task(runId, t.task_id)!);
    }
    if (run.status !== "running") {
      sql.exec("UPDATE run SET status = 'running', finished_at = NULL, error = NULL, last_progress_at = ? WHERE id = ?", now, runId);
    }
    log("run.retry", { runId, tasks: failed.length });
    await this.#enqueue(toSend.flatMap((t) => this.#jobsFor(t)));
    await this.#armWatchdog();
    return { retried: failed.length, status: this.#status(this.#run(runId)!) };
  }

  /** RPC. A one-minute, single-use ticket for a browser to open `/runs/:runId/ws?ticket=…` (browsers cannot set an
   *  Authorization header on a WebSocket, and the admin token must not travel in URLs that logs keep). */
  async issueTicket(runId: string): Promise<{ ticket: string; expiresAt: string } | null> {
    if (!this.#run(runId)) return null;
    const ticket = [...crypto.getRandomValues(new Uint8Array(24))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const expiresAt = Date.now() + TICKET_TTL_MS;
    this.ctx.storage.sql.exec("DELETE FROM ticket WHERE expires_at < ?", Date.now());
    this.ctx.storage.sql.exec("INSERT INTO ticket (hash, run_id, expires_at) VALUES (?, ?, ?)", await sha256(ticket), runId, expiresAt);
    return { ticket, expiresAt: new Date(expiresAt).toISOString() };
  }

  // ── RPC: fetchers ────────────────────────────────────────────────────────────────────────────────────────────

  /** RPC. A delivered job asks whether, and from where, to work. Null drops the message: its run has ended, its task is
   *  closed, its part already applied, or a live consumer holds the task. A redelivery after a consumer died resumes at
   *  the task's cursor — the page it was on — not at the message's first part. */
  async claim(runId: string, taskId: string, part: number): Promise<{ part: number; url: string | null } | null> {
    const run = this.#run(runId);
    const task = this.#task(runId, taskId);
    if (!run || !task || run.status !== "running" || !["pending", "running"].includes(task.state)) return null;
    const now = Date.now();
    const sql = this.ctx.storage.sql;
    if (task.parts_expected !== null) {
      if (sql.exec("SELECT 1 FROM part WHERE run_id = ? AND task_id = ? AND part = ?", runId, taskId, part).toArray().length > 0) return null;
      const held = sql.exec<{ claimed_at: number }>("SELECT claimed_at FROM part_claim WHERE run_id = ? AND task_id = ? AND part = ?", runId, taskId, part).toArray()[0];
      if (held && now - held.claimed_at < CLAIM_TTL_MS) return null; // a live consumer has this part
      sql.exec("INSERT OR REPLACE INTO part_claim (run_id, task_id, part, claimed_at) VALUES (?, ?, ?, ?)", runId, taskId, part, now);
      sql.exec("UPDATE task SET state = 'running', claimed_at = ?, updated_at = ? WHERE run_id = ? AND task_id = ?", now, now, runId, taskId);
      return { part, url: null };
    }
    if (part > task.cursor_part) return null;
    if (task.claimed_at !== null && now - task.claimed_at < CLAIM_TTL_MS) return null; // someone is on it
    // An older message while the cursor's own message is on its way: that one will carry on.
    if (part < task.cursor_part && task.enqueued_part >= task.cursor_part && task.claimed_at === null) return null;
    sql.exec("UPDATE task SET state = 'running', claimed_at = ?, updated_at = ? WHERE run_id = ? AND task_id = ?", now, now, runId, taskId);
    return { part: task.cursor_part, url: task.cursor_url };
  }

  /** RPC. Applies one part's report. Idempotent: a part already recorded changes nothing, but a continuation that may
   *  have been lost is sent again. */
  async recordPart(report: PartReport): Promise<void> {
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    const task = this.#task(report.runId, report.taskId);
    const run = this.#run(report.runId);
    if (!task || !run || run.status !== "running" || !["pending", "running"].includes(task.state)) return;

    const inserted = sql.exec(
      `INSERT OR IGNORE INTO part (run_id, task_id, part, key, resource, rows, bytes, requests, recorded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING part`,
      report.runId, report.taskId, report.part, report.key, task.resource, report.rows, report.bytes, report.requests, now,
    ).toArray().length > 0;
    if (!inserted) {
      // Duplicate delivery. If this part handed off and its continuation was never sent (the send failed), send it now.
      if (task.parts_expected === null && report.next && report.handoff && task.cursor_part === report.part + 1 && task.enqueued_part < task.cursor_part) {
        await this.#enqueue(this.#jobsFor(task));
      }
      await this.#maybeFinish(report.runId);
      return;
    }

    sql.exec(
      `UPDATE task SET rows = rows + ?, bytes = bytes + ?, requests = requests + ?, not_modified = not_modified + ?,
         pages = pages + ?, retries = retries + ?, rate_limit_waits = rate_limit_waits + ?, parts_done = parts_done + 1,
         claimed_at = ?, updated_at = ?, note = COALESCE(?, note),
         total_pages = COALESCE(?, total_pages), first_url = COALESCE(?, first_url), first_etag = COALESCE(?, first_etag),
         resume_url = COALESCE(?, resume_url)
       WHERE run_id = ? AND task_id = ?`,
      report.rows, report.bytes, report.requests, report.notModified, report.pages, report.retries, report.rateLimitWaits,
      now, now, report.note ?? null,
      report.totalPages ?? null, report.firstPage?.url ?? null, report.firstPage?.etag ?? null, report.resumeUrl ?? null,
      report.runId, report.taskId,
    );
    sql.exec("UPDATE run SET last_progress_at = ? WHERE id = ?", now, report.runId);
    sql.exec("DELETE FROM part_claim WHERE run_id = ? AND task_id = ? AND part = ?", report.runId, report.taskId, report.part);
    if (report.quota) {
      sql.exec("UPDATE run SET quota_limit = ?, quota_remaining = ?, quota_reset = ? WHERE id = ? AND (quota_reset IS NULL OR quota_reset < ? OR (quota_reset = ? AND quota_remaining > ?))",
        report.quota.limit, report.quota.remaining, report.quota.reset, report.runId, report.quota.reset, report.quota.reset, report.quota.remaining);
    }
    this.#mergeWatermark(task, report);
    for (const n of report.reacted ?? []) {
      sql.exec("INSERT OR IGNORE INTO reacted (run_id, owner, repo, number) VALUES (?, ?, ?, ?)", report.runId, task.owner, task.repo, n);
    }

    const jobs: FetchJob[] = [];
    if (task.resource === "repositories") jobs.push(...this.#discovered(run, task, report, now));

    const fresh = this.#task(report.runId, report.taskId)!;
    if (fresh.parts_expected === null) {
      if (report.next) {
        sql.exec(
          `UPDATE task SET cursor_part = ?, cursor_url = ?, claimed_at = CASE WHEN ? THEN NULL ELSE claimed_at END,
             state = CASE WHEN ? THEN 'pending' ELSE state END WHERE run_id = ? AND task_id = ? AND cursor_part <= ?`,
          report.part + 1, report.next.url, report.handoff ? 1 : 0, report.handoff ? 1 : 0, report.runId, report.taskId, report.part,
        );
        if (report.handoff) jobs.push(...this.#jobsFor(this.#task(report.runId, report.taskId)!));
      } else jobs.push(...this.#finishTask(fresh, report.outcome, null, now));
    } else if (report.outcome !== "complete" && report.outcome !== "partial") {
      jobs.push(...this.#finishTask(fresh, report.outcome, null, now));
    } else if (fresh.parts_done >= fresh.parts_expected) {
      jobs.push(...this.#finishTask(fresh, "complete", null, now));
    }
    await this.#enqueue(jobs);
    this.#scheduleFeed(report.runId);
    await this.#maybeFinish(report.runId);
  }

  /** RPC. Sends a job again not before `notBefore` (a long rate-limit wait), without spending the queue's retries.
   *  The job starts at the first part its consumer had not reported. */
  async defer(job: FetchJob, notBefore: number): Promise<void> {
    const task = this.#task(job.runId, job.taskId);
    const run = this.#run(job.runId);
    if (!task || !run || run.status !== "running") return;
    const now = Date.now();
    // The part is handed back: its claim goes with it, or the deferred delivery would be dropped as "a live consumer
    // has this part" and the task would sit running until the watchdog (the stall under wrangler dev, issue 3).
    this.#releaseClaim(task, job.part);
    this.ctx.storage.sql.exec(
      "UPDATE task SET state = 'pending', claimed_at = NULL, not_before = MAX(not_before, ?), updated_at = ? WHERE run_id = ? AND task_id = ?",
      notBefore, now, job.runId, job.taskId,
    );
    const delaySeconds = Math.min(43_200, Math.max(0, Math.ceil((notBefore - now) / 1000)));
    await this.env.FETCH_QUEUE.send(job, delaySeconds > 0 ? { delaySeconds } : {});
  }

  /** RPC. A delivery attempt failed and the queue will retry it: keep the error and free the claim for the retry. */
  async noteAttemptError(runId: string, taskId: string, error: string, part?: number): Promise<void> {
    const task = this.#task(runId, taskId);
    if (task) this.#releaseClaim(task, part);
    this.ctx.storage.sql.exec(
      "UPDATE task SET error = ?, claimed_at = NULL, state = 'pending', updated_at = ? WHERE run_id = ? AND task_id = ? AND state IN ('pending','running')",
      error, Date.now(), runId, taskId,
    );
  }

  /** Frees the claim on one part of a task split into parts (the others may be in live consumers' hands), or, when the
   *  part is not known (an older caller), every part's claim. */
  #releaseClaim(task: TaskRow, part: number | undefined): void {
    if (task.parts_expected === null) return;
    if (part === undefined) this.ctx.storage.sql.exec("DELETE FROM part_claim WHERE run_id = ? AND task_id = ?", task.run_id, task.task_id);
    else this.ctx.storage.sql.exec("DELETE FROM part_claim WHERE run_id = ? AND task_id = ? AND part = ?", task.run_id, task.task_id, part);
  }

  /** RPC. A task cannot be completed: a GitHub answer that retrying cannot change (`dead: false`), or a message the
   *  queue gave up on after its retries (`dead: true`, from the DLQ consumer). */
  async failTask(runId: string, taskId: string, error: string, dead = false): Promise<void> {
    const task = this.#task(runId, taskId);
    const run = this.#run(runId);
    if (!task || !run || run.status !== "running" || !["waiting", "pending", "running"].includes(task.state)) return;
    const full = task.error && !error.includes(task.error) ? `${error}; last error: ${task.error}` : error;
    const jobs = this.#finishTask(task, "failed", full, Date.now(), dead ? "dead" : "failed");
    log(dead ? "task.dead" : "task.failed", { runId, task: taskId, resource: task.resource, repository: `${task.owner}/${task.repo}`, error: full }, "error");
    if (dead) this.ctx.waitUntil(notifyDeadTask(this.env, { runId, taskId, repository: `${task.owner}/${task.repo}`, resource: task.resource, error: full }));
    await this.#enqueue(jobs);
    this.#scheduleFeed(runId);
    await this.#maybeFinish(runId);
  }

  // ── WebSocket feed ───────────────────────────────────────────────────────────────────────────────────────────

  /** WebSocket upgrade for `/runs/:runId/ws`. The Worker has checked the admin token, or forwards a `?ticket=`. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return Response.json({ status: 426, error: "expected a WebSocket upgrade" }, { status: 426 });
    }
    const url = new URL(request.url);
    const runId = decodeURIComponent(/\/runs\/([^/]+)\/ws$/.exec(url.pathname)?.[1] ?? "");
    const run = this.#run(runId);
    if (!run) return Response.json({ status: 404, error: "run not found" }, { status: 404 });
    const ticket = url.searchParams.get("ticket");
    if (ticket !== null && !(await this.#redeemTicket(ticket, runId))) {
      return Response.json({ status: 401, error: "invalid or expired ticket" }, { status: 401 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [run.id]); // hibernatable: idle watchers cost nothing
    server.send(JSON.stringify({ type: "snapshot", run: this.#status(run) } satisfies FeedMessage));
    if (run.status !== "running") server.send(JSON.stringify({ type: "completed", run: this.#status(run) } satisfies FeedMessage));
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(): Promise<void> {} // the feed only goes server → client

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    if (code === 1005 || code === 1006) return; // no Close frame to answer
    try {
      ws.close(code, reason);
    } catch {
      /* already closed */
    }
  }

  // ── Watchdog ─────────────────────────────────────────────────────────────────────────────────────────────────

  /** At-least-once, idempotent. Resumes tasks whose consumer died (claim expired), resends the open tasks of a run that
   *  made no progress for STALL_AFTER_MS (lost messages), fails tasks that stall too often, and ends finished runs. */
  override async alarm(): Promise<void> {
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    for (const run of sql.exec<RunRow>("SELECT * FROM run WHERE status = 'running'").toArray()) {
      const waiting = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM task WHERE run_id = ? AND state IN ('pending','running') AND not_before > ?", run.id, now).one().n;
      const stalledRun = now - run.last_progress_at > STALL_AFTER_MS && waiting === 0;
      const candidates = sql.exec<TaskRow>(
        `SELECT * FROM task WHERE run_id = ? AND state IN ('pending','running') AND not_before <= ?
           AND ((state = 'running' AND claimed_at IS NOT NULL AND claimed_at < ?) OR (? AND updated_at < ?))`,
        run.id, now, now - CLAIM_TTL_MS, stalledRun ? 1 : 0, now - STALL_AFTER_MS,
      ).toArray();
      const jobs: FetchJob[] = [];
      for (const task of candidates) {
        if (task.attempts >= MAX_STALLS) {
          jobs.push(...this.#finishTask(task, "failed", `stalled: no progress after repeated resends (${task.error ?? "no error reported"})`, now));
          continue;
        }
        sql.exec("UPDATE task SET state = 'pending', claimed_at = NULL, attempts = attempts + 1, updated_at = ? WHERE run_id = ? AND task_id = ?", now, run.id, task.task_id);
        log("task.requeued", { runId: run.id, task: task.task_id, reason: task.state === "running" ? "consumer died" : "no progress" }, "warn");
        jobs.push(...this.#jobsFor(this.#task(run.id, task.task_id)!));
      }
      if (jobs.length > 0) sql.exec("UPDATE run SET last_progress_at = ? WHERE id = ?", now, run.id);
      await this.#enqueue(jobs);
      await this.#maybeFinish(run.id);
    }
    await this.#armWatchdog(true);
  }

  // ── private ──────────────────────────────────────────────────────────────────────────────────────────────────

  /** The App installations to discover with, when the App is the only credential (no GITHUB_TOKEN); else none. */
  #appOnlyInstallations(): number[] {
    if (readConfig(this.env).tokens.length > 0) return [];
    try {
      return appCredentials(this.env)?.installationIds ?? [];
    } catch {
      return []; // half-configured: the fetcher reports why
    }
  }

  #run(runId: string): RunRow | undefined {
    return this.ctx.storage.sql.exec<RunRow>("SELECT * FROM run WHERE id = ?", runId).toArray()[0];
  }

  #task(runId: string, taskId: string): TaskRow | undefined {
    return this.ctx.storage.sql.exec<TaskRow>("SELECT * FROM task WHERE run_id = ? AND task_id = ?", runId, taskId).toArray()[0];
  }

  /** Discovery listed (or confirmed unchanged) repositories: cache its pages, then fan them out. */
  #discovered(run: RunRow, task: TaskRow, report: PartReport, now: number): FetchJob[] {
    const sql = this.ctx.storage.sql;
    const repos: RepoMeta[] = [...(report.repos ?? [])];
    // A listing's part is one page, which listed all the part's repositories; an explicit list's pages are one each.
    const listing = run.repos_requested === null;
    for (const page of report.cachePages ?? []) {
      if (!page.etag) continue;
      const listed = listing ? report.repos ?? [] : (report.repos ?? []).filter((r) => page.url.endsWith(`/repos/${encodeURIComponent(r.owner)}/${encodeURIComponent(r.name)}`));
      sql.exec(
        "INSERT OR REPLACE INTO page_cache (url, etag, next_url, repos, updated_at) VALUES (?, ?, ?, ?, ?)",
        cacheKey(page.url, task.installation), page.etag, page.next, JSON.stringify(listed), now,
      );
    }
    for (const url of report.unchangedUrls ?? []) {
      const cached = sql.exec<{ repos: string }>("SELECT repos FROM page_cache WHERE url = ?", cacheKey(url, task.installation)).toArray()[0];
      if (cached) repos.push(...(JSON.parse(cached.repos) as RepoMeta[]));
    }
    return this.#fanOut(run, repos, report.missingRepos ?? [], now);
  }

  /** One task per repository × requested resource (MAX_REPOS_PER_RUN bounds them), the largest repositories first.
   *  Incremental runs hand each task its last state; commits of a repository not pushed since are skipped. */
  #fanOut(run: RunRow, repos: RepoMeta[], missing: string[], now: number): FetchJob[] {
    const sql = this.ctx.storage.sql;
    const cfg = readConfig(this.env);
    const resources = (JSON.parse(run.resources) as ResourceName[]).filter((r) => r !== "repositories");
    if (resources.length === 0) return [];
    let count = sql.exec<{ n: number }>("SELECT COUNT(DISTINCT owner || '/' || repo) AS n FROM task WHERE run_id = ? AND resource != 'repositories'", run.id).one().n;
    const created: TaskRow[] = [];
    const insert = (resource: string, repo: RepoMeta | { owner: string; name: string; id: null; pushedAt: null; updatedAt: null; installation?: undefined }, state: string, extra: { write?: number; coverage?: string; note?: string; jobState?: ResourceState | null; est?: number } = {}) => {
      const inserted = sql.exec(
        `INSERT OR IGNORE INTO task (run_id, task_id, resource, owner, repo, repo_id, repo_pushed_at, repo_updated_at, write, state, coverage, note, job_state, est_pages, installation, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING task_id`,
        run.id, taskIdOf(resource, repo.owner, repo.name), resource, repo.owner, repo.name, repo.id, repo.pushedAt, repo.updatedAt, extra.write ?? 1, state,
        extra.coverage ?? null, extra.note ?? null, extra.jobState ? JSON.stringify(extra.jobState) : null, extra.est ?? 1, repo.installation ?? null, now,
      ).toArray().length > 0;
      if (inserted && state === "pending") created.push(this.#task(run.id, taskIdOf(resource, repo.owner, repo.name))!);
    };
    const released: FetchJob[] = [];
    const ordered = [...repos].sort((a, b) => estimateRepo(b) - estimateRepo(a));
    for (const repo of ordered) {
      const known = sql.exec("SELECT 1 FROM task WHERE run_id = ? AND owner = ? AND repo = ? AND resource != 'repositories' LIMIT 1", run.id, repo.owner, repo.name).toArray().length > 0;
      if (known) continue; // listed twice (pagination shifted while we paged): fetch it once
      if (count >= cfg.maxReposPerRun) {
        log("run.repo_limit", { runId: run.id, repository: `${repo.owner}/${repo.name}`, limit: cfg.maxReposPerRun }, "warn");
        continue;
      }
      count++;
      for (const resource of resources) {
        const state = run.mode === "incremental" ? this.#resourceState(repo.owner, repo.name, resource) : null;
        if (resource === "commits" && state?.outcome === "complete" && state.pushedAt && state.pushedAt === repo.pushedAt) {
          insert(resource, repo, "done", { coverage: "complete", note: "unchanged: not pushed since the last successful run" });
          continue;
        }
        // An answer that only a change to the repository could change (empty, restricted, gone): carried over while
        // neither its pushed_at nor its updated_at moved. A full run asks again.
        if (state?.outcome && state.outcome !== "complete" && state.pushedAt === repo.pushedAt && state.repoUpdatedAt === repo.updatedAt) {
          insert(resource, repo, "done", { coverage: state.outcome, note: `${state.outcome} in the last run; repository unchanged since` });
          continue;
        }
        insert(resource, repo, resource === "reactions" ? "waiting" : "pending", { jobState: state, est: estimatePages(resource, repo, run.mode) });
      }
      // Reactions are found through the issues listing's rollups: list issues without writing them if not requested.
      if (resources.includes("reactions") && !resources.includes("issues")) {
        insert("issues", repo, "pending", { write: 0, est: estimatePages("issues", repo, "full") });
      }
      const issues = this.#task(run.id, taskIdOf("issues", repo.owner, repo.name));
      if (issues?.state === "done" && issues.coverage) released.push(...this.#releaseReactions(issues, issues.coverage as Coverage, null, now));
    }
    for (const fullName of missing) {
      const [owner = "", name = ""] = fullName.split("/");
      for (const resource of resources) insert(resource, { owner, name, id: null, pushedAt: null, updatedAt: null }, "done", { coverage: "not_found" });
      log("repo.not_found", { runId: run.id, repository: fullName }, "warn");
    }
    return [...created.flatMap((t) => this.#jobsFor(t)), ...released];
  }

  #resourceState(owner: string, repo: string, resource: string): (ResourceState & { pushedAt: string | null; outcome: string | null; repoUpdatedAt: string | null }) | null {
    const row = this.ctx.storage.sql.exec<StateRow>("SELECT * FROM repo_state WHERE owner = ? AND repo = ? AND resource = ?", owner, repo, resource).toArray()[0];
    if (!row) return null;
    return {
      watermark: row.watermark,
      boundaryIds: row.boundary_ids ? (JSON.parse(row.boundary_ids) as string[]) : [],
      etagUrl: row.etag_url,
      etag: row.etag,
      resumeUrl: row.resume_url,
      pushedAt: row.pushed_at,
      outcome: row.outcome,
      repoUpdatedAt: row.repo_updated_at,
    };
  }

  /** Folds a part's highest cursor time (and the ids at it) into the task: the watermark candidate. */
  #mergeWatermark(task: TaskRow, report: PartReport): void {
    if (!report.maxSeen) return;
    const ids = task.ids_at_max ? (JSON.parse(task.ids_at_max) as string[]) : [];
    let maxSeen = task.max_seen;
    let merged = ids;
    if (!maxSeen || Date.parse(report.maxSeen) > Date.parse(maxSeen)) {
      maxSeen = report.maxSeen;
      merged = report.idsAtMax ?? [];
    } else if (Date.parse(report.maxSeen) === Date.parse(maxSeen)) {
      merged = [...new Set([...ids, ...(report.idsAtMax ?? [])])].slice(0, 200);
    }
    this.ctx.storage.sql.exec("UPDATE task SET max_seen = ?, ids_at_max = ? WHERE run_id = ? AND task_id = ?", maxSeen, JSON.stringify(merged), task.run_id, task.task_id);
  }

  /** Ends a task with its coverage; on full success moves its incremental state; releases or fails its dependants. */
  #finishTask(task: TaskRow, coverage: Coverage, error: string | null, now: number, failState: "failed" | "dead" = "failed"): FetchJob[] {
    const sql = this.ctx.storage.sql;
    // A task that ended complete or empty has no error, whatever an earlier attempt reported (its retries are counted).
    const errorSql = coverage === "complete" || coverage === "empty" ? "?" : "COALESCE(?, error)";
    sql.exec(
      `UPDATE task SET state = ?, coverage = ?, error = ${errorSql}, claimed_at = NULL, updated_at = ? WHERE run_id = ? AND task_id = ?`,
      coverage === "failed" ? failState : "done", coverage, error, now, task.run_id, task.task_id,
    );
    const t = this.#task(task.run_id, task.task_id)!;
    if (t.write === 1 && t.note?.includes("in the last run") !== true && ["complete", "empty", "restricted", "not_found"].includes(coverage)) this.#saveState(t, coverage);
    if (coverage !== "failed" && t.write === 1 && t.resource !== "repositories") {
      log("task.done", { runId: t.run_id, repository: `${t.owner}/${t.repo}`, resource: t.resource, coverage, rows: t.rows, requests: t.requests });
    }
    return this.#releaseReactions(task, coverage, error, now);
  }

  /** Reactions wait for their repository's issues listing (its rollups say which issues have any). */
  #releaseReactions(task: TaskRow, coverage: Coverage, error: string | null, now: number): FetchJob[] {
    const sql = this.ctx.storage.sql;
    if (task.resource !== "issues") return [];
    const reactions = this.#task(task.run_id, taskIdOf("reactions", task.owner, task.repo));
    if (!reactions || reactions.state !== "waiting") return [];
    if (coverage === "failed") {
      sql.exec("UPDATE task SET state = 'failed', coverage = 'failed', error = ?, updated_at = ? WHERE run_id = ? AND task_id = ?",
        `issues listing failed: ${error ?? ""}`, now, reactions.run_id, reactions.task_id);
      return [];
    }
    if (coverage !== "complete") {
      sql.exec("UPDATE task SET state = 'done', coverage = ?, updated_at = ? WHERE run_id = ? AND task_id = ?", coverage, now, reactions.run_id, reactions.task_id);
      return [];
    }
    const { n } = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM reacted WHERE run_id = ? AND owner = ? AND repo = ?", task.run_id, task.owner, task.repo).one();
    if (n === 0) {
      sql.exec("UPDATE task SET state = 'done', coverage = 'complete', parts_expected = 0, updated_at = ? WHERE run_id = ? AND task_id = ?", now, reactions.run_id, reactions.task_id);
      return [];
    }
    sql.exec("UPDATE task SET state = 'pending', parts_expected = ?, est_pages = ?, updated_at = ? WHERE run_id = ? AND task_id = ?",
      Math.ceil(n / ISSUES_PER_REACTIONS_PART), n, now, reactions.run_id, reactions.task_id);
    return this.#jobsFor(this.#task(reactions.run_id, reactions.task_id)!);
  }

  /** The watermark moves only here: after the whole task succeeded (other endings keep the old one, and say how). */
  #saveState(t: TaskRow, outcome: string): void {
    if (t.resource === "repositories") return;
    const old = this.#resourceState(t.owner, t.repo, t.resource);
    if (outcome !== "complete") {
      this.ctx.storage.sql.exec(
        `INSERT INTO repo_state (owner, repo, resource, outcome, pushed_at, repo_updated_at, run_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (owner, repo, resource) DO UPDATE SET outcome = excluded.outcome, pushed_at = excluded.pushed_at,
           repo_updated_at = excluded.repo_updated_at, run_id = excluded.run_id, updated_at = excluded.updated_at`,
        t.owner, t.repo, t.resource, outcome, t.repo_pushed_at, t.repo_updated_at, t.run_id, Date.now(),
      );
      return;
    }
    const watermark = later(old?.watermark ?? null, t.max_seen);
    const boundary = watermark === t.max_seen ? (t.ids_at_max ? (JSON.parse(t.ids_at_max) as string[]) : []) : old?.boundaryIds ?? [];
    this.ctx.storage.sql.exec(
      `INSERT OR REPLACE INTO repo_state (owner, repo, resource, watermark, boundary_ids, etag_url, etag, resume_url, pushed_at, outcome, repo_updated_at, run_id, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'complete', ?, ?, ?)`,
      t.owner, t.repo, t.resource, watermark, JSON.stringify(boundary),
      t.first_url ?? old?.etagUrl ?? null, t.first_url ? t.first_etag : old?.etag ?? null,
      t.resume_url ?? old?.resumeUrl ?? null, t.repo_pushed_at ?? old?.pushedAt ?? null, t.repo_updated_at, t.run_id, Date.now(),
    );
  }

  /** The jobs that move a task on from where its ledger says it is. Deterministic, so lost messages can be rebuilt:
   *  a chain's current part, or a fixed task's parts not yet recorded. */
  #jobsFor(task: TaskRow): FetchJob[] {
    const run = this.#run(task.run_id)!;
    const sql = this.ctx.storage.sql;
    const base = {
      runId: task.run_id,
      startedAt: new Date(run.started_at).toISOString(),
      taskId: task.task_id,
      resource: task.resource as ResourceName,
      repo: task.resource === "repositories" ? null : { owner: task.owner, name: task.repo, id: task.repo_id ?? 0 },
      write: task.write === 1,
      state: task.job_state ? (JSON.parse(task.job_state) as ResourceState) : null,
      ...(task.installation !== null ? { installation: task.installation } : {}),
    };
    if (task.resource === "repositories" && run.mode === "incremental") {
      // This task's own entries, by the URL its fetcher asks for.
      const prefix = task.installation === null ? null : cacheKey("", task.installation);
      const cache: Record<string, { etag: string; next: string | null }> = {};
      for (const row of sql.exec<{ url: string; etag: string; next_url: string | null }>("SELECT url, etag, next_url FROM page_cache WHERE etag IS NOT NULL")) {
        if (prefix === null ? row.url.startsWith("app:") : !row.url.startsWith(prefix)) continue;
        cache[prefix === null ? row.url : row.url.slice(prefix.length)] = { etag: row.etag, next: row.next_url };
      }
      Object.assign(base, { pageCache: cache });
    }
    if (task.parts_expected === null) return [{ ...base, part: task.cursor_part, url: task.cursor_url }];
    const done = new Set(sql.exec<{ part: number }>("SELECT part FROM part WHERE run_id = ? AND task_id = ?", task.run_id, task.task_id).toArray().map((r) => r.part));
    const chunks: Array<Partial<FetchJob>> = [];
    if (task.resource === "repositories") {
      const repos = JSON.parse(run.repos_requested ?? "[]") as string[];
      for (let i = 0; i < Math.max(1, repos.length); i += REPOS_PER_PART) chunks.push({ repos: repos.slice(i, i + REPOS_PER_PART) });
    } else if (task.resource === "reactions") {
      const numbers = sql.exec<{ number: number }>("SELECT number FROM reacted WHERE run_id = ? AND owner = ? AND repo = ? ORDER BY number", task.run_id, task.owner, task.repo).toArray().map((r) => r.number);
      for (let i = 0; i < numbers.length; i += ISSUES_PER_REACTIONS_PART) chunks.push({ issueNumbers: numbers.slice(i, i + ISSUES_PER_REACTIONS_PART) });
    }
    return chunks.flatMap((chunk, part) => (done.has(part) ? [] : [{ ...base, part, url: null, ...chunk }]));
  }

  async #enqueue(jobs: FetchJob[]): Promise<void> {
    const now = Date.now();
    for (let i = 0; i < jobs.length; i += SEND_BATCH) {
      await this.env.FETCH_QUEUE.sendBatch(
        jobs.slice(i, i + SEND_BATCH).map((job) => {
          const task = this.#task(job.runId, job.taskId);
          const delayMs = task ? task.not_before - now : 0;
          return delayMs > 1000 ? { body: job, delaySeconds: Math.min(43_200, Math.ceil(delayMs / 1000)) } : { body: job };
        }),
      );
      for (const job of jobs.slice(i, i + SEND_BATCH)) {
        this.ctx.storage.sql.exec("UPDATE task SET enqueued_part = MAX(enqueued_part, ?) WHERE run_id = ? AND task_id = ? AND parts_expected IS NULL", job.part, job.runId, job.taskId);
      }
    }
  }

  /** Ends the run once every task has a terminal state. */
  async #maybeFinish(runId: string): Promise<void> {
    const sql = this.ctx.storage.sql;
    const run = this.#run(runId);
    if (!run || run.status !== "running") return;
    const open = sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM task WHERE run_id = ? AND state IN ${OPEN}`, runId).one().n;
    if (open > 0) return;
    // The run failed when discovery found nothing to do: its task failed (with several installations: all of them).
    const discovery = sql.exec<TaskRow>("SELECT * FROM task WHERE run_id = ? AND resource = 'repositories'", runId).toArray();
    const discovered = discovery.some((t) => t.state === "done");
    const problems = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM task WHERE run_id = ? AND (state IN ('failed','dead') OR coverage = 'not_found')", runId).one().n;
    const status = !discovered ? "failed" : problems > 0 ? "completed_with_errors" : "completed";
    await this.#finish(run, status, !discovered ? discovery.map((t) => t.error).filter(Boolean).join("; ") || null : this.#credentialsError(runId));
  }

  /** The run-level error when GitHub refused every credential (401) and tasks failed for want of one: the operator must
   *  replace GITHUB_TOKEN or the App's key, which no retry can do. Null otherwise. */
  #credentialsError(runId: string): string | null {
    const refused = this.ctx.storage.sql.exec<{ n: number }>(
      "SELECT COUNT(*) AS n FROM task WHERE run_id = ? AND state IN ('failed','dead') AND error LIKE 'GitHubError: GitHub 401 %'", runId,
    ).one().n;
    return refused > 0 ? `GitHub refused every credential (401): ${refused} task(s) could not finish; replace the revoked GITHUB_TOKEN or GitHub App key, then retry the run` : null;
  }

  /** Writes the manifest first, then flips the status (exactly once), so a failed R2 write is simply tried again. */
  async #finish(run: RunRow, status: string, error: string | null): Promise<void> {
    const sql = this.ctx.storage.sql;
    const finishedAt = Date.now();
    const key = manifestKey(run.id, new Date(run.started_at));
    const final: RunRow = { ...run, status, finished_at: finishedAt, manifest_key: key, error };
    const full = this.#status(final);
    const manifest = {
      ...full,
      coverage: sql.exec<{ repository: string; resource: string; coverage: string; state: string; rows: number; error: string | null; note: string | null }>(
        "SELECT owner || '/' || repo AS repository, resource, coverage, state, rows, error, note FROM task WHERE run_id = ? AND write = 1 ORDER BY owner, repo, resource", run.id,
      ).toArray(),
    };
    await this.env.LAKE.put(key, JSON.stringify(manifest, null, 2), { httpMetadata: { contentType: "application/json" } });
    const changed = sql.exec(
      "UPDATE run SET status = ?, finished_at = ?, manifest_key = ?, error = ?, summary = ? WHERE id = ? AND status = 'running' RETURNING id",
      status, finishedAt, key, error, JSON.stringify(this.#summary(final)), run.id,
    ).toArray().length;
    if (!changed) return;
    log("run.finished", { runId: run.id, status, mode: run.mode, ...full.counters, coverage: full.coverage, durationMs: finishedAt - run.started_at, manifest: key });
    this.ctx.waitUntil(notifyRunFinished(this.env, full)); // best effort: a webhook never blocks or fails the run
    this.#broadcast(run.id, { type: "completed", run: this.#status(this.#run(run.id)!) });
  }

  async #armWatchdog(fromAlarm = false): Promise<void> {
    const running = this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM run WHERE status = 'running'").one().n;
    if (running === 0) return; // nothing to watch: let the alarm lapse
    const current = await this.ctx.storage.getAlarm();
    if (fromAlarm || current === null) await this.ctx.storage.setAlarm(Date.now() + WATCHDOG_EVERY_MS);
  }

  /** Retention: task rows of runs finished more than RETENTION_DAYS ago go; their summaries stay. */
  #prune(): void {
    const cfg = readConfig(this.env);
    const before = Date.now() - cfg.retentionDays * 86_400_000;
    const sql = this.ctx.storage.sql;
    const old = sql.exec<{ id: string }>("SELECT id FROM run WHERE pruned = 0 AND status != 'running' AND finished_at < ?", before).toArray();
    for (const { id } of old) {
      sql.exec("DELETE FROM task WHERE run_id = ?", id);
      sql.exec("DELETE FROM part WHERE run_id = ?", id);
      sql.exec("DELETE FROM reacted WHERE run_id = ?", id);
      sql.exec("DELETE FROM part_claim WHERE run_id = ?", id);
      sql.exec("UPDATE run SET pruned = 1 WHERE id = ?", id);
    }
    if (old.length > 0) log("runs.pruned", { runs: old.length, olderThanDays: cfg.retentionDays });
    sql.exec("DELETE FROM ticket WHERE expires_at < ?", Date.now());
  }

  async #redeemTicket(ticket: string, runId: string): Promise<boolean> {
    const hash = await sha256(ticket);
    const row = this.ctx.storage.sql.exec<{ run_id: string; expires_at: number }>("DELETE FROM ticket WHERE hash = ? RETURNING run_id, expires_at", hash).toArray()[0];
    return !!row && row.run_id === runId && row.expires_at >= Date.now();
  }

  #summary(run: RunRow): RunSummary {
    if (run.pruned && run.summary) return { ...(JSON.parse(run.summary) as RunSummary), pruned: true };
    const summary = loadSummary(this.ctx.storage.sql, run);
    summary.estimate = run.status === "running" ? estimateRun(this.ctx.storage.sql, run.id, readConfig(this.env)) : null;
    return summary;
  }

  #status(run: RunRow): RunStatus {
    if (run.pruned) return { ...this.#summary(run), byResource: {}, files: [], errors: [] };
    return loadStatus(this.ctx.storage.sql, run, this.#summary(run));
  }

  /** Coalesces progress: at most one message per run per FEED_INTERVAL_MS, carrying the latest totals. */
  #scheduleFeed(runId: string): void {
    if (this.#feedTimers.has(runId) || this.ctx.getWebSockets(runId).length === 0) return;
    this.#feedTimers.set(runId, setTimeout(() => {
      this.#feedTimers.delete(runId);
      const run = this.#run(runId);
      if (!run || run.status !== "running") return; // the completed message says the rest
      try {
        const sql = this.ctx.storage.sql;
        this.#broadcast(runId, { type: "progress", run: this.#summary(run), byResource: resourceProgress(sql, runId) });
      } catch (err) {
        log("feed.error", { runId, error: errorText(err) }, "error");
      }
    }, FEED_INTERVAL_MS));
  }

  #broadcast(runId: string, message: FeedMessage): void {
    const data = JSON.stringify(message);
    for (const ws of this.ctx.getWebSockets(runId)) {
      try {
        ws.send(data);
      } catch {
        /* closing; webSocketClose cleans up */
      }
    }
  }
}

async function sha256(s: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Requests a repository will cost (from discovery's counts: ÷ 100 per resource), to dispatch the largest first. */
function estimateRepo(repo: RepoMeta): number {
  return Math.ceil((repo.openIssues * 3) / 100) * 2 + Math.ceil(repo.stars / 100) + 4;
}

/** Pages a task is expected to take before its first page says (Link rel="last"). */
export function estimatePages(resource: string, repo: RepoMeta, mode: RunMode): number {
  if (mode === "incremental") return 1;
  switch (resource) {
    case "issues":
    case "pull_requests":
      return Math.max(1, Math.ceil((repo.openIssues * 3) / 100)); // open counts include PRs; closed ones are unknown
    case "stargazers":
      return Math.max(1, Math.ceil(repo.stars / 100));
    default:
      return 1;
  }
}
