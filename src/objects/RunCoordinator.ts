import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../config";
import type { Coverage, FetchJob, PartReport } from "../github/jobs";
import type { RepoRef } from "../github/resources/types";
import { manifestKey } from "../lake/keys";
import type { ResourceName } from "../lake/schemas";
import { errorText, log } from "../log";
import { notifyDeadTask, notifyRunFinished } from "../notify";
import { migrate } from "./migrate";
import { newRunId } from "./runId";

/** The one coordinator of all runs (`getByName("coordinator")`). Responsibilities: create runs and their task ledger in
 *  SQLite (repository × resource, with parts); fan work out to github-fetch-queue; apply fetchers' reports exactly once
 *  under the queue's at-least-once delivery; end each run exactly once with a manifest in R2; stream progress to
 *  WebSocket watchers (hibernatable); and, from its alarm, re-enqueue work whose consumer died so that no run stays
 *  `running` forever. Callers use RPC; fetch() is only the WebSocket upgrade. */

const MIGRATIONS = [
  `CREATE TABLE run (
     id TEXT PRIMARY KEY,
     status TEXT NOT NULL CHECK (status IN ('running','completed','completed_with_errors','failed','cancelled')),
     trigger TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     finished_at INTEGER,
     resources TEXT NOT NULL,          -- JSON array of requested resources
     repos_requested TEXT,             -- JSON array of owner/name, or NULL to discover
     manifest_key TEXT,
     error TEXT);
   CREATE INDEX run_by_status ON run (status);
   CREATE TABLE task (
     run_id TEXT NOT NULL,
     task_id TEXT NOT NULL,
     resource TEXT NOT NULL,
     owner TEXT NOT NULL,
     repo TEXT NOT NULL,
     repo_id INTEGER,
     write INTEGER NOT NULL DEFAULT 1,   -- 0: an issues listing made only to find reactions
     state TEXT NOT NULL CHECK (state IN ('waiting','queued','done','failed')),
     coverage TEXT,
     parts_expected INTEGER,             -- NULL: a chain of parts that ends when a part has no next page
     parts_done INTEGER NOT NULL DEFAULT 0,
     cursor_part INTEGER NOT NULL DEFAULT 0,   -- chain: the next part to run and where it starts
     cursor_url TEXT,
     not_before INTEGER NOT NULL DEFAULT 0,
     rows INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0, requests INTEGER NOT NULL DEFAULT 0,
     not_modified INTEGER NOT NULL DEFAULT 0, pages INTEGER NOT NULL DEFAULT 0, retries INTEGER NOT NULL DEFAULT 0,
     rate_limit_waits INTEGER NOT NULL DEFAULT 0,
     attempts INTEGER NOT NULL DEFAULT 0,
     error TEXT,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (run_id, task_id));
   CREATE INDEX task_by_state ON task (run_id, state);
   CREATE TABLE part (
     run_id TEXT NOT NULL, task_id TEXT NOT NULL, part INTEGER NOT NULL,
     key TEXT, resource TEXT NOT NULL, rows INTEGER NOT NULL, bytes INTEGER NOT NULL, recorded_at INTEGER NOT NULL,
     PRIMARY KEY (run_id, task_id, part));
   CREATE TABLE reacted (
     run_id TEXT NOT NULL, owner TEXT NOT NULL, repo TEXT NOT NULL, number INTEGER NOT NULL,
     PRIMARY KEY (run_id, owner, repo, number));`,
] as const;

/** A queued task with no report for this long lost its message (or its consumer died): enqueue it again. */
const STALL_AFTER_MS = 15 * 60_000;
const WATCHDOG_EVERY_MS = 2 * 60_000;
/** Re-enqueues by the watchdog before a task is declared failed. */
const MAX_STALLS = 3;
/** Explicit repositories resolved per discovery message, and issue numbers per reactions message. */
const REPOS_PER_PART = 50;
const ISSUES_PER_REACTIONS_PART = 50;
/** Progress messages to watchers are coalesced to at most one per run per this interval. */
const FEED_INTERVAL_MS = 250;
const SEND_BATCH = 100;

