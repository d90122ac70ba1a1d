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
    expect(ApiKeys.load(file, 'env-key-aaaaaaaaaaaaaaaa, ')).toEqual([KEY, 'env-key-aaaaaaaaaaaaaaaa']);
    expect(ApiKeys.load(undefined, undefined)).toEqual([]);
    expect(() => ApiKeys.load(undefined, 'short')).toThrow(/16 characters/);
    writeFileSync(file, '# none\n');
    expect(() => ApiKeys.load(file, undefined)).toThrow(/no keys/);
  });
});
