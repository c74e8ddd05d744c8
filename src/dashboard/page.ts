/** The dashboard: one self-contained HTML page (src/dashboard/index.html, a Text module: no build step, ~30 KB) served
 *  at `GET /` without the admin token — the page asks for it, keeps it in sessionStorage and sends it as a Bearer
 *  header; it never goes in a URL. Every response gets a fresh CSP nonce, so only the page's own inline script runs. */
import { RESOURCES } from "../lake/schemas";
import { VERSION } from "../version";
import html from "./index.html";

/** What the page needs to know about this Worker, inlined as JSON (`<` escaped so it cannot close the script element). */
const page = html.replace("__CONFIG__", JSON.stringify({ version: VERSION, resources: RESOURCES }).replace(/</g, "\\u003c"));

export function dashboardResponse(): Response {
  const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  return new Response(page.replaceAll("__CSP_NONCE__", nonce), {
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy": [
        "default-src 'none'",
        `script-src 'nonce-${nonce}'`,
        `style-src 'nonce-${nonce}'`,
        "connect-src 'self'", // the admin API and the run's WebSocket feed (CSP 3: 'self' covers ws/wss of the same host)
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
      ].join("; "),
      "Referrer-Policy": "no-referrer",
      "X-Content-Type-Options": "nosniff",
    },
  });
}
