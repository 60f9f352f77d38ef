// Preloaded (node --import) into a real distkitd by watchdog.test.ts. On SIGUSR2 the main thread
// wedges for good: DISTKIT_TEST_WEDGE=native blocks it inside native code (Atomics.wait on a
// value nobody changes, as a deadlocked mutex in a native call would), =busy spins in JavaScript.
// Nothing else of the daemon is changed. Plain .mjs so it loads with or without tsx.
process.on('SIGUSR2', () => {
  if (process.env.DISTKIT_TEST_WEDGE === 'busy') {
    for (;;) {
      // Spin.
    }
  }
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});
