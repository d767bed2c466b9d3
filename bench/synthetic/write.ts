/**
 * Writes a data set to a folder, streaming (10k clients do not fit in one string):
 *   pool.json                   transaction Bundle of PUTs for the shared pool (load first)
 *   transactions.ndjson         one client transaction Bundle per line
 *   ndjson/<Type>.ndjson        bulk form, pool included, ids as generated
 *   manifest.json               options and counts
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateClients } from './client';
import { ndjsonLines, toPoolBundle, toTransactionBundle } from './emit';
import { generatePool } from './pool';

export interface DatasetSummary {
  readonly seed: number;
  readonly clients: number;
  readonly referenceDate: string;
  readonly firstIndex: number;
  /** Resources per type, pool included. */
  readonly resources: Record<string, number>;
  readonly bytes: { readonly transactions: number; readonly ndjson: number };
}

/** Buffered synchronous writer: few syscalls, no unbounded memory. */
class FileSink {
  private readonly fd: number;
  private chunks: string[] = [];
  private size = 0;
  bytes = 0;

  constructor(file: string) {
    this.fd = fs.openSync(file, 'w');
  }

  write(text: string): void {
    this.chunks.push(text);
    this.size += text.length;
    if (this.size > 1 << 20) this.flush();
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }

  private flush(): void {
    if (this.chunks.length === 0) return;
    const buffer = Buffer.from(this.chunks.join(''), 'utf8');
    fs.writeSync(this.fd, buffer);
    this.bytes += buffer.length;
    this.chunks = [];
    this.size = 0;
  }
}

export function writeDataset(options: { seed: number; clients: number; referenceDate: string; out: string; firstIndex?: number }): DatasetSummary {
  const { seed, clients, referenceDate, out } = options;
  const firstIndex = options.firstIndex ?? 0;
  const pool = generatePool({ seed });
  fs.mkdirSync(path.join(out, 'ndjson'), { recursive: true });
  fs.writeFileSync(path.join(out, 'pool.json'), `${JSON.stringify(toPoolBundle(pool))}\n`);

  const transactions = new FileSink(path.join(out, 'transactions.ndjson'));
  const byType = new Map<string, FileSink>();
  const counts: Record<string, number> = {};
  const records = generateClients({ seed, clients, referenceDate, firstIndex, pool });
  function* withTransactions(): Generator<(typeof records extends Iterable<infer R> ? R : never)> {
    for (const record of records) {
      transactions.write(`${JSON.stringify(toTransactionBundle(record))}\n`);
      yield record;
    }
  }
  for (const { resourceType, line } of ndjsonLines(withTransactions(), { pool })) {
    let sink = byType.get(resourceType);
    if (!sink) {
      sink = new FileSink(path.join(out, 'ndjson', `${resourceType}.ndjson`));
      byType.set(resourceType, sink);
    }
    sink.write(line);
    counts[resourceType] = (counts[resourceType] ?? 0) + 1;
  }
  transactions.close();
  let ndjsonBytes = 0;
  for (const sink of byType.values()) {
    sink.close();
    ndjsonBytes += sink.bytes;
  }
  const summary: DatasetSummary = {
    seed,
    clients,
    referenceDate,
    firstIndex,
    resources: counts,
    bytes: { transactions: transactions.bytes, ndjson: ndjsonBytes },
  };
  fs.writeFileSync(path.join(out, 'manifest.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}