export interface CreateRunRequest {
  trigger: "api" | "cron";
  repos?: string[];
  resources: ResourceName[];
}
export type CreateRunResult = { runId: string; startedAt: string } | { skipped: string; reason: string };

export interface FileEntry {
  key: string;
  resource: string;
  rows: number;
  bytes: number;
}
export interface RunCounters {
  requests: number;
  notModified: number;
  pages: number;
  rows: number;
  bytes: number;
  files: number;
  retries: number;
  rateLimitWaits: number;
}
export interface RunSummary {
  runId: string;
  status: string;
  trigger: string;
  startedAt: string;
  finishedAt: string | null;
  resources: string[];
  repositories: number;
  tasks: { total: number; waiting: number; queued: number; done: number; failed: number };
  coverage: Partial<Record<Coverage, number>>;
  counters: RunCounters;
  manifestKey: string | null;
  error: string | null;
}
export interface RunStatus extends RunSummary {
  byResource: Record<string, { tasks: number; done: number; failed: number; rows: number; files: number }>;
  files: FileEntry[];
  errors: Array<{ repository: string; resource: string; coverage: string | null; error: string | null }>;
}
export type RepoProgress = { repository: string; tasks: number; finished: number; failed: number; rows: number; requests: number };
export type FeedMessage =
  | { type: "snapshot"; run: RunStatus }
  | { type: "progress"; run: RunSummary; byResource: RunStatus["byResource"] }
  | { type: "completed"; run: RunStatus };

interface RunRow {
  id: string;
  status: string;
  trigger: string;
  started_at: number;
  finished_at: number | null;
  resources: string;
  repos_requested: string | null;
  manifest_key: string | null;
  error: string | null;
  [key: string]: SqlStorageValue;
}
interface TaskRow {
  run_id: string;
  task_id: string;
  resource: string;
  owner: string;
  repo: string;
  repo_id: number | null;
  write: number;
  state: string;
  coverage: string | null;
  parts_expected: number | null;
  parts_done: number;
  cursor_part: number;
  cursor_url: string | null;
  not_before: number;
  attempts: number;
  error: string | null;
  updated_at: number;
  [key: string]: SqlStorageValue;
}

