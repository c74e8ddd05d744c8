// GitHub's JSON shapes (REST API version 2022-11-28). `api` is the origin the request came in on, so
// every API URL inside a body is followable against the simulator; html_url values point at github.com.

import type { Account, Commit, Item, Label, Milestone, Reaction, Release, Repo, Star, World, WorkflowRun } from "./model";
import { REACTION_CONTENTS } from "./model";

const HTML = "https://github.com";

/** GitHub writes UTC timestamps without fractional seconds. */
export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

export function fullName(repo: Repo): string {
  return `${repo.owner.login}/${repo.name}`;
}

export function userJson(a: Account, api: string): Record<string, unknown> {
  const u = `${api}/users/${a.login}`;
  return {
    login: a.login,
    id: a.id,
    node_id: a.node_id,
    avatar_url: `https://avatars.githubusercontent.com/u/${a.id}?v=4`,
    gravatar_id: "",
    url: u,
    html_url: `${HTML}/${a.login}`,
    followers_url: `${u}/followers`,
    following_url: `${u}/following{/other_user}`,
    gists_url: `${u}/gists{/gist_id}`,
    starred_url: `${u}/starred{/owner}{/repo}`,
    subscriptions_url: `${u}/subscriptions`,
    organizations_url: `${u}/orgs`,
    repos_url: `${u}/repos`,
    events_url: `${u}/events{/privacy}`,
    received_events_url: `${u}/received_events`,
    type: a.type,
    user_view_type: "public",
    site_admin: false,
  };
}

/** GET /user for the authenticated viewer. */
export function viewerJson(world: World, login: string, id: number, api: string): Record<string, unknown> {
  const owned = world.repos.filter((r) => !r.deleted && r.owner.login === world.viewer.login);
  const a = login === world.viewer.login ? world.viewer : { ...world.viewer, login, id, node_id: `U_kwDO${btoa(String(id)).replace(/=+$/, "")}` };
  return {
    ...userJson(a, api),
    name: a.name,
    company: "@sim-org",
    blog: "",
    location: "Internet",
    email: null,
    hireable: null,
    bio: "Simulated GitHub user",
    twitter_username: null,
    notification_email: null,
    public_repos: owned.filter((r) => !r.private).length,
    public_gists: 0,
    followers: 42,
    following: 7,
    created_at: "2015-03-14T09:26:53Z",
    updated_at: "2026-11-01T10:00:00Z",
    private_gists: 0,
    total_private_repos: owned.filter((r) => r.private).length,
    owned_private_repos: owned.filter((r) => r.private).length,
    disk_usage: owned.reduce((n, r) => n + r.size, 0),
    collaborators: 0,
    two_factor_authentication: true,
    plan: { name: "pro", space: 976562499, collaborators: 0, private_repos: 9999 },
  };
}

export function openIssuesCount(repo: Repo): number {
  let n = 0;
  for (const i of repo.items) if (i.state === "open") n++;
  return n;
}

