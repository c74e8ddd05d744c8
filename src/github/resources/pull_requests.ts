/**
 * pull_requests: `GET /repos/{o}/{r}/pulls?state=all`.
 * https://docs.github.com/rest/pulls/pulls#list-pull-requests
 */
import { asObject, bool, commonColumns, int, jsonArray, obj, repoPath, requiredInt, str, time } from "./fields";
import type { ResourceSpec } from "./types";

export const pullRequests: ResourceSpec = {
  name: "pull_requests",
  // Most recently updated first, in full runs too: incremental runs stop at the watermark and reuse the first page's ETag.
  firstPage: (repo) => `${repoPath(repo, "pull_requests")}/pulls?state=all&sort=updated&direction=desc&per_page=100`,
  items: (body) => jsonArray(body, "pull_requests"),
  toRow(item, ctx) {
    const o = asObject(item, "pull_requests");
    const user = obj(o, "user");
    return {
      ...commonColumns(ctx),
      id: requiredInt(o, "id", "pull_requests"),
      number: requiredInt(o, "number", "pull_requests"),
      title: str(o, "title"),
      state: str(o, "state"),
      user_login: str(user, "login"),
      user_id: int(user, "id"),
      created_at: time(o, "created_at"),
      updated_at: time(o, "updated_at"),
      closed_at: time(o, "closed_at"),
      merged_at: time(o, "merged_at"),
      merge_commit_sha: str(o, "merge_commit_sha"),
      head_ref: str(obj(o, "head"), "ref"),
      base_ref: str(obj(o, "base"), "ref"),
      draft: bool(o, "draft"),
    };
  },
  primaryKey: ["id"],
};
