// Node adapter for sim/chaos.ts: serves a GitHubSimulator behind ChaosGitHub over node:http, with the network faults
// made on real sockets — a hung connection gets no answer until the client gives up and closes it; a reset destroys
// the socket mid-request. Everything else (5xx, bodies, bursts, deletions, revocations) is ChaosGitHub's answer.

import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { ChaosGitHub, type ChaosOptions } from "./chaos";
import { GitHubSimulator } from "./simulator";
import type { SimOptions } from "./types";

export interface RunningChaosSimulator {
  url: string;
  sim: GitHubSimulator;
  chaos: ChaosGitHub;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Uint8Array | undefined> {
  if (req.method === "GET" || req.method === "HEAD") return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

export async function startChaosSimulator(simOptions: SimOptions, chaosOptions: (sim: GitHubSimulator) => ChaosOptions): Promise<RunningChaosSimulator> {
  const sim = new GitHubSimulator(simOptions);
  const chaos = new ChaosGitHub(sim, chaosOptions(sim));
  const server = createServer({ keepAlive: true }, (req, res) => {
    // The client closing the connection before an answer (its timeout) is what ends a hang.
    const gone = new AbortController();
    res.on("close", () => {
      if (!res.writableEnded) gone.abort(new DOMException("client closed the connection", "AbortError"));
    });
    void (async () => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (Array.isArray(value)) for (const v of value) headers.append(name, v);
        else if (value !== undefined) headers.set(name, value);
      }
      const host = req.headers.host ?? `127.0.0.1:${(server.address() as AddressInfo).port}`;
      const request = new Request(`http://${host}${req.url ?? "/"}`, { method: req.method ?? "GET", headers, body: await readBody(req) });
      let response: Response;
      try {
        response = await chaos.handle(request, gone.signal);
      } catch {
        // A reset (or a hang the client ended): no answer on this socket.
        req.socket.destroy();
        return;
      }
      const raw: string[] = [];
      response.headers.forEach((value, name) => void raw.push(name, value));
      res.writeHead(response.status, raw);
      res.end(Buffer.from(await response.arrayBuffer()));
    })().catch(() => req.socket.destroy());
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sim,
    chaos,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
