/** Errors of the GitHub client. They stay inside the Worker: across RPC they lose their class and stack. */

/** GitHub answered with a status the caller must handle (404 vanished, 409 empty, 403 restricted, 401, 422…). */
export class GitHubError extends Error {
  override name = "GitHubError";
  constructor(
    readonly status: number,
    readonly path: string,
    message: string,
    /** True for answers worth retrying later (5xx, timeouts, network errors). */
    readonly retryable = false,
  ) {
    super(`GitHub ${status} on ${path}: ${message}`);
  }
}

/** The rate limiter asks for a wait longer than a consumer should hold a message; hand the work back until `untilMs`. */
export class RateLimitWait extends Error {
  override name = "RateLimitWait";
  constructor(readonly untilMs: number, readonly reason: string) {
    super(`rate limit: wait until ${new Date(untilMs).toISOString()} (${reason})`);
  }
}

/** GitHub's 2026 restriction: stargazer lists only for a repo's admins and collaborators. Not a rate limit. */
export function isRestrictedStargazers(status: number, message: string): boolean {
  return status === 403 && /permission to view the stargazers/i.test(message);
}
