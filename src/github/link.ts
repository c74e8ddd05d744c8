/** Parses GitHub's `Link` header (RFC 8288 as GitHub writes it: `<url>; rel="next", <url>; rel="last"`).
 *  Pagination always follows these URLs verbatim: GitHub may switch path (`/repositories/{id}/…`) or use cursors. */

export type LinkRels = Partial<Record<"next" | "prev" | "first" | "last", string>> & Record<string, string | undefined>;

export function parseLink(header: string | null | undefined): LinkRels {
  const rels: LinkRels = {};
  if (!header) return rels;
  // URLs cannot contain '<' or '>', so split on them rather than on commas (a URL may hold commas, e.g. affiliation=a,b).
  const re = /<([^>]*)>\s*((?:;\s*[^;,<]+)*)/g;
  for (const match of header.matchAll(re)) {
    const url = match[1];
    const params = match[2] ?? "";
    const rel = /;\s*rel\s*=\s*"?([^";]+)"?/i.exec(params)?.[1];
    if (!url || !rel) continue;
    for (const name of rel.trim().split(/\s+/)) rels[name.toLowerCase()] = url;
  }
  return rels;
}
