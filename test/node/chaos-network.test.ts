/** Chaos on real sockets, under `wrangler dev`: the real Worker with the real local Queues (batches, retries, DLQ) and
 *  Durable Objects, against the simulator served over HTTP behind sim/chaos.ts (sim/chaos-server.ts). Hung connections
 *  get no answer until the Worker's timeout closes them; resets destroy the socket; and 5xx, truncated and HTML bodies,
 *  secondary-limit bursts, a repository deleted and tokens revoked mid-run, all at once. The files are read back with
 *  DuckDB: every row of the truth exactly once. (The in-workerd chaos suite adds the platform's faults.) */
import { DuckDBInstance } from "@duckdb/node-api";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { startChaosSimulator, type RunningChaosSimulator } from "../../sim/chaos-server";
import type { SimTruth } from "../../sim/types";
import { startDevStack, type DevStack } from "../../scripts/devstack";
import { exportRun, followRun } from "../../scripts/runs";
import type { RunStatus } from "../../src/objects/RunCoordinator";

const KEY = { issues: "id", pull_requests: "id", commits: "sha", stargazers: "user_id", releases: "id", workflow_runs: "id", reactions: "id" } as const;
const TOKENS = { a: "ghp_netchaosA000000000000000000000000000", b1: "ghp_netchaosB100000000000000000000000000", b2: "ghp_netchaosB200000000000000000000000000", c: "ghp_netchaosC000000000000000000000000000" };

let gh: RunningChaosSimulator;
let stack: DevStack;
let status: RunStatus;
let before: SimTruth;
let victim = "";
let dir = "";
let got: Record<string, Record<string, string[]>> = {};
let lakeKeys: string[] = [];

beforeAll(async () => {
  gh = await startChaosSimulator(
    {
      users: [{ login: "octo-sim", id: 9000001, tokens: [TOKENS.a] }, { login: "net-b", id: 9000002, tokens: [TOKENS.b1, TOKENS.b2] }, { login: "net-c", id: 9000003, tokens: [TOKENS.c] }],
      secondary: { maxConcurrent: 8, maxPerMinute: 900 },
      latencyMs: [0, 5],
    },
    (sim) => {
      before = sim.truth();
      victim = before.repositories.map((r) => r.full_name).find((n) => n.endsWith("/mobile-app")) ?? before.repositories[2]!.full_name;
      return {
        seed: 5, serverErrorRate: 0.1, hangRate: 0.005, resetRate: 0.03, truncateRate: 0.02, nonJsonRate: 0.02, quietFirst: 4,
        faultAt: { 1: "truncated", 25: "hang", 35: "reset" },
        secondaryBursts: [{ atRequest: 30, length: 2, retryAfterSeconds: 1, token: TOKENS.c }, { atRequest: 70, length: 1, retryAfterSeconds: null, status: 429, token: TOKENS.c }],
        deleteRepo: { repo: victim, afterRequests: 3 },
        revoke: [{ token: TOKENS.a, atRequest: 40 }, { token: TOKENS.b2, atRequest: 90 }],
      };
    },
  );
  stack = await startDevStack({ vars: { GITHUB_API_URL: gh.url, GITHUB_TOKEN: [TOKENS.c, TOKENS.a, TOKENS.b1, TOKENS.b2].join(","), GITHUB_TIMEOUT_MS: "2000", PAGES_PER_PART: "2", RATE_RESERVE: "0" } });
  try {
    const { runId } = await stack.apiJson<{ runId: string }>("/runs", { method: "POST", body: '{"mode": "full"}' });
    status = await followRun(stack, runId, () => {}, 180_000);
    dir = mkdtempSync(join(tmpdir(), "github-lake-chaos-"));
    await exportRun(stack, status, dir);
    const listed = await stack.apiJson<{ objects: Array<{ key: string }> }>(`/lake?prefix=${encodeURIComponent("sources/github/")}`);
    lakeKeys = listed.objects.map((o) => o.key).filter((k) => k.includes(runId) && k.endsWith(".parquet"));
    const db = await (await DuckDBInstance.create(":memory:")).connect();
    for (const [table, key] of Object.entries(KEY)) {
      const rows = (await db.runAndReadAll(`SELECT repository_owner || '/' || repository_name AS repo, ${key}::VARCHAR AS k FROM read_parquet('${join(dir, "sources/github", table)}/**/*.parquet')`)).getRowObjectsJson() as Array<{ repo: string; k: string }>;
      for (const r of rows) ((got[table] ??= {})[r.repo] ??= []).push(r.k);
    }
  } catch (err) {
    console.error(stack.output().slice(-5000));
    throw err;
  }
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  await gh?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a run under network faults on real sockets, with the real local queue", () => {
  it("met every fault: hangs ended by the Worker's timeout, resets, 5xx, bad bodies, bursts, a deletion, revocations", ({ expect }) => {
    const s = gh.chaos.stats();
    expect(s.injected.hang).toBeGreaterThanOrEqual(1);
    expect(s.hangsAborted).toBe(s.injected.hang); // every hang ended by the client closing the connection
    expect(s.injected.reset).toBeGreaterThanOrEqual(1);
    expect(s.injected.serverError + s.injected.htmlErrorPage).toBeGreaterThan(0);
    expect(s.injected.truncated + s.injected.nonJson).toBeGreaterThan(0);
    expect(s.injected.secondaryWithRetryAfter + s.injected.secondaryWithoutRetryAfter).toBeGreaterThan(0);
    expect(s.deleted).toEqual([victim]);
    expect(s.refused).toContain(TOKENS.a);
  });

  it("ends with every repository × resource accounted for, the deleted repository as an error, no task failed", ({ expect }) => {
    expect(status.status).toBe("completed_with_errors");
    expect(status.tasks.failed + status.tasks.dead).toBe(0);
    expect(status.errors.filter((e) => e.repository === victim).map((e) => e.coverage)).toContain("not_found");
  });

  it.for(Object.keys(KEY))("landed %s: every row of the truth exactly once", (table, { expect }) => {
    const after = gh.sim.truth();
    const rows = got[table] ?? {};
    for (const [repo, keys] of Object.entries(rows)) expect(keys.length, `${table} of ${repo}: duplicates`).toBe(new Set(keys).size);
    const want: Record<string, string[]> = {};
    for (const [repo, keys] of Object.entries(after.tables[table as keyof SimTruth["tables"]] as Record<string, Array<string | number>>)) {
      if (keys.length > 0) want[repo] = keys.map(String).sort();
    }
    const { [victim]: victimRows = [], ...others } = rows;
    expect(Object.fromEntries(Object.entries(others).map(([r, k]) => [r, [...k].sort()]))).toEqual(want);
    const had = new Set(((before.tables[table as keyof SimTruth["tables"]] as Record<string, Array<string | number>>)[victim] ?? []).map(String));
    expect(victimRows.filter((k) => !had.has(k))).toEqual([]); // what landed of the deleted repository, it had
  });

  it("lists exactly the run's files in the lake, and tripped no GitHub limit", ({ expect }) => {
    expect(lakeKeys.sort()).toEqual(status.files.map((f) => f.key).filter((k) => k.endsWith(".parquet")).sort());
    expect(gh.sim.stats().violations.total).toBe(0);
    expect(Math.max(...Object.values(gh.chaos.stats().maxInFlight))).toBeLessThanOrEqual(8);
  });
});
