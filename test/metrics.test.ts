/** Analytics Engine data points: one per fetch outcome, positions as src/metrics.ts documents them (docs/RUNBOOK.md
 *  queries by position), never an exception into the fetch path. */
import { env } from "cloudflare:workers";
import { describe, it, vi } from "vitest";
import { GitHubError, RateLimitWait } from "../src/github/errors";
import type { PartReport } from "../src/github/jobs";
import { dataPoint, recordDeadMetrics, recordErrorMetrics, recordPartMetrics } from "../src/metrics";

const job = { runId: "20261204T020000Z-7f3a", resource: "issues" as const, repo: { owner: "octo", name: "api", id: 1 } };
const report = { runId: job.runId, taskId: "issues:octo/api", part: 0, key: "k", rows: 120, bytes: 5000, requests: 3, notModified: 1, pages: 2, retries: 1, rateLimitWaits: 2, outcome: "complete", next: null } as unknown as PartReport;

function spyEnv() {
  const writeDataPoint = vi.fn();
  return { env: { ANALYTICS: { writeDataPoint } } as unknown as Env, writeDataPoint };
}

describe("metrics", () => {
  it("writes a part's requests, 304s, waits, rows, bytes, pages and retries by run, repository and resource", ({ expect }) => {
    const { env: e, writeDataPoint } = spyEnv();
    recordPartMetrics(e, job, report);
    expect(writeDataPoint).toHaveBeenCalledWith({
      indexes: [job.runId],
      blobs: ["part", job.runId, "octo/api", "issues", "complete"],
      doubles: [3, 1, 2, 0, 120, 5000, 2, 1],
    });
  });

  it("classifies errors: a long wait, a final GitHub answer, a retry, a dead letter", ({ expect }) => {
    const { env: e, writeDataPoint } = spyEnv();
    recordErrorMetrics(e, job, new RateLimitWait(Date.now() + 60_000, "primary budget spent"));
    recordErrorMetrics(e, job, new GitHubError(404, "/repos/octo/api/issues", "Not Found"));
    recordErrorMetrics(e, job, new GitHubError(502, "/repos/octo/api/issues", "Bad Gateway", true));
    recordDeadMetrics(e, { ...job, repo: null, resource: "repositories" });
    const points = writeDataPoint.mock.calls.map(([p]) => p as AnalyticsEngineDataPoint);
    expect(points.map((p) => p.blobs![0])).toEqual(["wait", "failed", "retry", "dead"]);
    expect(points.map((p) => p.doubles![2])).toEqual([1, 0, 0, 0]); // waits
    expect(points.map((p) => p.doubles![3])).toEqual([0, 1, 1, 1]); // errors
    expect(points[1]!.blobs![4]).toBe("GitHubError 404");
    expect(points[3]!.blobs![2]).toBe("(discovery)");
  });

  it("never throws into the fetch path, and the real binding from wrangler.toml takes the points", ({ expect }) => {
    const broken = { ANALYTICS: { writeDataPoint: () => { throw new Error("dataset full"); } } } as unknown as Env;
    expect(() => recordPartMetrics(broken, job, report)).not.toThrow();
    expect(() => recordPartMetrics({} as Env, job, report)).not.toThrow();
    expect(env.ANALYTICS).toBeDefined();
    expect(() => recordPartMetrics(env, job, report)).not.toThrow();
    const p = dataPoint("part", { ...job, runId: "x".repeat(200) }, "d".repeat(300), {});
    expect((p.indexes![0] as string).length).toBe(96); // Analytics Engine's index limit
    expect((p.blobs![4] as string).length).toBe(200);
  });
});
