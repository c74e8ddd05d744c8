/** Runs driven message by message (the queue replaced by a list), so delivery can be duplicated, redelivered, lost or
 *  killed at will, and the coordinator restarted, while the consumer, coordinator, bucket and lake are the real ones. */
import { createMessageBatch, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { tableFromIPC } from "apache-arrow";
import { env, exports } from "cloudflare:workers";
import init, { readParquet } from "parquet-wasm/esm";
import wasm from "parquet-wasm/esm/parquet_wasm_bg.wasm";
import { afterEach, beforeAll, beforeEach, describe, it, vi } from "vitest";
import { GitHubSimulator } from "../sim/simulator";
import { runJob } from "../src/github/fetchPart";
import type { FetchJob } from "../src/github/jobs";
import type { RunCoordinator, RunStatus } from "../src/objects/RunCoordinator";
import { consumeDeadLetters, consumeFetchBatch } from "../src/queue";
import { nextMessage } from "./helpers";

const KEY = { issues: "id", pull_requests: "id", commits: "sha", stargazers: "user_id", releases: "id", workflow_runs: "id", reactions: "id" } as const;
type Table = keyof typeof KEY;
const coordinator = () => env.RUN_COORDINATOR.getByName("coordinator");

let sim: GitHubSimulator;
let queue: FetchJob[] = [];

/** Points the coordinator's queue at `queue` (again after each restart: a restart builds a new instance). */
async function captureQueue(): Promise<void> {
  await runInDurableObject(coordinator(), (instance: RunCoordinator) => {
    const fake = {
      send: async (body: FetchJob) => void queue.push(body),
      sendBatch: async (batch: Array<{ body: FetchJob }>) => void queue.push(...batch.map((m) => m.body)),
    };
    (instance as unknown as { env: Env }).env = { ...env, FETCH_QUEUE: fake as unknown as Queue };
  });
}

async function deliver(jobs: FetchJob[]): Promise<void> {
  const batch = createMessageBatch<FetchJob>("github-fetch-queue", jobs.map((body, i) => ({ id: `m${Date.now()}-${i}-${Math.random()}`, timestamp: new Date(), attempts: 1, body })));
  await consumeFetchBatch(batch as MessageBatch<unknown>, env);
}

async function start(body: unknown): Promise<string> {
  const res = await exports.default.fetch(new Request("https://lake.test/runs", { method: "POST", body: JSON.stringify(body), headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }));
  return ((await res.json()) as { runId: string }).runId;
}

async function landed(status: RunStatus): Promise<Record<string, Record<string, string[]>>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const file of status.files) {
    if (file.resource === "repositories") continue;
    const object = await env.LAKE.get(file.key);
    const t = tableFromIPC(readParquet(new Uint8Array(await object!.arrayBuffer())).intoIPCStream());
    const owners = t.getChild("repository_owner")!.toArray() as string[];
    const names = t.getChild("repository_name")!.toArray() as string[];
    [...t.getChild(KEY[file.resource as Table])!.toArray()].map(String).forEach((k, i) => ((out[file.resource] ??= {})[`${owners[i]}/${names[i]}`] ??= []).push(k));
  }
  for (const repos of Object.values(out)) for (const r of Object.keys(repos)) repos[r]!.sort();
  return out;
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

beforeAll(async () => {
  await init({ module_or_path: wasm });
});
beforeEach(async () => {
  sim = new GitHubSimulator({ users: [{ login: "octo-sim", id: 9000001, tokens: [env.GITHUB_TOKEN] }] });
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(env.GITHUB_API_URL)) throw new TypeError(`network disabled in tests: ${request.url}`);
    return sim.handle(request);
  });
  queue = [];
  await captureQueue();
});
afterEach(() => vi.restoreAllMocks());

