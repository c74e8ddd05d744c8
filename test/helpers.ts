/** Shared test helpers (workers project). */

/** The next text message on a WebSocket (call before `accept()` to catch the first one). */
export function nextMessage(ws: WebSocket, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no WebSocket message in time")), timeoutMs);
    ws.addEventListener("message", (e) => { clearTimeout(timer); resolve(String(e.data)); }, { once: true });
  });
}
