/**
 * The lake's table definitions: one column list per GitHub resource, and the Arrow schema each
 * Parquet file is written with. Responsibilities: the single source of truth for column names,
 * types and nullability, shared by the row mappers (src/github/resources) and the writer.
 */
import { Bool, Field, Float64, Int32, Int64, List, Schema, TimestampMicrosecond, Utf8, type DataType } from "apache-arrow";

export const RESOURCES = [
  "repositories",
  "issues",
  "pull_requests",
  "commits",
  "stargazers",
  "releases",
  "workflow_runs",
  "reactions",
] as const;
export type ResourceName = (typeof RESOURCES)[number];

export function isResourceName(x: unknown): x is ResourceName {
  return typeof x === "string" && (RESOURCES as readonly string[]).includes(x);
}

export type ColumnType = "int64" | "int32" | "float64" | "bool" | "string" | "timestamp" | "list<string>";
export interface Column {
  name: string;
  type: ColumnType;
  nullable: boolean;
}

/** A cell as the mappers produce it. Timestamps travel as ISO-8601 strings; the writer turns them into micros. */
export type CellValue = string | number | boolean | null | readonly string[];
export type Row = Record<string, CellValue>;

const req = (name: string, type: ColumnType): Column => ({ name, type, nullable: false });
const opt = (name: string, type: ColumnType): Column => ({ name, type, nullable: true });

/** Lineage and the repository every row belongs to; on every table, first. */
export const COMMON_COLUMNS: Column[] = [
  req("_run_id", "string"),
  req("_extracted_at", "timestamp"),
  req("repository_owner", "string"),
  req("repository_name", "string"),
  req("repository_id", "int64"),
];

// Only keys are non-null: GitHub omits or nulls almost any other field somewhere (ghost users,
// drafts without publish dates, runs without names), and a null beats a failed page.
const OWN_COLUMNS: Record<ResourceName, readonly Column[]> = {
  repositories: [
    req("id", "int64"),
    opt("full_name", "string"),
    opt("owner_login", "string"),
    opt("name", "string"),
    opt("description", "string"),
    opt("private", "bool"),
    opt("visibility", "string"),
    opt("fork", "bool"),
    opt("archived", "bool"),
    opt("language", "string"),
    opt("topics", "list<string>"),
    opt("stargazers_count", "int64"),
    opt("forks_count", "int64"),
    opt("open_issues_count", "int64"),
    opt("default_branch", "string"),
    opt("created_at", "timestamp"),
    opt("updated_at", "timestamp"),
    opt("pushed_at", "timestamp"),
  ],
  // issues and pull_requests: the original (dlt) design's columns, names unchanged.
  issues: [
    req("id", "int64"),
    req("number", "int64"),
    opt("title", "string"),
    opt("state", "string"),
    opt("user_login", "string"),
    opt("user_id", "int64"),
    opt("labels", "list<string>"),
    opt("assignees", "list<string>"),
    opt("created_at", "timestamp"),
    opt("updated_at", "timestamp"),
    opt("closed_at", "timestamp"),
    opt("body", "string"),
    opt("comments_count", "int64"),
  ],
  pull_requests: [
    req("id", "int64"),
    req("number", "int64"),
    opt("title", "string"),
    opt("state", "string"),
    opt("user_login", "string"),
    opt("user_id", "int64"),
    opt("created_at", "timestamp"),
    opt("updated_at", "timestamp"),
    opt("closed_at", "timestamp"),
    opt("merged_at", "timestamp"),
    opt("merge_commit_sha", "string"),
    opt("head_ref", "string"),
    opt("base_ref", "string"),
    opt("draft", "bool"),
  ],
  commits: [
    req("sha", "string"),
    opt("author_name", "string"),
    opt("author_email", "string"),
    opt("author_login", "string"),
    opt("author_id", "int64"),
    opt("author_date", "timestamp"),
    opt("committer_name", "string"),
    opt("committer_email", "string"),
    opt("committer_login", "string"),
    opt("committer_id", "int64"),
    opt("committer_date", "timestamp"),
    opt("message", "string"),
    opt("parents", "list<string>"),
  ],
  stargazers: [opt("user_login", "string"), req("user_id", "int64"), opt("starred_at", "timestamp")],
  releases: [
    req("id", "int64"),
    opt("tag_name", "string"),
    opt("name", "string"),
    opt("target_commitish", "string"),
    opt("draft", "bool"),
    opt("prerelease", "bool"),
    opt("author_login", "string"),
    opt("created_at", "timestamp"),
    opt("published_at", "timestamp"),
  ],
  workflow_runs: [
    req("id", "int64"),
    opt("name", "string"),
    opt("workflow_id", "int64"),
    opt("run_number", "int64"),
    opt("run_attempt", "int64"),
    opt("event", "string"),
    opt("status", "string"),
    opt("conclusion", "string"),
    opt("head_branch", "string"),
    opt("head_sha", "string"),
    opt("actor_login", "string"),
    opt("created_at", "timestamp"),
    opt("updated_at", "timestamp"),
    opt("run_started_at", "timestamp"),
  ],
  reactions: [
    req("id", "int64"),
    req("issue_number", "int64"),
    opt("content", "string"),
    opt("user_login", "string"),
    opt("user_id", "int64"),
    opt("created_at", "timestamp"),
  ],
};

export const TABLES: Record<ResourceName, readonly Column[]> = Object.fromEntries(
  RESOURCES.map((r) => [r, Object.freeze([...COMMON_COLUMNS, ...OWN_COLUMNS[r]])]),
) as Record<ResourceName, readonly Column[]>;

/** Arrow type of a column. Timestamps are micros in UTC: Parquet TIMESTAMP(isAdjustedToUTC, MICROS), as dlt wrote. */
export function arrowType(type: ColumnType): DataType {
  switch (type) {
    case "int64": return new Int64();
    case "int32": return new Int32();
    case "float64": return new Float64();
    case "bool": return new Bool();
    case "string": return new Utf8();
    case "timestamp": return new TimestampMicrosecond("UTC");
    case "list<string>": return new List(new Field("item", new Utf8(), false));
  }
}

export function arrowField(column: Column): Field {
  return new Field(column.name, arrowType(column.type), column.nullable);
}

export function schemaOf(columns: readonly Column[]): Schema {
  return new Schema(columns.map(arrowField));
}

export function arrowSchema(resource: ResourceName): Schema {
  return schemaOf(TABLES[resource]);
}