describe("at-least-once delivery and restarts", () => {
  it("lands exactly the ground truth with exact counters when messages are duplicated, redelivered and the coordinator restarts", async ({ expect }) => {
    const runId = await start({ mode: "full" });
    const delivered: FetchJob[] = [];
    let round = 0;
    while (queue.length > 0) {
      round++;
      const jobs = queue.splice(0, queue.length);
      // Every message twice in the same batch, and an old message redelivered every other round.
      const batch = [...jobs, ...jobs, ...(round % 2 === 0 && delivered.length > 0 ? [delivered[round % delivered.length]!] : [])];
      delivered.push(...jobs);
      await deliver(batch);
      if (round === 3) {
        await evictDurableObject(coordinator()); // the coordinator restarts mid-run; its SQLite ledger survives
        await captureQueue();
      }
      if (round > 200) throw new Error("run does not converge");
    }
    const status = (await coordinator().status(runId))!;
    expect(status.status).toBe("completed_with_errors"); // the simulator's vanished repository
    expect(status.tasks.failed + status.tasks.dead).toBe(0);
    expect(await landed(status)).toEqual(truth());
    const rows = Object.values(truth()).flatMap((repos) => Object.values(repos)).reduce((n, keys) => n + keys.length, 0);
    expect(status.counters.rows - (status.byResource.repositories?.rows ?? 0)).toBe(rows);
    const identityLookups = sim.stats().requests - status.counters.requests;
    expect(identityLookups).toBeGreaterThanOrEqual(0); // duplicates were dropped before they cost a request…
    expect(identityLookups).toBeLessThanOrEqual(1); // …so the run's counter is every request GitHub saw (but the pool's GET /user)
  });

  it("re-fetches at most the page a killed consumer was on", async ({ expect }) => {
    const big = sim.truth().repositories.map((r) => r.full_name).find((n) => (sim.truth().tables.issues[n]?.length ?? 0) > 600)!;
    const runId = await start({ repos: [big], resources: ["issues"], mode: "full" });
    await deliver(queue.splice(0)); // discovery
    const [job] = queue.splice(0);
    const before = sim.stats().requests;
    // The consumer dies while handling the second page: page 1 is reported, page 2 was fetched and written, not reported.
    const killed = await runJob(job!, env, {}, async (report) => {
      if (report.part === 1) throw new Error("consumer killed");
      await coordinator().recordPart(report);
    }).catch((e: Error) => e);
    expect(String(killed)).toMatch(/killed/);
    const spent = sim.stats().requests - before;
    expect(spent).toBe(2);
    // Its claim expires; the queue redelivers the original message, which resumes at the page it was on.
    await runInDurableObject(coordinator(), (_i, state) => void state.storage.sql.exec("UPDATE task SET claimed_at = 0 WHERE run_id = ?", runId));
    await deliver([job!]);
    while (queue.length > 0) await deliver(queue.splice(0));
    const status = (await coordinator().status(runId))!;
    expect(status.status).toBe("completed");
    const pages = Math.ceil((sim.truth().tables.issues[big]!.length + (sim.truth().tables.pull_requests[big]?.length ?? 0)) / 100);
    expect(sim.stats().requests - before).toBe(pages + 1); // every page once, and the one it was on twice
    expect((await landed(status)).issues?.[big]).toEqual(truth().issues![big]);
  });
});

