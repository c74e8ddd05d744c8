// Public option, stats and truth types of the GitHub simulator (shared by the core, the Node adapter,
// the CLI and the tests).

export interface SimUser {
  login: string;
  id: number;
  /** Every token of one user shares that user's primary quota, as on GitHub. */
  tokens: string[];
}

export interface PrimaryLimit {
  limit: number;
  windowSeconds: number;
}

export interface SecondaryLimits {
  /** More than this many requests of one user in flight at once → secondary limit (0/undefined = off). */
  maxConcurrent?: number;
  /** More than this many requests of one user started within any sliding 60 s → secondary limit (0/undefined = off). */
  maxPerMinute?: number;
  /** Penalty length, sent as `retry-after` (default 60). */
  retryAfterSeconds?: number;
  /** GitHub answers 403 or 429 (default 403). */
  status?: 403 | 429;
  /** GitHub does not always send `retry-after`; set to reproduce that. */
  omitRetryAfter?: boolean;
}

export interface SimInstallation {
  id: number;
  /** The installation's primary quota per window (GitHub: 5,000–12,500/h; default: `primary.limit`). */
  limit?: number;
  /** The repositories it was granted, by full name ("selected"); omitted: every repository ("all"). Its tokens list
   *  only these, and read no private repository outside them (404, as GitHub hides what a token may not see). */
  repositories?: string[];
}

export interface SimApp {
  /** App ID: the JWT's `iss` (a number, or its string form). */
  id: number;
  /** Client ID, which GitHub also accepts as `iss`. */
  clientId?: string;
  /** The App's public key (SPKI PEM or JWK): JWTs must be signed RS256 with its private key. */
  publicKey: string | JsonWebKey;
  installations: SimInstallation[];
}

export interface SimOptions {
  /** Data seed (default 1). Same seed → byte-identical data. */
  seed?: number;
  /** Number of ordinary repositories (default 6). */
  repos?: number;
  /** Multiplier on the size of every ordinary repository (default 1). */
  scale?: number;
  /** Add empty-repo, vanished-repo and private-stars (default true). */
  special?: boolean;
  /** Users and their tokens (default one user octo-sim / 9000001 / ["sim-token"]). The first one owns the repos. */
  users?: SimUser[];
  primary?: PrimaryLimit;
  secondary?: SecondaryLimits;
  /** Probability (0..1) that an admitted request is answered with a 5xx instead (default 0). */
  faultRate?: number;
  /** Seed of the fault/latency stream (default derived from `seed`). Independent of the data stream. */
  faultSeed?: number;
  /** Delay before answering: fixed ms or a [min, max] range (default 0). */
  latencyMs?: number | [number, number];
  /** Injectable clock (ms since epoch), default Date.now. */
  now?: () => number;
  /** Stargazer pages beyond this answer 422, as GitHub does past page 400 (default 400). */
  stargazerPageCap?: number;
  /** With a filter parameter, workflow-run listings stop after this many results (default 1000, GitHub's cap). */
  actionsFilterCap?: number;
  /** Accepted `X-GitHub-Api-Version` values (default ["2022-11-28", "2026-03-10"]). Others → 400. */
  apiVersions?: string[];
  /** GitHub Apps: JWT-authenticated token minting; each installation has its own quota (default none). */
  apps?: SimApp[];
  /** Lifetime of minted installation tokens (default 3600, as GitHub). */
  installationTokenTtlSeconds?: number;
}

/** Runtime-changeable subset (POST /_sim/config). */
export type SimConfig = Pick<
  SimOptions,
  "primary" | "secondary" | "faultRate" | "latencyMs" | "stargazerPageCap" | "actionsFilterCap"
>;

export interface SimUserStats {
  id: number;
  limit: number;
  used: number;
  remaining: number;
  /** Epoch seconds at which the current window ends (now + window when no window is open). */
  reset: number;
  requests: number;
  inFlight: number;
  maxInFlight: number;
  /** Epoch ms until which the user is refused for a secondary limit, or null. */
  penaltyUntil: number | null;
  /** Secondary-limit penalties imposed (episodes; each may refuse several requests). */
  penalties: number;
  /** Primary windows, oldest first (at most the last 200), the open one last: what each spent. */
  windows: SimWindow[];
}

export interface SimWindow {
  /** Epoch ms of the first counted request (the window's start) and of its end (`x-ratelimit-reset` × 1000). */
  start: number;
  end: number;
  used: number;
  limit: number;
  open: boolean;
}

export interface SimStats {
  /** Every API request received (admin endpoints excluded). */
  requests: number;
  byStatus: Record<string, number>;
  /** Requests that consumed primary quota. */
  counted: number;
  notModified: number;
  faults: number;
  violations: { primary: number; secondary: number; total: number };
  /** Secondary-limit penalties imposed, all users (episodes; `violations.secondary` counts refused requests). */
  penalties: number;
  rejected: { userAgent: number; auth: number; apiVersion: number };
  inFlight: number;
  maxInFlight: number;
  perUser: Record<string, SimUserStats>;
}

export const RESOURCES = [
  "issues",
  "pull_requests",
  "commits",
  "stargazers",
  "releases",
  "workflow_runs",
  "reactions",
] as const;
export type ResourceName = (typeof RESOURCES)[number];

/** `partial` only appears when a GitHub cap (stargazer pages) hides rows at per_page=100. */
export type CoverageState = "complete" | "empty" | "restricted" | "not_found" | "partial";

export interface SimTruth {
  /** Everything GET /user/repos lists (default affiliation), special repositories included. */
  repositories: Array<{ id: number; full_name: string }>;
  tables: {
    /** Issue ids; pull requests excluded. */
    issues: Record<string, number[]>;
    pull_requests: Record<string, number[]>;
    commits: Record<string, string[]>;
    /** Stargazer user ids. */
    stargazers: Record<string, number[]>;
    releases: Record<string, number[]>;
    workflow_runs: Record<string, number[]>;
    reactions: Record<string, number[]>;
  };
  coverage: Record<string, Record<ResourceName, CoverageState>>;
}

export interface RepoCount {
  /** "owner/name" or just "name". */
  repo: string;
  count: number;
}

export interface Mutation {
  addIssues?: RepoCount[];
  /** New pull requests (open); they also appear in the issues listing. */
  addPulls?: RepoCount[];
  addCommits?: RepoCount[];
  addStars?: RepoCount[];
  addReleases?: RepoCount[];
  addWorkflowRuns?: RepoCount[];
  /** Adds reactions to the newest `count` issues/PRs (one each), or `count` reactions to issue `number`. */
  addReactions?: Array<RepoCount & { number?: number }>;
  /** Touches the `count` least recently updated issues (not PRs): updated_at = now; `close` closes open ones. */
  updateIssues?: Array<RepoCount & { close?: boolean }>;
  /** Deletes repositories: they leave /user/repos and answer 404. */
  deleteRepos?: string[];
}
