/**
 * stargazers: `GET /repos/{o}/{r}/stargazers` with the star+json media type, whose items are
 * `{starred_at, user}` instead of bare users. A bare user (plain media type) still maps, without
 * starred_at. Since 2026 only admins/collaborators may list them (others get 403: the client's concern).
 * https://docs.github.com/rest/activity/starring#list-stargazers
 */
import { asObject, commonColumns, jsonArray, obj, repoPath, requiredInt, str, time } from "./fields";
import type { ResourceSpec } from "./types";

export const stargazers: ResourceSpec = {
  name: "stargazers",
  firstPage: (repo) => `${repoPath(repo, "stargazers")}/stargazers?per_page=100`,
  accept: "application/vnd.github.star+json",
  items: (body) => jsonArray(body, "stargazers"),
  toRow(item, ctx) {
    const o = asObject(item, "stargazers");
    const user = "user" in o ? obj(o, "user") : o;
    return {
      ...commonColumns(ctx),
      user_login: str(user, "login"),
      user_id: requiredInt(user ?? {}, "id", "stargazers user"),
      starred_at: time(o, "starred_at"),
    };
  },
  primaryKey: ["user_id"],
};
