/**
 * One APF channel's windows (docs/apf.md §3.3, §4), one record per direction, and the arithmetic
 * on them as pure functions. The LMS session, its notification channel and the simulated ME all
 * keep their windows here, so the u32 cap, the CHANNEL_DATA cut, the credit batch and CLOSE-once
 * are each written once.
 */
import { MAX_U32 } from '../codecs/brands.js';
import { channelClose, channelData, windowAdjust, type ApfMessage, type ChannelData } from '../codecs/messages.js';
import { CHANNEL_DATA_HEADER } from '../codecs/opcodes.js';
import type { ByteQueue } from './byteQueue.js';

/**
 * AMT may reject a chunked request whose `0\r\n\r\n` terminator is split across two messages
 * (mps #662), so a message never leaves fewer than this many bytes behind it.
 */
export const MIN_TAIL = 5;

/**
 * How many of `buffered` bytes the next CHANNEL_DATA of client bytes carries (the LMS's rule):
 * min(window, MTU - 9, buffered), shortened so that what stays
 * buffered is 0 or at least MIN_TAIL bytes. 0 means wait.
 * While the peer owes us credit (`creditExpected`: bytes in flight it will acknowledge), a
 * window sliver smaller than a quarter message is not spent on a message of its own when more
 * is buffered (silly-window avoidance: the ME then handles fewer, fuller messages), and a window
 * too small to keep the tail rule waits too. Without credit in flight both rules yield, because
 * waiting would deadlock.
 */
export const nextChunkSize = (window: number, maxMsgLength: number, buffered: number, creditExpected: boolean): number => {
  const payload = maxMsgLength - CHANNEL_DATA_HEADER;
  const n = Math.min(window, payload, buffered);
  if (n <= 0) return 0;
  if (creditExpected && n < buffered && n < payload / 4) return 0;
  const tail = buffered - n;
  if (tail === 0 || tail >= MIN_TAIL) return n;
  const shortened = n - (MIN_TAIL - tail);
  if (shortened > 0) return shortened;
  return creditExpected ? 0 : n;
};

/** Adding credit to a u32 window: the sum is capped, and the caller learns it overflowed. */
export const addCredit = (window: number, bytes: number): { window: number; overflow: boolean } => {
  const sum = window + bytes;
  return sum > MAX_U32 ? { window: MAX_U32, overflow: true } : { window: sum, overflow: false };
};

// ---- what we send ------------------------------------------------------------------------------

/**
 * Our direction of a channel: whom we send to, what it still accepts, and whether our CLOSE went
 * out. The peer's id is fixed when the record is made, from the peer's own OPEN or CONFIRMATION:
 * every message this direction sends names it, so a sender/recipient mix-up cannot happen later.
 */
export interface SendWindow {
  /** The id the peer chose for this channel: the recipient of everything we send on it. */
  readonly peer: number;
  /** Cut client bytes by `nextChunkSize`'s rules (the LMS's); otherwise each message takes all the window, the MTU and the buffer allow. */
  readonly shaped: boolean;
  /** Bytes the peer still accepts from us. */
  window: number;
  /** Bytes we sent that the peer has yet to credit back (so an adjust is owed to us). */
  uncredited: number;
  /** Our CHANNEL_CLOSE went out: nothing more is sent on this channel. */
  closed: boolean;
}

/** Our direction of a new channel, to `peer`, with the window it advertised. */
export const sendWindow = (window: number, peer: number, shaped = false): SendWindow => ({ peer, shaped, window, uncredited: 0, closed: false });

/** Takes what `tx` holds, within the window, as CHANNEL_DATA to the peer; returns the bytes sent. */
export const sendWithinWindow = (w: SendWindow, tx: ByteQueue, maxMsgLength: number, send: (m: ChannelData) => void): number => {
  let sent = 0;
  while (!w.closed && tx.length > 0) {
    const n = w.shaped ? nextChunkSize(w.window, maxMsgLength, tx.length, w.uncredited > 0) : Math.min(w.window, maxMsgLength - CHANNEL_DATA_HEADER, tx.length);
    if (n <= 0) break;
    w.window -= n;
    w.uncredited += n;
    sent += n;
    send(channelData(w.peer, tx.take(n)));
  }
  return sent;
};

/** WINDOW_ADJUST from the peer grows the window, capped at 2^32-1; true when the cap was hit. */
export const creditSendWindow = (w: SendWindow, bytes: number): boolean => {
  const { window, overflow } = addCredit(w.window, bytes);
  w.window = window;
  w.uncredited = Math.max(0, w.uncredited - bytes);
  return overflow;
};

/** Our CLOSE, at most once per channel: a second one could close the peer's next channel on this id. True when it went out now. */
export const closeSendWindow = (w: SendWindow, send: (m: ApfMessage) => void): boolean => {
  if (w.closed) return false;
  w.closed = true;
  send(channelClose(w.peer));
  return true;
};

// ---- what we receive ---------------------------------------------------------------------------

/** The peer's direction: whom credit goes to, what it may still send us, and the credit we owe it. */
export interface ReceiveWindow {
  /** The id the peer chose for this channel: the recipient of our WINDOW_ADJUSTs. */
  readonly peer: number;
  /** Bytes the peer may still send us. */
  window: number;
  /** Bytes consumed whose credit is not returned yet. */
  owed: number;
  /** Credit goes back once this much is owed. */
  readonly batch: number;
}

/**
 * By default credit goes back in batches of half the advertised window (ssh2's WINDOW_THRESHOLD,
 * MicroLMS's > 1024 rule): one WINDOW_ADJUST per half window rather than one per write.
 */
export const receiveWindow = (advertised: number, peer: number, batch = Math.ceil(advertised / 2)): ReceiveWindow => ({
  peer,
  window: advertised,
  owed: 0,
  batch: Math.max(1, batch),
});

/** `bytes` arrived and use up the window: returns the bytes beyond it (0 when within). An overrun leaves the window at 0. */
export const takeFromReceiveWindow = (r: ReceiveWindow, bytes: number): number => {
  if (bytes <= r.window) {
    r.window -= bytes;
    return 0;
  }
  const over = bytes - r.window;
  r.window = 0;
  return over;
};

/** `bytes` were consumed and are owed back: returns the WINDOW_ADJUST to send now, once a batch is full (the window reopens by as much). */
export const oweCredit = (r: ReceiveWindow, bytes: number): ApfMessage | undefined => {
  r.owed += bytes;
  if (r.owed <= 0 || r.owed < r.batch) return undefined;
  const adjust = windowAdjust(r.peer, r.owed);
  r.window += r.owed;
  r.owed = 0;
  return adjust;
};
