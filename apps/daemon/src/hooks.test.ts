import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Hooks, runHookCommand, type HooksConfig } from './hooks.ts';
import { sampleView } from './node-stand-in.test-support.ts';

const self = { name: 'alpha', cluster: 'c1', incarnation: 7 };
const none: HooksConfig = { onRestart: null, onNodedown: null, onPartition: null, timeoutMs: 10_000, restartExit: true };
const decision = { type: 'decision', node: 'beta', strategy: 'keep-majority', decision: 'restart', mine: sampleView({ lowest: null, hash: new Uint8Array([1, 2, 3]) }), theirs: sampleView({ connected: 2, lowest: null, hash: new Uint8Array([4, 5, 6]) }), at: 99 } as const;

describe('hooks', () => {
  it('on_restart runs with the partition facts in DISTKIT_* variables, then asks the daemon to exit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkitd-hook-'));
    const out = join(dir, 'env');
    const hooks = new Hooks({ ...none, onRestart: `env | grep ^DISTKIT_ | sort > ${out}` }, self);
    expect(await hooks.handle(decision)).toBe('exit');
    const env = Object.fromEntries((await readFile(out, 'utf8')).trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(env).toMatchObject({
      DISTKIT_HOOK: 'on_restart',
      DISTKIT_EVENT: 'decision',
      DISTKIT_NODE: 'beta',
      DISTKIT_SELF: 'alpha',
      DISTKIT_CLUSTER: 'c1',
      DISTKIT_SELF_INCARNATION: '7',
      DISTKIT_DECISION: 'restart',
      DISTKIT_STRATEGY: 'keep-majority',
      DISTKIT_MINE: '{"connected":1,"lowest":null,"oldest":null,"referee":false,"hash":"AQID"}',
      DISTKIT_THEIRS: '{"connected":2,"lowest":null,"oldest":null,"referee":false,"hash":"BAUG"}',
      DISTKIT_EXIT_CODE: '75',
      DISTKIT_AT: '99',
    });
    expect(JSON.parse(env['DISTKIT_EVENT_JSON'] ?? '')).toEqual({
      ...decision,
      mine: { connected: 1, lowest: null, oldest: null, referee: false, hash: 'AQID' },
      theirs: { connected: 2, lowest: null, oldest: null, referee: false, hash: 'BAUG' },
    });
  });

  it('restart_exit = false: the hook runs, the daemon stays; "stay" decisions run nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkitd-hook-'));
    const out = join(dir, 'ran');
    const hooks = new Hooks({ ...none, onRestart: ['/bin/sh', '-c', `echo "$DISTKIT_DECISION" >> ${out}`], restartExit: false }, self);
    expect(await hooks.handle({ ...decision, decision: 'stay' })).toBeNull();
    expect(await hooks.handle(decision)).toBeNull();
    expect(await readFile(out, 'utf8')).toBe('restart\n');
  });

  it('nodedown and partition hooks get the reason and incarnation; runs of one hook do not overlap', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'distkitd-hook-'));
    const out = join(dir, 'log');
    const hooks = new Hooks(
      {
        ...none,
        onNodedown: `echo "start $DISTKIT_NODE $DISTKIT_REASON" >> ${out}; sleep 0.1; echo "end $DISTKIT_NODE" >> ${out}`,
        onPartition: `echo "partition $DISTKIT_NODE $DISTKIT_INCARNATION" >> ${join(dir, 'p')}`,
      },
      self,
    );
    await hooks.handle({ type: 'nodedown', node: 'beta', reason: 'tick_timeout', at: 1 });
    await hooks.handle({ type: 'nodedown', node: 'gamma', reason: 'connection_closed', at: 2 });
    await hooks.handle({ type: 'partition', node: 'beta', incarnation: 3, at: 3 });
    await hooks.settle();
    expect((await readFile(out, 'utf8')).trim().split('\n')).toEqual(['start beta tick_timeout', 'end beta', 'start gamma connection_closed', 'end gamma']);
    expect(await readFile(join(dir, 'p'), 'utf8')).toBe('partition beta 3\n');
  });

  it('a hook past its timeout is killed; a missing command is reported, not thrown', async () => {
    const slow = await runHookCommand('on_nodedown', 'sleep 5', {}, 200);
    expect(slow.timedOut).toBe(true);
    expect(slow.signal).toBe('SIGTERM');
    const missing = await runHookCommand('on_nodedown', ['/nonexistent/hook'], {}, 1000);
    expect(missing.exitCode).toBeNull();
    expect(missing.output).toContain('cannot run /nonexistent/hook');
  });
});
