/** Runs one FetchJob. Responsibilities: fetch up to `PAGES_PER_PART` pages of one repository × resource (or one
 *  discovery step), map them to lake rows, write each page as its own Parquet part and report it to the RunCoordinator
 *  before fetching the next — so a consumer that dies mid-resource costs at most the page it was on, and memory stays
 *  bounded whatever the repository's size. Incremental runs send `If-None-Match`, use `since`, stop at the watermark
 *  and keep rows that are not new out of the lake. */
import { readConfig } from "../config";
import { partKey } from "../lake/keys";
import type { Row } from "../lake/schemas";
import { writeTable } from "../lake/writer";
import { GitHubClient, type ClientStats, type Fetcher, type GitHubPage } from "./client";
import { GitHubError, RateLimitWait, isRestrictedStargazers } from "./errors";
import { cursorTime, isNew, itemId, nextPageUrl, orderTime, planListing } from "./incremental";
import type { FetchJob, JobEnd, PartReport, RepoMeta } from "./jobs";
import { clientFor } from "./pool";
import { INSTALLATION_REPOS_PAGE, RESOURCE_SPECS, reactedIssueNumbers, repoRefFromItem, type RowContext } from "./resources";

export interface JobDeps {
  fetcher?: Fetcher;
  sleep?: (ms: number) => Promise<void>;
}

export type Reporter = (report: PartReport) => Promise<void>;

/** Runs the job, reporting each part as soon as it is written. Returns how the job ends for the queue. */
export async function runJob(job: FetchJob, env: Env, deps: JobDeps, report: Reporter): Promise<JobEnd> {
  const cfg = readConfig(env);
  const client = await clientFor(env, deps, job); // the credential pool: a permit from the bucket with the most headroom
  const ctx = new PartWriter(job, env, client, report);
  try {
    if (job.resource === "repositories") {
      if (job.repos) await resolveRepos(ctx);
      else await listRepos(ctx, cfg.pagesPerPart);
    } else if (job.resource === "reactions") await fetchReactions(ctx);
    else await fetchListing(ctx, cfg.pagesPerPart);
    return { kind: "done" };
  } catch (err) {
    // A long rate-limit wait: hand the rest back, from the part not yet reported, without losing what was.
    if (err instanceof RateLimitWait) return { kind: "defer", job: { ...job, part: ctx.part, url: ctx.url }, untilMs: err.untilMs };
    throw err;
  } finally {
    await client.settle(); // permits returned in the background reach their bucket before the job ends
  }
}

/** Writes and reports parts in order, tracking where the job stands (the part and URL not yet reported). */
class PartWriter {
  part: number;
  url: string | null;
  #stats: ClientStats;
  readonly extractedAt = new Date().toISOString();

  constructor(readonly job: FetchJob, readonly env: Env, readonly client: GitHubClient, readonly report: Reporter) {
    this.part = job.part;
    this.url = job.url;
    this.#stats = { ...client.stats };
  }

  /** Writes the part's rows (if any, and if this task writes) and reports it; the next part starts at `next`. */
  async emit(rows: Row[], fields: Partial<PartReport> & Pick<PartReport, "next" | "handoff" | "outcome" | "pages">): Promise<void> {
    const job = this.job;
    let key: string | null = null;
    let bytes = 0;
    if (job.write && rows.length > 0) {
      // Discovery parts of several installations must not overwrite each other: each names its installation.
      const owner = job.repo?.owner ?? (job.repos ? "selected" : job.installation !== undefined ? "installation" : "user");
      const repo = job.repo?.name ?? (job.installation !== undefined && !job.repos ? String(job.installation) : "repos");
      key = partKey({ resource: job.resource, runId: job.runId, runStartedAt: job.startedAt, owner, repo, part: this.part });
      bytes = (await writeTable(this.env.LAKE, key, job.resource, rows)).bytes;
    }
    const s = this.client.stats;
    await this.report({
      runId: job.runId,
      taskId: job.taskId,
      part: this.part,
      key,
      rows: key ? rows.length : 0,
      bytes,
      requests: s.requests - this.#stats.requests,
      notModified: s.notModified - this.#stats.notModified,
      retries: s.retries - this.#stats.retries,
      rateLimitWaits: s.rateLimitWaits - this.#stats.rateLimitWaits,
      quota: this.client.lastQuota,
      ...fields,
    });
    this.#stats = { ...s };
    this.part++;
    this.url = fields.next?.url ?? null;
  }

  rowContext(issueNumber?: number): RowContext {
    return { runId: this.job.runId, extractedAt: this.extractedAt, repo: this.job.repo!, issueNumber };
  }
}

