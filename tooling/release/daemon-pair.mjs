// Two real distkitd processes from a global install, linked the way the daemon's README tells an
// operator to: start one, paste the command its banner prints to start a second that joins it,
// then ask each with `distkitd nodes --json` until it lists the other as connected.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CheckFailed, run } from './step-report.mjs';

/** Resolves with the banner's fields once `child` printed it on stderr; rejects on exit or deadline. */
function banner(child, what, deadlineMs) {
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new CheckFailed([`${what}: no ready banner within ${deadlineMs / 1000} s`], { output: err })), deadlineMs);
    child.stderr.on('data', (d) => {
      err += d;
      const lines = err.split('\n');
      const at = lines.findIndex((l) => l.startsWith('Start a second node'));
      if (at < 0 || lines.length <= at + 1 || !lines[at + 1].trim()) return;
      clearTimeout(timer);
      const field = (k) => lines.find((l) => l.startsWith(`  ${k} `))?.slice(k.length + 3).trim();
      resolve({ name: field('name'), control: field('control'), join: lines[at + 1].trim(), stderr: () => err });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new CheckFailed([`${what} exited (${code ?? signal}) before it was ready`], { output: err }));
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new CheckFailed([`${what} could not start: ${e.message}`], { output: err }));
    });
  });
}

function exitOf(child, deadlineMs) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('SIGKILL (did not stop on SIGTERM)');
    }, deadlineMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal);
    });
  });
}

/**
 * Starts distkitd from `prefix` (an `npm i -g --prefix` folder) twice and waits until both list
 * each other as connected; then stops both with SIGTERM, which must exit 0. `work` holds the
 * state folders. Returns the two names.
 */
export async function linkTwoDaemons({ prefix, work, env, log, deadlineMs = 30_000 }) {
  const bin = join(prefix, 'bin');
  const daemonEnv = { ...env, PATH: `${bin}:${env.PATH}`, HOME: work, DISTKIT_LOG_LEVEL: 'warn' };
  const first = join(work, 'alpha');
  mkdirSync(work, { recursive: true });
  const children = [];
  try {
    const a = spawn(join(bin, 'distkitd'), ['run', '--name', 'alpha', '--state-dir', first, '--listen', '127.0.0.1:0', '--control', '127.0.0.1:0'], { cwd: work, env: daemonEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(a);
    const alpha = await banner(a, `distkitd run --name alpha --state-dir ${first}`, deadlineMs);
    log(`  alpha ready: control ${alpha.control}; its banner says to start a second node with:\n    ${alpha.join}`);
    // The banner's own command, through a shell, as an operator would paste it.
    const b = spawn('/bin/sh', ['-c', `exec ${alpha.join}`], { cwd: work, env: daemonEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(b);
    const second = await banner(b, alpha.join, deadlineMs);
    const secondDir = /--state-dir ('[^']*'|\S+)/.exec(alpha.join)?.[1].replace(/^'|'$/g, '');
    log(`  ${second.name} ready: control ${second.control}`);

    const nodes = async (stateDir) => JSON.parse((await run(join(bin, 'distkitd'), ['nodes', '--json', '--state-dir', stateDir], { cwd: work, env: daemonEnv, pkg: '@distkit/daemon', log: () => {} })).stdout);
    const until = Date.now() + deadlineMs;
    let seen = { a: [], b: [] };
    for (;;) {
      seen = { a: await nodes(first), b: await nodes(secondDir) };
      const aSees = seen.a.some((n) => n.name === second.name && n.connected);
      const bSees = seen.b.some((n) => n.name === 'alpha' && n.connected);
      if (aSees && bSees) break;
      if (Date.now() > until) {
        throw new CheckFailed([`@distkit/daemon: the two daemons did not link within ${deadlineMs / 1000} s`, `alpha's nodes: ${JSON.stringify(seen.a)}`, `${second.name}'s nodes: ${JSON.stringify(seen.b)}`], {
          command: `distkitd nodes --json --state-dir ${first}`,
          output: `${alpha.stderr()}\n${second.stderr()}`,
        });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    log(`  $ distkitd nodes --json: alpha sees ${second.name} connected, ${second.name} sees alpha connected`);
    const codes = await Promise.all(children.map((c) => (c.kill('SIGTERM'), exitOf(c, 10_000))));
    if (codes.some((c) => c !== 0)) throw new CheckFailed([`@distkit/daemon: distkitd exited ${codes.join(' and ')} on SIGTERM (expected 0: graceful stop)`], { output: `${alpha.stderr()}\n${second.stderr()}` });
    log('  both stopped on SIGTERM, exit 0');
    return ['alpha', second.name];
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}
