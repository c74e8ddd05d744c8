/** GitHub App credentials: the JWT GitHub expects (RS256 via Web Crypto, from PKCS#1 or PKCS#8 keys), installation
 *  tokens minted through the simulator, shared, refreshed before they expire, re-minted after a 401, and one bucket
 *  per installation with the installation's own quota. */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, it, vi } from "vitest";
import { AppRegistry, splitJwt } from "../../sim/apps";
import { GitHubSimulator, type SimOptions } from "../../sim/simulator";
import { appCredentials, appJwt, mintInstallationToken, pkcs8Der } from "../../src/github/app";
import { GitHubClient } from "../../src/github/client";
import { CredentialPool } from "../../src/github/pool";

afterEach(() => vi.restoreAllMocks());

let pkcs8Pem = "";
let pkcs1Pem = "";
let spkiPem = "";
let otherSpkiPem = "";

const pem = (label: string, der: ArrayBuffer | Uint8Array) =>
  `-----BEGIN ${label}-----\n${btoa(String.fromCharCode(...new Uint8Array(der))).replace(/(.{64})/g, "$1\n")}\n-----END ${label}-----\n`;

async function rsaKeys() {
  const pair = (await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  return {
    pkcs8: new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey) as ArrayBuffer),
    spki: await crypto.subtle.exportKey("spki", pair.publicKey) as ArrayBuffer,
  };
}

beforeAll(async () => {
  const keys = await rsaKeys();
  pkcs8Pem = pem("PRIVATE KEY", keys.pkcs8);
  // GitHub hands out PKCS#1 ("BEGIN RSA PRIVATE KEY"): the RSAPrivateKey inside PKCS#8's OCTET STRING (offset 26 for 2048-bit keys).
  pkcs1Pem = pem("RSA PRIVATE KEY", keys.pkcs8.slice(26));
  spkiPem = pem("PUBLIC KEY", keys.spki);
  otherSpkiPem = pem("PUBLIC KEY", (await rsaKeys()).spki);
});

/** `grant`: the repositories the installation was granted, from every repository's full name (default: all). */
function appWorld(options: SimOptions = {}, grant?: (names: string[]) => string[]) {
  const installationId = 500_000 + Math.floor(Math.random() * 1e6);
  const world = { repos: 1, special: false, ...options };
  const repositories = grant?.(new GitHubSimulator(world).truth().repositories.map((r) => r.full_name));
  const sim = new GitHubSimulator({
    ...world,
    apps: [{ id: 4242, clientId: "Iv1.sim4242", publicKey: spkiPem, installations: [{ id: installationId, limit: 140, repositories }] }],
  });
  const paths: string[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(env.GITHUB_API_URL)) throw new TypeError(`network disabled in tests: ${request.url}`);
    paths.push(`${request.method} ${new URL(request.url).pathname}`);
    return sim.handle(request);
  });
  const appEnv = { ...env, GITHUB_TOKEN: "", GITHUB_APP_ID: "4242", GITHUB_APP_PRIVATE_KEY: pkcs1Pem, GITHUB_APP_INSTALLATION_ID: String(installationId) } as Env;
  return { sim, paths, appEnv, installationId, repo: sim.truth().repositories[0]!.full_name };
}

