/**
 * What flows into and out of the LMS session. Inputs are device messages, socket events and
 * timer firings; outputs are effects for the I/O shell to carry out and events for observers.
 * The session itself does no I/O, so it runs the same under TestScheduler and in real time.
 */
import { MAX_U32 } from '../codecs/brands.js';
import type { ApfDecodeError } from '../codecs/errors.js';
import type { ApfMessage, ChannelData } from '../codecs/messages.js';

/** The shell's handle for one accepted local socket. */
export type SocketId = number;

/**
 * The local user that owns a client socket: its uid, found by the shell from the kernel's socket
 * table, or `UNKNOWN_OWNER` when it could not be (the socket was gone, or no /proc). Slots and
 * waiting places are shared between owners (session/fairShare.ts).
 */
export type SocketOwner = number;
/** No uid is (uid_t)-1: the owners the shell could not find share this one. */
export const UNKNOWN_OWNER: SocketOwner = -1;

declare const hostSide: unique symbol;
declare const meSide: unique symbol;
/**
 * A channel id lms chose: the recipient named by the ME's messages on that channel. The ME's own
 * id for the same channel is another number of another type (APF's classic bug is to answer with
 * the wrong one), so the two cannot be mixed up and still compile.
 */
export type HostChannelId = number & { readonly [hostSide]: true };
/** A channel id the ME chose: the recipient of what lms sends (held by the channel's windows). */
export type MeChannelId = number & { readonly [meSide]: true };
/** The host's channel a message from the ME names. */
export const recipientOf = (m: { readonly recipient: number }): HostChannelId => m.recipient as HostChannelId;
/** The ME's id for a channel, from the ME's own OPEN or CONFIRMATION. */
export const senderOf = (m: { readonly sender: number }): MeChannelId => m.sender as MeChannelId;

/** An address and port. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * The session's timers, each named by what it waits for: our PROTOCOLVERSION, the backoff of a
 * retried open, the next reclaim deadline, a socket held while the ME does not serve its port, the
 * ME's answer to our CLOSE on a channel.
 */
export type TimerKey =
  | { readonly kind: 'version' }
  | { readonly kind: 'open-retry' }
  | { readonly kind: 'reclaim' }
  | { readonly kind: 'hold'; readonly socket: SocketId }
  | { readonly kind: 'close'; readonly channel: HostChannelId };

/** One string per timer, for a table of running timers: equal keys, equal strings. */
export const timerId = (key: TimerKey): string => (key.kind === 'hold' ? `hold:${key.socket}` : key.kind === 'close' ? `close:${key.channel}` : key.kind);

/** What the session steps on: device messages, socket events, timer firings, shutdown. */
export type SessionInput =
  | { readonly kind: 'connected'; readonly maxMsgLength: number }
  | { readonly kind: 'disconnected'; readonly reason: string }
  | { readonly kind: 'message'; readonly message: ApfMessage; readonly size: number }
  | { readonly kind: 'decode-error'; readonly error: ApfDecodeError; readonly size: number }
  /** Result of a `listen` effect: which loopback addresses could be bound. */
  | { readonly kind: 'listening'; readonly port: number; readonly bound: readonly string[]; readonly error?: string }
  /** A local connection; `owner` absent is `UNKNOWN_OWNER`. */
  | { readonly kind: 'accepted'; readonly socket: SocketId; readonly local: Endpoint; readonly peer: Endpoint; readonly owner?: SocketOwner }
  | { readonly kind: 'socket-data'; readonly socket: SocketId; readonly data: Buffer }
  /** The client half-closed (FIN): it will send nothing more but may still read. */
  | { readonly kind: 'socket-end'; readonly socket: SocketId }
  /** The socket is gone (closed, reset or destroyed). */
  | { readonly kind: 'socket-closed'; readonly socket: SocketId }
  /** `bytes` handed to the socket by a `write` effect have been flushed to the kernel. */
  | { readonly kind: 'socket-written'; readonly socket: SocketId; readonly bytes: number }
  | { readonly kind: 'timer'; readonly key: TimerKey }
  /** The service is stopping: CLOSE every channel, end its socket, refuse the waiting ones. */
  | { readonly kind: 'shutdown' };

