/** Runs one FetchJob: fetches a bounded number of pages of one repository × resource (or one discovery step), maps
 *  them to lake rows, writes one Parquet part to R2 and returns the report for the RunCoordinator. Memory stays
 *  bounded whatever the repository's size: at most `PAGES_PER_PART` pages per job, the rest goes to a continuation. */
import { readConfig } from "../config";
import { partKey } from "../lake/keys";
import type { Row } from "../lake/schemas";
import { writeTable } from "../lake/writer";
import { GitHubClient, type Fetcher } from "./client";
import { GitHubError, RateLimitWait, isRestrictedStargazers } from "./errors";
import type { FetchJob, PartReport } from "./jobs";
import { bucketPermits } from "./permits";
import { RESOURCE_SPECS, reactedIssueNumbers, repoRefFromItem, type RepoRef, type RowContext } from "./resources";

export interface JobDeps {
  fetcher?: Fetcher;
  sleep?: (ms: number) => Promise<void>;
}

interface Collected {
  rows: Row[];
  pages: number;
  outcome: PartReport["outcome"];
  next: PartReport["next"];
  repos?: RepoRef[];
  missingRepos?: string[];
  reacted?: number[];
  note?: string;
}

export async function runJob(job: FetchJob, env: Env, deps: JobDeps = {}): Promise<PartReport> {
  const cfg = readConfig(env);
  const token = cfg.tokens[0];
  if (!token) throw new GitHubError(401, "/", "GITHUB_TOKEN is not configured");
  const client = new GitHubClient({ apiUrl: cfg.apiUrl, token, permits: await bucketPermits(env, token), fetcher: deps.fetcher, sleep: deps.sleep });
  const extractedAt = new Date().toISOString();

  let collected: Collected;
  if (job.resource === "repositories") collected = await (job.repos ? resolveRepos(client, job, extractedAt) : listRepos(client, job, cfg.pagesPerPart, extractedAt));
  else if (job.resource === "reactions") collected = await fetchReactions(client, job, extractedAt);
  else collected = await fetchListing(client, job, cfg.pagesPerPart, extractedAt);

  let key: string | null = null;
  let bytes = 0;
  if (job.write && collected.rows.length > 0) {
    const owner = job.repo?.owner ?? (job.repos ? "selected" : "user");
    const repo = job.repo?.name ?? "repos";
    key = partKey({ resource: job.resource, runId: job.runId, runStartedAt: job.startedAt, owner, repo, part: job.part });
    bytes = (await writeTable(env.LAKE, key, job.resource, collected.rows)).bytes;
  }
  return {
    runId: job.runId,
    taskId: job.taskId,
    part: job.part,
    key,
    rows: job.write ? collected.rows.length : 0,
    bytes,
    requests: client.stats.requests,
    notModified: client.stats.notModified,
    pages: collected.pages,
    retries: client.stats.retries,
    rateLimitWaits: client.stats.rateLimitWaits,
    outcome: collected.outcome,
    next: collected.next,
    repos: collected.repos,
    missingRepos: collected.missingRepos,
    reacted: collected.reacted,
    note: collected.note,
  };
}

/** A repository's listing, page by page, from the job's URL. GitHub answers that end the task early map to coverage. */
async function fetchListing(client: GitHubClient, job: FetchJob, maxPages: number, extractedAt: string): Promise<Collected> {
  const spec = RESOURCE_SPECS[job.resource];
  const repo = job.repo!;
  const ctx: RowContext = { runId: job.runId, extractedAt, repo };
  const out: Collected = { rows: [], pages: 0, outcome: "complete", next: null, reacted: job.resource === "issues" ? [] : undefined };
  let url: string | null = job.url ?? spec.firstPage(repo);
  while (url !== null) {
    if (out.pages >= maxPages) return { ...out, next: { url } };
    let page;
    try {
      page = await client.get(url, { accept: spec.accept });
    } catch (err) {
      if (err instanceof RateLimitWait) return { ...out, next: { url, notBefore: err.untilMs } };
      if (!(err instanceof GitHubError)) throw err;
      const ending = endingFor(job, err, out.pages);
      if (!ending) throw err;
      return { ...out, rows: ending === "partial" ? out.rows : [], outcome: ending, next: null };
    }
    out.pages++;
    for (const item of spec.items(page.body)) {
      const row = spec.toRow(item, ctx);
      if (row) out.rows.push(row);
      if (out.reacted) {
        const n = reactedIssueNumbers(item);
        if (n !== null) out.reacted.push(n);
      }
    }
    url = page.next;
  }
  return out;
}

