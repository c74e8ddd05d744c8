// Deterministic generation of the simulated GitHub world from a seed. Pure: no clock, no Math.random,
// no Node APIs (it also runs inside workerd). Each repository draws from its own seeded stream.

import type { Account, Label, Milestone, Permissions, Repo, RepoKind, Affiliation, World, Workflow } from "./model";
import { BOTS, FRIEND, ORG, account, ensurePeople, nodeId } from "./people";
import { chance, int, pick, rngFor, sample, shuffle, sortedTimes, type Rng } from "./prng";
import { DESCRIPTIONS, LABEL_DEFS, LANGUAGES, REPO_NAMES, TOPICS } from "./text";
import {
  DAY,
  HOUR,
  buildCommit,
  buildItem,
  buildReactions,
  buildRelease,
  buildRun,
  reactionCount,
  wholeSecond,
} from "./builders";

/** The generated history spans 2019 .. DATA_END; mutations later add rows at the clock's time. */
export const DATA_START = Date.UTC(2019, 0, 1);
export const DATA_END = Date.UTC(2026, 10, 28, 12, 0, 0);

/** Sizes of one repository at scale 1. */
export interface Profile {
  items: number;
  prShare: number;
  commits: number;
  stars: number;
  releases: number;
  runs: number;
  /** Share of issues/PRs that carry reactions (each one costs a reactions request). */
  reactionRate: number;
  /** One item with this many reactions, so reactions also paginate. */
  bigReactions?: number;
}

/**
 * The first six ordinary repositories: one large (>1,000 issues+PRs, >300 commits: several pages and
 * continuation parts), then smaller ones; some have no releases, runs or stars. The sum keeps a full
 * extraction at per_page=100 near 180 requests.
 */
export const PROFILES: readonly Profile[] = [
  { items: 1150, prShare: 0.35, commits: 420, stars: 350, releases: 40, runs: 260, reactionRate: 0.05, bigReactions: 130 },
  { items: 320, prShare: 0.4, commits: 180, stars: 120, releases: 12, runs: 80, reactionRate: 0.05 },
  { items: 140, prShare: 0.3, commits: 90, stars: 40, releases: 5, runs: 0, reactionRate: 0.06 },
  { items: 60, prShare: 0.5, commits: 40, stars: 8, releases: 0, runs: 20, reactionRate: 0.08 },
  { items: 15, prShare: 0.3, commits: 10, stars: 0, releases: 2, runs: 5, reactionRate: 0.1 },
  { items: 3, prShare: 0.34, commits: 2, stars: 2, releases: 0, runs: 0, reactionRate: 0 },
];
const PRIVATE_STARS_PROFILE: Profile = { items: 25, prShare: 0.4, commits: 30, stars: 15, releases: 3, runs: 10, reactionRate: 0.1 };
const VANISHED_PROFILE: Profile = { items: 12, prShare: 0.3, commits: 8, stars: 3, releases: 1, runs: 4, reactionRate: 0.1 };
const EMPTY_PROFILE: Profile = { items: 0, prShare: 0, commits: 0, stars: 0, releases: 0, runs: 0, reactionRate: 0 };

/** Repositories past the sixth: small random ones, so hundreds of repositories stay cheap. */
function extraProfile(rng: Rng): Profile {
  return {
    items: int(rng, 0, 80),
    prShare: 0.4,
    commits: int(rng, 1, 60),
    stars: int(rng, 0, 40),
    releases: int(rng, 0, 5),
    runs: int(rng, 0, 30),
    reactionRate: 0.04,
  };
}

export interface GenerateOptions {
  seed: number;
  repos: number;
  scale: number;
  special: boolean;
  viewer: { login: string; id: number };
}

const ADMIN: Permissions = { admin: true, maintain: true, push: true, triage: true, pull: true };
const WRITE: Permissions = { admin: false, maintain: false, push: true, triage: true, pull: true };
const READ: Permissions = { admin: false, maintain: false, push: false, triage: false, pull: true };

interface RepoSpec {
  name: string;
  owner: Account;
  kind: RepoKind;
  affiliation: Affiliation;
  permissions: Permissions;
  private: boolean;
  profile: Profile;
}

export function generateWorld(opts: GenerateOptions): World {
  const viewer = account(opts.viewer.login, opts.viewer.id, "User", "Octo Sim");
  const world: World = {
    seed: opts.seed,
    viewer,
    org: ORG(),
    friend: FRIEND(),
    bots: BOTS(),
    people: [],
    repos: [],
    ids: {
      repo: 700_000_000,
      issue: 3_000_000_000, // issue ids are past 2^31 on GitHub today: int64 columns matter
      pull: 2_400_000_000,
      label: 5_000_000_000,
      milestone: 12_000_000,
      reaction: 300_000_000,
      release: 180_000_000,
      workflow: 90_000_000,
      run: 14_000_000_000, // run ids are past 2^32
      checkSuite: 30_000_000_000,
    },
    dataEnd: DATA_END,
  };

  const specs = repoSpecs(world, opts);
  const maxStars = Math.max(0, ...specs.map((s) => s.profile.stars));
  ensurePeople(world, Math.max(300, maxStars + 100));
  specs.forEach((spec, i) => world.repos.push(buildRepo(world, rngFor(opts.seed, "repo", i, spec.name), spec)));
  return world;
}