const taskIdOf = (resource: string, owner: string, repo: string) => `${resource}:${owner}/${repo}`;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class RunCoordinator extends DurableObject<Env> {
  #feedTimers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Runs before any RPC, fetch, alarm or WebSocket event is delivered: local storage work only.
    void ctx.blockConcurrencyWhile(async () => migrate(ctx.storage, MIGRATIONS));
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong")); // answered without waking us
  }

  /** RPC. Starts a run: records it, registers its discovery task and enqueues discovery. A cron firing while an
   *  earlier cron run is still going is recorded in the log and starts nothing. */
  async createRun(req: CreateRunRequest): Promise<CreateRunResult> {
    const sql = this.ctx.storage.sql;
    if (req.trigger === "cron") {
      const busy = sql.exec<{ id: string }>("SELECT id FROM run WHERE status = 'running' AND trigger = 'cron' LIMIT 1").toArray()[0];
      if (busy) {
        log("run.skipped", { runId: busy.id, reason: "previous scheduled run still running" }, "warn");
        return { skipped: busy.id, reason: "previous scheduled run still running" };
      }
    }
    const now = Date.now();
    const runId = newRunId(now);
    const startedAt = new Date(now).toISOString();
    const explicit = req.repos ? [...new Set(req.repos)] : null;
    sql.exec(
      "INSERT INTO run (id, status, trigger, started_at, resources, repos_requested) VALUES (?, 'running', ?, ?, ?, ?)",
      runId, req.trigger, now, JSON.stringify(req.resources), explicit ? JSON.stringify(explicit) : null,
    );
    const owner = explicit ? "_selected" : "_all";
    const partsExpected = explicit ? Math.max(1, Math.ceil(explicit.length / REPOS_PER_PART)) : null;
    sql.exec(
      `INSERT INTO task (run_id, task_id, resource, owner, repo, write, state, parts_expected, updated_at)
       VALUES (?, ?, 'repositories', ?, 'repositories', ?, 'queued', ?, ?)`,
      runId, taskIdOf("repositories", owner, "repositories"), owner, req.resources.includes("repositories") ? 1 : 0, partsExpected, now,
    );
    log("run.started", { runId, trigger: req.trigger, resources: req.resources, repos: explicit?.length ?? "discover" });
    await this.#enqueue(this.#jobsFor(this.#task(runId, taskIdOf("repositories", owner, "repositories"))!));
    await this.#armWatchdog();
    return { runId, startedAt };
  }

  /** RPC. Applies one fetcher report. Idempotent: a part already recorded changes nothing (a redelivered or
   *  duplicated message), but still re-sends a continuation that may have been lost. */
  async recordPart(report: PartReport): Promise<void> {
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    const task = this.#task(report.runId, report.taskId);
    const run = this.#run(report.runId);
    if (!task || !run) return; // unknown (pruned) run: nothing to apply
    if (run.status !== "running" || task.state === "done" || task.state === "failed") return;

    const inserted = sql.exec(
      "INSERT OR IGNORE INTO part (run_id, task_id, part, key, resource, rows, bytes, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING part",
      report.runId, report.taskId, report.part, report.key, task.resource, report.rows, report.bytes, now,
    ).toArray().length > 0;
    if (!inserted) {
      // Duplicate delivery. If this part's continuation was never sent (the enqueue failed last time), send it now.
      if (task.parts_expected === null && report.next && task.cursor_part <= report.part) {
        await this.#enqueue(this.#jobsFor(this.#advanceChain(task, report, now)));
      }
      await this.#maybeFinish(report.runId);
      return;
    }

    sql.exec(
      `UPDATE task SET rows = rows + ?, bytes = bytes + ?, requests = requests + ?, not_modified = not_modified + ?,
         pages = pages + ?, retries = retries + ?, rate_limit_waits = rate_limit_waits + ?, parts_done = parts_done + 1,
         updated_at = ? WHERE run_id = ? AND task_id = ?`,
      report.rows, report.bytes, report.requests, report.notModified, report.pages, report.retries, report.rateLimitWaits,
      now, report.runId, report.taskId,
    );
    for (const n of report.reacted ?? []) {
      sql.exec("INSERT OR IGNORE INTO reacted (run_id, owner, repo, number) VALUES (?, ?, ?, ?)", report.runId, task.owner, task.repo, n);
    }

    const jobs: FetchJob[] = [];
    if (report.repos || report.missingRepos) jobs.push(...this.#fanOut(run, report.repos ?? [], report.missingRepos ?? [], now));

    const fresh = this.#task(report.runId, report.taskId)!;
    if (fresh.parts_expected === null) {
      if (report.next) jobs.push(...this.#jobsFor(this.#advanceChain(fresh, report, now)));
      else jobs.push(...this.#finishTask(fresh, report.outcome, null, now));
    } else if (report.outcome !== "complete" && report.outcome !== "partial") {
      jobs.push(...this.#finishTask(fresh, report.outcome, null, now));
    } else if (fresh.parts_done >= fresh.parts_expected) {
      jobs.push(...this.#finishTask(fresh, "complete", null, now));
    }
    await this.#enqueue(jobs);
    this.#scheduleFeed(report.runId);
    await this.#maybeFinish(report.runId);
  }

  /** RPC. Whether a delivered job still has work to do: its run is running, its task open, its part not applied yet.
   *  Lets a duplicate delivery be dropped before it spends any GitHub quota. */
  async shouldRun(runId: string, taskId: string, part: number): Promise<boolean> {
    const run = this.#run(runId);
    const task = this.#task(runId, taskId);
    if (!run || !task || run.status !== "running" || task.state === "done" || task.state === "failed") return false;
    if (task.parts_expected === null && part < task.cursor_part) return false; // the chain has moved past it
    return this.ctx.storage.sql.exec("SELECT 1 FROM part WHERE run_id = ? AND task_id = ? AND part = ?", runId, taskId, part).toArray().length === 0;
  }

  /** RPC. Sends a job again, not before `notBefore` (a long rate-limit wait), without spending the queue's retries. */
  async defer(job: FetchJob, notBefore: number): Promise<void> {
    const now = Date.now();
    this.ctx.storage.sql.exec(
      "UPDATE task SET not_before = MAX(not_before, ?), updated_at = MAX(updated_at, ?) WHERE run_id = ? AND task_id = ?",
      notBefore, notBefore, job.runId, job.taskId,
    );
    const delaySeconds = Math.min(43_200, Math.max(0, Math.ceil((notBefore - now) / 1000)));
    await this.env.FETCH_QUEUE.send(job, delaySeconds > 0 ? { delaySeconds } : {});
  }

  /** RPC. A task cannot be completed (a non-retryable GitHub answer, or the DLQ after the queue's retries). */
  async failTask(runId: string, taskId: string, error: string): Promise<void> {
    const task = this.#task(runId, taskId);
    const run = this.#run(runId);
    if (!task || !run || run.status !== "running" || task.state === "done" || task.state === "failed") return;
    const full = task.error && !error.includes(task.error) ? `${error}; last error: ${task.error}` : error;
    const jobs = this.#finishTask(task, "failed", full, Date.now());
    log("task.failed", { runId, task: taskId, resource: task.resource, repository: `${task.owner}/${task.repo}`, error: full }, "error");
    if (error.includes("dead-lettered")) this.ctx.waitUntil(notifyDeadTask(this.env, { runId, taskId, repository: `${task.owner}/${task.repo}`, resource: task.resource, error: full }));
    await this.#enqueue(jobs);
    this.#scheduleFeed(runId);
    await this.#maybeFinish(runId);
  }

  /** RPC. A delivery attempt failed and the queue will retry it: keep the error so a dead task says why. */
  async noteAttemptError(runId: string, taskId: string, error: string): Promise<void> {
    this.ctx.storage.sql.exec(
      "UPDATE task SET attempts = attempts + 1, error = ?, updated_at = ? WHERE run_id = ? AND task_id = ? AND state IN ('queued','waiting')",
      error, Date.now(), runId, taskId,
    );
  }

  /** RPC. Status of one run with its files and errors, or null for an unknown run. */
  async status(runId: string): Promise<RunStatus | null> {
    const run = this.#run(runId);
    return run ? this.#status(run) : null;
  }

  /** RPC. Progress per repository for the dashboard: in progress first, then not started, then finished. */
  async repositories(runId: string, limit = 500): Promise<RepoProgress[]> {
    return this.ctx.storage.sql.exec<RepoProgress>(
      `SELECT repository, tasks, finished, failed, rows, requests FROM (
         SELECT owner || '/' || repo AS repository, COUNT(*) AS tasks, COUNT(*) FILTER (WHERE state IN ('done','failed','dead')) AS finished,
           COUNT(*) FILTER (WHERE state IN ('failed','dead')) AS failed, COALESCE(SUM(rows),0) AS rows, COALESCE(SUM(requests),0) AS requests
         FROM task WHERE run_id = ? AND write = 1 AND resource != 'repositories' GROUP BY owner, repo)
       ORDER BY CASE WHEN finished = tasks THEN 2 WHEN finished > 0 THEN 0 ELSE 1 END, repository LIMIT ?`, runId, limit,
    ).toArray();
  }

  /** RPC. The latest runs, newest first. */
  async listRuns(limit = 50): Promise<RunSummary[]> {
    const runs = this.ctx.storage.sql.exec<RunRow>("SELECT * FROM run ORDER BY started_at DESC LIMIT ?", limit).toArray();
    return runs.map((r) => this.#summary(r));
  }

  /** WebSocket upgrade for `/runs/:runId/ws` (the Worker checked the admin token before forwarding). */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return Response.json({ error: "expected a WebSocket upgrade" }, { status: 426 });
    }
    const runId = /\/runs\/([^/]+)\/ws$/.exec(new URL(request.url).pathname)?.[1];
    const run = runId ? this.#run(decodeURIComponent(runId)) : undefined;
    if (!run) return Response.json({ error: "run not found" }, { status: 404 });
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

  /** Watchdog. At-least-once: idempotent. Re-enqueues stalled tasks, fails those that stall too often, ends runs. */
  override async alarm(): Promise<void> {
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    const running = sql.exec<{ id: string }>("SELECT id FROM run WHERE status = 'running'").toArray();
    for (const { id } of running) {
      const stalled = sql.exec<TaskRow>(
        "SELECT * FROM task WHERE run_id = ? AND state = 'queued' AND updated_at < ? AND not_before < ?",
        id, now - STALL_AFTER_MS, now - STALL_AFTER_MS,
      ).toArray();
      const jobs: FetchJob[] = [];
      for (const task of stalled) {
        if (task.attempts >= MAX_STALLS) {
          jobs.push(...this.#finishTask(task, "failed", `stalled: no progress after ${MAX_STALLS} re-enqueues (${task.error ?? "no error reported"})`, now));
          continue;
        }
        sql.exec("UPDATE task SET attempts = attempts + 1, updated_at = ? WHERE run_id = ? AND task_id = ?", now, id, task.task_id);
        log("task.requeued", { runId: id, task: task.task_id, reason: "stalled" }, "warn");
        jobs.push(...this.#jobsFor(task));
      }
      await this.#enqueue(jobs);
      await this.#maybeFinish(id);
    }
    await this.#armWatchdog();
  }

  // ── private ───────────────────────────────────────────────────────────────────────────────────────────────

  #run(runId: string): RunRow | undefined {
    return this.ctx.storage.sql.exec<RunRow>("SELECT * FROM run WHERE id = ?", runId).toArray()[0];
  }

  #task(runId: string, taskId: string): TaskRow | undefined {
    return this.ctx.storage.sql.exec<TaskRow>("SELECT * FROM task WHERE run_id = ? AND task_id = ?", runId, taskId).toArray()[0];
  }

  /** Discovery found repositories: one task per repository × requested resource (MAX_REPOS_PER_RUN bounds them). */
  #fanOut(run: RunRow, repos: RepoRef[], missing: string[], now: number): FetchJob[] {
    const sql = this.ctx.storage.sql;
    const cfg = readConfig(this.env);
    const resources = (JSON.parse(run.resources) as ResourceName[]).filter((r) => r !== "repositories");
    const created: TaskRow[] = [];
    const count = () => sql.exec<{ n: number }>("SELECT COUNT(DISTINCT owner || '/' || repo) AS n FROM task WHERE run_id = ? AND resource != 'repositories'", run.id).one().n;
    const insert = (resource: string, owner: string, repo: string, repoId: number | null, state: string, extra: { write?: number; coverage?: string } = {}) => {
      const res = sql.exec(
        `INSERT OR IGNORE INTO task (run_id, task_id, resource, owner, repo, repo_id, write, state, coverage, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING task_id`,
        run.id, taskIdOf(resource, owner, repo), resource, owner, repo, repoId, extra.write ?? 1, state, extra.coverage ?? null, now,
      ).toArray();
      return res.length > 0;
    };
    let total = count();
    for (const repo of repos) {
      if (resources.length === 0) break;
      const known = sql.exec("SELECT 1 FROM task WHERE run_id = ? AND owner = ? AND repo = ? AND resource != 'repositories' LIMIT 1", run.id, repo.owner, repo.name).toArray().length > 0;
      if (known) continue; // listed twice (pagination shifted while we paged): fetch it once
      if (total >= cfg.maxReposPerRun) {
        log("run.repo_limit", { runId: run.id, repository: `${repo.owner}/${repo.name}`, limit: cfg.maxReposPerRun }, "warn");
        continue;
      }
      total++;
      for (const resource of resources) {
        const state = resource === "reactions" ? "waiting" : "queued";
        if (insert(resource, repo.owner, repo.name, repo.id, state)) created.push(this.#task(run.id, taskIdOf(resource, repo.owner, repo.name))!);
      }
      // Reactions are found through the issues listing's rollups: list issues without writing them if not requested.
      if (resources.includes("reactions") && !resources.includes("issues")) {
        if (insert("issues", repo.owner, repo.name, repo.id, "queued", { write: 0 })) created.push(this.#task(run.id, taskIdOf("issues", repo.owner, repo.name))!);
      }
    }
    for (const fullName of missing) {
      const [owner = "", name = ""] = fullName.split("/");
      for (const resource of resources) insert(resource, owner, name, null, "done", { coverage: "not_found" });
      log("repo.not_found", { runId: run.id, repository: fullName }, "warn");
    }
    return created.filter((t) => t.state === "queued").flatMap((t) => this.#jobsFor(t));
  }

  /** A chain task moves to its next part (and not before `notBefore` after a long rate-limit wait). */
  #advanceChain(task: TaskRow, report: PartReport, now: number): TaskRow {
    const next = report.next!;
    const notBefore = next.notBefore ?? 0;
    this.ctx.storage.sql.exec(
      "UPDATE task SET cursor_part = ?, cursor_url = ?, not_before = ?, updated_at = ? WHERE run_id = ? AND task_id = ? AND cursor_part <= ?",
      report.part + 1, next.url, notBefore, Math.max(now, notBefore), task.run_id, task.task_id, report.part,
    );
    return this.#task(task.run_id, task.task_id)!;
  }

  /** Ends a task with its coverage, and releases or fails what depends on it (reactions depend on issues). */
  #finishTask(task: TaskRow, coverage: Coverage, error: string | null, now: number): FetchJob[] {
    const sql = this.ctx.storage.sql;
    sql.exec(
      "UPDATE task SET state = ?, coverage = ?, error = COALESCE(?, error), updated_at = ? WHERE run_id = ? AND task_id = ?",
      coverage === "failed" ? "failed" : "done", coverage, error, now, task.run_id, task.task_id,
    );
    if (coverage !== "failed" && task.write === 1) {
      const t = this.#task(task.run_id, task.task_id)!;
      log("task.done", { runId: task.run_id, repository: `${task.owner}/${task.repo}`, resource: task.resource, coverage, rows: t.rows, requests: t.requests });
    }
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
    sql.exec("UPDATE task SET state = 'queued', parts_expected = ?, updated_at = ? WHERE run_id = ? AND task_id = ?",
      Math.ceil(n / ISSUES_PER_REACTIONS_PART), now, reactions.run_id, reactions.task_id);
    return this.#jobsFor(this.#task(reactions.run_id, reactions.task_id)!);
  }

  /** The jobs that would move a task on from where its ledger says it is. Deterministic, so the watchdog can rebuild
   *  lost messages: a chain's current part, or a fixed task's parts not yet recorded. */
  #jobsFor(task: TaskRow): FetchJob[] {
    const run = this.#run(task.run_id)!;
    const base = {
      runId: task.run_id,
      startedAt: new Date(run.started_at).toISOString(),
      taskId: task.task_id,
      resource: task.resource as ResourceName,
      repo: task.resource === "repositories" ? null : { owner: task.owner, name: task.repo, id: task.repo_id ?? 0 },
      write: task.write === 1,
    };
    if (task.parts_expected === null) return [{ ...base, part: task.cursor_part, url: task.cursor_url }];
    const done = new Set(
      this.ctx.storage.sql.exec<{ part: number }>("SELECT part FROM part WHERE run_id = ? AND task_id = ?", task.run_id, task.task_id).toArray().map((r) => r.part),
    );
    const chunks: Array<Partial<FetchJob>> = [];
    if (task.resource === "repositories") {
      const repos = JSON.parse(run.repos_requested ?? "[]") as string[];
      for (let i = 0; i < Math.max(1, repos.length); i += REPOS_PER_PART) chunks.push({ repos: repos.slice(i, i + REPOS_PER_PART) });
    } else if (task.resource === "reactions") {
      const numbers = this.ctx.storage.sql
        .exec<{ number: number }>("SELECT number FROM reacted WHERE run_id = ? AND owner = ? AND repo = ? ORDER BY number", task.run_id, task.owner, task.repo)
        .toArray().map((r) => r.number);
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
          const delayMs = task && task.parts_expected === null ? task.not_before - now : 0;
          return delayMs > 1000 ? { body: job, delaySeconds: Math.min(43_200, Math.ceil(delayMs / 1000)) } : { body: job };
        }),
      );
    }
  }

  /** Ends the run once every task has a terminal state. Writes the manifest first, then flips the status, so a failed
   *  R2 write is simply tried again by the next report or the watchdog. */
  async #maybeFinish(runId: string): Promise<void> {
    const sql = this.ctx.storage.sql;
    const run = this.#run(runId);
    if (!run || run.status !== "running") return;
    const open = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM task WHERE run_id = ? AND state IN ('waiting','queued')", runId).one().n;
    if (open > 0) return;
    const discovery = sql.exec<TaskRow>("SELECT * FROM task WHERE run_id = ? AND resource = 'repositories'", runId).one();
    const problems = sql.exec<{ n: number }>(
      "SELECT COUNT(*) AS n FROM task WHERE run_id = ? AND (state = 'failed' OR coverage = 'not_found')", runId).one().n;
    const status = discovery.state === "failed" ? "failed" : problems > 0 ? "completed_with_errors" : "completed";
    const finishedAt = Date.now();
    const key = manifestKey(runId, new Date(run.started_at));
    const finalRun: RunRow = { ...run, status, finished_at: finishedAt, manifest_key: key, error: discovery.state === "failed" ? discovery.error : null };
    const full = this.#status(finalRun);
    const manifest = {
      ...full,
      coverage: sql.exec<{ repository: string; resource: string; coverage: string; rows: number; error: string | null }>(
        "SELECT owner || '/' || repo AS repository, resource, coverage, rows, error FROM task WHERE run_id = ? AND write = 1 ORDER BY owner, repo, resource", runId,
      ).toArray(),
    };
    await this.env.LAKE.put(key, JSON.stringify(manifest, null, 2), { httpMetadata: { contentType: "application/json" } });
    const changed = sql.exec(
      "UPDATE run SET status = ?, finished_at = ?, manifest_key = ?, error = ? WHERE id = ? AND status = 'running' RETURNING id",
      status, finishedAt, key, finalRun.error, runId,
    ).toArray().length;
    if (!changed) return;
    log("run.finished", { runId, status, ...full.counters, coverage: full.coverage, durationMs: finishedAt - run.started_at, manifest: key });
    this.ctx.waitUntil(notifyRunFinished(this.env, full)); // best effort: a webhook never blocks or fails the run
    this.#broadcast(runId, { type: "completed", run: this.#status(this.#run(runId)!) });
  }

  async #armWatchdog(): Promise<void> {
    const running = this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM run WHERE status = 'running'").one().n;
    if (running === 0) return; // nothing to watch: let the alarm lapse
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current < Date.now()) await this.ctx.storage.setAlarm(Date.now() + WATCHDOG_EVERY_MS);
  }

  #summary(run: RunRow): RunSummary {
    const sql = this.ctx.storage.sql;
    const t = sql.exec<{ total: number; waiting: number; queued: number; done: number; failed: number; repositories: number } & Record<string, number>>(
      `SELECT COUNT(*) AS total,
         COUNT(*) FILTER (WHERE state = 'waiting') AS waiting, COUNT(*) FILTER (WHERE state = 'queued') AS queued,
         COUNT(*) FILTER (WHERE state = 'done') AS done, COUNT(*) FILTER (WHERE state = 'failed') AS failed,
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
    return {
      runId: run.id,
      status: run.status,
      trigger: run.trigger,
      startedAt: iso(run.started_at)!,
      finishedAt: iso(run.finished_at),
      resources: JSON.parse(run.resources) as string[],
      repositories: t.repositories,
      tasks: { total: t.total, waiting: t.waiting, queued: t.queued, done: t.done, failed: t.failed },
      coverage,
      counters: {
        requests: c.requests ?? 0, notModified: c.notModified ?? 0, pages: c.pages ?? 0, rows: c.rows ?? 0, bytes: c.bytes ?? 0,
        files, retries: c.retries ?? 0, rateLimitWaits: c.rateLimitWaits ?? 0,
      },
      manifestKey: run.manifest_key,
      error: run.error,
    };
  }

  #byResource(runId: string): RunStatus["byResource"] {
    const out: RunStatus["byResource"] = {};
    for (const r of this.ctx.storage.sql.exec<{ resource: string; tasks: number; done: number; failed: number; rows: number }>(
      `SELECT resource, COUNT(*) AS tasks, COUNT(*) FILTER (WHERE state = 'done') AS done,
         COUNT(*) FILTER (WHERE state = 'failed') AS failed, SUM(rows) AS rows
       FROM task WHERE run_id = ? AND write = 1 GROUP BY resource`, runId,
    )) out[r.resource] = { tasks: r.tasks, done: r.done, failed: r.failed, rows: r.rows, files: 0 };
    for (const f of this.ctx.storage.sql.exec<{ resource: string; n: number }>(
      "SELECT resource, COUNT(*) AS n FROM part WHERE run_id = ? AND key IS NOT NULL GROUP BY resource", runId,
    )) if (out[f.resource]) out[f.resource]!.files = f.n;
    return out;
  }

  #status(run: RunRow): RunStatus {
    const sql = this.ctx.storage.sql;
    return {
      ...this.#summary(run),
      byResource: this.#byResource(run.id),
      files: sql.exec<{ key: string; resource: string; rows: number; bytes: number }>(
        "SELECT key, resource, rows, bytes FROM part WHERE run_id = ? AND key IS NOT NULL ORDER BY key", run.id,
      ).toArray().map((f) => ({ key: f.key, resource: f.resource, rows: f.rows, bytes: f.bytes })),
      errors: sql.exec<{ repository: string; resource: string; coverage: string | null; error: string | null }>(
        `SELECT owner || '/' || repo AS repository, resource, coverage, error FROM task
         WHERE run_id = ? AND (state = 'failed' OR coverage = 'not_found') ORDER BY owner, repo, resource LIMIT 200`, run.id,
      ).toArray(),
    };
  }

  /** Coalesces progress: at most one message per run per FEED_INTERVAL_MS, carrying the latest totals. */
  #scheduleFeed(runId: string): void {
    if (this.#feedTimers.has(runId) || this.ctx.getWebSockets(runId).length === 0) return;
    this.#feedTimers.set(runId, setTimeout(() => {
      this.#feedTimers.delete(runId);
      const run = this.#run(runId);
      if (!run || run.status !== "running") return; // the completed message says the rest
      try {
        this.#broadcast(runId, { type: "progress", run: this.#summary(run), byResource: this.#byResource(runId) });
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
