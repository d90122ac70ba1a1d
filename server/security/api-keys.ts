/**
 * Optional API keys. Keys come from a file (one per line, `#` comments) or the SEQSERVE_API_KEYS
 * environment variable (comma-separated) — never from the command line, where `ps` shows them.
 * A presented key is compared with every configured key in constant time (SHA-256 digests of equal
 * length, timingSafeEqual, no early exit), so timing tells nothing about how much of a key matched.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SeqserveError } from '../core/errors.ts';

const digest = (key: string) => createHash('sha256').update(key, 'utf8').digest();

export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** Keys from a file and/or the environment variable; empty means authentication is off. */
  static load(file: string | undefined, env: string | undefined = process.env.SEQSERVE_API_KEYS): string[] {
    const keys: string[] = [];
    if (file) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        const k = line.trim();
        if (k && !k.startsWith('#')) keys.push(k);
      }
      if (keys.length === 0) throw new Error(`--api-keys-file ${file}: contains no keys`);
    }
    for (const k of (env ?? '').split(',')) if (k.trim()) keys.push(k.trim());
    for (const k of keys) if (k.length < 16) throw new Error('API keys must be at least 16 characters long');
    return keys;
  }

  /** True if the key is one of the configured keys. */
  matches(key: string): boolean {
    const d = digest(key);
    let ok = false;
    for (const k of this.digests) ok = timingSafeEqual(d, k) || ok;
    return ok;
  }

  /** Checks an `authorization` header value (`Bearer <key>`); throws UNAUTHENTICATED if it is not a valid key. */
  check(authorization: string | undefined): void {
    if (!this.enabled) return;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) throw new SeqserveError('unauthenticated', authorization ? 'the authorization header must be "Bearer <API key>"' : 'an API key is required: send "authorization: Bearer <API key>"');
    if (!this.matches(m[1])) throw new SeqserveError('unauthenticated', 'the API key is not valid');
  }
}
