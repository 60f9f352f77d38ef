// joined_nodes: the format written by `distkitd join`, read back exactly; a bad line is refused
// naming the file and the line, never quoting a key.
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDaemonError } from './errors.ts';
import { encodePublicKey, generateIdentity } from './identity.ts';
import { parseJoinedNodes, readJoinedNodes, writeJoinedNodes, type JoinedNode } from './joined-nodes.ts';

describe('joined_nodes', () => {
  it('round-trips names, IPv4, IPv6 and host names, with and without a pinned key; written 0644 atomically', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkitd-joined-'));
    const path = join(dir, 'joined_nodes');
    expect(await readJoinedNodes(path)).toEqual([]);
    const key = generateIdentity().publicKey;
    const nodes: JoinedNode[] = [
      { name: 'db-1@host', address: { host: '10.0.0.1', port: 4370 }, publicKey: null },
      { name: 'b', address: { host: 'fd00::2', port: 4371 }, publicKey: key },
      { name: 'c', address: { host: 'c.example', port: 1 }, publicKey: null },
    ];
    await writeJoinedNodes(path, nodes);
    expect((await stat(path)).mode & 0o777).toBe(0o644);
    const text = await readFile(path, 'utf8');
    expect(text).toContain(`\nb [fd00::2]:4371 ${encodePublicKey(key)}\n`);
    expect(await readJoinedNodes(path)).toEqual(nodes);
  });

  it('a bad line: STATE_CORRUPT (65) with file:line and what is wrong; the key is not quoted', async () => {
    const key = encodePublicKey(generateIdentity().publicKey);
    const cases: Array<[string, string]> = [
      ['a', 'the second field is not host:port'],
      ['a 10.0.0.1', 'the second field is not host:port'],
      ['a 10.0.0.1:0', 'the second field is not host:port'],
      ['a 10.0.0.1:70000', 'the second field is not host:port'],
      ['-a 10.0.0.1:1', 'the first field is not a node name'],
      [`a 10.0.0.1:1 ${key.slice(0, 40)}`, 'the third field is not a base64 public key'],
      ['a 10.0.0.1:1 x y', 'too many fields'],
      ['a 10.0.0.1:1\na 10.0.0.2:1', 'a is listed twice'],
    ];
    for (const [body, why] of cases) {
      const text = `# header\n\n${body}\n`;
      try {
        parseJoinedNodes(text, '/s/joined_nodes');
        throw new Error(`accepted ${body}`);
      } catch (err) {
        expect(isDaemonError(err) && err.code === 'STATE_CORRUPT' && err.exitCode === 65, String(err)).toBe(true);
        expect((err as Error).message).toMatch(new RegExp(`^/s/joined_nodes:[34]: ${why.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
        expect((err as Error).message).not.toContain(key.slice(0, 12));
      }
    }
    const dir = await mkdtemp(join(tmpdir(), 'distkitd-joined-'));
    await writeFile(join(dir, 'joined_nodes'), 'a b c d\n');
    await expect(readJoinedNodes(join(dir, 'joined_nodes'))).rejects.toThrow(/joined_nodes:1: too many fields/);
  });
});
