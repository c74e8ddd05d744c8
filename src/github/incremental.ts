/** How each resource is fetched incrementally. Responsibilities: given what the last successful run of a repository ×
 *  resource left behind (its watermark, the ETag of its first page, the boundary ids), decide the first URL, where
 *  paging may stop, and which items are new. The first page is always the same URL, so `If-None-Match` answers 304 —
 *  free — when nothing changed. Issues and pull requests are read most recently updated first until they pass the
 *  watermark; commits switch to GitHub's `since`; releases and workflow runs are read newest first; stargazers (oldest
 *  first) resume at the last page a run saw. */
import type { ResourceName } from "../lake/schemas";
import { RESOURCE_SPECS, type RepoRef } from "./resources";

/** What a completed task leaves for the next run of the same repository × resource. */
export interface ResourceState {
  /** Highest cursor time seen (ISO). */
  watermark: string | null;
  /** Ids of the items exactly at the watermark: `since` is inclusive, so they come back and must not be rewritten. */
  boundaryIds: string[];
  /** The first page's URL and ETag: a 304 on the same URL means nothing changed (and costs no quota). */
  etagUrl: string | null;
  etag: string | null;
  /** Stargazers: the page where new stars will appear (the first page that was not full). */
  resumeUrl: string | null;
}

export interface ListingPlan {
  /** The same URL in every run, so its ETag says whether anything changed (a 304 costs no quota). */
  firstUrl: string;
  /** When the first page did change, read from here instead (commits: GitHub's `since` filter, exact by date). */
  thenUrl: string | null;
  /** Items older than this end the listing (newest-first listings). */
  stopBefore: string | null;
  /** Items at or before this are not new (kept out of the lake unless not in boundaryIds at equal time). */
  after: string | null;
  boundaryIds: string[];
}

/** Workflow runs change after they are created (queued → completed): look this far behind the watermark again. */
const RUNS_LOOKBACK_MS = 24 * 3600_000;

/** The time an item is ordered and filtered by, per resource (null: the resource has no cursor). */
export function cursorTime(resource: ResourceName, item: unknown): string | null {
  const o = item as Record<string, unknown> | null;
  if (!o || typeof o !== "object") return null;
  const s = (v: unknown) => (typeof v === "string" ? v : null);
  switch (resource) {
    case "issues":
    case "pull_requests":
      return s(o.updated_at);
    case "commits": {
      const commit = o.commit as { committer?: { date?: unknown } } | undefined;
      return s(commit?.committer?.date);
    }
    case "workflow_runs":
      return s(o.updated_at); // runs change after creation (queued → completed): what changed is what is new
    case "releases":
    case "reactions":
      return s(o.created_at);
    case "stargazers":
      return s(o.starred_at);
    default:
      return null;
  }
}

/** The time a newest-first listing is ordered by (where `stopBefore` applies). */
export function orderTime(resource: ResourceName, item: unknown): string | null {
  const o = item as Record<string, unknown> | null;
  if (!o || typeof o !== "object") return null;
  if (resource === "workflow_runs" || resource === "releases") return typeof o.created_at === "string" ? o.created_at : null;
  return cursorTime(resource, item);
}

/** The identity used for boundary ids. */
export function itemId(resource: ResourceName, item: unknown): string | null {
  const o = item as Record<string, unknown> | null;
  if (!o || typeof o !== "object") return null;
  if (resource === "commits") return typeof o.sha === "string" ? o.sha : null;
  if (resource === "stargazers") {
    const user = o.user as { id?: unknown } | undefined;
    return user?.id !== undefined ? String(user.id) : null;
  }
  return o.id !== undefined ? String(o.id) : null;
}

export function planListing(resource: ResourceName, repo: RepoRef, state: ResourceState | null): ListingPlan {
  const spec = RESOURCE_SPECS[resource];
  const full = spec.firstPage(repo);
  const w = state?.watermark ?? null;
  const boundaryIds = state?.boundaryIds ?? [];
  const plan = (firstUrl: string, stopBefore: string | null, after: string | null, thenUrl: string | null = null): ListingPlan =>
    ({ firstUrl, thenUrl, stopBefore, after, boundaryIds });
  if (!w) return plan(full, null, null);
  switch (resource) {
    case "commits":
      // Newest first, but dates are not monotonic (merges bring older commits in): past an unchanged first page,
      // GitHub's `since` filter is the exact way to get every commit after the watermark.
      return plan(full, null, w, `${full}&since=${encodeURIComponent(w)}`);
    case "issues":
    case "pull_requests":
    case "releases":
      return plan(full, w, w);
    case "workflow_runs":
      // Listed by creation, newest first; a run created within the lookback may have changed since: keep reading
      // until creation passes it, and keep those updated after the watermark.
      return plan(full, new Date(Date.parse(w) - RUNS_LOOKBACK_MS).toISOString(), w);
    case "stargazers":
      return plan(state?.resumeUrl ?? full, null, w);
    default:
      return plan(full, null, null);
  }
}

/** Whether an item is new relative to the plan: after the watermark, or at it but not seen there before. */
export function isNew(plan: ListingPlan, time: string | null, id: string | null): boolean {
  if (!plan.after || !time) return true;
  const t = Date.parse(time);
  const a = Date.parse(plan.after);
  if (t > a) return true;
  if (t < a) return false;
  return id === null || !plan.boundaryIds.includes(id);
}

/** The page after `url` for page-numbered listings (stargazers), to find where new stars will go. */
export function nextPageUrl(url: string): string {
  const u = new URL(url);
  const page = Number(u.searchParams.get("page") ?? "1");
  u.searchParams.set("page", String((Number.isFinite(page) ? page : 1) + 1));
  return u.toString();
}
