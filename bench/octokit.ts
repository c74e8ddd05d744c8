/** The standard per-process answer, for comparison with the TokenBucket: N independent fetchers, each an Octokit client
 *  with @octokit/plugin-throttling and @octokit/plugin-retry (its own limiter, as N isolates would each have), sharing a
 *  queue of the same work a run does — discovery, then every repository × resource listing page by page, then the
 *  reactions of every issue whose rollup is non-zero. They pause as GitHub tells them (retry-after, the primary
 *  reset) and retry 5xx, as the plugins' documentation recommends; nothing coordinates them. */
import { Octokit } from "@octokit/core";
import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";

const FleetOctokit = Octokit.plugin(throttling, retry);

interface Task {
  url: string;
  kind: "repos" | "issues" | "other" | "stars";
}

export interface FleetResult {
  /** Pages that got their final answer (200, or a 404/409/403/422 that ends a listing). */
  pages: number;
  finished: boolean;
  seconds: number;
  /** Pages done by each elapsed second, for "how much by the time the other fleet was done". */
  progress: Array<{ t: number; pages: number }>;
}

export async function runOctokitFleet(options: { apiUrl: string; token: string; fetchers: number; deadlineMs: number }): Promise<FleetResult> {
  const { apiUrl, token, fetchers } = options;
  const queue: Task[] = [{ url: `${apiUrl}/user/repos?affiliation=owner,collaborator,organization_member&per_page=100`, kind: "repos" }];
  let busy = 0;
  let pages = 0;
  const t0 = Date.now();
  const progress: FleetResult["progress"] = [];
  const tick = setInterval(() => progress.push({ t: (Date.now() - t0) / 1000, pages }), 250);
  let stop = false;
  const timer = setTimeout(() => (stop = true), options.deadlineMs);

  const fetcher = async (i: number) => {
    const octokit = new FleetOctokit({
      auth: token,
      baseUrl: apiUrl,
      userAgent: "github-lake-bench-octokit",
      throttle: {
        id: `isolate-${i}`, // each fetcher its own limiter, as separate isolates would have
        onRateLimit: () => true,
        onSecondaryRateLimit: () => true,
      },
      retry: { retries: 3 },
      log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
    for (;;) {
      if (stop) return;
      const task = queue.shift();
      if (!task) {
        if (busy === 0) return;
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      busy++;
      try {
        let url: string | null = task.url;
        while (url && !stop) {
          let res;
          try {
            res = await octokit.request({ method: "GET", url, headers: task.kind === "stars" ? { accept: "application/vnd.github.star+json" } : {} });
          } catch (err) {
            const status = (err as { status?: number }).status ?? 0;
            if ([403, 404, 409, 422].includes(status)) {
              pages++; // a final answer that ends this listing (restricted, vanished, empty, capped)
              break;
            }
            continue; // retries spent on a 5xx: ask for the same page again
          }
          pages++;
          const body = res.data as unknown;
          if (task.kind === "repos") {
            for (const repo of body as Array<{ full_name: string }>) {
              const base = `${apiUrl}/repos/${repo.full_name}`;
              queue.push(
                { url: `${base}/issues?state=all&per_page=100`, kind: "issues" },
                { url: `${base}/pulls?state=all&per_page=100`, kind: "other" },
                { url: `${base}/commits?per_page=100`, kind: "other" },
                { url: `${base}/stargazers?per_page=100`, kind: "stars" },
                { url: `${base}/releases?per_page=100`, kind: "other" },
                { url: `${base}/actions/runs?per_page=100`, kind: "other" },
              );
            }
          } else if (task.kind === "issues") {
            for (const issue of body as Array<{ number: number; reactions?: { total_count?: number }; repository_url: string }>) {
              if ((issue.reactions?.total_count ?? 0) > 0) queue.push({ url: `${issue.repository_url}/issues/${issue.number}/reactions?per_page=100`, kind: "other" });
            }
          }
          url = /<([^>]+)>;\s*rel="next"/.exec(String(res.headers.link ?? ""))?.[1] ?? null;
        }
      } finally {
        busy--;
      }
    }
  };
  // At the deadline the fleet is abandoned where it stands (a fetcher may be sleeping out a retry-after in its limiter).
  const deadline = new Promise<void>((r) => setTimeout(r, options.deadlineMs + 50));
  await Promise.race([Promise.all(Array.from({ length: fetchers }, (_, i) => fetcher(i))), deadline]);
  clearInterval(tick);
  clearTimeout(timer);
  const seconds = (Date.now() - t0) / 1000;
  progress.push({ t: seconds, pages });
  return { pages, finished: !stop && queue.length === 0, seconds, progress };
}
