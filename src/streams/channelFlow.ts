/**
 * One channel's flow control and close, in both directions (apf.md §3-§4): what the LMS sends
 * to the ME within its window, when the local socket pauses and resumes, when credit goes back,
 * and that CLOSE goes out once. The session routes messages and socket events here by id.
 */
import { channelClose, channelData, windowAdjust, type ApfMessage } from '../codecs/messages.js';
import type { ByteQueue } from './byteQueue.js';
import { addCredit, nextChunkSize, shouldReturnCredit } from './flowControl.js';
import type { Activity } from './reclaim.js';
import type { Endpoint, ProtocolViolation, SessionEffect, SessionOptions, SocketId } from './sessionTypes.js';

export interface ChannelBase {
  readonly id: number;
  readonly socket: SocketId;
  readonly local: Endpoint;
  readonly peer: Endpoint;
  readonly attempts: number;
  /** Socket bytes not yet sent to the ME. */
  readonly tx: ByteQueue;
  /** The client half-closed: CLOSE follows once `tx` drains. */
  localEnded: boolean;
  /** The socket is gone: ME data is dropped, CLOSE follows once `tx` drains. */
  socketGone: boolean;
  /** Reading from the socket is paused (window exhausted or `tx` past the high-water mark). */
  paused: boolean;
  bytesToMe: number;
  bytesFromMe: number;
}

/** CHANNEL_OPEN sent, no answer yet. */
export interface OpeningChannel extends ChannelBase {
  readonly phase: 'opening';
}

/** Confirmed: one window record per direction, and the close handshake's two halves. */
export interface OpenChannel extends ChannelBase {
  readonly phase: 'open';
  readonly meId: number;
  /** Bytes the ME still accepts from us. */
  txWindow: number;
  /** Bytes we sent that the ME has yet to credit back (so an adjust is owed). */
  txUncredited: number;
  /** Bytes the ME may still send us. */
  rxWindow: number;
  /** Bytes written to the socket whose credit is not yet returned. */
  rxCredit: number;
  stalled: boolean;
  closeSent: boolean;
  /** Tracked only on reclaimable ports (reclaim.ts). */
  readonly activity: Activity | undefined;
}

export type Channel = OpeningChannel | OpenChannel;

/**
 * A socket waiting for a channel. It is read while it waits (up to the high-water mark), so a
 * client that goes away is noticed at once rather than after an APF open of its own.
 */
export interface QueuedSocket {
  readonly socket: SocketId;
  readonly local: Endpoint;
  readonly peer: Endpoint;
  readonly attempts: number;
  readonly tx: ByteQueue;
  ended: boolean;
  paused: boolean;
  /** A hold timer runs: the ME does not serve its port now, and it is refused if that lasts. */
  held: boolean;
}

/** Whatever holds socket bytes before a channel is open: a queued socket or an opening channel. */
export type Waiting = { readonly socket: SocketId; readonly tx: ByteQueue; paused: boolean };

export interface FlowContext {
  readonly options: SessionOptions;
  readonly maxMsgLength: number;
  send(message: ApfMessage): void;
  emit(effect: SessionEffect): void;
  violation(v: ProtocolViolation, detail: string, channel?: number): void;
}

export const closeTimerKey = (ch: OpenChannel): string => `close:${ch.id}`;

/**
 * CLOSE at most once per channel: a second one could close the ME's next channel on this id.
 * When we speak first (`awaitReply`), a timer bounds the wait for the ME's CLOSE, so an ME that
 * never answers cannot keep the slot.
 */
export const closeOnce = (ch: OpenChannel, ctx: FlowContext, awaitReply = true): void => {
  if (ch.closeSent) return;
  ch.closeSent = true;
  ctx.send(channelClose(ch.meId));
  if (awaitReply) ctx.emit({ kind: 'start-timer', key: closeTimerKey(ch), ms: ctx.options.closeTimeoutMs });
};

