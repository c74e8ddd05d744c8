/** `npm run chaos`: every fault at once at full scale. Runs test/chaos/full.chaos.ts inside workerd (vitest with
 *  vitest.chaos.config.ts: the real Worker, Durable Objects and R2, the GitHub simulator behind sim/chaos.ts, the
 *  platform faults of test/chaos/harness.ts), shows its progress, then prints the table RELIABILITY.md records:
 *  faults injected, retries, rows expected vs landed, duplicates, counters, limit violations. Exits non-zero when any
 *  check failed. The whole output is also kept in `.wrangler/chaos/last.log`. Takes a few minutes. */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatTable, type ChaosReport } from "../test/chaos/table";
import { ROOT } from "./devstack";

const BIN = join(ROOT, "node_modules", ".bin");
const quiet = process.argv.includes("--quiet");

async function main(): Promise<number> {
  const started = Date.now();
  process.stderr.write("chaos: full-scale run under every fault at once (a few minutes)…\n");
  const child = spawn(join(BIN, "vitest"), ["run", "--config", "vitest.chaos.config.ts"], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${BIN}:${process.env.PATH ?? ""}`, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let pending = "";
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    pending += text;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) if (!quiet && /^\[(chaos|penalty)/.test(line)) process.stderr.write(`${line.slice(0, 240)}\n`);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  const dir = join(ROOT, ".wrangler", "chaos");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "last.log"), output);

  const line = output.split("\n").find((l) => l.startsWith("CHAOS_REPORT "));
  if (!line) {
    process.stderr.write(`${output.slice(-6000)}\nchaos: the run produced no report (vitest exited ${code}); see .wrangler/chaos/last.log\n`);
    return code || 1;
  }
  const report = JSON.parse(line.slice("CHAOS_REPORT ".length)) as ChaosReport;
  const s = report.scale;
  process.stdout.write([
    "",
    `$ npm run chaos   (${new Date(started).toISOString().slice(0, 10)}, ${((Date.now() - started) / 1000).toFixed(0)} s with start-up)`,
    `${s.repositories} repositories, ${s.expectedRows.toLocaleString("en-US")} rows, ${s.tasks.toLocaleString("en-US")} tasks; ${s.tokens} tokens of ${s.identities} users; ${s.consumers} consumers at once`,
    "",
    formatTable(report),
    "",
  ].join("\n"));
  return code;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`chaos: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
