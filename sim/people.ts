// Accounts of the simulated world: the viewer (first configured user), an organization, a friend whose
// repository the viewer collaborates on, well-known bots, and a pool of synthetic people.

import type { Account, AccountType, World } from "./model";
import { DISPLAY_NAMES, FIRST_NAMES, LAST_NAMES } from "./text";
import { chance, int, pick, rngFor } from "./prng";

/** GitHub-style global node id (opaque base64-ish text with a type prefix). */
export function nodeId(prefix: string, id: number | string): string {
  return `${prefix}_kwDO${btoa(String(id)).replace(/=+$/, "")}`;
}

export function account(login: string, id: number, type: AccountType, name: string | null = null): Account {
  const prefix = type === "Organization" ? "O" : type === "Bot" ? "BOT" : "U";
  return { login, id, node_id: nodeId(prefix, id), type, name };
}

export const ORG = (): Account => account("sim-org", 9100001, "Organization", "Sim Org");
export const FRIEND = (): Account => account("sim-friend", 9000777, "User", "Sim Friend");
/** GitHub's own committer for web merges. */
export const WEB_FLOW = (): Account => account("web-flow", 19864447, "User", "GitHub");
export const BOTS = (): Account[] => [
  account("dependabot[bot]", 49699333, "Bot"),
  account("github-actions[bot]", 41898282, "Bot"),
  account("renovate[bot]", 29139614, "Bot"),
];

/**
 * The i-th synthetic person: a pure function of (seed, i), so the pool can grow later (more stargazers
 * after a mutation) without changing anyone generated before. Ids are spaced 1000 apart, hence unique.
 */
export function person(seed: number, i: number): Account {
  const rng = rngFor(seed, "person", i);
  const first = pick(rng, FIRST_NAMES);
  const last = pick(rng, LAST_NAMES);
  const sep = chance(rng, 0.5) ? "-" : "";
  // The index suffix keeps logins unique; GitHub logins are alphanumerics and single hyphens.
  const login = `${first}${sep}${last}${i}`;
  const id = 100000 + i * 1000 + int(rng, 0, 999);
  const name = chance(rng, 0.3)
    ? pick(rng, DISPLAY_NAMES)
    : chance(rng, 0.15)
      ? null
      : `${first[0]?.toUpperCase()}${first.slice(1)} ${last[0]?.toUpperCase()}${last.slice(1)}`;
  return account(login, id, "User", name);
}

/** Make sure the pool has at least n people. */
export function ensurePeople(world: World, n: number): void {
  for (let i = world.people.length; i < n; i++) world.people.push(person(world.seed, i));
}

export function emailOf(a: Account): string {
  return `${a.id}+${a.login}@users.noreply.github.com`;
}

export function displayName(a: Account): string {
  return a.name ?? a.login;
}
