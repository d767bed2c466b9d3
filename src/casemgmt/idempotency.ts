/**
 * Idempotent commands. A command may carry `Idempotency-Key` (8-128 of A-Z a-z 0-9 . _ -). Every
 * id the command creates, and the id of its Provenance, derive from a hash of (key, caller,
 * command): sending the command again finds that Provenance and is answered from it, writing
 * nothing. The Provenance keeps a SHA-256 of the command (its path parameters and body) in
 * `entity[0].what.identifier` (role `source`: the command is what the written resources were
 * derived from), so the same key with a different command is refused (409).
 * Without a key the ids are random and nothing can be replayed.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Provenance } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/outcomes';
import { CB } from './vocabulary';

export const IDEMPOTENCY_KEY = /^[A-Za-z0-9._-]{8,128}$/;
export const COMMAND_HASH_SYSTEM = `${CB}/sid/case-command-sha256`;
const PREFIX_LENGTH = 24;

/** Makes the ids of one command: `<prefix>-<label>`, the prefix shared by all of them. */
export class IdFactory {
  private readonly used = new Set<string>();

  constructor(readonly prefix: string) {}

  /** The id for `label` (e.g. `case`, `goal-2`); a label can be asked for once per command. */
  next(label: string): string {
    if (!/^[a-z0-9][a-z0-9.-]{0,38}$/.test(label) || this.used.has(label)) {
      throw new Error(`Bad or repeated id label "${label}"`);
    }
    this.used.add(label);
    return `${this.prefix}-${label}`;
  }

  get provenanceId(): string {
    return `${this.prefix}-provenance`;
  }
}

export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(header)) {
    throw new FhirError('INVALID_HEADER', 'Idempotency-Key must be 8 to 128 characters of A-Z, a-z, 0-9, ".", "_" and "-"', { expression: ['Idempotency-Key'] });
  }
  return header;
}

/** The prefix of a command's ids: deterministic with a key (same key, caller and command → same ids), random without. */
export function idPrefix(input: { key: string | undefined; caller: string; command: string }): string {
  const seed = input.key === undefined ? randomUUID() : `${input.key}\n${input.caller}\n${input.command}`;
  return sha256(seed).slice(0, PREFIX_LENGTH);
}

/** SHA-256 of the command: its name, path parameters and body, as canonical JSON (keys sorted). */
export function commandHash(command: string, params: Readonly<Record<string, string>>, body: unknown): string {
  return sha256(canonicalJson({ command, params, body }));
}

export function storedHash(provenance: Provenance): string | undefined {
  return provenance.entity?.find((e) => e.what?.identifier?.system === COMMAND_HASH_SYSTEM)?.what?.identifier?.value;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
