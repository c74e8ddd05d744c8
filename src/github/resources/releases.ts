/**
 * releases: `GET /repos/{o}/{r}/releases` (drafts only appear for users with push access).
 * https://docs.github.com/rest/releases/releases#list-releases
 */
import { asObject, bool, commonColumns, jsonArray, obj, repoPath, requiredInt, str, time } from "./fields";
import type { ResourceSpec } from "./types";

export const releases: ResourceSpec = {
  name: "releases",
  firstPage: (repo) => `${repoPath(repo, "releases")}/releases?per_page=100`,
  items: (body) => jsonArray(body, "releases"),
  toRow(item, ctx) {
    const o = asObject(item, "releases");
    return {
      ...commonColumns(ctx),
      id: requiredInt(o, "id", "releases"),
      tag_name: str(o, "tag_name"),
      name: str(o, "name"),
      target_commitish: str(o, "target_commitish"),
      draft: bool(o, "draft"),
      prerelease: bool(o, "prerelease"),
      author_login: str(obj(o, "author"), "login"),
      created_at: time(o, "created_at"),
      published_at: time(o, "published_at"),
    };
  },
  primaryKey: ["id"],
};
