/** Reads and validates the Worker's configuration (vars and secrets) once per call site. */

export interface Config {
  apiUrl: string;
  /** GITHUB_TOKEN may hold several comma-separated tokens (a pool). */
  tokens: string[];
  rateMaxConcurrent: number;
  rateMaxPerMinute: number;
  /** Requests of each primary window left for people and other tools. */
  rateReserve: number;
  /** Messages of one queue batch processed at once by one consumer isolate. */
  fetchConcurrency: number;
  maxReposPerRun: number;
  /** Pages one queue message fetches before it writes a part file and hands over to a continuation. */
  pagesPerPart: number;
  /** Task details of runs older than this are pruned (their summaries are kept). */
  retentionDays: number;
  /** Length of GitHub's primary window, for the ETA of quota-bound runs. */
  rateWindowSeconds: number;
  /** A GitHub request with no complete answer by then is aborted and retried. Below the TokenBucket's lease TTL (90 s). */
  timeoutMs: number;
}

function int(value: string | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`config ${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

export function readConfig(env: Env): Config {
  const apiUrl = (env.GITHUB_API_URL || "https://api.github.com").replace(/\/+$/, "");
  return {
    apiUrl,
    tokens: (env.GITHUB_TOKEN ?? "").split(",").map((t) => t.trim()).filter(Boolean),
    rateMaxConcurrent: int(env.RATE_MAX_CONCURRENT, "RATE_MAX_CONCURRENT", 8, 1),
    rateMaxPerMinute: int(env.RATE_MAX_PER_MINUTE, "RATE_MAX_PER_MINUTE", 600, 1),
    rateReserve: int(env.RATE_RESERVE, "RATE_RESERVE", 100, 0),
    fetchConcurrency: int(env.FETCH_CONCURRENCY, "FETCH_CONCURRENCY", 4, 1),
    maxReposPerRun: int(env.MAX_REPOS_PER_RUN, "MAX_REPOS_PER_RUN", 10_000, 1),
    pagesPerPart: int(env.PAGES_PER_PART, "PAGES_PER_PART", 10, 1),
    retentionDays: int(env.RETENTION_DAYS, "RETENTION_DAYS", 90, 1),
    rateWindowSeconds: int(env.RATE_WINDOW_SECONDS, "RATE_WINDOW_SECONDS", 3600, 1),
    timeoutMs: Math.min(60_000, int(env.GITHUB_TIMEOUT_MS, "GITHUB_TIMEOUT_MS", 30_000, 100)),
  };
}
