// Node adapter: serves a GitHubSimulator over node:http (loopback by default). Converts
// IncomingMessage → Request and streams the Response back with every header intact.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { GitHubSimulator } from "./simulator";
import type { SimOptions } from "./types";

export interface RunningSimulator {
  url: string;
  port: number;
  sim: GitHubSimulator;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Uint8Array | undefined> {
  if (req.method === "GET" || req.method === "HEAD") return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY) throw new Error("request body too large");
    chunks.push(b);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function toRequest(req: IncomingMessage, body: Uint8Array | undefined, fallbackHost: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const url = `http://${req.headers.host ?? fallbackHost}${req.url ?? "/"}`;
  return new Request(url, { method: req.method ?? "GET", headers, body });
}

async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  const raw: string[] = [];
  response.headers.forEach((value, name) => {
    raw.push(name, value);
  });
  res.writeHead(response.status, raw);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    // Respect backpressure so a slow client cannot make us buffer unbounded data.
    if (!res.write(value)) await new Promise<void>((resolve) => res.once("drain", () => resolve()));
  }
  res.end();
}

export async function startSimulator(opts: SimOptions & { port?: number; host?: string } = {}): Promise<RunningSimulator> {
  const { port = 0, host = "127.0.0.1", ...simOpts } = opts;
  const sim = new GitHubSimulator(simOpts);
  const server = createServer({ keepAlive: true }, (req, res) => {
    const fallbackHost = `${host}:${(server.address() as AddressInfo | null)?.port ?? port}`;
    readBody(req)
      .then((body) => sim.handle(toRequest(req, body, fallbackHost)))
      .then((response) => writeResponse(res, response))
      .catch((err: unknown) => {
        if (res.headersSent) {
          res.destroy(err instanceof Error ? err : undefined);
          return;
        }
        res.writeHead(500, { "content-type": "application/json; charset=utf-8" });
        res.end(JSON.stringify({ message: `simulator error: ${err instanceof Error ? err.message : String(err)}` }));
      });
  });
  // Many concurrent clients (fleet tests): no per-server connection cap, generous keep-alive.
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 35_000;
  server.requestTimeout = 0;
  server.maxHeadersCount = 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${actualPort}`,
    port: actualPort,
    sim,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
