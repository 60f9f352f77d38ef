// The tag rules (the wire's, so the config accepts exactly what a hello carries), the filters of
// `nodes --tag`, and the run-time overrides kept in tags.json.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkTags } from '@distkit/wire';
import { describe, expect, it } from 'vitest';
import { isDaemonError } from './errors.ts';
import {
  NO_OVERRIDES, changeOverrides, effectiveTags, matchesTags, parseTagAssignment, parseTagFilter, readTagOverrides, tagProblem, writeTagOverrides,
} from './tags.ts';

describe('tag rules', () => {
  it('accept and refuse exactly what the wire does', () => {
    const cases: Array<[string, unknown]> = [
      ['role', 'db'], ['a.b/c-d_e', 'x'], ['k', 'é'.repeat(128)], ['k', 'é'.repeat(129)], ['bad key', 'x'], ['', 'x'], ['k'.repeat(64), 'x'], ['k'.repeat(65), 'x'],
      ['k', ''], ['k', 3], ['k', null], ['ключ', 'x'],
    ];
    for (const [key, value] of cases) {
      let wire = true;
      try {
        checkTags({ [key]: value });
      } catch {
        wire = false;
      }
      expect(tagProblem(key, value) === null, `${key}=${String(value)}`).toBe(wire);
    }
    expect(tagProblem('rack', 3)).toBe('must be a string (got number: write it in quotes, rack = "3")');
    expect(tagProblem(null, Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])))).toBe('at most 32 tags (got 33)');
  });

  it('KEY=VALUE assignments and filters', () => {
    expect(parseTagAssignment('role=db', 'x')).toEqual(['role', 'db']);
    expect(parseTagAssignment('url=http://a=b', 'x')).toEqual(['url', 'http://a=b']);
    for (const bad of ['role', '=db', 'bad key=x', 'role=']) expect(() => parseTagAssignment(bad, '--tag'), bad).toThrow(/--tag/);
    expect(parseTagFilter('role=db')).toEqual({ key: 'role', value: 'db' });
    expect(parseTagFilter('role')).toEqual({ key: 'role', value: null });
    expect(() => parseTagFilter('no such!')).toThrow(/not a tag filter/);
    const tags = { role: 'db', zone: 'eu' };
    expect(matchesTags(tags, [])).toBe(true);
    expect(matchesTags(tags, [parseTagFilter('role=db'), parseTagFilter('zone')])).toBe(true);
    expect(matchesTags(tags, [parseTagFilter('role=db'), parseTagFilter('zone=us')])).toBe(false);
    expect(matchesTags({}, [parseTagFilter('role')])).toBe(false);
    // An inherited property is no tag.
    expect(matchesTags(tags, [parseTagFilter('constructor')])).toBe(false);
  });
});

describe('run-time overrides', () => {
  const config = { role: 'db', zone: 'eu' };

  it('set on top of the config, remove takes a config tag away, reset goes back', () => {
    let o = changeOverrides(NO_OVERRIDES, { set: { rack: 'r1', role: 'primary' }, remove: ['zone'] }, config);
    expect(effectiveTags(config, o)).toEqual({ role: 'primary', rack: 'r1' });
    // Set again what was removed: no longer removed.
    o = changeOverrides(o, { set: { zone: 'us' } }, config);
    expect(effectiveTags(config, o)).toEqual({ role: 'primary', zone: 'us', rack: 'r1' });
    // Removing a key the config does not have only drops the override.
    o = changeOverrides(o, { remove: ['rack'] }, config);
    expect(o.remove).toEqual([]);
    expect(effectiveTags(config, o)).toEqual({ role: 'primary', zone: 'us' });
    expect(effectiveTags(config, changeOverrides(o, { reset: true }, config))).toEqual(config);
    // The config changes under the overrides (a reload): they stay on top.
    expect(effectiveTags({ role: 'db', os: 'linux' }, o)).toEqual({ role: 'primary', os: 'linux', zone: 'us' });
  });

  it('refuses what would not be valid tags, changing nothing', () => {
    const tooMany = Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${i}`, 'v']));
    for (const change of [{ set: { 'bad key': 'x' } }, { set: { k: '' } }, { set: tooMany }, { set: { a: 'x' }, remove: ['a'] }]) {
      try {
        changeOverrides(NO_OVERRIDES, change, config);
        throw new Error(`accepted ${JSON.stringify(change)}`);
      } catch (err) {
        expect(isDaemonError(err) && err.code === 'BAD_FLAG', String(err)).toBe(true);
      }
    }
  });

  it('tags.json round-trips; a broken one is STATE_CORRUPT (65) naming the file and the way out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkitd-tags-'));
    const path = join(dir, 'tags.json');
    expect(await readTagOverrides(path)).toBe(NO_OVERRIDES);
    const o = changeOverrides(NO_OVERRIDES, { set: { rack: 'r1' }, remove: ['zone'] }, config);
    await writeTagOverrides(path, o);
    expect(await readTagOverrides(path)).toEqual(o);
    for (const text of ['{', '[]', '{"set":{"k":""}}', '{"remove":"zone"}', '{"set":{},"other":1}', '{"set":{"bad key":"x"}}']) {
      await writeFile(path, text);
      const err = await readTagOverrides(path).catch((e: unknown) => e);
      expect(isDaemonError(err) && err.code === 'STATE_CORRUPT' && err.exitCode === 65, `${text}: ${String(err)}`).toBe(true);
      expect((err as Error).message).toContain(`${path}: `);
      expect((err as Error).message).toContain("delete it to go back to the config's tags");
    }
    expect(await readFile(path, 'utf8')).toBe('{"set":{"bad key":"x"}}');
  });
});
