// known_nodes as the daemon writes it: learned keys appended and fsynced, several in one write
// when they arrive together, a crash's torn last line cut at the next start.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePublicKey, generateIdentity, parseTrustFile } from './identity.ts';
import { ensureStateDir, statePaths } from './state.ts';
import { DaemonTrust, repairKnownNodes } from './trust.ts';

async function fresh(): Promise<ReturnType<typeof statePaths>> {
  const dir = join(await mkdtemp(join(tmpdir(), 'distkitd-trust-')), 'state');
  await ensureStateDir(dir);
  return statePaths(dir);
}

describe('learned keys', () => {
  it('50 keys learned at once: every one on disk when its promise resolves, the header once, the file parses', async () => {
    const paths = await fresh();
    const trust = await DaemonTrust.load(paths, 'tofu');
    const keys = Array.from({ length: 50 }, (_, i) => [`n${i}`, generateIdentity().publicKey] as const);
    await Promise.all(
      keys.map(async ([name, key]) => {
        trust.store.learn(name, key);
        await trust.persistLearned(name, key);
        // Resolved means written and fsynced: the line is in the file now.
        expect(await readFile(paths.knownNodes, 'utf8')).toContain(`${name} ${encodePublicKey(key)}\n`);
      }),
    );
    const text = await readFile(paths.knownNodes, 'utf8');
    expect(parseTrustFile(text, paths.knownNodes).map((e) => e.name)).toEqual(keys.map(([n]) => n));
    expect(text.match(/^# distkit known_nodes/gm)).toHaveLength(1);
    // The same key reported again adds nothing.
    await trust.persistLearned('n0', keys[0]?.[1] as Uint8Array);
    expect(await readFile(paths.knownNodes, 'utf8')).toBe(text);
    // And a reload sees them all.
    await trust.reload('tofu');
    expect(trust.entries().known).toHaveLength(50);
  });

  it('durable(name) waits for the pending write of that name, and resolves at once for others', async () => {
    const paths = await fresh();
    const trust = await DaemonTrust.load(paths, 'tofu');
    const key = generateIdentity().publicKey;
    trust.store.learn('beta', key);
    void trust.persistLearned('beta', key);
    await trust.durable('beta');
    expect(await readFile(paths.knownNodes, 'utf8')).toContain(`beta ${encodePublicKey(key)}\n`);
    await trust.durable('nobody');
  });

  it('a file edited by hand without its final newline: the next key goes on a line of its own', async () => {
    const paths = await fresh();
    const a = generateIdentity().publicKey;
    await writeFile(paths.knownNodes, `alpha ${encodePublicKey(a)}`);
    const trust = await DaemonTrust.load(paths, 'tofu');
    const b = generateIdentity().publicKey;
    trust.store.learn('beta', b);
    await trust.persistLearned('beta', b);
    expect(await readFile(paths.knownNodes, 'utf8')).toBe(`alpha ${encodePublicKey(a)}\nbeta ${encodePublicKey(b)}\n`);
  });
});

describe('repair at start', () => {
  it('a torn last line (a crash in the middle of an append) is cut; a whole one without newline is kept', async () => {
    const paths = await fresh();
    const a = encodePublicKey(generateIdentity().publicKey);
    const b = encodePublicKey(generateIdentity().publicKey);
    await writeFile(paths.knownNodes, `# header\nalpha ${a}\nbeta ${b.slice(0, 17)}`);
    expect(await repairKnownNodes(paths.knownNodes)).toBe('torn-line-removed');
    expect(await readFile(paths.knownNodes, 'utf8')).toBe(`# header\nalpha ${a}\n`);
    await writeFile(paths.knownNodes, `alpha ${a}\nbeta ${b}`);
    expect(await repairKnownNodes(paths.knownNodes)).toBe('newline-added');
    expect(await readFile(paths.knownNodes, 'utf8')).toBe(`alpha ${a}\nbeta ${b}\n`);
    expect(await repairKnownNodes(paths.knownNodes)).toBeNull();
    expect(await repairKnownNodes(join(paths.dir, 'absent'))).toBeNull();
  });
});
