/** Shared shapes of the per-resource modules: how to page a GitHub listing and map its items to lake rows. */
import type { ResourceName, Row } from "../../lake/schemas";

export interface RepoRef {
  owner: string;
  name: string;
  id: number;
}

export interface RowContext {
  runId: string;
  /** ISO-8601, when the page was fetched. */
  extractedAt: string;
  repo: RepoRef;
  /** The issue or PR a reactions page belongs to. */
  issueNumber?: number;
}

export const DEFAULT_ACCEPT = "application/vnd.github+json";

export interface ResourceSpec {
  name: ResourceName;
  /**
   * Path + query of the first page relative to the API root, always per_page=100, e.g.
   * `/repos/o/r/issues?state=all&per_page=100`. Owner/name are URL-encoded. For reactions
   * `extra.issueNumber` is required; repositories ignores `repo` (it lists `/user/repos`).
   */
  firstPage(repo: RepoRef | null, extra?: { issueNumber?: number }): string;
  /** Accept header when not DEFAULT_ACCEPT (stargazers: star+json, which adds `starred_at`). */
  accept?: string;
  /** The list inside a page body. Throws a descriptive Error on any other shape; never returns garbage. */
  items(body: unknown): unknown[];
  /**
   * One lake row (keys exactly TABLES[name]), or null when the item belongs to another table (PRs in
   * the issues listing). Missing optional fields become null; a missing primary key throws.
   */
  toRow(item: unknown, ctx: RowContext): Row | null;
  /** Primary key column(s) of the table. */
  primaryKey: readonly string[];
}
