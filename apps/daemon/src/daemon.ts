// One running distkitd: state folder, node, control API, metrics, hooks, DNS peers, reload and a
// graceful stop. The node comes from a `createNode` function (the kernel's, or a test's), so
// this file depends only on the kernel's contract.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { defaultSuites, type Address, type DistkitNode, type IncomingMessage, type KernelEvent, type KernelPolicyOptions, type NodeOptions, type PeerConfig } from '@distkit/kernel';
import { loadClusterKeyring, secretId } from './cluster-keyring.ts';
import type { DaemonConfig } from './config.ts';
import type { PeerSpec } from './config-schema.ts';
import { startControlApi, type ControlServer, type DaemonControl } from './control-api.ts';
import { DnsPeers } from './dns-peers.ts';
import { probeAddresses } from './address-probe.ts';
import { EventHub, kernelClock } from './event-hub.ts';
import { DaemonError } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import { Hooks } from './hooks.ts';
import { encodePublicKey, fingerprint, generateIdentity, parsePublicKey, type Identity } from './identity.ts';
import { selfCommand } from './invocation.ts';
import type { JoinedNode } from './joined-nodes.ts';
import { type Logger, viewForLog } from './log.ts';
import { Membership, type JoinResult } from './membership.ts';
import { createMetrics, type DaemonMetrics } from './metrics.ts';
import { checkState } from './preflight.ts';
import { selfIdentity } from './process-identity.ts';
import {
  acquireLock, bumpIncarnation, ensureStateDir, loadOrCreateToken, removeStaleTempFiles, statePaths, writeControlInfo, writeIdentity,
  type StatePaths,
} from './state.ts';
import { changeOverrides, effectiveTags, readTagOverrides, sameTags, tagProblem, type TagOverrides, type Tags, writeTagOverrides } from './tags.ts';
import { DaemonTrust, repairKnownNodes } from './trust.ts';

export type CreateNode = (options: NodeOptions) => DistkitNode;

export interface DaemonOptions {
  readonly config: DaemonConfig;
  readonly createNode: CreateNode;
  readonly log: Logger;
  /** Reads the configuration again (SIGHUP). */
  readonly reloadConfig?: () => Promise<DaemonConfig>;
  readonly version?: string;
  /**
   * Bind-test the link, heartbeat and control addresses before writing anything (`run` does;
   * in-process tests with a stand-in node do not bind the addresses they name).
   */
  readonly checkAddresses?: boolean;
  /** Extra facts for the unauthenticated /healthz (the watchdog's loop lag). Nothing secret. */
  readonly health?: () => Record<string, unknown>;
  /** argv that runs this distkitd again, for the join command in the banner (default: how this process was started). */
  readonly selfCommand?: readonly string[];
}

/** What the daemon prints when it is ready. */
export interface ReadyInfo {
  readonly name: string;
  readonly fingerprint: string;
  readonly publicKey: string;
  readonly incarnation: number;
  readonly listen: string;
  readonly control: string;
  readonly stateDir: string;
  /** The one command that starts a second node on this host and joins it to this one. */
  readonly join: string;
  readonly createdIdentity: boolean;
}

export class Daemon {
  readonly node: DistkitNode;
  readonly ready: ReadyInfo;
  /** Resolves with the exit code once the daemon has stopped. */
  readonly done: Promise<number>;
  readonly metrics: DaemonMetrics;
  readonly events: EventHub;

  #config: DaemonConfig;
  readonly #options: DaemonOptions;
  readonly #paths: StatePaths;
  readonly #control: ControlServer;
  readonly #hooks: Hooks;
  readonly #dns: DnsPeers | null;
  readonly #release: () => Promise<void>;
  readonly #trust: DaemonTrust;
  readonly #membership: Membership;
  /** Run-time tag changes (tags.json), and the tags in force. */
  #tagOverrides: TagOverrides;
  #tags: Tags;
  /** Ids of the cluster secrets in force, first first (never the secrets). */
  #secretIds: readonly string[];
  /** Changes of tags.json, one after the other. */
  #tagWrites: Promise<unknown> = Promise.resolve();
  readonly #streams: { events: AsyncIterable<KernelEvent>; messages: AsyncIterable<IncomingMessage> };
  #stopping: Promise<void> | null = null;
  #exiting = false;
  #resolveDone!: (code: number) => void;

