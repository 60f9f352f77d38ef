// Test support for the differential test against real OTP (otp-differential.node.test.ts): one
// node of either system (an `erl` node or a distkit kernel), each in its own OS process, driven
// by commands on its stdin and answering with JSON lines on its stdout. Both drivers hand the
// scenarios this same shape, so every scenario is written once and run against both systems.
import { type ChildProcess, spawn } from 'node:child_process';
import { freePortIn } from '../../../tooling/test-support/free-port.ts';

export type Mode = 'always' | 'once' | 'never';

/**
 * The message semantics both systems are measured by: a "send" is a request to the peer's
 * controller, answered by a reply. `ok`: the request reached the peer and its reply came back
 * within the timeout. `timeout`: no reply within the timeout, whatever the cause: OTP drops a
 * message it may not auto-connect for (silently), distkit rejects the send (e.g.
 * AUTO_CONNECT_REFUSED, kept as `detail`) or the message never arrives.
 */
export type SendResult = 'ok' | 'timeout';

export interface NodeLists {
  /** OTP's nodes() / distkit's nodes(): visible links. */
  readonly visible: readonly string[];
  /** OTP's nodes(hidden). */
  readonly hidden: readonly string[];
  /** OTP's nodes(connected): visible and hidden. */
  readonly connected: readonly string[];
}

/** A net_kernel:monitor_nodes(true, [nodedown_reason, {node_type, all}]) event, or distkit's. */
export interface LinkEvent {
  readonly event: 'nodeup' | 'nodedown';
  /** The peer's short name (`b`, never `b@127.0.0.1`). */
  readonly node: string;
  readonly reason?: string;
  /** When the line reached the test process (performance.now()), the same clock for both systems. */
  readonly at: number;
}

export interface NodeSpec {
  readonly mode?: Mode;
  readonly hidden?: boolean;
}

/** One node of either system, as the scenarios drive it. Names are short (`a`, `b`, `h`). */
export interface ControlledNode {
  readonly name: string;
  connect(to: string): Promise<boolean>;
  /** false when there was no link to drop (OTP's disconnect_node/1). */
  disconnect(to: string): Promise<boolean>;
  send(to: string, timeoutMs: number): Promise<{ result: SendResult; detail?: string }>;
  nodes(): Promise<NodeLists>;
  /** Every nodeup/nodedown seen so far, in order. */
  readonly events: readonly LinkEvent[];
  /** The first event (seen or still to come) matching, or an error past `ms`. */
  waitEvent(what: string, match: (e: LinkEvent) => boolean, ms?: number): Promise<LinkEvent>;
  /** kill -9, SIGSTOP, SIGCONT: the same signal to an `erl` node as to a distkit process. */
  signal(signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): void;
  /** Graceful stop (OTP's init:stop(), distkit's node.stop()); resolves when the process has exited. */
  stop(): Promise<void>;
}

/** One system under test: starts named nodes, and can cut the network between routed nodes. */
export interface System {
  readonly kind: 'otp' | 'distkit';
  /** e.g. `OTP 25.2.3`, known once a node has started. */
  readonly version: string;
  start(name: string, spec?: NodeSpec): Promise<ControlledNode>;
  /** Drops all traffic between the groups (connections stay open, like a pulled cable). */
  stall(groupA: string[], groupB: string[]): void;
  heal(): void;
  /**
   * What the system reported beyond OTP's vocabulary (distkit's partition and decision events),
   * shown in the table next to the row and never compared: OTP has no counterpart.
   */
  notes(): string[];
  /** Stops every node and helper process this system started; safe to call twice. */
  close(): Promise<void>;
}

export type Line = Record<string, unknown>;

const spawned = new Set<number>();
const REQUEST_TIMEOUT_MS = 30_000;

/** Records a process this harness started (an erl node, a distkit process, an epmd). */
export function trackProcess(pid: number | undefined): void {
  if (pid !== undefined) spawned.add(pid);
}

