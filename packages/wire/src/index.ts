export { DistkitError, WireError, isWireError, type WireErrorCode } from './errors.ts';
export {
  DATAGRAM_LIMITS, DEFAULT_FRAME_LIMITS, HEARTBEAT_TAG_BYTES, MAX_CLUSTER_ID_BYTES, MAX_DATAGRAM_BYTES,
  MAX_FRAME_BYTES, MAX_HEARTBEAT_BODY_BYTES, MAX_NAME_BYTES, NODE_ID_BYTES, SENDER_ID_BYTES, VIEW_HASH_BYTES, type WireLimits,
} from './limits.ts';
export { MessageType, WIRE_MAJOR, WIRE_MINOR, peekType } from './codec.ts';
export { scanMsgpack } from './scan.ts';
export { datagramSender, senderId } from './datagram.ts';
export { decodeHeartbeat, encodeHeartbeat, type Heartbeat, type NodeId, type ViewSummary } from './heartbeat.ts';
export { MAX_TAGS, checkTags, decodeHello, encodeHello, type Hello } from './hello.ts';
export {
  DISCONNECT_REASONS, decodeFrame, decodeFrameAt, encodeFrame, encodeMessageFrame, encodeMessageFrameHead, encodeMessageFrameInto, messageFrameBytes, type ControlFrame, type DisconnectReason, type Frame, type FrameKind,
} from './frame.ts';
export {
  CHANNELS, FIRST_NAMED_CHANNEL, MAX_CHANNELS, MAX_CHANNEL_NAME_BYTES, MAX_OPEN_FRAMES, MAX_RECORD_BYTES, PIECE_END, PIECE_HEADER_BYTES,
  PIECE_START, PIECE_TOTAL_BYTES, RecordBuilder, RecordReader, type FrameAt,
} from './record.ts';
export { MAX_LISTED_NODES, decodeSystem, encodeSystem, type ForwardedEvent, type NodeAddress, type SystemMessage } from './system.ts';
export {
  FIRST_MAC_BYTES, LINK_PATTERNS, LINK_SUITES, SECRET_ID_BYTES, decodeLinkPreamble, encodeLinkPreamble, firstRecordSigned, hasPsk, type LinkPattern, type LinkPreamble,
  type LinkSuite,
} from './preamble.ts';
export { decodeProbe, encodeProbe, type Probe } from './probe.ts';
export type {
  Address, Clock, DatagramSocket, Stream, StreamHandlers, StreamListener, TimerHandle, Transport,
} from './transport.ts';
