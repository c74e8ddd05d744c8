/**
 * reactions: `GET /repos/{o}/{r}/issues/{n}/reactions`, fetched only for issues and PRs whose
 * rollup says they have any (issues.reactedIssueNumbers). The issue number comes from the context.
 * https://docs.github.com/rest/reactions/reactions#list-reactions-for-an-issue
 */
import { asObject, commonColumns, int, jsonArray, obj, repoPath, requiredInt, str, time } from "./fields";
import type { ResourceSpec } from "./types";

function checkIssueNumber(n: number | undefined): number {
  if (n === undefined || !Number.isSafeInteger(n) || n <= 0) throw new Error(`reactions: an issue number is required, got ${String(n)}`);
  return n;
}

export const reactions: ResourceSpec = {
  name: "reactions",
  firstPage: (repo, extra) => `${repoPath(repo, "reactions")}/issues/${checkIssueNumber(extra?.issueNumber)}/reactions?per_page=100`,
  items: (body) => jsonArray(body, "reactions"),
  toRow(item, ctx) {
    const o = asObject(item, "reactions");
    const user = obj(o, "user");
    return {
      ...commonColumns(ctx),
      id: requiredInt(o, "id", "reactions"),
      issue_number: checkIssueNumber(ctx.issueNumber),
      content: str(o, "content"),
      user_login: str(user, "login"),
      user_id: int(user, "id"),
      created_at: time(o, "created_at"),
    };
  },
  primaryKey: ["id"],
};
