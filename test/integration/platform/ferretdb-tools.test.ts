/**
 * The Go code around the embedded database (tools/ferretdb) passes its own Go tests: among them,
 * that the patched SQLite backend answers every kind of search condition from an index (EXPLAIN
 * QUERY PLAN without a full scan) and gives the same answers as FerretDB scanning.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

test('go test in tools/ferretdb', async () => {
  // The same build flags as scripts/install-ferretdb.sh, so the test reuses its compiled packages.
  const { stdout } = await run('go', ['test', '-trimpath', '-buildvcs=false', './...'], {
    cwd: path.resolve(__dirname, '../../../tools/ferretdb'),
    env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly' },
  });
  expect(stdout).toMatch(/^ok\s+casebridge\/tools\/ferretdb/m);
}, 300_000);
