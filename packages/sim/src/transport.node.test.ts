import { describe } from 'vitest';
// The compliance suite every Transport runs lives with the kernel, which relies on it.
import { transportCompliance } from '../../kernel/src/transport-compliance.test-support.ts';
import { createSimNetwork } from './network.ts';

// The simulator's channels pass the same compliance tests as the Node sockets, so the kernel can
// run on either unchanged. A pump advances virtual time one millisecond per macrotask, so the
// tests' awaits (connect, listen) settle as they would on a real network.
describe('simulator transport (virtual time)', () => {
  transportCompliance({
    make: async () => {
      const net = createSimNetwork({ seed: 42, delay: 1 });
      const a = net.host('alpha');
      const b = net.host('beta');
      let alive = true;
      void (async () => {
        while (alive) await net.run(a.now() + 1);
      })();
      return {
        a, b, hostA: 'alpha', hostB: 'beta',
        settle: async (ms) => {
          const until = a.now() + ms;
          while (a.now() < until) await new Promise((r) => setTimeout(r, 0));
        },
        dispose: async () => {
          alive = false;
        },
      };
    },
  });
});