export function repoJson(repo: Repo, api: string): Record<string, unknown> {
  const fn = fullName(repo);
  const u = `${api}/repos/${fn}`;
  const open = openIssuesCount(repo);
  const stars = repo.stars.length;
  return {
    id: repo.id,
    node_id: repo.node_id,
    name: repo.name,
    full_name: fn,
    private: repo.private,
    owner: userJson(repo.owner, api),
    html_url: `${HTML}/${fn}`,
    description: repo.description,
    fork: repo.fork,
    url: u,
    forks_url: `${u}/forks`,
    keys_url: `${u}/keys{/key_id}`,
    collaborators_url: `${u}/collaborators{/collaborator}`,
    teams_url: `${u}/teams`,
    hooks_url: `${u}/hooks`,
    issue_events_url: `${u}/issues/events{/number}`,
    events_url: `${u}/events`,
    assignees_url: `${u}/assignees{/user}`,
    branches_url: `${u}/branches{/branch}`,
    tags_url: `${u}/tags`,
    blobs_url: `${u}/git/blobs{/sha}`,
    git_tags_url: `${u}/git/tags{/sha}`,
    git_refs_url: `${u}/git/refs{/sha}`,
    trees_url: `${u}/git/trees{/sha}`,
    statuses_url: `${u}/statuses/{sha}`,
    languages_url: `${u}/languages`,
    stargazers_url: `${u}/stargazers`,
    contributors_url: `${u}/contributors`,
    subscribers_url: `${u}/subscribers`,
    subscription_url: `${u}/subscription`,
    commits_url: `${u}/commits{/sha}`,
    git_commits_url: `${u}/git/commits{/sha}`,
    comments_url: `${u}/comments{/number}`,
    issue_comment_url: `${u}/issues/comments{/number}`,
    contents_url: `${u}/contents/{+path}`,
    compare_url: `${u}/compare/{base}...{head}`,
    merges_url: `${u}/merges`,
    archive_url: `${u}/{archive_format}{/ref}`,
    downloads_url: `${u}/downloads`,
    issues_url: `${u}/issues{/number}`,
    pulls_url: `${u}/pulls{/number}`,
    milestones_url: `${u}/milestones{/number}`,
    notifications_url: `${u}/notifications{?since,all,participating}`,
    labels_url: `${u}/labels{/name}`,
    releases_url: `${u}/releases{/id}`,
    deployments_url: `${u}/deployments`,
    created_at: iso(repo.created_at),
    updated_at: iso(repo.updated_at),
    pushed_at: iso(repo.pushed_at),
    git_url: `git://github.com/${fn}.git`,
    ssh_url: `git@github.com:${fn}.git`,
    clone_url: `${HTML}/${fn}.git`,
    svn_url: `${HTML}/${fn}`,
    homepage: repo.homepage,
    size: repo.size,
    stargazers_count: stars,
    watchers_count: stars,
    language: repo.language,
    has_issues: true,
    has_projects: true,
    has_downloads: true,
    has_wiki: !repo.private,
    has_pages: false,
    has_discussions: false,
    forks_count: repo.forks_count,
    mirror_url: null,
    archived: repo.archived,
    disabled: false,
    open_issues_count: open,
    license: repo.license ? { ...repo.license, url: `${api}/licenses/${repo.license.key}`, node_id: "MDc6TGljZW5zZTEz" } : null,
    allow_forking: true,
    is_template: false,
    web_commit_signoff_required: false,
    topics: repo.topics,
    visibility: repo.private ? "private" : "public",
    forks: repo.forks_count,
    open_issues: open,
    watchers: stars,
    default_branch: repo.default_branch,
    permissions: { ...repo.permissions },
  };
}

/** The short repository object embedded in PR heads/bases and workflow runs. */
function compactRepoJson(repo: Repo, api: string): Record<string, unknown> {
  const fn = fullName(repo);
  return {
    id: repo.id,
    node_id: repo.node_id,
    name: repo.name,
    full_name: fn,
    private: repo.private,
    owner: userJson(repo.owner, api),
    html_url: `${HTML}/${fn}`,
    description: repo.description,
    fork: repo.fork,
    url: `${api}/repos/${fn}`,
  };
}

function labelJson(repo: Repo, l: Label, api: string): Record<string, unknown> {
  return {
    id: l.id,
    node_id: l.node_id,
    url: `${api}/repos/${fullName(repo)}/labels/${encodeURIComponent(l.name)}`,
    name: l.name,
    color: l.color,
    default: l.default,
    description: l.description,
  };
}

function milestoneJson(repo: Repo, m: Milestone, open: number, closed: number, api: string): Record<string, unknown> {
  const u = `${api}/repos/${fullName(repo)}/milestones/${m.number}`;
  return {
    url: u,
    html_url: `${HTML}/${fullName(repo)}/milestone/${m.number}`,
    labels_url: `${u}/labels`,
    id: m.id,
    node_id: m.node_id,
    number: m.number,
    title: m.title,
    description: m.description,
    creator: userJson(m.creator, api),
    open_issues: open,
    closed_issues: closed,
    state: m.state,
    created_at: iso(m.created_at),
    updated_at: iso(m.updated_at),
    due_on: isoOrNull(m.due_on),
    closed_at: isoOrNull(m.closed_at),
  };
}

export function reactionRollup(url: string, reactions: Reaction[]): Record<string, unknown> {
  const counts: Record<string, number> = {};
  for (const c of REACTION_CONTENTS) counts[c] = 0;
  for (const r of reactions) counts[r.content] = (counts[r.content] ?? 0) + 1;
  return {
    url,
    total_count: reactions.length,
    "+1": counts["+1"],
    "-1": counts["-1"],
    laugh: counts.laugh,
    hooray: counts.hooray,
    confused: counts.confused,
    heart: counts.heart,
    rocket: counts.rocket,
    eyes: counts.eyes,
  };
}

function milestoneCounts(repo: Repo, m: Milestone): [number, number] {
  let open = 0;
  let closed = 0;
  for (const i of repo.items) {
    if (i.milestone?.id !== m.id) continue;
    if (i.state === "open") open++;
    else closed++;
  }
  return [open, closed];
}

