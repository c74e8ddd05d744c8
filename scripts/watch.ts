/** `npm run watch [runId]`: follows a run's live feed in the terminal — a status line (rows, requests, 304s, waits,
 *  elapsed, time left), a progress bar for all tasks and one per resource (cli-progress) — until the run ends, then
 *  prints its summary. Without a run id it follows the newest running run (or shows the newest run).
 *
 *    GITHUB_LAKE_URL  the Worker (default http://127.0.0.1:8787; or --url)
 *    ADMIN_TOKEN      the admin token, sent in the Authorization header (never in a URL)
 *    --record FILE    also write every feed message to FILE as JSON lines (the watcher's test replays such a file)
 *
 *  Exit code: 0 when the run completed (with or without errors), 1 when it failed or was cancelled, 2 on usage errors.
 *  `npm start` draws its live progress with the same renderer. */
import cliProgress from "cli-progress";
import { appendFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import WebSocket from "ws";
import type { FeedMessage, RunStatus, RunSummary } from "../src/objects/RunCoordinator";

type ByResource = RunStatus["byResource"];
/** What the renderer needs: a run summary, with per-resource counts when the message has them. */
export type RunView = RunSummary & { byResource?: ByResource; errors?: RunStatus["errors"]; eta?: unknown };
type Out = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

const OPEN_STATES = ["waiting", "queued", "pending", "running"] as const;
const RESOURCE_ORDER = ["repositories", "issues", "pull_requests", "commits", "stargazers", "releases", "workflow_runs", "reactions"];
const fmt = (n: number | undefined) => (typeof n === "number" && Number.isFinite(n) ? n.toLocaleString("en-US") : "–");

export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 1) return "<1s";
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** Tasks that have ended (done, failed, dead…), whatever names the coordinator gives its open states. */
export function taskProgress(t: Partial<Record<string, number>> | undefined): { total: number; finished: number; failed: number } {
  const total = t?.total ?? 0;
  const open = OPEN_STATES.reduce((s, k) => s + (t?.[k] ?? 0), 0);
  return { total, finished: Math.max(0, total - open), failed: (t?.failed ?? 0) + (t?.dead ?? 0) };
}

/** Time left: the Worker's own estimate when the run carries one (`estimate.etaAt`), else the pace so far. */
export function timeLeft(run: RunView, now: number): string {
  if (run.status !== "running") return "–";
  const est = (run as { estimate?: { etaSeconds?: number | null; etaAt?: string | null } | null }).estimate;
  if (est) {
    if (est.etaAt) return `~${duration(Date.parse(est.etaAt) - now)}`;
    if (typeof est.etaSeconds === "number") return `~${duration(est.etaSeconds * 1000)}`;
    return "…";
  }
  const e = run.eta as unknown;
  const fromServer = typeof e === "number" ? e * 1000
    : typeof e === "string" ? Date.parse(e) - now
    : e && typeof e === "object" ? etaFromObject(e as Record<string, unknown>, now) : null;
  if (fromServer !== null && Number.isFinite(fromServer)) return `~${duration(fromServer)}`;
  const t = taskProgress(run.tasks);
  if (t.finished === 0 || t.total === 0) return "…";
  return `~${duration(((now - Date.parse(run.startedAt)) / t.finished) * (t.total - t.finished))}`;
}

function etaFromObject(e: Record<string, unknown>, now: number): number | null {
  for (const k of ["remainingMs", "ms", "etaMs"]) if (typeof e[k] === "number") return e[k] as number;
  for (const k of ["remainingSeconds", "seconds", "etaSeconds"]) if (typeof e[k] === "number") return (e[k] as number) * 1000;
  for (const k of ["at", "finishAt", "etaAt", "estimatedFinishAt"]) if (typeof e[k] === "string") return Date.parse(e[k] as string) - now;
  return null;
}

