/**
 * The session's channels (docs/apf.md §3-§4): one forwarded-tcpip channel per local socket, each in one
 * of three phases, plus the notification channels the ME opens to us. A channel's record names its
 * phase, and only the fields of that phase exist: an opening channel has no window, a closing one
 * sends nothing more. A channel that is closed has left the table; its `channel-closed` event is
 * its last word.
 */
import { channelOpen, openConfirmation, openFailure, type ApfMessage, type ChannelData, type ChannelOpen } from '../../codecs/messages.js';
import { MAX_U32 } from '../../codecs/brands.js';
import { OpenFailureReason, openFailureReasonName } from '../../codecs/opcodes.js';
import {
  closeSendWindow,
  creditSendWindow,
  oweCredit,
  receiveWindow,
  sendWindow,
  sendWithinWindow,
  takeFromReceiveWindow,
  type ReceiveWindow,
  type SendWindow,
} from '../channelWindow.js';
import { recipientOf, senderOf, type ChannelCloseReason, type HostChannelId, type LmsEvent, type MeChannelId } from '../sessionTypes.js';
import { holdBytes, type LocalSocket, type SessionContext } from './context.js';
import { createNotificationChannel, type NotificationChannel } from './notificationChannel.js';
import { clientSpoke, meSpoke, startActivity, type Activity } from './reclaimPolicy.js';

interface ChannelBase {
  readonly id: HostChannelId;
  readonly client: LocalSocket;
}

/** CHANNEL_OPEN sent, no answer yet: the client's bytes wait in its `unsent` queue. */
export interface OpeningChannel extends ChannelBase {
  readonly phase: 'opening';
}

/** Confirmed by the ME: one window record per direction. */
interface Confirmed extends ChannelBase {
  readonly meId: MeChannelId;
  /** When the ME confirmed it (the session's clock). */
  readonly openedAt: number;
  readonly tx: SendWindow;
  readonly rx: ReceiveWindow;
}

export interface OpenChannel extends Confirmed {
  readonly phase: 'open';
  /** The client's bytes wait for ME window (reported once per stall). */
  stalled: boolean;
  /** Tracked only on reclaimable ports (reclaimPolicy.ts). */
  readonly activity: Activity | undefined;
  /** Sends the client's bytes as CHANNEL_DATA effects that name this channel (made once per channel). */
  readonly sendData: (m: ChannelData) => void;
}

/** Our CLOSE went out; the ME's has not come. ME data still reaches the socket and is credited. */
export interface ClosingChannel extends Confirmed {
  readonly phase: 'closing';
  /** We spoke first: a timer bounds the wait for the ME's CLOSE. */
  readonly timed: boolean;
}

export type Channel = OpeningChannel | OpenChannel | ClosingChannel;

/**
 * What a channel step leaves for the session to do once the step is over, in this order: forget
 * the sockets whose channel closed, queue a retried one again, move the reclaim deadline, open
 * channels for waiting sockets. No step acts on them itself, so no step re-enters another. One
 * record, reset by each step and read at once by the session: nothing is allocated per message.
 */
export interface ChannelFollowUps {
  /** Channels closed: the session carries their sockets no more, whatever the sockets do next. */
  readonly released: LocalSocket[];
  /** A transient OPEN_FAILURE: this socket waits again (admission.ts). */
  retry: LocalSocket | undefined;
  /** A reclaimable channel's rule changed (reclaimPolicy.ts): the reclaim deadline may move. */
  activityChanged: boolean;
  /** A slot freed or an open was answered: the next waiting socket may go. */
  slotsChanged: boolean;
}

export interface Channels {
  readonly size: number;
  /** The channel whose CHANNEL_OPEN awaits its answer (one at a time). */
  readonly opening: HostChannelId | undefined;
  get(id: HostChannelId): Channel | undefined;
  all(): IterableIterator<Channel>;
  open(client: LocalSocket): void;
  onOpenConfirmation(m: Extract<ApfMessage, { type: 'channel-open-confirmation' }>): ChannelFollowUps;
  onOpenFailure(m: Extract<ApfMessage, { type: 'channel-open-failure' }>): ChannelFollowUps;
  onChannelOpen(m: ChannelOpen): void;
  onData(m: Extract<ApfMessage, { type: 'channel-data' }>, size: number): ChannelFollowUps;
  onWindowAdjust(m: Extract<ApfMessage, { type: 'channel-window-adjust' }>): void;
  onClose(m: Extract<ApfMessage, { type: 'channel-close' }>): ChannelFollowUps;
  socketData(ch: Channel, data: Buffer): ChannelFollowUps;
  socketEnd(ch: Channel): void;
  socketClosed(ch: Channel): void;
  socketWritten(ch: Channel, bytes: number): void;
  closeUnanswered(id: HostChannelId): ChannelFollowUps;
  /** The client is gone for good: drop its bytes, CLOSE now (issue #14). */
  abandon(ch: OpenChannel): void;
  /** The link is gone: every id is stale, every socket destroyed. */
  linkLost(reason: string): ChannelFollowUps;
  /** Stop: CLOSE each open channel and end its socket after its writes. */
  shutdown(): ChannelFollowUps;
}

