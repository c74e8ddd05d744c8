/** The messages of github-fetch-queue and the reports fetchers send back to the RunCoordinator. Plain data only:
 *  both cross a queue or an RPC boundary by structured clone. */
import type { ResourceName } from "../lake/schemas";
import type { ResourceState } from "./incremental";
import type { RepoRef } from "./resources/types";

/** One unit of fetch work: a bounded run of pages of one repository × resource (or one discovery step). */
export interface FetchJob {
  runId: string;
  /** The run's start (ISO): decides the lake partition, so all of a run lands in one day. */
  startedAt: string;
  taskId: string;
  resource: ResourceName;
  /** null for discovery (the repositories table). */
  repo: RepoRef | null;
  /** The first part (page) this job handles: parts are numbered per task, one per page of a listing. */
  part: number;
  /** The page to start from (a `Link` URL); null → the resource's first page. */
  url: string | null;
  /** Discovery of an explicit repository list: the `owner/name`s of this part. */
  repos?: string[];
  /** Reactions: the issue/PR numbers of this part (those whose `reactions.total_count > 0`). */
  issueNumbers?: number[];
  /** false: list only to learn what has reactions (issues not requested, reactions requested): write no file. */
  write: boolean;
  /** What the last successful run of this repository × resource left (incremental runs); null → full. */
  state?: ResourceState | null;
  /** Discovery: ETag and next link of pages seen by earlier runs, by URL (a 304 reuses what they listed). */
  pageCache?: Record<string, { etag: string; next: string | null }>;
  /** GitHub App only (no personal token): the installation whose credential this job must use — for discovery the one
   *  it lists (`/installation/repositories`), for a repository the one that listed it. An installation's token cannot
   *  read another installation's private repositories. Absent: any credential of the pool. */
  installation?: number;
}

export type Coverage = "complete" | "empty" | "restricted" | "not_found" | "partial" | "failed";

/** A repository as discovery saw it: enough to plan (cost estimate) and to skip unchanged resources. */
export interface RepoMeta extends RepoRef {
  pushedAt: string | null;
  updatedAt: string | null;
  openIssues: number;
  stars: number;
  /** The installation that listed it (see FetchJob.installation). */
  installation?: number;
}

/** What one part (one page, or one fixed chunk) did. The coordinator applies each (runId, taskId, part) once. */
export interface PartReport {
  runId: string;
  taskId: string;
  part: number;
  /** The Parquet object written, or null when the part had no new rows (or wrote none). */
  key: string | null;
  rows: number;
  bytes: number;
  requests: number;
  notModified: number;
  pages: number;
  retries: number;
  rateLimitWaits: number;
  /** How the task ends if this part is its last; ignored while `next` is set. */
  outcome: Exclude<Coverage, "failed">;
  /** Where the task continues (the next page), or null when this part ends it. */
  next: { url: string } | null;
  /** This consumer stops after this part: the coordinator must enqueue the continuation. */
  handoff: boolean;
  /** Discovery: the repositories this part listed, and its pages (URL, ETag, next) for the page cache. */
  repos?: RepoMeta[];
  cachePages?: Array<{ url: string; etag: string | null; next: string | null }>;
  /** Discovery: pages (or repository URLs) answered 304 — reuse what the cache says they list. */
  unchangedUrls?: string[];
  /** Discovery of an explicit list: names GitHub answered 404 for. */
  missingRepos?: string[];
  /** Issues listing: numbers whose reactions rollup is non-zero. */
  reacted?: number[];
  /** Incremental bookkeeping: the highest cursor time on this part and the ids at it. */
  maxSeen?: string | null;
  idsAtMax?: string[];
  /** First part only: the first page's URL and ETag (for If-None-Match next time). */
  firstPage?: { url: string; etag: string | null };
  /** Stargazers, last part: where new stars will appear next time. */
  resumeUrl?: string | null;
  /** First part only: pages the listing has (Link rel="last"), for the run's cost estimate. */
  totalPages?: number | null;
  /** GitHub's latest rate-limit headers seen by this part's requests: the run's ETA uses them. */
  quota?: { limit: number; remaining: number; reset: number } | null;
  note?: string;
}

/** What a job asks of the queue once its pages are reported. */
export type JobEnd = { kind: "done" } | { kind: "defer"; job: FetchJob; untilMs: number };
