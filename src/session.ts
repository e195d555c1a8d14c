/**
 * `lms-rx/session`: the LMS side of an APF session with no I/O, for marble tests and other
 * shells: `createSession` is the step function (one input in, its effects out), `runSession`
 * the same as an RxJS operator that keeps its timers on RxJS's schedulers. The options and their
 * defaults are the root's (`defaultSessionOptions`, `optionRanges`).
 */
export { runSession, type RunSessionOptions } from './streams/runSession.js';
export { createSession, type Session, type SessionSnapshot } from './streams/session/session.js';
/** What a session steps on and what it asks of its shell. */
export type {
  ChannelCloseReason,
  Endpoint,
  HostChannelId,
  LmsEvent,
  MeChannelId,
  ProtocolViolation,
  ReclaimPolicy,
  SessionEffect,
  SessionInput,
  SessionOptions,
  SessionPhase,
  SocketId,
  SocketOwner,
  TimerKey,
} from './streams/sessionTypes.js';
/** The LMS's rules for a channel's data, pure: how much the next CHANNEL_DATA carries, and the u32 cap on credit. */
export { addCredit, MIN_TAIL, nextChunkSize } from './streams/channelWindow.js';
