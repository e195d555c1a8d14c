/**
 * `lms-rx/session`: the LMS side of an APF session with no I/O, for marble tests and other
 * shells: `createSession` is the step function (one input in, its effects out), `runSession`
 * the same as an RxJS operator that keeps its timers on RxJS's schedulers.
 */
export { runSession, type RunSessionOptions } from './streams/runSession.js';
export { createSession, type Session, type SessionSnapshot } from './streams/session/session.js';
export * from './streams/sessionTypes.js';
/** One channel's windows: the CHANNEL_DATA cut, the credit batch, the u32 cap, CLOSE once. */
export * from './streams/channelWindow.js';