describe("GitHub App authentication", () => {
  it("signs an RS256 JWT that GitHub accepts, from a PKCS#1 or a PKCS#8 key", async ({ expect }) => {
    const now = Date.UTC(2026, 11, 4, 12, 0, 0);
    const registry = new AppRegistry([{ id: 4242, publicKey: spkiPem, installations: [] }], () => now, 3600);
    for (const key of [pkcs1Pem, pkcs8Pem, pkcs1Pem.replace(/\n/g, "\\n")]) {
      const jwt = await appJwt("4242", key, now);
      const parsed = splitJwt(jwt)!;
      expect(parsed.header).toEqual({ alg: "RS256", typ: "JWT" });
      expect(parsed.claims).toEqual({ iat: now / 1000 - 60, exp: now / 1000 + 540, iss: 4242 });
      expect(await registry.verify(jwt)).toMatchObject({ ok: true });
    }
    expect(pkcs8Der(pkcs1Pem)).toEqual(pkcs8Der(pkcs8Pem));
    const stranger = new AppRegistry([{ id: 4242, publicKey: otherSpkiPem, installations: [] }], () => now, 3600);
    expect(await stranger.verify(await appJwt("4242", pkcs8Pem, now))).toMatchObject({ ok: false, message: /could not be decoded/ });
    const later = new AppRegistry([{ id: 4242, publicKey: spkiPem, installations: [] }], () => now + 10 * 60_000, 3600);
    expect(await later.verify(await appJwt("4242", pkcs8Pem, now))).toMatchObject({ ok: false, message: /Expiration time/ });
  });

  it("reads App credentials from the env and refuses a half-configured App", ({ expect }) => {
    expect(appCredentials(env)).toBeNull();
    const e = (vars: Record<string, string>) => ({ ...env, ...vars }) as Env;
    expect(appCredentials(e({ GITHUB_APP_ID: "1", GITHUB_APP_PRIVATE_KEY: "k", GITHUB_APP_INSTALLATION_ID: "7, 8" }))).toEqual({ appId: "1", privateKey: "k", installationIds: [7, 8] });
    expect(() => appCredentials(e({ GITHUB_APP_ID: "1" }))).toThrow(/need all of/);
  });

  it("mints an installation token once, spends the installation's own quota in its own bucket, and re-mints after a 401", async ({ expect }) => {
    const { sim, paths, appEnv, installationId, repo } = appWorld();
    const pool = await CredentialPool.open(appEnv);
    expect(pool.buckets).toEqual([`app:${installationId}`]);
    const client = new GitHubClient({ apiUrl: env.GITHUB_API_URL, permits: pool });
    for (let i = 0; i < 5; i++) expect((await client.get(`/repos/${repo}/issues`)).status).toBe(200);
    const second = await CredentialPool.open(appEnv); // another job: the token is shared, not minted again
    await new GitHubClient({ apiUrl: env.GITHUB_API_URL, permits: second }).get(`/repos/${repo}`);
    expect(paths.filter((p) => p.startsWith("POST /app/")).length).toBe(1);
    const stats = sim.stats();
    expect(stats.perUser[`installation-${installationId}`]).toMatchObject({ used: 6, limit: 140 });
    expect(stats.perUser["octo-sim"]!.used).toBe(0);
    const snap = await env.TOKEN_BUCKET.getByName(`app:${installationId}`).snapshot();
    expect(snap).toMatchObject({ limit: 140, granted: 6 });

    // The token stops working (revoked, or expired early): GitHub answers 401, a fresh one is minted, the work goes on.
    const issued = paths.length;
    for (const t of sim.installationTokens()) sim.revoke(t);
    expect((await client.get(`/repos/${repo}`)).status).toBe(200);
    expect(paths.slice(issued).filter((p) => p.startsWith("POST /app/")).length).toBe(1);
  });

  it("lists the installation's repositories as GitHub documents them: an object, paged by Link, its grant only", async ({ expect }) => {
    const { sim, appEnv } = appWorld({ repos: 5 }, (names) => names.slice(0, 3));
    const client = new GitHubClient({ apiUrl: env.GITHUB_API_URL, permits: await CredentialPool.open(appEnv) });
    const first = await client.get("/installation/repositories?per_page=2");
    expect(first.body).toMatchObject({ total_count: 3, repository_selection: "selected" });
    const second = await client.get(first.next!);
    expect(second.next).toBeNull();
    const listed = [first, second].flatMap((p) => (p.body as { repositories: Array<{ full_name: string }> }).repositories.map((r) => r.full_name));
    const all = sim.truth().repositories.map((r) => r.full_name);
    expect(listed).toEqual(all.slice(0, 3));
    // Installation tokens may not list a user's repositories; nor read a private repository outside the grant.
    await expect(client.get("/user/repos")).rejects.toMatchObject({ status: 403, message: /Resource not accessible by integration/ });
    const outside = await Promise.all(all.slice(3).map((name) => client.get(`/repos/${name}`).then((p) => (p.body as { private: boolean }).private ? "readable private" : "public", (e: { status: number }) => e.status)));
    expect(outside).toContain(404);
    expect(outside).not.toContain("readable private");
  });

  it("refreshes an installation token before it expires", async ({ expect }) => {
    const { paths, appEnv, repo } = appWorld({ installationTokenTtlSeconds: 10 * 60 + 1 }); // a second above the refresh margin
    const client = new GitHubClient({ apiUrl: env.GITHUB_API_URL, permits: await CredentialPool.open(appEnv) });
    await client.get(`/repos/${repo}`);
    await client.get(`/repos/${repo}`);
    expect(paths.filter((p) => p.startsWith("POST /app/")).length).toBe(1);
    await new Promise((r) => setTimeout(r, 1_100));
    await client.get(`/repos/${repo}`);
    expect(paths.filter((p) => p.startsWith("POST /app/")).length).toBe(2);
    expect(paths.filter((p) => !p.startsWith("POST")).length).toBe(3);
  });
});

