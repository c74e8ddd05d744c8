/** The terminal watcher against a recorded feed: test/fixtures/feed/run-5-repos.jsonl is what a real run's WebSocket
 *  sent (recorded with `npm run watch <runId> -- --record FILE` while the Worker under `wrangler dev` extracted five
 *  simulator repositories, one of them vanished). A local server replays it — over the WebSocket, or as `GET /runs/:id`
 *  answers when the socket is refused — and the watcher must draw it and end with the run's summary. */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, describe, it } from "vitest";
import { WebSocketServer } from "ws";
import { ROOT } from "../../scripts/devstack";
import { ProgressRenderer, summary, taskProgress, timeLeft, watchRun } from "../../scripts/watch";
import type { FeedMessage, RunStatus } from "../../src/objects/RunCoordinator";

const FEED = readFileSync(join(ROOT, "test/fixtures/feed/run-5-repos.jsonl"), "utf8").trim().split("\n");
const MESSAGES = FEED.map((l) => JSON.parse(l) as FeedMessage);
const FINAL = MESSAGES.at(-1)!.run as RunStatus;
const RUN_ID = FINAL.runId;
const TOKEN = "watch-test-token";

// eslint-disable-next-line no-control-regex
const strip = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A writable that says it is a terminal, so cli-progress draws as it would in one. */
function fakeTerminal(isTTY: boolean): Writable & { isTTY: boolean; columns: number; text(): string } {
  let out = "";
  const stream = new Writable({ write(chunk, _enc, cb) { out += String(chunk); cb(); } }) as Writable & { isTTY: boolean; columns: number; text(): string };
  stream.isTTY = isTTY;
  stream.columns = 160;
  stream.text = () => out;
  return stream;
}

interface Replay { url: string; server: Server; seen: { paths: string[]; auth: string[]; upgrades: number }; close(): Promise<void> }

/** Serves the recording: `GET /runs` lists the run, the WebSocket replays every message (`gapMs` apart), and with
 *  `refuseSocket` the upgrade is answered 404 so that `GET /runs/:id` must be polled (running twice, then the end). */
