/** Sent in every GitHub request's User-Agent (GitHub answers 403 without one). Keep in step with package.json. */
export const VERSION = "0.1.0";
export const USER_AGENT = `github-lake/${VERSION}`;