/** An item as the issues endpoints show it (PRs included, with their `pull_request` key). */
export function issueJson(repo: Repo, item: Item, api: string): Record<string, unknown> {
  const fn = fullName(repo);
  const u = `${api}/repos/${fn}/issues/${item.number}`;
  const html = `${HTML}/${fn}/${item.pull ? "pull" : "issues"}/${item.number}`;
  const ms = item.milestone ? milestoneJson(repo, item.milestone, ...milestoneCounts(repo, item.milestone), api) : null;
  const out: Record<string, unknown> = {
    url: u,
    repository_url: `${api}/repos/${fn}`,
    labels_url: `${u}/labels{/name}`,
    comments_url: `${u}/comments`,
    events_url: `${u}/events`,
    html_url: html,
    id: item.id,
    node_id: item.node_id,
    number: item.number,
    title: item.title,
    user: userJson(item.user, api),
    labels: item.labels.map((l) => labelJson(repo, l, api)),
    state: item.state,
    locked: item.locked,
    assignee: item.assignees[0] ? userJson(item.assignees[0], api) : null,
    assignees: item.assignees.map((a) => userJson(a, api)),
    milestone: ms,
    comments: item.comments,
    created_at: iso(item.created_at),
    updated_at: iso(item.updated_at),
    closed_at: isoOrNull(item.closed_at),
    author_association: item.author_association,
    type: null,
    active_lock_reason: item.active_lock_reason,
  };
  if (item.pull) {
    out.draft = item.pull.draft;
    const pu = `${api}/repos/${fn}/pulls/${item.number}`;
    out.pull_request = {
      url: pu,
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      merged_at: isoOrNull(item.pull.merged_at),
    };
  } else {
    out.sub_issues_summary = { total: 0, completed: 0, percent_completed: 0 };
  }
  out.body = item.body;
  out.reactions = reactionRollup(`${u}/reactions`, item.reactions);
  out.timeline_url = `${u}/timeline`;
  out.performed_via_github_app = null;
  out.state_reason = item.state_reason;
  return out;
}

/** An item with a pull side, as the pulls endpoints show it (the PR's own id, not the issue id). */
export function pullJson(repo: Repo, item: Item, api: string): Record<string, unknown> {
  const pr = item.pull!;
  const fn = fullName(repo);
  const u = `${api}/repos/${fn}/pulls/${item.number}`;
  const iu = `${api}/repos/${fn}/issues/${item.number}`;
  const html = `${HTML}/${fn}/pull/${item.number}`;
  const compact = compactRepoJson(repo, api);
  const ms = item.milestone ? milestoneJson(repo, item.milestone, ...milestoneCounts(repo, item.milestone), api) : null;
  return {
    url: u,
    id: pr.id,
    node_id: pr.node_id,
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: iu,
    number: item.number,
    state: item.state,
    locked: item.locked,
    title: item.title,
    user: userJson(item.user, api),
    body: item.body,
    created_at: iso(item.created_at),
    updated_at: iso(item.updated_at),
    closed_at: isoOrNull(item.closed_at),
    merged_at: isoOrNull(pr.merged_at),
    merge_commit_sha: pr.merge_commit_sha,
    assignee: item.assignees[0] ? userJson(item.assignees[0], api) : null,
    assignees: item.assignees.map((a) => userJson(a, api)),
    requested_reviewers: pr.requested_reviewers.map((a) => userJson(a, api)),
    requested_teams: [],
    labels: item.labels.map((l) => labelJson(repo, l, api)),
    milestone: ms,
    draft: pr.draft,
    commits_url: `${u}/commits`,
    review_comments_url: `${u}/comments`,
    review_comment_url: `${api}/repos/${fn}/pulls/comments{/number}`,
    comments_url: `${iu}/comments`,
    statuses_url: `${api}/repos/${fn}/statuses/${pr.head_sha}`,
    head: { label: `${item.user.login}:${pr.head_ref}`, ref: pr.head_ref, sha: pr.head_sha, user: userJson(item.user, api), repo: compact },
    base: { label: `${repo.owner.login}:${pr.base_ref}`, ref: pr.base_ref, sha: pr.base_sha, user: userJson(repo.owner, api), repo: compact },
    _links: {
      self: { href: u },
      html: { href: html },
      issue: { href: iu },
      comments: { href: `${iu}/comments` },
      review_comments: { href: `${u}/comments` },
      review_comment: { href: `${api}/repos/${fn}/pulls/comments{/number}` },
      commits: { href: `${u}/commits` },
      statuses: { href: `${api}/repos/${fn}/statuses/${pr.head_sha}` },
    },
    author_association: item.author_association,
    auto_merge: null,
    active_lock_reason: item.active_lock_reason,
  };
}

