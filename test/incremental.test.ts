/** Incremental runs inside workerd: after a full run, the next runs find every new item for a fraction of the cost. */
import { tableFromIPC } from "apache-arrow";
import { env, exports } from "cloudflare:workers";
import init, { readParquet } from "parquet-wasm/esm";
import wasm from "parquet-wasm/esm/parquet_wasm_bg.wasm";
import { afterAll, beforeAll, describe, it, vi } from "vitest";
import { GitHubSimulator } from "../sim/simulator";
import type { RunStatus } from "../src/objects/RunCoordinator";

const KEY = { issues: "id", pull_requests: "id", commits: "sha", stargazers: "user_id", releases: "id", workflow_runs: "id", reactions: "id" } as const;
type Table = keyof typeof KEY;

let sim: GitHubSimulator;
beforeAll(async () => {
  await init({ module_or_path: wasm });
  sim = new GitHubSimulator({ users: [{ login: "octo-sim", id: 9000001, tokens: [env.GITHUB_TOKEN] }], scale: 2 });
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(env.GITHUB_API_URL)) throw new TypeError(`network disabled in tests: ${request.url}`);
    return sim.handle(request);
  });
});
afterAll(() => vi.restoreAllMocks());

async function run(body: unknown): Promise<{ status: RunStatus; counted: number; requests: number }> {
  const before = sim.stats();
  const res = await exports.default.fetch(new Request("https://lake.test/runs", {
    method: "POST", body: JSON.stringify(body), headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` },
  }));
  const { runId } = (await res.json()) as { runId: string };
  const deadline = Date.now() + 90_000;
  for (;;) {
    const status = (await env.RUN_COORDINATOR.getByName("coordinator").status(runId))!;
    if (status.status !== "running") {
      const after = sim.stats();
      return { status, counted: after.counted - before.counted, requests: after.requests - before.requests };
    }
    if (Date.now() > deadline) throw new Error(`run still running: ${JSON.stringify(status.tasks)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every row a run landed, as `table → repo → keys`. */
async function landed(status: RunStatus, into: Record<string, Record<string, Set<string>>> = {}) {
  for (const file of status.files) {
    const object = await env.LAKE.get(file.key);
    const table = tableFromIPC(readParquet(new Uint8Array(await object!.arrayBuffer())).intoIPCStream());
    if (file.resource === "repositories") continue;
    const owners = table.getChild("repository_owner")!.toArray() as string[];
    const names = table.getChild("repository_name")!.toArray() as string[];
    const keys = [...table.getChild(KEY[file.resource as Table])!.toArray()].map(String);
    keys.forEach((k, i) => (((into[file.resource] ??= {})[`${owners[i]}/${names[i]}`] ??= new Set()).add(k)));
  }
  return into;
}

function truth(): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const table of Object.keys(KEY) as Table[]) {
    for (const [repo, keys] of Object.entries(sim.truth().tables[table] as Record<string, Array<string | number>>)) {
      if (keys.length > 0) (out[table] ??= {})[repo] = keys.map(String).sort();
    }
  }
  return out;
}
const asSorted = (m: Record<string, Record<string, Set<string>>>) =>
  Object.fromEntries(Object.entries(m).map(([t, repos]) => [t, Object.fromEntries(Object.entries(repos).map(([r, s]) => [r, [...s].sort()]))]));

describe("incremental runs", () => {
  it("find every new issue, star and commit for at most 5% of a full run's counted requests, and 2% when nothing changed", async ({ expect }) => {
    const full = await run({ mode: "full" });
    expect(full.status.mode).toBe("full");
    const lake = await landed(full.status);

    const busy = sim.truth().repositories.map((r) => r.full_name).filter((n) => !/vanished|empty-repo/.test(n));
    sim.mutate({
      addIssues: [{ repo: busy[0]!, count: 3 }],
      addStars: [{ repo: busy[1]!, count: 4 }],
      addCommits: [{ repo: busy[2]!, count: 2 }],
    });
    const changed = await run({});
    expect(changed.status.mode).toBe("incremental");
    expect(changed.status.tasks.failed + changed.status.tasks.dead).toBe(0);
    const newRows = changed.status.counters.rows;
    await landed(changed.status, lake);
    expect(asSorted(lake)).toEqual(truth()); // every new item landed, and the union is exactly the ground truth
    expect(newRows - (changed.status.byResource.repositories?.rows ?? 0)).toBeLessThanOrEqual(3 + 4 + 2 + 3); // only new or changed rows (new issues may carry new reactions)
    expect(changed.counted / full.counted).toBeLessThanOrEqual(0.05);

    const unchanged = await run({});
    expect(unchanged.status.counters.rows).toBe(0);
    expect(unchanged.counted / full.counted).toBeLessThanOrEqual(0.02);
    expect(unchanged.status.counters.notModified).toBeGreaterThan(0);
  });
});
