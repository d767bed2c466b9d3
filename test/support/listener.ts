// A local HTTP endpoint that records what it receives (subscription notifications, a payer's
// $submit-attachment), and can be "down" (answering 503) for a while.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface Listener {
  readonly origin: string;
  readonly received: Received[];
  /** While down, every request is answered 503 (and still recorded). */
  down: boolean;
  /** When set (and not down), every request is answered with this status (e.g. 400, a refusal) and an OperationOutcome. */
  refuse: number | undefined;
  close(): Promise<void>;
}

export async function listener(): Promise<Listener> {
  const state: { down: boolean; refuse: number | undefined } = { down: false, refuse: undefined };
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = state.down ? 503 : (state.refuse ?? 200);
      if (!state.down && state.refuse !== undefined) {
        res.setHeader('Content-Type', 'application/fhir+json');
        res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found', diagnostics: 'Unknown claim' }] }));
        return;
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    get refuse() {
      return state.refuse;
    },
    set refuse(value: number | undefined) {
      state.refuse = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Polls `check` until it holds or the deadline passes (no fixed sleeps). */
export async function eventually<T>(check: () => T | Promise<T>, options: { timeoutMs?: number; what?: string } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'a condition'}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
