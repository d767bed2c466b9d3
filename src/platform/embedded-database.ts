// Starts and stops the embedded database: FerretDB 1.24.2 on SQLite, built into .cache/bin/ferretdb
// by scripts/install-ferretdb.sh from tools/ferretdb (see its main.go for the process contract:
// one JSON line {"uri": …} on stdout once listening; stops on SIGTERM/SIGINT or when stdin closes).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { lockDataDir } from './data-dir-lock';

export type EmbeddedDatabaseOptions = {
  binaryPath: string;
  /** Folder for the SQLite files (one per database); created if missing. */
  dataDir: string;
  logger: Logger;
  /** How long to wait for the ready line; default 15 s (it takes a few milliseconds when warm). */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL; default 10 s (FerretDB gives open
   *  connections 3 s to finish). */
  stopTimeoutMs?: number;
  /** SQLite's synchronous setting; default 'full' (see launchArguments). */
  synchronous?: EmbeddedSynchronous;
  /**
   * Restart the database, on the same port, whenever it exits without stop() (a crash, a kill,
   * the OOM killer), with a growing pause between attempts (the service: main.ts). Commands run
   * once (seed, reindex) do without.
   */
  supervise?: boolean;
  /** The port to listen on (default: any free one). */
  port?: number;
};

/** 'full': a write is on disk when it is acknowledged; 'normal': a power cut may lose the last ones. */
export type EmbeddedSynchronous = 'full' | 'normal';

export type EmbeddedDatabase = {
  /** mongodb://127.0.0.1:PORT/ — no credentials, loopback only. The same across restarts. */
  uri: string;
  /** Process id of the running database (the last one while it is down), for diagnostics and tests. */
  readonly pid: number;
  /** False from the moment the process exits until a restarted one is ready. */
  available(): boolean;
  /** Stops the database; resolves once the process has exited. Safe to call more than once. */
  stop(): Promise<void>;
};

const DEFAULT_START_TIMEOUT_MS = 15_000;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;
const STDERR_LINES_KEPT = 10;
/** Pauses between restarts: from the first to the longest, doubling. */
const FIRST_RESTART_PAUSE_MS = 100;
const LONGEST_RESTART_PAUSE_MS = 5_000;

interface Running {
  child: ChildProcess;
  /** Resolves once the process has exited and its output is read. */
  exited: Promise<void>;
  stderrTail: string[];
}

export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const binaryPath = path.resolve(options.binaryPath);
  await assertBinaryExists(binaryPath);

  const dataDir = path.resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  // Held across restarts: the folder is ours until stop().
  const lock = await lockDataDir(dataDir);
  const logger = options.logger.child({ component: 'embedded-database' });
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const synchronous = options.synchronous ?? 'full';

  let running: Running;
  let uri: string;
  try {
    ({ running, uri } = await launch({ binaryPath, dataDir, logger, startTimeoutMs, synchronous, listenAddr: `127.0.0.1:${options.port ?? 0}` }));
  } catch (err) {
    await lock.release();
    throw err;
  }
  const listenAddr = new URL(uri).host;
  let stopping: Promise<void> | undefined;
  let up = true;

  const watch = (current: Running): void => {
    current.child.once('close', (code, signal) => {
      if (stopping !== undefined) return;
      up = false;
      logger.error({ code, signal, stderr: current.stderrTail.slice(), restarting: options.supervise === true }, 'Embedded database exited unexpectedly.');
      if (options.supervise) void restart();
      else void lock.release();
    });
  };

  const restart = async (): Promise<void> => {
    for (let pause = FIRST_RESTART_PAUSE_MS; stopping === undefined; pause = Math.min(pause * 2, LONGEST_RESTART_PAUSE_MS)) {
      await new Promise((resolve) => setTimeout(resolve, pause));
      if (stopping !== undefined) return;
      try {
        const next = await launch({ binaryPath, dataDir, logger, startTimeoutMs, synchronous, listenAddr });
        running = next.running;
        if (stopping !== undefined) {
          await stopProcess(running, options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
          return;
        }
        up = true;
        watch(running);
        logger.warn({ pid: running.child.pid }, 'Embedded database restarted.');
        return;
      } catch (err) {
        logger.error({ err, nextAttemptMs: Math.min(pause * 2, LONGEST_RESTART_PAUSE_MS) }, 'Embedded database could not be restarted.');
      }
    }
  };

  watch(running);
  logger.debug({ uri, pid: running.child.pid, dataDir }, 'Embedded database is ready.');

  return {
    uri,
    get pid() {
      return running.child.pid ?? -1;
    },
    available: () => up,
    stop() {
      stopping ??= stopProcess(running, options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS).finally(() => lock.release());
      up = false;
      return stopping;
    },
  };
}

