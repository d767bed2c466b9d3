/**
 * Reads profiles/ (the only I/O of the profile code): every `*.json` file is one conformance
 * resource. Loaded once per process and directory; a file that does not parse or a definition
 * that cannot be used fails the load, naming the file, so that start-up fails rather than a
 * profile going unchecked.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { ProfileError } from './compile';
import { type ConformancePackage, buildConformancePackage } from './package';

const cache = new Map<string, ConformancePackage>();
let installed: ConformancePackage | undefined;

/**
 * The profiles/ folder of the installation: next to the package.json found walking up from this
 * file (src/fhir/profiles under ts-jest, dist/src/fhir/profiles when compiled, /app in the image).
 */
export function defaultProfilesDirectory(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) {
      return path.join(dir, 'profiles');
    }
    dir = path.dirname(dir);
  }
  throw new ProfileError(`profiles/ not found: no package.json above ${__dirname}`);
}

/** The resources of a profiles directory, in file name order. */
export function readConformanceResources(dir: string): Resource[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return files.map((file) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    } catch (err) {
      throw new ProfileError(`${path.join(dir, file)}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof (parsed as Resource).resourceType !== 'string') {
      throw new ProfileError(`${path.join(dir, file)}: not a FHIR resource`);
    }
    return parsed as Resource;
  });
}

/**
 * Loads (once) and compiles the conformance resources of `dir`; without `dir`, those of the
 * installation (found once, then answered from memory: the validation calls this per write).
 */
export function loadConformancePackage(dir?: string): ConformancePackage {
  if (dir === undefined) {
    installed ??= loadConformancePackage(defaultProfilesDirectory());
    return installed;
  }
  const key = path.resolve(dir);
  let pkg = cache.get(key);
  if (!pkg) {
    pkg = buildConformancePackage(readConformanceResources(key));
    cache.set(key, pkg);
  }
  return pkg;
}
