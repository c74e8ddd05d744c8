/** Starts the whole local stack — the bundled GitHub simulator and the real Worker under `wrangler dev` (Durable
 *  Objects, Queues, R2, cron, all local) — and gives typed access to its admin API. Used by `npm start`, `npm run dev`
 *  and the end-to-end tests, so all three run exactly the same thing. */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { startSimulator } from "../sim/server";
import type { SimOptions } from "../sim/simulator";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "node_modules", ".bin");

export interface DevStackOptions {
  sim?: SimOptions;
  /** Extra Worker vars (e.g. PAGES_PER_PART) passed with `--var`. */
  vars?: Record<string, string>;
  /** Local state folder (DOs, queues, R2); wiped at start so every stack begins empty. */
  persistDir?: string;
  /** Forward wrangler's output to this process's stderr (default: only on failure). */
  verbose?: boolean;
  /** Fixed port for the Worker (default: a free one). */
  port?: number;
}

export interface DevStack {
  workerUrl: string;
  simUrl: string;
  adminToken: string;
  simToken: string;
  simulator: Awaited<ReturnType<typeof startSimulator>>;
  api(path: string, init?: RequestInit): Promise<Response>;
  apiJson<T>(path: string, init?: RequestInit): Promise<T>;
  /** Opens the live feed of a run (the admin token goes in a header, never in the URL). */
  feed(runId: string): WebSocket;
  /** wrangler's output so far (for diagnostics). */
  output(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port"))));
    });
  });
}

export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  // A free port can be taken by another process between our probe and wrangler's bind: try again with new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevStackOnce(options);
    } catch (err) {
      if (attempt >= 3 || options.port !== undefined || !String(err).includes("Address already in use")) throw err;
    }
  }
}

async function startDevStackOnce(options: DevStackOptions): Promise<DevStack> {
  const simToken = "sim-token";
  const simulator = await startSimulator({ ...options.sim, port: 0 });
  const adminToken = randomBytes(18).toString("base64url");
  const port = options.port ?? (await freePort());
  const inspectorPort = await freePort();
  const persistDir = options.persistDir ?? join(ROOT, ".wrangler", `stack-${process.pid}-${port}`);
  rmSync(persistDir, { recursive: true, force: true });
  mkdirSync(persistDir, { recursive: true });

  const vars: Record<string, string> = {
    GITHUB_API_URL: simulator.url,
    GITHUB_TOKEN: simToken,
    ADMIN_TOKEN: adminToken,
    ...options.vars,
  };
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--persist-to", persistDir, "--test-scheduled", "--show-interactive-dev-session=false"];
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);

  let output = "";
  const child: ChildProcess = spawn(join(BIN, "wrangler"), args, {
    cwd: ROOT,
    // node_modules/.bin first: wrangler needs the Node 22 that the `node` devDependency puts there.
    env: { ...process.env, PATH: `${BIN}:${process.env.PATH ?? ""}`, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0", CI: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
    if (options.verbose) process.stderr.write(text);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  let exited = false;
  child.on("exit", () => (exited = true));

  const workerUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited && child.pid) {
      const gone = new Promise<void>((r) => child.once("exit", () => r()));
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          /* gone */
        }
      }, 5_000);
      await gone;
      clearTimeout(timer);
    }
    await simulator.close();
  };

  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited) {
      await simulator.close();
      throw new Error(`wrangler dev exited before it was ready:\n${output.slice(-4000)}`);
    }
    try {
      const res = await fetch(`${workerUrl}/health`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not become ready in 120 s:\n${output.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${workerUrl}${path}`, { ...init, headers: { Authorization: `Bearer ${adminToken}`, ...(init.headers as Record<string, string> | undefined) } });
  return {
    workerUrl,
    simUrl: simulator.url,
    adminToken,
    simToken,
    simulator,
    api,
    async apiJson<T>(path: string, init?: RequestInit): Promise<T> {
      const res = await api(path, init);
      const text = await res.text();
      if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${path} → ${res.status}: ${text.slice(0, 500)}`);
      return JSON.parse(text) as T;
    },
    feed(runId: string) {
      return new WebSocket(`${workerUrl.replace(/^http/, "ws")}/runs/${runId}/ws`, { headers: { Authorization: `Bearer ${adminToken}` } });
    },
    output: () => output,
    stop,
  };
}
