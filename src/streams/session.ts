/**
 * The LMS side of an APF session (apf.md §2-§4, §8) as a step function: one input in, the
 * effects it causes out. State lives in the closure of `createSession`, one per subscription.
 *
 * Messages handled: PROTOCOLVERSION, SERVICE_REQUEST, USERAUTH_REQUEST, GLOBAL_REQUEST
 * (tcpip-forward, cancel-tcpip-forward, udp-send-to), CHANNEL_OPEN (direct-tcpip notifications),
 * CHANNEL_OPEN_CONFIRMATION/FAILURE, WINDOW_ADJUST, CHANNEL_DATA, CHANNEL_CLOSE, KEEPALIVE_*,
 * DISCONNECT. It opens one forwarded-tcpip channel per accepted local socket.
 */
import { describeDecodeError } from '../codecs/errors.js';
import {
  channelOpen,
  disconnect,
  openConfirmation,
  openFailure,
  protocolVersion,
  requestFailure,
  requestSuccess,
  serviceAccept,
  userauthSuccess,
  type ApfMessage,
  type ChannelOpen,
  type GlobalRequest,
} from '../codecs/messages.js';
import { DisconnectReason, OpenFailureReason, openFailureReasonName, Service, TriggerReason } from '../codecs/opcodes.js';
import { ByteQueue } from './byteQueue.js';
import {
  abandonChannel,
  addWindow,
  closeOnce,
  closeTimerKey,
  creditWritten,
  flushChannel,
  holdChannelBytes,
  receiveData,
  type Channel,
  type FlowContext,
  type OpenChannel,
  type QueuedSocket,
  type Waiting,
} from './channelFlow.js';
import { isLoopbackAddress } from './loopback.js';
import { createNotificationChannel, type NotificationChannel } from './notificationChannel.js';
import { clientSpoke, meSpoke, reclaimDeadline, startActivity } from './reclaim.js';
import type {
  ChannelCloseReason,
  Endpoint,
  LmsEvent,
  ProtocolViolation,
  SessionEffect,
  SessionInput,
  SessionOptions,
  SessionPhase,
  SocketId,
} from './sessionTypes.js';

/** A GLOBAL_REQUEST reply: replies go out in request order, some wait for a bind. */
interface PendingReply {
  readonly port?: number;
  readonly wantReply: boolean;
  message?: ApfMessage;
}

export interface SessionSnapshot {
  readonly phase: SessionPhase;
  readonly forwards: readonly number[];
  readonly listening: readonly number[];
  readonly channels: readonly { id: number; meId?: number; socket: SocketId; phase: string; txBuffered: number }[];
  readonly queued: number;
  readonly pendingOpen?: number;
}

export interface Session {
  step(input: SessionInput): SessionEffect[];
  snapshot(): SessionSnapshot;
}

const OUR_VERSION = protocolVersion(TriggerReason.LmeRequest);
const MAX_ID = 0xffff_ffff;
const holdKey = (socket: SocketId): string => `hold:${socket}`;
const RETRY_KEY = 'open-retry';
const VERSION_KEY = 'version';
const RECLAIM_KEY = 'reclaim';

