// What a complete extraction of everything the token can see must land, derived from the same model
// the endpoints serve (so truth and answers cannot drift apart).

import type { Repo, World } from "./model";
import type { CoverageState, ResourceName, SimTruth } from "./types";
import { RESOURCES } from "./types";
import { fullName } from "./shapes";

/** The extraction the truth describes pages at per_page=100. */
const PER_PAGE = 100;

export function listedRepos(world: World): Repo[] {
  return world.repos
    .filter((r) => !r.deleted)
    .sort((a, b) => (fullName(a).toLowerCase() < fullName(b).toLowerCase() ? -1 : 1));
}

export function computeTruth(world: World, stargazerPageCap: number): SimTruth {
  const truth: SimTruth = {
    repositories: [],
    tables: { issues: {}, pull_requests: {}, commits: {}, stargazers: {}, releases: {}, workflow_runs: {}, reactions: {} },
    coverage: {},
  };
  for (const repo of listedRepos(world)) {
    const fn = fullName(repo);
    truth.repositories.push({ id: repo.id, full_name: fn });
    if (repo.kind === "vanished") {
      truth.coverage[fn] = Object.fromEntries(RESOURCES.map((r) => [r, "not_found"])) as Record<ResourceName, CoverageState>;
      continue;
    }
    const t = truth.tables;
    t.issues[fn] = repo.items.filter((i) => !i.pull).map((i) => i.id);
    t.pull_requests[fn] = repo.items.flatMap((i) => (i.pull ? [i.pull.id] : []));
    t.commits[fn] = repo.commits.map((c) => c.sha).reverse();
    const restricted = !repo.permissions.push;
    const visibleStars = restricted ? [] : repo.stars.slice(0, stargazerPageCap * PER_PAGE);
    t.stargazers[fn] = visibleStars.map((s) => s.user.id);
    t.releases[fn] = repo.releases.filter((r) => repo.permissions.push || !r.draft).map((r) => r.id);
    t.workflow_runs[fn] = repo.runs.map((r) => r.id);
    t.reactions[fn] = repo.items.flatMap((i) => i.reactions.map((r) => r.id));
    truth.coverage[fn] = {
      issues: "complete",
      pull_requests: "complete",
      commits: repo.commits.length === 0 ? "empty" : "complete",
      stargazers: restricted ? "restricted" : visibleStars.length < repo.stars.length ? "partial" : "complete",
      releases: "complete",
      workflow_runs: "complete",
      reactions: "complete",
    };
  }
  return truth;
}
