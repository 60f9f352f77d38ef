// Prometheus metrics (prom-client). Totals the kernel already counts (links, heartbeats, drops,
// handshakes, messages) are read from node.stats() at scrape time; what only the event stream
// tells (verdict changes, decisions, nodedown reasons) is counted here as events arrive.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { KernelEvent, KernelStats, NodeInfo } from '@distkit/kernel';

export interface MetricsSource {
  stats(): KernelStats;
  info(): NodeInfo[];
}

export interface DaemonMetrics {
  readonly registry: Registry;
  /** Counts one kernel event. */
  observe(event: KernelEvent): void;
  /** The Prometheus text exposition. */
  render(): Promise<string>;
  readonly contentType: string;
}

const VERDICTS = ['up', 'down', 'partitioned', 'restarted', 'degraded', 'unknown'] as const;

export function createMetrics(source: MetricsSource, options: { readonly processMetrics?: boolean } = {}): DaemonMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });

  // A counter whose value the kernel owns: reset and set at every scrape.
  const mirrored = (name: string, help: string, labelNames: string[], read: (s: KernelStats) => Array<[Record<string, string>, number]>): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of read(source.stats())) if (value > 0) this.inc(labels, value);
      },
    });
  };

  new Gauge({
    name: 'distkit_links',
    help: 'Links (authenticated sessions) currently up',
    registers: [registry],
    collect() {
      this.set(source.stats().links);
    },
  });
  new Gauge({
    name: 'distkit_nodes',
    help: 'Known peers by current verdict',
    labelNames: ['verdict'],
    registers: [registry],
    collect() {
      const counts = new Map<string, number>(VERDICTS.map((v) => [v, 0]));
      for (const n of source.info()) counts.set(n.verdict, (counts.get(n.verdict) ?? 0) + 1);
      for (const [verdict, count] of counts) this.set({ verdict }, count);
    },
  });
  mirrored('distkit_heartbeats_sent_total', 'Heartbeat datagrams sent', [], (s) => [[{}, s.heartbeatsSent]]);
  mirrored('distkit_heartbeats_received_total', 'Heartbeat datagrams accepted', [], (s) => [[{}, s.heartbeatsReceived]]);
  mirrored('distkit_heartbeat_drops_total', 'Heartbeat datagrams dropped, by reason', ['reason'], (s) =>
    Object.entries(s.drops).map(([reason, n]) => [{ reason }, n]),
  );
  mirrored('distkit_handshakes_total', 'Handshakes, by outcome', ['outcome'], (s) => Object.entries(s.handshakes).map(([outcome, n]) => [{ outcome }, n]));
  mirrored('distkit_messages_sent_total', 'User messages sent', [], (s) => [[{}, s.messagesSent]]);
  mirrored('distkit_messages_received_total', 'User messages received', [], (s) => [[{}, s.messagesReceived]]);

  const verdicts = new Counter({ name: 'distkit_verdicts_total', help: 'Verdict changes, by new verdict', labelNames: ['verdict'], registers: [registry] });
  const decisions = new Counter({
    name: 'distkit_decisions_total',
    help: 'Partition resolutions, by decision and strategy',
    labelNames: ['decision', 'strategy'],
    registers: [registry],
  });
  const nodedowns = new Counter({ name: 'distkit_nodedown_total', help: 'Links lost, by reason', labelNames: ['reason'], registers: [registry] });
  const partitions = new Counter({ name: 'distkit_partitions_total', help: 'Partitions detected (peer alive but not linked)', registers: [registry] });

  return {
    registry,
    contentType: registry.contentType,
    observe(event) {
      switch (event.type) {
        case 'verdict':
          verdicts.inc({ verdict: event.verdict });
          break;
        case 'decision':
          decisions.inc({ decision: event.decision, strategy: event.strategy });
          break;
        case 'nodedown':
          nodedowns.inc({ reason: event.reason });
          break;
        case 'partition':
          partitions.inc();
          break;
        default:
          break;
      }
    },
    render: () => registry.metrics(),
  };
}
