import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import type { FetchJob, PartReport } from "../../src/github/jobs";
import type { FeedMessage, RunCoordinator } from "../../src/objects/RunCoordinator";
import { nextMessage } from "../helpers";

/** A coordinator whose queue is replaced by a list, so each test sees exactly the jobs it would send. */
async function coordinatorWithCapturedQueue() {
  const stub = env.RUN_COORDINATOR.getByName(`coordinator-${crypto.randomUUID()}`);
  const sent: FetchJob[] = [];
  await runInDurableObject(stub, (instance: RunCoordinator) => {
    const fakeQueue = {
      send: async (body: FetchJob) => void sent.push(body),
      sendBatch: async (batch: Array<{ body: FetchJob }>) => void sent.push(...batch.map((m) => m.body)),
    };
    (instance as unknown as { env: Env }).env = { ...env, FETCH_QUEUE: fakeQueue as unknown as Queue };
  });
  return { stub, sent, take: () => sent.splice(0, sent.length) };
}

const base = (job: FetchJob): Omit<PartReport, "outcome" | "next"> => ({
  runId: job.runId, taskId: job.taskId, part: job.part, key: null, rows: 0, bytes: 0, requests: 1, notModified: 0, pages: 1, retries: 0, rateLimitWaits: 0, handoff: true,
});
const done = (job: FetchJob, extra: Partial<PartReport> = {}): PartReport => ({ ...base(job), outcome: "complete", next: null, ...extra });
const octo = { owner: "octo", name: "alpha", id: 11, pushedAt: "2026-11-01T00:00:00Z", updatedAt: "2026-11-01T00:00:00Z", openIssues: 3, stars: 5 };

