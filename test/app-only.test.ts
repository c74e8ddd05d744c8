/** Runs with only GitHub App credentials (no GITHUB_TOKEN): discovery lists each installation's
 *  `/installation/repositories` with that installation's token (GitHub refuses `/user/repos` to installation tokens),
 *  and every task of a repository is fetched with a token of the installation that listed it. Driven message by
 *  message (the queue replaced by a list); the consumer, coordinator, buckets and lake are the real ones. */
import { createMessageBatch, runInDurableObject } from "cloudflare:test";
import { tableFromIPC } from "apache-arrow";
import { env, exports } from "cloudflare:workers";
import init, { readParquet } from "parquet-wasm/esm";
import wasm from "parquet-wasm/esm/parquet_wasm_bg.wasm";
import { afterEach, beforeAll, describe, it, vi } from "vitest";
import { GitHubSimulator, type SimOptions } from "../sim/simulator";
import type { FetchJob } from "../src/github/jobs";
import type { RunCoordinator, RunStatus } from "../src/objects/RunCoordinator";
import { consumeFetchBatch } from "../src/queue";

const KEY = { issues: "id", pull_requests: "id", commits: "sha", stargazers: "user_id", releases: "id", workflow_runs: "id", reactions: "id", repositories: "id" } as const;
type Table = keyof typeof KEY;
const APP_ID = 4242;
const coordinator = () => env.RUN_COORDINATOR.getByName("coordinator");

let privateKeyPem = "";
let publicKeyPem = "";

const pem = (label: string, der: ArrayBuffer) =>
  `-----BEGIN ${label}-----\n${btoa(String.fromCharCode(...new Uint8Array(der))).replace(/(.{64})/g, "$1\n")}\n-----END ${label}-----\n`;

