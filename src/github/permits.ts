/** Connects the GitHub client to the TokenBucket Durable Object of a token's quota identity. */
import type { Permits } from "./client";

/** Bucket name for a token: a short SHA-256 hash, so neither storage names nor logs ever carry the token. */
export async function bucketName(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `tok:${hex.slice(0, 16)}`;
}

export async function bucketPermits(env: Env, token: string): Promise<Permits> {
  const stub = env.TOKEN_BUCKET.getByName(await bucketName(token));
  return {
    acquire: () => stub.acquire(),
    release: (leaseId, observation) => stub.release(leaseId, observation),
  };
}
