/**
 * The server's keys for signing access tokens (ES384), kept in the database so that every
 * instance sharing it signs and verifies the same tokens. The first start generates one; a
 * rotation adds a newer one, which instances sign with from their next reload (at most a minute
 * later), while the older keys stay published (GET /auth/jwks) and keep verifying the tokens they
 * signed until an administrator removes them. kid = the key's RFC 7638 thumbprint.
 */
import { type JWK, type KeyLike, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { Clock } from '../platform/clock';
import type { SigningKeyRecord, SigningKeys } from '../store/records';

export const ACCESS_TOKEN_ALGORITHM = 'ES384';
/** A token naming a kid we do not hold reloads the keys, at most this often. */
const RELOAD_COOLDOWN_MS = 30_000;

interface LoadedKey {
  readonly kid: string;
  readonly publicJwk: JWK;
  readonly publicKey: KeyLike | Uint8Array;
  readonly privateKey: KeyLike | Uint8Array;
}

export class SigningKeyRing {
  private keys = new Map<string, LoadedKey>();
  private newest: LoadedKey | undefined;
  private loadedAt = Number.NEGATIVE_INFINITY;
  /** Changes whenever a key is added or removed: what was verified before may not verify now. */
  generation = 0;

  constructor(
    private readonly records: SigningKeys,
    private readonly clock: Clock,
  ) {}

  /** Reads the keys; generates the first one on an empty database. */
  async load(): Promise<void> {
    const records = await this.records.list();
    if (records.length === 0) {
      await this.records.add(await generateSigningKey(this.clock.now()));
      return this.load();
    }
    const keys = new Map<string, LoadedKey>();
    for (const record of records) keys.set(record.kid, this.keys.get(record.kid) ?? (await importKey(record)));
    if (keys.size !== this.keys.size || [...keys.keys()].some((kid) => !this.keys.has(kid))) this.generation += 1;
    this.keys = keys;
    // Oldest first: the last is the newest. Instances that generated a first key at the same
    // moment all end up signing with the same one.
    this.newest = keys.get((records.at(-1) as SigningKeyRecord).kid);
    this.loadedAt = this.clock.now().getTime();
  }

  /** Adds a newer key, which this instance signs with from now on; answers its kid. */
  async rotate(): Promise<string> {
    const key = await generateSigningKey(this.clock.now());
    await this.records.add(key);
    await this.load();
    return key.kid;
  }

  /**
   * Removes an older key: tokens it signed stop verifying once each instance reloads its keys
   * (within a minute). Refuses the newest key, which instances sign with. Answers false when
   * there is no such key.
   */
  async retire(kid: string): Promise<boolean> {
    await this.load();
    if (this.newest?.kid === kid) throw new Error(`${kid} is the newest signing key, which tokens are signed with: rotate first.`);
    const removed = await this.records.remove(kid);
    await this.load();
    return removed;
  }

  /** The keys, oldest first, the one tokens are signed with marked. */
  list(): { kid: string; signing: boolean }[] {
    return [...this.keys.values()].map((k) => ({ kid: k.kid, signing: k === this.newest }));
  }

  signingKey(): { kid: string; privateKey: KeyLike | Uint8Array } {
    if (this.newest === undefined) throw new Error('The signing keys are not loaded (SigningKeyRing.load).');
    return { kid: this.newest.kid, privateKey: this.newest.privateKey };
  }

  /** The public key for a kid; a kid we do not know reloads the keys (another instance may have
   *  rotated), at most every 30 s, so made-up kids cannot make us read the database per request. */
  async verificationKey(kid: string | undefined): Promise<KeyLike | Uint8Array | undefined> {
    if (kid === undefined) return undefined;
    const known = this.keys.get(kid);
    if (known !== undefined) return known.publicKey;
    if (this.clock.now().getTime() - this.loadedAt < RELOAD_COOLDOWN_MS) return undefined;
    await this.load();
    return this.keys.get(kid)?.publicKey;
  }

  /** The public keys, as GET /auth/jwks serves them. */
  jwks(): { keys: JWK[] } {
    return { keys: [...this.keys.values()].map((k) => k.publicJwk) };
  }
}

async function generateSigningKey(now: Date): Promise<SigningKeyRecord> {
  const { publicKey, privateKey } = await generateKeyPair(ACCESS_TOKEN_ALGORITHM, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const described = { kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' };
  return { kid, alg: ACCESS_TOKEN_ALGORITHM, publicJwk: { ...publicJwk, ...described }, privateJwk: { ...(await exportJWK(privateKey)), ...described }, created: now };
}

async function importKey(record: SigningKeyRecord): Promise<LoadedKey> {
  const publicJwk = record.publicJwk as unknown as JWK;
  return {
    kid: record.kid,
    publicJwk,
    publicKey: await importJWK(publicJwk, record.alg),
    privateKey: await importJWK(record.privateJwk as unknown as JWK, record.alg),
  };
}
