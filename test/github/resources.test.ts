import { describe, it } from "vitest";
import { RESOURCE_SPECS, reactedIssueNumbers, repoRefFromItem, type RowContext } from "../../src/github/resources";
import { RESOURCES, TABLES, type ResourceName, type Row } from "../../src/lake/schemas";
import { toParquet } from "../../src/lake/writer";
import commits from "../fixtures/github/commits.json";
import issues from "../fixtures/github/issues.json";
import pullRequests from "../fixtures/github/pull_requests.json";
import reactions from "../fixtures/github/reactions.json";
import releases from "../fixtures/github/releases.json";
import repositories from "../fixtures/github/repositories.json";
import stargazers from "../fixtures/github/stargazers.json";
import workflowRuns from "../fixtures/github/workflow_runs.json";

const FIXTURES: Record<ResourceName, unknown> = {
  repositories, issues, pull_requests: pullRequests, commits, stargazers, releases, workflow_runs: workflowRuns, reactions,
};
const ctx: RowContext = {
  runId: "20261204T020000Z-7f3a",
  extractedAt: "2026-12-04T02:13:14.567Z",
  repo: { owner: "octocat", name: "Hello-World", id: 1296269 },
  issueNumber: 1347,
};
const rowsOf = (resource: ResourceName, body: unknown = FIXTURES[resource]): Row[] => {
  const spec = RESOURCE_SPECS[resource];
  return spec.items(body).map((item) => spec.toRow(item, ctx)).filter((row): row is Row => row !== null);
};
const lineage = { _run_id: ctx.runId, _extracted_at: ctx.extractedAt, repository_owner: "octocat", repository_name: "Hello-World", repository_id: 1296269 };

