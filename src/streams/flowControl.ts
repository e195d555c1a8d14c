/**
 * Window arithmetic for APF channels (apf.md §3, §6.8), as pure functions.
 */

/** CHANNEL_DATA's header: type, recipient, length. */
export const CHANNEL_DATA_HEADER = 9;

/**
 * AMT may reject a chunked request whose `0\r\n\r\n` terminator is split across two messages
 * (mps #662), so a message never leaves fewer than this many bytes behind it.
 */
export const MIN_TAIL = 5;

/**
 * How many of `buffered` bytes the next CHANNEL_DATA may carry: min(window, MTU - 9, buffered),
 * shortened so that what stays buffered is 0 or at least MIN_TAIL bytes. 0 means wait.
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
  return sum > 0xffff_ffff ? { window: 0xffff_ffff, overflow: true } : { window: sum, overflow: false };
};

/**
 * Inbound credit is returned in batches: once half the advertised window has been written to
 * the local socket (ssh2's WINDOW_THRESHOLD, MicroLMS's > 1024 rule), one WINDOW_ADJUST.
 */
export const shouldReturnCredit = (pending: number, advertised: number): boolean => pending > 0 && pending >= Math.ceil(advertised / 2);
