/** Admin authentication: `Authorization: Bearer $ADMIN_TOKEN`, compared in constant time. */

const encoder = new TextEncoder();

/** True when the request carries the admin token. Both sides are hashed first so the comparison is constant-time
 *  whatever their lengths (timingSafeEqual needs equal lengths). An unset ADMIN_TOKEN admits nobody. */
export async function isAdmin(request: Request, env: Env): Promise<boolean> {
  const expected = env.ADMIN_TOKEN;
  if (!expected) return false;
  const header = request.headers.get("Authorization") ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!match?.[1]) return false;
  const [a, b] = await Promise.all([sha256(match[1]), sha256(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

async function sha256(s: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(s));
}
