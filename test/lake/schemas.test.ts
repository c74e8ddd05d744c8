import { Bool, Int64, List, TimestampMicrosecond, TimeUnit, Type, Utf8 } from "apache-arrow";
import { describe, it } from "vitest";
import { COMMON_COLUMNS, RESOURCES, TABLES, arrowSchema, isResourceName } from "../../src/lake/schemas";

const names = (r: keyof typeof TABLES) => TABLES[r].map((c) => c.name);
const own = (r: keyof typeof TABLES) => names(r).slice(COMMON_COLUMNS.length);

describe("lake schemas", () => {
  it("knows the eight resources and nothing else", ({ expect }) => {
    expect(RESOURCES).toEqual(["repositories", "issues", "pull_requests", "commits", "stargazers", "releases", "workflow_runs", "reactions"]);
    expect(isResourceName("issues")).toBe(true);
    for (const bad of ["Issues", "issue", "", "__proto__", "toString", 1, null, undefined, ["issues"]]) expect(isResourceName(bad)).toBe(false);
  });

  it("starts every table with the lineage and repository columns, all non-null", ({ expect }) => {
    expect(COMMON_COLUMNS).toEqual([
      { name: "_run_id", type: "string", nullable: false },
      { name: "_extracted_at", type: "timestamp", nullable: false },
      { name: "repository_owner", type: "string", nullable: false },
      { name: "repository_name", type: "string", nullable: false },
      { name: "repository_id", type: "int64", nullable: false },
    ]);
    for (const r of RESOURCES) {
      expect(TABLES[r].slice(0, COMMON_COLUMNS.length)).toEqual(COMMON_COLUMNS);
      expect(new Set(names(r)).size, `${r} has duplicate columns`).toBe(names(r).length);
    }
  });

  it("keeps the original design's issues and pull_requests columns, exactly", ({ expect }) => {
    expect(own("issues")).toEqual(["id", "number", "title", "state", "user_login", "user_id", "labels", "assignees", "created_at", "updated_at", "closed_at", "body", "comments_count"]);
    expect(own("pull_requests")).toEqual(["id", "number", "title", "state", "user_login", "user_id", "created_at", "updated_at", "closed_at", "merged_at", "merge_commit_sha", "head_ref", "base_ref", "draft"]);
  });

  it("gives the other tables the fields an analyst expects", ({ expect }) => {
    const expected: Record<string, string[]> = {
      repositories: ["id", "full_name", "owner_login", "name", "private", "fork", "archived", "language", "stargazers_count", "forks_count", "open_issues_count", "default_branch", "created_at", "updated_at", "pushed_at"],
      commits: ["sha", "author_name", "author_email", "author_login", "author_id", "author_date", "committer_name", "committer_email", "committer_login", "committer_id", "committer_date", "message"],
      stargazers: ["user_login", "user_id", "starred_at"],
      releases: ["id", "tag_name", "name", "draft", "prerelease", "created_at", "published_at", "author_login"],
      workflow_runs: ["id", "name", "run_number", "run_attempt", "event", "status", "conclusion", "head_branch", "head_sha", "workflow_id", "actor_login", "created_at", "updated_at", "run_started_at"],
      reactions: ["id", "content", "user_login", "user_id", "created_at", "issue_number"],
    };
    for (const [r, cols] of Object.entries(expected)) expect(own(r as keyof typeof TABLES), r).toEqual(expect.arrayContaining(cols));
  });

  it("types ids int64, times timestamps, flags booleans and labels lists of strings", ({ expect }) => {
    for (const r of RESOURCES) {
      for (const c of TABLES[r]) {
        if (c.name === "id" || c.name.endsWith("_id") || c.name.endsWith("_count") || c.name === "number" || c.name.startsWith("run_")) {
          if (c.name !== "_run_id" && c.name !== "run_started_at") expect(c.type, `${r}.${c.name}`).toBe("int64");
        }
        if (c.name.endsWith("_at") || c.name.endsWith("_date")) expect(c.type, `${r}.${c.name}`).toBe("timestamp");
        if (["private", "fork", "archived", "draft", "prerelease"].includes(c.name)) expect(c.type, `${r}.${c.name}`).toBe("bool");
        if (["labels", "assignees", "topics", "parents"].includes(c.name)) expect(c.type, `${r}.${c.name}`).toBe("list<string>");
      }
    }
  });

  it("makes only keys non-null beyond the common columns", ({ expect }) => {
    const required = Object.fromEntries(RESOURCES.map((r) => [r, TABLES[r].slice(COMMON_COLUMNS.length).filter((c) => !c.nullable).map((c) => c.name)]));
    expect(required).toEqual({
      repositories: ["id"], issues: ["id", "number"], pull_requests: ["id", "number"], commits: ["sha"],
      stargazers: ["user_id"], releases: ["id"], workflow_runs: ["id"], reactions: ["id", "issue_number"],
    });
  });

  it("builds Arrow schemas with UTC microsecond timestamps, int64 ids and list<utf8> labels", ({ expect }) => {
    const schema = arrowSchema("issues");
    expect(schema.fields.map((f) => f.name)).toEqual(names("issues"));
    const field = (name: string) => schema.fields.find((f) => f.name === name)!;
    const ts = field("created_at").type as TimestampMicrosecond;
    expect(ts.typeId).toBe(Type.Timestamp);
    expect(ts.unit).toBe(TimeUnit.MICROSECOND);
    expect(ts.timezone).toBe("UTC");
    expect(field("_extracted_at").nullable).toBe(false);
    expect(field("created_at").nullable).toBe(true);
    expect(field("id").type).toBeInstanceOf(Int64);
    expect((field("id").type as Int64).bitWidth).toBe(64);
    const labels = field("labels").type as List<Utf8>;
    expect(labels.typeId).toBe(Type.List);
    expect(labels.valueType).toBeInstanceOf(Utf8);
    expect(arrowSchema("pull_requests").fields.find((f) => f.name === "draft")!.type).toBeInstanceOf(Bool);
    for (const r of RESOURCES) expect(arrowSchema(r).fields.length).toBe(TABLES[r].length);
  });
});