/** The processes this harness started that are still alive: none, once every system is closed. */
export function livingProcesses(): number[] {
  return [...spawned].filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * A child process speaking the controllers' protocol: commands written with `encode`, answers
 * `{"id":N,"result":R}`, events `{"event":...}`. Every wait has a deadline; a process that exits
 * fails what is pending at once instead of leaving it to time out.
 */
export class LineProcess {
  readonly child: ChildProcess;
  readonly lines: Line[] = [];
  readonly events: LinkEvent[] = [];
  readonly exited: Promise<number | null>;
  #stderr = '';
  #buffer = '';
  #nextId = 1;
  #done = false;
  readonly #pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  readonly #waiters = new Set<() => void>();

  constructor(
    readonly label: string,
    command: string,
    args: readonly string[],
    options: { env: Record<string, string>; cwd?: string },
    readonly encode: (id: number, command: string, args: readonly unknown[]) => string,
    readonly shortName: (node: string) => string,
  ) {
    this.child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    trackProcess(this.child.pid);
    this.child.stdin!.on('error', () => {}); // a killed child closes its stdin under us
    this.child.stdout!.on('data', (chunk: Buffer) => this.#onData(chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.#stderr += chunk.toString()));
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.#done = true;
        for (const p of this.#pending.values()) p.reject(new Error(`${label} exited (${code ?? signal}) before answering${this.describe()}`));
        this.#pending.clear();
        for (const w of this.#waiters) w();
        resolve(code);
      });
      this.child.on('error', (err) => {
        this.#stderr += `spawn failed: ${err.message}\n`;
      });
    });
  }

  get done(): boolean {
    return this.#done;
  }

  #onData(text: string): void {
    const at = performance.now();
    this.#buffer += text;
    for (let nl = this.#buffer.indexOf('\n'); nl >= 0; nl = this.#buffer.indexOf('\n')) {
      const raw = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        line = { text: raw };
      }
      this.lines.push(line);
      if (typeof line['id'] === 'number' && 'result' in line) {
        const p = this.#pending.get(line['id']);
        this.#pending.delete(line['id']);
        const result = line['result'] as unknown;
        if (result !== null && typeof result === 'object' && 'error' in result) {
          p?.reject(new Error(`${this.label}: ${String((result as { error: unknown }).error)}`));
        } else p?.resolve(result);
      } else if (line['event'] === 'nodeup' || line['event'] === 'nodedown') {
        this.events.push({
          event: line['event'],
          node: this.shortName(String(line['node'])),
          ...(typeof line['reason'] === 'string' ? { reason: line['reason'] } : {}),
          at,
        });
      }
    }
    for (const w of this.#waiters) w();
  }

  describe(): string {
    return `\n--- ${this.label} stdout:\n${this.lines.map((l) => JSON.stringify(l)).join('\n')}\n--- stderr:\n${this.#stderr}`;
  }

  /** A command and its answer; no answer within 30 s (a hung controller) is an error, not a hang. */
  request<T>(command: string, ...args: unknown[]): Promise<T> {
    if (this.#done) return Promise.reject(new Error(`${this.label} is not running${this.describe()}`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.label}: no answer to ${command} within ${REQUEST_TIMEOUT_MS} ms${this.describe()}`));
      }, REQUEST_TIMEOUT_MS);
      const settle = <V>(f: (v: V) => void) => (v: V) => {
        clearTimeout(timer);
        f(v);
      };
      this.#pending.set(id, { resolve: settle(resolve as (r: unknown) => void), reject: settle(reject) });
      this.child.stdin!.write(`${this.encode(id, command, args)}\n`);
    });
  }

  /** Writes a raw line (the distkit process reads its configuration this way). */
  write(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  until<T>(what: string, found: () => T | undefined, ms = 20_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const value = found();
        if (value === undefined && !this.#done) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        if (value !== undefined) resolve(value);
        else reject(new Error(`${this.label} exited before ${what}${this.describe()}`));
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`${this.label}: timed out after ${ms} ms waiting for ${what}${this.describe()}`));
      }, ms);
      this.#waiters.add(check);
      check();
    });
  }

  waitEvent(what: string, match: (e: LinkEvent) => boolean, ms = 20_000): Promise<LinkEvent> {
    return this.until(what, () => this.events.find(match), ms);
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.#done) this.child.kill(signal);
  }

  /** SIGKILL (after SIGCONT, for a frozen process) unless it has exited; resolves on exit. */
  async kill(): Promise<void> {
    if (this.#done) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/**
 * Ports handed out by freePort: below Linux's ephemeral range (32768-60999 by default), which the
 * kernel draws from for every outgoing connection. A port asked of the kernel (listen on 0) lies in
 * that range, so between its release and the caller's bind any connect on the box, another test
 * run's included, could take it (seen as EADDRINUSE while two runs shared a machine). A random
 * port under the range is taken only by something that binds it on purpose; the range starts above
 * the ones portBase (cluster.test-support.ts) gives test files (20000 + 100 per file).
 */
const FREE_PORTS = { from: 27_500, to: 32_700 } as const;

/**
 * A port free on 127.0.0.1 for TCP (and UDP too when asked: a distkit node takes both on one
 * port), checked and released for the caller to bind; drawn at random from FREE_PORTS, never
 * twice in one file, from this vitest worker's share of it (tooling/test-support/free-port.ts).
 */
export function freePort(options: { udp?: boolean } = {}): Promise<number> {
  return freePortIn(FREE_PORTS, options);
}
