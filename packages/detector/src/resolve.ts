import type { ViewSummary } from '@distkit/wire';
import { compareAge, compareIds } from './view.ts';

/** "Who restarts" strategies; the names are Akka's split-brain-resolver ones, plus `manual`. */
export type StrategyName = 'keep-majority' | 'keep-oldest' | 'static-quorum' | 'keep-referee' | 'down-all' | 'manual';

export const STRATEGIES: readonly StrategyName[] = ['keep-majority', 'keep-oldest', 'static-quorum', 'keep-referee', 'down-all', 'manual'];

export type Decision = 'stay' | 'restart';

export interface ResolutionRule {
  readonly strategy: StrategyName;
  /** Required by `static-quorum`: the side with at least this many nodes (itself included) stays. */
  readonly quorum?: number;
}

/** Nodes on a side: the links the sender holds plus itself. */
function size(v: ViewSummary): number {
  return v.connected + 1;
}

/** Negative when `mine` wins; a total order over distinct views so that exactly one side wins. */
function byLowestThenHash(mine: ViewSummary, theirs: ViewSummary): number {
  // A side that does not know its lowest id has no claim on it: null sorts last.
  if (mine.lowest !== theirs.lowest) {
    if (mine.lowest === null) return 1;
    if (theirs.lowest === null) return -1;
    const c = compareIds(mine.lowest, theirs.lowest);
    if (c !== 0) return c;
  }
  return compareIds(mine.hash, theirs.hash);
}

function byOldest(mine: ViewSummary, theirs: ViewSummary): number {
  if (mine.oldest === null && theirs.oldest === null) return 0;
  if (mine.oldest === null) return 1;
  if (theirs.oldest === null) return -1;
  return compareAge(mine.oldest, theirs.oldest);
}

function keepMajority(mine: ViewSummary, theirs: ViewSummary): number {
  return size(mine) !== size(theirs) ? size(theirs) - size(mine) : byLowestThenHash(mine, theirs);
}

function verdict(order: number): Decision {
  // order === 0 only when both summaries are identical: the same view is no partition, nobody restarts.
  return order <= 0 ? 'stay' : 'restart';
}

/**
 * What this side must do, computed from its own view summary and the other side's. Pure, and
 * the same on both sides: for `keep-majority` and `keep-oldest`, decide(a, b) and decide(b, a)
 * differ for any two distinct views (exactly one side restarts). The rules:
 *
 * - `keep-majority`: the larger side stays; on a tie, the side holding the lowest node id; if
 *   that is the same id too (overlapping views), the lower view hash.
 * - `keep-oldest`: the side holding the oldest node (earliest start, then lowest id) stays; ties
 *   as for keep-majority.
 * - `static-quorum`: a side with at least `quorum` nodes stays, a side below it restarts, so when
 *   neither side reaches the quorum both restart (Akka's rule). If both reach it the quorum is
 *   configured too small for the cluster; keep-majority decides so that still only one side stays.
 * - `keep-referee`: the side with the referee stays; if neither side has it, both restart (the
 *   referee is down or cut off from everyone); if both claim it (overlapping views), keep-majority.
 * - `down-all`: both sides restart.
 * - `manual`: report only, never restart automatically (`stay`); the operator acts on the event.
 */
export function decide(mine: ViewSummary, theirs: ViewSummary, rule: ResolutionRule): Decision {
  switch (rule.strategy) {
    case 'keep-majority':
      return verdict(keepMajority(mine, theirs));
    case 'keep-oldest': {
      const c = byOldest(mine, theirs);
      return verdict(c !== 0 ? c : byLowestThenHash(mine, theirs));
    }
    case 'static-quorum': {
      const quorum = rule.quorum ?? Number.POSITIVE_INFINITY;
      const mineOk = size(mine) >= quorum;
      const theirsOk = size(theirs) >= quorum;
      if (mineOk !== theirsOk) return mineOk ? 'stay' : 'restart';
      return mineOk ? verdict(keepMajority(mine, theirs)) : 'restart';
    }
    case 'keep-referee':
      if (mine.referee !== theirs.referee) return mine.referee ? 'stay' : 'restart';
      return mine.referee ? verdict(keepMajority(mine, theirs)) : 'restart';
    case 'down-all':
      return 'restart';
    case 'manual':
      return 'stay';
  }
}
