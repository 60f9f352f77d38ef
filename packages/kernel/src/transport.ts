// The Transport seam is defined in @distkit/wire (shared with @distkit/sim); re-exported here
// because kernel users meet it as part of the kernel's API.
export type {
  Address, Clock, DatagramSocket, Stream, StreamHandlers, StreamListener, TimerHandle, Transport,
} from '@distkit/wire';
