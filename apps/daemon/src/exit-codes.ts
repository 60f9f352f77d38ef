// Exit codes follow BSD sysexits.h where one fits, so supervisors and scripts can tell causes
// apart, and each code means one thing. systemd's Restart=on-failure restarts on every non-zero
// code; the unit in contrib/ also lists RESTART in RestartForceExitStatus so it restarts even under
// Restart=on-abnormal, and lists CONFIG, DATAERR and NOPERM in RestartPreventExitStatus: a restart
// cannot fix those, a person must.
export const EXIT: {
  readonly OK: 0;
  readonly REFUSED: 1;
  readonly DATAERR: 65;
  readonly UNAVAILABLE: 69;
  readonly SOFTWARE: 70;
  readonly OSERR: 71;
  readonly CANTCREAT: 73;
  readonly IOERR: 74;
  readonly RESTART: 75;
  readonly NOPERM: 77;
  readonly CONFIG: 78;
} = Object.freeze({
  OK: 0,
  /** A request refused: by the daemon (its reason is printed), `trust remove` found nothing to remove, `secret use|remove` no such id or the one in use. */
  REFUSED: 1,
  /** EX_DATAERR: a key, trust or state file does not parse (or the state folder is inconsistent). */
  DATAERR: 65,
  /** EX_UNAVAILABLE: a client command found no running daemon for its state folder. */
  UNAVAILABLE: 69,
  /** EX_SOFTWARE: an unexpected internal error (a bug: please report it). */
  SOFTWARE: 70,
  /** EX_OSERR: an address cannot be bound (in use, not on this host, not permitted). */
  OSERR: 71,
  /** EX_CANTCREAT: another distkitd holds the state folder, or a key/secret file would be overwritten. */
  CANTCREAT: 73,
  /** EX_IOERR: the state folder cannot be read or written (permissions, disk full, read-only). */
  IOERR: 74,
  /** EX_TEMPFAIL: the partition resolver decided this node must restart ("try again"). */
  RESTART: 75,
  /** EX_NOPERM: a key, token or cluster secret file is readable by group or others. */
  NOPERM: 77,
  /** EX_CONFIG: a bad config file, variable or flag, or a file it names is missing or unreadable. */
  CONFIG: 78,
});

/**
 * The watchdog does not exit with a code: a wedged main thread cannot run an exit. It sends the
 * process SIGABRT (as systemd's WatchdogSec= does), which a shell reports as 134.
 */
export const WATCHDOG_SIGNAL = 'SIGABRT' as const;

/** The table printed by --help and kept in step with the README. */
export const EXIT_CODES_HELP = `Exit codes (each means one thing):
  0    success (run: stopped by SIGTERM/SIGINT)
  1    refused: the daemon refused a client request (its reason is printed), trust remove
       found nothing to remove, or secret use|remove found no such id or the secret in use
  65   a key, trust or state file does not parse (e.g. a corrupt identity.key, a missing incarnation)
  69   a client command: no distkitd is running for the state folder (or it cannot be reached)
  70   an unexpected internal error (a bug)
  71   run: an address cannot be bound (in use, not on this host)
  73   the state folder is used by another distkitd, or a key or secret file would be overwritten
  74   the state folder cannot be read or written (permissions, disk full)
  75   run: the partition resolver decided this node must restart (after the on_restart hook)
  77   a key, token or cluster secret file is readable by group or others
  78   bad config file, DISTKIT_* variable or flag, or a file it names is missing or unreadable;
       nothing was changed on disk
  134  run: killed by its watchdog (SIGABRT) because the event loop stalled past watchdog.timeout`;
