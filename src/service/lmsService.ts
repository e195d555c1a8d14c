/**
 * The I/O shell around the session: it connects the device (reconnecting with backoff), binds the
 * loopback listeners, turns socket events into session inputs, and carries out the session's
 * effects. Protocol decisions live in the session; this file only does what it is told.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { BehaviorSubject, Subject, filter, firstValueFrom, map, type Observable, type Subscription } from 'rxjs';
import { decodeApf } from '../codecs/decode.js';
import { slabEncoder } from '../codecs/encode.js';
import { describeDecodeError } from '../codecs/errors.js';
import { DeviceError, type MeConnection, type MeDevice } from '../device/transport.js';
import { bindAddressProblem } from '../streams/loopback.js';
import { runSession } from '../streams/runSession.js';
import type { Session, SessionSnapshot } from '../streams/session.js';
import { sessionOptionsProblem, type Endpoint, type LmsEvent, type SessionEffect, type SessionInput, type SessionOptions, type SessionPhase, type SocketId } from '../streams/sessionTypes.js';
import { parseAmtAlert, type AmtAlert } from './amtAlert.js';
import { createLogBudget } from './logBudget.js';
import { silentLogger, type Logger } from './logger.js';
import { serialWriter } from './serialWriter.js';

export interface LmsOptions extends Partial<SessionOptions> {
  readonly device: MeDevice;
  /** Loopback addresses to listen on; each is bound independently and may fail alone. */
  readonly bindAddresses?: readonly string[];
  /** Ports bound at start, before the ME asks, and kept across ME resets. */
  readonly reservePorts?: readonly number[];
  /** First reconnect delay; doubles up to `reconnectMaxMs`. */
  readonly reconnectMs?: number;
  readonly reconnectMaxMs?: number;
  /** A socket ended after the ME's CLOSE is destroyed if it has not closed within this time. */
  readonly graceMs?: number;
  /** `stop()` waits at most this long for ended sockets to close. */
  readonly stopTimeoutMs?: number;
  readonly logger?: Logger;
}

export type ChannelActivity =
  | { readonly type: 'to-me'; readonly bytes: number }
  | { readonly type: 'from-me'; readonly bytes: number }
  | { readonly type: 'stalled'; readonly buffered: number }
  | { readonly type: 'closed'; readonly reason: string; readonly bytesToMe: number; readonly bytesFromMe: number; readonly durationMs: number };

/** One forwarded connection, as a library user sees it. */
export interface ChannelHandle {
  readonly id: number;
  readonly meId: number;
  readonly local: Endpoint;
  readonly peer: Endpoint;
  readonly openedAt: number;
  /** Its data counts, flow-control stalls, and finally its close with the reason. Completes then. */
  readonly activity$: Observable<ChannelActivity>;
}

export interface LmsStatus {
  readonly device: string;
  readonly session: SessionSnapshot;
  readonly meVersion?: { major: number; minor: number; uuid: string };
  readonly counters: {
    readonly connects: number;
    readonly resets: number;
    readonly protocolErrors: number;
    readonly channelsOpened: number;
    readonly channelsClosed: number;
    readonly refused: number;
    /** Quiet channels taken back because other clients waited for a slot. */
    readonly reclaimed: number;
    readonly notifications: number;
    /** Times the session threw (a bug) and was started again. */
    readonly sessionFailures: number;
  };
  readonly channels: readonly { id: number; meId: number; local: Endpoint; peer: Endpoint; ageMs: number; bytesToMe: number; bytesFromMe: number }[];
  readonly lastDeviceError?: string;
}

export interface LmsService {
  /** Every session event, as the session reports it. */
  readonly events$: Observable<LmsEvent>;
  readonly phase$: Observable<SessionPhase>;
  /** Each channel as it opens. */
  readonly channels$: Observable<ChannelHandle>;
  /** ME-opened notification channels: the raw HTTP request AMT posted. */
  readonly notifications$: Observable<{ meId: number; request: Buffer }>;
  /** The same events, parsed: message id, arguments, time. */
  readonly alerts$: Observable<AmtAlert>;
  /** Resolves once the session is up and `port` (default: any) is forwarded. Rejects on a permanent device error. */
  ready(port?: number): Promise<void>;
  /** Resolves with the error when the device fails for good (no device, no permission, no LME). */
  failure(): Promise<DeviceError>;
  status(): LmsStatus;
  /** CLOSE every channel, end the sockets, close listeners and the device. */
  stop(): Promise<void>;
}

