// Builders for single rows (issue/PR, reaction, commit, star, release, workflow run). Shared by the
// initial generation (sim/data.ts) and by mutations (sim/mutate.ts), so new rows look like old ones.

import type {
  Account,
  AuthorAssociation,
  Commit,
  Item,
  PullSide,
  Reaction,
  ReactionContent,
  Release,
  Repo,
  StateReason,
  World,
  WorkflowRun,
} from "./model";
import { REACTION_CONTENTS } from "./model";
import { chance, hex, int, pick, sample, type Rng } from "./prng";
import { BRANCHES, DISPLAY_NAMES, body, commitMessage, title } from "./text";
import { WEB_FLOW, displayName, emailOf, nodeId } from "./people";

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** GitHub timestamps have whole seconds. */
export function wholeSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

export function association(repo: Repo, user: Account, rng: Rng): AuthorAssociation {
  if (user.login === repo.owner.login) return "OWNER";
  if (repo.maintainers.some((m) => m.id === user.id)) return repo.owner.type === "Organization" ? "MEMBER" : "COLLABORATOR";
  if (user.type === "Bot") return "CONTRIBUTOR";
  const r = rng();
  return r < 0.05 ? "FIRST_TIME_CONTRIBUTOR" : r < 0.25 ? "NONE" : "CONTRIBUTOR";
}

/**
 * A time `t` kept within [lo, end]: a late time is spread over the last hours before `end` instead of
 * being clamped, so recent rows do not pile up on one identical timestamp.
 */
export function within(rng: Rng, t: number, lo: number, end: number): number {
  if (t <= end) return wholeSecond(Math.max(lo, t));
  return wholeSecond(Math.max(lo, end - Math.floor(rng() * Math.min(12 * HOUR, Math.max(0, end - lo)))));
}

/** How long an issue/PR stays open before it is closed: mostly days, with a long tail. */
function openDuration(rng: Rng): number {
  const r = rng();
  if (r < 0.5) return int(rng, 10 * MINUTE, 3 * DAY);
  if (r < 0.9) return int(rng, 3 * DAY, 90 * DAY);
  return int(rng, 90 * DAY, 500 * DAY);
}

export interface ItemSpec {
  number: number;
  createdAt: number;
  /** Latest allowed timestamp for closed/updated times. */
  end: number;
  pOpen: number;
  isPr: boolean;
}

export function buildItem(world: World, repo: Repo, rng: Rng, spec: ItemSpec): Item {
  const { number, createdAt, end, isPr } = spec;
  const bot = isPr && chance(rng, 0.1) ? world.bots[0] : undefined;
  const user = bot ?? pick(rng, chance(rng, 0.3) ? repo.maintainers : repo.contributors);
  const open = chance(rng, spec.pOpen);
  const closedAt = open ? null : within(rng, createdAt + openDuration(rng), createdAt, end);
  const updatedAt =
    closedAt === null
      ? within(rng, createdAt + (chance(rng, 0.4) ? 0 : int(rng, 0, 60 * DAY)), createdAt, end)
      : within(rng, closedAt + (chance(rng, 0.3) ? int(rng, 0, 10 * DAY) : 0), closedAt, end);

  let labels = repo.labels.length === 0 ? [] : sample(rng, repo.labels, pick(rng, [0, 0, 0, 1, 1, 1, 2, 3]));
  if (bot) labels = repo.labels.filter((l) => l.name === "dependencies");
  const assignees = sample(rng, repo.maintainers, pick(rng, [0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 3]));
  const milestone = repo.milestones.length > 0 && chance(rng, 0.2) ? pick(rng, repo.milestones) : null;

  let stateReason: StateReason = null;
  if (!isPr) {
    if (closedAt !== null) {
      const r = rng();
      stateReason = r < 0.78 ? "completed" : r < 0.93 ? "not_planned" : "duplicate";
    } else if (chance(rng, 0.05)) {
      stateReason = "reopened";
    }
  }
  const locked = chance(rng, 0.02);
  const id = (world.ids.issue += int(rng, 1, 4000));

  const item: Item = {
    number,
    id,
    node_id: nodeId(isPr ? "PR_I" : "I", id),
    title: bot ? `Bump ${pick(rng, ["vite", "typescript", "undici", "esbuild"])} from 1.${number % 9}.0 to 1.${(number % 9) + 1}.0` : title(rng),
    user,
    labels,
    state: open ? "open" : "closed",
    state_reason: stateReason,
    locked,
    active_lock_reason: locked ? pick(rng, ["resolved", "too heated", "off-topic", "spam"]) : null,
    assignees,
    milestone,
    comments: pick(rng, [0, 0, 0, 1, 1, 2, 3, 5, 8, 13, 27]),
    created_at: createdAt,
    updated_at: Math.max(createdAt, updatedAt),
    closed_at: closedAt,
    author_association: association(repo, user, rng),
    body: body(rng),
    reactions: [],
    pull: null,
  };
  if (isPr) item.pull = buildPullSide(world, repo, rng, item, closedAt);
  return item;
}

