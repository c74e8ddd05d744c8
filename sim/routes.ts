// The REST endpoints: request → status + JSON text (+ Link). Pure functions of the world and the request;
// no limits, faults or caching here (sim/simulator.ts does those).

import type { Item, Repo, World } from "./model";
import { DOCS, errorBody, lastPageOf, linkHeader, parsePaging } from "./http";
import {
  commitJson,
  fullName,
  issueJson,
  pullJson,
  reactionJson,
  releaseJson,
  repoJson,
  runJson,
  stargazerJson,
  viewerJson,
} from "./shapes";

export interface RouteRequest {
  method: string;
  url: URL;
  /** Origin the request came in on: base of every URL in bodies and links. */
  api: string;
  accept: string;
  /** The authenticated user, or an App installation (installation tokens see what the installation was granted). */
  viewer: { login: string; id: number; installationId?: number; granted?: ReadonlySet<string> };
}

export interface RouteResult {
  status: number;
  body: string;
  link?: string | null;
  /** x-github-media-type value. */
  mediaType?: string;
}

export interface RouteConfig {
  stargazerPageCap: number;
  actionsFilterCap: number;
}

const NOT_FOUND: RouteResult = { status: 404, body: errorBody("Not Found", DOCS.rest, 404) };

function ok(body: unknown, link?: string | null, mediaType?: string): RouteResult {
  return { status: 200, body: JSON.stringify(body), link: link ?? null, mediaType };
}

/** Slice one page out of a full list and build its Link header. */
function paginate<T>(rows: readonly T[], req: RouteRequest, linkBase: string, totalForLinks = rows.length) {
  const { page, perPage } = parsePaging(req.url.searchParams);
  const start = (page - 1) * perPage;
  const slice = rows.slice(start, start + perPage);
  const link = linkHeader(`${req.api}${linkBase}`, req.url.search, page, lastPageOf(totalForLinks, perPage));
  return { slice, link, page, perPage };
}