const LOOPBACK = ['127.0.0.1', '::1'] as const;
/** A hostile ME, or a local flood of connections, can make events faster than a log should take them. */
const WARN_LINES_PER_SECOND = 20;

interface Listener {
  readonly servers: net.Server[];
  readonly bound: string[];
}

export const startLms = (options: LmsOptions): LmsService => {
  const log = options.logger ?? silentLogger;
  const bindAddresses = options.bindAddresses ?? LOOPBACK;
  const optionsProblem = sessionOptionsProblem(options);
  if (optionsProblem) throw new Error(optionsProblem);
  for (const a of bindAddresses) {
    const problem = bindAddressProblem(a);
    if (problem) throw new Error(`refusing to listen on ${a}: ${problem}; lms binds loopback addresses only`);
  }
  const reconnectMs = options.reconnectMs ?? 250;
  const reconnectMaxMs = options.reconnectMaxMs ?? 5_000;
  const graceMs = options.graceMs ?? 5_000;

  const inputs = new Subject<SessionInput>();
  const events$ = new Subject<LmsEvent>();
  const phase$ = new BehaviorSubject<SessionPhase>('disconnected');
  const channels$ = new Subject<ChannelHandle>();
  const alerts$ = new Subject<AmtAlert>();
  const fatal$ = new BehaviorSubject<DeviceError | undefined>(undefined);
  let session: Session | undefined;

  const listeners = new Map<number, Listener>();
  const sockets = new Map<SocketId, net.Socket>();
  let nextSocket = 1;
  let connection: MeConnection | undefined;
  let connectionSub: Subscription | undefined;
  let stopping = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let backoff = reconnectMs;
  let lastDeviceError: string | undefined;
  let meVersion: LmsStatus['meVersion'];
  const counters = { connects: 0, resets: 0, protocolErrors: 0, channelsOpened: 0, channelsClosed: 0, refused: 0, reclaimed: 0, notifications: 0, sessionFailures: 0 };
  /** One warning line per event up to the budget; past it, one summary line a second says how many were left out. */
  const budgetedWarn = (what: string): ((fields: Record<string, unknown>, message: string) => void) => {
    const budget = createLogBudget(WARN_LINES_PER_SECOND);
    return (fields, message) => {
      const left = budget.suppressed();
      if (left > 0) log.warn({ suppressed: left }, `${left} more ${what} were not logged (over ${WARN_LINES_PER_SECOND} a second); lms status counts them all`);
      if (budget.take()) log.warn(fields, message);
    };
  };
  const warnProtocolError = budgetedWarn('protocol errors from the ME');
  const warnRefused = budgetedWarn('refused connections');
  const warnReclaimed = budgetedWarn('reclaimed channels');

  // Per channel: the library handle's subject, and the maps that route effects to it.
  interface Live {
    readonly handle: ChannelHandle;
    readonly activity: Subject<ChannelActivity>;
    bytesToMe: number;
    bytesFromMe: number;
  }
  const live = new Map<number, Live>();
  const liveBySocket = new Map<SocketId, Live>();
  const liveByMeId = new Map<number, Live>();

  const feed = (input: SessionInput): void => inputs.next(input);
  // Messages to the ME share slabs: a full CHANNEL_DATA is just over Node's own pool limit.
  const encode = slabEncoder();
  const enabled = (level: string): boolean => log.isLevelEnabled?.(level) ?? true;

  // The ME data of one turn goes to each socket as one writev with one completion: the ME's
  // messages arrive in batches of max_msg_length - 9 bytes, and a syscall, a callback and a
  // session step per message cost more than the forwarding itself.
  interface TurnWrites {
    readonly socket: net.Socket;
    readonly chunks: Buffer[];
    bytes: number;
  }
  const turnWrites = new Map<SocketId, TurnWrites>();
  const flushSocket = (id: SocketId): void => {
    const t = turnWrites.get(id);
    if (!t) return;
    turnWrites.delete(id);
    const s = t.socket;
    if (s.destroyed) return;
    const last = t.chunks.length - 1;
    s.cork();
    for (let i = 0; i < last; i++) s.write(t.chunks[i]);
    // Callbacks run in write order, so the last one says the whole batch reached the kernel.
    s.write(t.chunks[last], (err) => {
      if (!err) feed({ kind: 'socket-written', socket: id, bytes: t.bytes });
    });
    s.uncork();
  };
  const flushTurn = (): void => {
    for (const id of turnWrites.keys()) flushSocket(id);
  };

  // ---- the device ----------------------------------------------------------------------------

  const scheduleConnect = (delay: number): void => {
    if (stopping || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void connect();
    }, delay);
  };

  const dropConnection = (): void => {
    connectionSub?.unsubscribe();
    connectionSub = undefined;
    const c = connection;
    connection = undefined;
    // Let queued writes (a DISCONNECT, the last CLOSEs) go out before the device is released.
    void writer.flushed().then(() => c?.close());
  };

  const lost = (reason: string): void => {
    if (!connection) return;
    dropConnection();
    counters.resets++;
    feed({ kind: 'disconnected', reason });
    scheduleConnect(backoff);
  };

  const connect = async (): Promise<void> => {
    if (stopping) return;
    let c: MeConnection;
    try {
      c = await options.device.connect();
    } catch (err) {
      const e = err instanceof DeviceError ? err : new DeviceError('ENODEV', String(err));
      lastDeviceError = e.message;
      if (e.permanent) {
        log.error({ code: e.code, device: options.device.description }, e.message);
        fatal$.next(e);
        return;
      }
      log.warn({ code: e.code, retryInMs: backoff }, `device not available: ${e.message}`);
      scheduleConnect(backoff);
      backoff = Math.min(backoff * 2, reconnectMaxMs);
      return;
    }
    if (stopping) return c.close();
    backoff = reconnectMs;
    connection = c;
    counters.connects++;
    log.info({ maxMsgLength: c.maxMsgLength, protocolVersion: c.protocolVersion, device: options.device.description }, 'connected to the ME');
    feed({ kind: 'connected', maxMsgLength: c.maxMsgLength });
    connectionSub = c.messages$.subscribe({
      next: (bytes) => {
        const decoded = decodeApf(bytes);
        feed(decoded._tag === 'Right' ? { kind: 'message', message: decoded.right, size: bytes.length } : { kind: 'decode-error', error: decoded.left, size: bytes.length });
        if (decoded._tag === 'Left') log.debug({ bytes: bytes.subarray(0, 64).toString('hex') }, describeDecodeError(decoded.left));
      },
      error: (err: unknown) => {
        lastDeviceError = err instanceof Error ? err.message : String(err);
        log.warn({ error: lastDeviceError }, 'ME link lost');
        lost(lastDeviceError);
      },
      complete: () => lost('the device closed the connection'),
    });
  };

  const writer = serialWriter((err, c, bytes) => {
    if (err instanceof DeviceError && err.code === 'EFBIG') log.error({ size: bytes.length, maxMsgLength: c.maxMsgLength }, `BUG: ${err.message}`);
    else if (!(err instanceof DeviceError)) log.error({ error: String(err) }, 'BUG: a device write threw');
    // ENODEV and friends also end messages$, which handles the reconnect.
  });
  const write = (bytes: Buffer): void => {
    if (connection) writer.write(connection, bytes);
  };

  // ---- listeners and sockets -----------------------------------------------------------------

  /** `address` is the listener's own: asking the socket (getsockname) costs a syscall per connection. */
  const accept = (socket: net.Socket, address: string, port: number): void => {
    const id = nextSocket++;
    sockets.set(id, socket);
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => feed({ kind: 'socket-data', socket: id, data }));
    socket.on('end', () => feed({ kind: 'socket-end', socket: id }));
    socket.on('error', (err) => log.debug({ socket: id, error: err.message }, 'socket error'));
    socket.on('close', () => {
      sockets.delete(id);
      feed({ kind: 'socket-closed', socket: id });
    });
    feed({
      kind: 'accepted',
      socket: id,
      local: { address, port },
      peer: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
    });
  };

  const bindOne = (address: string, port: number): Promise<net.Server | undefined> =>
    new Promise((resolve) => {
      // allowHalfOpen: a client's FIN must not end our side; ME data still flows until its CLOSE.
      let bound = address; // the listener's address as the kernel states it, once listening
      const server = net.createServer({ allowHalfOpen: true }, (s) => accept(s, bound, port));
      server.once('error', (err: NodeJS.ErrnoException) => {
        log.warn({ address, port, code: err.code }, `cannot listen on [${address}]:${port}: ${err.message}`);
        resolve(undefined);
      });
      server.listen({ host: address, port, exclusive: true, ipv6Only: address.includes(':') }, () => {
        server.removeAllListeners('error');
        bound = (server.address() as net.AddressInfo).address;
        server.on('error', (err) => log.error({ address, port, error: err.message }, 'listener error'));
        resolve(server);
      });
    });

  const listen = async (port: number): Promise<void> => {
    const existing = listeners.get(port);
    if (existing) return feed({ kind: 'listening', port, bound: existing.bound });
    const servers = (await Promise.all(bindAddresses.map((a) => bindOne(a, port)))).filter((s): s is net.Server => s !== undefined);
    const bound = servers.map((s) => (s.address() as net.AddressInfo).address);
    if (stopping) return servers.forEach((s) => s.close());
    if (servers.length > 0) listeners.set(port, { servers, bound });
    log.info({ port, bound }, bound.length > 0 ? `listening on port ${port}` : `port ${port} could not be bound`);
    feed(bound.length > 0 ? { kind: 'listening', port, bound } : { kind: 'listening', port, bound, error: 'address in use or unavailable' });
  };

  const unlisten = (port: number): void => {
    const l = listeners.get(port);
    listeners.delete(port);
    l?.servers.forEach((s) => s.close()); // stops accepting; live sockets drain
  };

  const udpSend = (address: string, port: number, data: Buffer): void => {
    const udp = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    udp.send(data, port, address, (err) => {
      if (err) log.warn({ address, port, error: err.message }, 'udp-send-to failed');
      udp.close();
    });
  };

  // ---- effects -------------------------------------------------------------------------------

  const onEvent = (e: LmsEvent): void => {
    switch (e.type) {
      case 'session':
        phase$.next(e.phase);
        log.info({ phase: e.phase, detail: e.detail }, `session ${e.phase}`);
        break;
      case 'me-version':
        meVersion = { major: e.major, minor: e.minor, uuid: e.uuid };
        log.info({ version: `${e.major}.${e.minor}`, uuid: e.uuid, trigger: e.triggerReason }, 'ME protocol version');
        break;
      case 'channel-opened': {
        counters.channelsOpened++;
        const activity = new Subject<ChannelActivity>();
        const l: Live = {
          handle: { id: e.id, meId: e.meId, local: e.local, peer: e.peer, openedAt: Date.now(), activity$: activity.asObservable() },
          activity,
          bytesToMe: 0,
          bytesFromMe: 0,
        };
        live.set(e.id, l);
        liveBySocket.set(e.socket, l);
        liveByMeId.set(e.meId, l);
        log.info({ channel: e.id, meChannel: e.meId, port: e.local.port, peer: `${e.peer.address}:${e.peer.port}`, meWindow: e.meWindow }, 'channel open');
        channels$.next(l.handle);
        break;
      }
      case 'channel-stalled': {
        // Under a small ME window this is every message: nothing is built that nobody reads.
        const l = live.get(e.id);
        if (l?.activity.observed) l.activity.next({ type: 'stalled', buffered: e.buffered });
        if (enabled('debug')) log.debug({ channel: e.id, buffered: e.buffered }, 'channel waits for ME window');
        break;
      }
      case 'channel-closed': {
        const l = live.get(e.id);
        const durationMs = l ? Date.now() - l.handle.openedAt : 0;
        if (l) {
          counters.channelsClosed++;
          live.delete(e.id);
          liveBySocket.delete(e.socket);
          liveByMeId.delete(l.handle.meId);
          l.activity.next({ type: 'closed', reason: e.reason, bytesToMe: e.bytesToMe, bytesFromMe: e.bytesFromMe, durationMs });
          l.activity.complete();
        }
        log.info({ channel: e.id, reason: e.reason, bytesToMe: e.bytesToMe, bytesFromMe: e.bytesFromMe, durationMs, detail: e.detail }, 'channel closed');
        break;
      }
      case 'connection-refused':
        counters.refused++;
        warnRefused({ peer: `${e.peer.address}:${e.peer.port}`, reason: e.reason }, 'connection refused');
        break;
      case 'channel-reclaimed':
        counters.reclaimed++;
        warnReclaimed(
          { channel: e.id, port: e.port, why: e.why, quietMs: e.quietMs },
          e.why === 'idle' ? `channel ${e.id} reclaimed: no byte either way for ${e.quietMs} ms while others wait` : `channel ${e.id} reclaimed: the client's request unanswered for ${e.quietMs} ms while others wait`,
        );
        break;
      case 'protocol-error':
        counters.protocolErrors++;
        warnProtocolError({ violation: e.violation, channel: e.channel }, e.detail);
        break;
      case 'notification': {
        counters.notifications++;
        const alert = parseAmtAlert(e.request);
        if (alert) {
          log.info({ meChannel: e.meId, messageId: alert.messageId, arguments: alert.arguments, time: alert.time.toISOString() }, `ME event ${alert.messageId}`);
          alerts$.next(alert);
        } else log.info({ meChannel: e.meId, bytes: e.request.length }, 'ME notification without an alert');
        break;
      }
      case 'forward':
        if (!e.ok) log.warn({ port: e.port, error: e.error }, `cannot forward port ${e.port}: ${e.error}; the ME was answered REQUEST_FAILURE`);
        else log.info({ port: e.port, ok: e.ok, bound: e.bound, cancelled: e.cancelled }, e.cancelled ? 'forward cancelled' : 'forward');
        break;
      case 'udp-sent':
        log.debug({ address: e.address, port: e.port, bytes: e.bytes }, 'udp-send-to');
        break;
      case 'ignored':
        log.debug({}, e.detail);
        break;
    }
    events$.next(e);
  };

  const apply = (effect: SessionEffect): void => {
    switch (effect.kind) {
      case 'send': {
        const m = effect.message;
        if (m.type === 'channel-data') {
          const l = liveByMeId.get(m.recipient);
          if (l) {
            l.bytesToMe += m.data.length;
            // Per-message events only for a library user who listens: the daemon itself does not.
            if (l.activity.observed) l.activity.next({ type: 'to-me', bytes: m.data.length });
          }
          if (enabled('trace')) log.trace({ meChannel: m.recipient, bytes: m.data.length, data: m.data.toString('hex') }, 'to ME');
        } else if (enabled('debug')) log.debug({ message: m.type }, 'send');
        return write(encode(m));
      }
      case 'listen':
        return void listen(effect.port);
      case 'unlisten':
        return unlisten(effect.port);
      case 'write': {
        const s = sockets.get(effect.socket);
        const n = effect.data.length;
        const l = liveBySocket.get(effect.socket);
        if (l) {
          l.bytesFromMe += n;
          if (l.activity.observed) l.activity.next({ type: 'from-me', bytes: n });
        }
        if (!s || s.destroyed) return;
        if (enabled('trace')) log.trace({ socket: effect.socket, bytes: n, data: effect.data.toString('hex') }, 'from ME');
        const t = turnWrites.get(effect.socket);
        if (t) {
          t.chunks.push(effect.data);
          t.bytes += n;
        } else {
          if (turnWrites.size === 0) process.nextTick(flushTurn);
          turnWrites.set(effect.socket, { socket: s, chunks: [effect.data], bytes: n });
        }
        return;
      }
      case 'pause':
        return void sockets.get(effect.socket)?.pause();
      case 'resume':
        return void sockets.get(effect.socket)?.resume();
      case 'end': {
        const s = sockets.get(effect.socket);
        if (!s) return;
        flushSocket(effect.socket); // this turn's data goes before the FIN
        s.pause();
        s.end();
        const grace = setTimeout(() => s.destroy(), graceMs);
        grace.unref();
        s.once('close', () => clearTimeout(grace));
        return;
      }
      case 'destroy':
        turnWrites.delete(effect.socket);
        return void sockets.get(effect.socket)?.destroy();
      case 'udp-send':
        return udpSend(effect.address, effect.port, effect.data);
      case 'reconnect':
        if (!connection) return;
        dropConnection();
        return scheduleConnect(reconnectMs);
      case 'event':
        return onEvent(effect.event);
      case 'start-timer':
      case 'cancel-timer':
        return; // runSession keeps its timers
    }
  };

  // A throw in a step ends the session's run (runSession passes it on as an error); a throw while
  // carrying out an effect would otherwise escape RxJS as an uncaught exception. Both start over.
  const startSession = (): Subscription => {
    const sub: Subscription = inputs.pipe(runSession({ ...options, onSession: (s) => (session = s) })).subscribe({
      next: (effect) => {
        try {
          apply(effect);
        } catch (err) {
          sub.unsubscribe();
          recoverSession(err);
        }
      },
      error: (err: unknown) => recoverSession(err),
    });
    return sub;
  };

  /**
   * The session threw: a bug, but a daemon that still looks up and serves nothing is worse than
   * one that starts over. Its state is gone, so every connection it carried is dropped, the ME
   * link is reset (the ME replays its handshake) and a fresh session takes the inputs.
   */
  const recoverSession = (err: unknown): void => {
    counters.sessionFailures++;
    log.error({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'session failed (a bug): dropping every connection and starting the session again');
    turnWrites.clear();
    for (const s of sockets.values()) s.destroy();
    for (const l of live.values()) {
      l.activity.next({ type: 'closed', reason: 'session-failed', bytesToMe: l.bytesToMe, bytesFromMe: l.bytesFromMe, durationMs: Date.now() - l.handle.openedAt });
      l.activity.complete();
    }
    live.clear();
    liveBySocket.clear();
    liveByMeId.clear();
    phase$.next('disconnected');
    if (stopping) return;
    effectsSub = startSession();
    if (connection) {
      dropConnection();
      // A bug that recurs at once is retried ever more slowly, up to the reconnect bound.
      scheduleConnect(Math.min(reconnectMs * 2 ** (counters.sessionFailures - 1), reconnectMaxMs));
    }
  };
  let effectsSub = startSession();

  for (const port of options.reservePorts ?? []) void listen(port);
  void connect();

  const status = (): LmsStatus => ({
    device: options.device.description,
    session: session!.snapshot(),
    ...(meVersion ? { meVersion } : {}),
    counters: { ...counters },
    channels: [...live.values()].map((l) => ({
      id: l.handle.id,
      meId: l.handle.meId,
      local: l.handle.local,
      peer: l.handle.peer,
      ageMs: Date.now() - l.handle.openedAt,
      bytesToMe: l.bytesToMe,
      bytesFromMe: l.bytesFromMe,
    })),
    ...(lastDeviceError ? { lastDeviceError } : {}),
  });

  return {
    events$: events$.asObservable(),
    phase$: phase$.asObservable(),
    channels$: channels$.asObservable(),
    notifications$: events$.pipe(
      filter((e): e is Extract<LmsEvent, { type: 'notification' }> => e.type === 'notification'),
      map((e) => ({ meId: e.meId, request: e.request })),
    ),
    alerts$: alerts$.asObservable(),
    async ready(port?: number) {
      const isReady = (): boolean => {
        const s = session?.snapshot();
        return s !== undefined && s.phase === 'ready' && (port === undefined ? s.forwards.length > 0 : s.forwards.includes(port));
      };
      if (isReady()) return;
      const failed = firstValueFrom(fatal$.pipe(filter((e): e is DeviceError => e !== undefined))).then((e) => Promise.reject(e));
      const up = firstValueFrom(events$.pipe(filter(() => isReady()))).then(() => undefined);
      return Promise.race([up, failed]);
    },
    status,
    failure: () => firstValueFrom(fatal$.pipe(filter((e): e is DeviceError => e !== undefined))),
    async stop() {
      if (stopping) return;
      feed({ kind: 'shutdown' });
      stopping = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      for (const port of [...listeners.keys()]) unlisten(port);
      await writer.flushed(); // the CLOSEs go out before the device is released
      connectionSub?.unsubscribe();
      connection?.close();
      connection = undefined;
      effectsSub.unsubscribe();
      // Ended sockets flush their pending writes; whatever has not closed within the bound is destroyed.
      const closing = [...sockets.values()].map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve()))));
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(closing), new Promise<void>((resolve) => (bound = setTimeout(resolve, options.stopTimeoutMs ?? 2_000)))]);
      clearTimeout(bound);
      for (const s of sockets.values()) s.destroy();
      sockets.clear();
      phase$.complete();
      channels$.complete();
      alerts$.complete();
      events$.complete();
      for (const l of live.values()) l.activity.complete();
    },
  };
};
