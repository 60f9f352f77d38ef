import { describe } from 'vitest';
import { createNodeTransport } from './node-transport.ts';
import { transportCompliance } from './transport-compliance.test-support.ts';

// Real sockets on loopback (127.0.0.1), real clock.
describe('Node transport (real loopback sockets)', () => {
  transportCompliance({
    make: async () => ({
      a: createNodeTransport(),
      b: createNodeTransport(),
      hostA: '127.0.0.1',
      hostB: '127.0.0.1',
      settle: (ms) => new Promise((r) => setTimeout(r, ms)),
      dispose: async () => {},
    }),
  });
});
