/** The dashboard page at `GET /`: served without the admin token (the page asks for it), with a CSP that lets only
 *  the page's own script and style run, and nothing else of the API opened by that exemption. */
import { env, exports } from "cloudflare:workers";
import { describe, it } from "vitest";
import { RESOURCES } from "../src/lake/schemas";

const call = (path: string, init: RequestInit = {}) => exports.default.fetch(new Request(`https://lake.test${path}`, init));

describe("GET /", () => {
  it("serves the dashboard without a token, as HTML that is never cached", async ({ expect }) => {
    const res = await call("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    const html = await res.text();
    expect(html).toContain("<title>github-lake</title>");
    expect(html).toContain('id="signin-form"');
    expect(html).not.toContain(env.ADMIN_TOKEN);
    const config = JSON.parse(/<script type="application\/json" id="config">(.*?)<\/script>/s.exec(html)![1]!) as { resources: string[]; version: string };
    expect(config.resources).toEqual([...RESOURCES]);
  });

  it("allows only its own nonce'd script and style, fresh for every response", async ({ expect }) => {
    const [a, b] = await Promise.all([call("/"), call("/")]);
    const csp = a.headers.get("Content-Security-Policy")!;
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    const html = await a.text();
    expect(html).not.toContain("__CSP_NONCE__");
    expect(html.match(/<script nonce="([^"]+)">/)?.[1]).toBe(nonce);
    expect(html.match(/<style nonce="([^"]+)">/)?.[1]).toBe(nonce);
    expect(html).not.toMatch(/\son[a-z]+="/); // no inline event handlers, which the CSP would block
    expect(b.headers.get("Content-Security-Policy")).not.toBe(csp);
    await b.body?.cancel();
  });

  it("opens nothing else without the token", async ({ expect }) => {
    for (const [method, path] of [["POST", "/"], ["GET", "/index.html"], ["GET", "/runs"], ["GET", "/runs/20260101T000000Z-abcd/repositories"], ["GET", "/ratelimit"]] as const) {
      const res = await call(path, { method });
      expect(res.status, `${method} ${path}`).toBe(401);
      await res.body?.cancel();
    }
  });
});