beforeAll(async () => {
  await init({ module_or_path: wasm });
  const pair = (await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  privateKeyPem = pem("PRIVATE KEY", (await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
  publicKeyPem = pem("PUBLIC KEY", (await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
});
afterEach(() => vi.restoreAllMocks());

interface Repo {
  full_name: string;
  private: boolean;
}

interface Request_ {
  status: number;
  path: string;
  /** The installation whose token the request carried, if any. */
  installation: number | undefined;
}

/** A simulator with one App, its installations (fresh ids: buckets and tokens are not shared between specs), and the
 *  env of a Worker configured with that App only. Every request is logged with the installation that sent it. */
async function appOnlyWorld(installations: Array<{ repositories?: (all: Repo[]) => Repo[] }>, options: SimOptions = {}) {
  const base = 700_000 + Math.floor(Math.random() * 1e6);
  const probe = new GitHubSimulator(options); // same seed and options: the same repositories
  const all = await Promise.all(probe.truth().repositories.map(async ({ full_name }) => {
    const res = await probe.handle(new Request(`${env.GITHUB_API_URL}/repos/${full_name}`, { headers: { Authorization: "Bearer sim-token", "User-Agent": "spec" } }));
    return { full_name, private: ((await res.json()) as { private: boolean }).private };
  }));
  const ids = installations.map((_, i) => base + i);
  const grants = installations.map((inst) => inst.repositories?.(all) ?? all);
  const sim = new GitHubSimulator({
    ...options,
    apps: [{
      id: APP_ID,
      publicKey: publicKeyPem,
      installations: installations.map((inst, i) => ({ id: ids[i]!, repositories: inst.repositories ? grants[i]!.map((r) => r.full_name) : undefined })),
    }],
  });
  const requests: Request_[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(env.GITHUB_API_URL)) throw new TypeError(`network disabled in tests: ${request.url}`);
    const token = request.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
    const installation = sim.installationOf(token);
    const response = await sim.handle(request);
    requests.push({ status: response.status, path: new URL(request.url).pathname, installation });
    return response;
  });
  const appEnv = {
    ...env, GITHUB_TOKEN: "", GITHUB_APP_ID: String(APP_ID), GITHUB_APP_PRIVATE_KEY: privateKeyPem, GITHUB_APP_INSTALLATION_ID: ids.join(","),
  } as Env;
  return { sim, requests, appEnv, ids, grants };
}

/** Starts a run through the admin API and delivers its messages until none is left: the coordinator and the consumer
 *  both see the App-only env. */
async function runToEnd(appEnv: Env, body: unknown): Promise<RunStatus> {
  const queue: FetchJob[] = [];
  await runInDurableObject(coordinator(), (instance: RunCoordinator) => {
    const fake = {
      send: async (job: FetchJob) => void queue.push(job),
      sendBatch: async (batch: Array<{ body: FetchJob }>) => void queue.push(...batch.map((m) => m.body)),
    };
    (instance as unknown as { env: Env }).env = { ...appEnv, FETCH_QUEUE: fake as unknown as Queue };
  });
  const res = await exports.default.fetch(new Request("https://lake.test/runs", {
    method: "POST", body: JSON.stringify(body), headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` },
  }));
  if (res.status !== 202) throw new Error(`POST /runs → ${res.status} ${await res.text()}`);
  const { runId } = (await res.json()) as { runId: string };
  for (let batches = 0; queue.length > 0; batches++) {
    if (batches > 500) throw new Error("the run does not converge");
    const jobs = queue.splice(0, 10);
    const batch = createMessageBatch<FetchJob>("github-fetch-queue", jobs.map((job, i) => ({ id: `m${batches}-${i}`, timestamp: new Date(), attempts: 1, body: job })));
    await consumeFetchBatch(batch as MessageBatch<unknown>, appEnv);
  }
  return (await coordinator().status(runId))!;
}

/** The primary keys a run landed, per table and repository, read back from R2. */
async function landed(status: RunStatus): Promise<Record<Table, Record<string, string[]>>> {
  const out = {} as Record<Table, Record<string, string[]>>;
  for (const file of status.files) {
    const object = await env.LAKE.get(file.key);
    const t = tableFromIPC(readParquet(new Uint8Array(await object!.arrayBuffer())).intoIPCStream());
    const owners = t.getChild("repository_owner")!.toArray() as string[];
    const names = t.getChild("repository_name")!.toArray() as string[];
    const resource = file.resource as Table;
    [...t.getChild(KEY[resource])!.toArray()].map(String).forEach((k, i) => ((out[resource] ??= {})[`${owners[i]}/${names[i]}`] ??= []).push(k));
  }
  for (const repos of Object.values(out)) for (const r of Object.keys(repos)) repos[r]!.sort();
  return out;
}

function truth(sim: GitHubSimulator): Record<Table, Record<string, string[]>> {
  const out = {} as Record<Table, Record<string, string[]>>;
  for (const table of Object.keys(KEY) as Table[]) {
    out[table] = {};
    if (table === "repositories") {
      for (const r of sim.truth().repositories) out.repositories[r.full_name] = [String(r.id)];
      continue;
    }
    for (const [repo, keys] of Object.entries(sim.truth().tables[table] as Record<string, Array<string | number>>)) {
      if (keys.length > 0) out[table][repo] = keys.map(String).sort();
    }
  }
  return out;
}

/** The repository a request is about (`/repos/{o}/{r}/…` or a Link's `/repositories/{id}/…`), if any. */
function repositoryOf(sim: GitHubSimulator, path: string): string | undefined {
  const byName = /^\/repos\/([^/]+)\/([^/]+)/.exec(path);
  if (byName) return `${decodeURIComponent(byName[1]!)}/${decodeURIComponent(byName[2]!)}`;
  const byId = /^\/repositories\/(\d+)/.exec(path);
  return byId ? sim.truth().repositories.find((r) => r.id === Number(byId[1]))?.full_name : undefined;
}

describe("a run with only GitHub App credentials", () => {
  it("discovers every repository of the installation through /installation/repositories and lands every row", async ({ expect }) => {
    const { sim, requests, appEnv, ids } = await appOnlyWorld([{}]);
    const status = await runToEnd(appEnv, { mode: "full" });

    expect(status.status).toBe("completed_with_errors"); // vanished-repo answers 404, as with a personal token
    expect(status.tasks.failed + status.tasks.dead).toBe(0);
    expect(status.repositories).toBe(sim.truth().repositories.length);
    expect(await landed(status)).toEqual(truth(sim));
    expect(requests.some((r) => r.path.startsWith("/user"))).toBe(false);
    expect(requests.filter((r) => r.path === "/installation/repositories").map((r) => [r.status, r.installation])).toEqual([[200, ids[0]]]);
    // The only refusals are GitHub's restricted stargazers (private-stars), which a personal token gets too.
    expect(requests.filter((r) => r.status === 403 && r.path !== "/repos/sim-org/private-stars/stargazers")).toEqual([]);
  });

  it("reuses each installation's discovery pages from the page cache (304) in the next incremental run", async ({ expect }) => {
    // Both installations list the same URL (`/installation/repositories?per_page=100`): each page is cached per installation.
    const alternate = (n: number) => (repos: Repo[]) => repos.filter((_, i) => i % 2 === n);
    const { sim, requests, appEnv } = await appOnlyWorld([{ repositories: alternate(0) }, { repositories: alternate(1) }], { special: false, repos: 4 });
    const first = await runToEnd(appEnv, { mode: "full", resources: ["repositories", "releases"] });
    expect(first.status).toBe("completed");
    requests.length = 0;

    const second = await runToEnd(appEnv, { resources: ["repositories", "releases"] });
    expect(second.mode).toBe("incremental");
    expect(second.status).toBe("completed");
    expect(requests.filter((r) => r.path === "/installation/repositories").map((r) => r.status)).toEqual([304, 304]);
    // The unchanged pages still list their repositories: every one is fetched again.
    expect(second.repositories).toBe(sim.truth().repositories.length);
    expect(second.byResource.releases!.tasks).toBe(sim.truth().repositories.length);
  });

  it("with two installations, discovers both and fetches each repository with its own installation's token", async ({ expect }) => {
    // Disjoint grants, each with a private repository: the other installation's token would get 404 for it.
    const share = (repos: Repo[], n: number) => [...repos.filter((r) => r.private), ...repos.filter((r) => !r.private)].filter((_, i) => i % 2 === n);
    const { sim, requests, appEnv, ids, grants } = await appOnlyWorld([{ repositories: (all) => share(all, 0) }, { repositories: (all) => share(all, 1) }], { special: false, repos: 6 });
    const all = sim.truth().repositories.map((r) => r.full_name);
    const owner = new Map(grants.flatMap((repos, i) => repos.map((r) => [r.full_name, ids[i]!] as const)));
    expect(owner.size).toBe(all.length);
    for (const repos of grants) expect(repos.some((r) => r.private)).toBe(true);

    const status = await runToEnd(appEnv, { mode: "full" });

    expect(status.status).toBe("completed");
    expect(status.tasks.failed + status.tasks.dead).toBe(0);
    expect(status.repositories).toBe(all.length);
    expect(await landed(status)).toEqual(truth(sim));
    expect(requests.filter((r) => r.status === 403 || r.status === 404)).toEqual([]);
    expect(requests.filter((r) => r.path === "/installation/repositories").map((r) => r.installation).sort()).toEqual([...ids].sort());
    const repoRequests = requests.map((r) => ({ ...r, repository: repositoryOf(sim, r.path) })).filter((r) => r.repository !== undefined);
    expect(new Set(repoRequests.map((r) => r.repository))).toEqual(new Set(all));
    const strays = repoRequests.filter((r) => r.installation !== owner.get(r.repository!));
    expect(strays).toEqual([]);
  });
});
