// Specification of the simulator's Node HTTP adapter (sim/server.ts) and CLI (sim/cli.ts): the same
// answers over a real socket, admin endpoints, many concurrent connections, clean shutdown.

import { spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type RunningSimulator } from "../../sim/server";
import { extractAll, normalizeTruth, parseLink } from "../../sim/testkit";

const HEADERS = { "user-agent": "sim-test/1.0", authorization: "Bearer sim-token" };

describe("startSimulator (node:http)", () => {
  let s: RunningSimulator;
  beforeAll(async () => {
    s = await startSimulator({ port: 0 });
  });
  afterAll(async () => {
    await s.close();
  });

  it("listens on 127.0.0.1 on a random port", () => {
    expect(s.url).toBe(`http://127.0.0.1:${s.port}`);
    expect(s.port).toBeGreaterThan(0);
  });

  it("passes status, body and every header through; links use the server's own origin", async () => {
    const res = await fetch(`${s.url}/user/repos?per_page=3`, { headers: HEADERS });
    expect(res.status).toBe(200);
    for (const h of ["etag", "link", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset", "x-ratelimit-resource", "x-github-request-id"]) {
      expect(res.headers.get(h), h).not.toBeNull();
    }
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(parseLink(res.headers.get("link")).next).toBe(`${s.url}/user/repos?per_page=3&page=2`);
    const body = (await res.json()) as unknown[];
    expect(body).toHaveLength(3);
    const again = await fetch(`${s.url}/user/repos?per_page=3`, { headers: { ...HEADERS, "if-none-match": res.headers.get("etag")! } });
    expect(again.status).toBe(304);
  });

  it("sees a request without User-Agent as such (raw http, no client default)", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${s.url}/user`, { headers: { authorization: "Bearer sim-token" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  it("serves the admin endpoints without auth and without counting them", async () => {
    await fetch(`${s.url}/_sim/reset-stats`, { method: "POST" });
    const truth = await (await fetch(`${s.url}/_sim/truth`)).json();
    expect(truth).toEqual(s.sim.truth());
    const cfg = await fetch(`${s.url}/_sim/config`, { method: "POST", body: JSON.stringify({ secondary: { maxPerMinute: 1000 } }) });
    expect(cfg.status).toBe(200);
    expect(((await cfg.json()) as { secondary: { maxPerMinute: number } }).secondary.maxPerMinute).toBe(1000);
    const bad = await fetch(`${s.url}/_sim/config`, { method: "POST", body: "{not json" });
    expect(bad.status).toBe(400);
    const mut = await fetch(`${s.url}/_sim/mutate`, { method: "POST", body: JSON.stringify({ addStars: [{ repo: "empty-repo", count: 2 }] }) });
    expect(mut.status).toBe(200);
    const badMut = await fetch(`${s.url}/_sim/mutate`, { method: "POST", body: JSON.stringify({ addStars: [{ repo: "nope/nope", count: 2 }] }) });
    expect(badMut.status).toBe(400);
    await fetch(`${s.url}/user`, { headers: HEADERS });
    const stats = (await (await fetch(`${s.url}/_sim/stats`)).json()) as { requests: number; byStatus: Record<string, number>; perUser: Record<string, { used: number }> };
    expect(stats.requests).toBe(1);
    expect(stats.byStatus).toEqual({ "200": 1 });
    expect(stats.perUser["octo-sim"]!.used).toBeGreaterThan(0);
    await fetch(`${s.url}/_sim/config`, { method: "POST", body: JSON.stringify({ secondary: { maxPerMinute: 0 } }) });
  });

  it("handles hundreds of concurrent connections", async () => {
    await fetch(`${s.url}/_sim/reset-stats`, { method: "POST" });
    const paths = ["/user", "/user/repos", "/rate_limit"];
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 600 }, (_, i) => fetch(`${s.url}${paths[i % 3]}`, { headers: HEADERS }).then(async (r) => (await r.arrayBuffer(), r.status))),
    );
    const seconds = (performance.now() - started) / 1000;
    expect(results.every((x) => x === 200)).toBe(true);
    const stats = s.sim.stats();
    expect(stats.requests).toBe(600);
    // Loose bound: thousands per second on a laptop; keep CI noise out of it.
    expect(600 / seconds).toBeGreaterThan(200);
  });

  it("supports a complete extraction over HTTP that matches the truth", async () => {
    const fresh = await startSimulator({ port: 0, seed: 3 });
    try {
      const got = await extractAll((u, init) => fetch(u, init), fresh.url, "sim-token");
      expect(normalizeTruth(got.truth)).toEqual(normalizeTruth(fresh.sim.truth()));
    } finally {
      await fresh.close();
    }
  });
});

describe("sim/cli.ts", () => {
  it("prints its URL and token, serves, and exits 0 on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "sim/cli.ts", "--port", "0", "--repos", "2", "--seed", "5", "--token", "t1,t2", "--primary-limit", "7"], {
      cwd: new URL("../..", import.meta.url).pathname,
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const out = await new Promise<string>((resolve, reject) => {
        let buf = "";
        child.stdout.on("data", (d: Buffer) => {
          buf += d.toString();
          if (buf.includes("accepted token")) resolve(buf);
        });
        child.on("exit", (code) => reject(new Error(`cli exited early (${code}): ${buf}`)));
        setTimeout(() => reject(new Error(`cli did not start: ${buf}`)), 30_000);
      });
      const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
      expect(out).toContain("t1, t2");
      const res = await fetch(`${url}/user/repos?per_page=100`, { headers: { ...HEADERS, authorization: "token t2" } });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-ratelimit-limit")).toBe("7");
      expect(((await res.json()) as unknown[]).length).toBe(5);
      const code = await new Promise<number | null>((resolve) => {
        child.on("exit", (c) => resolve(c));
        child.kill("SIGTERM");
      });
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
