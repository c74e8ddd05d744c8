/** Validation of admin API input. Every rejection is a StatusError with a message that says what to fix. */
import { StatusError } from "itty-router";
import { RESOURCES, isResourceName, type ResourceName } from "../lake/schemas";

export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_REPOS_PER_REQUEST = 1_000;

// GitHub's alphabets: owners are alphanumerics and single hyphens (≤ 39, no leading hyphen); repository names are
// [A-Za-z0-9._-], ≤ 100, never "." or "..". Anything else cannot be a GitHub repository (and could steer a key).
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;

export function isRepoFullName(s: string): boolean {
  const parts = s.split("/");
  if (parts.length !== 2) return false;
  const [owner = "", repo = ""] = parts;
  return OWNER.test(owner) && REPO.test(repo) && repo !== "." && repo !== "..";
}

/** Reads a JSON body of at most MAX_BODY_BYTES; an empty body is `{}`. */
export async function readJsonBody(request: Request): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw new StatusError(413, `request body is larger than ${MAX_BODY_BYTES} bytes`);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > MAX_BODY_BYTES) throw new StatusError(413, `request body is larger than ${MAX_BODY_BYTES} bytes`);
  const text = new TextDecoder().decode(bytes).trim();
  if (text === "") return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new StatusError(400, `malformed JSON body: ${err instanceof Error ? err.message : "parse error"}`);
  }
}

export interface RunRequest {
  repos?: string[];
  resources: ResourceName[];
  mode?: "full" | "incremental";
}

/** `{"repos"?: ["owner/name"], "resources"?: [...]}` → a validated run request (all resources by default). */
export function parseRunRequest(body: unknown): RunRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new StatusError(400, 'body must be a JSON object like {"repos": ["owner/name"], "resources": ["issues"]}');
  }
  const input = body as Record<string, unknown>;
  const unknown = Object.keys(input).filter((k) => k !== "repos" && k !== "resources" && k !== "mode");
  if (unknown.length > 0) throw new StatusError(400, `unknown field(s): ${unknown.join(", ")}; allowed: repos, resources, mode`);
  if (input.mode !== undefined && input.mode !== "full" && input.mode !== "incremental") {
    throw new StatusError(400, '"mode" must be "full" or "incremental" (the default once a run has succeeded)');
  }

  let repos: string[] | undefined;
  if (input.repos !== undefined) {
    if (!Array.isArray(input.repos) || input.repos.length === 0) throw new StatusError(400, '"repos" must be a non-empty array of "owner/name" strings');
    if (input.repos.length > MAX_REPOS_PER_REQUEST) throw new StatusError(400, `"repos" may hold at most ${MAX_REPOS_PER_REQUEST} repositories`);
    const bad = input.repos.filter((r) => typeof r !== "string" || !isRepoFullName(r));
    if (bad.length > 0) {
      const shown = bad.slice(0, 5).map((r) => JSON.stringify(r).slice(0, 120)).join(", ");
      throw new StatusError(400, `invalid repository name(s): ${shown}; expected "owner/name" in GitHub's alphabet`);
    }
    repos = [...new Set(input.repos as string[])];
  }

  let resources: ResourceName[] = [...RESOURCES];
  if (input.resources !== undefined) {
    if (!Array.isArray(input.resources) || input.resources.length === 0) throw new StatusError(400, '"resources" must be a non-empty array');
    const bad = input.resources.filter((r) => !isResourceName(r));
    if (bad.length > 0) {
      throw new StatusError(400, `unknown resource(s): ${bad.map((r) => JSON.stringify(r).slice(0, 60)).join(", ")}; known: ${RESOURCES.join(", ")}`);
    }
    resources = [...new Set(input.resources as ResourceName[])];
  }
  const mode = input.mode as RunRequest["mode"];
  return { ...(repos ? { repos } : {}), resources, ...(mode ? { mode } : {}) };
}
