// HTTP details shared by the simulator core: GitHub's error bodies, headers, pagination links, ETags.

export const DOCS = {
  rest: "https://docs.github.com/rest",
  rateLimits: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
  secondary: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
  listCommits: "https://docs.github.com/rest/commits/commits#list-commits",
  listStargazers: "https://docs.github.com/rest/activity/starring#list-stargazers",
  userRepos: "https://docs.github.com/rest/repos/repos#list-repositories-for-the-authenticated-user",
  pagination: "https://docs.github.com/v3/#pagination",
  apiVersions: "https://docs.github.com/rest/about-the-rest-api/api-versions",
} as const;

/** GitHub's error body: message, documentation_url and (since 2024) the status as a string. */
export function errorBody(message: string, documentationUrl: string, status: number): string {
  return JSON.stringify({ message, documentation_url: documentationUrl, status: String(status) });
}

export const USER_AGENT_MESSAGE =
  "Request forbidden by administrative rules. Please make sure your request has a User-Agent header " +
  "(https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). " +
  "Check https://developer.github.com for other possible causes.\n";

export const JSON_TYPE = "application/json; charset=utf-8";

/** Headers GitHub puts on every API answer, whatever its status. */
export function commonHeaders(requestId: string, nowMs: number): Headers {
  const h = new Headers();
  h.set("date", new Date(nowMs).toUTCString());
  h.set("server", "github.com");
  h.set("x-github-request-id", requestId);
  h.set("x-github-api-version-selected", "2022-11-28");
  h.set(
    "access-control-expose-headers",
    "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, " +
      "X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, " +
      "X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset",
  );
  h.set("access-control-allow-origin", "*");
  h.set("strict-transport-security", "max-age=31536000; includeSubdomains; preload");
  h.set("x-frame-options", "deny");
  h.set("x-content-type-options", "nosniff");
  h.set("x-xss-protection", "0");
  h.set("referrer-policy", "origin-when-cross-origin, strict-origin-when-cross-origin");
  h.set("content-security-policy", "default-src 'none'");
  h.set("vary", "Accept, Authorization, Cookie, X-GitHub-OTP,Accept-Encoding, Accept, X-Requested-With");
  return h;
}

export interface RateView {
  limit: number;
  remaining: number;
  used: number;
  /** Epoch seconds. */
  reset: number;
}

export function setRateHeaders(h: Headers, v: RateView): void {
  h.set("x-ratelimit-limit", String(v.limit));
  h.set("x-ratelimit-remaining", String(v.remaining));
  h.set("x-ratelimit-reset", String(v.reset));
  h.set("x-ratelimit-used", String(v.used));
  h.set("x-ratelimit-resource", "core");
}

export interface Paging {
  page: number;
  perPage: number;
}

/** per_page defaults to 30 and is clamped to 100; page defaults to 1. */
export function parsePaging(q: URLSearchParams): Paging {
  const pp = Number.parseInt(q.get("per_page") ?? "", 10);
  const p = Number.parseInt(q.get("page") ?? "", 10);
  return {
    perPage: Number.isFinite(pp) && pp >= 1 ? Math.min(pp, 100) : 30,
    page: Number.isFinite(p) && p >= 1 ? p : 1,
  };
}

/**
 * The request's own query with `page` replaced (or appended), keeping every other parameter in its
 * original order and spelling, as GitHub's links do.
 */
export function pageUrl(base: string, rawSearch: string, page: number): string {
  const out: string[] = [];
  let placed = false;
  for (const part of rawSearch.replace(/^\?/, "").split("&")) {
    if (part === "") continue;
    const key = part.split("=")[0] ?? "";
    if (key === "page") {
      if (!placed) out.push(`page=${page}`);
      placed = true;
      continue;
    }
    out.push(part);
  }
  if (!placed) out.push(`page=${page}`);
  return `${base}?${out.join("&")}`;
}

/** GitHub's Link header: prev, next, last, first, in that order; none when everything fits on page 1. */
export function linkHeader(base: string, rawSearch: string, page: number, lastPage: number): string | null {
  const links: string[] = [];
  if (page > 1) links.push(`<${pageUrl(base, rawSearch, page - 1)}>; rel="prev"`);
  if (page < lastPage) {
    links.push(`<${pageUrl(base, rawSearch, page + 1)}>; rel="next"`);
    links.push(`<${pageUrl(base, rawSearch, lastPage)}>; rel="last"`);
  }
  if (page > 1) links.push(`<${pageUrl(base, rawSearch, 1)}>; rel="first"`);
  return links.length > 0 ? links.join(", ") : null;
}

export function lastPageOf(total: number, perPage: number): number {
  return Math.max(1, Math.ceil(total / perPage));
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  const bytes = new Uint8Array(digest);
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** If-None-Match: a list of entity tags or "*"; compared weakly (W/ prefixes ignored), per RFC 9110. */
export function ifNoneMatchHits(header: string | null, etag: string): boolean {
  if (!header) return false;
  const strip = (t: string) => t.trim().replace(/^W\//, "");
  const want = strip(etag);
  return header.split(",").some((t) => {
    const s = t.trim();
    return s === "*" || strip(s) === want;
  });
}

/** `Authorization: Bearer x` or `token x` (GitHub accepts both); null when absent or of another scheme. */
export function parseAuthorization(header: string | null): string | null {
  if (!header) return null;
  const m = /^\s*(bearer|token)\s+(\S+)\s*$/i.exec(header);
  return m ? (m[2] ?? null) : null;
}

/** Unicorn page GitHub's front end serves on 502/503. */
export const UNICORN_HTML = `<!DOCTYPE html>
<html>
  <head>
    <meta http-equiv="Content-type" content="text/html; charset=utf-8">
    <meta http-equiv="Content-Security-Policy" content="default-src 'none'; base-uri 'self'; connect-src 'self'; form-action 'self'; img-src 'self' data:; script-src 'self'; style-src 'unsafe-inline'">
    <title>Unicorn! &middot; GitHub</title>
  </head>
  <body>
    <div class="container">
      <p><strong>No server is currently available to service your request.</strong></p>
      <p>Sorry about that. Please try refreshing and contact us if the problem persists.</p>
      <div id="suggestions">
        <a href="https://githubstatus.com">GitHub Status</a> &mdash;
        <a href="https://twitter.com/githubstatus">@githubstatus</a>
      </div>
    </div>
  </body>
</html>
`;