/**
 * The local socket is gone: nobody can read an answer, so whatever is buffered for the ME is
 * dropped and CLOSE goes out now. Waiting to drain first let a client that pipelined requests,
 * read nothing and closed keep the slot for good: the ME's answers, dropped uncredited, filled our
 * window, so the ME stopped reading and never credited the rest (issue #14).
 */
export const abandonChannel = (ch: OpenChannel, ctx: FlowContext): void => {
  ch.socketGone = true;
  ch.tx.clear();
  closeOnce(ch, ctx);
};

/** Send what the ME's window allows, pause or resume the socket, and CLOSE once drained. */
export const flushChannel = (ch: OpenChannel, ctx: FlowContext): void => {
  while (ch.tx.length > 0) {
    const n = nextChunkSize(ch.txWindow, ctx.maxMsgLength, ch.tx.length, ch.txUncredited > 0);
    if (n === 0) break;
    const data = ch.tx.take(n);
    ch.txWindow -= n;
    ch.txUncredited += n;
    ch.bytesToMe += n;
    ctx.send(channelData(ch.meId, data));
  }
  if (ch.tx.length > 0 && ch.txWindow === 0 && !ch.stalled) {
    ch.stalled = true;
    ctx.emit({ kind: 'event', event: { type: 'channel-stalled', id: ch.id, buffered: ch.tx.length } });
  }
  if (!ch.socketGone && !ch.localEnded && !ch.closeSent) {
    const pause = ch.tx.length > ctx.options.highWaterMark || (ch.tx.length > 0 && ch.txWindow === 0);
    if (pause !== ch.paused) {
      ch.paused = pause;
      ctx.emit({ kind: pause ? 'pause' : 'resume', socket: ch.socket });
    }
  }
  if ((ch.localEnded || ch.socketGone) && ch.tx.length === 0) closeOnce(ch, ctx);
};

/** Holds bytes of a socket with no open channel yet, pausing it at the high-water mark. */
export const holdChannelBytes = (w: Waiting, data: Buffer, ctx: FlowContext): void => {
  w.tx.push(data);
  if (!w.paused && w.tx.length > ctx.options.highWaterMark) {
    w.paused = true;
    ctx.emit({ kind: 'pause', socket: w.socket });
  }
};

/** The socket took `bytes` of ME data: credit goes back in batches of half the window. */
export const creditWritten = (ch: OpenChannel, bytes: number, ctx: FlowContext): void => {
  ch.rxCredit += bytes;
  if (!shouldReturnCredit(ch.rxCredit, ctx.options.window)) return;
  ctx.send(windowAdjust(ch.meId, ch.rxCredit));
  ch.rxWindow += ch.rxCredit;
  ch.rxCredit = 0;
};

/** ME data for the socket. An ME that overruns the window or the MTU is reported; its bytes still arrive. */
export const receiveData = (ch: OpenChannel, data: Buffer, size: number, ctx: FlowContext): void => {
  if (size > ctx.maxMsgLength) ctx.violation('mtu-overrun', `CHANNEL_DATA of ${size} bytes exceeds the MTU ${ctx.maxMsgLength}`, ch.id);
  if (data.length > ch.rxWindow) {
    ctx.violation('window-overrun', `ME sent ${data.length} bytes into a window of ${ch.rxWindow}`, ch.id);
    ch.rxWindow = 0;
  } else ch.rxWindow -= data.length;
  ch.bytesFromMe += data.length;
  if (!ch.socketGone && data.length > 0) ctx.emit({ kind: 'write', socket: ch.socket, data });
};

/** WINDOW_ADJUST from the ME: more may be sent (capped at 2^32-1, and an overflow is reported). */
export const addWindow = (ch: OpenChannel, bytes: number, ctx: FlowContext): void => {
  const { window, overflow } = addCredit(ch.txWindow, bytes);
  if (overflow) ctx.violation('window-overflow', `WINDOW_ADJUST +${bytes} overflows the u32 window (capped)`, ch.id);
  ch.txWindow = window;
  ch.txUncredited = Math.max(0, ch.txUncredited - bytes);
  ch.stalled = false;
  if (!ch.closeSent) flushChannel(ch, ctx);
};
