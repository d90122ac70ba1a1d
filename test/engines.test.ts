/**
 * The Node version the README states, package.json's `engines` and every installed dependency's
 * `engines` agree: the oldest Node we claim satisfies every package in the lockfile (npm warns
 * EBADENGINE otherwise, and such a package may use APIs that Node lacks).
 */
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { engines?: { node?: string } | string[] }> };
const oldest = semver.minVersion(pkg.engines.node)?.version ?? '';

describe('Node version requirement', () => {
  it('is stated in the README as package.json has it', () => {
    const readme = readFileSync('README.md', 'utf8');
    const stated = /Node (\d+\.\d+)\+/.exec(readme)?.[1];
    expect(`${stated}.0`).toBe(oldest);
  });

  it('is met by every dependency in the lockfile', () => {
    const unmet = Object.entries(lock.packages)
      .filter(([name, p]) => name && !Array.isArray(p.engines) && p.engines?.node && !semver.satisfies(oldest, p.engines.node))
      .map(([name, p]) => `${name.replace(/^.*node_modules\//, '')} needs node ${(p.engines as { node: string }).node}`);
    expect(unmet).toEqual([]);
  });
});