describe("resource specs", () => {
  it("has one spec per lake table, named like it", ({ expect }) => {
    expect(Object.keys(RESOURCE_SPECS).sort()).toEqual([...RESOURCES].sort());
    for (const r of RESOURCES) expect(RESOURCE_SPECS[r].name).toBe(r);
  });

  it("maps every fixture to rows whose keys are exactly the table's columns, in order, and that the writer accepts", async ({ expect }) => {
    for (const r of RESOURCES) {
      const rows = rowsOf(r);
      expect(rows.length, r).toBeGreaterThan(0);
      for (const row of rows) expect(Object.keys(row), r).toEqual(TABLES[r].map((c) => c.name));
      for (const key of RESOURCE_SPECS[r].primaryKey) expect(TABLES[r].find((c) => c.name === key)?.nullable, `${r}.${key}`).toBe(false);
      await expect(toParquet(r, rows)).resolves.toBeInstanceOf(Uint8Array);
    }
  });

  it("builds first-page paths with per_page=100 and URL-encoded names", ({ expect }) => {
    const repo = { owner: "octo-org", name: "weird name/..", id: 1 };
    const enc = "/repos/octo-org/weird%20name%2F..";
    expect(RESOURCE_SPECS.repositories.firstPage(null)).toBe("/user/repos?affiliation=owner,collaborator,organization_member&per_page=100");
    expect(RESOURCE_SPECS.issues.firstPage(repo)).toBe(`${enc}/issues?state=all&sort=updated&direction=desc&per_page=100`);
    expect(RESOURCE_SPECS.pull_requests.firstPage(repo)).toBe(`${enc}/pulls?state=all&sort=updated&direction=desc&per_page=100`);
    expect(RESOURCE_SPECS.commits.firstPage(repo)).toBe(`${enc}/commits?per_page=100`);
    expect(RESOURCE_SPECS.stargazers.firstPage(repo)).toBe(`${enc}/stargazers?per_page=100`);
    expect(RESOURCE_SPECS.releases.firstPage(repo)).toBe(`${enc}/releases?per_page=100`);
    expect(RESOURCE_SPECS.workflow_runs.firstPage(repo)).toBe(`${enc}/actions/runs?per_page=100`);
    expect(RESOURCE_SPECS.reactions.firstPage(repo, { issueNumber: 7 })).toBe(`${enc}/issues/7/reactions?per_page=100`);
    expect(() => RESOURCE_SPECS.reactions.firstPage(repo)).toThrow(/issue number/);
    expect(() => RESOURCE_SPECS.issues.firstPage(null)).toThrow(/repository is required/);
  });

  it("asks for star+json on stargazers only", ({ expect }) => {
    expect(RESOURCE_SPECS.stargazers.accept).toBe("application/vnd.github.star+json");
    for (const r of RESOURCES.filter((x) => x !== "stargazers")) expect(RESOURCE_SPECS[r].accept ?? "application/vnd.github+json").toBe("application/vnd.github+json");
  });

  it("rejects bodies that are not the expected listing, saying what arrived", ({ expect }) => {
    const html = "<!DOCTYPE html><html><head><title>Unicorn!</title></head></html>";
    for (const r of RESOURCES) {
      const spec = RESOURCE_SPECS[r];
      expect(() => spec.items(html), r).toThrow(new RegExp(`${r}: expected .*a string "<!DOCTYPE html>`));
      expect(() => spec.items(null), r).toThrow(/got null/);
      expect(() => spec.items(undefined), r).toThrow(/got nothing/);
    }
    expect(() => RESOURCE_SPECS.issues.items({ message: "Not Found", documentation_url: "https://docs.github.com" })).toThrow(/object with keys \[message, documentation_url\] \(message: "Not Found"\)/);
    expect(() => RESOURCE_SPECS.workflow_runs.items([])).toThrow(/"workflow_runs" array, got an array of 0/);
    expect(() => RESOURCE_SPECS.workflow_runs.items({ total_count: 0 })).toThrow(/"workflow_runs" array/);
    expect(RESOURCE_SPECS.workflow_runs.items({ total_count: 0, workflow_runs: [] })).toEqual([]);
  });

  it("throws on an item without its primary key, and on a non-object item", ({ expect }) => {
    expect(() => RESOURCE_SPECS.issues.toRow({ number: 1 }, ctx)).toThrow(/issues: missing integer "id"/);
    expect(() => RESOURCE_SPECS.commits.toRow({ commit: {} }, ctx)).toThrow(/commits: missing string "sha"/);
    expect(() => RESOURCE_SPECS.stargazers.toRow({ starred_at: "2011-01-16T19:06:43Z", user: null }, ctx)).toThrow(/stargazers user: missing integer "id"/);
    expect(() => RESOURCE_SPECS.releases.toRow({ id: "1" }, ctx)).toThrow(/missing integer "id" \(got a string "1"\)/);
    expect(() => RESOURCE_SPECS.reactions.toRow("<html>", ctx)).toThrow(/reactions: expected an object/);
    expect(() => RESOURCE_SPECS.reactions.toRow({ id: 1 }, { ...ctx, issueNumber: undefined })).toThrow(/issue number/);
  });

  it("maps an item with nothing but its key to nulls, never throwing", ({ expect }) => {
    const minimal: Record<ResourceName, unknown> = {
      repositories: { id: 1, name: "r", owner: { login: "o" } },
      issues: { id: 1, number: 2 },
      pull_requests: { id: 1, number: 2 },
      commits: { sha: "abc" },
      stargazers: { user: { id: 5 } },
      releases: { id: 1 },
      workflow_runs: { id: 1 },
      reactions: { id: 1 },
    };
    for (const r of RESOURCES) {
      const row = RESOURCE_SPECS[r].toRow(minimal[r], ctx)!;
      const keys = new Set([...COMMON_NAMES, ...RESOURCE_SPECS[r].primaryKey, "number", "issue_number", "owner_login", "name"]);
      for (const c of TABLES[r]) if (!keys.has(c.name)) expect(row[c.name], `${r}.${c.name}`).toBeNull();
    }
  });
});

const COMMON_NAMES = ["_run_id", "_extracted_at", "repository_owner", "repository_name", "repository_id"];