export interface RendererOptions {
  /** Where to draw (default stdout). */
  stream?: Out;
  /** Redraw bars in place (default: the stream is a TTY). Otherwise one plain line every `lineEveryMs`. */
  tty?: boolean;
  lineEveryMs?: number;
  now?: () => number;
}

/** Draws a run's progress. TTY: a status line, an overall bar and one bar per resource, redrawn in place by cli-progress.
 *  Not a TTY (CI, pipes): one plain line every few seconds. `finish()` prints the summary. */
export class ProgressRenderer {
  readonly #stream: Out;
  readonly #tty: boolean;
  readonly #lineEveryMs: number;
  readonly #now: () => number;
  #multibar: cliProgress.MultiBar | null = null;
  #header: cliProgress.SingleBar | null = null;
  #overall: cliProgress.SingleBar | null = null;
  readonly #bars = new Map<string, cliProgress.SingleBar>();
  #lastLine = 0;
  #lastText = "";
  #run: RunView | null = null;
  #byResource: ByResource = {};

  constructor(opts: RendererOptions = {}) {
    this.#stream = opts.stream ?? process.stdout;
    this.#tty = opts.tty ?? this.#stream.isTTY === true;
    this.#lineEveryMs = opts.lineEveryMs ?? 2_000;
    this.#now = opts.now ?? Date.now;
  }

  get run(): RunView | null {
    return this.#run;
  }

  /** Takes one feed message (or a status read with GET /runs/:id). */
  update(message: FeedMessage | { type: string; run?: RunView; byResource?: ByResource }): void {
    const m = message as { type: string; run?: RunView; byResource?: ByResource };
    if (!m.run) return;
    this.#run = { ...(this.#run ?? {}), ...m.run };
    const by = m.byResource ?? m.run.byResource;
    if (by) this.#byResource = by;
    if (this.#tty) this.#draw();
    else if (m.type === "completed" || this.#now() - this.#lastLine >= this.#lineEveryMs) this.#line();
  }

  #line(): void {
    const text = this.statusLine();
    if (text !== this.#lastText) this.#stream.write(`${text}\n`);
    this.#lastText = text;
    this.#lastLine = this.#now();
  }

  /** One line: status, tasks, rows, requests, waits, elapsed, time left. */
  statusLine(): string {
    const run = this.#run;
    if (!run) return "waiting for the feed…";
    const t = taskProgress(run.tasks);
    const c = run.counters;
    const pct = t.total ? Math.floor((t.finished / t.total) * 100) : 0;
    const end = run.finishedAt ? Date.parse(run.finishedAt) : this.#now();
    return [
      `${run.runId} ${run.status}`,
      `${pct}% tasks ${fmt(t.finished)}/${fmt(t.total)}${t.failed ? ` (${fmt(t.failed)} failed)` : ""}`,
      `repos ${fmt(run.repositories)}`,
      `rows ${fmt(c?.rows)}`,
      `requests ${fmt(c?.requests)} (304 ${fmt(c?.notModified)})`,
      `waits ${fmt(c?.rateLimitWaits)}`,
      `elapsed ${duration(end - Date.parse(run.startedAt))}`,
      `left ${timeLeft(run, this.#now())}`,
    ].join(" · ");
  }

  #draw(): void {
    const run = this.#run!;
    if (!this.#multibar) {
      this.#multibar = new cliProgress.MultiBar({
        stream: this.#stream,
        format: " {label} {bar} {percentage}% │ {value}/{total} tasks │ {rows} rows{failed}",
        barCompleteChar: "█",
        barIncompleteChar: "░",
        barsize: 28,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        gracefulExit: true,
        autopadding: true,
        emptyOnZero: true,
        fps: 8,
      });
      this.#header = this.#multibar.create(1, 0, { text: "" }, { format: "{text}" });
      this.#overall = this.#multibar.create(0, 0, { label: "all tasks".padEnd(14), rows: "", failed: "" });
    }
    const t = taskProgress(run.tasks);
    this.#header!.update(0, { text: this.statusLine() });
    this.#overall!.setTotal(t.total);
    this.#overall!.update(t.finished, { rows: fmt(run.counters?.rows), failed: t.failed ? ` │ ${fmt(t.failed)} failed` : "" });
    const names = Object.keys(this.#byResource).sort((a, b) => RESOURCE_ORDER.indexOf(a) - RESOURCE_ORDER.indexOf(b));
    for (const name of names) {
      const r = this.#byResource[name]! as ByResource[string] & { dead?: number };
      const failed = r.failed + (r.dead ?? 0);
      let bar = this.#bars.get(name);
      if (!bar) {
        bar = this.#multibar.create(r.tasks, 0, { label: name.padEnd(14), rows: "0", failed: "" });
        this.#bars.set(name, bar);
      }
      bar.setTotal(r.tasks);
      bar.update(r.done + failed, { rows: fmt(r.rows), failed: failed ? ` │ ${fmt(failed)} failed` : "" });
    }
  }