/** What the session asks of its shell: messages to send, listeners, socket writes and pauses, timers, events. */
export type SessionEffect =
  | { readonly kind: 'send'; readonly message: ApfMessage }
  /** A local client's bytes to the ME on `channel`: the shell counts them for its handles without reading the message. */
  | { readonly kind: 'send'; readonly message: ChannelData; readonly channel: HostChannelId }
  /** Bind `port` on the loopback addresses (idempotent) and answer with `listening`. */
  | { readonly kind: 'listen'; readonly port: number }
  /** Stop accepting on `port`; live sockets are left to drain. */
  | { readonly kind: 'unlisten'; readonly port: number }
  /** The ME's bytes on `channel`, for its local socket. */
  | { readonly kind: 'write'; readonly socket: SocketId; readonly data: Buffer; readonly channel: HostChannelId }
  | { readonly kind: 'pause'; readonly socket: SocketId }
  | { readonly kind: 'resume'; readonly socket: SocketId }
  /** End the socket once its pending writes flush; destroy it after a grace period. */
  | { readonly kind: 'end'; readonly socket: SocketId }
  | { readonly kind: 'destroy'; readonly socket: SocketId }
  | { readonly kind: 'udp-send'; readonly address: string; readonly port: number; readonly data: Buffer }
  /** Drop the device connection and connect again (after DISCONNECT, in either direction). */
  | { readonly kind: 'reconnect'; readonly reason: string }
  | { readonly kind: 'start-timer'; readonly key: TimerKey; readonly ms: number }
  | { readonly kind: 'cancel-timer'; readonly key: TimerKey }
  | { readonly kind: 'event'; readonly event: LmsEvent };

/** Where the session is in its handshake. */
export type SessionPhase = 'disconnected' | 'awaiting-version' | 'awaiting-service' | 'ready';

/** Why a channel closed. */
export type ChannelCloseReason =
  | 'closed' // both CLOSEs exchanged
  | 'open-failed'
  | 'session-lost'
  | 'shutdown'
  /** We sent CLOSE and the ME did not answer within `closeTimeoutMs`: the slot is given up locally. */
  | 'close-unanswered';

/** The kinds of ME misbehaviour the session reports (and survives). */
export type ProtocolViolation =
  | 'decode-error'
  | 'before-handshake'
  | 'unknown-channel'
  | 'stale-close'
  | 'window-overrun'
  | 'mtu-overrun'
  | 'window-overflow'
  | 'close-unanswered'
  | 'unexpected-message';

/** A channel taken back while others wait: which, on what port, and whose it was. */
interface ReclaimedChannel {
  readonly type: 'channel-reclaimed';
  readonly id: number;
  readonly socket: SocketId;
  readonly port: number;
  readonly owner: SocketOwner;
}

/** What the session reports: its phase, forwards, channels opening and closing, refusals, protocol errors, ME notifications. */
export type LmsEvent =
  | { readonly type: 'session'; readonly phase: SessionPhase; readonly detail?: string }
  | { readonly type: 'me-version'; readonly major: number; readonly minor: number; readonly triggerReason: number; readonly uuid: string }
  | {
      readonly type: 'forward';
      readonly port: number;
      readonly ok: boolean;
      readonly bound: readonly string[];
      readonly cancelled?: boolean;
      readonly error?: string;
    }
  | {
      readonly type: 'channel-opened';
      readonly id: number;
      readonly meId: number;
      readonly socket: SocketId;
      readonly local: Endpoint;
      readonly peer: Endpoint;
      readonly owner: SocketOwner;
      readonly meWindow: number;
      /** When the ME confirmed it, on the session's clock (ms). */
      readonly at: number;
    }
  | { readonly type: 'channel-stalled'; readonly id: number; readonly buffered: number }
  | {
      readonly type: 'channel-closed';
      readonly id: number;
      readonly socket: SocketId;
      readonly reason: ChannelCloseReason;
      readonly bytesToMe: number;
      readonly bytesFromMe: number;
      /** How long it was open, on the session's clock; absent for a channel whose open failed. */
      readonly durationMs?: number;
      readonly detail?: string;
    }
  /**
   * A quiet channel on a reclaimable port closed because other clients wait for a slot: `idle`, no
   * byte either way for `quietMs`; `no-answer`, the client's bytes unanswered by the ME for `quietMs`.
   */
  | (ReclaimedChannel & { readonly why: 'idle' | 'no-answer'; readonly quietMs: number })
  /**
   * A channel closed so that another user gets a slot (session/fairShare.ts): `over-share`, its
   * owner held two slots more than `for`, who waits; `port-share`, every slot carried a redirection
   * port while `for` waits for a WS-Man port.
   */
  | (ReclaimedChannel & { readonly why: 'over-share' | 'port-share'; readonly for: SocketOwner })
  | { readonly type: 'connection-refused'; readonly socket: SocketId; readonly peer: Endpoint; readonly owner: SocketOwner; readonly reason: string }
  | { readonly type: 'protocol-error'; readonly violation: ProtocolViolation; readonly detail: string; readonly channel?: number }
  | { readonly type: 'notification'; readonly meId: number; readonly request: Buffer }
  | { readonly type: 'udp-sent'; readonly address: string; readonly port: number; readonly bytes: number }
  | { readonly type: 'ignored'; readonly detail: string };

