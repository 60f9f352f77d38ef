export { DetectorError, isDetectorError, type DetectorErrorCode } from './errors.ts';
export { resolveConfig, type DetectorConfig, type ResolvedDetectorConfig } from './config.ts';
export { IntervalWindows, phi, thresholdY } from './phi.ts';
export { compareAge, compareIds, toHex, viewSummary, type Member, type ViewInput } from './view.ts';
export { STRATEGIES, decide, type Decision, type ResolutionRule, type StrategyName } from './resolve.ts';
export {
  createDetector, type Detector, type DetectorDeps, type DetectorEvent, type DetectorStats, type Evidence, type HeartbeatInput,
  type OutgoingProbe, type PeerKey, type PeerStatus, type ProbeAnswer, type ProbeRequest, type TickOutput, type Verdict,
  VERDICTS,
} from './detector.ts';