async function replayServer(opts: { gapMs?: number; refuseSocket?: boolean } = {}): Promise<Replay> {
  const seen = { paths: [] as string[], auth: [] as string[], upgrades: 0 };
  let polls = 0;
  const server = createServer((req, res) => {
    seen.paths.push(req.url ?? "");
    seen.auth.push(req.headers.authorization ?? "");
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ status: 401, error: "missing or wrong admin token" }));
      return;
    }
    if (req.url === "/runs") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ runs: [{ ...FINAL, status: "running" }] }));
    } else if (req.url === `/runs/${RUN_ID}`) {
      const m = MESSAGES[Math.min(MESSAGES.length - 1, 2 + 2 * polls++)]!;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ...m.run, byResource: (m as { byResource?: unknown }).byResource ?? (m.run as RunStatus).byResource }));
    } else res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req: IncomingMessage, socket, head) => {
    seen.upgrades++;
    seen.auth.push(req.headers.authorization ?? "");
    if (opts.refuseSocket || req.url !== `/runs/${RUN_ID}/ws` || req.headers.authorization !== `Bearer ${TOKEN}`) {
      socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, async (ws) => {
      for (const line of FEED) {
        ws.send(line);
        await sleep(opts.gapMs ?? 0);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`, server, seen,
    close: () => new Promise<void>((r) => { wss.close(); server.closeAllConnections(); server.close(() => r()); }),
  };
}

let replay: Replay | undefined;
afterEach(async () => {
  await replay?.close();
  replay = undefined;
});

describe("the recorded feed", () => {
  it("is a real run: snapshot, progress, completed, with the vanished repository as an error", ({ expect }) => {
    expect(MESSAGES[0]!.type).toBe("snapshot");
    expect(MESSAGES.filter((m) => m.type === "progress").length).toBeGreaterThanOrEqual(3);
    expect(MESSAGES.at(-1)!.type).toBe("completed");
    expect(FINAL.status).toBe("completed_with_errors");
    expect(FINAL.errors.map((e) => e.repository)).toContain("sim-org/vanished-repo");
  });
});

describe("ProgressRenderer", () => {
  it("draws bars that move, on a terminal, and ends with every resource at 100% and the summary", async ({ expect }) => {
    const term = fakeTerminal(true);
    const renderer = new ProgressRenderer({ stream: term });
    const overall: string[] = [];
    for (const m of MESSAGES) {
      renderer.update(m);
      await sleep(140); // cli-progress redraws at most 8 times a second
      const frames = strip(term.text()).split("\n").filter((l) => l.includes("all tasks"));
      overall.push(frames.at(-1) ?? "");
    }
    renderer.finish();
    const text = strip(term.text());
    // The overall bar went through intermediate values before 36/36.
    const values = [...new Set(overall.map((l) => /(\d+)\/36 tasks/.exec(l)?.[1]).filter(Boolean).map(Number))];
    expect(values.length).toBeGreaterThanOrEqual(4);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(values.at(-1)).toBe(36);
    expect(text).toContain("█");
    // The last frame: every resource complete.
    for (const [resource, r] of Object.entries(FINAL.byResource)) {
      const last = text.split("\n").filter((l) => l.trimStart().startsWith(`${resource} `) && l.includes("│")).at(-1) ?? "";
      expect(last, resource).toMatch(new RegExp(`100% │ ${r.tasks}/${r.tasks} tasks │ ${r.rows.toLocaleString("en-US")} rows`));
    }
    expect(text).toContain(`${RUN_ID} completed_with_errors · 100% tasks 36/36`);
    expect(text).toContain(`Run ${RUN_ID}: completed_with_errors in`);
    expect(text).toContain("! sim-org/vanished-repo commits: not_found");
    expect(term.text()).toMatch(/\x1b\[\?25h/); // the cursor is shown again
  });

  it("prints plain lines, not redraws, when the output is not a terminal", ({ expect }) => {
    const out = fakeTerminal(false);
    let now = Date.parse(MESSAGES[0]!.run.startedAt);
    const renderer = new ProgressRenderer({ stream: out, now: () => now, lineEveryMs: 2_000 });
    for (const m of MESSAGES) {
      renderer.update(m);
      now += 1_000;
    }
    renderer.finish({ summary: false });
    const lines = out.text().trimEnd().split("\n");
    expect(out.text()).not.toMatch(/\x1b\[/);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.length).toBeLessThan(MESSAGES.length); // throttled to one line per 2 s
    expect(lines.at(-1)).toContain("completed_with_errors · 100% tasks 36/36");
  });

  it("counts finished tasks whatever the open states are called, and estimates the time left", ({ expect }) => {
    expect(taskProgress({ total: 10, waiting: 1, queued: 2, done: 6, failed: 1 })).toEqual({ total: 10, finished: 7, failed: 1 });
    expect(taskProgress({ total: 10, pending: 3, running: 1, done: 4, failed: 1, dead: 1 })).toEqual({ total: 10, finished: 6, failed: 2 });
    const run = { ...MESSAGES[2]!.run, status: "running" as const };
    const started = Date.parse(run.startedAt);
    const t = taskProgress(run.tasks);
    // The Worker's own estimate wins (the recording carries one); without it, the pace so far (one task a second here).
    expect(run.estimate?.etaAt).toBeTruthy();
    expect(timeLeft(run, Date.parse(run.estimate!.etaAt!) - 90_000)).toBe("~1m30s");
    expect(timeLeft({ ...run, estimate: { ...run.estimate!, etaAt: null, etaSeconds: 42 } }, started)).toBe("~42s");
    expect(timeLeft({ ...run, estimate: null }, started + t.finished * 1000)).toBe(`~${t.total - t.finished}s`);
    expect(summary(FINAL)).toContain("coverage: complete");
  });
});

describe("watchRun", () => {
  it("follows the WebSocket feed to the end, with the token in a header, and returns the final status", async ({ expect }) => {
    replay = await replayServer({ gapMs: 20 });
    const out = fakeTerminal(false);
    const status = await watchRun({ url: replay.url, token: TOKEN, renderer: new ProgressRenderer({ stream: out, lineEveryMs: 0 }) });
    expect(status.runId).toBe(RUN_ID); // picked from GET /runs: the running one
    expect(status.status).toBe("completed_with_errors");
    expect(replay.seen.upgrades).toBe(1);
    expect(replay.seen.auth.every((a) => a === `Bearer ${TOKEN}`)).toBe(true);
    expect(replay.seen.paths.every((p) => !p.includes(TOKEN))).toBe(true);
    expect(out.text()).toContain("completed_with_errors · 100% tasks 36/36");
  });

  it("falls back to polling the run's status when the WebSocket is refused", async ({ expect }) => {
    replay = await replayServer({ refuseSocket: true });
    const out = fakeTerminal(false);
    const status = await watchRun({ url: replay.url, token: TOKEN, runId: RUN_ID, pollMs: 10, renderer: new ProgressRenderer({ stream: out, lineEveryMs: 0 }) });
    expect(status.status).toBe("completed_with_errors");
    expect(replay.seen.paths.filter((p) => p === `/runs/${RUN_ID}`).length).toBeGreaterThanOrEqual(3);
    expect(out.text().trimEnd().split("\n").length).toBeGreaterThanOrEqual(3);
  });

  it("`npm run watch` exits 0 after the summary, and 2 with a clear message for a wrong token", async ({ expect }) => {
    replay = await replayServer();
    const run = (token: string) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(join(ROOT, "node_modules/.bin/tsx"), ["scripts/watch.ts", RUN_ID, "--url", replay!.url], {
        cwd: ROOT, env: { ...process.env, ADMIN_TOKEN: token }, stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += String(d)));
      child.stderr.on("data", (d) => (stderr += String(d)));
      child.on("exit", (code) => resolve({ code, stdout, stderr }));
    });
    const [good, bad] = await Promise.all([run(TOKEN), run("wrong")]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain(`Run ${RUN_ID}: completed_with_errors`);
    expect(good.stdout).toContain("reactions");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("refused the admin token (401)");
  }, 30_000);
});
