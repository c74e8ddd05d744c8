// /_sim/* admin endpoints: no auth, never counted in stats. Lets a test or `npm start` read stats and
// truth, reset counters and limits, mutate the data and change limits/faults/latency at runtime.

import type { GitHubSimulator } from "./simulator";
import type { Mutation, SimConfig } from "./types";
import { MutationError } from "./mutate";

export const ADMIN_ENDPOINTS = [
  "GET /_sim/stats",
  "GET /_sim/truth",
  "GET /_sim/config",
  "POST /_sim/config",
  "POST /_sim/reset-stats",
  "POST /_sim/reset-limits",
  "POST /_sim/mutate",
  "POST /_sim/revoke",
  "GET /_sim/health",
];

async function readJson(req: Request): Promise<unknown> {
  const body: unknown = await req.json();
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new TypeError("expected a JSON object");
  return body;
}

export async function handleAdmin(sim: GitHubSimulator, req: Request, url: URL): Promise<Response> {
  const send = (status: number, body: unknown) =>
    new Response(JSON.stringify(body, null, 2), { status, headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" } });
  const route = `${req.method} ${url.pathname.replace(/\/+$/, "")}`;
  try {
    switch (route) {
      case "GET /_sim":
        return send(200, { endpoints: ADMIN_ENDPOINTS, users: sim.users });
      case "GET /_sim/health":
        return send(200, { ok: true });
      case "GET /_sim/stats":
        return send(200, sim.stats());
      case "GET /_sim/truth":
        return send(200, sim.truth());
      case "GET /_sim/config":
        return send(200, sim.config());
      case "POST /_sim/config":
        sim.configure((await readJson(req)) as SimConfig);
        return send(200, sim.config());
      case "POST /_sim/reset-stats":
        sim.resetStats();
        return send(200, sim.stats());
      case "POST /_sim/reset-limits":
        sim.resetLimits();
        return send(200, sim.stats());
      case "POST /_sim/revoke": {
        const { token } = (await readJson(req)) as { token?: unknown };
        if (typeof token !== "string") throw new TypeError("expected {\"token\": \"…\"}");
        return send(200, { revoked: sim.revoke(token) });
      }
      case "POST /_sim/mutate":
        sim.mutate((await readJson(req)) as Mutation);
        return send(200, { ok: true });
      default:
        return send(404, { message: "Not Found" });
    }
  } catch (e) {
    // Bad input from the caller (malformed JSON, unknown repository, out-of-range config) is a 400.
    if (e instanceof MutationError || e instanceof RangeError || e instanceof SyntaxError || e instanceof TypeError) {
      return send(400, { message: e.message });
    }
    throw e;
  }
}
