/**
 * commits: `GET /repos/{o}/{r}/commits` (default branch). Git's own author/committer (name, email,
 * date) come from `commit.*`; the GitHub accounts (login, id) from the top-level `author`/`committer`,
 * which are null when the email matches no account. An empty repo answers 409: the client's concern.
 * https://docs.github.com/rest/commits/commits#list-commits
 */
import { asObject, commonColumns, int, jsonArray, names, obj, repoPath, requiredStr, str, time } from "./fields";
import type { ResourceSpec } from "./types";

export const commits: ResourceSpec = {
  name: "commits",
  firstPage: (repo) => `${repoPath(repo, "commits")}/commits?per_page=100`,
  items: (body) => jsonArray(body, "commits"),
  toRow(item, ctx) {
    const o = asObject(item, "commits");
    const commit = obj(o, "commit");
    const gitAuthor = obj(commit, "author");
    const gitCommitter = obj(commit, "committer");
    const author = obj(o, "author");
    const committer = obj(o, "committer");
    return {
      ...commonColumns(ctx),
      sha: requiredStr(o, "sha", "commits"),
      author_name: str(gitAuthor, "name"),
      author_email: str(gitAuthor, "email"),
      author_login: str(author, "login"),
      author_id: int(author, "id"),
      author_date: time(gitAuthor, "date"),
      committer_name: str(gitCommitter, "name"),
      committer_email: str(gitCommitter, "email"),
      committer_login: str(committer, "login"),
      committer_id: int(committer, "id"),
      committer_date: time(gitCommitter, "date"),
      message: str(commit, "message"),
      parents: names(o, "parents", "sha"),
    };
  },
  primaryKey: ["sha"],
};
