// Exit codes follow BSD sysexits.h where one fits, so supervisors and scripts can tell causes
// apart. systemd's Restart=on-failure restarts on every non-zero code; the unit in contrib/ also
// lists RESTART in RestartForceExitStatus so it restarts even under Restart=on-abnormal.
export const EXIT: {
  readonly OK: 0;
  readonly FAILURE: 1;
  readonly UNAVAILABLE: 69;
  readonly CANTCREAT: 73;
  readonly RESTART: 75;
  readonly NOPERM: 77;
  readonly CONFIG: 78;
} = Object.freeze({
  OK: 0,
  /** Anything unexpected. */
  FAILURE: 1,
  /** EX_UNAVAILABLE: a client command could not reach the control API. */
  UNAVAILABLE: 69,
  /** EX_CANTCREAT: another distkitd holds the state folder, or keygen would overwrite a key. */
  CANTCREAT: 73,
  /** EX_TEMPFAIL: the partition resolver decided this node must restart ("try again"). */
  RESTART: 75,
  /** EX_NOPERM: the identity key or token file is readable by group or others. */
  NOPERM: 77,
  /** EX_CONFIG: a bad config file, environment variable or flag. Nothing was changed on disk. */
  CONFIG: 78,
});
