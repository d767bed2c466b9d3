/**
 * Which running processes serve an embedded database folder. Two FerretDB processes on one SQLite
 * folder are not safe, and FerretDB takes no lock on the folder, so a command that would start its
 * own (npm run seed) first looks for one already started on the same folder — by the service,
 * another seed or a reindex — in the command lines of the running processes: /proc on Linux,
 * `ps` elsewhere. A check, not a lock: a process started just after it is not seen.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { sqliteUrlArgument } from './embedded-database';

/** Process ids (other than this process) of embedded databases started on `dataDir`. */
export async function embeddedDatabaseProcesses(dataDir: string): Promise<number[]> {
  const argument = sqliteUrlArgument(path.resolve(dataDir));
  const matches = (arg: string) => arg === argument || arg.startsWith(`${argument}?`);
  const commandLines = await readProcCommandLines().catch(() => undefined) ?? (await psCommandLines());
  return commandLines.filter(({ pid, args }) => pid !== process.pid && args.some(matches)).map(({ pid }) => pid);
}

interface CommandLine {
  readonly pid: number;
  readonly args: readonly string[];
}

/** Linux: each /proc/<pid>/cmdline (arguments separated by NUL); undefined without /proc. */
async function readProcCommandLines(): Promise<CommandLine[] | undefined> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return undefined;
  }
  const lines: CommandLine[] = [];
  for (const name of names.filter((n) => /^\d+$/.test(n))) {
    // A process may end, or be another user's, between listing and reading: skip it.
    const raw = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (raw !== '') lines.push({ pid: Number(name), args: raw.split('\0').filter((a) => a !== '') });
  }
  return lines;
}

/** Elsewhere (macOS): `ps`; its arguments are space-separated, and a file: URL has no spaces. */
async function psCommandLines(): Promise<CommandLine[]> {
  const { stdout } = await promisify(execFile)('ps', ['-axww', '-o', 'pid=,args='], { maxBuffer: 16 * 1024 * 1024 });
  return stdout
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), args: (m[2] as string).split(/\s+/) }));
}
