/** Whole runs inside workerd: admin API → RunCoordinator → github-fetch-queue → fetchers → TokenBucket → GitHub
 *  (the bundled simulator, answering the Worker's own `fetch`) → Parquet in R2. */
import { tableFromIPC } from "apache-arrow";
import { env, exports } from "cloudflare:workers";
import init, { readParquet } from "parquet-wasm/esm";
import wasm from "parquet-wasm/esm/parquet_wasm_bg.wasm";
import { afterEach, beforeAll, describe, it, vi } from "vitest";
import { GitHubSimulator, type SimOptions } from "../sim/simulator";
import type { RunStatus } from "../src/objects/RunCoordinator";

const KEY = { issues: "id", pull_requests: "id", commits: "sha", stargazers: "user_id", releases: "id", workflow_runs: "id", reactions: "id", repositories: "id" } as const;
type Table = keyof typeof KEY;

beforeAll(async () => {
  await init({ module_or_path: wasm });
});
afterEach(() => vi.restoreAllMocks());

/** Serves env.GITHUB_API_URL from a fresh simulator; every other URL is refused (no network in tests). */
function simulate(options: SimOptions = {}): GitHubSimulator {
  const sim = new GitHubSimulator({ users: [{ login: "octo-sim", id: 9000001, tokens: [env.GITHUB_TOKEN] }], ...options });
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(env.GITHUB_API_URL)) throw new TypeError(`network disabled in tests: ${request.url}`);
    return sim.handle(request);
  });
  return sim;
}

async function runToEnd(body: unknown, timeoutMs = 60_000): Promise<RunStatus> {
  const res = await exports.default.fetch(new Request("https://lake.test/runs", {
    method: "POST", body: JSON.stringify(body), headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` },
  }));
  expectOk(res.status === 202, `POST /runs → ${res.status} ${await res.clone().text()}`);
  const { runId } = (await res.json()) as { runId: string };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await env.RUN_COORDINATOR.getByName("coordinator").status(runId))!;
    if (status.status !== "running") return status;
    if (Date.now() > deadline) throw new Error(`run still running: ${JSON.stringify(status.tasks)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function expectOk(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/** The primary keys a run landed, per table and repository, read back from R2. */
async function landed(status: RunStatus): Promise<Record<Table, Record<string, string[]>>> {
  const out = {} as Record<Table, Record<string, string[]>>;
  for (const file of status.files) {
    const object = await env.LAKE.get(file.key);
    const table = tableFromIPC(readParquet(new Uint8Array(await object!.arrayBuffer())).intoIPCStream());
    const resource = file.resource as Table;
    const owners = table.getChild("repository_owner")!.toArray() as string[];
    const names = table.getChild("repository_name")!.toArray() as string[];
    const keys = [...table.getChild(KEY[resource])!.toArray()].map(String);
    keys.forEach((k, i) => ((out[resource] ??= {})[`${owners[i]}/${names[i]}`] ??= []).push(k));
  }
  return out;
}

function truthKeys(sim: GitHubSimulator, table: Exclude<Table, "repositories">, repos?: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [repo, keys] of Object.entries(sim.truth().tables[table] as Record<string, Array<string | number>>)) {
    if (keys.length > 0 && (!repos || repos.includes(repo))) out[repo] = keys.map(String).sort();
  }
  return out;
}
const sorted = (m: Record<string, string[]> | undefined) => Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, [...v].sort()]));

describe("a run inside workerd against the simulator", () => {
  it("lands every row of every table exactly once and accounts for every repository × resource", async ({ expect }) => {
    const sim = simulate();
    const status = await runToEnd({ mode: "full" });
    expect(status.status).toBe("completed_with_errors"); // vanished-repo answers 404
    expect(status.tasks.failed).toBe(0);
    const got = await landed(status);
    for (const table of Object.keys(KEY) as Table[]) {
      if (table === "repositories") continue;
      expect(sorted(got[table]), table).toEqual(truthKeys(sim, table));
    }
    expect(Object.values(got.repositories ?? {}).flat().map(Number).sort((a, b) => a - b)).toEqual(sim.truth().repositories.map((r) => r.id).sort((a, b) => a - b));
    // Every request the run made is counted; the only others are the pool's one-off identity lookups (GET /user).
    const others = sim.stats().requests - status.counters.requests;
    expect(others).toBeGreaterThanOrEqual(0);
    expect(others).toBeLessThanOrEqual(1);
    expect(sim.stats().violations.total).toBe(0);
    expect(Object.keys(status.byResource).sort()).toEqual(Object.keys(KEY).sort());
  });

  it("lands reactions without writing issues when only reactions are asked for", async ({ expect }) => {
    const sim = simulate();
    const repos = sim.truth().repositories.map((r) => r.full_name).filter((n) => !n.endsWith("vanished-repo")).slice(0, 3);
    const status = await runToEnd({ repos, resources: ["reactions"], mode: "full" });
    expect(status.status).toBe("completed");
    expect(status.files.every((f) => f.resource === "reactions")).toBe(true);
    expect(sorted((await landed(status)).reactions)).toEqual(truthKeys(sim, "reactions", repos));
  });

  it("records a repository that does not exist as not_found and still extracts the others", async ({ expect }) => {
    const sim = simulate();
    const real = sim.truth().repositories.find((r) => !/vanished|empty|private-stars/.test(r.full_name))!.full_name;
    const status = await runToEnd({ repos: [real, "octo-sim/no-such-repo"], resources: ["releases"], mode: "full" });
    expect(status.status).toBe("completed_with_errors");
    expect(status.errors).toEqual([{ repository: "octo-sim/no-such-repo", resource: "releases", coverage: "not_found", state: "done", error: null }]);
    expect(sorted((await landed(status)).releases)).toEqual(truthKeys(sim, "releases", [real]));
  });

  it("loses no row when GitHub answers 10% of requests with 5xx", async ({ expect }) => {
    const sim = simulate({ faultRate: 0.1, seed: 7 });
    const status = await runToEnd({ resources: ["issues", "commits"], mode: "full" }, 120_000);
    expect(sim.stats().faults).toBeGreaterThan(0);
    expect(status.counters.retries).toBeGreaterThan(0);
    const got = await landed(status);
    expect(sorted(got.issues)).toEqual(truthKeys(sim, "issues"));
    expect(sorted(got.commits)).toEqual(truthKeys(sim, "commits"));
  });
});