/** `now` is the clock of the reclaim policy: the scheduler's, so marble tests run it in virtual time. */
export const createSession = (options: SessionOptions, now: () => number = Date.now): Session => {
  let phase: SessionPhase = 'disconnected';
  let maxMsgLength = 4096;
  let versionSent = false;
  let versionReceived = false;
  let forwards = new Set<number>();
  const listening = new Map<number, readonly string[]>();
  let replies: PendingReply[] = [];
  const channels = new Map<number, Channel>();
  const bySocket = new Map<SocketId, number>();
  const notifications = new Map<number, NotificationChannel>();
  let queue: QueuedSocket[] = [];
  let pendingOpen: number | undefined;
  let retryWait = false;
  let nextId = 1;
  let stopping = false;
  /** When the reclaim timer is due, while one runs. */
  let reclaimAt: number | undefined;
  const reclaimPorts = new Set(options.reclaim.ports);

  let out: SessionEffect[] = [];
  const emit = (e: SessionEffect): void => void out.push(e);
  const send = (message: ApfMessage): void => emit({ kind: 'send', message });
  const event = (e: LmsEvent): void => emit({ kind: 'event', event: e });
  const violation = (v: ProtocolViolation, detail: string, channel?: number): void =>
    event(channel === undefined ? { type: 'protocol-error', violation: v, detail } : { type: 'protocol-error', violation: v, detail, channel });
  // What the per-channel flow control needs from the session (channelFlow.ts).
  const flow: FlowContext = {
    options,
    get maxMsgLength() {
      return maxMsgLength;
    },
    send,
    emit,
    violation,
  };

  const setPhase = (p: SessionPhase, detail?: string): void => {
    phase = p;
    event(detail === undefined ? { type: 'session', phase: p } : { type: 'session', phase: p, detail });
  };

  // Host ids: never 0, never one still in use; the counter wraps only after 2^32-1 channels.
  const allocId = (): number => {
    for (;;) {
      const id = nextId;
      nextId = nextId === MAX_ID ? 1 : nextId + 1;
      if (!channels.has(id) && !notifications.has(id)) return id;
    }
  };

  const channelClosed = (ch: Channel, reason: ChannelCloseReason, detail?: string): void => {
    channels.delete(ch.id);
    bySocket.delete(ch.socket);
    const e: LmsEvent = { type: 'channel-closed', id: ch.id, socket: ch.socket, reason, bytesToMe: ch.bytesToMe, bytesFromMe: ch.bytesFromMe };
    event(detail === undefined ? e : { ...e, detail });
  };

  // ---- the session's lifetime -------------------------------------------------------------

  /** Every channel id is stale once the link is gone: sockets are destroyed, listeners stay. */
  const teardown = (reason: string): void => {
    for (const ch of [...channels.values()]) {
      if (ch.phase === 'open' && ch.closeSent) emit({ kind: 'cancel-timer', key: closeTimerKey(ch) });
      if (!ch.socketGone) emit({ kind: 'destroy', socket: ch.socket });
      channelClosed(ch, 'session-lost', reason);
    }
    notifications.clear();
    if (pendingOpen !== undefined || retryWait) emit({ kind: 'cancel-timer', key: RETRY_KEY });
    pendingOpen = undefined;
    retryWait = false;
    forwards = new Set();
    replies = [];
    versionSent = false;
    versionReceived = false;
    emit({ kind: 'cancel-timer', key: VERSION_KEY });
    cancelReclaim();
    for (const q of queue) hold(q);
    if (phase !== 'disconnected') setPhase('disconnected', reason);
  };

  /** DISCONNECT, tear down, and connect again: the ME replays its handshake on the new link. */
  const endSession = (reason: number, detail: string): void => {
    send(disconnect(reason));
    teardown(detail);
    emit({ kind: 'reconnect', reason: detail });
  };

  /** A message the handshake does not allow yet ends the session (Intel LMS does the same). */
  const fatal = (reason: number, detail: string): void => {
    violation('before-handshake', detail);
    endSession(reason, detail);
  };

  // ---- handshake -------------------------------------------------------------------------

  const onProtocolVersion = (m: Extract<ApfMessage, { type: 'protocol-version' }>): void => {
    event({ type: 'me-version', major: m.major, minor: m.minor, triggerReason: m.triggerReason, uuid: m.uuid });
    if (versionReceived) return violation('unexpected-message', 'a second PROTOCOLVERSION in one session (ignored)');
    versionReceived = true;
    if (m.major < 1) return endSession(DisconnectReason.ProtocolVersionNotSupported, `ME speaks APF ${m.major}.${m.minor}; 1.0 is the oldest supported`);
    emit({ kind: 'cancel-timer', key: VERSION_KEY });
    if (!versionSent) {
      versionSent = true;
      send(OUR_VERSION);
    }
    if (phase === 'awaiting-version') setPhase('awaiting-service');
  };

  const onServiceRequest = (service: string): void => {
    if (!versionReceived) return fatal(DisconnectReason.ProtocolError, `SERVICE_REQUEST ${service} before PROTOCOLVERSION`);
    if (service !== Service.Pfwd && service !== Service.Auth) return endSession(DisconnectReason.ServiceNotAvailable, `ME asked for unknown service ${service}`);
    send(serviceAccept(service));
    if (service === Service.Pfwd && phase !== 'ready') {
      setPhase('ready');
      pump();
    }
  };

  // ---- global requests ---------------------------------------------------------------------

  const flushReplies = (): void => {
    while (replies.length > 0 && replies[0]!.message !== undefined) {
      const r = replies.shift()!;
      if (r.wantReply) send(r.message!);
    }
  };

  const onGlobalRequest = (m: GlobalRequest): void => {
    switch (m.request) {
      case 'tcpip-forward': {
        // Whatever address the ME names (0.0.0.0 and :: included), we bind loopback only.
        const bound = listening.get(m.port);
        if (bound && bound.length > 0) {
          forwards.add(m.port);
          event({ type: 'forward', port: m.port, ok: true, bound });
          replies.push({ wantReply: m.wantReply, message: requestSuccess(m.port) });
          flushReplies();
          pump();
          return;
        }
        replies.push({ port: m.port, wantReply: m.wantReply });
        emit({ kind: 'listen', port: m.port });
        return;
      }
      case 'cancel-tcpip-forward': {
        const known = forwards.delete(m.port) || listening.has(m.port);
        if (known) {
          listening.delete(m.port);
          emit({ kind: 'unlisten', port: m.port });
          event({ type: 'forward', port: m.port, ok: true, bound: [], cancelled: true });
        }
        replies.push({ wantReply: m.wantReply, message: known ? requestSuccess() : requestFailure });
        return flushReplies();
      }
      case 'udp-send-to@amt.intel.com': {
        const ok = isLoopbackAddress(m.address);
        if (ok) {
          emit({ kind: 'udp-send', address: m.address, port: m.port, data: m.data });
          event({ type: 'udp-sent', address: m.address, port: m.port, bytes: m.data.length });
        } else violation('unexpected-message', `udp-send-to ${m.address}:${m.port} refused: not a loopback address`);
        replies.push({ wantReply: m.wantReply, message: ok ? requestSuccess() : requestFailure });
        return flushReplies();
      }
      case 'unknown':
        event({ type: 'ignored', detail: `GLOBAL_REQUEST ${JSON.stringify(m.name)}` });
        replies.push({ wantReply: m.wantReply, message: requestFailure });
        return flushReplies();
    }
  };

  const onListening = (port: number, bound: readonly string[], error?: string): void => {
    if (bound.length > 0) listening.set(port, bound);
    else listening.delete(port);
    const pending = replies.find((r) => r.port === port && r.message === undefined);
    if (!pending) return; // a reservation made before the ME asked, or a request from a lost session
    const ok = bound.length > 0;
    pending.message = ok ? requestSuccess(port) : requestFailure;
    if (ok) forwards.add(port);
    // A port taken on this host is a local matter, not the ME's error: the forward event says it.
    event(ok ? { type: 'forward', port, ok, bound } : { type: 'forward', port, ok, bound, error: error ?? 'no loopback address could be bound' });
    flushReplies();
    if (ok) pump();
  };

  // ---- local sockets and channel opens -------------------------------------------------------

  const canServe = (q: QueuedSocket): boolean => phase === 'ready' && forwards.has(q.local.port);

  /** A socket the ME cannot serve now waits at most `holdMs` for the ME to come back. */
  const hold = (q: QueuedSocket): void => {
    q.held = true;
    emit({ kind: 'start-timer', key: holdKey(q.socket), ms: options.holdMs });
  };
  const unhold = (q: QueuedSocket): void => {
    if (!q.held) return;
    q.held = false;
    emit({ kind: 'cancel-timer', key: holdKey(q.socket) });
  };

  /** Takes the socket at `i` out of the queue; its hold timer, if any, goes with it. */
  const unqueue = (i: number): QueuedSocket => {
    const [q] = queue.splice(i, 1) as [QueuedSocket];
    unhold(q);
    return q;
  };

  const pump = (): void => {
    // Once the ME serves a socket's port again, it waits for a slot, however long: the hold
    // started at a reset is for an ME that does not come back, not for slow channels (issue #14).
    for (const q of queue) if (q.held && canServe(q)) unhold(q);
    while (phase === 'ready' && pendingOpen === undefined && !retryWait && channels.size < options.maxChannels) {
      const i = queue.findIndex(canServe);
      if (i < 0) return cancelReclaim();
      const q = unqueue(i);
      const id = allocId();
      channels.set(id, {
        phase: 'opening',
        id,
        socket: q.socket,
        local: q.local,
        peer: q.peer,
        attempts: q.attempts,
        tx: q.tx,
        localEnded: q.ended,
        socketGone: false,
        paused: q.paused,
        bytesToMe: 0,
        bytesFromMe: 0,
      });
      bySocket.set(q.socket, id);
      pendingOpen = id;
      send(
        channelOpen({
          sender: id,
          window: options.window,
          address: q.local.address,
          port: q.local.port,
          originatorAddress: q.peer.address,
          originatorPort: q.peer.port,
        }),
      );
    }
    armReclaim();
  };

  // ---- taking back quiet channels while others wait (reclaim.ts) ------------------------------

  const cancelReclaim = (): void => {
    if (reclaimAt === undefined) return;
    reclaimAt = undefined;
    emit({ kind: 'cancel-timer', key: RECLAIM_KEY });
  };

  /** Slots still to take back: sockets the ME would serve now that wait only for a slot of ours, less the channels already closing. */
  const slotsNeeded = (): number => {
    if (channels.size < options.maxChannels) return 0;
    let n = 0;
    for (const q of queue) if (canServe(q)) n++;
    for (const ch of channels.values()) if (ch.phase === 'open' && ch.closeSent) n--;
    return n;
  };

  const reclaimCandidates = (): { ch: OpenChannel; at: number; why: 'idle' | 'no-answer'; since: number }[] => {
    const found = [];
    for (const ch of channels.values()) {
      if (ch.phase !== 'open' || ch.closeSent || !ch.activity) continue;
      const d = reclaimDeadline(ch.activity, options.reclaim);
      if (d) found.push({ ch, ...d });
    }
    return found.sort((a, b) => a.at - b.at);
  };

  /** While a socket waits for a slot, a timer runs to the earliest moment a channel can be taken back. */
  const armReclaim = (): void => {
    const first = slotsNeeded() > 0 ? reclaimCandidates()[0] : undefined;
    if (!first) return cancelReclaim();
    if (reclaimAt === first.at) return;
    reclaimAt = first.at;
    emit({ kind: 'start-timer', key: RECLAIM_KEY, ms: Math.max(0, first.at - now()) });
  };

  const reclaimDue = (): void => {
    reclaimAt = undefined;
    const t = now();
    let need = slotsNeeded();
    for (const c of reclaimCandidates()) {
      if (need <= 0 || c.at > t) break;
      need--;
      event({ type: 'channel-reclaimed', id: c.ch.id, socket: c.ch.socket, port: c.ch.local.port, why: c.why, quietMs: t - c.since });
      emit({ kind: 'destroy', socket: c.ch.socket });
      abandonChannel(c.ch, flow);
    }
    armReclaim();
  };

  const onAccepted = (socket: SocketId, local: Endpoint, peer: Endpoint): void => {
    const refuse = (reason: string): void => {
      emit({ kind: 'destroy', socket });
      event({ type: 'connection-refused', socket, peer, reason });
    };
    if (!isLoopbackAddress(peer.address)) return refuse(`peer ${peer.address} is not a loopback address`);
    if (queue.length >= options.maxQueue) return refuse(`${queue.length} connections already wait for a channel`);
    const q: QueuedSocket = { socket, local, peer, attempts: 0, tx: new ByteQueue(), ended: false, paused: false, held: false };
    queue.push(q);
    if (!canServe(q)) hold(q);
    pump();
  };

  const onHoldExpired = (socket: SocketId): void => {
    const i = queue.findIndex((q) => q.socket === socket);
    if (i < 0) return;
    const [q] = queue.splice(i, 1) as [QueuedSocket];
    emit({ kind: 'destroy', socket });
    event({ type: 'connection-refused', socket, peer: q.peer, reason: `no ME service for port ${q.local.port} within ${options.holdMs} ms` });
  };

  const onOpenConfirmation = (m: Extract<ApfMessage, { type: 'channel-open-confirmation' }>): void => {
    const ch = channels.get(m.recipient);
    if (!ch || ch.phase !== 'opening') return violation('unknown-channel', `OPEN_CONFIRMATION for ${m.recipient}, which is not opening`, m.recipient);
    pendingOpen = undefined;
    // Every field spelled out: a spread of the opening record took ~15 µs per channel (V8's slow
    // object-clone path), a tenth of lms's whole cost per connection.
    const open: OpenChannel = {
      id: ch.id,
      socket: ch.socket,
      local: ch.local,
      peer: ch.peer,
      attempts: ch.attempts,
      tx: ch.tx,
      localEnded: ch.localEnded,
      socketGone: ch.socketGone,
      paused: ch.paused,
      bytesToMe: ch.bytesToMe,
      bytesFromMe: ch.bytesFromMe,
      phase: 'open',
      meId: m.sender,
      txWindow: m.window,
      txUncredited: 0,
      rxWindow: options.window,
      rxCredit: 0,
      stalled: false,
      closeSent: false,
      activity: reclaimPorts.has(ch.local.port) ? startActivity(now(), ch.tx.length > 0) : undefined,
    };
    channels.set(ch.id, open);
    event({ type: 'channel-opened', id: ch.id, meId: m.sender, socket: ch.socket, local: ch.local, peer: ch.peer, meWindow: m.window });
    if (ch.socketGone) {
      // The client left while the open was pending: close right away, nothing to forward.
      abandonChannel(open, flow);
    } else flushTx(open);
    pump();
  };

  const onOpenFailure = (m: Extract<ApfMessage, { type: 'channel-open-failure' }>): void => {
    const ch = channels.get(m.recipient);
    if (!ch || ch.phase !== 'opening') return violation('unknown-channel', `OPEN_FAILURE for ${m.recipient}, which is not opening`, m.recipient);
    pendingOpen = undefined;
    channels.delete(ch.id);
    bySocket.delete(ch.socket);
    const transient = m.reason === OpenFailureReason.ResourceShortage || m.reason === OpenFailureReason.AdministrativelyProhibited;
    if (transient && !ch.socketGone && ch.attempts < options.openRetries) {
      // AMT frees slots only on CLOSE and races its own forwards: try again, backing off.
      queue.unshift({ socket: ch.socket, local: ch.local, peer: ch.peer, attempts: ch.attempts + 1, tx: ch.tx, ended: ch.localEnded, paused: ch.paused, held: false });
      retryWait = true;
      emit({ kind: 'start-timer', key: RETRY_KEY, ms: options.openRetryMs * 2 ** ch.attempts });
      return;
    }
    if (!ch.socketGone) emit({ kind: 'destroy', socket: ch.socket });
    const e: LmsEvent = {
      type: 'channel-closed',
      id: ch.id,
      socket: ch.socket,
      reason: 'open-failed',
      bytesToMe: 0,
      bytesFromMe: 0,
      detail: `${openFailureReasonName(m.reason)} after ${ch.attempts + 1} attempt(s)`,
    };
    event(e);
    pump();
  };

  // ---- flow control and close ordering --------------------------------------------------------

  const flushTx = (ch: OpenChannel): void => flushChannel(ch, flow);
  const holdBytes = (w: Waiting, data: Buffer): void => holdChannelBytes(w, data, flow);

  const onSocketData = (socket: SocketId, data: Buffer): void => {
    const queued = queue.find((q) => q.socket === socket);
    if (queued) return queued.ended ? undefined : holdBytes(queued, data);
    const ch = channels.get(bySocket.get(socket) ?? 0);
    if (!ch || ch.localEnded || ch.socketGone) return;
    if (ch.phase === 'opening') return holdBytes(ch, data);
    if (!ch.closeSent) {
      // A change of rule can bring a deadline forward: the timer, if one runs, follows it.
      if (ch.activity && clientSpoke(ch.activity, now()) && reclaimAt !== undefined) armReclaim();
      ch.tx.push(data);
      flushTx(ch);
    }
  };

  const onSocketEnd = (socket: SocketId): void => {
    const i = queue.findIndex((q) => q.socket === socket);
    if (i >= 0) {
      const q = queue[i]!;
      if (q.tx.length > 0) return void (q.ended = true); // a request, then FIN: it is still served
      // Connected and closed without a byte: nothing to forward, so no channel is spent on it.
      unqueue(i);
      emit({ kind: 'destroy', socket });
      return;
    }
    const ch = channels.get(bySocket.get(socket) ?? 0);
    if (!ch) return;
    ch.localEnded = true;
    if (ch.phase === 'open') flushTx(ch);
  };

  const onSocketClosed = (socket: SocketId): void => {
    const queued = queue.findIndex((q) => q.socket === socket);
    if (queued >= 0) return void unqueue(queued);
    const ch = channels.get(bySocket.get(socket) ?? 0);
    if (!ch) return;
    if (ch.phase === 'open') abandonChannel(ch, flow);
    else ch.socketGone = true;
  };

  const onSocketWritten = (socket: SocketId, bytes: number): void => {
    const ch = channels.get(bySocket.get(socket) ?? 0);
    if (ch?.phase === 'open') creditWritten(ch, bytes, flow);
  };

  const onChannelData = (m: Extract<ApfMessage, { type: 'channel-data' }>, size: number): void => {
    const note = notifications.get(m.recipient);
    if (note) return void note.data(m.data).forEach(send);
    const ch = channels.get(m.recipient);
    if (!ch || ch.phase !== 'open') return violation('unknown-channel', `CHANNEL_DATA for unknown channel ${m.recipient} (dropped)`, m.recipient);
    if (ch.activity && m.data.length > 0 && meSpoke(ch.activity, now()) && reclaimAt !== undefined) armReclaim();
    receiveData(ch, m.data, size, flow);
  };

  const onWindowAdjust = (m: Extract<ApfMessage, { type: 'channel-window-adjust' }>): void => {
    const note = notifications.get(m.recipient);
    if (note) return void note.adjust(m.bytesToAdd).forEach(send);
    const ch = channels.get(m.recipient);
    if (!ch || ch.phase !== 'open') return violation('unknown-channel', `WINDOW_ADJUST for unknown channel ${m.recipient}`, m.recipient);
    addWindow(ch, m.bytesToAdd, flow);
  };

  const onChannelClose = (recipient: number): void => {
    const note = notifications.get(recipient);
    if (note) {
      note.close().forEach(send);
      notifications.delete(recipient);
      return;
    }
    const ch = channels.get(recipient);
    // AMT replays stale CLOSEs (id 0 after a reset): match on id and state, never answer them.
    if (!ch || ch.phase !== 'open') return violation('stale-close', `CHANNEL_CLOSE for ${recipient}, which is not open (ignored)`, recipient);
    if (ch.closeSent) emit({ kind: 'cancel-timer', key: closeTimerKey(ch) });
    else closeOnce(ch, flow, false);
    ch.tx.clear();
    if (!ch.socketGone) emit({ kind: 'end', socket: ch.socket });
    channelClosed(ch, 'closed');
    pump();
  };

  const onChannelOpen = (m: ChannelOpen): void => {
    if (m.channelType === 'direct-tcpip' && m.port === 0) {
      const id = allocId();
      const note = createNotificationChannel({ id, meId: m.sender, meWindow: m.window, window: options.window, maxMsgLength, onRequest: (request) => event({ type: 'notification', meId: m.sender, request }) });
      notifications.set(id, note);
      send(openConfirmation(m.sender, id, options.window));
      return;
    }
    // A proxy to loopback only: no outbound connections on the ME's behalf (MicroLMS does the same).
    const reason = m.channelType === 'unknown' ? OpenFailureReason.UnknownChannelType : m.channelType === 'direct-tcpip' ? OpenFailureReason.ConnectFailed : OpenFailureReason.AdministrativelyProhibited;
    event({ type: 'ignored', detail: `ME-opened ${m.channelType === 'unknown' ? m.name : m.channelType} channel refused (${openFailureReasonName(reason)})` });
    send(openFailure(m.sender, reason));
  };

  // ---- dispatch --------------------------------------------------------------------------------

  const onMessage = (m: ApfMessage, size: number): void => {
    if (phase === 'disconnected') return void event({ type: 'ignored', detail: `${m.type} while disconnected` });
    switch (m.type) {
      case 'protocol-version':
        return onProtocolVersion(m);
      case 'service-request':
        return onServiceRequest(m.service);
      case 'userauth-request':
        if (!versionReceived) return fatal(DisconnectReason.ProtocolError, 'USERAUTH_REQUEST before PROTOCOLVERSION');
        return send(userauthSuccess);
      case 'disconnect':
        teardown(`ME sent DISCONNECT reason ${m.reason}`);
        return emit({ kind: 'reconnect', reason: 'ME disconnected' });
      case 'keepalive-request':
        return send({ type: 'keepalive-reply', cookie: m.cookie });
      case 'keepalive-options-request':
        return send({ type: 'keepalive-options-reply', interval: m.interval, timeout: m.timeout });
      default:
        break;
    }
    if (phase !== 'ready') {
      const gated = m.type === 'global-request' || m.type.startsWith('channel-');
      if (gated) return fatal(DisconnectReason.ProtocolError, `${m.type} before the pfwd service was accepted`);
      return violation('unexpected-message', `${m.type} from the ME (ignored)`);
    }
    switch (m.type) {
      case 'global-request':
        return onGlobalRequest(m);
      case 'channel-open':
        return onChannelOpen(m);
      case 'channel-open-confirmation':
        return onOpenConfirmation(m);
      case 'channel-open-failure':
        return onOpenFailure(m);
      case 'channel-window-adjust':
        return onWindowAdjust(m);
      case 'channel-data':
        return onChannelData(m, size);
      case 'channel-close':
        return onChannelClose(m.recipient);
      default:
        return violation('unexpected-message', `${m.type} from the ME (ignored)`);
    }
  };

  const onTimer = (key: string): void => {
    if (key === VERSION_KEY) {
      // The ME stays silent: speak first (rpc-go does; the ME tolerates it), exactly once.
      if (phase === 'awaiting-version' && !versionSent) {
        versionSent = true;
        send(OUR_VERSION);
      }
    } else if (key === RETRY_KEY) {
      retryWait = false;
      pump();
    } else if (key === RECLAIM_KEY) reclaimDue();
    else if (key.startsWith('hold:')) onHoldExpired(Number(key.slice(5)));
    else if (key.startsWith('close:')) onCloseUnanswered(Number(key.slice(6)));
  };

  const onCloseUnanswered = (id: number): void => {
    const ch = channels.get(id);
    if (ch?.phase !== 'open' || !ch.closeSent) return;
    violation('close-unanswered', `the ME did not answer CLOSE on channel ${id} within ${options.closeTimeoutMs} ms; its slot is given up`, id);
    if (!ch.socketGone) emit({ kind: 'destroy', socket: ch.socket });
    channelClosed(ch, 'close-unanswered');
    pump();
  };

  /** Stop in order: CLOSE for every open channel, its socket ended after pending writes; refuse the rest. */
  const shutdown = (): void => {
    stopping = true;
    for (const ch of [...channels.values()]) {
      if (ch.phase === 'open') closeOnce(ch, flow, false);
      if (!ch.socketGone) emit({ kind: ch.phase === 'open' ? 'end' : 'destroy', socket: ch.socket });
      channelClosed(ch, 'shutdown');
    }
    cancelReclaim();
    for (const q of queue) {
      unhold(q);
      emit({ kind: 'destroy', socket: q.socket });
      event({ type: 'connection-refused', socket: q.socket, peer: q.peer, reason: 'the service is stopping' });
    }
    queue = [];
    pendingOpen = undefined;
    emit({ kind: 'cancel-timer', key: RETRY_KEY });
    emit({ kind: 'cancel-timer', key: VERSION_KEY });
  };

  const dispatch = (input: SessionInput): void => {
    if (stopping && input.kind === 'accepted') return void emit({ kind: 'destroy', socket: input.socket });
    switch (input.kind) {
      case 'shutdown':
        return shutdown();
      case 'connected':
        maxMsgLength = input.maxMsgLength;
        setPhase('awaiting-version');
        return emit({ kind: 'start-timer', key: VERSION_KEY, ms: options.versionTimeoutMs });
      case 'disconnected':
        return teardown(input.reason);
      case 'message':
        return onMessage(input.message, input.size);
      case 'decode-error':
        if (input.error.kind === 'unknown-type') return void event({ type: 'ignored', detail: describeDecodeError(input.error) });
        return violation('decode-error', `malformed message from the ME (${input.size} bytes, ignored): ${describeDecodeError(input.error)}`);
      case 'listening':
        return onListening(input.port, input.bound, input.error);
      case 'accepted':
        return onAccepted(input.socket, input.local, input.peer);
      case 'socket-data':
        return onSocketData(input.socket, input.data);
      case 'socket-end':
        return onSocketEnd(input.socket);
      case 'socket-closed':
        return onSocketClosed(input.socket);
      case 'socket-written':
        return onSocketWritten(input.socket, input.bytes);
      case 'timer':
        return onTimer(input.key);
    }
  };

  return {
    step(input) {
      out = [];
      dispatch(input);
      return out;
    },
    snapshot: () => ({
      phase,
      forwards: [...forwards],
      listening: [...listening.keys()],
      channels: [...channels.values()].map((c) => ({
        id: c.id,
        ...(c.phase === 'open' ? { meId: c.meId } : {}),
        socket: c.socket,
        phase: c.phase === 'open' && c.closeSent ? 'closing' : c.phase,
        txBuffered: c.tx.length,
      })),
      queued: queue.length,
      ...(pendingOpen === undefined ? {} : { pendingOpen }),
    }),
  };
};
