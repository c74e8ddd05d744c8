// Mutations for incremental-run tests: new rows get the clock's time (never earlier than the repository's
// last change, so `since` filters and ETags always see them) and bump the repository as GitHub would.

import type { Repo, World } from "./model";
import type { Mutation } from "./types";
import { buildCommit, buildItem, buildReactions, buildRelease, buildRun, wholeSecond } from "./builders";
import { finishRepo } from "./data";
import { ensurePeople } from "./people";
import { fullName } from "./shapes";
import type { Rng } from "./prng";

export class MutationError extends Error {}

export function findRepo(world: World, ref: string): Repo {
  const want = ref.toLowerCase();
  const live = world.repos.filter((r) => !r.deleted);
  const hit = want.includes("/")
    ? live.find((r) => fullName(r).toLowerCase() === want)
    : live.filter((r) => r.name.toLowerCase() === want).length === 1
      ? live.find((r) => r.name.toLowerCase() === want)
      : undefined;
  if (!hit) throw new MutationError(`unknown or ambiguous repository: ${ref}`);
  return hit;
}

function checkCount(n: unknown): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 100_000) throw new MutationError(`bad count: ${String(n)}`);
  return n;
}

export function applyMutation(world: World, m: Mutation, now: number, rng: Rng): void {
  const stampFor = (repo: Repo) => wholeSecond(Math.max(now, repo.updated_at + 1000));
  const touched = new Map<Repo, number>();
  const stamp = (repo: Repo) => {
    let t = touched.get(repo);
    if (t === undefined) touched.set(repo, (t = stampFor(repo)));
    return t;
  };

  for (const { repo: ref, count } of m.addIssues ?? []) addItems(world, findRepo(world, ref), checkCount(count), false, stamp, rng);
  for (const { repo: ref, count } of m.addPulls ?? []) {
    const repo = findRepo(world, ref);
    addItems(world, repo, checkCount(count), true, stamp, rng);
    repo.pushed_at = Math.max(repo.pushed_at, stamp(repo));
  }
  for (const { repo: ref, count } of m.addCommits ?? []) {
    const repo = findRepo(world, ref);
    const t = stamp(repo);
    for (let i = 0; i < checkCount(count); i++) {
      const parent = repo.commits[repo.commits.length - 1]?.sha ?? null;
      repo.commits.push(buildCommit(repo, rng, t, parent));
    }
  }
  for (const { repo: ref, count } of m.addStars ?? []) {
    const repo = findRepo(world, ref);
    const t = stamp(repo);
    const starring = new Set(repo.stars.map((s) => s.user.id));
    let need = checkCount(count);
    ensurePeople(world, starring.size + need + 1);
    for (const user of world.people) {
      if (need === 0) break;
      if (starring.has(user.id)) continue;
      repo.stars.push({ user, starred_at: t });
      need--;
    }
  }
  for (const { repo: ref, count } of m.addReleases ?? []) {
    const repo = findRepo(world, ref);
    const t = stamp(repo);
    for (let i = 0; i < checkCount(count); i++) repo.releases.push(buildRelease(world, repo, rng, repo.releases.length, t, false));
  }
  for (const { repo: ref, count } of m.addWorkflowRuns ?? []) {
    const repo = findRepo(world, ref);
    const t = stamp(repo);
    if (repo.workflows.length === 0) repo.workflows.push({ id: (world.ids.workflow += 1 + Math.floor(rng() * 5000)), name: "CI", path: ".github/workflows/ci.yml" });
    for (let i = 0; i < checkCount(count); i++) repo.runs.push(buildRun(world, repo, rng, t, t, false));
  }
  for (const { repo: ref, count, number } of m.addReactions ?? []) {
    const repo = findRepo(world, ref);
    const t = stamp(repo);
    const n = checkCount(count);
    const people = [...repo.contributors, ...world.people.slice(0, 200)];
    if (number !== undefined) {
      const item = repo.items[number - 1];
      if (!item) throw new MutationError(`no issue #${number} in ${fullName(repo)}`);
      item.reactions.push(...buildReactions(world, rng, item, n, t, t, people));
    } else {
      // Reactions do not change an issue's updated_at on GitHub; only the rollup changes.
      for (const item of repo.items.slice(-n)) item.reactions.push(...buildReactions(world, rng, item, 1, t, t, people));
    }
  }
  for (const { repo: ref, count, close } of m.updateIssues ?? []) {
    const repo = findRepo(world, ref);
    const t = stamp(repo);
    const oldest = repo.items.filter((i) => !i.pull).sort((a, b) => a.updated_at - b.updated_at || a.number - b.number);
    for (const item of oldest.slice(0, checkCount(count))) {
      item.updated_at = t;
      if (close && item.state === "open") {
        item.state = "closed";
        item.closed_at = t;
        item.state_reason = "completed";
      }
    }
  }
  for (const ref of m.deleteRepos ?? []) findRepo(world, ref).deleted = true;

  for (const [repo, t] of touched) {
    finishRepo(repo);
    repo.updated_at = Math.max(repo.updated_at, t);
  }
}

function addItems(world: World, repo: Repo, count: number, isPr: boolean, stamp: (r: Repo) => number, rng: Rng): void {
  const t = stamp(repo);
  for (let i = 0; i < count; i++) {
    repo.items.push(buildItem(world, repo, rng, { number: repo.items.length + 1, createdAt: t, end: t, pOpen: 1, isPr }));
  }
}