  /** Stops redrawing and prints the run's summary (unless `summary: false`). */
  finish(opts: { summary?: boolean } = {}): void {
    if (this.#multibar) {
      this.#header?.update(0, { text: this.statusLine() });
      this.#multibar.update();
      this.#multibar.stop();
      this.#multibar = null;
    } else if (this.#run && !this.#tty) {
      this.#line();
    }
    if (opts.summary !== false && this.#run) this.#stream.write(summary(this.#run, this.#byResource));
  }
}

/** The closing lines: outcome, totals, rows per table, coverage and errors. */
export function summary(run: RunView, byResource: ByResource = run.byResource ?? {}): string {
  const c = run.counters;
  const took = run.finishedAt ? duration(Date.parse(run.finishedAt) - Date.parse(run.startedAt)) : "(still running)";
  const lines = [
    "",
    `Run ${run.runId}: ${run.status} in ${took}`,
    `  ${fmt(run.repositories)} repositories · ${fmt(c.rows)} rows in ${fmt(c.files)} files (${fmt(c.bytes)} bytes) · ${fmt(c.requests)} GitHub requests (${fmt(c.notModified)} not modified) · ${fmt(c.rateLimitWaits)} rate-limit waits · ${fmt(c.retries)} retries`,
  ];
  const names = Object.keys(byResource).sort((a, b) => RESOURCE_ORDER.indexOf(a) - RESOURCE_ORDER.indexOf(b));
  if (names.length) {
    lines.push("  table            tasks   failed   files        rows");
    for (const n of names) {
      const r = byResource[n]!;
      lines.push(`  ${n.padEnd(15)} ${String(r.tasks).padStart(6)} ${String(r.failed).padStart(8)} ${String(r.files).padStart(7)} ${fmt(r.rows).padStart(11)}`);
    }
  }
  const coverage = Object.entries(run.coverage ?? {}).map(([k, v]) => `${k} ${v}`).join(", ");
  if (coverage) lines.push(`  coverage: ${coverage}`);
  if (run.error) lines.push(`  run error: ${run.error}`);
  for (const e of run.errors ?? []) lines.push(`  ! ${e.repository} ${e.resource}: ${e.coverage ?? "failed"}${e.error ? ` — ${e.error}` : ""}`);
  return `${lines.join("\n")}\n`;
}

export interface WatchOptions {
  url: string;
  token: string;
  runId?: string;
  renderer: ProgressRenderer;
  /** Append every feed message to this file as a JSON line. */
  record?: string;
  /** Polling interval when the WebSocket is not available (default 2 s). */
  pollMs?: number;
  timeoutMs?: number;
}

async function getJson<T>(url: string, token: string): Promise<T> {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status === 401) throw new Error(`the Worker refused the admin token (401): set ADMIN_TOKEN to its ADMIN_TOKEN secret`);
  if (!res.ok) throw new Error(`GET ${new URL(url).pathname} → ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** The run to watch when none is named: the newest running run, else the newest run. */
export async function pickRun(url: string, token: string): Promise<string | null> {
  const { runs } = await getJson<{ runs: RunSummary[] }>(`${url}/runs`, token);
  return (runs.find((r) => r.status === "running") ?? runs[0])?.runId ?? null;
}

/** Follows one run until it ends; returns its final status. The feed first; if the socket cannot be opened or drops,
 *  polling `GET /runs/:id` takes over. */
export async function watchRun(opts: WatchOptions): Promise<RunStatus> {
  const base = opts.url.replace(/\/+$/, "");
  const runId = opts.runId ?? (await pickRun(base, opts.token));
  if (!runId) throw new Error("no runs yet: start one with POST /runs (or the dashboard)");
  const statusUrl = `${base}/runs/${encodeURIComponent(runId)}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 24 * 3600_000);
  if (opts.record) writeFileSync(opts.record, "");

