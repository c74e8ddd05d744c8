// GitHub Apps in the simulator: RS256 JWTs signed with the App's private key authenticate the App itself
// (`POST /app/installations/{id}/access_tokens`, `GET /app`), and mint installation tokens that expire
// (default one hour) and spend the installation's own primary quota. Web Crypto only, like the rest of the core.

import type { SimApp, SimInstallation } from "./types";

export interface IssuedToken {
  token: string;
  appId: number;
  installationId: number;
  expiresAtMs: number;
}

export type JwtCheck = { ok: true; app: SimApp } | { ok: false; message: string };

const enc = new TextEncoder();

function base64Decode(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function base64UrlDecode(part: string): Uint8Array {
  return base64Decode(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
}

function pemBody(pem: string): Uint8Array {
  return base64Decode(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""));
}

/** A JWT's three parts, or null when it is not one. */
export function splitJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown>; signed: string; signature: Uint8Array } | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(new TextDecoder().decode(base64UrlDecode(parts[0]!))) as Record<string, unknown>;
    const claims = JSON.parse(new TextDecoder().decode(base64UrlDecode(parts[1]!))) as Record<string, unknown>;
    return { header, claims, signed: `${parts[0]}.${parts[1]}`, signature: base64UrlDecode(parts[2]!) };
  } catch {
    return null;
  }
}

export class AppRegistry {
  private readonly keys = new Map<number, Promise<CryptoKey>>();
  private readonly tokens = new Map<string, IssuedToken>();
  private seq = 0;

  constructor(
    readonly apps: SimApp[],
    private readonly now: () => number,
    private readonly tokenTtlSeconds: number,
  ) {}

  installation(id: number): { app: SimApp; installation: SimInstallation } | undefined {
    for (const app of this.apps) {
      const installation = app.installations.find((i) => i.id === id);
      if (installation) return { app, installation };
    }
    return undefined;
  }

  /** Checks an App JWT as GitHub does: RS256 signature by a known App, `iat` not in the future (60 s drift allowed),
   *  `exp` in the future and at most 10 minutes after now. */
  async verify(jwt: string): Promise<JwtCheck> {
    const parsed = splitJwt(jwt);
    if (!parsed || parsed.header.alg !== "RS256") return { ok: false, message: "A JSON web token could not be decoded" };
    const app = this.apps.find((a) => String(a.id) === String(parsed.claims.iss) || a.clientId === parsed.claims.iss);
    if (!app) return { ok: false, message: "A JSON web token could not be decoded" };
    const valid = await crypto.subtle.verify("RSASSA-PKCS1-v1_5", await this.key(app), parsed.signature, enc.encode(parsed.signed));
    if (!valid) return { ok: false, message: "A JSON web token could not be decoded" };
    const nowSec = Math.floor(this.now() / 1000);
    const { iat, exp } = parsed.claims;
    if (typeof iat !== "number" || iat > nowSec + 60) {
      return { ok: false, message: "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued." };
    }
    if (typeof exp !== "number" || exp <= nowSec) {
      return { ok: false, message: "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires." };
    }
    if (exp > nowSec + 600) return { ok: false, message: "'Expiration time' claim ('exp') is too far in the future." };
    return { ok: true, app };
  }

  issue(app: SimApp, installationId: number): IssuedToken {
    const n = ++this.seq;
    const token = `ghs_sim${installationId}x${n}${"0".repeat(Math.max(0, 20 - String(n).length))}`;
    const issued = { token, appId: app.id, installationId, expiresAtMs: this.now() + this.tokenTtlSeconds * 1000 };
    this.tokens.set(token, issued);
    return issued;
  }

  /** The installation of a live installation token; undefined when unknown or expired. */
  tokenInstallation(token: string): IssuedToken | undefined {
    const t = this.tokens.get(token);
    if (!t) return undefined;
    if (t.expiresAtMs <= this.now()) {
      this.tokens.delete(token);
      return undefined;
    }
    return t;
  }

  /** Live installation tokens (for tests and the admin API). */
  live(): string[] {
    return [...this.tokens.keys()].filter((t) => this.tokenInstallation(t) !== undefined);
  }

  revoke(token: string): boolean {
    return this.tokens.delete(token);
  }

  private key(app: SimApp): Promise<CryptoKey> {
    let key = this.keys.get(app.id);
    if (!key) {
      const alg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
      key = typeof app.publicKey === "string"
        ? crypto.subtle.importKey("spki", pemBody(app.publicKey), alg, false, ["verify"])
        : crypto.subtle.importKey("jwk", app.publicKey, alg, false, ["verify"]);
      this.keys.set(app.id, key);
    }
    return key;
  }
}