export function commitJson(repo: Repo, c: Commit, api: string): Record<string, unknown> {
  const fn = fullName(repo);
  return {
    sha: c.sha,
    node_id: c.node_id,
    commit: {
      author: { name: c.author_name, email: c.author_email, date: iso(c.author_date) },
      committer: { name: c.committer_name, email: c.committer_email, date: iso(c.committer_date) },
      message: c.message,
      tree: { sha: c.tree_sha, url: `${api}/repos/${fn}/git/trees/${c.tree_sha}` },
      url: `${api}/repos/${fn}/git/commits/${c.sha}`,
      comment_count: c.comment_count,
      verification: {
        verified: c.verified,
        reason: c.verified ? "valid" : "unsigned",
        signature: null,
        payload: null,
        verified_at: c.verified ? iso(c.committer_date) : null,
      },
    },
    url: `${api}/repos/${fn}/commits/${c.sha}`,
    html_url: `${HTML}/${fn}/commit/${c.sha}`,
    comments_url: `${api}/repos/${fn}/commits/${c.sha}/comments`,
    author: c.author ? userJson(c.author, api) : null,
    committer: c.committer ? userJson(c.committer, api) : null,
    parents: c.parents.map((sha) => ({ sha, url: `${api}/repos/${fn}/commits/${sha}`, html_url: `${HTML}/${fn}/commit/${sha}` })),
  };
}

/** With `application/vnd.github.star+json` a stargazer carries its starred_at; otherwise a plain user. */
export function stargazerJson(s: Star, api: string, starMedia: boolean): Record<string, unknown> {
  return starMedia ? { starred_at: iso(s.starred_at), user: userJson(s.user, api) } : userJson(s.user, api);
}

export function releaseJson(repo: Repo, r: Release, api: string): Record<string, unknown> {
  const fn = fullName(repo);
  const u = `${api}/repos/${fn}/releases/${r.id}`;
  return {
    url: u,
    assets_url: `${u}/assets`,
    upload_url: `https://uploads.github.com/repos/${fn}/releases/${r.id}/assets{?name,label}`,
    html_url: r.draft ? `${HTML}/${fn}/releases/tag/untagged-${r.node_id.slice(-8)}` : `${HTML}/${fn}/releases/tag/${r.tag_name}`,
    id: r.id,
    author: userJson(r.author, api),
    node_id: r.node_id,
    tag_name: r.tag_name,
    target_commitish: r.target_commitish,
    name: r.name,
    draft: r.draft,
    immutable: false,
    prerelease: r.prerelease,
    created_at: iso(r.created_at),
    updated_at: iso(r.published_at ?? r.created_at),
    published_at: isoOrNull(r.published_at),
    assets: [],
    tarball_url: `${api}/repos/${fn}/tarball/${r.tag_name}`,
    zipball_url: `${api}/repos/${fn}/zipball/${r.tag_name}`,
    body: r.body,
  };
}

export function runJson(repo: Repo, r: WorkflowRun, commit: Commit | undefined, api: string): Record<string, unknown> {
  const fn = fullName(repo);
  const u = `${api}/repos/${fn}/actions/runs/${r.id}`;
  const compact = compactRepoJson(repo, api);
  return {
    id: r.id,
    name: r.workflow.name,
    node_id: r.node_id,
    head_branch: r.head_branch,
    head_sha: r.head_sha,
    path: r.workflow.path,
    display_title: r.display_title,
    run_number: r.run_number,
    event: r.event,
    status: r.status,
    conclusion: r.conclusion,
    workflow_id: r.workflow.id,
    check_suite_id: r.check_suite_id,
    check_suite_node_id: `CS_kwDO${btoa(String(r.check_suite_id)).replace(/=+$/, "")}`,
    url: u,
    html_url: `${HTML}/${fn}/actions/runs/${r.id}`,
    pull_requests: [],
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
    actor: userJson(r.actor, api),
    run_attempt: r.run_attempt,
    referenced_workflows: [],
    run_started_at: iso(r.run_started_at),
    triggering_actor: userJson(r.triggering_actor, api),
    jobs_url: `${u}/jobs`,
    logs_url: `${u}/logs`,
    check_suite_url: `${api}/repos/${fn}/check-suites/${r.check_suite_id}`,
    artifacts_url: `${u}/artifacts`,
    cancel_url: `${u}/cancel`,
    rerun_url: `${u}/rerun`,
    previous_attempt_url: r.run_attempt > 1 ? `${u}/attempts/${r.run_attempt - 1}` : null,
    workflow_url: `${api}/repos/${fn}/actions/workflows/${r.workflow.id}`,
    head_commit: commit
      ? {
          id: commit.sha,
          tree_id: commit.tree_sha,
          message: commit.message,
          timestamp: iso(commit.committer_date),
          author: { name: commit.author_name, email: commit.author_email },
          committer: { name: commit.committer_name, email: commit.committer_email },
        }
      : null,
    repository: compact,
    head_repository: compact,
  };
}

export function reactionJson(r: Reaction, api: string): Record<string, unknown> {
  return { id: r.id, node_id: r.node_id, user: userJson(r.user, api), content: r.content, created_at: iso(r.created_at) };
}
