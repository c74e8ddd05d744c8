// In-memory model of the simulated GitHub world. Times are epoch milliseconds (whole seconds, as
// GitHub's timestamps have no fraction); sim/shapes.ts turns them into GitHub's JSON.

export type AccountType = "User" | "Organization" | "Bot";

export interface Account {
  login: string;
  id: number;
  node_id: string;
  type: AccountType;
  /** Display name (commit author names come from it). */
  name: string | null;
}

export interface Label {
  id: number;
  node_id: string;
  name: string;
  color: string;
  description: string | null;
  default: boolean;
}

export interface Milestone {
  id: number;
  node_id: string;
  number: number;
  title: string;
  description: string | null;
  state: "open" | "closed";
  creator: Account;
  created_at: number;
  updated_at: number;
  due_on: number | null;
  closed_at: number | null;
}

export const REACTION_CONTENTS = ["+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"] as const;
export type ReactionContent = (typeof REACTION_CONTENTS)[number];

export interface Reaction {
  id: number;
  node_id: string;
  user: Account;
  content: ReactionContent;
  created_at: number;
}

/** The pull-request side of an item: a PR has its own id, distinct from the id of its issue side. */
export interface PullSide {
  id: number;
  node_id: string;
  draft: boolean;
  merged_at: number | null;
  merge_commit_sha: string | null;
  head_ref: string;
  head_sha: string;
  base_ref: string;
  base_sha: string;
  requested_reviewers: Account[];
}

export type StateReason = "completed" | "not_planned" | "duplicate" | "reopened" | null;
export type AuthorAssociation =
  | "OWNER"
  | "MEMBER"
  | "COLLABORATOR"
  | "CONTRIBUTOR"
  | "FIRST_TIME_CONTRIBUTOR"
  | "NONE";

/** An issue, or (when `pull` is set) a pull request: both share one number sequence per repository. */
export interface Item {
  number: number;
  id: number;
  node_id: string;
  title: string;
  user: Account;
  labels: Label[];
  state: "open" | "closed";
  state_reason: StateReason;
  locked: boolean;
  active_lock_reason: string | null;
  assignees: Account[];
  milestone: Milestone | null;
  comments: number;
  created_at: number;
  updated_at: number;
  closed_at: number | null;
  author_association: AuthorAssociation;
  body: string | null;
  reactions: Reaction[];
  pull: PullSide | null;
}

export interface Commit {
  sha: string;
  node_id: string;
  message: string;
  author_name: string;
  author_email: string;
  author_date: number;
  committer_name: string;
  committer_email: string;
  committer_date: number;
  /** Linked GitHub accounts; null when the e-mail belongs to no account. */
  author: Account | null;
  committer: Account | null;
  parents: string[];
  tree_sha: string;
  comment_count: number;
  verified: boolean;
}

export interface Star {
  user: Account;
  starred_at: number;
}

export interface Release {
  id: number;
  node_id: string;
  tag_name: string;
  name: string | null;
  draft: boolean;
  prerelease: boolean;
  created_at: number;
  published_at: number | null;
  author: Account;
  body: string | null;
  target_commitish: string;
}

export interface Workflow {
  id: number;
  name: string;
  path: string;
}

export interface WorkflowRun {
  id: number;
  node_id: string;
  workflow: Workflow;
  run_number: number;
  run_attempt: number;
  event: string;
  status: "completed" | "in_progress" | "queued";
  conclusion: "success" | "failure" | "cancelled" | "skipped" | null;
  head_branch: string;
  head_sha: string;
  display_title: string;
  check_suite_id: number;
  created_at: number;
  updated_at: number;
  run_started_at: number;
  actor: Account;
  triggering_actor: Account;
}

export type Affiliation = "owner" | "collaborator" | "organization_member";
export type RepoKind = "ordinary" | "empty" | "vanished" | "private-stars";

export interface Permissions {
  admin: boolean;
  maintain: boolean;
  push: boolean;
  triage: boolean;
  pull: boolean;
}

export interface Repo {
  id: number;
  node_id: string;
  name: string;
  owner: Account;
  kind: RepoKind;
  affiliation: Affiliation;
  permissions: Permissions;
  private: boolean;
  description: string | null;
  fork: boolean;
  homepage: string | null;
  language: string | null;
  forks_count: number;
  archived: boolean;
  default_branch: string;
  topics: string[];
  license: { key: string; name: string; spdx_id: string } | null;
  created_at: number;
  updated_at: number;
  pushed_at: number;
  /** Kilobytes, derived from the content. */
  size: number;
  /** Deleted by a mutation: no longer listed, 404 everywhere. */
  deleted: boolean;
  labels: Label[];
  milestones: Milestone[];
  workflows: Workflow[];
  /** People who open issues/PRs, commit and react here; maintainers also assign, review and release. */
  contributors: Account[];
  maintainers: Account[];
  /** Issues and PRs by number, ascending (= creation order). */
  items: Item[];
  /** Default-branch history, oldest first. */
  commits: Commit[];
  /** Oldest star first. */
  stars: Star[];
  /** Oldest first. */
  releases: Release[];
  /** Oldest first. */
  runs: WorkflowRun[];
}

/** Monotonic id allocators, so ids stay unique when mutations add rows later. */
export interface IdCounters {
  repo: number;
  issue: number;
  pull: number;
  label: number;
  milestone: number;
  reaction: number;
  release: number;
  workflow: number;
  run: number;
  checkSuite: number;
}

export interface World {
  seed: number;
  viewer: Account;
  org: Account;
  friend: Account;
  bots: Account[];
  /** Synthetic people: authors, stargazers, reactors. Grows on demand (addStars). */
  people: Account[];
  repos: Repo[];
  ids: IdCounters;
  /** Latest timestamp of the generated history. */
  dataEnd: number;
}