function parseTime(v: string | null): number | null {
  if (v === null || v === "") return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

export class Router {
  private byName = new Map<string, Repo>();
  private byId = new Map<number, Repo>();

  constructor(
    private readonly world: World,
    private readonly config: () => RouteConfig,
  ) {
    this.reindex();
  }

  /** Rebuild the lookup maps (after a mutation deleted repositories). */
  reindex(): void {
    this.byName.clear();
    this.byId.clear();
    for (const r of this.world.repos) {
      if (r.deleted) continue;
      this.byName.set(fullName(r).toLowerCase(), r);
      this.byId.set(r.id, r);
    }
  }

  route(req: RouteRequest): RouteResult {
    if (req.method !== "GET" && req.method !== "HEAD") return NOT_FOUND;
    let parts: string[];
    try {
      parts = req.url.pathname.split("/").slice(1).map((p) => decodeURIComponent(p));
    } catch {
      return NOT_FOUND; // malformed %-escape
    }
    const [a, b, c] = parts;
    const integration = req.viewer.installationId !== undefined;
    if (a === "installation" && b === "repositories" && parts.length === 2) {
      if (!integration) return { status: 403, body: errorBody("You must authenticate with an installation access token in order to list repositories for an installation.", DOCS.rest, 403) };
      return this.installationRepos(req);
    }
    if (integration && a === "user") return { status: 403, body: errorBody("Resource not accessible by integration", DOCS.rest, 403) };
    if (a === "user" && parts.length === 1) return ok(viewerJson(this.world, req.viewer.login, req.viewer.id, req.api));
    if (a === "user" && b === "repos" && parts.length === 2) return this.userRepos(req);
    let repo: Repo | undefined;
    let rest: string[];
    if (a === "repos" && b !== undefined && c !== undefined) {
      repo = this.byName.get(`${b}/${c}`.toLowerCase());
      rest = parts.slice(3);
    } else if (a === "repositories" && b !== undefined && /^\d+$/.test(b)) {
      repo = this.byId.get(Number(b));
      rest = parts.slice(2);
    } else {
      return NOT_FOUND;
    }
    // A vanished repository is still listed by /user/repos but is gone everywhere else.
    if (!repo || repo.kind === "vanished") return NOT_FOUND;
    if (repo.private && !this.grants(req, repo)) return NOT_FOUND;
    return this.repoRoute(req, repo, rest);
  }

  private repoRoute(req: RouteRequest, repo: Repo, rest: string[]): RouteResult {
    const [r0, r1, r2] = rest;
    const base = `/repositories/${repo.id}`;
    switch (rest.length) {
      case 0:
        return ok(repoJson(repo, req.api));
      case 1:
        if (r0 === "issues") return this.issues(req, repo, base);
        if (r0 === "pulls") return this.pulls(req, repo, base);
        if (r0 === "commits") return this.commits(req, repo, base);
        if (r0 === "stargazers") return this.stargazers(req, repo, base);
        if (r0 === "releases") return this.releases(req, repo, base);
        return NOT_FOUND;
      case 2: {
        if (r0 === "actions" && r1 === "runs") return this.runs(req, repo, base);
        const item = r1 !== undefined && /^\d+$/.test(r1) ? repo.items[Number(r1) - 1] : undefined;
        if (!item) return NOT_FOUND;
        if (r0 === "issues") return ok(issueJson(repo, item, req.api));
        if (r0 === "pulls" && item.pull) return ok(pullJson(repo, item, req.api));
        return NOT_FOUND;
      }
      case 3: {
        if (r0 !== "issues" || r2 !== "reactions" || r1 === undefined || !/^\d+$/.test(r1)) return NOT_FOUND;
        const item = repo.items[Number(r1) - 1];
        return item ? this.reactions(req, repo, item, `${base}/issues/${item.number}/reactions`) : NOT_FOUND;
      }
      default:
        return NOT_FOUND;
    }
  }

  /** GET /user/repos: affiliation/visibility or type, sort (default full_name asc), since/before. */
  private userRepos(req: RouteRequest): RouteResult {
    const q = req.url.searchParams;
    const type = q.get("type");
    if (type !== null && (q.has("visibility") || q.has("affiliation"))) {
      return { status: 422, body: errorBody("If you specify visibility or affiliation, you cannot specify type.", DOCS.userRepos, 422) };
    }
    const affiliations = new Set((q.get("affiliation") ?? "owner,collaborator,organization_member").split(",").map((s) => s.trim()));
    const visibility = q.get("visibility") ?? "all";
    const since = parseTime(q.get("since"));
    const before = parseTime(q.get("before"));
    let rows = this.world.repos.filter((r) => !r.deleted);
    if (type !== null) {
      rows = rows.filter((r) =>
        type === "owner" ? r.affiliation === "owner"
        : type === "public" ? !r.private
        : type === "private" ? r.private
        : type === "member" ? r.affiliation !== "owner"
        : true,
      );
    } else {
      rows = rows.filter((r) => affiliations.has(r.affiliation));
      if (visibility === "public") rows = rows.filter((r) => !r.private);
      if (visibility === "private") rows = rows.filter((r) => r.private);
    }
    if (since !== null) rows = rows.filter((r) => r.updated_at >= since);
    if (before !== null) rows = rows.filter((r) => r.updated_at < before);
    const sort = q.get("sort") ?? "full_name";
    const dir = q.get("direction") ?? (sort === "full_name" ? "asc" : "desc");
    const key = (r: Repo): number | string =>
      sort === "created" ? r.created_at : sort === "updated" ? r.updated_at : sort === "pushed" ? r.pushed_at : fullName(r).toLowerCase();
    rows = rows.slice().sort((x, y) => {
      const kx = key(x);
      const ky = key(y);
      const c = kx < ky ? -1 : kx > ky ? 1 : x.id - y.id;
      return dir === "asc" ? c : -c;
    });
    const { slice, link } = paginate(rows, req, "/user/repos");
    return ok(slice.map((r) => repoJson(r, req.api)), link);
  }

  /** GET /installation/repositories: the repositories the installation was granted, by full name. An object, not an
   *  array: `{ total_count, repository_selection, repositories }`, paged with Link headers like every listing.
   *  https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-app-installation */
  private installationRepos(req: RouteRequest): RouteResult {
    const rows = this.world.repos.filter((r) => !r.deleted && this.grants(req, r)).sort((x, y) => fullName(x).toLowerCase().localeCompare(fullName(y).toLowerCase()) || x.id - y.id);
    const { slice, link } = paginate(rows, req, "/installation/repositories");
    const selection = req.viewer.granted ? "selected" : "all";
    return ok({ total_count: rows.length, repository_selection: selection, repositories: slice.map((r) => repoJson(r, req.api)) }, link);
  }

  /** Whether the viewer may see the repository: users see every one; an installation, those it was granted. */
  private grants(req: RouteRequest, repo: Repo): boolean {
    return !req.viewer.granted || req.viewer.granted.has(fullName(repo).toLowerCase());
  }

  /** Issues and PRs; default state=open, sort=created, direction=desc. */
  private issues(req: RouteRequest, repo: Repo, base: string): RouteResult {
    const q = req.url.searchParams;
    const state = q.get("state") ?? "open";
    const since = parseTime(q.get("since"));
    const labels = q.get("labels")?.split(",").map((s) => s.trim()).filter(Boolean) ?? [];
    const creator = q.get("creator");
    const assignee = q.get("assignee");
    const milestone = q.get("milestone");
    let rows = repo.items.filter((i) => (state === "all" ? true : state === "closed" ? i.state === "closed" : i.state === "open"));
    if (since !== null) rows = rows.filter((i) => i.updated_at >= since);
    if (labels.length > 0) rows = rows.filter((i) => labels.every((l) => i.labels.some((x) => x.name.toLowerCase() === l.toLowerCase())));
    if (creator) rows = rows.filter((i) => i.user.login.toLowerCase() === creator.toLowerCase());
    if (assignee === "none") rows = rows.filter((i) => i.assignees.length === 0);
    else if (assignee === "*") rows = rows.filter((i) => i.assignees.length > 0);
    else if (assignee) rows = rows.filter((i) => i.assignees.some((a) => a.login.toLowerCase() === assignee.toLowerCase()));
    if (milestone === "none") rows = rows.filter((i) => i.milestone === null);
    else if (milestone === "*") rows = rows.filter((i) => i.milestone !== null);
    else if (milestone) rows = rows.filter((i) => String(i.milestone?.number) === milestone);
    const sort = q.get("sort") ?? "created";
    const dir = q.get("direction") ?? "desc";
    rows = sortItems(rows, sort === "updated" ? (i) => i.updated_at : sort === "comments" ? (i) => i.comments : (i) => i.created_at, dir);
    const { slice, link } = paginate(rows, req, `${base}/issues`);
    return ok(slice.map((i) => issueJson(repo, i, req.api)), link);
  }

  /** Pull requests; default state=open, sort=created; direction defaults to desc for created, else asc. */
  private pulls(req: RouteRequest, repo: Repo, base: string): RouteResult {
    const q = req.url.searchParams;
    const state = q.get("state") ?? "open";
    const head = q.get("head");
    const baseRef = q.get("base");
    let rows = repo.items.filter((i) => i.pull !== null && (state === "all" || i.state === (state === "closed" ? "closed" : "open")));
    if (head) rows = rows.filter((i) => `${i.user.login}:${i.pull!.head_ref}` === head || i.pull!.head_ref === head.split(":").pop());
    if (baseRef) rows = rows.filter((i) => i.pull!.base_ref === baseRef);
    const sort = q.get("sort") ?? "created";
    const dir = q.get("direction") ?? (sort === "created" ? "desc" : "asc");
    const key =
      sort === "updated" ? (i: Item) => i.updated_at
      : sort === "popularity" ? (i: Item) => i.comments
      : sort === "long-running" ? (i: Item) => (i.closed_at ?? i.updated_at) - i.created_at
      : (i: Item) => i.created_at;
    rows = sortItems(rows, key, dir);
    const { slice, link } = paginate(rows, req, `${base}/pulls`);
    return ok(slice.map((i) => pullJson(repo, i, req.api)), link);
  }

  /** Default-branch history, newest first; an empty repository answers 409. */
  private commits(req: RouteRequest, repo: Repo, base: string): RouteResult {
    if (repo.commits.length === 0) {
      return { status: 409, body: errorBody("Git Repository is empty.", DOCS.listCommits, 409) };
    }
    const q = req.url.searchParams;
    let top = repo.commits.length - 1;
    const sha = q.get("sha");
    if (sha && sha !== repo.default_branch && sha !== "HEAD") {
      const idx = sha.length >= 7 ? repo.commits.findIndex((c) => c.sha.startsWith(sha.toLowerCase())) : -1;
      if (idx < 0) return { status: 404, body: errorBody(`No commit found for SHA: ${sha}`, DOCS.listCommits, 404) };
      top = idx;
    }
    const since = parseTime(q.get("since"));
    const until = parseTime(q.get("until"));
    const author = q.get("author")?.toLowerCase();
    const committer = q.get("committer")?.toLowerCase();
    const rows = [];
    for (let i = top; i >= 0; i--) {
      const c = repo.commits[i]!;
      if (since !== null && c.committer_date < since) continue;
      if (until !== null && c.committer_date > until) continue;
      if (author && c.author?.login.toLowerCase() !== author && c.author_email.toLowerCase() !== author) continue;
      if (committer && c.committer?.login.toLowerCase() !== committer && c.committer_email.toLowerCase() !== committer) continue;
      rows.push(c);
    }
    const { slice, link } = paginate(rows, req, `${base}/commits`);
    return ok(slice.map((c) => commitJson(repo, c, req.api)), link);
  }

  /**
   * Oldest star first. Since 2026 only admins and collaborators may list them (403, not a rate limit);
   * pages past the cap answer 422 and the last link stops at the cap.
   */
  private stargazers(req: RouteRequest, repo: Repo, base: string): RouteResult {
    if (!repo.permissions.push) {
      return { status: 403, body: errorBody("You do not have permission to view the stargazers of this repository", DOCS.listStargazers, 403) };
    }
    const cap = this.config().stargazerPageCap;
    const { page, perPage } = parsePaging(req.url.searchParams);
    if (page > cap) {
      return {
        status: 422,
        body: errorBody(
          "In order to keep the API fast for everyone, pagination is limited for this resource. Check the rel=last link relation in the Link response header to see how far back you can traverse.",
          DOCS.pagination,
          422,
        ),
      };
    }
    const starMedia = req.accept.toLowerCase().includes("application/vnd.github.star+json");
    const { slice, link } = paginate(repo.stars, req, `${base}/stargazers`, Math.min(repo.stars.length, cap * perPage));
    return ok(
      slice.map((s) => stargazerJson(s, req.api, starMedia)),
      link,
      starMedia ? "github.v3; param=star; format=json" : undefined,
    );
  }

  /** Newest first; drafts only for users with push access. */
  private releases(req: RouteRequest, repo: Repo, base: string): RouteResult {
    const rows = repo.releases.filter((r) => repo.permissions.push || !r.draft).slice().sort((x, y) => y.created_at - x.created_at || y.id - x.id);
    const { slice, link } = paginate(rows, req, `${base}/releases`);
    return ok(slice.map((r) => releaseJson(repo, r, req.api)), link);
  }

  /** `{total_count, workflow_runs}`, newest first; with a filter parameter at most `actionsFilterCap` results. */
  private runs(req: RouteRequest, repo: Repo, base: string): RouteResult {
    const q = req.url.searchParams;
    const status = q.get("status");
    const branch = q.get("branch");
    const event = q.get("event");
    const actor = q.get("actor");
    const headSha = q.get("head_sha");
    const checkSuite = q.get("check_suite_id");
    const created = q.get("created");
    const filtered = [status, branch, event, actor, headSha, checkSuite, created].some((v) => v !== null);
    const range = created !== null ? parseCreatedRange(created) : null;
    const rows = [];
    for (let i = repo.runs.length - 1; i >= 0; i--) {
      const r = repo.runs[i]!;
      if (status !== null && r.status !== status && r.conclusion !== status) continue;
      if (branch !== null && r.head_branch !== branch) continue;
      if (event !== null && r.event !== event) continue;
      if (actor !== null && r.actor.login.toLowerCase() !== actor.toLowerCase()) continue;
      if (headSha !== null && r.head_sha !== headSha) continue;
      if (checkSuite !== null && String(r.check_suite_id) !== checkSuite) continue;
      if (range && !(r.created_at >= range[0] && r.created_at < range[1])) continue;
      rows.push(r);
    }
    const visible = filtered ? rows.slice(0, this.config().actionsFilterCap) : rows;
    const { slice, link } = paginate(visible, req, `${base}/actions/runs`);
    const bySha = new Map(repo.commits.map((c) => [c.sha, c]));
    return ok({ total_count: rows.length, workflow_runs: slice.map((r) => runJson(repo, r, bySha.get(r.head_sha), req.api)) }, link);
  }

  /** Reactions of one issue/PR, oldest first; `content` filters. */
  private reactions(req: RouteRequest, repo: Repo, item: Item, linkBase: string): RouteResult {
    const content = req.url.searchParams.get("content");
    const rows = content ? item.reactions.filter((r) => r.content === content) : item.reactions;
    const { slice, link } = paginate(rows, req, linkBase);
    return ok(slice.map((r) => reactionJson(r, req.api)), link);
  }
}

function sortItems(rows: Item[], key: (i: Item) => number, dir: string): Item[] {
  const sign = dir === "asc" ? 1 : -1;
  return rows.slice().sort((x, y) => sign * (key(x) - key(y) || x.number - y.number));
}

/**
 * GitHub's `created` qualifier: `2024-01-01`, `>=2024-01-01`, `<2024-02-01`, `2024-01-01..2024-01-31`,
 * `2024-01-01..*`. Returns a half-open [from, to) range in ms; unparseable input matches nothing.
 */
export function parseCreatedRange(v: string): [number, number] {
  const day = (s: string, end: boolean): number => {
    if (s === "*") return end ? Infinity : -Infinity;
    const t = Date.parse(s);
    if (Number.isNaN(t)) return NaN;
    if (!end) return t;
    // Upper bounds are inclusive: a bare date covers its whole day, a timestamp its whole second.
    return /^\d{4}-\d{2}-\d{2}$/.test(s) ? t + 86_400_000 : t + 1000;
  };
  const m = /^(>=|<=|>|<)?(.+)$/.exec(v.trim());
  if (!m) return [NaN, NaN];
  const op = m[1];
  const val = m[2] ?? "";
  if (val.includes("..")) {
    const [from, to] = val.split("..");
    return [day(from ?? "*", false), day(to ?? "*", true)];
  }
  if (op === ">=") return [day(val, false), Infinity];
  if (op === ">") return [day(val, true), Infinity];
  if (op === "<") return [-Infinity, day(val, false)];
  if (op === "<=") return [-Infinity, day(val, true)];
  return [day(val, false), day(val, true)];
}