/** Spawns one database process and waits for its ready line. */
async function launch(args: { binaryPath: string; dataDir: string; logger: Logger; startTimeoutMs: number; listenAddr: string; synchronous: EmbeddedSynchronous }): Promise<{ running: Running; uri: string }> {
  const { binaryPath, dataDir, logger } = args;
  const child = spawn(binaryPath, launchArguments(dataDir, args.listenAddr, args.synchronous), {
    // stdin stays an open pipe: FerretDB exits when it closes, so it never outlives this process.
    stdio: ['pipe', 'pipe', 'pipe'],
    // Own process group: a terminal's Ctrl-C reaches only this process, which then stops the
    // database after draining its own requests instead of losing it mid-shutdown.
    detached: true,
    windowsHide: true,
  });
  const stderrTail = forwardStderr(child, logger);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const uri = await waitUntilReady({ child, binaryPath, stderrTail, timeoutMs: args.startTimeoutMs });
  return { running: { child, exited, stderrTail }, uri };
}

function launchArguments(dataDir: string, listenAddr: string, synchronous: EmbeddedSynchronous): string[] {
  // SQLite runs in WAL mode. synchronous=full syncs the log at every commit, so a write the
  // database has acknowledged survives a power cut; normal syncs only at checkpoints, so a power
  // cut can lose the last acknowledged writes (never corrupt the database), for development
  // where speed matters more (EMBEDDED_DB_SYNCHRONOUS). See https://sqlite.org/pragma.html#pragma_synchronous
  // and docs/performance.md for what each costs. temp_store=memory keeps the statement journals
  // of writes (the search index triggers need one per insert) off temporary files.
  // wal_autocheckpoint: the log is copied back into the database every 20,000 pages (80 MB)
  // instead of 1,000. A page that many commits rewrite (the search index's busiest pages) is
  // copied once per checkpoint, not once per 1,000 pages: FerretDB's CPU per ingested resource
  // fell by a seventh (docs/performance.md). Durability is the log's, synced at every commit.
  const pragmas = [`synchronous(${synchronous})`, 'temp_store(memory)', 'wal_autocheckpoint(20000)'].map((p) => `_pragma=${p}`).join('&');
  return [`-listen-addr=${listenAddr}`, `${sqliteUrlArgument(dataDir)}?${pragmas}`, '-log-level=warn', '-exit-on-stdin-close'];
}

/**
 * The start of the `-sqlite-url` argument for a data folder (absolute): FerretDB wants a file:
 * URI naming a directory, with its trailing slash. embedded-database-users.ts looks for it in
 * the command lines of running processes.
 */
export function sqliteUrlArgument(dataDir: string): string {
  return `-sqlite-url=${pathToFileURL(dataDir).href.replace(/\/?$/, '/')}`;
}

async function assertBinaryExists(binaryPath: string): Promise<void> {
  const found = await stat(binaryPath).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!found) throw binaryNotFound(binaryPath);
}

function binaryNotFound(binaryPath: string): Error {
  return new Error(
    `Embedded database binary not found at ${binaryPath}: run \`npm run install:ferretdb\` (needs Go ≥ 1.24) or set MONGODB_URI.`,
  );
}

/** Forwards FerretDB's stderr (slog JSON lines) to the logger and keeps the last lines for errors. */
function forwardStderr(child: ChildProcess, logger: Logger): string[] {
  const tail: string[] = [];
  if (child.stderr === null) return tail;
  createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
    if (line.trim() === '') return;
    tail.push(line);
    if (tail.length > STDERR_LINES_KEPT) tail.shift();
    const { msg, fields } = parseSlogLine(line);
    logger[levelFor(msg, fields)]({ ferretdb: fields }, msg);
  });
  return tail;
}