/** Maps a GitHub refusal to the task's coverage, or null when it is a real failure. */
function endingFor(job: FetchJob, err: GitHubError, pagesDone: number): PartReport["outcome"] | null {
  if (err.status === 404) return "not_found"; // the repository vanished (deleted, renamed away, access lost)
  if (err.status === 409 && job.resource === "commits") return "empty"; // GitHub: "Git Repository is empty."
  if (job.resource === "stargazers" && isRestrictedStargazers(err.status, err.message)) return "restricted";
  // GitHub refuses to page past its caps (stargazers: 400 pages) with 422: what we have is all GitHub will give.
  if (err.status === 422 && (pagesDone > 0 || job.part > 0) && (job.resource === "stargazers" || job.resource === "workflow_runs")) return "partial";
  return null;
}

/** Discovery: `/user/repos`, page by page; each page's repositories fan out as tasks. */
async function listRepos(client: GitHubClient, job: FetchJob, maxPages: number, extractedAt: string): Promise<Collected> {
  const spec = RESOURCE_SPECS.repositories;
  const out: Collected = { rows: [], pages: 0, outcome: "complete", next: null, repos: [] };
  let url: string | null = job.url ?? spec.firstPage(null);
  while (url !== null) {
    if (out.pages >= maxPages) return { ...out, next: { url } };
    let page;
    try {
      page = await client.get(url);
    } catch (err) {
      if (err instanceof RateLimitWait) return { ...out, next: { url, notBefore: err.untilMs } };
      throw err;
    }
    out.pages++;
    for (const item of spec.items(page.body)) {
      const repo = repoRefFromItem(item);
      out.repos!.push(repo);
      const row = spec.toRow(item, { runId: job.runId, extractedAt, repo });
      if (row) out.rows.push(row);
    }
    url = page.next;
  }
  return out;
}

/** Discovery of an explicit list: one `GET /repos/{owner}/{repo}` each; 404s are reported, not fatal. */
async function resolveRepos(client: GitHubClient, job: FetchJob, extractedAt: string): Promise<Collected> {
  const spec = RESOURCE_SPECS.repositories;
  const out: Collected = { rows: [], pages: 0, outcome: "complete", next: null, repos: [], missingRepos: [] };
  for (const fullName of job.repos ?? []) {
    const [owner = "", name = ""] = fullName.split("/");
    let page;
    try {
      page = await client.get(`/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`);
    } catch (err) {
      if (err instanceof GitHubError && (err.status === 404 || err.status === 403 || err.status === 451)) {
        out.missingRepos!.push(fullName);
        continue;
      }
      throw err; // RateLimitWait included: this part is retried whole (at most REPOS_PER_PART requests)
    }
    out.pages++;
    const repo = repoRefFromItem(page.body);
    out.repos!.push(repo);
    const row = spec.toRow(page.body, { runId: job.runId, extractedAt, repo });
    if (row) out.rows.push(row);
  }
  return out;
}

/** Reactions of the job's issue/PR numbers, every page of each. An issue deleted since it was listed is skipped. */
async function fetchReactions(client: GitHubClient, job: FetchJob, extractedAt: string): Promise<Collected> {
  const spec = RESOURCE_SPECS.reactions;
  const repo = job.repo!;
  const out: Collected = { rows: [], pages: 0, outcome: "complete", next: null };
  const vanished: number[] = [];
  for (const issueNumber of job.issueNumbers ?? []) {
    const ctx: RowContext = { runId: job.runId, extractedAt, repo, issueNumber };
    let url: string | null = spec.firstPage(repo, { issueNumber });
    while (url !== null) {
      let page;
      try {
        page = await client.get(url, { accept: spec.accept });
      } catch (err) {
        if (err instanceof GitHubError && (err.status === 404 || err.status === 410)) {
          vanished.push(issueNumber);
          break;
        }
        throw err;
      }
      out.pages++;
      for (const item of spec.items(page.body)) {
        const row = spec.toRow(item, ctx);
        if (row) out.rows.push(row);
      }
      url = page.next;
    }
  }
  if (vanished.length > 0) out.note = `issues gone since listing: ${vanished.join(", ")}`;
  return out;
}
