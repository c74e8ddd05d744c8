/**
 * Defensive readers for GitHub JSON. GitHub omits fields, nulls users (ghost accounts) and
 * occasionally changes types, so optional fields read as null instead of throwing; `required*`
 * readers throw, for keys a row cannot exist without.
 */
import { isIsoTimestamp } from "../../lake/time";
import type { RowContext } from "./types";

export type Json = Record<string, unknown>;

export function isObject(x: unknown): x is Json {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** The item as an object, or a throw naming the resource: a non-object item means the page is not what we think. */
export function asObject(item: unknown, what: string): Json {
  if (!isObject(item)) throw new Error(`${what}: expected an object, got ${describeJson(item)}`);
  return item;
}

export const obj = (o: Json | null, key: string): Json | null => (o && isObject(o[key]) ? (o[key] as Json) : null);
export const str = (o: Json | null, key: string): string | null => (o && typeof o[key] === "string" ? (o[key] as string) : null);
export const bool = (o: Json | null, key: string): boolean | null => (o && typeof o[key] === "boolean" ? (o[key] as boolean) : null);
export const int = (o: Json | null, key: string): number | null => {
  const v = o?.[key];
  return typeof v === "number" && Number.isSafeInteger(v) ? v : null;
};
/** A date-time string the writer can store; anything else (missing, malformed) is null. */
export const time = (o: Json | null, key: string): string | null => {
  const v = str(o, key);
  return v !== null && isIsoTimestamp(v) ? v : null;
};
/** Names from a list of strings or of objects with `key` (labels come both ways). */
export const names = (o: Json | null, listKey: string, key = "name"): string[] | null => {
  const list = o?.[listKey];
  if (!Array.isArray(list)) return null;
  return list.flatMap((x) => (typeof x === "string" ? [x] : isObject(x) && typeof x[key] === "string" ? [x[key] as string] : []));
};

export function requiredInt(o: Json, key: string, what: string): number {
  const v = int(o, key);
  if (v === null) throw new Error(`${what}: missing integer "${key}" (got ${describeJson(o[key])})`);
  return v;
}

export function requiredStr(o: Json, key: string, what: string): string {
  const v = str(o, key);
  if (v === null || v === "") throw new Error(`${what}: missing string "${key}" (got ${describeJson(o[key])})`);
  return v;
}

/** The lineage and repository columns every table starts with. */
export function commonColumns(ctx: RowContext, repo = ctx.repo) {
  return {
    _run_id: ctx.runId,
    _extracted_at: ctx.extractedAt,
    repository_owner: repo.owner,
    repository_name: repo.name,
    repository_id: repo.id,
  };
}

/** The JSON array a listing page must be; a clear error for HTML, error objects and the like. */
export function jsonArray(body: unknown, what: string): unknown[] {
  if (Array.isArray(body)) return body;
  throw new Error(`${what}: expected a JSON array, got ${describeJson(body)}`);
}

export function describeJson(x: unknown): string {
  if (x === undefined) return "nothing";
  if (x === null) return "null";
  if (typeof x === "string") return `a string ${JSON.stringify(x.length > 60 ? `${x.slice(0, 57)}...` : x)}`;
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (isObject(x)) {
    const keys = Object.keys(x);
    const message = typeof x.message === "string" ? ` (message: ${JSON.stringify(x.message.slice(0, 100))})` : "";
    return `an object with keys [${keys.slice(0, 8).join(", ")}${keys.length > 8 ? ", ..." : ""}]${message}`;
  }
  return `${typeof x} ${String(x)}`;
}

export const repoPath = (repo: { owner: string; name: string } | null, what: string): string => {
  if (!repo) throw new Error(`${what}: a repository is required`);
  return `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.name)}`;
};