/**
 * FerretDB logs every failed command at WARN with the whole response (a duplicate-key error
 * quotes the key's value, which can be patient data), and a WARN "Connection stopped" whenever a
 * client closes a socket (the driver does on close()). Both are routine — the driver already
 * reports the command error to its caller — so they go to debug; ERROR and worse go to error;
 * everything else to warn.
 * See: https://github.com/FerretDB/FerretDB/blob/v1.24.2/internal/clientconn/conn.go (logResponse)
 */
function levelFor(msg: string, fields: Record<string, unknown>): 'debug' | 'warn' | 'error' {
  const level = typeof fields.level === 'string' ? fields.level : '';
  if (level.startsWith('ERROR')) return 'error'; // slog prints FerretDB's DPanic etc. as ERROR+n
  if (level !== 'WARN') return 'warn'; // plain-text lines: fatal start-up errors and panics
  const routine =
    msg.startsWith('Response header:') ||
    msg.startsWith('Response message:') ||
    (msg === 'Connection stopped' && /connection reset by peer|EOF/.test(String(fields.error)));
  return routine ? 'debug' : 'warn';
}

function parseSlogLine(line: string): { msg: string; fields: Record<string, unknown> } {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const { msg, time: _time, ...fields } = parsed as Record<string, unknown>;
      return { msg: typeof msg === 'string' ? msg : line, fields };
    }
  } catch {
    // Not JSON: FerretDB's own fatal errors ("ferretdb: …") and Go panics are plain text.
  }
  return { msg: line, fields: {} };
}

type ReadyWait = { child: ChildProcess; binaryPath: string; stderrTail: string[]; timeoutMs: number };

/** Resolves with the uri from the ready line; if it never comes, kills the process and rejects. */
function waitUntilReady({ child, binaryPath, stderrTail, timeoutMs }: ReadyWait): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const lastOutput = (): string =>
      stderrTail.length === 0 ? 'no output' : `last output: ${stderrTail.join(' | ')}`;
    let settled = false;
    const settle = (outcome: { uri: string } | { error: Error }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.off('error', onError);
      child.off('close', onClose);
      if ('uri' in outcome) {
        resolve(outcome.uri);
        return;
      }
      // Reject only once the process is gone, so a failed start never leaves one behind.
      child.stdin?.destroy();
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        child.once('exit', () => reject(outcome.error));
        child.kill('SIGKILL');
      } else {
        reject(outcome.error);
      }
    };

    const timer = setTimeout(() => {
      settle({
        error: new Error(`Embedded database at ${binaryPath} was not ready within ${timeoutMs} ms (${lastOutput()}).`),
      });
    }, timeoutMs);
    const onError = (error: NodeJS.ErrnoException): void => {
      settle({
        error:
          error.code === 'ENOENT'
            ? binaryNotFound(binaryPath)
            : new Error(`Embedded database at ${binaryPath} could not be started (${error.message}).`, { cause: error }),
      });
    };
    // 'close' (not 'exit') fires once stderr has been read to the end, so the tail is complete.
    const onClose = (code: number | null, signal: NodeJS.Signals | null): void => {
      const how = signal === null ? `with code ${code}` : `on ${signal}`;
      settle({ error: new Error(`Embedded database at ${binaryPath} exited ${how} before it was ready (${lastOutput()}).`) });
    };
    child.once('error', onError);
    child.once('close', onClose);

    if (child.stdout === null) return;
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    lines.once('line', (line) => {
      const uri = readyUri(line);
      settle(
        uri === undefined
          ? { error: new Error(`Embedded database at ${binaryPath} printed an unexpected ready line: ${line.slice(0, 200)}`) }
          : { uri },
      );
      // Nothing else is expected on stdout; keep draining it so the pipe never fills.
      lines.on('line', () => undefined);
    });
  });
}

function readyUri(line: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed === 'object' && parsed !== null && 'uri' in parsed) {
      const { uri } = parsed;
      if (typeof uri === 'string' && uri.startsWith('mongodb://')) return uri;
    }
  } catch {
    // fall through
  }
  return undefined;
}

async function stopProcess({ child, exited }: Running, timeoutMs: number): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    });
    const stuck = await Promise.race([exited.then(() => false), timedOut]);
    clearTimeout(timer);
    if (stuck) child.kill('SIGKILL');
  }
  await exited;
  child.stdin?.destroy();
}
