/** `npm start`: a whole extraction of the bundled GitHub simulator by the real Worker under `wrangler dev`, with live
 *  progress from the run's WebSocket feed; then the run's Parquet files are exported to ./lake and summarised. */
import { rmSync } from "node:fs";
import { join, relative } from "node:path";
import type { RunStatus } from "../src/objects/RunCoordinator";
import { ROOT, startDevStack } from "./devstack";
import { exportRun, followRun } from "./runs";
import { ProgressRenderer } from "./watch";

const LAKE_DIR = join(ROOT, "lake");
const fmt = (n: number) => n.toLocaleString("en-US");

async function main(): Promise<void> {
  console.log("github-lake: starting the GitHub simulator and the Worker (wrangler dev)…");
  const stack = await startDevStack({ sim: { latencyMs: [5, 25] }, persistDir: join(ROOT, ".wrangler", "start-state"), vars: { PAGES_PER_PART: "5" } });
  const stopAndExit = async (code: number) => {
    await stack.stop();
    process.exit(code);
  };
  process.once("SIGINT", () => void stopAndExit(130));
  try {
    console.log(`  simulator  ${stack.simUrl}\n  worker     ${stack.workerUrl}`);
    const { runId } = await stack.apiJson<{ runId: string }>("/runs", { method: "POST", body: "{}", headers: { "Content-Type": "application/json" } });
    console.log(`  run        ${runId}  (live feed: ${stack.workerUrl.replace("http", "ws")}/runs/${runId}/ws)\n`);
    // The same renderer as `npm run watch`: bars redrawn in place on a terminal, a line every 2 s otherwise.
    const progress = new ProgressRenderer({ stream: process.stdout });
    const status: RunStatus = await followRun(stack, runId, (m) => progress.update(m));
    progress.update({ type: "completed", run: status });
    progress.finish({ summary: false });

    rmSync(LAKE_DIR, { recursive: true, force: true });
    await exportRun(stack, status, LAKE_DIR);
    const stats = (await (await fetch(`${stack.simUrl}/_sim/stats`)).json()) as { requests: number; violations: { total: number } };

    console.log(`\nRun ${runId}: ${status.status} in ${((Date.parse(status.finishedAt ?? "") - Date.parse(status.startedAt)) / 1000).toFixed(1)} s`);
    console.log(`  ${status.repositories} repositories, ${fmt(status.counters.requests)} GitHub requests (simulator counted ${fmt(stats.requests)}, limit violations ${stats.violations.total}), ${status.counters.files} files, ${fmt(status.counters.bytes)} bytes\n`);
    console.log("  table            files        rows");
    for (const [resource, r] of Object.entries(status.byResource).sort()) {
      console.log(`  ${resource.padEnd(15)} ${String(r.files).padStart(6)} ${fmt(r.rows).padStart(11)}`);
    }
    console.log(`\n  coverage: ${Object.entries(status.coverage).map(([k, v]) => `${k} ${v}`).join(", ")}`);
    for (const e of status.errors) console.log(`  ! ${e.repository} ${e.resource}: ${e.coverage ?? "failed"}${e.error ? ` — ${e.error}` : ""}`);
    const lakeRel = relative(process.cwd(), join(LAKE_DIR, "sources", "github")) || ".";
    console.log(`\nParquet files: ${lakeRel}/<table>/year=YYYY/month=MM/day=DD/*.parquet  (manifest: ${relative(process.cwd(), join(LAKE_DIR, status.manifestKey ?? ""))})`);
    console.log(`Query them, e.g.: duckdb -c "SELECT state, count(*) FROM read_parquet('${lakeRel}/issues/**/*.parquet', hive_partitioning=1) GROUP BY 1"`);
    await stopAndExit(status.status === "failed" || status.status === "cancelled" ? 1 : 0);
  } catch (err) {
    console.error(`\nnpm start failed: ${err instanceof Error ? err.message : String(err)}`);
    console.error(stack.output().slice(-3000));
    await stopAndExit(1);
  }
}

void main();
