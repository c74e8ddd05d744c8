/** Client-side helpers over the admin API: follow a run's live feed to its end, and export its Parquet files. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { FeedMessage, RunStatus } from "../src/objects/RunCoordinator";
import type { DevStack } from "./devstack";

/** Follows the WebSocket feed until the run's `completed` message; falls back to polling if the socket drops. */
export async function followRun(stack: DevStack, runId: string, onMessage: (m: FeedMessage) => void = () => {}, timeoutMs = 30 * 60_000): Promise<RunStatus> {
  const deadline = Date.now() + timeoutMs;
  const viaFeed = await new Promise<RunStatus | null>((resolve) => {
    const ws = stack.feed(runId);
    const timer = setTimeout(() => { ws.terminate(); resolve(null); }, timeoutMs);
    ws.on("message", (data) => {
      const message = JSON.parse(String(data)) as FeedMessage;
      onMessage(message);
      if (message.type === "completed") { clearTimeout(timer); ws.close(); resolve(message.run); }
    });
    ws.on("error", () => { clearTimeout(timer); resolve(null); });
    ws.on("close", () => { clearTimeout(timer); resolve(null); });
  });
  if (viaFeed) return viaFeed;
  for (;;) {
    const status = await stack.apiJson<RunStatus>(`/runs/${runId}`);
    if (status.status !== "running") return status;
    if (Date.now() > deadline) throw new Error(`run ${runId} still running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Downloads every file of a run (and its manifest) through `GET /lake/<key>` into `dir`, keeping the Hive layout. */
export async function exportRun(stack: DevStack, status: RunStatus, dir: string): Promise<string[]> {
  const keys = [...status.files.map((f) => f.key), ...(status.manifestKey ? [status.manifestKey] : [])];
  const written: string[] = [];
  for (let i = 0; i < keys.length; i += 8) {
    await Promise.all(keys.slice(i, i + 8).map(async (key) => {
      const res = await stack.api(`/lake/${key.split("/").map(encodeURIComponent).join("/")}`);
      if (!res.ok) throw new Error(`GET /lake/${key} → ${res.status}`);
      const path = join(dir, key);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, new Uint8Array(await res.arrayBuffer()));
      written.push(path);
    }));
  }
  return written;
}
