/** GitHub App authentication. Responsibilities: sign the App's RS256 JWT with Web Crypto (from the private key GitHub
 *  hands out — PKCS#1 "BEGIN RSA PRIVATE KEY" — or PKCS#8), and exchange it for an installation access token
 *  (`POST /app/installations/{id}/access_tokens`), which expires after an hour and is refreshed before it does.
 *  https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
 *  https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app */
import { messageOf, redact, type Fetcher } from "./client";
import { GitHubError } from "./errors";
import { USER_AGENT } from "../version";

/** The App's credentials as configured (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID). */
export interface AppCredentials {
  appId: string;
  privateKey: string;
  installationIds: number[];
}

export interface InstallationToken {
  token: string;
  expiresAtMs: number;
}

/** GitHub rejects an `exp` more than 10 minutes ahead; `iat` goes 60 s back for clock drift, as GitHub recommends. */
const JWT_LIFETIME_S = 9 * 60;
const JWT_BACKDATE_S = 60;
/** An installation token is replaced once it has less than this left (GitHub: tokens last one hour). */
export const REFRESH_BEFORE_MS = 10 * 60_000;

type AppEnv = { GITHUB_APP_ID?: string; GITHUB_APP_PRIVATE_KEY?: string; GITHUB_APP_INSTALLATION_ID?: string };

/** The App credentials of the Worker's env, or null when none are configured. Throws on a half-configured App. */
export function appCredentials(env: Env): AppCredentials | null {
  const e = env as Env & AppEnv;
  const appId = e.GITHUB_APP_ID?.trim() ?? "";
  const privateKey = e.GITHUB_APP_PRIVATE_KEY?.trim() ?? "";
  const installations = e.GITHUB_APP_INSTALLATION_ID?.trim() ?? "";
  if (!appId && !privateKey && !installations) return null;
  if (!appId || !privateKey || !installations) {
    throw new Error("GitHub App credentials need all of GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID");
  }
  const installationIds = installations.split(",").map((s) => Number(s.trim()));
  if (installationIds.some((id) => !Number.isSafeInteger(id) || id <= 0)) throw new Error("GITHUB_APP_INSTALLATION_ID must be numeric ids, comma-separated");
  return { appId, privateKey, installationIds };
}

/** A signed App JWT (RS256), valid for nine minutes from `nowMs`. */
export async function appJwt(appId: string, privateKeyPem: string, nowMs = Date.now()): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  const iss = /^\d+$/.test(appId) ? Number(appId) : appId; // numeric App ID or Client ID: GitHub takes both
  const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT" }));
  const claims = b64url(JSON.stringify({ iat: now - JWT_BACKDATE_S, exp: now + JWT_LIFETIME_S, iss }));
  const der = pkcs8Der(privateKeyPem);
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`GITHUB_APP_PRIVATE_KEY is not a usable RSA private key: ${redact(why, keySecrets(privateKeyPem))}`);
  }
  const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, new TextEncoder().encode(`${header}.${claims}`));
  return `${header}.${claims}.${b64url(new Uint8Array(signature))}`;
}

/** Mints an installation access token. 401 (a bad key or App ID) and 404 (no such installation) are final. */
export async function mintInstallationToken(
  apiUrl: string,
  app: AppCredentials,
  installationId: number,
  fetcher: Fetcher,
  nowMs = Date.now(),
): Promise<InstallationToken> {
  const path = `/app/installations/${installationId}/access_tokens`;
  const jwt = await appJwt(app.appId, app.privateKey, nowMs);
  // Whatever goes wrong, the message may quote what was sent (the JWT) or what it was signed with (the key).
  const secrets = [jwt, ...keySecrets(app.privateKey)];
  let response: Response;
  let text: string;
  try {
    response = await fetcher(`${apiUrl}${path}`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${jwt}`,
        Accept: "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": USER_AGENT,
      },
      signal: AbortSignal.timeout(30_000),
    });
    text = await response.text();
  } catch (err) {
    const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new GitHubError(0, path, `installation token: ${redact(why, secrets)}`, true);
  }
  if (response.status !== 201 && response.status !== 200) {
    throw new GitHubError(response.status, path, `installation token: ${messageOf(text, ...secrets)}`, response.status >= 500 || response.status === 429);
  }
  let body: { token?: unknown; expires_at?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    /* a truncated answer: JSON.parse's message would quote it, token included */
  }
  const expiresAtMs = typeof body?.expires_at === "string" ? Date.parse(body.expires_at) : NaN;
  if (typeof body?.token !== "string" || !Number.isFinite(expiresAtMs)) throw new GitHubError(response.status, path, "installation token: malformed answer", true);
  return { token: body.token, expiresAtMs };
}

/** The forms of a configured private key an echo could carry: as configured, with real newlines, its base64 body
 *  joined, and each line of it. */
function keySecrets(pem: string): string[] {
  const text = pem.replace(/\\n/g, "\n");
  const lines = text.split(/\s+/).filter((l) => l.length >= 8 && !l.includes("-----"));
  return [pem, text, lines.join(""), ...lines];
}

/** The DER bytes of a PKCS#8 private key, from a PKCS#8 PEM or a PKCS#1 one (wrapped: Web Crypto imports PKCS#8 only). */
export function pkcs8Der(pem: string): Uint8Array<ArrayBuffer> {
  const body = pem.replace(/\\n/g, "\n"); // keys pasted into a one-line secret often carry literal \n
  const match = /-----BEGIN ([A-Z ]+)-----([\s\S]+?)-----END \1-----/.exec(body);
  if (!match) throw new Error("GITHUB_APP_PRIVATE_KEY is not a PEM private key");
  let der: Uint8Array<ArrayBuffer>;
  try {
    der = fromBase64(match[2]!.replace(/\s+/g, ""));
  } catch {
    throw new Error("GITHUB_APP_PRIVATE_KEY: the PEM body is not base64"); // atob's own message could quote it
  }
  if (match[1] === "PRIVATE KEY") return der;
  if (match[1] !== "RSA PRIVATE KEY") throw new Error(`GITHUB_APP_PRIVATE_KEY: unsupported key type "${match[1]}"`);
  // PrivateKeyInfo ::= SEQUENCE { INTEGER 0, AlgorithmIdentifier { rsaEncryption, NULL }, OCTET STRING { RSAPrivateKey } }
  const version = [0x02, 0x01, 0x00];
  const rsaAlgorithm = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
  const octets = [0x04, ...derLength(der.length)];
  const inner = version.length + rsaAlgorithm.length + octets.length + der.length;
  const out = new Uint8Array(1 + derLength(inner).length + inner);
  out.set([0x30, ...derLength(inner), ...version, ...rsaAlgorithm, ...octets]);
  out.set(der, out.length - der.length);
  return out;
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function fromBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function b64url(data: string | Uint8Array): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