describe("App errors never carry a credential", () => {
  /** The mint request's error, with the request it answered. */
  async function mintError(answer: (jwt: string) => Response | Promise<Response>, privateKey = pkcs1Pem): Promise<{ message: string; jwt: string }> {
    let jwt = "";
    const fetcher = async (_input: RequestInfo | URL, init?: RequestInit) => {
      jwt = new Headers(init?.headers).get("authorization")!.replace(/^Bearer /, "");
      return answer(jwt);
    };
    const app = { appId: "4242", privateKey, installationIds: [7] };
    const err = await mintInstallationToken("https://sim.test", app, 7, fetcher).then(() => null, (e: unknown) => e);
    if (!(err instanceof Error)) throw new Error("minting did not fail");
    return { message: `${err.name}: ${err.message}`, jwt };
  }
  /** Every piece of the key worth stealing: each base64 line of its body. */
  const keyLines = (pemText: string) => pemText.split("\n").filter((l) => l.length >= 8 && !l.startsWith("-----"));

  it("redacts the JWT and the private key when GitHub's error body quotes them", async ({ expect }) => {
    const oneLineKey = pkcs1Pem.replace(/\n/g, "\\n"); // as a key is often pasted into a one-line secret
    for (const key of [pkcs1Pem, oneLineKey]) {
      const json = await mintError((jwt) => Response.json({ message: `A JSON web token could not be decoded: ${jwt} (signed with ${pkcs1Pem})` }, { status: 401 }), key);
      const html = await mintError((jwt) => new Response(`<html>Bad gateway. Request: Authorization: Bearer ${jwt}\n${key}</html>`, { status: 502 }), key);
      for (const { message, jwt } of [json, html]) {
        expect(message).toMatch(/^GitHubError: GitHub (401|502) on \/app\/installations\/7\/access_tokens: installation token: /);
        expect(message).toContain("[redacted]");
        expect(message).not.toContain(jwt);
        expect(message).not.toContain(jwt.split(".")[2]!); // not even the signature
        for (const line of keyLines(pkcs1Pem)) expect(message).not.toContain(line);
      }
    }
  });

  it("redacts a credential a failed connection's error quotes, and never quotes a malformed token answer", async ({ expect }) => {
    const thrown = await mintError((jwt) => {
      throw new TypeError(`fetch failed: proxy refused Authorization: Bearer ${jwt}`);
    });
    expect(thrown.message).toMatch(/GitHub 0 on .*installation token: TypeError: fetch failed: proxy refused Authorization: Bearer \[redacted\]$/);

    const token = "ghs_" + "T0k3n".repeat(8);
    const truncated = await mintError(() => new Response(`{"token":"${token}","expires_at":"2026-`, { status: 201 }));
    expect(truncated.message).toMatch(/installation token: malformed answer$/);
    expect(truncated.message).not.toContain(token);
  });

  it("says a key is unusable without quoting it", async ({ expect }) => {
    const lines = keyLines(pkcs8Pem);
    const garbled = pkcs8Pem.replace(lines[3]!, "A".repeat(lines[3]!.length)); // still base64, no longer a key
    const err = await appJwt("4242", garbled).then(() => null, (e: unknown) => e as Error);
    expect(err?.message).toMatch(/^GITHUB_APP_PRIVATE_KEY is not a usable RSA private key/);
    for (const line of keyLines(garbled)) expect(err!.message).not.toContain(line);
    const notBase64 = await appJwt("4242", "-----BEGIN PRIVATE KEY-----\nnot*base64*at*all\n-----END PRIVATE KEY-----").then(() => null, (e: unknown) => e as Error);
    expect(notBase64?.message).toBe("GITHUB_APP_PRIVATE_KEY: the PEM body is not base64");
  });
});
