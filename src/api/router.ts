/** The admin HTTP API. Responsibilities: routing, authentication (every route but /health), input validation, and
 *  JSON errors: bad input is a 4xx that says what is wrong, never a 5xx. Work is delegated to the Durable Objects. */
import { AutoRouter, StatusError, error, json, type IRequest } from "itty-router";
import { isAdmin } from "../auth";
import { readConfig } from "../config";
import { dashboardResponse } from "../dashboard/page";
import { rateLimitView } from "../github/pool";
import { LAKE_PREFIX } from "../lake/keys";
import { errorText, log } from "../log";
import { RUN_ID_PATTERN } from "../objects/runId";
import { coordinator } from "../queue";
import { VERSION } from "../version";
import { preflight, withCors } from "./cors";
import { parseRunRequest, readJsonBody } from "./validate";

type Args = [Env, ExecutionContext];

/** A path parameter, percent-decoded; a malformed escape (`%E0%A4%A`) is a 404, never a URIError (a 500). */
function pathParam(req: IRequest, name: string, what: string): string {
  try {
    return decodeURIComponent(req.params[name] ?? "");
  } catch {
    throw new StatusError(404, `${what} not found: the path has a malformed %-escape`);
  }
}

function runIdParam(req: IRequest): string {
  const runId = pathParam(req, "runId", "run");
  if (!RUN_ID_PATTERN.test(runId)) throw new StatusError(404, `run ${JSON.stringify(runId.slice(0, 80))} not found`);
  return runId;
}

export const router = AutoRouter<IRequest, Args>({
  before: [
    (req: IRequest, env: Env) => preflight(req as unknown as Request, env), // CORS: closed unless CORS_ORIGINS names the origin
    async (req: IRequest, env: Env) => {
      const path = new URL(req.url).pathname;
      if (path === "/health" || (path === "/" && req.method === "GET")) return; // the dashboard page asks for the token itself
      // A browser's live feed: the RunCoordinator redeems the single-use ticket (from POST /runs/:runId/ws-ticket).
      if (req.method === "GET" && /^\/runs\/[^/]+\/ws$/.test(path) && typeof req.query.ticket === "string" && !req.headers.get("Authorization")) return;
      if (!(await isAdmin(req as unknown as Request, env))) {
        return json({ status: 401, error: "missing or wrong admin token: send Authorization: Bearer $ADMIN_TOKEN" }, { status: 401, headers: { "WWW-Authenticate": "Bearer" } });
      }
    },
  ],
  catch: (err: unknown, req: IRequest) => {
    if (err instanceof StatusError && err.status < 500) return error(err.status, err.message);
    log("api.error", { method: req.method, path: new URL(req.url).pathname, error: errorText(err) }, "error");
    return error(500, "internal error (logged)");
  },
  finally: [(res: Response, req: IRequest, env: Env) => withCors(res, req as unknown as Request, env)],
})
  .get("/health", () => ({ ok: true, service: "github-lake", version: VERSION }))
  .get("/", () => dashboardResponse())
  .post("/runs", async (req: IRequest, env: Env) => {
    const body = parseRunRequest(await readJsonBody(req as unknown as Request));
    const result = await coordinator(env).createRun({ trigger: "api", ...body });
    if ("skipped" in result) throw new StatusError(409, result.reason);
    return json(result, { status: 202 });
  })
  .get("/runs", async (_req: IRequest, env: Env) => ({ runs: await coordinator(env).listRuns() }))
  .get("/runs/:runId", async (req: IRequest, env: Env) => {
    const runId = runIdParam(req);
    const status = await coordinator(env).status(runId);
    if (!status) throw new StatusError(404, `run ${runId} not found`);
    return status;
  })
  .get("/runs/:runId/repositories", async (req: IRequest, env: Env) => ({ repositories: await coordinator(env).repositories(runIdParam(req)) }))
  .post("/runs/:runId/cancel", async (req: IRequest, env: Env) => {
    const result = await coordinator(env).cancel(runIdParam(req));
    if ("refused" in result) throw new StatusError(result.code, result.refused);
    return result;
  })
  .post("/runs/:runId/retry", async (req: IRequest, env: Env) => {
    const result = await coordinator(env).retry(runIdParam(req));
    if ("refused" in result) throw new StatusError(result.code, result.refused);
    return json(result, { status: 202 });
  })
  .post("/runs/:runId/ws-ticket", async (req: IRequest, env: Env) => {
    const runId = runIdParam(req);
    const ticket = await coordinator(env).issueTicket(runId);
    if (!ticket) throw new StatusError(404, `run ${runId} not found`);
    return { ...ticket, url: `/runs/${runId}/ws?ticket=${ticket.ticket}` };
  })
  .get("/runs/:runId/ws", (req: IRequest, env: Env) => {
    runIdParam(req);
    if (req.headers.get("Upgrade")?.toLowerCase() !== "websocket") throw new StatusError(426, "this route needs a WebSocket upgrade");
    // A fresh Request: the router hands handlers a proxy, which the DO stub's fetch cannot take.
    return coordinator(env).fetch(new Request(req.url, { method: "GET", headers: req.headers }));
  })
  .get("/ratelimit", (_req: IRequest, env: Env) => rateLimitView(env)) // buckets per quota identity; tokens only as hashes
  // The lake over HTTP, for operators without R2 credentials (and `npm start`, which exports a run's files).
  .get("/lake", async (req: IRequest, env: Env) => {
    const prefix = typeof req.query.prefix === "string" ? req.query.prefix : `${LAKE_PREFIX}/`;
    if (!prefix.startsWith(`${LAKE_PREFIX}/`)) throw new StatusError(400, `prefix must start with ${LAKE_PREFIX}/`);
    const cursor = typeof req.query.cursor === "string" ? req.query.cursor : undefined;
    const listed = await env.LAKE.list({ prefix, cursor, limit: 1000 });
    return {
      objects: listed.objects.map((o) => ({ key: o.key, size: o.size, uploaded: o.uploaded.toISOString() })),
      cursor: listed.truncated ? listed.cursor : null,
    };
  })
  .get("/lake/:key+", async (req: IRequest, env: Env) => {
    const key = pathParam(req, "key", "object");
    // R2 keys are at most 1,024 bytes: a longer one cannot exist (and R2 would throw, not answer null).
    if (!key.startsWith(`${LAKE_PREFIX}/`) || key.split("/").includes("..") || new TextEncoder().encode(key).byteLength > 1024) throw new StatusError(404, "no such object");
    const object = await env.LAKE.get(key);
    if (!object) throw new StatusError(404, "no such object");
    const headers = new Headers();
    object.writeHttpMetadata(headers);
    headers.set("etag", object.httpEtag);
    headers.set("content-length", String(object.size));
    return new Response(object.body, { headers });
  });
