import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiKeys } from './api-keys.ts';

const KEY = 'sk-seqserve-0123456789abcdef';

describe('ApiKeys', () => {
  it('is off without keys and lets everything through', () => {
    const keys = new ApiKeys([]);
    expect(keys.enabled).toBe(false);
    expect(() => keys.check(undefined)).not.toThrow();
  });

  it('accepts a configured key as a Bearer token and refuses anything else with UNAUTHENTICATED', () => {
    const keys = new ApiKeys(['another-key-0000000000', KEY]);
    expect(() => keys.check(`Bearer ${KEY}`)).not.toThrow();
    expect(() => keys.check(`bearer ${KEY}`)).not.toThrow();
    for (const bad of [undefined, '', KEY, `Basic ${KEY}`, `Bearer ${KEY}x`, `Bearer ${KEY.slice(0, -1)}`, 'Bearer ']) {
      expect(() => keys.check(bad)).toThrow(expect.objectContaining({ code: 'unauthenticated' }));
    }
  });

  it('loads keys from a file (comments and blank lines skipped) and the environment, refusing short ones', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'seqserve-keys-'));
    const file = path.join(dir, 'keys');
    writeFileSync(file, `# operators\n${KEY}\n\n`);
    expect(ApiKeys.load(file, 'env-key-aaaaaaaaaaaaaaaa, ')).toEqual([
      { key: KEY, admin: false },
      { key: 'env-key-aaaaaaaaaaaaaaaa', admin: false },
    ]);
    expect(ApiKeys.load(undefined, undefined)).toEqual([]);
    expect(() => ApiKeys.load(undefined, 'short')).toThrow(/16 characters/);
    writeFileSync(file, '# none\n');
    expect(() => ApiKeys.load(file, undefined)).toThrow(/no keys/);
  });

  it('marks keys followed by the word admin; anything else after a key is an error that does not show it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'seqserve-keys-'));
    const file = path.join(dir, 'keys');
    writeFileSync(file, `${KEY}   admin\nuser-key-bbbbbbbbbbbbbbbb\n`);
    expect(ApiKeys.load(file, 'env-admin-cccccccccccccccc admin,env-user-dddddddddddddddd')).toEqual([
      { key: KEY, admin: true },
      { key: 'user-key-bbbbbbbbbbbbbbbb', admin: false },
      { key: 'env-admin-cccccccccccccccc', admin: true },
      { key: 'env-user-dddddddddddddddd', admin: false },
    ]);
    writeFileSync(file, `# ops\n${KEY} root\n`);
    expect(() => ApiKeys.load(file, undefined)).toThrow(/line 2: after the key, only the word "admin" may follow/);
    expect(() => ApiKeys.load(file, undefined)).not.toThrow(new RegExp(KEY));
    expect(() => ApiKeys.load(undefined, `${KEY} admin extra`)).toThrow(/SEQSERVE_API_KEYS entry 1/);

    const keys = new ApiKeys(ApiKeys.load(undefined, `${KEY} admin,user-key-bbbbbbbbbbbbbbbb`));
    expect(keys.check(`Bearer ${KEY}`)).toBe('admin');
    expect(keys.check('Bearer user-key-bbbbbbbbbbbbbbbb')).toBe('user');
    expect(new ApiKeys([]).check(undefined)).toBe('open');
  });
});