/** A repository's listing, one part per page, from the job's URL (or the plan's first page). */
async function fetchListing(w: PartWriter, maxPages: number): Promise<void> {
  const { job, client } = w;
  const spec = RESOURCE_SPECS[job.resource];
  const plan = planListing(job.resource, job.repo!, job.state ?? null);
  const firstUrl = client.resolve(plan.firstUrl);
  let url = w.url ?? firstUrl;
  let fetched = 0;
  let firstPage: { url: string; etag: string | null } | undefined;
  for (;;) {
    const isFirst = w.part === 0;
    const etag = isFirst && url === firstUrl && job.state?.etagUrl === url ? job.state.etag : null;
    let page: GitHubPage;
    try {
      page = await client.get(url, { accept: spec.accept, etag });
    } catch (err) {
      if (!(err instanceof GitHubError)) throw err;
      const ending = endingFor(job, err, w.part);
      if (!ending) throw err;
      await w.emit([], { pages: 0, outcome: ending, next: null, handoff: true });
      return;
    }
    fetched++;
    if (isFirst && page.status === 200 && plan.thenUrl && url === firstUrl) {
      // Something changed: read it through the exact filter instead (commits since the watermark).
      firstPage = { url, etag: page.etag };
      url = client.resolve(plan.thenUrl);
      continue;
    }
    if (page.status === 304) {
      // Nothing changed since the last successful run: the first page (or the stargazers' resume page) is the same.
      await w.emit([], { pages: 1, outcome: "complete", next: null, handoff: true, note: "unchanged (304)", firstPage: { url, etag: page.etag }, resumeUrl: job.state?.resumeUrl ?? null });
      return;
    }
    const items = spec.items(page.body);
    const rows: Row[] = [];
    const reacted: number[] = [];
    let maxSeen: string | null = null;
    let idsAtMax: string[] = [];
    let passedWatermark = false;
    for (const item of items) {
      const time = cursorTime(job.resource, item);
      const id = itemId(job.resource, item);
      if (time && (!maxSeen || Date.parse(time) > Date.parse(maxSeen))) {
        maxSeen = time;
        idsAtMax = [];
      }
      if (time && maxSeen && Date.parse(time) === Date.parse(maxSeen) && id) idsAtMax.push(id);
      const order = orderTime(job.resource, item);
      if (plan.stopBefore && order && Date.parse(order) < Date.parse(plan.stopBefore)) passedWatermark = true;
      if (!isNew(plan, time, id)) continue;
      const row = spec.toRow(item, w.rowContext());
      if (row) rows.push(row);
      if (job.resource === "issues") {
        const n = reactedIssueNumbers(item);
        if (n !== null) reacted.push(n);
      }
    }
    let next = passedWatermark ? null : page.next;
    let resumeUrl: string | null | undefined;
    if (job.resource === "stargazers" && !next) {
      // New stars append at the end: remember the first page that is not full. A full last page means the next
      // (empty) page is where they will go; fetch it once so its ETag is known and 304s are free next time.
      resumeUrl = items.length >= 100 ? nextPageUrl(url) : url;
      if (items.length >= 100) next = resumeUrl;
    }
    const handoff = next !== null && fetched >= maxPages;
    await w.emit(rows, {
      pages: 1,
      outcome: "complete",
      next: next ? { url: next } : null,
      handoff,
      reacted: job.resource === "issues" ? reacted : undefined,
      maxSeen,
      idsAtMax: idsAtMax.slice(0, 100),
      firstPage: isFirst ? firstPage ?? { url, etag: page.etag } : undefined,
      resumeUrl,
      totalPages: isFirst ? lastPageNumber(page) : undefined,
    });
    if (!next || handoff) return;
    url = next;
  }
}

function lastPageNumber(page: GitHubPage): number | null {
  if (!page.next) return 1;
  const last = page.last;
  if (!last) return null;
  const n = Number(new URL(last).searchParams.get("page"));
  return Number.isFinite(n) && n > 0 ? n : null;
}

/** Maps a GitHub refusal to the task's coverage, or null when it is a real failure. */
function endingFor(job: FetchJob, err: GitHubError, part: number): PartReport["outcome"] | null {
  if (err.status === 404) return "not_found"; // the repository vanished (deleted, renamed away, access lost)
  if (err.status === 409 && job.resource === "commits") return "empty"; // GitHub: "Git Repository is empty."
  if (job.resource === "stargazers" && isRestrictedStargazers(err.status, err.message)) return "restricted";
  // GitHub refuses to page past its caps (stargazers: 400 pages; filtered workflow runs: 1,000 results) with 422.
  if (err.status === 422 && part > 0 && (job.resource === "stargazers" || job.resource === "workflow_runs")) return "partial";
  return null;
}

function repoMeta(item: unknown, installation: number | undefined): RepoMeta {
  const ref = repoRefFromItem(item);
  const o = item as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  const meta: RepoMeta = { ...ref, pushedAt: str(o.pushed_at), updatedAt: str(o.updated_at), openIssues: num(o.open_issues_count), stars: num(o.stargazers_count) };
  if (installation !== undefined) meta.installation = installation;
  return meta;
}

/** Discovery: `/user/repos` (or an App installation's `/installation/repositories`), one part per page; each page's
 *  repositories fan out as tasks. A page answered 304 (ETag from an earlier run) lists what it listed then: the
 *  coordinator's page cache knows. */
