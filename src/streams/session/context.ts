/**
 * What every part of the session shares: its options and clock, the device's MTU, and one list of
 * effects that a step appends to. Each part keeps its own state; this is the only thing they share.
 */
import type { ApfMessage } from '../../codecs/messages.js';
import type { ByteQueue } from '../byteQueue.js';
import type { Endpoint, HostChannelId, LmsEvent, ProtocolViolation, SessionEffect, SessionOptions, SocketId, SocketOwner } from '../sessionTypes.js';

export interface SessionContext {
  readonly options: SessionOptions;
  /** The reclaim policy's clock: the scheduler's, so marble tests run it in virtual time. */
  readonly now: () => number;
  /** The device's max_msg_length, known once connected. */
  readonly maxMsgLength: number;
  emit(effect: SessionEffect): void;
  send(message: ApfMessage): void;
  event(event: LmsEvent): void;
  violation(violation: ProtocolViolation, detail: string, channel?: number): void;
}

/**
 * One accepted local socket, from accept to close: who it is, and the state of its byte stream.
 * It has one owner at a time, the only part that changes it: the admission queue while it waits,
 * the channels once a channel carries it. session.ts hands it over (`channels.open`, and back
 * through the channels' follow-ups on a retried open), by reference, so nothing is copied per
 * message. What is a part's own (the hold timers, the channel table) stays in that part.
 */
export interface LocalSocket {
  readonly socket: SocketId;
  readonly local: Endpoint;
  readonly peer: Endpoint;
  /** The local user whose socket it is: slots and waiting places are shared by user (fairShare.ts). */
  readonly owner: SocketOwner;
  /** Socket bytes not yet sent to the ME. It is read while it waits, up to the high-water mark. */
  readonly unsent: ByteQueue;
  /** CHANNEL_OPENs tried for it (OPEN_FAILURE 1 and 4 are retried). */
  attempts: number;
  /** The channel carrying it, once one is opening. */
  channel: HostChannelId | undefined;
  /** The client half-closed (FIN): CLOSE follows once `unsent` drains. */
  ended: boolean;
  /** The socket is gone: ME data is dropped. */
  gone: boolean;
  /** Reading from the socket is paused (window exhausted or `unsent` past the high-water mark). */
  paused: boolean;
  bytesToMe: number;
  bytesFromMe: number;
}

/** Holds socket bytes while no channel is open yet, pausing the socket at the high-water mark (`unsent`). */
export const holdBytes = (s: LocalSocket, data: Buffer, ctx: SessionContext): void => {
  s.unsent.push(data);
  if (!s.paused && s.unsent.length > ctx.options.highWaterMark) {
    s.paused = true;
    ctx.emit({ kind: 'pause', socket: s.socket });
  }
};
