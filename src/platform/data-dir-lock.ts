/**
 * One process per embedded data folder. Two FerretDB processes on one SQLite folder would both
 * write it; a lock file (created exclusively, naming its owner's pid) keeps the second one out.
 * A lock whose process is gone (a crash, a kill -9) is stale and taken over.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';

export interface DataDirLock {
  release(): Promise<void>;
}

const LOCK_FILE = 'casebridge.lock';

export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const file = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
      await handle.close();
      let released = false;
      return {
        async release() {
          if (!released) {
            released = true;
            await unlink(file).catch(() => undefined);
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw err;
      }
      const owner = await ownerOf(file);
      if (owner !== undefined && isAlive(owner)) {
        throw new Error(
          `The embedded database in ${dataDir} is in use by process ${owner} (another CaseBridge?): stop it, use another DATA_DIR, or set MONGODB_URI.`,
        );
      }
      await unlink(file).catch(() => undefined); // stale: its process is gone
    }
  }
  throw new Error(`Could not take the lock ${file}: remove it if no CaseBridge uses ${dataDir}.`);
}

async function ownerOf(file: string): Promise<number | undefined> {
  try {
    const pid = (JSON.parse(await readFile(file, 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
