import { DurableObject } from "cloudflare:workers";
import type { InstallationToken } from "../github/app";
import { REFRESH_BEFORE_MS } from "../github/app";
import { migrate } from "./migrate";

/** One instance (`getByName("registry")`). Responsibilities: remember which quota identity each credential spends
 *  (a token's short SHA-256 hash → `user:<id>`, found once with `GET /user`), which credentials GitHub refused (401)
 *  so the whole fleet stops sending them, and each App installation's current access token so the fleet mints about
 *  one an hour instead of one per isolate. It never sees a personal token (only its hash); installation tokens are
 *  held in memory only (an evicted registry just lets the next caller mint a fresh one).
 *
 *  Callers cache its answers per isolate: it is asked once per credential and isolate, not per request. */

const MIGRATIONS = [
  `CREATE TABLE credential (
     hash TEXT PRIMARY KEY,      -- tok:<first 16 hex of SHA-256(token)>
     bucket TEXT,                -- user:<id>, or tok:<hash> when GitHub would not say whose it is
     label TEXT,                 -- the login, for GET /ratelimit
     resolved_at_ms INTEGER NOT NULL,
     retired_at_ms INTEGER,      -- GitHub answered 401 (revoked, expired)
     retired_reason TEXT);`,
] as const;

export interface CredentialRecord {
  hash: string;
  bucket: string | null;
  label: string | null;
  retiredAtMs: number | null;
  retiredReason: string | null;
}

interface CredentialRow {
  hash: string;
  bucket: string | null;
  label: string | null;
  retired_at_ms: number | null;
  retired_reason: string | null;
  [key: string]: SqlStorageValue;
}

const toRecord = (r: CredentialRow): CredentialRecord => ({
  hash: r.hash, bucket: r.bucket, label: r.label, retiredAtMs: r.retired_at_ms, retiredReason: r.retired_reason,
});

export class QuotaRegistry extends DurableObject<Env> {
  readonly #installationTokens = new Map<number, InstallationToken>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => migrate(ctx.storage, MIGRATIONS));
  }

  /** RPC. What is known of these credentials (unknown hashes are left out). */
  async lookup(hashes: string[]): Promise<CredentialRecord[]> {
    if (hashes.length === 0) return [];
    const rows = this.ctx.storage.sql
      .exec<CredentialRow>(`SELECT * FROM credential WHERE hash IN (${hashes.map(() => "?").join(",")})`, ...hashes)
      .toArray();
    return rows.map(toRecord);
  }

  /** RPC. Every credential seen, for GET /ratelimit. */
  async list(): Promise<CredentialRecord[]> {
    return this.ctx.storage.sql.exec<CredentialRow>("SELECT * FROM credential ORDER BY hash").toArray().map(toRecord);
  }

  /** RPC. Records whose quota a credential spends (and that it works: clears an earlier retirement). */
  async record(hash: string, bucket: string, label: string): Promise<void> {
    this.ctx.storage.sql.exec(
      `INSERT INTO credential (hash, bucket, label, resolved_at_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (hash) DO UPDATE SET bucket = excluded.bucket, label = excluded.label, resolved_at_ms = excluded.resolved_at_ms,
         retired_at_ms = NULL, retired_reason = NULL`,
      hash, bucket, label, Date.now());
  }

  /** RPC. GitHub refused the credential (401): the fleet stops using it. */
  async retire(hash: string, reason: string): Promise<void> {
    this.ctx.storage.sql.exec(
      `INSERT INTO credential (hash, resolved_at_ms, retired_at_ms, retired_reason) VALUES (?, ?, ?, ?)
       ON CONFLICT (hash) DO UPDATE SET retired_at_ms = excluded.retired_at_ms, retired_reason = excluded.retired_reason`,
      hash, Date.now(), Date.now(), reason.slice(0, 200));
  }

  /** RPC. The installation's current access token, if it has at least REFRESH_BEFORE_MS left. */
  async installationToken(installationId: number): Promise<InstallationToken | null> {
    const t = this.#installationTokens.get(installationId);
    return t && t.expiresAtMs - Date.now() > REFRESH_BEFORE_MS ? t : null;
  }

  /** RPC. Keeps a freshly minted installation token for the rest of the fleet (the later-expiring one wins). */
  async storeInstallationToken(installationId: number, token: InstallationToken): Promise<void> {
    const current = this.#installationTokens.get(installationId);
    if (!current || current.expiresAtMs < token.expiresAtMs) this.#installationTokens.set(installationId, token);
  }

  /** RPC. Forgets an installation token GitHub refused, so the next caller mints a new one. */
  async dropInstallationToken(installationId: number, token: string): Promise<void> {
    if (this.#installationTokens.get(installationId)?.token === token) this.#installationTokens.delete(installationId);
  }
}
