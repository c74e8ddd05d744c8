// Helpers for tests that talk to a simulator (in-process or over HTTP): Link parsing, page walking and a
// reference extraction that lands the same structure as SimTruth. Web-standard APIs only.

import type { CoverageState, ResourceName, SimTruth } from "./types";
import { RESOURCES } from "./types";

export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

/** fetch bound to an in-process simulator. */
export function fetchVia(sim: { handle(req: Request): Promise<Response> }): FetchFn {
  return (input, init) => sim.handle(new Request(input, init));
}

/** `<url>; rel="next", <url>; rel="last"` → { next: url, last: url }. */
export function parseLink(header: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(/,\s*(?=<)/)) {
    const m = /^<([^>]+)>;\s*rel="([^"]+)"$/.exec(part.trim());
    if (m) out[m[2]!] = m[1]!;
  }
  return out;
}

export interface Walk<T> {
  status: number;
  rows: T[];
  pages: number;
  /** Status and body of the first non-200 answer, if any. */
  error?: { status: number; body: unknown };
}

/** Follow rel="next" from `url`; `pick` extracts the rows of one page (default: the array itself). */
export async function walkPages<T = Record<string, unknown>>(
  fetchFn: FetchFn,
  url: string,
  headers: Record<string, string>,
  pick: (body: unknown) => T[] = (b) => b as T[],
): Promise<Walk<T>> {
  const rows: T[] = [];
  let next: string | undefined = url;
  let pages = 0;
  while (next) {
    const res = await fetchFn(next, { headers });
    pages++;
    if (res.status !== 200) {
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // HTML or text body
      }
      return { status: res.status, rows, pages, error: { status: res.status, body } };
    }
    rows.push(...pick(await res.json()));
    next = parseLink(res.headers.get("link")).next;
  }
  return { status: 200, rows, pages };
}

export interface Extraction {
  truth: SimTruth;
  requests: number;
}

type Row = Record<string, unknown>;

/**
 * A straightforward complete extraction, as DESIGN.md describes it (per_page=100, reactions only for
 * items whose rollup total_count > 0). Lands the SimTruth structure so tests can compare it with truth().
 */
export async function extractAll(fetchFn: FetchFn, origin: string, token: string): Promise<Extraction> {
  const headers = {
    authorization: `Bearer ${token}`,
    "user-agent": "github-lake-testkit",
    accept: "application/vnd.github+json",
    "x-github-api-version": "2022-11-28",
  };
  let requests = 0;
  const walk = async <T = Row>(url: string, extra: Record<string, string> = {}, pick?: (b: unknown) => T[]) => {
    const w = await walkPages<T>(fetchFn, url, { ...headers, ...extra }, pick);
    requests += w.pages;
    return w;
  };
  const truth: SimTruth = {
    repositories: [],
    tables: { issues: {}, pull_requests: {}, commits: {}, stargazers: {}, releases: {}, workflow_runs: {}, reactions: {} },
    coverage: {},
  };
  const repos = await walk(`${origin}/user/repos?affiliation=owner,collaborator,organization_member&per_page=100`);
  if (repos.status !== 200) throw new Error(`/user/repos answered ${repos.status}`);
  const stateOf = (w: Walk<unknown>): CoverageState | null =>
    w.status === 200 ? "complete" : w.status === 404 ? "not_found" : w.status === 409 ? "empty" : w.status === 403 ? "restricted" : null;

  for (const repo of repos.rows) {
    const fn = String(repo.full_name);
    truth.repositories.push({ id: Number(repo.id), full_name: fn });
    const base = `${origin}/repos/${fn}`;
    const cov = {} as Record<ResourceName, CoverageState>;
    const t = truth.tables;
    const land = <T>(resource: ResourceName, w: Walk<T>, ids: (rows: T[]) => Array<number | string>) => {
      const s = stateOf(w as Walk<unknown>);
      if (s === null) throw new Error(`${fn} ${resource}: unexpected ${w.status}`);
      cov[resource] = s;
      if (s !== "not_found") (t[resource] as Record<string, Array<number | string>>)[fn] = s === "complete" ? ids(w.rows) : [];
    };

    const issues = await walk(`${base}/issues?state=all&per_page=100`);
    land("issues", issues, (rows) => rows.filter((r) => !("pull_request" in r)).map((r) => Number(r.id)));
    land("pull_requests", await walk(`${base}/pulls?state=all&per_page=100`), (rows) => rows.map((r) => Number(r.id)));
    land("commits", await walk(`${base}/commits?per_page=100`), (rows) => rows.map((r) => String(r.sha)));
    land(
      "stargazers",
      await walk(`${base}/stargazers?per_page=100`, { accept: "application/vnd.github.star+json" }),
      (rows) => rows.map((r) => Number((r.user as Row).id)),
    );
    land("releases", await walk(`${base}/releases?per_page=100`), (rows) => rows.map((r) => Number(r.id)));
    land(
      "workflow_runs",
      await walk<Row>(`${base}/actions/runs?per_page=100`, {}, (b) => (b as { workflow_runs: Row[] }).workflow_runs),
      (rows) => rows.map((r) => Number(r.id)),
    );
    if (issues.status === 200) {
      const ids: number[] = [];
      for (const item of issues.rows) {
        if (Number((item.reactions as Row).total_count) === 0) continue;
        const w = await walk(`${base}/issues/${String(item.number)}/reactions?per_page=100`);
        if (w.status !== 200) throw new Error(`${fn} reactions #${String(item.number)}: ${w.status}`);
        ids.push(...w.rows.map((r) => Number(r.id)));
      }
      t.reactions[fn] = ids;
      cov.reactions = "complete";
    } else {
      cov.reactions = "not_found";
    }
    truth.coverage[fn] = Object.fromEntries(RESOURCES.map((r) => [r, cov[r]])) as Record<ResourceName, CoverageState>;
  }
  return { truth, requests };
}

/** Truth with every id list sorted, for order-insensitive comparison. */
export function normalizeTruth(t: SimTruth): SimTruth {
  const sortRec = <V extends number | string>(rec: Record<string, V[]>) =>
    Object.fromEntries(
      Object.keys(rec)
        .sort()
        .map((k) => [k, [...rec[k]!].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))]),
    ) as Record<string, V[]>;
  return {
    repositories: [...t.repositories].sort((a, b) => a.id - b.id),
    tables: {
      issues: sortRec(t.tables.issues),
      pull_requests: sortRec(t.tables.pull_requests),
      commits: sortRec(t.tables.commits),
      stargazers: sortRec(t.tables.stargazers),
      releases: sortRec(t.tables.releases),
      workflow_runs: sortRec(t.tables.workflow_runs),
      reactions: sortRec(t.tables.reactions),
    },
    coverage: Object.fromEntries(Object.keys(t.coverage).sort().map((k) => [k, t.coverage[k]!])),
  };
}