describe("RunCoordinator", () => {
  it("discovers, fans out one task per repository × resource, and holds reactions until issues are listed", async ({ expect }) => {
    const { stub, take } = await coordinatorWithCapturedQueue();
    const { runId } = (await stub.createRun({ trigger: "api", resources: ["repositories", "issues", "commits", "reactions"] })) as { runId: string };
    const [discovery] = take();
    expect(discovery).toMatchObject({ runId, resource: "repositories", part: 0, url: null, write: true });

    await stub.recordPart(done(discovery!, { repos: [octo], rows: 1, key: "k0" }));
    const jobs = take();
    expect(jobs.map((j) => j.resource).sort()).toEqual(["commits", "issues"]);
    expect(jobs.every((j) => j.repo?.id === 11)).toBe(true);

    const issues = jobs.find((j) => j.resource === "issues")!;
    await stub.recordPart(done(issues, { rows: 3, key: "k1", reacted: Array.from({ length: 120 }, (_, i) => i + 1) }));
    const reactions = take();
    expect(reactions).toHaveLength(3); // 120 reacted issues → parts of 50
    expect(reactions.map((j) => j.issueNumbers?.length)).toEqual([50, 50, 20]);
  });

  it("takes a part back when its consumer defers it or fails an attempt, and only that part", async ({ expect }) => {
    // Found under wrangler dev: a deferred reactions part kept its claim, so its delayed delivery was dropped as "a
    // live consumer has this part" and the run sat idle until the watchdog.
    const { stub, take } = await coordinatorWithCapturedQueue();
    const { runId } = (await stub.createRun({ trigger: "api", resources: ["issues", "reactions"], repos: ["octo/alpha"] })) as { runId: string };
    const [discovery] = take();
    await stub.recordPart(done(discovery!, { repos: [octo] }));
    const [issues] = take();
    await stub.recordPart(done(issues!, { reacted: Array.from({ length: 120 }, (_, i) => i + 1) }));
    const [p0, p1, p2] = take();
    for (const part of [p0!, p1!, p2!]) expect(await stub.claim(runId, part.taskId, part.part)).not.toBeNull();

    await stub.defer(p0!, Date.now() + 5_000); // a long rate-limit wait: handed back with a delay
    const [redelivery] = take();
    expect(redelivery).toMatchObject({ taskId: p0!.taskId, part: 0 });
    expect(await stub.claim(runId, p0!.taskId, 0)).toEqual({ part: 0, url: null });
    expect(await stub.claim(runId, p1!.taskId, 1)).toBeNull(); // still in its own consumer's hands

    await stub.noteAttemptError(runId, p2!.taskId, "GitHubError: GitHub 0 on /x: HTTP 502 (after 4 attempts)", 2);
    expect(await stub.claim(runId, p2!.taskId, 2)).toEqual({ part: 2, url: null }); // the queue's retry may work on it
    expect(await stub.claim(runId, p1!.taskId, 1)).toBeNull();
  });

  it("applies each part once however often it is delivered", async ({ expect }) => {
    const { stub, take } = await coordinatorWithCapturedQueue();
    const { runId } = (await stub.createRun({ trigger: "api", resources: ["issues"], repos: ["octo/alpha"] })) as { runId: string };
    const [discovery] = take();
    await stub.recordPart(done(discovery!, { repos: [octo] }));
    const [issues] = take();
    const first: PartReport = { ...base(issues!), rows: 100, key: "p0", outcome: "complete", next: { url: "https://api.github.com/repositories/11/issues?page=11" } };
    await stub.recordPart(first);
    const [continuation] = take();
    expect(continuation).toMatchObject({ part: 1, url: "https://api.github.com/repositories/11/issues?page=11" });
    await stub.recordPart(first); // redelivered
    await stub.recordPart(first); // and duplicated
    expect(take()).toEqual([]); // its continuation was already sent
    expect(await stub.claim(runId, issues!.taskId, 0)).toBeNull(); // applied: dropped before it costs a request
    expect(await stub.claim(runId, issues!.taskId, 1)).toEqual({ part: 1, url: "https://api.github.com/repositories/11/issues?page=11" });

    await stub.recordPart(done(continuation!, { rows: 7, key: "p1" }));
    const status = (await stub.status(runId))!;
    expect(status.counters.rows).toBe(107);
    expect(status.counters.files).toBe(2);
    expect(status.status).toBe("completed");
  });

  it("ends a run exactly once, as completed_with_errors when a repository vanished, and writes its manifest", async ({ expect }) => {
    const { stub, take } = await coordinatorWithCapturedQueue();
    const { runId } = (await stub.createRun({ trigger: "api", resources: ["repositories", "commits", "stargazers"], repos: ["octo/alpha", "octo/gone"] })) as { runId: string };
    const [discovery] = take();
    await stub.recordPart(done(discovery!, { repos: [octo], missingRepos: ["octo/gone"], rows: 1, key: "sources/github/repositories/r.parquet" }));
    for (const job of take()) {
      await stub.recordPart(job.resource === "commits" ? done(job, { outcome: "empty" }) : done(job, { outcome: "restricted" }));
    }
    const status = (await stub.status(runId))!;
    expect(status.status).toBe("completed_with_errors");
    expect(status.coverage).toEqual({ complete: 1, empty: 1, restricted: 1, not_found: 2 });
    expect(status.errors.map((e) => `${e.repository} ${e.resource} ${e.coverage}`).sort()).toEqual(["octo/gone commits not_found", "octo/gone stargazers not_found"]);
    const manifest = await env.LAKE.get(status.manifestKey!);
    expect(JSON.parse(await manifest!.text())).toMatchObject({ runId, status: "completed_with_errors" });
    const finishedAt = status.finishedAt;
    await stub.recordPart(done(discovery!)); // late duplicate after the end
    expect((await stub.status(runId))!.finishedAt).toBe(finishedAt);
  });

  it("fails a task with its last error, fails its dependants, and ends the run with errors", async ({ expect }) => {
    const { stub, take } = await coordinatorWithCapturedQueue();
    const { runId } = (await stub.createRun({ trigger: "api", resources: ["issues", "reactions"], repos: ["octo/alpha"] })) as { runId: string };
    await stub.recordPart(done(take()[0]!, { repos: [octo] }));
    const [issues] = take();
    await stub.noteAttemptError(runId, issues!.taskId, "GitHubError: GitHub 0 on /x: HTTP 502 (after 4 attempts)");
    await stub.failTask(runId, issues!.taskId, "dead-lettered after the queue's retries");
    const status = (await stub.status(runId))!;
    expect(status.status).toBe("completed_with_errors");
    expect(status.tasks.failed).toBe(2);
    expect(status.errors.find((e) => e.resource === "issues")?.error).toMatch(/dead-lettered.*HTTP 502/);
    expect(status.errors.find((e) => e.resource === "reactions")?.error).toMatch(/issues listing failed/);
  });

  it("re-sends the work of a run that stopped making progress, and fails it after repeated stalls so no run stays running", async ({ expect }) => {
    const { stub, take } = await coordinatorWithCapturedQueue();
    const { runId } = (await stub.createRun({ trigger: "api", resources: ["commits"], repos: ["octo/alpha"] })) as { runId: string };
    await stub.recordPart(done(take()[0]!, { repos: [octo] }));
    const [commits] = take();
    const age = async () => runInDurableObject(stub, (_i, state) => {
      state.storage.sql.exec("UPDATE task SET updated_at = updated_at - 3600000 WHERE state = 'pending'");
      state.storage.sql.exec("UPDATE run SET last_progress_at = last_progress_at - 3600000");
    });
    await age();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(take()).toEqual([commits]); // the same job again: redelivery is idempotent
    for (let i = 0; i < 3; i++) {
      await age();
      await runDurableObjectAlarm(stub);
    }
    const status = (await stub.status(runId))!;
    expect(status.status).toBe("completed_with_errors");
    expect(status.errors[0]?.error).toMatch(/stalled/);
  });

  it("starts no second scheduled run while one is running", async ({ expect }) => {
    const { stub } = await coordinatorWithCapturedQueue();
    const first = await stub.createRun({ trigger: "cron", resources: ["issues"] });
    const second = await stub.createRun({ trigger: "cron", resources: ["issues"] });
    expect(second).toEqual({ skipped: (first as { runId: string }).runId, reason: expect.stringMatching(/still running/) });
    expect(await stub.createRun({ trigger: "api", resources: ["issues"] })).toHaveProperty("runId"); // operators may still start one
  });

  it("streams snapshot, then progress, then completed over the WebSocket feed", async ({ expect }) => {
    const { stub, take } = await coordinatorWithCapturedQueue();
    const { runId } = (await stub.createRun({ trigger: "api", resources: ["commits"], repos: ["octo/alpha"] })) as { runId: string };
    const res = await stub.fetch(`https://lake.test/runs/${runId}/ws`, { headers: { Upgrade: "websocket" } });
    const ws = res.webSocket!;
    const messages: FeedMessage[] = [];
    ws.addEventListener("message", (e) => {
      messages.push(JSON.parse(String(e.data)) as FeedMessage);
    });
    const first = nextMessage(ws);
    ws.accept();
    expect(JSON.parse(await first)).toMatchObject({ type: "snapshot", run: { runId, status: "running" } });
    await stub.recordPart(done(take()[0]!, { repos: [octo] }));
    await new Promise((r) => setTimeout(r, 400)); // progress is coalesced to a few messages a second
    const [commits] = take();
    await stub.recordPart(done(commits!, { rows: 5, key: "c" }));
    await new Promise((r) => setTimeout(r, 50));
    expect(messages.map((m) => m.type)).toEqual(["snapshot", "progress", "completed"]);
    expect(messages.at(-1)).toMatchObject({ type: "completed", run: { status: "completed", counters: { rows: 5 } } });
  });
});