  const viaFeed = await new Promise<RunStatus | null>((resolve) => {
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/runs/${encodeURIComponent(runId)}/ws`, { headers: { Authorization: `Bearer ${opts.token}` } });
    let refreshing = false;
    ws.on("message", (data) => {
      const text = String(data);
      if (opts.record) appendFileSync(opts.record, `${text}\n`);
      let m: FeedMessage;
      try {
        m = JSON.parse(text) as FeedMessage;
      } catch {
        return;
      }
      if ((m as { run?: unknown }).run) opts.renderer.update(m);
      else if (!refreshing) {
        // A message without totals (a delta): read the status instead, at most one read at a time.
        refreshing = true;
        getJson<RunStatus>(statusUrl, opts.token).then((s) => opts.renderer.update({ type: "progress", run: s }), () => {}).finally(() => (refreshing = false));
      }
      if (m.type === "completed") {
        ws.close(1000);
        resolve(m.run);
      }
    });
    ws.on("unexpected-response", (_req, res) => {
      if (res.statusCode === 401) process.stderr.write("the Worker refused the admin token (401) on the feed\n");
      resolve(null);
    });
    ws.on("error", () => resolve(null));
    ws.on("close", () => resolve(null));
  });
  if (viaFeed) return viaFeed;

  for (;;) {
    const status = await getJson<RunStatus>(statusUrl, opts.token);
    opts.renderer.update({ type: status.status === "running" ? "progress" : "completed", run: status });
    if (status.status !== "running") return status;
    if (Date.now() > deadline) throw new Error(`run ${runId} still running after the timeout`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 2_000));
  }
}

function parseArgs(argv: string[]): { runId?: string; url: string; record?: string } {
  const out: { runId?: string; url: string; record?: string } = { url: process.env.GITHUB_LAKE_URL ?? "http://127.0.0.1:8787" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--url") out.url = argv[++i] ?? out.url;
    else if (a === "--record") out.record = argv[++i];
    else if (a === "-h" || a === "--help") {
      process.stdout.write("usage: npm run watch [runId] [-- --url URL] [--record FILE]   (ADMIN_TOKEN from the environment)\n");
      process.exit(0);
    } else if (!a.startsWith("-")) out.runId = a;
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const token = process.env.ADMIN_TOKEN;
  if (!token) {
    process.stderr.write("ADMIN_TOKEN is not set: export ADMIN_TOKEN=<the Worker's admin token> (npm run dev prints one)\n");
    process.exit(2);
  }
  const renderer = new ProgressRenderer();
  try {
    const status = await watchRun({ url: args.url, token, runId: args.runId, renderer, record: args.record });
    renderer.update({ type: "completed", run: status });
    renderer.finish();
    process.exit(status.status === "failed" || status.status === "cancelled" ? 1 : 0);
  } catch (err) {
    renderer.finish({ summary: false });
    process.stderr.write(`watch: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