function buildPullSide(world: World, repo: Repo, rng: Rng, item: Item, closedAt: number | null): PullSide {
  const id = (world.ids.pull += int(rng, 1, 3000));
  const merged = closedAt !== null && chance(rng, 0.7);
  return {
    id,
    node_id: nodeId("PR", id),
    draft: closedAt === null && chance(rng, 0.25),
    merged_at: merged ? closedAt : null,
    // GitHub keeps the sha of the last test merge even for unmerged PRs; sometimes it is null.
    merge_commit_sha: merged || closedAt === null || chance(rng, 0.7) ? hex(rng, 40) : null,
    head_ref: `${pick(rng, BRANCHES)}-${item.number}`,
    head_sha: hex(rng, 40),
    base_ref: repo.default_branch,
    base_sha: repo.commits.length > 0 ? pick(rng, repo.commits).sha : hex(rng, 40),
    requested_reviewers: closedAt === null && chance(rng, 0.3) ? [pick(rng, repo.maintainers)] : [],
  };
}

/** How many reactions an item with reactions gets: mostly a handful. */
export function reactionCount(rng: Rng): number {
  const r = rng();
  if (r < 0.4) return 1;
  if (r < 0.7) return int(rng, 2, 3);
  if (r < 0.9) return int(rng, 4, 8);
  return int(rng, 9, 20);
}

const CONTENT_WEIGHTS: ReadonlyArray<ReactionContent> = [
  "+1", "+1", "+1", "+1", "+1", "heart", "heart", "rocket", "hooray", "laugh", "eyes", "eyes", "-1", "confused",
];

/**
 * Reactions on one item. GitHub allows one reaction per (user, content), so pairs are kept unique;
 * `people` must offer enough users for `count` (8 contents per user).
 */
export function buildReactions(world: World, rng: Rng, item: Item, count: number, from: number, to: number, people: Account[]): Reaction[] {
  const taken = new Set(item.reactions.map((r) => `${r.user.id}:${r.content}`));
  const out: Reaction[] = [];
  let guard = 0;
  while (out.length < count && guard++ < count * 50) {
    const user = pick(rng, people);
    const content = guard > count * 10 ? pick(rng, REACTION_CONTENTS) : pick(rng, CONTENT_WEIGHTS);
    const key = `${user.id}:${content}`;
    if (taken.has(key)) continue;
    taken.add(key);
    out.push({ id: 0, node_id: "", user, content, created_at: wholeSecond(from + rng() * Math.max(0, to - from)) });
  }
  out.sort((a, b) => a.created_at - b.created_at);
  for (const r of out) {
    r.id = world.ids.reaction += int(rng, 1, 50);
    r.node_id = nodeId("REA", r.id);
  }
  return out;
}

