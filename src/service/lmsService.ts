/**
 * The I/O shell around the session, composed of its jobs: the device link (deviceLink.ts), the
 * loopback listeners (listeners.ts), the socket table (socketTable.ts), and one pass over the
 * events for the log, the counters (eventLog.ts) and the library's channel handles
 * (channelHandles.ts). Protocol decisions live in the session; this file routes its effects.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { BehaviorSubject, Subject, filter, firstValueFrom, map, share, tap, type Observable, type Subscription } from 'rxjs';
import { slabEncoder } from '../codecs/encode.js';
import type { DeviceError, MeDevice } from '../device/transport.js';
import { bindAddressProblem } from '../streams/loopback.js';
import { runSession } from '../streams/runSession.js';
import type { SessionSnapshot } from '../streams/session/session.js';
import {
  sessionOptionsProblem,
  type Endpoint,
  type LmsEvent,
  type SessionEffect,
  type SessionInput,
  type SessionOptions,
  type SessionPhase,
  type SocketOwner,
} from '../streams/sessionTypes.js';
import { parseAmtAlert, type AmtAlert } from './amtAlert.js';
import { createAmtEventTally, describeAmtAlert, type AmtEvent, type AmtEventTally } from './amtEvents.js';
import { createChannelHandles, type ChannelHandle } from './channelHandles.js';
import { createDeviceLink } from './deviceLink.js';
import { duplexPair } from './duplexPair.js';
import { createEventLog, type LmsCounters } from './eventLog.js';
import { createListeners } from './listeners.js';
import { createLogBudget } from './logBudget.js';
import { silentLogger, type Logger } from './logger.js';
import { createSocketOwners } from './socketOwners.js';
import { createSocketTable } from './socketTable.js';
import { createUserNames } from './userNames.js';
import { collectGarbage, IDLE_RELEASE_MS, quietAfterChannels } from './idleMemory.js';
import { mallocTrim } from '../device/libc.js';

export type { ChannelActivity, ChannelHandle } from './channelHandles.js';
export type { LmsCounters } from './eventLog.js';
export type { AmtEvent, AmtEventCategory } from './amtEvents.js';

/** startLms's options: the device, the session's tunables, where to listen, reconnects, logging. */
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
  /**
   * Called once a burst of channels is over (`idleReleaseMs` after the last closed) to give memory
   * back; default: malloc_trim(3) where the C library has it. `false`: never.
   */
  readonly releaseMemory?: (() => void) | false;
  readonly idleReleaseMs?: number;
}

/** What `lms status` shows: the session, the ME's version, counters, open channels, the last device error. */
export interface LmsStatus {
  readonly device: string;
  readonly session: SessionSnapshot;
  readonly meVersion?: { major: number; minor: number; uuid: string };
  readonly counters: LmsCounters;
  readonly channels: readonly {
    id: number;
    meId: number;
    local: Endpoint;
    peer: Endpoint;
    /** The uid of the local user whose connection it is (-1: unknown), and its login name when known. */
    owner: SocketOwner;
    user?: string;
    ageMs: number;
    bytesToMe: number;
    bytesFromMe: number;
  }[];
  /** Each local user with a channel or a waiting connection: slots held and connections waiting. */
  readonly users: readonly { owner: SocketOwner; user?: string; holding: number; waiting: number }[];
  /** Forwarded ports bound on some loopback addresses but not on all: a program may hold the others. */
  readonly partialForwards: readonly { readonly port: number; readonly unbound: readonly string[] }[];
  readonly lastDeviceError?: string;
  /** AMT's events so far: how many, by category, and the last few with their sentences. */
  readonly amtEvents: AmtEventTally;
}

/** A running LMS: its events and channels as observables, its status, and stop. */
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
  /** The same again, as a person reads them: category and sentence (`lms events`). */
  readonly amtEvents$: Observable<AmtEvent>;
  /**
   * A connection to the ME's `port` made inside this process: a duplex stream carried as an APF
   * channel like any accepted socket, with no TCP socket another local program could stand in
   * for. lms's own host duties reach AMT this way. Its peer shows as `127.0.0.1:0`.
   */
  connect(port: number): Duplex;
  /** Resolves once the session is up and `port` (default: any) is forwarded. Rejects on a permanent device error. */
  ready(port?: number): Promise<void>;
  /** Resolves with the error when the device fails for good (no device, no permission, no LME). */
  failure(): Promise<DeviceError>;
  status(): LmsStatus;
  /** CLOSE every channel, end the sockets, close listeners and the device. */
  stop(): Promise<void>;
}

const LOOPBACK = ['127.0.0.1', '::1'] as const;
/** AMT's events logged a second at most; past it they are counted (a hostile ME posts as many as it likes). */
const NOTICE_LINES_PER_SECOND = 20;
/** The peer an in-process connection shows: this host, and a port no TCP peer can have. */
const IN_PROCESS_PEER: Endpoint = { address: '127.0.0.1', port: 0 };

