/**
 * repositories: the run's repo list, `GET /user/repos` (everything the token owns, collaborates on
 * or sees through an org), or with only a GitHub App, `GET /installation/repositories` per installation
 * (GitHub refuses `/user/repos` to installation tokens). One row per repo; its repository_* columns are the repo itself.
 * https://docs.github.com/rest/repos/repos#list-repositories-for-the-authenticated-user
 * https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-app-installation
 */
import { asObject, bool, commonColumns, describeJson, int, isObject, names, obj, requiredInt, requiredStr, str, time } from "./fields";
import type { RepoRef, ResourceSpec } from "./types";

/** The first page of an installation's repositories; its items are the same repository objects as `/user/repos`'s. */
export const INSTALLATION_REPOS_PAGE = "/installation/repositories?per_page=100";

/** owner/name/id of a `/user/repos` item: what discovery turns into tasks. Throws if any is missing. */
export function repoRefFromItem(item: unknown): RepoRef {
  const o = asObject(item, "repositories");
  const owner = obj(o, "owner");
  return {
    owner: requiredStr(owner ?? {}, "login", "repositories owner"),
    name: requiredStr(o, "name", "repositories"),
    id: requiredInt(o, "id", "repositories"),
  };
}

export const repositories: ResourceSpec = {
  name: "repositories",
  firstPage: () => "/user/repos?affiliation=owner,collaborator,organization_member&per_page=100",
  items(body) {
    if (Array.isArray(body)) return body; // /user/repos
    if (isObject(body) && Array.isArray(body.repositories)) return body.repositories; // /installation/repositories
    throw new Error(`repositories: expected a JSON array or an object with a "repositories" array, got ${describeJson(body)}`);
  },
  toRow(item, ctx) {
    const o = asObject(item, "repositories");
    const repo = repoRefFromItem(o);
    return {
      ...commonColumns(ctx, repo),
      id: repo.id,
      full_name: str(o, "full_name"),
      owner_login: repo.owner,
      name: repo.name,
      description: str(o, "description"),
      private: bool(o, "private"),
      visibility: str(o, "visibility"),
      fork: bool(o, "fork"),
      archived: bool(o, "archived"),
      language: str(o, "language"),
      topics: names(o, "topics"),
      stargazers_count: int(o, "stargazers_count"),
      forks_count: int(o, "forks_count"),
      open_issues_count: int(o, "open_issues_count"),
      default_branch: str(o, "default_branch"),
      created_at: time(o, "created_at"),
      updated_at: time(o, "updated_at"),
      pushed_at: time(o, "pushed_at"),
    };
  },
  primaryKey: ["id"],
};
