export type * from './transport.ts';
export type * from './api.ts';
export { KernelError, type KernelErrorCode } from './errors.ts';
export { createNodeTransport } from './node-transport.ts';
export { createNode } from './node.ts';
export { DEFAULTS, defaultSuites } from './options.ts';
export { LINK_SUITES } from '@distkit/wire';
export { EventChannel, type Subscription } from './event-channel.ts';
