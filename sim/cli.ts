// `npx tsx sim/cli.ts --port 8788 --repos 6 --seed 1 ...`: runs the simulator until SIGINT/SIGTERM.

import { startSimulator } from "./server";
import type { SimOptions } from "./types";

const HELP = `GitHub REST API simulator

  --port N              listen port (default 8788; 0 = random)
  --host H              listen address (default 127.0.0.1)
  --repos N             ordinary repositories (default 6)
  --scale X             size multiplier for every ordinary repository (default 1)
  --seed N              data seed (default 1)
  --no-special          without empty-repo, vanished-repo, private-stars
  --token T[,T2]        tokens of the default user octo-sim (default sim-token)
  --primary-limit N     primary quota per user and window (default 5000)
  --primary-window S    primary window in seconds (default 3600)
  --max-concurrent N    secondary limit: requests in flight per user (0 = off)
  --max-per-minute N    secondary limit: requests per sliding minute per user (0 = off)
  --retry-after S       secondary penalty / retry-after seconds (default 60)
  --secondary-status N  403 or 429 (default 403)
  --omit-retry-after    send no retry-after on secondary limits
  --fault-rate X        0..1 share of 5xx answers (default 0)
  --latency-ms N|A-B    delay before answering (default 0)
  --stargazer-page-cap N  (default 400)
`;

function parseArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new Error(`unexpected argument: ${a}`);
    const eq = a.indexOf("=");
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--")) out.set(a.slice(2), argv[++i]!);
    else out.set(a.slice(2), "true");
  }
  return out;
}

function num(args: Map<string, string>, name: string, fallback: number): number {
  const v = args.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} needs a number, got ${v}`);
  return n;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.has("help")) {
    process.stdout.write(HELP);
    return;
  }
  const latency = args.get("latency-ms") ?? "0";
  const range = /^(\d+)-(\d+)$/.exec(latency);
  const latencyMs: SimOptions["latencyMs"] = range ? [Number(range[1]), Number(range[2])] : Number(latency);
  const tokens = (args.get("token") ?? "sim-token").split(",").map((t) => t.trim()).filter(Boolean);
  const status = num(args, "secondary-status", 403);
  if (status !== 403 && status !== 429) throw new Error("--secondary-status must be 403 or 429");
  const running = await startSimulator({
    port: num(args, "port", 8788),
    host: args.get("host") ?? "127.0.0.1",
    seed: num(args, "seed", 1),
    repos: num(args, "repos", 6),
    scale: num(args, "scale", 1),
    special: !args.has("no-special"),
    users: [{ login: "octo-sim", id: 9000001, tokens }],
    primary: { limit: num(args, "primary-limit", 5000), windowSeconds: num(args, "primary-window", 3600) },
    secondary: {
      maxConcurrent: num(args, "max-concurrent", 0),
      maxPerMinute: num(args, "max-per-minute", 0),
      retryAfterSeconds: num(args, "retry-after", 60),
      status,
      omitRetryAfter: args.has("omit-retry-after"),
    },
    faultRate: num(args, "fault-rate", 0),
    latencyMs,
    stargazerPageCap: num(args, "stargazer-page-cap", 400),
  });
  const truth = running.sim.truth();
  process.stdout.write(
    `GitHub simulator listening on ${running.url}\n` +
      `accepted token(s): ${tokens.join(", ")} (user octo-sim, id 9000001)\n` +
      `repositories: ${truth.repositories.length}; admin: ${running.url}/_sim/stats, /_sim/truth\n`,
  );
  const stop = () => {
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
