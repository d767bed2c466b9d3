/**
 * Child processes for the benchmark: the embedded database, the CaseBridge service and the bare
 * HTTP baseline each run in their own process, so the load generator (this process) measures
 * them over loopback as a client would, and each one's peak memory is its own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../..');

export interface RunningProcess {
  readonly pid: number;
  readonly url: string;
  /** Peak resident set size so far, in MiB (Linux VmHWM). */
  peakRssMiB(): number;
  stop(): Promise<void>;
}

/** Starts `node [nodeArgs] <script>` and waits until `readyUrl` answers 200. */
export async function startNode(options: { script: string; env: Record<string, string>; port: number; readyPath: string; nodeArgs?: readonly string[] }): Promise<RunningProcess> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script], {
    cwd: ROOT,
    env: { ...process.env, ...options.env, PORT: String(options.port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const url = `http://127.0.0.1:${options.port}`;
  await waitReady(child, `${url}${options.readyPath}`, stderr);
  return handle(child, url);
}

async function waitReady(child: ChildProcess, readyUrl: string, stderr: string[]): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`process exited (${child.exitCode}) before it was ready: ${stderr.join('').slice(-2000)}`);
    }
    try {
      const res = await fetch(readyUrl);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${readyUrl} did not answer within 120 s`);
}

function handle(child: ChildProcess, url: string): RunningProcess {
  const pid = child.pid as number;
  return {
    pid,
    url,
    peakRssMiB: () => peakRssMiB(pid),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await once(child, 'exit');
      clearTimeout(timer);
    },
  };
}

export function peakRssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Math.round(Number(kb) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system) process `pid` has used so far (Linux /proc; NaN elsewhere). */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100) ticks
  } catch {
    return NaN;
  }
}
