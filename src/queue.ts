/** Queue consumers. Responsibilities: run each FetchJob of a batch (a few at once), hand its report to the
 *  RunCoordinator, and decide per message: ack, fail the task (a GitHub answer that retrying cannot change), defer it
 *  (a long rate-limit wait, which must not burn the queue's retries) or retry with backoff. The DLQ consumer marks
 *  the tasks of dead messages failed with their last error, so nothing is skipped silently. */
import { readConfig } from "./config";
import { runJob, type JobDeps } from "./github/fetchPart";
import { GitHubError, RateLimitWait } from "./github/errors";
import type { FetchJob } from "./github/jobs";
import { isResourceName } from "./lake/schemas";
import { errorText, log } from "./log";
import { recordDeadMetrics, recordErrorMetrics, recordPartMetrics } from "./metrics";

export function coordinator(env: Env) {
  return env.RUN_COORDINATOR.getByName("coordinator");
}

const MAX_RETRY_DELAY_S = 300;

export async function consumeFetchBatch(batch: MessageBatch<unknown>, env: Env, deps: JobDeps = {}): Promise<void> {
  const { fetchConcurrency } = readConfig(env);
  await forEachLimited(batch.messages, fetchConcurrency, (msg) => handle(msg, env, deps));
}

async function handle(msg: Message<unknown>, env: Env, deps: JobDeps): Promise<void> {
  const job = msg.body;
  if (!isFetchJob(job)) {
    log("queue.bad_message", { id: msg.id }, "error");
    msg.ack(); // a malformed message never becomes valid: retrying it would only fill the DLQ
    return;
  }
  const fields = { runId: job.runId, task: job.taskId, part: job.part, attempt: msg.attempts };
  const run = coordinator(env);
  try {
    // The coordinator says whether, and from which part, to work: a duplicate or a job of an ended run is dropped,
    // and a redelivery after a consumer died resumes at the page it was on.
    const start = await run.claim(job.runId, job.taskId, job.part);
    if (!start) {
      msg.ack();
      return;
    }
    const claimed: FetchJob = { ...job, part: start.part, url: start.url ?? (start.part === job.part ? job.url : null) };
    const end = await runJob(claimed, env, deps, async (report) => {
      await run.recordPart(report);
      recordPartMetrics(env, job, report);
    });
    if (end.kind === "defer") {
      const err = new RateLimitWait(end.untilMs, "rate limit");
      log("ratelimit.wait", { ...fields, part: end.job.part, until: new Date(end.untilMs).toISOString() }, "warn");
      recordErrorMetrics(env, job, err);
      await run.defer(end.job, end.untilMs);
    }
    msg.ack();
  } catch (err) {
    recordErrorMetrics(env, job, err);
    if (err instanceof GitHubError && !err.retryable) {
      await run.failTask(job.runId, job.taskId, errorText(err));
      msg.ack();
    } else {
      const delaySeconds = Math.min(MAX_RETRY_DELAY_S, 2 ** msg.attempts + Math.floor(Math.random() * 5));
      log("task.retry", { ...fields, error: errorText(err), delaySeconds }, "warn");
      try {
        await run.noteAttemptError(job.runId, job.taskId, errorText(err), job.part);
      } catch {
        /* best effort: the retry matters more than the note */
      }
      msg.retry({ delaySeconds });
    }
  }
}

/** Messages the queue gave up on (max_retries spent): their tasks fail with the last error they reported. */
export async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const msg of batch.messages) {
    const job = msg.body;
    if (isFetchJob(job)) {
      recordDeadMetrics(env, job);
      await coordinator(env).failTask(job.runId, job.taskId, "dead-lettered after the queue's retries", true);
    }
    else log("dlq.bad_message", { id: msg.id }, "error");
    msg.ack();
  }
}

function isFetchJob(x: unknown): x is FetchJob {
  const j = x as Partial<FetchJob> | null;
  return !!j && typeof j.runId === "string" && typeof j.taskId === "string" && typeof j.part === "number" && isResourceName(j.resource)
    && typeof j.startedAt === "string" && typeof j.write === "boolean";
}

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