function scaled(p: Profile, scale: number): Profile {
  const s = (n: number) => Math.round(n * scale);
  return { ...p, items: s(p.items), commits: s(p.commits), stars: s(p.stars), releases: s(p.releases), runs: s(p.runs) };
}

function repoSpecs(world: World, opts: GenerateOptions): RepoSpec[] {
  const rng = rngFor(opts.seed, "names");
  const names = shuffle(rng, REPO_NAMES);
  // Owners cycle so /user/repos mixes owner, organization_member and collaborator repositories.
  const owners: Array<[Account, Affiliation, Permissions]> = [
    [world.viewer, "owner", ADMIN],
    [world.org, "organization_member", ADMIN],
    [world.viewer, "owner", ADMIN],
    [world.org, "organization_member", ADMIN],
    [world.friend, "collaborator", WRITE],
  ];
  const specs: RepoSpec[] = [];
  for (let i = 0; i < opts.repos; i++) {
    const base = names[i % names.length]!;
    const name = i < names.length ? base : `${base}-${Math.floor(i / names.length) + 1}`;
    const [owner, affiliation, permissions] = owners[i % owners.length]!;
    const profile = i < PROFILES.length ? PROFILES[i]! : extraProfile(rng);
    specs.push({ name, owner, affiliation, permissions, kind: "ordinary", private: i % 3 === 1, profile: scaled(profile, opts.scale) });
  }
  if (opts.special) {
    specs.push({ name: "empty-repo", owner: world.viewer, affiliation: "owner", permissions: ADMIN, kind: "empty", private: true, profile: EMPTY_PROFILE });
    specs.push({ name: "vanished-repo", owner: world.org, affiliation: "organization_member", permissions: ADMIN, kind: "vanished", private: false, profile: VANISHED_PROFILE });
    // The viewer only reads this one: since 2026 GitHub shows stargazers to admins and collaborators only.
    specs.push({ name: "private-stars", owner: world.org, affiliation: "organization_member", permissions: READ, kind: "private-stars", private: false, profile: PRIVATE_STARS_PROFILE });
  }
  return specs;
}

