/** The RunCoordinator's SQLite schema. Append-only: never edit a step once it has been deployed. */

export const MIGRATIONS = [
  `CREATE TABLE run (
     id TEXT PRIMARY KEY,
     status TEXT NOT NULL CHECK (status IN ('running','completed','completed_with_errors','failed','cancelled')),
     trigger TEXT NOT NULL,
     mode TEXT NOT NULL CHECK (mode IN ('full','incremental')),
     started_at INTEGER NOT NULL,
     finished_at INTEGER,
     last_progress_at INTEGER NOT NULL,
     resources TEXT NOT NULL,          -- JSON array of requested resources
     repos_requested TEXT,             -- JSON array of owner/name, or NULL to discover
     manifest_key TEXT,
     error TEXT,
     quota_limit INTEGER, quota_remaining INTEGER, quota_reset INTEGER,  -- GitHub's latest word on the primary budget
     summary TEXT,                     -- JSON RunSummary, written when the run ends; kept after task rows are pruned
     pruned INTEGER NOT NULL DEFAULT 0);
   CREATE INDEX run_by_status ON run (status);
   CREATE TABLE task (
     run_id TEXT NOT NULL,
     task_id TEXT NOT NULL,
     resource TEXT NOT NULL,
     owner TEXT NOT NULL,
     repo TEXT NOT NULL,
     repo_id INTEGER,
     repo_pushed_at TEXT,                -- as discovery saw it: saved with the watermark when the task succeeds
     repo_updated_at TEXT,
     write INTEGER NOT NULL DEFAULT 1,   -- 0: an issues listing made only to find reactions
     state TEXT NOT NULL CHECK (state IN ('waiting','pending','running','done','failed','dead','cancelled')),
     coverage TEXT,
     parts_expected INTEGER,             -- NULL: a chain of parts (pages) that ends when a part has no next page
     parts_done INTEGER NOT NULL DEFAULT 0,
     cursor_part INTEGER NOT NULL DEFAULT 0,   -- chain: the next part to run and where it starts
     cursor_url TEXT,
     enqueued_part INTEGER NOT NULL DEFAULT -1,  -- chain: the highest part a message was sent for
     not_before INTEGER NOT NULL DEFAULT 0,
     claimed_at INTEGER,                 -- a consumer is working on it (refreshed by each report)
     job_state TEXT,                     -- JSON ResourceState handed to the task's jobs (incremental runs)
     est_pages INTEGER NOT NULL DEFAULT 1,
     total_pages INTEGER,                -- from the first page's Link rel="last"
     max_seen TEXT,
     ids_at_max TEXT,
     first_url TEXT, first_etag TEXT, resume_url TEXT,
     rows INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0, requests INTEGER NOT NULL DEFAULT 0,
     not_modified INTEGER NOT NULL DEFAULT 0, pages INTEGER NOT NULL DEFAULT 0, retries INTEGER NOT NULL DEFAULT 0,
     rate_limit_waits INTEGER NOT NULL DEFAULT 0,
     attempts INTEGER NOT NULL DEFAULT 0,
     error TEXT,
     note TEXT,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (run_id, task_id));
   CREATE INDEX task_by_state ON task (run_id, state);
   CREATE TABLE part (
     run_id TEXT NOT NULL, task_id TEXT NOT NULL, part INTEGER NOT NULL,
     key TEXT, resource TEXT NOT NULL, rows INTEGER NOT NULL, bytes INTEGER NOT NULL, requests INTEGER NOT NULL,
     recorded_at INTEGER NOT NULL,
     PRIMARY KEY (run_id, task_id, part));
   CREATE INDEX part_by_time ON part (run_id, recorded_at);
   -- Claims on the parts of fixed-part tasks (reactions, explicit discovery), whose parts run in parallel.
   CREATE TABLE part_claim (run_id TEXT NOT NULL, task_id TEXT NOT NULL, part INTEGER NOT NULL, claimed_at INTEGER NOT NULL,
     PRIMARY KEY (run_id, task_id, part));
   CREATE TABLE reacted (
     run_id TEXT NOT NULL, owner TEXT NOT NULL, repo TEXT NOT NULL, number INTEGER NOT NULL,
     PRIMARY KEY (run_id, owner, repo, number));
   -- What the last successful task of each repository × resource left for incremental runs.
   CREATE TABLE repo_state (
     owner TEXT NOT NULL, repo TEXT NOT NULL, resource TEXT NOT NULL,
     watermark TEXT, boundary_ids TEXT, etag_url TEXT, etag TEXT, resume_url TEXT, pushed_at TEXT,
     outcome TEXT, repo_updated_at TEXT,   -- how the task ended, and the repository's updated_at then
     run_id TEXT NOT NULL, updated_at INTEGER NOT NULL,
     PRIMARY KEY (owner, repo, resource));
   -- Discovery pages (and explicit repository URLs) by URL: their ETag, next link and the repositories they listed.
   CREATE TABLE page_cache (url TEXT PRIMARY KEY, etag TEXT, next_url TEXT, repos TEXT NOT NULL, updated_at INTEGER NOT NULL);
   -- Short-lived, single-use WebSocket tickets for browsers (which cannot send an Authorization header).
   CREATE TABLE ticket (hash TEXT PRIMARY KEY, run_id TEXT NOT NULL, expires_at INTEGER NOT NULL);`,
  // GitHub App only: the installation whose credential the task's jobs use (FetchJob.installation).
  `ALTER TABLE task ADD COLUMN installation INTEGER;`,
] as const;
