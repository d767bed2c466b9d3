/** The benchmark table: each scenario beside the HTTP and storage limits of the same run. */
import type { LoadResult } from './harness/load';

export interface Row {
  readonly scenario: string;
  readonly result: LoadResult;
  /** The same requests from a single client: the latency of one request on an idle service. */
  readonly single: LoadResult;
  /** The raw driver doing the same database work (read, insert or the same translated query). */
  readonly storage?: LoadResult;
  readonly resourcesPerResponse?: number;
}

export function printTable(rows: readonly Row[]): void {
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', '1 client p50 ms', 'failures', 'storage limit req/s', 'share of storage limit'];
  const lines = rows.map((r) => [
    r.resourcesPerResponse ? `${r.scenario} (${Math.round(r.result.requestsPerSecond * r.resourcesPerResponse)} resources/s)` : r.scenario,
    // No answer within the window (every connection still waiting) is not a latency of 0 ms.
    r.result.requests === 0 ? 'none done' : r.result.requestsPerSecond.toFixed(r.result.requestsPerSecond < 10 ? 1 : 0),
    r.result.requests === 0 ? '-' : r.result.p50Ms.toFixed(1),
    r.result.requests === 0 ? '-' : r.result.p99Ms.toFixed(1),
    r.single.p50Ms.toFixed(1),
    r.result.failures === 0 ? '0' : `${r.result.failures} (${Object.entries(r.result.statuses ?? {}).filter(([status]) => !status.startsWith('2')).map(([status, n]) => `${n}×${status}`).join(', ') || 'errors'})`,
    r.storage ? r.storage.requestsPerSecond.toFixed(r.storage.requestsPerSecond < 10 ? 1 : 0) : '-',
    r.storage && r.result.requests > 0 ? `${((100 * r.result.requestsPerSecond) / r.storage.requestsPerSecond).toFixed(0)}%` : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const format = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  lines.forEach((l) => console.log(format(l)));
}