  private constructor(parts: {
    options: DaemonOptions;
    node: DistkitNode;
    streams: { events: AsyncIterable<KernelEvent>; messages: AsyncIterable<IncomingMessage> };
    paths: StatePaths;
    control: ControlServer;
    metrics: DaemonMetrics;
    events: EventHub;
    hooks: Hooks;
    dns: DnsPeers | null;
    release: () => Promise<void>;
    trust: DaemonTrust;
    membership: Membership;
    tagOverrides: TagOverrides;
    tags: Tags;
    secretIds: readonly string[];
    ready: ReadyInfo;
  }) {
    this.#options = parts.options;
    this.#config = parts.options.config;
    this.node = parts.node;
    this.#streams = parts.streams;
    this.#paths = parts.paths;
    this.#control = parts.control;
    this.metrics = parts.metrics;
    this.events = parts.events;
    this.#hooks = parts.hooks;
    this.#dns = parts.dns;
    this.#release = parts.release;
    this.#trust = parts.trust;
    this.#membership = parts.membership;
    this.#tagOverrides = parts.tagOverrides;
    this.#tags = parts.tags;
    this.#secretIds = parts.secretIds;
    this.ready = parts.ready;
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /**
   * Checks every file first (preflight.ts: nothing is written when one is missing, unreadable,
   * too open or malformed), then takes the state folder, creates what a first start creates,
   * moves the incarnation and starts the node, the control API and discovery.
   */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const { config, log } = options;
    const checked = await checkState(config);
    if (options.checkAddresses === true) {
      await probeAddresses({ listen: config.listen, heartbeatListen: config.heartbeatListen, control: config.control.listen });
    }
    await ensureStateDir(config.stateDir);
    const paths = statePaths(config.stateDir);
    const release = await acquireLock(paths);
    const cleanup: Array<() => Promise<void>> = [release];
    try {
      const removed = await removeStaleTempFiles(paths.dir);
      if (removed.length > 0) log.info({ files: removed }, 'removed temp files left by an earlier crash');
      const repaired = await repairKnownNodes(paths.knownNodes);
      if (repaired === 'torn-line-removed') log.warn({ path: paths.knownNodes }, 'removed a torn last line from known_nodes (a crash while a key was being saved)');
      // The incarnation moves first: a crash before the identity is written then leaves a first
      // start that can be repeated, never an identity without its incarnation.
      const incarnation = await bumpIncarnation(paths);
      let identity = checked.identity;
      const created = identity === null;
      if (identity === null) {
        identity = generateIdentity();
        await writeIdentity(paths.identityKey, paths.identityPub, identity);
        log.info({ path: paths.identityKey, fingerprint: fingerprint(identity.publicKey) }, 'generated a new identity');
      }
      const token = checked.token ?? (await loadOrCreateToken(config.control.tokenFile ?? paths.token));
      const trust = await DaemonTrust.load(paths, config.trust.mode);
      const clusterSecrets = checked.clusterSecrets ?? undefined;
      const name = config.name ?? defaultName(identity);
      // Checked by checkState (at most 32 with the run-time changes).
      const tags = effectiveTags(config.tags, checked.tagOverrides);
      const joined = checked.joined.filter((j) => !config.peers.some((p) => p.name === j.name));
      let daemon: Daemon | undefined;
      // The control API listens before the Daemon object exists; a request in that instant waits for nothing.
      const ready = (): Daemon => {
        if (daemon === undefined) throw new DaemonError('INTERNAL', 'distkitd is still starting');
        return daemon;
      };

      const node = options.createNode({
        name,
        cluster: config.cluster,
        identity,
        incarnation,
        listen: config.listen,
        ...(config.heartbeatListen ? { heartbeatListen: config.heartbeatListen } : {}),
        peers: [...config.peers.map((p) => peerConfig(p, trust)), ...joined.map((j) => joinedPeerConfig(j, trust))],
        // allow/deny are the kernel's policy: a refused node never gets nodeup, on either side.
        policy: accessPolicy(config, name),
        trust: {
          store: trust.store,
          // The kernel reports the link up only once known_nodes holds the key (appended and
          // fsynced): whoever sees the nodeup, here or on the peer, can rely on it surviving a crash.
          onLearned: async (peer, publicKey) => {
            const fp = fingerprint(publicKey);
            log.info({ node: peer, fingerprint: fp }, 'learned a new node key (trust on first use)');
            await trust.persistLearned(peer, publicKey).catch((err: unknown) => {
              log.error({ err: (err as Error).message, node: peer }, 'cannot save known_nodes: the link is refused');
              throw err;
            });
            log.info({ node: peer, fingerprint: fp }, 'saved the learned key to known_nodes');
          },
        },
        ...(clusterSecrets ? { clusterSecrets } : {}),
        ...(config.suites !== null ? { suites: config.suites } : {}),
        autoConnect: config.autoConnect,
        reconnect: config.reconnect,
        tags,
        hidden: config.hidden,
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        tickTimeMs: config.tickTimeMs,
        setupTimeMs: config.setupTimeMs,
        strategy: config.strategy,
        ...(config.referee !== null ? { referee: config.referee } : {}),
        ...(config.quorum !== null ? { quorum: config.quorum } : {}),
        ...(Object.keys(config.detector).length > 0 ? { detector: config.detector } : {}),
      });
      // Subscribed before start: links made while starting (connect at start) are events too.
      const streams = { events: node.events(), messages: node.messages() };
      await node.start();
      cleanup.unshift(() => node.stop());

      const events = new EventHub(kernelClock());
      const metrics = createMetrics(node);
      const startedAt = Date.now();
      const membership = new Membership({
        node,
        path: paths.joinedNodes,
        log,
        joined,
        inConfig: (peer) => ready().#config.peers.some((p) => p.name === peer),
        peerConfig: (entry) => joinedPeerConfig(entry, trust),
        modeOf: () => ready().#config.autoConnect,
        connectTimeoutMs: config.setupTimeMs + 3000,
      });
      cleanup.unshift(async () => membership.close());
      const control_: DaemonControl = {
        join: (address, opts) => ready().#join(address, opts),
        leave: () => ready().leave(),
        forceLeave: (peer) => membership.forceLeave(peer),
        changeTags: (change) => ready().#changeTags(change),
      };
      const control = await startControlApi({
        node,
        token,
        listen: config.control.listen,
        allowRemote: config.control.allowRemote,
        ui: config.control.ui,
        metrics,
        events,
        log,
        daemon: control_,
        // The kernel's dial and handshake deadline is setup_time; past it and a margin, no answer is an answer.
        connectTimeoutMs: config.setupTimeMs + 3000,
        ...(options.health ? { health: options.health } : {}),
        status: () => ({
          cluster: config.cluster,
          tags: daemon === undefined ? tags : daemon.#tags,
          clusterSecrets: daemon === undefined ? [] : daemon.#secretIds,
          autoConnect: (daemon === undefined ? config : daemon.#config).autoConnect,
          reconnect: (daemon === undefined ? config : daemon.#config).reconnect,
          pid: process.pid,
          version: options.version ?? null,
          startedAt: new Date(startedAt).toISOString(),
          uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
          stateDir: config.stateDir,
          // Noise suites accepted, in order of preference (what a link this node dials proposes first).
          suites: config.suites ?? defaultSuites(),
        }),
      });
      cleanup.unshift(() => control.close());
      await writeControlInfo(paths, { url: control.url, pid: process.pid, startTime: selfIdentity().startTime, name, clusterSecretFile: config.clusterSecretFile });

      const hooks = new Hooks(config.hooks, { name, cluster: config.cluster, incarnation }, log, config.stateDir);
      const dns =
        config.dns === null
          ? null
          : new DnsPeers({
              ...config.dns,
              log,
              exclude: (p) => p.name === name || (sameAddress(p.address, node.address) && isSelfHost(p.address.host)),
              onChange: (upserted, removed) => daemon && daemon.#applyDiscovered(upserted, removed),
            });

      const readyInfo: ReadyInfo = {
        name,
        fingerprint: node.fingerprint,
        publicKey: encodePublicKey(identity.publicKey),
        incarnation,
        listen: `${node.address.host}:${node.address.port}`,
        control: control.url,
        stateDir: config.stateDir,
        join: joinCommand(options.selfCommand ?? selfCommand(), config, name, node, identity),
        createdIdentity: created,
      };
      daemon = new Daemon({
        options, node, streams, paths, control, metrics, events, hooks, dns, release, trust, membership,
        tagOverrides: checked.tagOverrides, tags, secretIds: (clusterSecrets ?? []).map(secretId), ready: readyInfo,
      });
      daemon.#pump();
      if (dns) await dns.start();
      return daemon;
    } catch (err) {
      for (const undo of cleanup) await undo().catch(() => {});
      throw err;
    }
  }

  /** A fresh one-time login URL for the cluster page (the banner prints one), or null when none is served. */
  uiLoginUrl(): string | null {
    return this.#control.loginUrl();
  }

  /** Graceful stop: discovery and control API closed, links closed with reason `shutdown`. */
  stop(code: number = EXIT.OK): Promise<void> {
    this.#stopping ??= (async () => {
      this.#options.log.info({ code }, 'stopping');
      this.#dns?.stop();
      this.#membership.close();
      await this.#control.close().catch(() => {});
      await this.node.stop().catch((err: unknown) => this.#options.log.error({ err }, 'node stop failed'));
      await Promise.race([this.#hooks.settle(), new Promise((r) => setTimeout(r, this.#config.hooks.timeoutMs).unref())]);
      await this.#release();
      this.#options.log.info({ code }, 'stopped');
      this.#resolveDone(code);
    })();
    return this.#stopping;
  }

  /**
   * `distkitd leave`: this node leaves the cluster on purpose. It forgets its joined peers (a later
   * start links only the config's peers), every peer is told (`deliberate: 'leave'`: no partition
   * and no decision anywhere), the node stops, and then the daemon stops with exit 0.
   */
  async leave(): Promise<void> {
    const log = this.#options.log;
    log.warn({ peers: this.node.nodes({ hidden: true }) }, 'leaving the cluster: telling every peer, then stopping');
    await this.#membership.forgetAll().catch((err: unknown) => log.error({ err: (err as Error).message }, 'cannot clear joined_nodes'));
    await this.node.leave();
    log.info('left the cluster');
    void this.stop(EXIT.OK);
  }

  #join(address: Address, options: Parameters<Membership['join']>[1]): Promise<JoinResult> {
    return this.#membership.join(address, options);
  }

  /** `distkitd tags set|reset`: saved in tags.json first, then told to the kernel (and so to every linked peer). */
  #changeTags(change: { readonly set?: Tags; readonly remove?: readonly string[]; readonly reset?: boolean }): Promise<Tags> {
    const run = this.#tagWrites.then(async () => {
      const next = changeOverrides(this.#tagOverrides, change, this.#config.tags);
      await writeTagOverrides(this.#paths.tags, next);
      this.#tagOverrides = next;
      this.#applyTags();
      return this.#tags;
    });
    this.#tagWrites = run.catch(() => {});
    return run;
  }

  #applyTags(): void {
    const tags = effectiveTags(this.#config.tags, this.#tagOverrides);
    if (sameTags(tags, this.#tags)) return;
    this.node.setTags(tags);
    this.#tags = tags;
    this.#options.log.info({ tags }, 'tags changed');
  }

  /**
   * SIGHUP: re-reads the config, trust files and allow/deny lists, and hands them to the kernel,
   * which closes only the links they no longer allow; good links stay up. A bad config is logged
   * and ignored.
   */
  async reload(): Promise<void> {
    const log = this.#options.log;
    try {
      // Everything is read first: a bad file changes nothing.
      const config = this.#options.reloadConfig ? await this.#options.reloadConfig() : this.#config;
      const secrets = config.clusterSecretFile === null ? [] : await loadClusterKeyring(config.clusterSecretFile, 'cluster_secret_file');
      const overrides = await readTagOverrides(this.#paths.tags);
      const tooMany = tagProblem(null, effectiveTags(config.tags, overrides));
      if (tooMany !== null) throw new DaemonError('CONFIG_INVALID', `tags: ${tooMany}`);
      await this.#trust.reload(config.trust.mode);
      const trust = this.#trust;
      const previous = this.#config;
      this.#config = config;
      log.level = config.log.level;
      this.node.setTrust(trust.store);
      this.node.setClusterSecrets(secrets);
      this.#secretIds = secrets.map(secretId);
      this.node.configure({ autoConnect: config.autoConnect, reconnect: config.reconnect, policy: accessPolicy(config, this.node.name) });
      this.#tagOverrides = overrides;
      this.#applyTags();
      // The peers follow the file; joined peers stay (joined_nodes is theirs).
      const wanted = new Map(config.peers.map((p) => [p.name, p]));
      for (const p of previous.peers) if (!wanted.has(p.name) && !this.#membership.has(p.name)) this.node.removePeer(p.name);
      for (const p of wanted.values()) this.node.addPeer(peerConfig(p, trust));
      for (const j of this.#membership.entries()) if (!wanted.has(j.name)) this.node.addPeer(joinedPeerConfig(j, trust));
      if (config.control.listen !== previous.control.listen && JSON.stringify(config.control.listen) !== JSON.stringify(previous.control.listen)) {
        log.warn('control.listen changed: takes effect at the next start');
      }
      const { authorized, known } = trust.entries();
      log.info(
        { authorized: authorized.length, known: known.length, allow: config.trust.allow, deny: config.trust.deny, clusterSecrets: this.#secretIds, tags: this.#tags },
        'reloaded',
      );
    } catch (err) {
      log.error({ err: (err as Error).message }, 'reload failed; keeping the running configuration');
    }
  }

  #applyDiscovered(upserted: readonly PeerConfig[], removed: readonly string[]): void {
    const fixed = new Set([...this.#config.peers.map((p) => p.name), ...this.#membership.entries().map((j) => j.name)]);
    for (const name of removed) if (!fixed.has(name)) this.node.removePeer(name);
    for (const peer of upserted) {
      if (fixed.has(peer.name)) continue;
      const pinned = this.#trust.entries().authorized.find((e) => e.name === peer.name && !e.options['revoked']);
      this.node.addPeer(pinned ? { ...peer, publicKey: pinned.key, autoConnect: this.#config.autoConnect } : peer);
    }
  }

  /** Reads the node's events and messages once; fans them out to logs, metrics, hooks, clients. */
  #pump(): void {
    const log = this.#options.log;
    void (async () => {
      for await (const raw of this.#streams.events) {
        const event = this.events.fromKernel(raw);
        this.events.publish(event);
        this.metrics.observe(event);
        logEvent(log, event);
        this.#membership.observe(event);
        void this.#hooks.handle(event).then(async (action) => {
          if (action !== 'exit' || this.#exiting) return;
          this.#exiting = true;
          const delayMs = this.#config.hooks.restartDelayMs;
          log.warn({ node: (event as { node?: string }).node, code: EXIT.RESTART, delayMs }, 'partition resolved against this node: exiting for the supervisor to restart it');
          // Keep heartbeating a little longer, so the other side sees the same partition and
          // reaches its own (matching) decision before this node disappears.
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          await this.stop(EXIT.RESTART);
        });
      }
    })().catch((err: unknown) => log.error({ err }, 'event stream failed'));
    void (async () => {
      for await (const message of this.#streams.messages) {
        this.events.publish({ type: 'message', from: message.from, value: message.value, at: Date.now() });
        log.debug({ from: message.from }, 'message received');
      }
    })().catch((err: unknown) => log.error({ err }, 'message stream failed'));
  }
}

function logEvent(log: Logger, event: KernelEvent): void {
  const { type, ...rest } = event;
  const fields = event.type === 'decision' ? { ...rest, mine: viewForLog(event.mine), theirs: viewForLog(event.theirs) } : rest;
  // What an operator must look at is a warning; the rest of the life of links is info.
  const level = type === 'decision' || type === 'partition' || type === 'key-changed' || type === 'message-lost' ? 'warn' : 'info';
  log[level]({ event: type, ...fields }, type);
}

/**
 * trust.allow / trust.deny as the kernel's policy lists (names or glob patterns). The daemon's
 * empty allow list means "everyone"; the policy's is "nobody", so it becomes null. A name in both
 * is denied (deny wins), and this node's own name is no peer to list.
 */
function accessPolicy(config: DaemonConfig, self: string): KernelPolicyOptions {
  const deny = config.trust.deny.filter((n) => n !== self);
  const allow = config.trust.allow.filter((n) => n !== self && !deny.includes(n));
  return { allow: config.trust.allow.length > 0 ? allow : null, deny };
}

/** A configured peer; its key is pinned from the config, else from authorized_nodes. */
function peerConfig(spec: PeerSpec, trust: DaemonTrust): PeerConfig {
  const pinned =
    spec.publicKey !== null
      ? parsePublicKey(spec.publicKey, `public key of peer ${spec.name}`)
      : trust.entries().authorized.find((e) => e.name === spec.name && !e.options['revoked'])?.key;
  return {
    name: spec.name,
    address: spec.address,
    ...(spec.heartbeat ? { heartbeat: spec.heartbeat } : {}),
    ...(pinned ? { publicKey: pinned } : {}),
    ...(spec.autoConnect ? { autoConnect: spec.autoConnect } : {}),
    ...(spec.reconnect ? { reconnect: spec.reconnect } : {}),
  };
}

/** A peer `distkitd join` added: its key pinned by `join --key`, else by authorized_nodes. */
function joinedPeerConfig(entry: JoinedNode, trust: DaemonTrust): PeerConfig {
  const pinned = entry.publicKey ?? trust.entries().authorized.find((e) => e.name === entry.name && !e.options['revoked'])?.key;
  return { name: entry.name, address: entry.address, ...(pinned ? { publicKey: pinned } : {}) };
}

/** `node-<8 hex of SHA-256(public key)>@<host>`: stable for one identity, distinct per state folder. */
export function defaultName(identity: Identity): string {
  const id = createHash('sha256').update(identity.publicKey).digest('hex').slice(0, 8);
  const host = (hostname().split('.')[0] ?? '').replace(/[^A-Za-z0-9-]/g, '') || 'localhost';
  return `node-${id}@${host}`;
}

function sameAddress(a: { host: string; port: number }, b: { host: string; port: number }): boolean {
  return a.host === b.host && a.port === b.port;
}

function isSelfHost(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === '0.0.0.0' || host === '::';
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function joinCommand(self: readonly string[], config: DaemonConfig, name: string, node: DistkitNode, identity: Identity): string {
  const host = ['0.0.0.0', '::'].includes(node.address.host) ? hostname() : node.address.host;
  const hostPort = host.includes(':') ? `[${host}]:${node.address.port}` : `${host}:${node.address.port}`;
  const local = isSelfHost(host);
  // The second node makes the same choice as this one about strangers on a reachable address.
  const env = !local && config.clusterSecretFile === null && config.trust.allowStrangers ? ['DISTKIT_TRUST_ALLOW_STRANGERS=true'] : [];
  const args = [...env, ...self, 'run', '--state-dir', `${config.stateDir}-2`, '--listen', `${local ? host : '0.0.0.0'}:0`, '--control', '127.0.0.1:0'];
  if (config.cluster !== 'distkit') args.push('--cluster', config.cluster);
  if (config.clusterSecretFile !== null) args.push('--cluster-secret-file', config.clusterSecretFile);
  args.push('--peer', `${name}=${hostPort}#${encodePublicKey(identity.publicKey)}`);
  return args.map(shellQuote).join(' ');
}
