/**
 * The LMS side of an APF session (docs/apf.md §2-§4, §6) as a step function: one input in, the
 * effects it causes out. It composes four parts, each with its own state: the handshake, the
 * ME's forwards, the admission queue of local sockets, and the channels (with the reclaim timer
 * over them). This file routes inputs to them and owns what spans them: the socket table, the
 * pump that opens channels for waiting sockets, and the session's end.
 *
 * Messages handled: PROTOCOLVERSION, SERVICE_REQUEST, USERAUTH_REQUEST, GLOBAL_REQUEST
 * (tcpip-forward, cancel-tcpip-forward, udp-send-to), CHANNEL_OPEN (direct-tcpip notifications),
 * CHANNEL_OPEN_CONFIRMATION/FAILURE, WINDOW_ADJUST, CHANNEL_DATA, CHANNEL_CLOSE, KEEPALIVE_*,
 * DISCONNECT. It opens one forwarded-tcpip channel per accepted local socket.
 */
import { describeDecodeError } from '../../codecs/errors.js';
import { disconnect, type ApfMessage } from '../../codecs/messages.js';
import { DisconnectReason, disconnectReasonName } from '../../codecs/opcodes.js';
import {
  UNKNOWN_OWNER,
  type Endpoint,
  type LmsEvent,
  type ProtocolViolation,
  type SessionEffect,
  type SessionInput,
  type SessionOptions,
  type SessionPhase,
  type SocketId,
  type SocketOwner,
  type TimerKey,
} from '../sessionTypes.js';
import { createAdmission } from './admission.js';
import { createChannels, type Channel, type ChannelFollowUps } from './channels.js';
import type { LocalSocket, SessionContext } from './context.js';
import { holdings, lastSlotKeptForWsman, shareReclaim, type SlotHolder } from './fairShare.js';
import { createForwards } from './forwards.js';
import { createHandshake, type HandshakeOutcome } from './handshake.js';
import { createReclaimer } from './reclaimer.js';

/** The session's state for status: phase, forwards, listeners, channels with their bytes, the queue. */
export interface SessionSnapshot {
  readonly phase: SessionPhase;
  readonly forwards: readonly number[];
  readonly listening: readonly number[];
  readonly channels: readonly {
    id: number;
    meId?: number;
    socket: SocketId;
    owner: SocketOwner;
    phase: string;
    txBuffered: number;
    bytesToMe: number;
    bytesFromMe: number;
  }[];
  readonly queued: number;
  /** Each local user with a channel or a waiting socket: slots held (closing ones aside) and sockets waiting. */
  readonly users: readonly { owner: SocketOwner; holding: number; waiting: number }[];
  readonly pendingOpen?: number;
}

/** The session as a step function: one input in, its effects out; and a snapshot of its state. */
export interface Session {
  step(input: SessionInput): SessionEffect[];
  snapshot(): SessionSnapshot;
}

