/** `npm run dev`: the bundled GitHub simulator and the Worker under `wrangler dev`, kept serving for the admin API.
 *  Prints the URLs and a fresh admin token; Ctrl-C stops both. */
import { join } from "node:path";
import { ROOT, startDevStack } from "./devstack";

const port = Number(process.env.PORT ?? 8787);
const stack = await startDevStack({ persistDir: join(ROOT, ".wrangler", "dev-state"), port, verbose: process.argv.includes("--verbose") });
console.log(`github-lake dev stack is up.
  worker      ${stack.workerUrl}   (admin API; Ctrl-C stops everything)
  simulator   ${stack.simUrl}      (GitHub REST; /_sim/stats, /_sim/truth)
  admin token ${stack.adminToken}

Try:
  export ADMIN_TOKEN=${stack.adminToken}
  curl -s -X POST -H "Authorization: Bearer $ADMIN_TOKEN" ${stack.workerUrl}/runs
  curl -s -H "Authorization: Bearer $ADMIN_TOKEN" ${stack.workerUrl}/runs | jq
  curl -s -H "Authorization: Bearer $ADMIN_TOKEN" ${stack.workerUrl}/ratelimit | jq
  curl -s ${stack.workerUrl}/__scheduled   # fire the nightly cron now`);
const shutdown = async () => {
  await stack.stop();
  process.exit(0);
};
process.once("SIGINT", () => void shutdown());
process.once("SIGTERM", () => void shutdown());