export function buildCommit(repo: Repo, rng: Rng, committerDate: number, parent: string | null): Commit {
  const who = pick(rng, chance(rng, 0.4) ? repo.maintainers : repo.contributors);
  const linked = !chance(rng, 0.12);
  const webFlow = chance(rng, 0.2);
  const authorName = linked ? displayName(who) : pick(rng, DISPLAY_NAMES);
  const authorEmail = linked ? emailOf(who) : `dev${int(rng, 1, 999)}@example.com`;
  const authorDate = wholeSecond(Math.max(repo.created_at, committerDate - (chance(rng, 0.5) ? 0 : int(rng, 0, 3 * DAY))));
  const sha = hex(rng, 40);
  return {
    sha,
    node_id: nodeId("C", sha.slice(0, 16)),
    message: commitMessage(rng),
    author_name: authorName,
    author_email: authorEmail,
    author_date: authorDate,
    committer_name: webFlow ? "GitHub" : authorName,
    committer_email: webFlow ? "noreply@github.com" : authorEmail,
    committer_date: committerDate,
    author: linked ? who : null,
    committer: webFlow ? WEB_FLOW() : linked ? who : null,
    parents: parent === null ? [] : [parent],
    tree_sha: hex(rng, 40),
    comment_count: chance(rng, 0.05) ? int(rng, 1, 3) : 0,
    verified: webFlow || chance(rng, 0.2),
  };
}

/** Release number i gets a unique semver tag. */
export function buildRelease(world: World, repo: Repo, rng: Rng, i: number, createdAt: number, draft: boolean): Release {
  const version = `${Math.floor(i / 20)}.${Math.floor(i / 5) % 4}.${i % 5}`;
  const prerelease = !draft && chance(rng, 0.15);
  const tag = `v${version}${prerelease ? "-rc.1" : ""}`;
  const id = (world.ids.release += int(rng, 1, 20000));
  return {
    id,
    node_id: nodeId("RE", id),
    tag_name: tag,
    name: chance(rng, 0.1) ? null : chance(rng, 0.2) ? `${tag} 🎉` : tag,
    draft,
    prerelease,
    created_at: createdAt,
    published_at: draft ? null : within(rng, createdAt + int(rng, 0, 2 * HOUR), createdAt, Math.max(createdAt, world.dataEnd)),
    author: pick(rng, repo.maintainers),
    body: body(rng),
    target_commitish: repo.default_branch,
  };
}

export function buildRun(world: World, repo: Repo, rng: Rng, createdAt: number, end: number, inFlight: boolean): WorkflowRun {
  const workflow = chance(rng, 0.7) || repo.workflows.length === 1 ? repo.workflows[0]! : pick(rng, repo.workflows);
  const runNumber = 1 + repo.runs.filter((r) => r.workflow.id === workflow.id).length;
  const isNightly = workflow.name === "Nightly";
  const event = isNightly ? "schedule" : pick(rng, ["push", "push", "pull_request", "pull_request", "workflow_dispatch"]);
  const branch = event === "pull_request" ? `${pick(rng, BRANCHES)}-${int(rng, 1, 999)}` : repo.default_branch;
  const attempt = chance(rng, 0.1) ? 2 : 1;
  const started = within(rng, createdAt + int(rng, 0, 30_000) + (attempt - 1) * int(rng, HOUR, 5 * HOUR), createdAt, end);
  const r = rng();
  const status: WorkflowRun["status"] = inFlight ? (chance(rng, 0.5) ? "in_progress" : "queued") : "completed";
  const conclusion: WorkflowRun["conclusion"] =
    status !== "completed" ? null : r < 0.75 ? "success" : r < 0.9 ? "failure" : r < 0.95 ? "cancelled" : "skipped";
  const id = (world.ids.run += int(rng, 1, 90000));
  const actor = event === "schedule" ? repo.owner : pick(rng, repo.maintainers);
  return {
    id,
    node_id: nodeId("WFR", id),
    workflow,
    run_number: runNumber,
    run_attempt: attempt,
    event,
    status,
    conclusion,
    head_branch: branch,
    head_sha: repo.commits.length > 0 ? pick(rng, repo.commits).sha : hex(rng, 40),
    display_title: isNightly ? "Nightly" : title(rng),
    check_suite_id: (world.ids.checkSuite += int(rng, 1, 90000)),
    created_at: createdAt,
    updated_at: status === "completed" ? within(rng, started + int(rng, 30_000, 40 * MINUTE), started, end) : started,
    run_started_at: started,
    actor,
    triggering_actor: chance(rng, 0.9) ? actor : pick(rng, repo.maintainers),
  };
}