describe("operator controls", () => {
  it("cancels a run: it ends cancelled and its queued messages are dropped without a request", async ({ expect }) => {
    const runId = await start({ mode: "full" });
    await deliver(queue.splice(0)); // discovery fans out
    const res = await exports.default.fetch(new Request(`https://lake.test/runs/${runId}/cancel`, { method: "POST", headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "cancelled" });
    const before = sim.stats().requests;
    await deliver(queue.splice(0));
    expect(sim.stats().requests).toBe(before);
    const again = await exports.default.fetch(new Request(`https://lake.test/runs/${runId}/cancel`, { method: "POST", headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }));
    expect(again.status).toBe(409);
  });

  it("marks dead-lettered tasks dead with their last error, and retry sends them again from where they stopped", async ({ expect }) => {
    const repo = sim.truth().repositories.find((r) => !/vanished|empty-repo|private-stars/.test(r.full_name))!.full_name;
    const runId = await start({ repos: [repo], resources: ["releases", "commits"], mode: "full" });
    await deliver(queue.splice(0));
    const jobs = queue.splice(0);
    const releases = jobs.find((j) => j.resource === "releases")!;
    await coordinator().noteAttemptError(runId, releases.taskId, "GitHubError: GitHub 0 on /x: HTTP 502 (after 4 attempts)");
    await consumeDeadLetters(createMessageBatch("github-fetch-dlq", [{ id: "d1", timestamp: new Date(), attempts: 6, body: releases }]) as MessageBatch<unknown>, env);
    await deliver(jobs.filter((j) => j !== releases));
    let status = (await coordinator().status(runId))!;
    expect(status.status).toBe("completed_with_errors");
    expect(status.tasks.dead).toBe(1);
    expect(status.errors[0]).toMatchObject({ resource: "releases", state: "dead", error: expect.stringMatching(/dead-lettered.*HTTP 502/) });

    const res = await exports.default.fetch(new Request(`https://lake.test/runs/${runId}/retry`, { method: "POST", headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }));
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ retried: 1, status: { status: "running" } });
    while (queue.length > 0) await deliver(queue.splice(0));
    status = (await coordinator().status(runId))!;
    expect(status.status).toBe("completed");
    expect((await landed(status)).releases?.[repo]).toEqual(truth().releases![repo]);
  });

  it("resends the work of a consumer that died once its claim has expired (watchdog)", async ({ expect }) => {
    const repo = sim.truth().repositories.find((r) => !/vanished|empty-repo|private-stars/.test(r.full_name))!.full_name;
    const runId = await start({ repos: [repo], resources: ["releases"], mode: "full" });
    await deliver(queue.splice(0));
    const [job] = queue.splice(0);
    expect(await coordinator().claim(runId, job!.taskId, 0)).not.toBeNull(); // a consumer takes it… and dies
    await runInDurableObject(coordinator(), (_i, state) => void state.storage.sql.exec("UPDATE task SET claimed_at = claimed_at - 600000 WHERE run_id = ?", runId));
    await runDurableObjectAlarm(coordinator());
    await captureQueue();
    expect(queue.map((j) => j.taskId)).toEqual([job!.taskId]);
    await deliver(queue.splice(0));
    expect((await coordinator().status(runId))!.status).toBe("completed");
  });
});

describe("live feed", () => {
  it("holds 100 idle watchers and tells each of them the run completed", async ({ expect }) => {
    const repo = sim.truth().repositories.find((r) => !/vanished|empty-repo|private-stars/.test(r.full_name))!.full_name;
    const runId = await start({ repos: [repo], resources: ["releases"], mode: "full" });
    const sockets: WebSocket[] = [];
    const completed: Array<Promise<unknown>> = [];
    for (let i = 0; i < 100; i++) {
      const res = await coordinator().fetch(`https://lake.test/runs/${runId}/ws`, { headers: { Upgrade: "websocket" } });
      const ws = res.webSocket!;
      completed.push(new Promise((resolve) => ws.addEventListener("message", (e) => {
        if ((JSON.parse(String(e.data)) as { type: string }).type === "completed") resolve(true);
      })));
      ws.accept();
      sockets.push(ws);
    }
    await evictDurableObject(coordinator()); // idle watchers hibernate: the object can leave memory
    await captureQueue();
    while (queue.length > 0) await deliver(queue.splice(0));
    expect((await Promise.all(completed)).length).toBe(100);
    for (const ws of sockets) ws.close();
  });

  it("lets a browser in with a single-use ticket instead of a token in the URL", async ({ expect }) => {
    const runId = await start({ repos: ["octo-sim/anything"], resources: ["releases"] });
    const res = await exports.default.fetch(new Request(`https://lake.test/runs/${runId}/ws-ticket`, { method: "POST", headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }));
    const { ticket, url } = (await res.json()) as { ticket: string; url: string };
    expect(url).toBe(`/runs/${runId}/ws?ticket=${ticket}`);
    const open = (path: string) => exports.default.fetch(new Request(`https://lake.test${path}`, { headers: { Upgrade: "websocket" } }));
    const first = await open(url);
    expect(first.status).toBe(101);
    const ws = first.webSocket!;
    const snapshot = nextMessage(ws);
    ws.accept();
    expect(JSON.parse(await snapshot)).toMatchObject({ type: "snapshot" });
    ws.close();
    expect((await open(url)).status).toBe(401); // single use
    expect((await open(`/runs/${runId}/ws?ticket=forged`)).status).toBe(401);
  });
});
