/**
 * The HTTP server around the app, with limits on what a connection may hold: an idle keep-alive
 * socket is closed, a client that trickles its headers or its body is cut off, and connections
 * past a cap are refused, so that slow or idle clients cannot exhaust sockets or memory.
 * See: https://nodejs.org/docs/latest-v20.x/api/http.html#serverheaderstimeout
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { HttpServerLimits } from '../config/config';

export function createHttpServer(app: RequestListener, limits: HttpServerLimits): Server {
  const server = createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      // Node checks the two timeouts at this interval (default 30 s, longer than short limits).
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(limits.headersTimeoutMs / 4))),
    },
    app,
  );
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  return server;
}

/** Listens on `port` (0: any free port); resolves once listening. */
export function listen(server: Server, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