function buildRepo(world: World, rng: Rng, spec: RepoSpec): Repo {
  const p = spec.profile;
  const id = (world.ids.repo += int(rng, 1, 900_000));
  const createdAt = wholeSecond(
    spec.kind === "empty" ? Date.UTC(2025, 5, 1) + int(rng, 0, 300) * DAY + int(rng, 0, DAY) : DATA_START + int(rng, 0, 5 * 365) * DAY + int(rng, 0, DAY),
  );
  const contributors = sample(rng, world.people, int(rng, 15, 60));
  const maintainers = [spec.owner.type === "Organization" ? world.viewer : spec.owner, ...sample(rng, world.people, int(rng, 1, 3))];
  if (spec.affiliation === "collaborator") maintainers.push(world.viewer);
  const repo: Repo = {
    id,
    node_id: nodeId("R", id),
    name: spec.name,
    owner: spec.owner,
    kind: spec.kind,
    affiliation: spec.affiliation,
    permissions: spec.permissions,
    private: spec.private,
    description: spec.kind === "empty" ? null : pick(rng, DESCRIPTIONS),
    fork: spec.kind === "ordinary" && chance(rng, 0.1),
    homepage: chance(rng, 0.3) ? `https://${spec.name}.example.com` : null,
    language: spec.kind === "empty" ? null : pick(rng, LANGUAGES),
    forks_count: 0,
    archived: false,
    default_branch: chance(rng, 0.85) ? "main" : "master",
    topics: spec.kind === "empty" ? [] : sample(rng, TOPICS, int(rng, 0, 4)).sort(),
    license: chance(rng, 0.6) ? { key: "mit", name: "MIT License", spdx_id: "MIT" } : null,
    created_at: createdAt,
    updated_at: createdAt,
    pushed_at: createdAt,
    size: 0,
    deleted: false,
    labels: [],
    milestones: [],
    workflows: [],
    contributors: [...contributors, ...maintainers],
    maintainers,
    items: [],
    commits: [],
    stars: [],
    releases: [],
    runs: [],
  };
  if (spec.kind === "empty") return repo;

  repo.labels = sample(rng, LABEL_DEFS, int(rng, 5, LABEL_DEFS.length)).map((d): Label => {
    const lid = (world.ids.label += int(rng, 1, 100_000));
    return { id: lid, node_id: nodeId("LA", lid), ...d };
  });
  repo.milestones = buildMilestones(world, rng, repo);
  repo.workflows = buildWorkflows(world, rng, p.runs);
  const end = DATA_END - HOUR;

  // Commits first: PRs and runs point at their shas.
  let parent: string | null = null;
  for (const t of sortedTimes(rng, p.commits, createdAt, end)) {
    const c = buildCommit(repo, rng, t, parent);
    repo.commits.push(c);
    parent = c.sha;
  }

  const itemTimes = sortedTimes(rng, p.items, createdAt + DAY, end);
  const bigIndex = p.bigReactions ? Math.floor(itemTimes.length / 2) : -1;
  itemTimes.forEach((t, i) => {
    // Newer items are more often still open.
    const pOpen = 0.08 + 0.5 * Math.pow(i / Math.max(1, itemTimes.length), 4);
    const item = buildItem(world, repo, rng, { number: i + 1, createdAt: t, end, pOpen, isPr: chance(rng, p.prShare) });
    const count = i === bigIndex ? p.bigReactions! : chance(rng, p.reactionRate) ? reactionCount(rng) : 0;
    if (count > 0) item.reactions = buildReactions(world, rng, item, count, item.created_at, end, repo.contributors);
    repo.items.push(item);
  });
  // Merged PRs point at a real commit of the default branch when there is one at or after the merge.
  for (const item of repo.items) {
    const merged = item.pull?.merged_at;
    if (item.pull && merged != null) {
      const c = repo.commits.find((x) => x.committer_date >= merged);
      if (c) item.pull.merge_commit_sha = c.sha;
    }
  }

  const stargazers = sample(rng, world.people, p.stars);
  const starTimes = sortedTimes(rng, stargazers.length, createdAt, end);
  repo.stars = stargazers.map((user, i) => ({ user, starred_at: starTimes[i]! }));

  const releaseTimes = sortedTimes(rng, p.releases, createdAt + DAY, end);
  releaseTimes.forEach((t, i) => {
    // Drafts are only listed to users with push access, so only such repositories get one.
    const draft = i === releaseTimes.length - 1 && spec.permissions.push && chance(rng, 0.5);
    repo.releases.push(buildRelease(world, repo, rng, i, t, draft));
  });

  const runTimes = sortedTimes(rng, p.runs, Math.max(createdAt, Date.UTC(2020, 0, 1)), end);
  runTimes.forEach((t, i) => {
    repo.runs.push(buildRun(world, repo, rng, t, end, i >= runTimes.length - 2 && chance(rng, 0.5)));
  });

  repo.forks_count = Math.floor(repo.stars.length / int(rng, 4, 12));
  finishRepo(repo);
  return repo;
}

function buildMilestones(world: World, rng: Rng, repo: Repo): Milestone[] {
  const out: Milestone[] = [];
  const n = int(rng, 0, 3);
  for (let i = 0; i < n; i++) {
    const mid = (world.ids.milestone += int(rng, 1, 10_000));
    const created = wholeSecond(repo.created_at + int(rng, 1, 400) * DAY);
    const closed = chance(rng, 0.4);
    out.push({
      id: mid,
      node_id: nodeId("MI", mid),
      number: i + 1,
      title: `v${i + 1}.0`,
      description: chance(rng, 0.5) ? null : `Milestone ${i + 1} 🏁`,
      state: closed ? "closed" : "open",
      creator: repo.maintainers[0]!,
      created_at: Math.min(created, DATA_END - DAY),
      updated_at: Math.min(created + 30 * DAY, DATA_END - HOUR),
      due_on: chance(rng, 0.5) ? Math.min(created + 60 * DAY, DATA_END) : null,
      closed_at: closed ? Math.min(created + 30 * DAY, DATA_END - HOUR) : null,
    });
  }
  return out;
}

function buildWorkflows(world: World, rng: Rng, runs: number): Workflow[] {
  if (runs === 0) return [];
  const defs = [
    { name: "CI", path: ".github/workflows/ci.yml" },
    { name: "Release", path: ".github/workflows/release.yml" },
    { name: "Nightly", path: ".github/workflows/nightly.yml" },
  ];
  return defs.slice(0, int(rng, 1, 3)).map((d) => ({ id: (world.ids.workflow += int(rng, 1, 5000)), ...d }));
}

/** Derived repository fields: pushed_at, updated_at (the latest change of anything), size. */
export function finishRepo(repo: Repo): void {
  const last = repo.commits[repo.commits.length - 1];
  repo.pushed_at = Math.max(repo.pushed_at, last ? last.committer_date : repo.created_at);
  let updated = Math.max(repo.updated_at, repo.pushed_at);
  for (const i of repo.items) updated = Math.max(updated, i.updated_at);
  const lastStar = repo.stars[repo.stars.length - 1];
  if (lastStar) updated = Math.max(updated, lastStar.starred_at);
  for (const r of repo.releases) updated = Math.max(updated, r.created_at);
  repo.updated_at = updated;
  repo.size = repo.commits.length * 13 + repo.items.length * 2;
}