describe("repositories", () => {
  it("describes each repo, with the repo itself as repository_*", ({ expect }) => {
    const [hello, odd] = rowsOf("repositories");
    expect(hello).toEqual({
      _run_id: ctx.runId, _extracted_at: ctx.extractedAt, repository_owner: "octocat", repository_name: "Hello-World", repository_id: 1296269,
      id: 1296269, full_name: "octocat/Hello-World", owner_login: "octocat", name: "Hello-World", description: "This your first repo!",
      private: false, visibility: "public", fork: false, archived: false, language: null, topics: ["octocat", "atom", "electron", "api"],
      stargazers_count: 80, forks_count: 9, open_issues_count: 0, default_branch: "master",
      created_at: "2011-01-26T19:01:12Z", updated_at: "2011-01-26T19:14:43Z", pushed_at: "2011-01-26T19:06:43Z",
    });
    expect(odd).toMatchObject({ repository_owner: "octo-org", repository_name: "📦-unusual.repo_name", repository_id: 5_000_000_001, id: 5_000_000_001,
      private: true, fork: true, archived: true, description: null, visibility: null, topics: null, pushed_at: null });
  });

  it("gives discovery the owner, name and id of each repo", ({ expect }) => {
    expect(repoRefFromItem((repositories as unknown[])[0])).toEqual({ owner: "octocat", name: "Hello-World", id: 1296269 });
    expect(() => repoRefFromItem({ id: 1, name: "x", owner: null })).toThrow(/login/);
    expect(() => repoRefFromItem("nope")).toThrow(/expected an object/);
  });
});

describe("issues", () => {
  it("keeps issues and drops the pull requests GitHub lists among them", ({ expect }) => {
    const rows = rowsOf("issues");
    expect(rows.map((r) => r.number)).toEqual([1347, 7]);
    expect(rows[0]).toEqual({
      ...lineage, id: 1, number: 1347, title: "Found a bug", state: "open", user_login: "octocat", user_id: 1,
      labels: ["bug"], assignees: ["octocat"], created_at: "2011-04-22T13:33:48Z", updated_at: "2011-04-22T13:33:48Z",
      closed_at: null, body: "I'm having a problem with this.", comments_count: 0,
    });
  });

  it("maps a ghost user to null login and id, and reads labels given as strings or objects", ({ expect }) => {
    const ghost = rowsOf("issues")[1]!;
    expect(ghost).toMatchObject({ id: 3_000_000_000, user_login: null, user_id: null, labels: ["string-label", "needs triage 🔍"], assignees: [], body: null, comments_count: 12 });
  });

  it("names the issues and PRs that have reactions to fetch", ({ expect }) => {
    expect((issues as unknown[]).map(reactedIssueNumbers)).toEqual([1347, 1348, null]);
    expect(reactedIssueNumbers({ number: 3 })).toBeNull();
    expect(reactedIssueNumbers("x")).toBeNull();
  });
});

describe("pull_requests", () => {
  it("reads refs, merge data and draft flags", ({ expect }) => {
    const [pr, draft] = rowsOf("pull_requests");
    expect(pr).toEqual({
      ...lineage, id: 1, number: 1347, title: "Amazing new feature", state: "open", user_login: "octocat", user_id: 1,
      created_at: "2011-01-26T19:01:12Z", updated_at: "2011-01-26T19:01:12Z", closed_at: "2011-01-26T19:01:12Z", merged_at: "2011-01-26T19:01:12Z",
      merge_commit_sha: "e5bd3914e2e596debea16f433f57875b5b90bcd6", head_ref: "new-topic", base_ref: "master", draft: false,
    });
    expect(draft).toMatchObject({ id: 4_294_967_297, user_login: null, user_id: null, merged_at: null, head_ref: "feature/x", base_ref: "main", draft: true });
  });
});

