/** `npm run deploy:check`: the real `wrangler deploy --dry-run` build, measured as wrangler measures it. It must pass
 *  today with the size printed, and fail with a clear message when the bundle is over the limit. */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, it } from "vitest";
import { ROOT } from "../../scripts/devstack";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function check(env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const outdir = mkdtempSync(join(tmpdir(), "deploy-check-"));
  dirs.push(outdir);
  return new Promise((resolve) => {
    const child = spawn(join(ROOT, "node_modules/.bin/tsx"), ["scripts/deploy-check.ts"], {
      cwd: ROOT, env: { ...process.env, DEPLOY_CHECK_OUTDIR: outdir, ...env }, stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += String(d)));
    child.stderr.on("data", (d) => (out += String(d)));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

describe("npm run deploy:check", () => {
  it("passes under the free plan's 3 MiB and prints the gzip size (the same figure as wrangler's)", async ({ expect }) => {
    const { code, out } = await check();
    expect(code, out).toBe(0);
    const ours = Number(/gzip ([\d.]+) KiB \(\d+ bytes\)/.exec(out)?.[1]);
    const wranglers = Number(/Total Upload: [\d.]+ KiB \/ gzip: ([\d.]+) KiB/.exec(out)?.[1]);
    expect(ours).toBeGreaterThan(100);
    expect(ours * 1024).toBeLessThan(3 * 1024 * 1024);
    expect(Math.abs(ours - wranglers) / wranglers).toBeLessThan(0.01); // same measure; module order may differ slightly
    expect(out).toContain("index.js");
    expect(out).toContain("deploy:check passed");
  }, 60_000);

  it("fails, saying by how much, when the bundle is over the limit", async ({ expect }) => {
    const { code, out } = await check({ DEPLOY_CHECK_LIMIT_BYTES: "100000" });
    expect(code).toBe(1);
    expect(out).toMatch(/deploy:check FAILED: the gzip bundle is [\d.]+ KiB over a limit of 100000 bytes/);
  }, 60_000);
});
