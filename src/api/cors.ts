/** CORS for the admin API. Closed unless the optional var CORS_ORIGINS names the browser origins that may call it
 *  (comma-separated, exact `scheme://host[:port]`; no wildcard: this API holds the keys to the lake). An allowed
 *  origin may read answers and send `Authorization` — the token is still required on every route; no other origin gets
 *  a single Access-Control header. Credentials (cookies) are never allowed: the API takes a bearer token only. */

type CorsEnv = Env & { CORS_ORIGINS?: string };

const ALLOW_METHODS = "GET, POST, OPTIONS";
const ALLOW_HEADERS = "Authorization, Content-Type";
const MAX_AGE_S = "600";

function allowedOrigin(request: Request, env: Env): string | null {
  const origin = request.headers.get("Origin");
  const list = (env as CorsEnv).CORS_ORIGINS;
  if (!origin || !list) return null;
  return list.split(",").map((o) => o.trim()).filter(Boolean).includes(origin) ? origin : null;
}

/** A preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin: 204 with what it may send.
 *  Anything else falls through (and, unauthenticated, meets the 401 like any other request). */
export function preflight(request: Request, env: Env): Response | undefined {
  if (request.method !== "OPTIONS" || !request.headers.get("Access-Control-Request-Method")) return undefined;
  const origin = allowedOrigin(request, env);
  if (!origin) return undefined;
  return new Response(null, {
    status: 204,
    headers: {
      "Access-Control-Allow-Origin": origin,
      "Access-Control-Allow-Methods": ALLOW_METHODS,
      "Access-Control-Allow-Headers": ALLOW_HEADERS,
      "Access-Control-Max-Age": MAX_AGE_S,
      Vary: "Origin",
    },
  });
}

/** The answer, readable by an allowed origin's page; unchanged for everyone else (and for WebSocket upgrades). */
export function withCors(response: Response, request: Request, env: Env): Response {
  const origin = allowedOrigin(request, env);
  if (!origin || response.status === 101 || response.headers.has("Access-Control-Allow-Origin")) return response;
  const out = new Response(response.body, response); // headers of a fetched or DO response may be immutable
  out.headers.set("Access-Control-Allow-Origin", origin);
  out.headers.append("Vary", "Origin");
  return out;
}
