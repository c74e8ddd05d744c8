/** Alerts. When the optional secret NOTIFY_WEBHOOK_URL is set, a run's end and every dead task (dead-lettered after the
 *  queue's retries) POST a summary to it in Slack incoming-webhook JSON (`text` for notifications, `blocks` for the
 *  layout). Best effort: never throws, so an unreachable webhook never blocks or fails a run; a failed POST is logged
 *  without the URL (a webhook URL is a credential). */
import { errorText, log } from "./log";
import type { RunStatus } from "./objects/RunCoordinator";

/** NOTIFY_WEBHOOK_URL is a secret that most deployments do not set, so it is not in wrangler.toml's `secrets.required`
 *  (a deploy would then demand it) and `wrangler types` does not know it. */
type NotifyEnv = Env & { NOTIFY_WEBHOOK_URL?: string };

type Text = { type: "plain_text" | "mrkdwn"; text: string; emoji?: boolean };
export type SlackBlock =
  | { type: "header"; text: Text }
  | { type: "section"; text?: Text; fields?: Text[] }
  | { type: "context"; elements: Text[] }
  | { type: "divider" };
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

export interface DeadTask {
  runId: string;
  taskId: string;
  repository: string;
  resource: string;
  error: string;
}

const TIMEOUT_MS = 10_000;
const MAX_ERRORS_LISTED = 10;
const ICON: Record<string, string> = {
  completed: ":white_check_mark:", completed_with_errors: ":warning:", failed: ":x:", cancelled: ":black_square_for_stop:",
};

/** Slack mrkdwn needs &, < and > escaped (they start links and mentions); also bounds the length. */
export function esc(text: string, max = 500): string {
  const bounded = text.length > max ? `${text.slice(0, max)}…` : text;
  return bounded.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
const fmt = (n: number) => n.toLocaleString("en-US");
const md = (text: string): Text => ({ type: "mrkdwn", text });

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** The message for a run that has ended. */
export function runFinishedMessage(run: RunStatus): SlackMessage {
  const icon = ICON[run.status] ?? ":information_source:";
  const took = run.finishedAt ? duration(Date.parse(run.finishedAt) - Date.parse(run.startedAt)) : "?";
  const c = run.counters;
  const coverage = Object.entries(run.coverage).map(([k, v]) => `${k} ${fmt(v ?? 0)}`).join(", ") || "none";
  const headline = `github-lake run ${run.runId} ${run.status} in ${took}: ${fmt(run.repositories)} repositories, ${fmt(c.rows)} rows, ${run.errors.length} error${run.errors.length === 1 ? "" : "s"}`;
  const blocks: SlackBlock[] = [
    { type: "header", text: { type: "plain_text", text: `${icon} github-lake run ${run.status}`.slice(0, 150), emoji: true } },
    {
      type: "section",
      fields: [
        md(`*Run*\n\`${esc(run.runId)}\` (${esc(run.trigger)})`),
        md(`*Took*\n${took}`),
        md(`*Repositories*\n${fmt(run.repositories)}`),
        md(`*Tasks*\n${fmt(run.tasks.done)} done, ${fmt(run.tasks.failed)} failed of ${fmt(run.tasks.total)}`),
        md(`*Rows*\n${fmt(c.rows)} in ${fmt(c.files)} files (${fmt(c.bytes)} bytes)`),
        md(`*GitHub requests*\n${fmt(c.requests)} (${fmt(c.notModified)} not modified), ${fmt(c.rateLimitWaits)} rate-limit waits, ${fmt(c.retries)} retries`),
      ],
    },
    { type: "section", text: md(`*Coverage* ${esc(coverage)}`) },
  ];
  if (run.errors.length > 0 || run.error) {
    const lines = run.errors.slice(0, MAX_ERRORS_LISTED).map((e) => `• \`${esc(e.repository, 140)}\` ${esc(e.resource)}: ${esc(e.coverage ?? "failed")}${e.error ? ` — ${esc(e.error, 200)}` : ""}`);
    if (run.errors.length > MAX_ERRORS_LISTED) lines.push(`…and ${run.errors.length - MAX_ERRORS_LISTED} more (see the manifest)`);
    if (run.error) lines.unshift(`*Run error:* ${esc(run.error, 300)}`);
    blocks.push({ type: "section", text: md(`*Errors*\n${lines.join("\n")}`.slice(0, 2900)) });
  }
  blocks.push({ type: "context", elements: [md(`${icon} manifest \`${esc(run.manifestKey ?? "none")}\``)] });
  return { text: `${icon} ${esc(headline)}`, blocks };
}

/** The message for a task the queue gave up on. */
export function deadTaskMessage(task: DeadTask): SlackMessage {
  const text = `:skull: github-lake task dead in run ${task.runId}: ${task.repository} ${task.resource}`;
  return {
    text: esc(text),
    blocks: [
      { type: "section", text: md(`:skull: *Task dead-lettered* after the queue's retries: \`${esc(task.repository, 140)}\` *${esc(task.resource)}*`) },
      { type: "section", fields: [md(`*Run*\n\`${esc(task.runId)}\``), md(`*Task*\n\`${esc(task.taskId, 200)}\``)] },
      { type: "section", text: md(`*Error*\n${esc(task.error, 1500)}`) },
      { type: "context", elements: [md("`POST /runs/<runId>/retry` re-enqueues failed and dead tasks; docs/RUNBOOK.md: \"The DLQ grows\"")] },
    ],
  };
}

/** POSTs one message; one retry after a network error, a 5xx or a 429. True when the receiver took it. */
export async function postWebhook(url: string, message: SlackMessage, kind: string, fetchImpl: typeof fetch = fetch): Promise<boolean> {
  let lastError = "";
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      const res = await fetchImpl(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await res.body?.cancel();
      if (res.ok) {
        log("notify.sent", { kind, status: res.status });
        return true;
      }
      lastError = `HTTP ${res.status}`;
      if (res.status !== 429 && res.status < 500) break; // a 4xx other than 429 will not change on retry
    } catch (err) {
      lastError = errorText(err);
    }
    if (attempt === 1) await new Promise((r) => setTimeout(r, 1_000));
  }
  log("notify.failed", { kind, error: lastError }, "warn");
  return false;
}

function webhookUrl(env: Env): string | null {
  const url = (env as NotifyEnv).NOTIFY_WEBHOOK_URL?.trim();
  if (!url) return null;
  if (!/^https?:\/\//i.test(url)) {
    log("notify.bad_url", { error: "NOTIFY_WEBHOOK_URL must be an http(s) URL" }, "warn");
    return null;
  }
  return url;
}

/** Called once when a run ends (from the coordinator, under waitUntil). */
export async function notifyRunFinished(env: Env, run: RunStatus): Promise<void> {
  const url = webhookUrl(env);
  if (url) await postWebhook(url, runFinishedMessage(run), "run.finished");
}

/** Called when a task is dead-lettered. */
export async function notifyDeadTask(env: Env, task: DeadTask): Promise<void> {
  const url = webhookUrl(env);
  if (url) await postWebhook(url, deadTaskMessage(task), "task.dead");
}