export const createChannels = (ctx: SessionContext): Channels => {
  const follow: ChannelFollowUps = { released: [], retry: undefined, activityChanged: false, slotsChanged: false };
  /** A step begins: nothing is left to do yet. */
  const begin = (): ChannelFollowUps => {
    follow.released.length = 0;
    follow.retry = undefined;
    follow.activityChanged = false;
    follow.slotsChanged = false;
    return follow;
  };
  const table = new Map<HostChannelId, Channel>();
  const notifications = new Map<HostChannelId, NotificationChannel>();
  let nextId = 1;
  let opening: HostChannelId | undefined;
  const reclaimPorts = new Set(ctx.options.reclaim.ports);

  // Host ids: never 0, never one still in use; the counter wraps only after 2^32-1 channels.
  const allocId = (): HostChannelId => {
    for (;;) {
      const id = nextId as HostChannelId;
      nextId = nextId === MAX_U32 ? 1 : nextId + 1;
      if (!table.has(id) && !notifications.has(id)) return id;
    }
  };

  /** The channel is over: it leaves the table, its socket is released, and `channel-closed` is its last word. */
  const retire = (ch: Channel, reason: ChannelCloseReason, detail?: string): void => {
    table.delete(ch.id);
    if (ch.phase === 'opening' && opening === ch.id) opening = undefined;
    const c = ch.client;
    c.channel = undefined;
    follow.released.push(c);
    const e: LmsEvent = {
      type: 'channel-closed',
      id: ch.id,
      socket: c.socket,
      reason,
      bytesToMe: c.bytesToMe,
      bytesFromMe: c.bytesFromMe,
      ...(ch.phase === 'opening' ? {} : { durationMs: ctx.now() - ch.openedAt }),
    };
    ctx.event(detail === undefined ? e : { ...e, detail });
  };

  /** Our CLOSE, once: the channel turns closing. When we speak first (`timed`), a timer bounds the wait for the ME's. */
  const close = (ch: OpenChannel, timed: boolean): void => {
    closeSendWindow(ch.tx, ctx.send);
    const closing: ClosingChannel = { phase: 'closing', id: ch.id, client: ch.client, meId: ch.meId, openedAt: ch.openedAt, tx: ch.tx, rx: ch.rx, timed };
    table.set(ch.id, closing);
    if (timed) ctx.emit({ kind: 'start-timer', key: { kind: 'close', channel: ch.id }, ms: ctx.options.closeTimeoutMs });
  };
  const stopCloseTimer = (ch: ClosingChannel): void => {
    if (ch.timed) ctx.emit({ kind: 'cancel-timer', key: { kind: 'close', channel: ch.id } });
  };

  /** Send what the ME's window allows, pause or resume the socket, and CLOSE once drained. */
  const flush = (ch: OpenChannel): void => {
    const c = ch.client;
    c.bytesToMe += sendWithinWindow(ch.tx, c.unsent, ctx.maxMsgLength, ch.sendData);
    if (c.unsent.length > 0 && ch.tx.window === 0 && !ch.stalled) {
      ch.stalled = true;
      ctx.event({ type: 'channel-stalled', id: ch.id, buffered: c.unsent.length });
    }
    if ((c.ended || c.gone) && c.unsent.length === 0) return close(ch, true);
    if (!c.gone && !c.ended) {
      const pause = c.unsent.length > ctx.options.highWaterMark || (c.unsent.length > 0 && ch.tx.window === 0);
      if (pause !== c.paused) {
        c.paused = pause;
        ctx.emit({ kind: pause ? 'pause' : 'resume', socket: c.socket });
      }
    }
  };

  /**
   * The local socket is gone: nobody can read an answer, so whatever is buffered for the ME is
   * dropped and CLOSE goes out now. Waiting to drain first let a client that pipelined requests,
   * read nothing and closed keep the slot for good: the ME's answers, dropped uncredited, filled our
   * window, so the ME stopped reading and never credited the rest (issue #14).
   */
  const abandon = (ch: OpenChannel): void => {
    ch.client.gone = true;
    ch.client.unsent.clear();
    close(ch, true);
  };

  const unknown = (detail: string, recipient: number): void => ctx.violation('unknown-channel', detail, recipient);

  return {
    get size() {
      return table.size;
    },
    get opening() {
      return opening;
    },
    get: (id) => table.get(id),
    all: () => table.values(),

    open(client) {
      const id = allocId();
      table.set(id, { phase: 'opening', id, client });
      client.channel = id;
      opening = id;
      ctx.send(
        channelOpen({
          sender: id,
          window: ctx.options.window,
          address: client.local.address,
          port: client.local.port,
          originatorAddress: client.peer.address,
          originatorPort: client.peer.port,
        }),
      );
    },

    onOpenConfirmation(m) {
      const f = begin();
      const ch = table.get(recipientOf(m));
      if (ch?.phase !== 'opening') {
        unknown(`OPEN_CONFIRMATION for ${m.recipient}, which is not opening`, m.recipient);
        return f;
      }
      opening = undefined;
      const c = ch.client;
      const at = ctx.now();
      const meId = senderOf(m);
      const open: OpenChannel = {
        phase: 'open',
        id: ch.id,
        client: c,
        meId,
        openedAt: at,
        tx: sendWindow(m.window, meId, true),
        rx: receiveWindow(ctx.options.window, meId),
        stalled: false,
        activity: reclaimPorts.has(c.local.port) ? startActivity(at, c.unsent.length > 0) : undefined,
        sendData: (message) => ctx.emit({ kind: 'send', message, channel: ch.id }),
      };
      table.set(ch.id, open);
      ctx.event({ type: 'channel-opened', id: ch.id, meId, socket: c.socket, local: c.local, peer: c.peer, owner: c.owner, meWindow: m.window, at });
      // The client left while the open was pending: close right away, nothing to forward.
      if (c.gone) abandon(open);
      else flush(open);
      f.slotsChanged = true;
      return f;
    },

    onOpenFailure(m) {
      const f = begin();
      const ch = table.get(recipientOf(m));
      if (ch?.phase !== 'opening') {
        unknown(`OPEN_FAILURE for ${m.recipient}, which is not opening`, m.recipient);
        return f;
      }
      opening = undefined;
      const c = ch.client;
      const transient = m.reason === OpenFailureReason.ResourceShortage || m.reason === OpenFailureReason.AdministrativelyProhibited;
      if (transient && !c.gone && c.attempts < ctx.options.openRetries) {
        // AMT frees slots only on CLOSE and races its own forwards: try again, backing off.
        table.delete(ch.id);
        c.channel = undefined;
        c.attempts++;
        f.retry = c;
        return f;
      }
      if (!c.gone) ctx.emit({ kind: 'destroy', socket: c.socket });
      retire(ch, 'open-failed', `${openFailureReasonName(m.reason)} after ${c.attempts + 1} attempt(s)`);
      f.slotsChanged = true;
      return f;
    },

    onChannelOpen(m) {
      if (m.channelType === 'direct-tcpip' && m.port === 0) {
        const id = allocId();
        const meId = senderOf(m);
        const notification = createNotificationChannel({
          id,
          meId,
          meWindow: m.window,
          window: ctx.options.window,
          maxMsgLength: ctx.maxMsgLength,
          onRequest: (request) => ctx.event({ type: 'notification', meId, request }),
        });
        notifications.set(id, notification);
        return ctx.send(openConfirmation(meId, id, ctx.options.window));
      }
      // A proxy to loopback only: no outbound connections on the ME's behalf (MicroLMS does the same).
      const reason =
        m.channelType === 'unknown'
          ? OpenFailureReason.UnknownChannelType
          : m.channelType === 'direct-tcpip'
            ? OpenFailureReason.ConnectFailed
            : OpenFailureReason.AdministrativelyProhibited;
      ctx.event({
        type: 'ignored',
        detail: `ME-opened ${m.channelType === 'unknown' ? m.name : m.channelType} channel refused (${openFailureReasonName(reason)})`,
      });
      ctx.send(openFailure(m.sender, reason));
    },

    onData(m, size) {
      const f = begin();
      const id = recipientOf(m);
      const notification = notifications.get(id);
      if (notification) {
        for (const reply of notification.data(m.data)) ctx.send(reply);
        return f;
      }
      const ch = table.get(id);
      if (!ch || ch.phase === 'opening') {
        unknown(`CHANNEL_DATA for unknown channel ${m.recipient} (dropped)`, m.recipient);
        return f;
      }
      if (ch.phase === 'open' && ch.activity && m.data.length > 0 && meSpoke(ch.activity, ctx.now())) f.activityChanged = true;
      // An ME that overruns the window or the MTU is reported; its bytes still arrive.
      if (size > ctx.maxMsgLength) ctx.violation('mtu-overrun', `CHANNEL_DATA of ${size} bytes exceeds the MTU ${ctx.maxMsgLength}`, ch.id);
      const window = ch.rx.window;
      if (takeFromReceiveWindow(ch.rx, m.data.length) > 0) ctx.violation('window-overrun', `ME sent ${m.data.length} bytes into a window of ${window}`, ch.id);
      const c = ch.client;
      c.bytesFromMe += m.data.length;
      if (!c.gone && m.data.length > 0) ctx.emit({ kind: 'write', socket: c.socket, data: m.data, channel: ch.id });
      return f;
    },

    onWindowAdjust(m) {
      const id = recipientOf(m);
      const notification = notifications.get(id);
      if (notification) return void notification.adjust(m.bytesToAdd).forEach(ctx.send);
      const ch = table.get(id);
      if (!ch || ch.phase === 'opening') return unknown(`WINDOW_ADJUST for unknown channel ${m.recipient}`, m.recipient);
      if (creditSendWindow(ch.tx, m.bytesToAdd)) ctx.violation('window-overflow', `WINDOW_ADJUST +${m.bytesToAdd} overflows the u32 window (capped)`, ch.id);
      if (ch.phase === 'open') {
        ch.stalled = false;
        flush(ch);
      }
    },

    onClose(m) {
      const f = begin();
      const recipient = recipientOf(m);
      const notification = notifications.get(recipient);
      if (notification) {
        for (const reply of notification.close()) ctx.send(reply);
        notifications.delete(recipient);
        return f;
      }
      const ch = table.get(recipient);
      // AMT replays stale CLOSEs (id 0 after a reset): match on id and state, never answer them.
      if (!ch || ch.phase === 'opening') {
        ctx.violation('stale-close', `CHANNEL_CLOSE for ${recipient}, which is not open (ignored)`, recipient);
        return f;
      }
      if (ch.phase === 'closing') stopCloseTimer(ch);
      else close(ch, false);
      const c = ch.client;
      c.unsent.clear();
      if (!c.gone) ctx.emit({ kind: 'end', socket: c.socket });
      retire(ch, 'closed');
      f.slotsChanged = true;
      return f;
    },

    socketData(ch, data) {
      const f = begin();
      const c = ch.client;
      if (c.ended || c.gone) return f;
      if (ch.phase === 'opening') holdBytes(c, data, ctx);
      if (ch.phase !== 'open') return f;
      // A change of rule can bring a deadline forward: the timer, if one runs, follows it.
      if (ch.activity && clientSpoke(ch.activity, ctx.now())) f.activityChanged = true;
      c.unsent.push(data);
      flush(ch);
      return f;
    },

    socketEnd(ch) {
      ch.client.ended = true;
      if (ch.phase === 'open') flush(ch);
    },

    socketClosed(ch) {
      if (ch.phase === 'open') return abandon(ch);
      ch.client.gone = true;
      ch.client.unsent.clear();
    },

    socketWritten(ch, bytes) {
      if (ch.phase === 'opening') return;
      const adjust = oweCredit(ch.rx, bytes);
      if (adjust) ctx.send(adjust);
    },

    closeUnanswered(id) {
      const f = begin();
      const ch = table.get(id);
      if (ch?.phase !== 'closing' || !ch.timed) return f;
      ctx.violation('close-unanswered', `the ME did not answer CLOSE on channel ${id} within ${ctx.options.closeTimeoutMs} ms; its slot is given up`, id);
      if (!ch.client.gone) ctx.emit({ kind: 'destroy', socket: ch.client.socket });
      retire(ch, 'close-unanswered');
      f.slotsChanged = true;
      return f;
    },

    abandon,

    linkLost(reason) {
      const f = begin();
      for (const ch of [...table.values()]) {
        if (ch.phase === 'closing') stopCloseTimer(ch);
        if (!ch.client.gone) ctx.emit({ kind: 'destroy', socket: ch.client.socket });
        retire(ch, 'session-lost', reason);
      }
      notifications.clear();
      opening = undefined;
      return f;
    },

    shutdown() {
      const f = begin();
      for (const ch of [...table.values()]) {
        if (ch.phase === 'open') close(ch, false);
        if (!ch.client.gone) ctx.emit({ kind: ch.phase === 'opening' ? 'destroy' : 'end', socket: ch.client.socket });
        retire(ch, 'shutdown');
      }
      opening = undefined;
      return f;
    },
  };
};
