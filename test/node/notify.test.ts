/** Alerts against a local receiver: what src/notify.ts POSTs when a run ends and when a task is dead-lettered, checked
 *  as a Slack incoming webhook would take it (JSON, `text` plus Block Kit `blocks` within Slack's limits), and how it
 *  behaves when the receiver fails. The run is the last message of a recorded real feed. */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, it, type ExpectStatic } from "vitest";
import { ROOT } from "../../scripts/devstack";
import { deadTaskMessage, esc, notifyDeadTask, notifyRunFinished, postWebhook, type SlackMessage } from "../../src/notify";
import type { FeedMessage, RunStatus } from "../../src/objects/RunCoordinator";

const FEED = readFileSync(join(ROOT, "test/fixtures/feed/run-5-repos.jsonl"), "utf8").trim().split("\n");
const RUN = (JSON.parse(FEED.at(-1)!) as FeedMessage).run as RunStatus;

interface Received { method: string; contentType: string; body: SlackMessage }
let server: Server;
let url: string;
let received: Received[] = [];
/** Status codes the receiver answers with, in turn (then 200). */
let answers: number[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let data = "";
    req.on("data", (c) => (data += String(c)));
    req.on("end", () => {
      received.push({ method: req.method ?? "", contentType: req.headers["content-type"] ?? "", body: JSON.parse(data) as SlackMessage });
      const status = answers.shift() ?? 200;
      res.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : "no_service");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/services/T000/B000/XXXX`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  received = [];
  answers = [];
});

const env = (webhook?: string) => ({ NOTIFY_WEBHOOK_URL: webhook }) as unknown as Env;

/** The rules Slack applies to a message (https://api.slack.com/reference/block-kit/blocks). */
function expectValidSlack(expect: ExpectStatic, m: SlackMessage): void {
  expect(typeof m.text).toBe("string");
  expect(m.text.length).toBeGreaterThan(0);
  expect(m.blocks.length).toBeLessThanOrEqual(50);
  for (const b of m.blocks) {
    expect(["header", "section", "context", "divider"]).toContain(b.type);
    if (b.type === "header") {
      expect(b.text.type).toBe("plain_text");
      expect(b.text.text.length).toBeLessThanOrEqual(150);
    }
    if (b.type === "section") {
      expect(b.text || b.fields).toBeTruthy();
      if (b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
      if (b.fields) {
        expect(b.fields.length).toBeLessThanOrEqual(10);
        for (const f of b.fields) expect(f.text.length).toBeLessThanOrEqual(2000);
      }
    }
    if (b.type === "context") expect(b.elements.length).toBeLessThanOrEqual(10);
  }
}

describe("run end", () => {
  it("POSTs a Slack message with the run's outcome, counters, coverage and errors", async ({ expect }) => {
    await notifyRunFinished(env(url), RUN);
    expect(received).toHaveLength(1);
    const [{ method, contentType, body }] = received as [Received];
    expect(method).toBe("POST");
    expect(contentType).toBe("application/json");
    expectValidSlack(expect, body);
    expect(body.text).toContain(RUN.runId);
    expect(body.text).toContain("completed_with_errors");
    expect(body.text).toContain(`${RUN.counters.rows} rows`);
    const all = JSON.stringify(body.blocks);
    expect(all).toContain(`${RUN.counters.requests} (${RUN.counters.notModified} not modified)`);
    expect(all).toContain("sim-org/vanished-repo");
    expect(all).toContain("not_found");
    expect(all).toContain(RUN.manifestKey!);
  });

  it("lists at most ten errors and escapes what GitHub sent (Slack reads <, > and & as markup)", async ({ expect }) => {
    const errors = Array.from({ length: 14 }, (_, i) => ({ repository: `o/r${i}`, resource: "issues", coverage: "failed", state: "dead", error: "<script>alert(1)</script> & more" }));
    await notifyRunFinished(env(url), { ...RUN, status: "failed", errors, error: "discovery failed: <b>401</b>" });
    const body = received[0]!.body;
    expectValidSlack(expect, body);
    const all = JSON.stringify(body.blocks);
    expect(all).not.toContain("<script>");
    expect(all).toContain("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more");
    expect(all).toContain("…and 4 more");
    expect(all).toContain("discovery failed: &lt;b&gt;401&lt;/b&gt;");
    expect(body.text).toContain(":x:");
    expect(esc("a".repeat(600)).length).toBe(501);
  });

  it("sends nothing when NOTIFY_WEBHOOK_URL is not set, or is not an http(s) URL", async ({ expect }) => {
    await notifyRunFinished(env(undefined), RUN);
    await notifyRunFinished(env(""), RUN);
    await notifyRunFinished(env("hooks.slack.com/services/x"), RUN);
    expect(received).toHaveLength(0);
  });
});

describe("dead task", () => {
  it("POSTs the task, its run and its last error", async ({ expect }) => {
    const task = { runId: RUN.runId, taskId: "issues:octo/api", repository: "octo/api", resource: "issues", error: "dead-lettered after the queue's retries; last error: GitHubError: GitHub 502 on /repos/octo/api/issues" };
    await notifyDeadTask(env(url), task);
    const body = received[0]!.body;
    expectValidSlack(expect, body);
    expect(body).toEqual(deadTaskMessage(task));
    expect(body.text).toContain("octo/api issues");
    expect(body.text).toContain(RUN.runId);
    expect(JSON.stringify(body.blocks)).toContain("GitHub 502 on /repos/octo/api/issues");
  });
});

describe("a failing receiver", () => {
  it("is tried once more after a 5xx or a 429", async ({ expect }) => {
    answers = [503];
    expect(await postWebhook(url, deadTaskMessage({ runId: "r", taskId: "t", repository: "o/r", resource: "issues", error: "e" }), "test")).toBe(true);
    expect(received).toHaveLength(2);
    answers = [429, 500];
    expect(await postWebhook(url, deadTaskMessage({ runId: "r", taskId: "t", repository: "o/r", resource: "issues", error: "e" }), "test")).toBe(false);
    expect(received).toHaveLength(4);
  });

  it("is not retried after another 4xx, and an unreachable one never throws", async ({ expect }) => {
    answers = [404];
    expect(await postWebhook(url, deadTaskMessage({ runId: "r", taskId: "t", repository: "o/r", resource: "issues", error: "e" }), "test")).toBe(false);
    expect(received).toHaveLength(1);
    await expect(notifyRunFinished(env("http://127.0.0.1:9/unreachable"), RUN)).resolves.toBeUndefined();
  });
});
