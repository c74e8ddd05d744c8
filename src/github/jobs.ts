/** The messages of github-fetch-queue and the reports fetchers send back to the RunCoordinator. Plain data only:
 *  both cross a queue or an RPC boundary by structured clone. */
import type { ResourceName } from "../lake/schemas";
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
  part: number;
  /** The page to start from (a `Link` URL); null → the resource's first page. */
  url: string | null;
  /** Discovery of an explicit repository list: the `owner/name`s of this part. */
  repos?: string[];
  /** Reactions: the issue/PR numbers of this part (those whose `reactions.total_count > 0`). */
  issueNumbers?: number[];
  /** false: list only to learn what has reactions (issues not requested, reactions requested): write no file. */
  write: boolean;
}

export type Coverage = "complete" | "empty" | "restricted" | "not_found" | "partial" | "failed";

/** What one job did. The coordinator applies each (runId, taskId, part) once, however often it is delivered. */
export interface PartReport {
  runId: string;
  taskId: string;
  part: number;
  /** The Parquet object written, or null when the part had no rows (or wrote none). */
  key: string | null;
  rows: number;
  bytes: number;
  requests: number;
  notModified: number;
  pages: number;
  retries: number;
  rateLimitWaits: number;
  /** How the task ends if this is its last part; ignored while `next` is set. */
  outcome: Exclude<Coverage, "failed">;
  /** Where the task continues (chain of parts), and not before when (a long rate-limit wait). */
  next: { url: string | null; notBefore?: number } | null;
  /** Discovery: the repositories this part listed. */
  repos?: RepoRef[];
  /** Discovery of an explicit list: names GitHub answered 404 for. */
  missingRepos?: string[];
  /** Issues listing: numbers whose reactions rollup is non-zero. */
  reacted?: number[];
  /** Reactions: issue numbers that vanished (404) between listing and fetching. */
  note?: string;
}
