/** Whole runs inside workerd against a simulator, for the rate-limit specs: start a run through the admin API, wait
 *  for its end, read back what landed, compare with the simulator's truth, and measure how much of each primary
 *  window the fleet spent. */
import { tableFromIPC } from "apache-arrow";
import { env, exports } from "cloudflare:workers";
import init, { readParquet } from "parquet-wasm/esm";
import wasm from "parquet-wasm/esm/parquet_wasm_bg.wasm";
import { vi } from "vitest";
import { GitHubSimulator, type SimOptions } from "../../sim/simulator";
import type { SimWindow } from "../../sim/types";
import type { RunStatus } from "../../src/objects/RunCoordinator";

const KEY = { issues: "id", pull_requests: "id", commits: "sha", stargazers: "user_id", releases: "id", workflow_runs: "id", reactions: "id" } as const;
export type Table = keyof typeof KEY;
export const TABLES = Object.keys(KEY) as Table[];

let ready: Promise<unknown> | undefined;

/** Serves env.GITHUB_API_URL from a fresh simulator; every other URL is refused (no network in tests). */
export function simulate(options: SimOptions = {}): GitHubSimulator {
  const sim = new GitHubSimulator({ users: [{ login: "octo-sim", id: 9000001, tokens: [env.GITHUB_TOKEN] }], ...options });
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(env.GITHUB_API_URL)) throw new TypeError(`network disabled in tests: ${request.url}`);
    return sim.handle(request);
  });
  return sim;
}

export async function runToEnd(body: unknown, timeoutMs = 120_000, during?: () => Promise<void>): Promise<RunStatus> {
  const res = await exports.default.fetch(new Request("https://lake.test/runs", {
    method: "POST", body: JSON.stringify(body), headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` },
  }));
  if (res.status !== 202) throw new Error(`POST /runs → ${res.status} ${await res.text()}`);
  const { runId } = (await res.json()) as { runId: string };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await env.RUN_COORDINATOR.getByName("coordinator").status(runId))!;
    if (status.status !== "running") return status;
    if (Date.now() > deadline) throw new Error(`run still running: ${JSON.stringify(status.tasks)}`);
    await during?.();
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The primary keys a run landed, per table and repository (sorted), read back from R2. */
export async function landed(status: RunStatus): Promise<Record<Table, Record<string, string[]>>> {
  ready ??= init({ module_or_path: wasm });
  await ready;
  const out = Object.fromEntries(TABLES.map((t) => [t, {}])) as Record<Table, Record<string, string[]>>;
  for (const file of status.files) {
    if (!(file.resource in KEY)) continue;
    const object = await env.LAKE.get(file.key);
    const table = tableFromIPC(readParquet(new Uint8Array(await object!.arrayBuffer())).intoIPCStream());
    const resource = file.resource as Table;
    const owners = table.getChild("repository_owner")!.toArray() as string[];
    const names = table.getChild("repository_name")!.toArray() as string[];
    const keys = [...table.getChild(KEY[resource])!.toArray()].map(String);
    keys.forEach((k, i) => (out[resource][`${owners[i]}/${names[i]}`] ??= []).push(k));
  }
  for (const t of TABLES) for (const repo of Object.keys(out[t])) out[t][repo]!.sort();
  return out;
}

export function truthKeys(sim: GitHubSimulator, table: Table): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [repo, keys] of Object.entries(sim.truth().tables[table] as Record<string, Array<string | number>>)) {
    if (keys.length > 0) out[repo] = keys.map(String).sort();
  }
  return out;
}

/** Share of the budget (net of the reserve) that GitHub counted in the windows where the fleet was quota-bound — those
 *  in which the bucket made a caller wait for the reset (`exhausted`); the others were bound by something else (the
 *  work left, the local queue's batching). */
export function utilization(simWindows: SimWindow[], bucketWindows: Array<{ resetAt: string | null; exhausted: boolean }>, reserve: number) {
  const bound = simWindows.filter((w) => bucketWindows.some((b) => {
    if (!b.exhausted || b.resetAt === null) return false;
    const lag = Date.parse(b.resetAt) - w.end; // x-ratelimit-reset is the window's end rounded up to the second
    return lag >= 0 && lag < 1_000;
  }));
  const spent = bound.reduce((n, w) => n + w.used, 0);
  const budget = bound.reduce((n, w) => n + (w.limit - reserve), 0);
  return { windows: simWindows.length, quotaBound: bound.length, spent, budget, share: budget > 0 ? spent / budget : NaN };
}
