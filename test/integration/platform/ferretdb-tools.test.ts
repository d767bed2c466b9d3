/**
 * The Go code around the embedded database (tools/ferretdb) passes its own Go tests: among them,
 * that the patched SQLite backend answers every kind of search condition from an index (EXPLAIN
 * QUERY PLAN without a full scan) and gives the same answers as FerretDB scanning. The patched
 * packages of FerretDB pass theirs, with the patch's own (sjson's one-pass decoder against
 * upstream's; fsql's kept statements; the handler's `$in` of strings against its comparisons).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const toolDir = path.resolve(__dirname, '../../../tools/ferretdb');

/** SQLite's C options, as scripts/install-ferretdb.sh reads them from tools/ferretdb/cgo.env. */
function cgoCFlags(): string {
  const line = readFileSync(path.join(toolDir, 'cgo.env'), 'utf8').split('\n').find((l) => l.startsWith('CGO_CFLAGS='));
  if (line === undefined) throw new Error('tools/ferretdb/cgo.env has no CGO_CFLAGS line');
  return line.slice('CGO_CFLAGS='.length);
}

/** `go test` in tools/ferretdb, with the build flags and environment of scripts/install-ferretdb.sh (its compiled packages are reused). */
async function goTest(...packages: string[]): Promise<string> {
  const { stdout } = await run('go', ['test', '-trimpath', '-buildvcs=false', ...packages], {
    cwd: toolDir,
    env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly', CGO_ENABLED: '1', CGO_CFLAGS: cgoCFlags() },
  });
  return stdout;
}

test('go test in tools/ferretdb', async () => {
  expect(await goTest('./...')).toMatch(/^ok\s+casebridge\/tools\/ferretdb/m);
}, 300_000);

test('the patched FerretDB packages pass their tests', async () => {
  const packages = ['github.com/FerretDB/FerretDB/internal/handler/common', 'github.com/FerretDB/FerretDB/internal/handler/sjson', 'github.com/FerretDB/FerretDB/internal/util/fsql'];
  const stdout = await goTest(...packages);
  expect(stdout).toMatch(/^ok\s+github\.com\/FerretDB\/FerretDB\/internal\/handler\/common/m);
  expect(stdout).toMatch(/^ok\s+github\.com\/FerretDB\/FerretDB\/internal\/handler\/sjson/m);
  expect(stdout).toMatch(/^ok\s+github\.com\/FerretDB\/FerretDB\/internal\/util\/fsql/m);
}, 300_000);
