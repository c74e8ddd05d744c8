/** Worker entry: wires the admin API (fetch), the nightly run (scheduled) and the fetchers (queue) to their modules. */
import { router } from "./api/router";
import { RESOURCES } from "./lake/schemas";
import { consumeDeadLetters, consumeFetchBatch, coordinator } from "./queue";

export { RunCoordinator } from "./objects/RunCoordinator";
export { QuotaRegistry } from "./objects/QuotaRegistry";
export { TokenBucket } from "./objects/TokenBucket";

export default {
  fetch: (request, env, ctx) => router.fetch(request, env, ctx),
  async scheduled(_controller, env) {
    await coordinator(env).createRun({ trigger: "cron", resources: [...RESOURCES] });
  },
  async queue(batch, env) {
    if (batch.queue.endsWith("-dlq")) await consumeDeadLetters(batch, env);
    else await consumeFetchBatch(batch, env);
  },
} satisfies ExportedHandler<Env>;