/** `now` is the clock of the reclaim policy: the scheduler's, so marble tests run it in virtual time. */
export const createSession = (options: SessionOptions, now: () => number = Date.now): Session => {
  let out: SessionEffect[] = [];
  let maxMsgLength = 4096;
  let stopping = false;
  const emit = (e: SessionEffect): void => void out.push(e);
  const event = (e: LmsEvent): void => emit({ kind: 'event', event: e });
  const ctx: SessionContext = {
    options,
    now,
    get maxMsgLength() {
      return maxMsgLength;
    },
    emit,
    send: (message: ApfMessage) => emit({ kind: 'send', message }),
    event,
    violation: (v: ProtocolViolation, detail: string, channel?: number) =>
      event(channel === undefined ? { type: 'protocol-error', violation: v, detail } : { type: 'protocol-error', violation: v, detail, channel }),
  };

  /** Every local socket the session knows, waiting or carried by a channel. */
  const sockets = new Map<SocketId, LocalSocket>();

  const handshake = createHandshake(ctx);
  const forwards = createForwards(ctx);
  const admission = createAdmission(ctx);
  const servable = (s: LocalSocket): boolean => handshake.phase() === 'ready' && forwards.serves(s.local.port);
  const channels = createChannels(ctx);
  const reclaimer = createReclaimer(ctx, channels, () => admission.count(servable));

  /** What a channel step left to do, done once the step is over (channels.ts: ChannelFollowUps). */
  const after = (f: ChannelFollowUps): void => {
    for (const s of f.released) sockets.delete(s.socket);
    if (f.retry) admission.retry(f.retry);
    if (f.activityChanged) reclaimer.changed();
    if (f.slotsChanged) pump();
  };

  const wsmanPorts = new Set(options.reclaim.ports);
  const forWsman = (port: number): boolean => wsmanPorts.has(port);
  /** A closing channel's slot is on its way back: it is not held for fair sharing. */
  const holdsSlot = (ch: Channel): boolean => ch.phase !== 'closing';
  /** The channels holding slots, as fair sharing sees them. */
  const slotHolders = (): SlotHolder<Channel>[] => {
    const held: SlotHolder<Channel>[] = [];
    for (const ch of channels.all()) {
      if (!holdsSlot(ch)) continue;
      const open = ch.phase === 'open';
      held.push({ channel: ch, owner: ch.client.owner, wsman: forWsman(ch.client.local.port), open, openedAt: open ? ch.openedAt : Number.POSITIVE_INFINITY });
    }
    return held;
  };
  const holdsOf = (owner: SocketOwner): number => {
    let n = 0;
    for (const ch of channels.all()) if (holdsSlot(ch) && ch.client.owner === owner) n++;
    return n;
  };
  /** The last free slot waits for a WS-Man socket while one waits and no channel carries a WS-Man port. */
  const lastSlotKept = (): boolean =>
    channels.size === options.maxChannels - 1 && admission.size > 0 && lastSlotKeptForWsman(slotHolders(), admission.waiters(servable, forWsman));
  const servableForWsman = (s: LocalSocket): boolean => servable(s) && forWsman(s.local.port);

  /** Open a channel for the next servable socket while the ME has a slot and no open is pending. */
  const pump = (): void => {
    // Once the ME serves a socket's port again, it waits for a slot, however long: the hold
    // started at a reset is for an ME that does not come back, not for slow channels (issue #14).
    admission.unholdServable(servable);
    while (handshake.phase() === 'ready' && channels.opening === undefined && !admission.backingOff && channels.size < options.maxChannels) {
      const s = admission.next(lastSlotKept() ? servableForWsman : servable, holdsOf);
      if (!s) break;
      channels.open(s);
    }
    shareSlots();
    reclaimer.arm();
  };

  /** Every slot taken, none on its way back, and a user waits that fair sharing serves: take one back. */
  const shareSlots = (): void => {
    if (handshake.phase() !== 'ready' || channels.size < options.maxChannels || admission.size === 0) return;
    for (const ch of channels.all()) if (!holdsSlot(ch)) return;
    const r = shareReclaim(slotHolders(), admission.waiters(servable, forWsman));
    if (r?.channel.phase !== 'open') return;
    const c = r.channel.client;
    event({ type: 'channel-reclaimed', id: r.channel.id, socket: c.socket, port: c.local.port, owner: r.owner, why: r.why, for: r.for });
    emit({ kind: 'destroy', socket: c.socket });
    channels.abandon(r.channel);
  };

  /** Every channel id is stale once the link is gone: sockets are destroyed, listeners stay. */
  const teardown = (reason: string): void => {
    after(channels.linkLost(reason));
    admission.linkLost();
    forwards.reset();
    handshake.reset();
    reclaimer.cancel();
    if (handshake.phase() !== 'disconnected') handshake.setPhase('disconnected', reason);
  };

  /** DISCONNECT, tear down, and connect again: the ME replays its handshake on the new link. */
  const endSession = (reason: number, detail: string): void => {
    ctx.send(disconnect(reason));
    teardown(detail);
    emit({ kind: 'reconnect', reason: detail });
  };

  /** A message the handshake does not allow yet ends the session (Intel LMS does the same). */
  const fatal = (reason: number, detail: string): void => {
    ctx.violation('before-handshake', detail);
    endSession(reason, detail);
  };

  /** What a handshake step left: serve the waiting sockets once ready, or end the session. */
  const afterHandshake = (o: HandshakeOutcome): void => {
    if (o?.kind === 'ready') return pump();
    if (o?.kind !== 'end') return;
    if (o.fatal) return fatal(o.reason, o.detail);
    endSession(o.reason, o.detail);
  };

  /** Stop in order: CLOSE for every open channel, its socket ended after pending writes; refuse the rest. */
  const shutdown = (): void => {
    stopping = true;
    after(channels.shutdown());
    reclaimer.cancel();
    for (const s of admission.drain()) {
      emit({ kind: 'destroy', socket: s.socket });
      event({ type: 'connection-refused', socket: s.socket, peer: s.peer, owner: s.owner, reason: 'the service is stopping' });
    }
    sockets.clear();
    handshake.reset();
  };

  const onMessage = (m: ApfMessage, size: number): void => {
    if (handshake.phase() === 'disconnected') return event({ type: 'ignored', detail: `${m.type} while disconnected` });
    switch (m.type) {
      case 'protocol-version':
        return afterHandshake(handshake.onProtocolVersion(m));
      case 'service-request':
        return afterHandshake(handshake.onServiceRequest(m.service));
      case 'userauth-request':
        return afterHandshake(handshake.onUserauthRequest());
      case 'disconnect':
        teardown(`ME sent DISCONNECT reason ${m.reason} (${disconnectReasonName(m.reason)})`);
        return emit({ kind: 'reconnect', reason: 'ME disconnected' });
      case 'keepalive-request':
        return ctx.send({ type: 'keepalive-reply', cookie: m.cookie });
      case 'keepalive-options-request':
        return ctx.send({ type: 'keepalive-options-reply', interval: m.interval, timeout: m.timeout });
      default:
        break;
    }
    if (handshake.phase() !== 'ready') {
      const gated = m.type === 'global-request' || m.type.startsWith('channel-');
      if (gated) return fatal(DisconnectReason.ProtocolError, `${m.type} before the pfwd service was accepted`);
      return ctx.violation('unexpected-message', `${m.type} from the ME (ignored)`);
    }
    switch (m.type) {
      case 'global-request':
        if (forwards.onGlobalRequest(m)) pump();
        return;
      case 'channel-open':
        return channels.onChannelOpen(m);
      case 'channel-open-confirmation':
        return after(channels.onOpenConfirmation(m));
      case 'channel-open-failure':
        return after(channels.onOpenFailure(m));
      case 'channel-window-adjust':
        return channels.onWindowAdjust(m);
      case 'channel-data':
        return after(channels.onData(m, size));
      case 'channel-close':
        return after(channels.onClose(m));
      default:
        return ctx.violation('unexpected-message', `${m.type} from the ME (ignored)`);
    }
  };

  const onAccepted = (socket: SocketId, local: Endpoint, peer: Endpoint, owner: SocketOwner): void => {
    const { queued, evicted } = admission.admit(socket, local, peer, owner, servable);
    if (evicted) sockets.delete(evicted.socket);
    if (!queued) return;
    sockets.set(socket, queued);
    pump();
  };

  /** The socket's channel, or undefined while it waits. */
  const channelOf = (s: LocalSocket) => (s.channel === undefined ? undefined : channels.get(s.channel));

  const onSocket = (input: Extract<SessionInput, { socket: SocketId }>): void => {
    const s = sockets.get(input.socket);
    if (!s) return;
    const ch = channelOf(s);
    switch (input.kind) {
      case 'socket-data':
        return ch ? after(channels.socketData(ch, input.data)) : admission.data(s, input.data);
      case 'socket-end':
        if (ch) return channels.socketEnd(ch);
        if (admission.end(s)) sockets.delete(input.socket);
        return;
      case 'socket-closed':
        sockets.delete(input.socket);
        return ch ? channels.socketClosed(ch) : admission.remove(s);
      case 'socket-written':
        if (ch) channels.socketWritten(ch, input.bytes);
        return;
    }
  };

  const onTimer = (key: TimerKey): void => {
    switch (key.kind) {
      case 'version':
        return handshake.versionTimeout();
      case 'open-retry':
        admission.retryDue();
        return pump();
      case 'reclaim':
        return reclaimer.due();
      case 'hold':
        if (admission.holdExpired(key.socket)) sockets.delete(key.socket);
        return;
      case 'close':
        return after(channels.closeUnanswered(key.channel));
    }
  };

  const dispatch = (input: SessionInput): void => {
    if (stopping && input.kind === 'accepted') return emit({ kind: 'destroy', socket: input.socket });
    switch (input.kind) {
      case 'shutdown':
        return shutdown();
      case 'connected':
        maxMsgLength = input.maxMsgLength;
        return handshake.connected();
      case 'disconnected':
        return teardown(input.reason);
      case 'message':
        return onMessage(input.message, input.size);
      case 'decode-error':
        if (input.error.kind === 'unknown-type') return event({ type: 'ignored', detail: describeDecodeError(input.error) });
        return ctx.violation('decode-error', `malformed message from the ME (${input.size} bytes, ignored): ${describeDecodeError(input.error)}`);
      case 'listening':
        if (forwards.onListening(input.port, input.bound, input.error)) pump();
        return;
      case 'accepted':
        return onAccepted(input.socket, input.local, input.peer, input.owner ?? UNKNOWN_OWNER);
      case 'timer':
        return onTimer(input.key);
      default:
        return onSocket(input);
    }
  };

  const users = (): SessionSnapshot['users'] => {
    const holding = holdings(slotHolders());
    const waiting = admission.perOwner();
    const owners = new Set([...holding.keys(), ...waiting.keys()]);
    return [...owners].sort((a, b) => a - b).map((owner) => ({ owner, holding: holding.get(owner) ?? 0, waiting: waiting.get(owner) ?? 0 }));
  };

  return {
    step(input) {
      out = [];
      dispatch(input);
      return out;
    },
    snapshot: () => ({
      phase: handshake.phase(),
      forwards: forwards.forwarded(),
      listening: forwards.listening(),
      channels: [...channels.all()].map((c) => ({
        id: c.id,
        ...(c.phase === 'opening' ? {} : { meId: c.meId }),
        socket: c.client.socket,
        owner: c.client.owner,
        phase: c.phase,
        txBuffered: c.client.unsent.length,
        bytesToMe: c.client.bytesToMe,
        bytesFromMe: c.client.bytesFromMe,
      })),
      queued: admission.size,
      users: users(),
      ...(channels.opening === undefined ? {} : { pendingOpen: channels.opening }),
    }),
  };
};
