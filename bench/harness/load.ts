/** Load on loopback with autocannon: a fixed duration, a fixed number of connections. */
import autocannon from 'autocannon';

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  /** Non-2xx answers and connection errors: a scenario with failures is reported, not hidden. */
  readonly failures: number;
  /** Answers by HTTP status (autocannon's runs only). */
  readonly statuses?: Readonly<Record<string, number>>;
}

export interface LoadOptions {
  readonly url: string;
  readonly requests: autocannon.Request[];
  readonly connections: number;
  /** Run for this long… */
  readonly durationSeconds?: number;
  /** …or until this many requests have been answered. */
  readonly amount?: number;
  /** An Authorization header for every request (CaseBridge's access token). */
  readonly authorization?: string;
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.durationSeconds ?? 5 }),
    requests: options.authorization === undefined ? options.requests : options.requests.map((r) => withHeader(r, 'authorization', options.authorization as string)),
    timeout: 60,
  });
  const requests = result.requests.total;
  return {
    requestsPerSecond: requests / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests,
    failures: result.non2xx + result.errors + result.timeouts,
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([status, s]) => [status, s.count])),
  };
}

/** `request` with one more header, also on what its setupRequest makes. */
function withHeader(request: autocannon.Request, name: string, value: string): autocannon.Request {
  const setup = request.setupRequest;
  return {
    ...request,
    headers: { ...request.headers, [name]: value },
    ...(setup ? { setupRequest: (req: autocannon.Request, context: Record<string, unknown>) => {
      const made = setup(req, context);
      return { ...made, headers: { ...made.headers, [name]: value } };
    } } : {}),
  };
}

/** Runs `operation` from `concurrency` loops for `durationSeconds` (the storage limit, in-process). */
export async function loop(options: { concurrency: number; durationSeconds: number; operation: (i: number) => Promise<unknown> }): Promise<LoadResult> {
  const latencies: number[] = [];
  const end = performance.now() + options.durationSeconds * 1000;
  let failures = 0;
  let counter = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await options.operation(counter++);
        } catch {
          failures++;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { requestsPerSecond: latencies.length / elapsed, p50Ms: at(0.5), p99Ms: at(0.99), requests: latencies.length, failures };
}

/**
 * Waits until the service answers /readyz (which pings the database) quickly twice in a row:
 * requests a load run left in flight must be finished before the next run is measured.
 */
export async function drain(url: string, maxSeconds = 120): Promise<void> {
  const giveUpAt = Date.now() + maxSeconds * 1000;
  let quick = 0;
  while (quick < 2 && Date.now() < giveUpAt) {
    const started = performance.now();
    await fetch(`${url}/readyz`).catch(() => undefined);
    quick = performance.now() - started < 50 ? quick + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
