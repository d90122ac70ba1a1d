/**
 * Optional API keys. Keys come from a file (one per line, `#` comments) or the SEQSERVE_API_KEYS
 * environment variable (comma-separated) — never from the command line, where `ps` shows them.
 * A key followed by the word `admin` (`<key> admin`) may also administer the server: load and unload
 * models (with `--model-control explicit`); other keys may only use it.
 * A presented key is compared with every configured key in constant time (SHA-256 digests of equal
 * length, timingSafeEqual, no early exit), so timing tells nothing about how much of a key matched.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SeqserveError } from '../core/errors.ts';

/** A configured key; `admin` keys may also load and unload models. */
export interface ApiKey {
  key: string;
  admin: boolean;
}

/** What a request's key allows: `open` when no keys are configured (everyone may do everything the mode allows). */
export type KeyRole = 'open' | 'user' | 'admin';

const digest = (key: string) => createHash('sha256').update(key, 'utf8').digest();

/** One entry of the file or the variable: `<key>` or `<key> admin`. `where` names it in errors (never the key itself). */
function parseEntry(entry: string, where: string): ApiKey {
  const [key, ...marks] = entry.split(/\s+/);
  if (marks.length > 1 || (marks.length === 1 && marks[0] !== 'admin')) throw new Error(`${where}: after the key, only the word "admin" may follow`);
  if (key.length < 16) throw new Error(`${where}: API keys must be at least 16 characters long`);
  return { key, admin: marks.length === 1 };
}

export class ApiKeys {
  private readonly digests: Buffer[];
  private readonly admin: boolean[];

  /** Plain strings are keys without the admin marker. */
  constructor(keys: readonly (string | ApiKey)[]) {
    const entries = keys.map((k) => (typeof k === 'string' ? { key: k, admin: false } : k));
    this.digests = entries.map((k) => digest(k.key));
    this.admin = entries.map((k) => k.admin);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** Keys from a file and/or the environment variable; empty means authentication is off. */
  static load(file: string | undefined, env: string | undefined = process.env.SEQSERVE_API_KEYS): ApiKey[] {
    const keys: ApiKey[] = [];
    if (file) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const k = line.trim();
          if (k && !k.startsWith('#')) keys.push(parseEntry(k, `--api-keys-file ${file} line ${i + 1}`));
        });
      if (keys.length === 0) throw new Error(`--api-keys-file ${file}: contains no keys`);
    }
    (env ?? '').split(',').forEach((k, i) => {
      if (k.trim()) keys.push(parseEntry(k.trim(), `SEQSERVE_API_KEYS entry ${i + 1}`));
    });
    return keys;
  }

  /** The role of a key: `admin` or `user` if it is a configured key, undefined if not. */
  private role(key: string): 'user' | 'admin' | undefined {
    const d = digest(key);
    let ok = false;
    let admin = false;
    for (let i = 0; i < this.digests.length; i++) {
      const same = timingSafeEqual(d, this.digests[i]);
      ok = same || ok;
      admin = (same && this.admin[i]) || admin;
    }
    return ok ? (admin ? 'admin' : 'user') : undefined;
  }

  /** True if the key is one of the configured keys. */
  matches(key: string): boolean {
    return this.role(key) !== undefined;
  }

  /**
   * Checks an `authorization` header value (`Bearer <key>`) and returns what the key allows (`open`
   * when no keys are configured); throws UNAUTHENTICATED if it is not a valid key.
   */
  check(authorization: string | undefined): KeyRole {
    if (!this.enabled) return 'open';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m)
      throw new SeqserveError(
        'unauthenticated',
        authorization ? 'the authorization header must be "Bearer <API key>"' : 'an API key is required: send "authorization: Bearer <API key>"',
      );
    const role = this.role(m[1]);
    if (!role) throw new SeqserveError('unauthenticated', 'the API key is not valid');
    return role;
  }
}