describe("commits", () => {
  it("takes git identities from commit.* and GitHub accounts from the top level", ({ expect }) => {
    const [fix, merge] = rowsOf("commits");
    expect(fix).toEqual({
      ...lineage, sha: "6dcb09b5b57875f334f61aebed695e2e4193db5e",
      author_name: "Monalisa Octocat", author_email: "support@github.com", author_login: "octocat", author_id: 1, author_date: "2011-04-14T16:00:49Z",
      committer_name: "Monalisa Octocat", committer_email: "support@github.com", committer_login: "octocat", committer_id: 1, committer_date: "2011-04-14T16:00:49Z",
      message: "Fix all the bugs", parents: ["6dcb09b5b57875f334f61aebed695e2e4193db5e"],
    });
    expect(merge).toMatchObject({ author_name: "Zoë Ünïcode", author_login: null, author_id: null, author_date: "2026-12-03T23:59:59+02:00",
      committer_login: "web-flow", committer_id: 19864447, parents: ["6dcb09b5b57875f334f61aebed695e2e4193db5e", "553c2077f0edc3d5dc5d17262f6aa498e69d6f8e"] });
  });
});

describe("stargazers", () => {
  it("reads starred_at and the user from star+json items", ({ expect }) => {
    expect(rowsOf("stargazers")).toEqual([
      { ...lineage, user_login: "octocat", user_id: 1, starred_at: "2011-01-16T19:06:43Z" },
      { ...lineage, user_login: "hubot", user_id: 3_000_000_000, starred_at: "2026-12-03T08:09:10Z" },
    ]);
  });

  it("still maps a bare user (plain media type), without starred_at", ({ expect }) => {
    expect(RESOURCE_SPECS.stargazers.toRow({ login: "octocat", id: 1, type: "User" }, ctx)).toEqual({ ...lineage, user_login: "octocat", user_id: 1, starred_at: null });
  });
});

describe("releases", () => {
  it("maps published releases and unpublished drafts by deleted authors", ({ expect }) => {
    const [v1, draft] = rowsOf("releases");
    expect(v1).toEqual({ ...lineage, id: 1, tag_name: "v1.0.0", name: "v1.0.0", target_commitish: "master", draft: false, prerelease: false,
      author_login: "octocat", created_at: "2013-02-27T19:35:32Z", published_at: "2013-02-27T19:35:32Z" });
    expect(draft).toMatchObject({ name: null, draft: true, prerelease: true, author_login: null, published_at: null });
  });
});

describe("workflow_runs", () => {
  it("unwraps the envelope and maps each run", ({ expect }) => {
    const [build, scheduled] = rowsOf("workflow_runs");
    expect(build).toEqual({ ...lineage, id: 30433642, name: "Build", workflow_id: 159038, run_number: 562, run_attempt: 1, event: "push",
      status: "queued", conclusion: null, head_branch: "master", head_sha: "acb5820ced9479c074f688cc328bf03f341a511d", actor_login: "octocat",
      created_at: "2020-01-22T19:33:08Z", updated_at: "2020-01-22T19:33:08Z", run_started_at: "2020-01-22T19:33:08Z" });
    expect(scheduled).toMatchObject({ id: 9_007_199_254_740_000, name: null, head_branch: null, run_attempt: null, actor_login: null, run_started_at: null, conclusion: "success" });
  });
});

describe("reactions", () => {
  it("maps reactions with the issue number from the context, and null users", ({ expect }) => {
    expect(rowsOf("reactions")).toEqual([
      { ...lineage, id: 1, issue_number: 1347, content: "heart", user_login: "octocat", user_id: 1, created_at: "2016-05-20T20:09:31Z" },
      { ...lineage, id: 2, issue_number: 1347, content: "+1", user_login: null, user_id: null, created_at: "2016-05-21T08:00:00Z" },
    ]);
  });
});

describe("field tolerance", () => {
  it("turns malformed optional values into nulls instead of bad cells", ({ expect }) => {
    const row = RESOURCE_SPECS.issues.toRow({ id: 1, number: 2, title: 42, state: null, created_at: "yesterday", updated_at: "2011-02-30T00:00:00Z",
      comments: "3", labels: "bug", assignees: [null, { login: 5 }, { login: "ok" }], user: "octocat" }, ctx)!;
    expect(row).toMatchObject({ title: null, state: null, created_at: null, updated_at: null, comments_count: null, labels: null, assignees: ["ok"], user_login: null });
  });
});