async function listRepos(w: PartWriter, maxPages: number): Promise<void> {
  const { job, client } = w;
  const spec = RESOURCE_SPECS.repositories;
  let url = w.url ?? client.resolve(job.installation !== undefined ? INSTALLATION_REPOS_PAGE : spec.firstPage(null));
  let fetched = 0;
  for (;;) {
    const cached = job.pageCache?.[url];
    const page = await client.get(url, { etag: cached?.etag ?? null });
    fetched++;
    if (page.status === 304) {
      const next = cached?.next ?? null;
      const handoff = next !== null && fetched >= maxPages;
      await w.emit([], { pages: 1, outcome: "complete", next: next ? { url: next } : null, handoff, unchangedUrls: [url] });
      if (!next || handoff) return;
      url = next;
      continue;
    }
    const rows: Row[] = [];
    const repos: RepoMeta[] = [];
    for (const item of spec.items(page.body)) {
      const meta = repoMeta(item, job.installation);
      repos.push(meta);
      const row = spec.toRow(item, { runId: job.runId, extractedAt: w.extractedAt, repo: meta });
      if (row) rows.push(row);
    }
    const handoff = page.next !== null && fetched >= maxPages;
    await w.emit(rows, { pages: 1, outcome: "complete", next: page.next ? { url: page.next } : null, handoff, repos, cachePages: [{ url, etag: page.etag, next: page.next }] });
    if (!page.next || handoff) return;
    url = page.next;
  }
}

/** Discovery of an explicit list: one `GET /repos/{owner}/{repo}` each; 404s are reported, not fatal. */
async function resolveRepos(w: PartWriter): Promise<void> {
  const { job, client } = w;
  const spec = RESOURCE_SPECS.repositories;
  const out = { rows: [] as Row[], repos: [] as RepoMeta[], missing: [] as string[], unchanged: [] as string[], pages: 0 };
  const pages: Array<{ url: string; etag: string | null; next: null }> = [];
  for (const fullName of job.repos ?? []) {
    const [owner = "", name = ""] = fullName.split("/");
    const url = client.resolve(`/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`);
    let page: GitHubPage;
    try {
      page = await client.get(url, { etag: job.pageCache?.[url]?.etag ?? null });
    } catch (err) {
      if (err instanceof GitHubError && (err.status === 404 || err.status === 403 || err.status === 451)) {
        out.missing.push(fullName);
        continue;
      }
      throw err; // RateLimitWait included: this part is retried whole (at most 50 requests)
    }
    out.pages++;
    if (page.status === 304) {
      out.unchanged.push(url);
      continue;
    }
    const meta = repoMeta(page.body, job.installation);
    out.repos.push(meta);
    pages.push({ url, etag: page.etag, next: null });
    const row = spec.toRow(page.body, { runId: job.runId, extractedAt: w.extractedAt, repo: meta });
    if (row) out.rows.push(row);
  }
  await w.emit(out.rows, {
    pages: out.pages, outcome: "complete", next: null, handoff: true,
    repos: out.repos, missingRepos: out.missing, unchangedUrls: out.unchanged, cachePages: pages,
  });
}

/** Reactions of the job's issue/PR numbers, every page of each, as one part. Only reactions newer than the last
 *  successful run's are written. An issue deleted since it was listed is skipped and noted. */
async function fetchReactions(w: PartWriter): Promise<void> {
  const { job, client } = w;
  const spec = RESOURCE_SPECS.reactions;
  const repo = job.repo!;
  const plan = { firstUrl: "", thenUrl: null, stopBefore: null, after: job.state?.watermark ?? null, boundaryIds: job.state?.boundaryIds ?? [] };
  const rows: Row[] = [];
  const vanished: number[] = [];
  let pages = 0;
  let maxSeen: string | null = null;
  let idsAtMax: string[] = [];
  for (const issueNumber of job.issueNumbers ?? []) {
    let url: string | null = client.resolve(spec.firstPage(repo, { issueNumber }));
    while (url !== null) {
      let page: GitHubPage;
      try {
        page = await client.get(url, { accept: spec.accept });
      } catch (err) {
        if (err instanceof GitHubError && (err.status === 404 || err.status === 410)) {
          vanished.push(issueNumber);
          break;
        }
        throw err;
      }
      pages++;
      for (const item of spec.items(page.body)) {
        const time = cursorTime("reactions", item);
        const id = itemId("reactions", item);
        if (time && (!maxSeen || Date.parse(time) > Date.parse(maxSeen))) {
          maxSeen = time;
          idsAtMax = [];
        }
        if (time && maxSeen && Date.parse(time) === Date.parse(maxSeen) && id) idsAtMax.push(id);
        if (!isNew(plan, time, id)) continue;
        const row = spec.toRow(item, w.rowContext(issueNumber));
        if (row) rows.push(row);
      }
      url = page.next;
    }
  }
  await w.emit(rows, {
    pages, outcome: "complete", next: null, handoff: true, maxSeen, idsAtMax: idsAtMax.slice(0, 100),
    note: vanished.length > 0 ? `issues gone since listing: ${vanished.join(", ")}` : undefined,
  });
}

