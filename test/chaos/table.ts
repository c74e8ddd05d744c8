/** The report of a chaos run and its table: what was injected, what the system did about it, and whether the lake
 *  holds every row of the ground truth exactly once. Plain data and string formatting only (no Workers APIs), so
 *  `npm run chaos` (Node) prints what the in-workerd run measured. */
import type { FaultKind } from "../../sim/chaos";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ChaosReport {
  label: string;
  durationMs: number;
  scale: { repositories: number; expectedRows: number; tasks: number; tokens: number; identities: number; consumers: number };
  run: { runId: string; status: string; tasks: Record<string, number>; errors: Array<{ repository: string; resource: string; coverage: string | null; state: string; error: string | null }>; error: string | null };
  github: {
    requests: number;
    passed: number;
    identityLookups: number;
    injected: Record<FaultKind, number>;
    bursts: number;
    deleted: string[];
    revoked: number;
    hangsAborted: number;
  };
  platform: {
    batches: number;
    deliveries: number;
    duplicated: number;
    redelivered: number;
    crashed: number;
    reportFailed: number;
    reportAnswerLost: number;
    claimFailed: number;
    r2Failed: number;
    r2FailedAfterWrite: number;
    manifestFailed: number;
    queueSendFailed: number;
    restarts: { coordinator: number; buckets: number; registry: number };
    deadLettered: number;
    watchdogRuns: number;
    alarmFailed: number;
  };
  retries: { client: number; queue: number; deferrals: number; rateLimitWaits: number };
  rows: { expected: number; landed: number; duplicates: number; missing: number; extra: number; deletedRepoLanded: number; deletedRepoBefore: number };
  files: { reported: number; inLake: number; orphans: number; unlisted: number; rowMismatches: number };
  counters: {
    rows: [counter: number, actual: number];
    files: [counter: number, actual: number];
    bytes: [counter: number, actual: number];
    requests: [counter: number, reported: number];
    requestsLost: number;
  };
  limits: {
    violations: { primary: number; secondary: number };
    maxInFlight: number;
    capInFlight: number;
    maxPerMinute: number;
    capPerMinute: number;
    githubPerMinute: number;
  };
  checks: Check[];
}

const n = (x: number) => x.toLocaleString("en-US");

/** The report as a Markdown table (readable as plain text too). */
export function formatTable(r: ChaosReport): string {
  const g = r.github.injected;
  const p = r.platform;
  const rows: Array<[string, string]> = [
    ["**faults injected**", ""],
    ["5xx answers (500 JSON, 502/503/504 HTML pages)", n(g.serverError + g.htmlErrorPage)],
    ["hung connections (ended by the client's timeout)", `${n(g.hang)} (${n(r.github.hangsAborted)} aborted)`],
    ["connection resets", n(g.reset)],
    ["truncated bodies", n(g.truncated)],
    ["non-JSON 200 bodies (HTML / text)", n(g.nonJson)],
    ["secondary-limit answers with retry-after", n(g.secondaryWithRetryAfter)],
    ["secondary-limit answers without retry-after", n(g.secondaryWithoutRetryAfter)],
    ["secondary-limit bursts", n(r.github.bursts)],
    ["repository deleted mid-run", r.github.deleted.join(", ") || "none"],
    ["tokens revoked mid-run", n(r.github.revoked)],
    ["duplicated deliveries (same batch)", n(p.duplicated)],
    ["redeliveries of acked messages (lost acks)", n(p.redelivered)],
    ["consumers killed mid-task", n(p.crashed)],
    ["consumer errors mid-task (report or claim RPC failed)", n(p.reportFailed + p.reportAnswerLost + p.claimFailed)],
    ["failed R2 writes (parts / landed-but-failed / manifest)", `${n(p.r2Failed)} / ${n(p.r2FailedAfterWrite)} / ${n(p.manifestFailed)}`],
    ["failed queue sends", n(p.queueSendFailed)],
    ["Durable Object restarts (coordinator / buckets / registry)", `${n(p.restarts.coordinator)} / ${n(p.restarts.buckets)} / ${n(p.restarts.registry)}`],
    ["**recovery**", ""],
    ["GitHub requests (all / reached the simulator / identity lookups)", `${n(r.github.requests)} / ${n(r.github.passed)} / ${n(r.github.identityLookups)}`],
    ["retries in the client (backoff on 5xx, network, bad bodies)", n(r.retries.client)],
    ["queue retries / dead-lettered", `${n(r.retries.queue)} / ${n(p.deadLettered)}`],
    ["rate-limit waits / deferrals", `${n(r.retries.rateLimitWaits)} / ${n(r.retries.deferrals)}`],
    ["watchdog passes (lost work resent) / alarms that threw", `${n(p.watchdogRuns)} / ${n(p.alarmFailed)}`],
    ["**outcome**", ""],
    ["run status", `${r.run.status} (${r.run.errors.length} repository × resource errors)`],
    ["rows expected vs landed", `${n(r.rows.expected)} vs ${n(r.rows.landed)}`],
    ["rows missing / extra / duplicated", `${n(r.rows.missing)} / ${n(r.rows.extra)} / ${n(r.rows.duplicates)}`],
    ["deleted repository: rows landed before it vanished (of its truth)", `${n(r.rows.deletedRepoLanded)} (of ${n(r.rows.deletedRepoBefore)})`],
    ["files reported vs in the lake (orphans / unlisted)", `${n(r.files.reported)} vs ${n(r.files.inLake)} (${n(r.files.orphans)} / ${n(r.files.unlisted)})`],
    ["counters: rows / files / bytes (counter = lake)", `${same(r.counters.rows)} / ${same(r.counters.files)} / ${same(r.counters.bytes)}`],
    ["counters: requests (counter = reported by consumers)", `${same(r.counters.requests)}; ${n(r.counters.requestsLost)} spent by work that died unreported`],
    ["limit violations (primary / secondary)", `${n(r.limits.violations.primary)} / ${n(r.limits.violations.secondary)}`],
    ["most in flight per identity (cap)", `${n(r.limits.maxInFlight)} (${n(r.limits.capInFlight)})`],
    ["most started per identity in any 60 s, at GitHub (cap; GitHub's limit)", `${n(r.limits.maxPerMinute)} (${n(r.limits.capPerMinute)}; ${n(r.limits.githubPerMinute)})`],
    ["duration", `${(r.durationMs / 1000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = [`| ${"".padEnd(width)} | value |`, `|${"-".repeat(width + 2)}|-------|`];
  for (const [k, v] of rows) lines.push(`| ${k.padEnd(width)} | ${v} |`);
  const failed = r.checks.filter((c) => !c.ok);
  lines.push("", failed.length === 0 ? `all ${r.checks.length} checks passed` : `FAILED checks:\n${failed.map((c) => `- ${c.name}: ${c.detail}`).join("\n")}`);
  return lines.join("\n");
}

function same([a, b]: [number, number]): string {
  return a === b ? `${n(a)} ✓` : `${n(a)} ≠ ${n(b)} ✗`;
}