/** The session's tunables; each is range-checked (optionRanges). */
export interface SessionOptions {
  /** The window advertised to the ME for each channel (bytes). */
  readonly window: number;
  /** At most this many channels open at once (the ME has 8 slots). */
  readonly maxChannels: number;
  /**
   * Sockets waiting for a channel beyond this are refused; while it is full, a user with fewer
   * waiting sockets than another takes the place of that user's newest one.
   */
  readonly maxQueue: number;
  /** How long a socket may wait while the ME is unavailable before it is refused. */
  readonly holdMs: number;
  /** Send our PROTOCOLVERSION first when the ME has said nothing for this long. */
  readonly versionTimeoutMs: number;
  /** OPEN_FAILURE 1 or 4 is retried this many times, backing off from `openRetryMs`. */
  readonly openRetries: number;
  readonly openRetryMs: number;
  /** Pause a socket when this many of its bytes wait for ME window. */
  readonly highWaterMark: number;
  /** A CLOSE we sent that the ME has not answered within this time frees the channel locally. */
  readonly closeTimeoutMs: number;
  /** How quiet channels are taken back while other clients wait for a slot (session/reclaimPolicy.ts). */
  readonly reclaim: ReclaimPolicy;
}

/** When quiet channels are taken back while other clients wait for a slot. */
export interface ReclaimPolicy {
  /**
   * AMT's WS-Man ports. Only their channels are reclaimed for being quiet (redirection sessions are
   * quiet for long), and one slot is kept reachable for them whatever the other ports hold.
   */
  readonly ports: readonly number[];
  /** No byte either way for this long, with no request of the client unanswered (0: never). */
  readonly idleMs: number;
  /** The client's bytes unanswered by the ME for this long, counted from the first of them (0: never). */
  readonly answerMs: number;
}

/** The range each numeric option may take; the CLI, the configuration file and startLms check them. */
export const optionRanges = {
  window: [1, MAX_U32], // an APF window is a u32
  maxChannels: [1, 64], // the ME has 8 slots; more only queue at the ME's OPEN_FAILURE
  maxQueue: [0, 1_000_000],
  holdMs: [0, 86_400_000],
  versionTimeoutMs: [1, 86_400_000],
  openRetries: [0, 100],
  openRetryMs: [1, 86_400_000],
  highWaterMark: [1, 1 << 30],
  closeTimeoutMs: [1, 86_400_000],
  reclaimIdleMs: [0, 86_400_000],
  reclaimAnswerMs: [0, 86_400_000],
  port: [1, 65535], // any TCP port: reclaim.ports, --metrics-port, --sim-ports
} as const satisfies Record<string, readonly [number, number]>;

/** The name of a numeric option with a range. */
export type RangedOption = keyof typeof optionRanges;

/** Why `value` is not a valid `name`, or undefined when it is. */
export const rangeProblem = (name: RangedOption, value: number): string | undefined => {
  const [min, max] = optionRanges[name];
  return Number.isInteger(value) && value >= min && value <= max ? undefined : `${name} must be a whole number from ${min} to ${max}, not ${value}`;
};

/** The first problem with the session options given, if any: a wrong value fails at start, not inside the session. */
export const sessionOptionsProblem = (o: Partial<SessionOptions>): string | undefined => {
  const { reclaim, ...plain } = o;
  for (const [k, v] of Object.entries(plain)) {
    const problem = k in optionRanges && typeof v === 'number' ? rangeProblem(k as RangedOption, v) : undefined;
    if (problem) return problem;
  }
  if (reclaim) {
    for (const p of reclaim.ports) {
      const problem = rangeProblem('port', p);
      if (problem) return `reclaim ${problem}`;
    }
    return rangeProblem('reclaimIdleMs', reclaim.idleMs) ?? rangeProblem('reclaimAnswerMs', reclaim.answerMs);
  }
  return undefined;
};

/** Reclaim on AMT's HTTP ports after 10 s idle or 60 s unanswered. */
export const defaultReclaimPolicy: ReclaimPolicy = { ports: [16992, 16993], idleMs: 10_000, answerMs: 60_000 };

/** The defaults: a 64 KiB window, 8 channels, 1,024 waiting sockets, 10 s holds and close timeouts. */
export const defaultSessionOptions: SessionOptions = {
  window: 64 * 1024,
  maxChannels: 8,
  maxQueue: 1024,
  holdMs: 10_000,
  versionTimeoutMs: 3_000,
  openRetries: 5,
  openRetryMs: 100,
  highWaterMark: 64 * 1024,
  closeTimeoutMs: 10_000,
  reclaim: defaultReclaimPolicy,
};
