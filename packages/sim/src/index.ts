export { createRandom, fnv1a } from './random.ts';
export { EventQueue } from './queue.ts';
export {
  createSimNetwork, type Address, type CrashOptions as HostCrashOptions, type DatagramSocket, type DelaySpec, type NetworkStats,
  type PartitionOptions, type SimNetwork, type SimNetworkOptions, type SimTransport, type Stream, type StreamHandlers,
  type StreamListener, type TimerHandle,
} from './network.ts';
export { SIM_PORT, createKernelCluster, simIdentity, type KernelCluster, type KernelClusterOptions } from './kernel-cluster.ts';
export * from './scenarios.ts';
