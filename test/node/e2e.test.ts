/** End to end: the real Worker under `wrangler dev` extracts everything the bundled GitHub simulator holds; the files
 *  are read back by an independent Parquet reader (DuckDB) and compared with the simulator's ground truth. */
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { startDevStack, type DevStack } from "../../scripts/devstack";
import { exportRun, followRun } from "../../scripts/runs";
import type { FeedMessage, RunStatus } from "../../src/objects/RunCoordinator";
import { TABLES, type ResourceName } from "../../src/lake/schemas";
import type { SimTruth } from "../../sim/simulator";

const KEY: Record<Exclude<ResourceName, "repositories">, string> = {
  issues: "id", pull_requests: "id", commits: "sha", stargazers: "user_id", releases: "id", workflow_runs: "id", reactions: "id",
};

let stack: DevStack;
let dir: string;
let status: RunStatus;
let truth: SimTruth;
let feed: FeedMessage[] = [];
let db: DuckDBConnection;

async function query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJson() as T[];
}
const glob = (table: string) => `read_parquet('${join(dir, "sources/github", table)}/**/*.parquet', hive_partitioning=1)`;

beforeAll(async () => {
  // Two pages per part so the big repository's listings are split into continuation parts.
  stack = await startDevStack({ vars: { PAGES_PER_PART: "2", RATE_RESERVE: "0" } });
  try {
    const { runId } = await stack.apiJson<{ runId: string }>("/runs", { method: "POST", body: "{}" });
    status = await followRun(stack, runId, (m) => void feed.push(m), 180_000);
    dir = mkdtempSync(join(tmpdir(), "github-lake-e2e-"));
    await exportRun(stack, status, dir);
    truth = (await (await fetch(`${stack.simUrl}/_sim/truth`)).json()) as SimTruth;
    db = await (await DuckDBInstance.create(":memory:")).connect();
  } catch (err) {
    console.error(stack.output().slice(-5000));
    throw err;
  }
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a whole extraction of the simulator under wrangler dev", () => {
  it("ends the run with every repository × resource accounted for", ({ expect }) => {
    expect(status.status).toBe("completed_with_errors"); // the simulator's vanished repository is an error, by design
    expect(status.tasks.pending + status.tasks.running + status.tasks.waiting).toBe(0);
    expect(status.tasks.failed).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, status.manifestKey!), "utf8")) as { coverage: Array<{ repository: string; resource: string; coverage: string }> };
    const got: Record<string, Record<string, string>> = {};
    for (const c of manifest.coverage) if (c.resource !== "repositories") (got[c.repository] ??= {})[c.resource] = c.coverage;
    expect(got).toEqual(truth.coverage);
  });

  it("streamed snapshot, progress and completed messages over the live feed", ({ expect }) => {
    expect(feed[0]?.type).toBe("snapshot");
    expect(feed.some((m) => m.type === "progress")).toBe(true);
    expect(feed.at(-1)?.type).toBe("completed");
  });

  it("never tripped a GitHub limit", async ({ expect }) => {
    const stats = (await (await fetch(`${stack.simUrl}/_sim/stats`)).json()) as { violations: { total: number }; requests: number };
    expect(stats.violations.total).toBe(0);
    expect(status.counters.requests).toBeGreaterThan(0);
  });

  it("landed the repositories table with exactly the listed repositories", async ({ expect }) => {
    const rows = await query<{ id: string; full_name: string }>(`SELECT id::VARCHAR AS id, full_name FROM ${glob("repositories")} ORDER BY id`);
    expect(rows.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(truth.repositories.map((r) => r.id).sort((a, b) => a - b));
  });

  it.for(Object.keys(KEY) as Array<keyof typeof KEY>)("landed %s: exactly the ground truth's keys per repository, none twice", async (table, { expect }) => {
    const key = KEY[table];
    const rows = await query<{ repo: string; k: string; n: number }>(
      `SELECT repository_owner || '/' || repository_name AS repo, ${key}::VARCHAR AS k, count(*)::INTEGER AS n FROM ${glob(table)} GROUP BY ALL`);
    expect(rows.filter((r) => r.n > 1), "duplicates").toEqual([]);
    const got: Record<string, string[]> = {};
    for (const r of rows) (got[r.repo] ??= []).push(r.k);
    const want: Record<string, string[]> = {};
    for (const [repo, keys] of Object.entries(truth.tables[table] as Record<string, Array<string | number>>)) {
      if (keys.length > 0) want[repo] = keys.map(String);
    }
    for (const repo of Object.keys(want)) expect(got[repo]?.sort(), `${table} of ${repo}`).toEqual(want[repo]!.sort());
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    expect(rows.length, `${table} is non-empty`).toBeGreaterThan(0);
  });

  it("keeps pull requests out of the issues table", async ({ expect }) => {
    const prIssueIds = await query(`SELECT i.id FROM ${glob("issues")} i JOIN ${glob("pull_requests")} p
      ON i.repository_id = p.repository_id AND i.number = p.number`);
    expect(prIssueIds).toEqual([]);
  });

  it("types the columns: TIMESTAMP times, BIGINT ids, BOOLEAN flags, lists for labels", async ({ expect }) => {
    for (const [table, columns] of Object.entries(TABLES)) {
      const described = await query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${glob(table)}`);
      const types = Object.fromEntries(described.map((d) => [d.column_name, d.column_type]));
      for (const c of columns) {
        const want = { timestamp: /^TIMESTAMP/, int64: /^BIGINT$/, int32: /^INTEGER$/, bool: /^BOOLEAN$/, string: /^VARCHAR$/, "list<string>": /^VARCHAR\[\]$/, float64: /^DOUBLE$/ }[c.type];
        expect(types[c.name], `${table}.${c.name}`).toMatch(want);
      }
      expect(Object.keys(types)).toEqual(expect.arrayContaining(["year", "month", "day"])); // Hive partitions
    }
    expect((await query<{ t: string }>(`SELECT typeof(labels) AS t FROM ${glob("issues")} LIMIT 1`))[0]?.t).toBe("VARCHAR[]");
  });

  it("stamps every row with the run and lands the run in one day's partition", async ({ expect }) => {
    const rows = await query<{ run: string; parts: number; missing: number }>(
      `SELECT any_value(_run_id) AS run, count(DISTINCT (year, month, day))::INTEGER AS parts, count(*) FILTER (WHERE _extracted_at IS NULL)::INTEGER AS missing FROM ${glob("commits")}`);
    expect(rows[0]).toEqual({ run: status.runId, parts: 1, missing: 0 });
  });
});
