/**
 * issues: `GET /repos/{o}/{r}/issues?state=all`. GitHub lists pull requests here too (they carry a
 * `pull_request` key); those rows belong to pull_requests, so they map to null — but their
 * reaction rollup still counts, see reactedIssueNumbers.
 * https://docs.github.com/rest/issues/issues#list-repository-issues
 */
import { asObject, commonColumns, int, isObject, jsonArray, names, obj, repoPath, requiredInt, str, time } from "./fields";
import type { ResourceSpec } from "./types";

/** The item's number when it has reactions (`reactions.total_count > 0`), for issues and PRs alike; else null. */
export function reactedIssueNumbers(item: unknown): number | null {
  if (!isObject(item)) return null;
  const total = int(obj(item, "reactions"), "total_count");
  return total !== null && total > 0 ? int(item, "number") : null;
}

export const issues: ResourceSpec = {
  name: "issues",
  // Most recently updated first: the first page's ETag then changes whenever any issue does (incremental runs).
  firstPage: (repo) => `${repoPath(repo, "issues")}/issues?state=all&sort=updated&direction=desc&per_page=100`,
  items: (body) => jsonArray(body, "issues"),
  toRow(item, ctx) {
    const o = asObject(item, "issues");
    if ("pull_request" in o) return null;
    const user = obj(o, "user"); // null for ghost (deleted) users
    return {
      ...commonColumns(ctx),
      id: requiredInt(o, "id", "issues"),
      number: requiredInt(o, "number", "issues"),
      title: str(o, "title"),
      state: str(o, "state"),
      user_login: str(user, "login"),
      user_id: int(user, "id"),
      labels: names(o, "labels"),
      assignees: names(o, "assignees", "login"),
      created_at: time(o, "created_at"),
      updated_at: time(o, "updated_at"),
      closed_at: time(o, "closed_at"),
      body: str(o, "body"),
      comments_count: int(o, "comments"),
    };
  },
  primaryKey: ["id"],
};