/** Starts the LMS on a device: connects it, forwards what the ME asks for on loopback, and keeps going through ME resets until stopped. Throws at once on an option out of range or a non-loopback bind address. */
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

  const inputs = new Subject<SessionInput>();
  const feed = (input: SessionInput): void => inputs.next(input);
  const events$ = new Subject<LmsEvent>();
  const phase$ = new BehaviorSubject<SessionPhase>('disconnected');
  let snapshot: (() => SessionSnapshot) | undefined;
  let sessionFailures = 0;
  let stopping = false;

  const link = createDeviceLink({ device: options.device, reconnectMs, reconnectMaxMs, log, feed });
  const sockets = createSocketTable({ log, feed, graceMs: options.graceMs ?? 5_000 });
  const owners = createSocketOwners();
  let ownersUnavailableSaid = false;
  const ownerOf = (local: Endpoint, peer: Endpoint): SocketOwner | undefined => {
    const owner = owners.ownerOf(local, peer);
    if (owner === undefined && owners.unavailable && !ownersUnavailableSaid) {
      ownersUnavailableSaid = true;
      log.warn({ why: owners.unavailable }, `cannot tell which local user made a connection (${owners.unavailable}): all share the ME's slots as one`);
    }
    return owner;
  };
  const listeners = createListeners({ addresses: bindAddresses, log, feed, accept: sockets.accept, ownerOf });
  const handles = createChannelHandles();
  const userNames = createUserNames();
  const eventLog = createEventLog(log, userNames);
  // Messages to the ME share slabs: a full CHANNEL_DATA is just over Node's own pool limit.
  const encode = slabEncoder();
  const enabled = (level: string): boolean => log.isLevelEnabled?.(level) ?? true;

  const udpSend = (address: string, port: number, data: Buffer): void => {
    const udp = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    udp.send(data, port, address, (err) => {
      if (err) log.warn({ address, port, error: err.message }, 'udp-send-to failed');
      udp.close();
    });
  };

  const onEvent = (e: LmsEvent): void => {
    eventLog.record(e);
    handles.onEvent(e);
    if (e.type === 'session') phase$.next(e.phase);
    events$.next(e);
  };

  const apply = (effect: SessionEffect): void => {
    switch (effect.kind) {
      case 'send': {
        const m = effect.message;
        if ('channel' in effect) {
          handles.toMe(effect.channel, effect.message.data.length);
          if (enabled('trace')) log.trace({ channel: effect.channel, bytes: effect.message.data.length, data: effect.message.data.toString('hex') }, 'to ME');
        } else if (enabled('debug')) log.debug({ message: m.type }, 'send');
        return link.write(encode(m));
      }
      case 'listen':
        return void listeners.listen(effect.port);
      case 'unlisten':
        return listeners.unlisten(effect.port);
      case 'write':
        handles.fromMe(effect.channel, effect.data.length);
        if (enabled('trace')) log.trace({ channel: effect.channel, bytes: effect.data.length, data: effect.data.toString('hex') }, 'from ME');
        return sockets.write(effect.socket, effect.data);
      case 'pause':
        return sockets.pause(effect.socket);
      case 'resume':
        return sockets.resume(effect.socket);
      case 'end':
        return sockets.end(effect.socket);
      case 'destroy':
        return sockets.destroy(effect.socket);
      case 'udp-send':
        return udpSend(effect.address, effect.port, effect.data);
      case 'reconnect':
        return link.restart(reconnectMs);
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
    const sub: Subscription = inputs.pipe(runSession({ ...options, onSnapshot: (read) => (snapshot = read) })).subscribe({
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
    sessionFailures++;
    log.error(
      { error: err instanceof Error ? (err.stack ?? err.message) : String(err) },
      'session failed (a bug): dropping every connection and starting the session again',
    );
    const last = snapshot?.();
    sockets.destroyAll();
    handles.closeAll('session-failed', (id) => {
      const c = last?.channels.find((ch) => ch.id === id);
      return { bytesToMe: c?.bytesToMe ?? 0, bytesFromMe: c?.bytesFromMe ?? 0 };
    });
    phase$.next('disconnected');
    if (stopping) return;
    effectsSub = startSession();
    // A bug that recurs at once is retried ever more slowly, up to the reconnect bound.
    link.restart(Math.min(reconnectMs * 2 ** (sessionFailures - 1), reconnectMaxMs));
  };
  let effectsSub = startSession();

  const notifications$ = events$.pipe(
    filter((e): e is Extract<LmsEvent, { type: 'notification' }> => e.type === 'notification'),
    map((e) => ({ meId: e.meId, request: e.request })),
  );
  // AMT's alerts, parsed and worded once each as they come (for the log, status, and whoever
  // subscribes). Logged at notice (journalctl -p notice shows who took over the screen), within a
  // budget: the ME decides how many it posts.
  const tally = createAmtEventTally();
  const noticeBudget = createLogBudget(NOTICE_LINES_PER_SECOND);
  const notice = (fields: Record<string, unknown>, message: string): void => (log.notice ? log.notice(fields, message) : log.info(fields, message));
  const described$ = notifications$.pipe(
    map(({ meId, request }) => {
      const alert = parseAmtAlert(request);
      return { meId, request, alert, event: alert && describeAmtAlert(alert) };
    }),
    tap(({ meId, request, event }) => {
      if (event) tally.add(event);
      const left = noticeBudget.suppressed();
      if (left > 0)
        log.warn({ suppressed: left }, `${left} more AMT events were not logged (over ${NOTICE_LINES_PER_SECOND} a second); lms status counts them all`);
      if (!noticeBudget.take()) return;
      if (event) notice({ meChannel: meId, event: event.key, category: event.category, arguments: event.arguments, time: event.time }, `AMT: ${event.text}`);
      else log.info({ meChannel: meId, bytes: request.length }, 'ME notification without an alert');
    }),
    share(),
  );
  const alerts$ = described$.pipe(
    map(({ alert }) => alert),
    filter((a): a is AmtAlert => a !== undefined),
  );
  const amtEvents$ = described$.pipe(
    map(({ event }) => event),
    filter((e): e is AmtEvent => e !== undefined),
  );
  described$.subscribe(); // the log line for each, whether or not anyone else listens (ends with events$)
  const releaseMemory =
    options.releaseMemory ??
    ((): void => {
      const collected = collectGarbage();
      const trimmed = mallocTrim();
      log.debug({ collected, trimmed }, trimmed === undefined ? 'no malloc_trim here' : 'gave free memory back (malloc_trim)');
    });
  if (releaseMemory) events$.pipe(quietAfterChannels(options.idleReleaseMs ?? IDLE_RELEASE_MS)).subscribe(releaseMemory); // ends with events$

  for (const port of options.reservePorts ?? []) void listeners.listen(port);
  link.connect();

  /** The login name of a uid, as status carries it (absent when unknown). */
  const named = (owner: SocketOwner): { user?: string } => {
    const user = userNames.nameOf(owner);
    return user === undefined ? {} : { user };
  };

  const status = (): LmsStatus => {
    const session = snapshot!();
    const now = Date.now();
    const channels = [];
    for (const c of session.channels) {
      const h = handles.get(c.id);
      if (!h) continue;
      channels.push({
        id: c.id,
        meId: h.meId,
        local: h.local,
        peer: h.peer,
        owner: c.owner,
        ...named(c.owner),
        ageMs: now - h.openedAt,
        bytesToMe: c.bytesToMe,
        bytesFromMe: c.bytesFromMe,
      });
    }
    const users = session.users.map((u) => ({ ...u, ...named(u.owner) }));
    const meVersion = eventLog.meVersion;
    return {
      device: options.device.description,
      session,
      ...(meVersion ? { meVersion } : {}),
      counters: { connects: link.connects, resets: link.resets, sessionFailures, goneBeforeAccept: listeners.goneBeforeAccept, ...eventLog.counts() },
      channels,
      users,
      partialForwards: listeners.partial(),
      ...(link.lastError ? { lastDeviceError: link.lastError } : {}),
      amtEvents: tally.snapshot(),
    };
  };

  const failure = (): Promise<DeviceError> => firstValueFrom(link.failure$.pipe(filter((e): e is DeviceError => e !== undefined)));

  return {
    events$: events$.asObservable(),
    phase$: phase$.asObservable(),
    channels$: handles.opened$,
    notifications$,
    alerts$,
    amtEvents$,
    connect(port) {
      const [ours, theirs] = duplexPair();
      if (stopping) theirs.destroy(new Error('the LMS is stopped'));
      else sockets.accept(ours, { address: '127.0.0.1', port }, IN_PROCESS_PEER, process.getuid?.()); // lms's own: its duties share the slots as the user it runs as
      return theirs;
    },
    async ready(port?: number) {
      const isReady = (): boolean => {
        const s = snapshot?.();
        return s !== undefined && s.phase === 'ready' && (port === undefined ? s.forwards.length > 0 : s.forwards.includes(port));
      };
      if (isReady()) return;
      // Only a forward or the session's phase can make it true: the snapshot is read on those alone.
      const up = firstValueFrom(events$.pipe(filter((e) => (e.type === 'forward' || e.type === 'session') && isReady()))).then(() => undefined);
      return Promise.race([up, failure().then((e) => Promise.reject(e))]);
    },
    status,
    failure,
    async stop() {
      if (stopping) return;
      feed({ kind: 'shutdown' });
      stopping = true;
      listeners.close();
      await link.stop();
      effectsSub.unsubscribe();
      await sockets.closeAll(options.stopTimeoutMs ?? 2_000);
      phase$.complete();
      handles.complete();
      events$.complete();
    },
  };
};
