/**
 * The simulated Management Engine in real time: a MeDevice whose connections carry whole APF
 * messages to and from the ME engine, with AMT's HTTP service behind the forwarded ports and
 * faults that tests and the CLI inject. The LMS uses it exactly as it uses /dev/mei0.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { Subject } from 'rxjs';
import { decodeApf } from '../../codecs/decode.js';
import { slabEncoder } from '../../codecs/encode.js';
import { describeDecodeError } from '../../codecs/errors.js';
import { DisconnectReason } from '../../codecs/opcodes.js';
import { DeviceError, type MeConnection, type MeDevice } from '../transport.js';
import { createAmtHttpServer } from './amtHttpService.js';
import { createMeEngine, defaultMeEngineOptions, emptyStats, type MeEffect, type MeEngine, type MeEngineOptions, type MeInput, type MeStats } from './meEngine.js';
import { ServiceSocket } from './serviceSocket.js';
import { alertRequest } from './wsman.js';
import { answerAmthi, answerMkhi, defaultAmthiProfile, type AmthiProfile } from './amthiService.js';

export interface SimulatedMeOptions extends Partial<MeEngineOptions> {
  readonly amtVersion?: string;
  readonly user?: string;
  readonly password?: string;
  /** The LME client's protocol version reported at connect (4 or more serves APF). */
  readonly clientVersion?: number;
  /** Hold each WINDOW_ADJUST this long (a slow ME). */
  readonly adjustDelayMs?: number;
  /** Ports that serve HTTP; the other forwarded ports echo. Default 16992 and 16993. */
  readonly httpPorts?: readonly number[];
  /** What the AMTHI client answers (`lms info`); `false`: no AMTHI client, as on a platform without AMT. */
  readonly amthi?: Partial<AmthiProfile> | false;
}

/** Service output the ME buffers before it holds the writer's callback. */
const SERVICE_BUFFER = 64 * 1024;

export class SimulatedMe implements MeDevice {
  readonly description = 'simulated ME';
  readonly stats: MeStats = emptyStats();
  readonly options: MeEngineOptions;
  readonly amtVersion: string;
  readonly user: string;
  readonly password: string;
  private readonly engine: MeEngine;
  private readonly http: Server;
  private readonly clientVersion: number;
  private adjustDelayMs: number;
  private readonly httpPorts: ReadonlySet<number>;
  private readonly amthiProfile: AmthiProfile | undefined;
  private connection: SimulatedConnection | undefined;
  private downUntil = 0;
  private readonly services = new Map<number, ServiceSocket>();
  private readonly heldWrites = new Map<number, () => void>();
  /** Messages to the host share slabs: one allocation per 4105-byte CHANNEL_DATA costs more than its copy. */
  private readonly encode = slabEncoder();
  private readonly backlog: MeInput[] = [];
  private busy = false;
  /** The last lines the engine logged, newest last (for tests and `--log-level debug`). */
  readonly log: string[] = [];

  constructor(options: SimulatedMeOptions = {}) {
    const { amtVersion, user, password, clientVersion, adjustDelayMs, httpPorts, amthi, ...engine } = options;
    this.httpPorts = new Set(httpPorts ?? [16992, 16993]);
    this.options = { ...defaultMeEngineOptions, ...engine };
    this.amtVersion = amtVersion ?? '16.1.30';
    this.user = user ?? 'admin';
    this.password = password ?? 'P@ssw0rd';
    this.clientVersion = clientVersion ?? 4;
    this.adjustDelayMs = adjustDelayMs ?? 0;
    this.engine = createMeEngine(this.options, this.stats);
    this.amthiProfile = amthi === false ? undefined : { ...defaultAmthiProfile(this.amtVersion, this.options.uuid), ...amthi };
    this.http = createAmtHttpServer({
      amtVersion: this.amtVersion,
      user: this.user,
      password: this.password,
      realm: `Digest:${randomBytes(16).toString('hex').toUpperCase()}`,
    });
  }

  connect(): Promise<MeConnection> {
    if (Date.now() < this.downUntil) return Promise.reject(new DeviceError('ENODEV', 'simulated ME is resetting'));
    if (this.connection && !this.connection.closed)
      return Promise.reject(new DeviceError('EBUSY', 'the simulated LME client already has a connection'));
    const connection = new SimulatedConnection(this, this.options.maxMsgLength, this.clientVersion);
    this.connection = connection;
    // The ME speaks first, once the host can hear it.
    setImmediate(() => {
      if (this.connection === connection && !connection.closed) this.run({ kind: 'connect' });
    });
    return Promise.resolve(connection);
  }

  /** Does this simulated platform have an AMTHI client (AMT present)? */
  get hasAmthi(): boolean {
    return this.amthiProfile !== undefined;
  }

  /** The simulated AMTHI client, as a device of its own (what `lms info --simulate` opens). */
  amthi(): MeDevice {
    return this.requestReplyClient('AMTHI', answerAmthi);
  }

  /** The simulated MKHI client (the firmware version). */
  mkhi(): MeDevice {
    return this.requestReplyClient('MKHI', answerMkhi);
  }

  /** An ME client that answers each request with one reply, from the AMT profile. */
  private requestReplyClient(name: string, answer: (request: Buffer, profile: AmthiProfile) => Buffer): MeDevice {
    const profile = this.amthiProfile;
    const maxMsgLength = this.options.maxMsgLength;
    return {
      description: `simulated ME (${name} client)`,
      connect: () => {
        if (!profile) return Promise.reject(new DeviceError('ENOTTY', `the simulated ME has no ${name} client (AMT absent or disabled)`));
        const messages$ = new Subject<Buffer>();
        let closed = false;
        return Promise.resolve<MeConnection>({
          maxMsgLength,
          protocolVersion: 1,
          messages$,
          write: (request) => {
            if (closed) return Promise.reject(new DeviceError('ENODEV', 'the AMTHI connection is closed'));
            setImmediate(() => closed || messages$.next(answer(request, profile)));
            return Promise.resolve();
          },
          close: () => {
            closed = true;
            messages$.complete();
          },
        });
      },
    };
  }

  // ---- faults --------------------------------------------------------------------------------

  /** An ME reset: reads and writes fail with ENODEV, connects too for `downMs`; the handshake replays after. */
  reset(downMs = 0): void {
    this.downUntil = Date.now() + downMs;
    this.run({ kind: 'reset' });
    this.connection?.fail(new DeviceError('ENODEV', 'ME reset'));
    this.connection = undefined;
  }

  /** CHANNEL_CLOSE for an id that is not open (AMT sends CLOSE(0) after a reset). */
  staleClose(id = 0): void {
    this.run({ kind: 'stale-close', id });
  }

  /** The next `count` CHANNEL_OPENs get OPEN_FAILURE(reason): 1, 2 or 4. */
  failNextOpens(reason: number, count = 1): void {
    this.run({ kind: 'fail-opens', reason, count });
  }

  /** A small advertised window for new channels, and adjusts held back by `adjustDelayMs`. */
  slowWindow(window: number, adjustDelayMs: number): void {
    (this.options as { window: number }).window = window;
    this.adjustDelayMs = adjustDelayMs;
  }

  /** A message no APF decoder accepts (a CHANNEL_DATA whose length points past its end). */
  sendMalformed(): void {
    this.inject(Buffer.from([94, 0, 0, 0, 1, 0, 0, 0x10, 0]));
  }

  /** Any bytes, delivered to the host as one message: the adversarial mode of hardening tests. */
  inject(bytes: Buffer): void {
    this.connection?.deliver(bytes);
  }

  /** The ME ends the session with DISCONNECT. */
  disconnect(reason: number = DisconnectReason.ByApplication): void {
    this.run({ kind: 'disconnect', reason });
  }

  /** The ME opens a direct-tcpip channel to port 0 and posts an alert on it. */
  notify(messageId = 'iAMT0005', args: readonly string[] = []): void {
    this.run({ kind: 'notify', request: alertRequest(messageId, args, new Date()) });
  }

  /** Ports the ME forwarded (and the host acknowledged) in the current session. */
  forwardedPorts(): number[] {
    return this.engine.forwardedPorts();
  }

  openChannels(): number {
    return this.engine.openChannels();
  }

  get ready(): boolean {
    return this.engine.phase() === 'ready';
  }

  /** Ends every connection and service. */
  close(): void {
    this.connection?.close();
    this.connection = undefined;
    for (const s of this.services.values()) s.detach();
    this.services.clear();
  }

  // ---- the engine's I/O ----------------------------------------------------------------------

  /** @internal a whole message written by the host */
  receive(bytes: Buffer): void {
    const decoded = decodeApf(bytes);
    if (decoded._tag === 'Left') this.run({ kind: 'host-malformed', detail: describeDecodeError(decoded.left) });
    else this.run({ kind: 'host', message: decoded.right });
  }

  /** @internal the host closed its connection */
  closed(connection: SimulatedConnection): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    for (const s of this.services.values()) s.detach();
    this.services.clear();
    this.heldWrites.clear();
  }

  /** @internal the MTU was exceeded on a write */
  mtuViolation(size: number): void {
    this.stats.mtuViolations++;
    this.note(`host wrote ${size} bytes, over max_msg_length ${this.options.maxMsgLength} (EFBIG)`);
  }

  private note(line: string): void {
    this.log.push(line);
    if (this.log.length > 200) this.log.shift();
  }

  /** Inputs that arrive while effects run wait their turn, so effects keep their order. */
  private run(input: MeInput): void {
    this.backlog.push(input);
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.backlog.length > 0) for (const effect of this.engine.step(this.backlog.shift()!)) this.apply(effect);
    } finally {
      this.busy = false;
    }
  }

  private apply(effect: MeEffect): void {
    switch (effect.kind) {
      case 'send':
        this.connection?.deliver(this.encode(effect.message));
        return;
      case 'service-open':
        return this.openService(effect.id, effect.port);
      case 'service-data':
        this.services.get(effect.id)?.feed(effect.data);
        return;
      case 'service-close': {
        const s = this.services.get(effect.id);
        this.services.delete(effect.id);
        this.heldWrites.delete(effect.id);
        s?.detach();
        return;
      }
      case 'service-flushed': {
        const done = this.heldWrites.get(effect.id);
        this.heldWrites.delete(effect.id);
        done?.();
        return;
      }
      case 'service-reject': {
        const s = this.services.get(effect.id);
        this.services.delete(effect.id);
        s?.detach();
        const body = 'chunk terminator split across APF messages';
        this.run({
          kind: 'service-output',
          id: effect.id,
          data: Buffer.from(`HTTP/1.1 400 Bad Request\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`),
        });
        this.run({ kind: 'service-closed', id: effect.id });
        return;
      }
      case 'link-down':
        return;
      case 'log':
        return this.note(effect.message);
    }
  }

  private openService(id: number, port: number): void {
    const socket = new ServiceSocket(
      {
        output: (data, done) => {
          this.run({ kind: 'service-output', id, data });
          if (this.engine.txBuffered(id) <= SERVICE_BUFFER) done();
          else this.heldWrites.set(id, done);
        },
        consumed: (bytes) => {
          const credit = (): void => this.run({ kind: 'service-consumed', id, bytes });
          if (this.adjustDelayMs > 0) setTimeout(credit, this.adjustDelayMs);
          else credit();
        },
        closed: () => {
          if (this.services.get(id) !== socket) return;
          this.services.delete(id);
          this.run({ kind: 'service-closed', id });
        },
      },
      port,
    );
    socket.on('error', () => socket.destroy());
    this.services.set(id, socket);
    if (this.httpPorts.has(port)) this.http.emit('connection', socket);
    else socket.pipe(socket); // 623/664: an echo
  }
}

/** One connection to the simulated LME client. Messages reach the host on a later turn, like device reads. */
class SimulatedConnection implements MeConnection {
  readonly messages$ = new Subject<Buffer>();
  closed = false;
  private queue: Buffer[] = [];
  private scheduled = false;

  constructor(
    private readonly me: SimulatedMe,
    readonly maxMsgLength: number,
    readonly protocolVersion: number,
  ) {}

  deliver(bytes: Buffer): void {
    if (this.closed) return;
    this.queue.push(bytes);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.queue;
      this.queue = [];
      for (const b of batch) if (!this.closed) this.messages$.next(b);
    });
  }

  fail(error: DeviceError): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.messages$.error(error);
  }

  write(message: Buffer): Promise<void> {
    try {
      this.writeNow(message);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  writeNow(message: Buffer): void {
    if (this.closed) throw new DeviceError('ENODEV', 'the simulated ME connection is gone');
    if (message.length > this.maxMsgLength) {
      this.me.mtuViolation(message.length);
      throw new DeviceError('EFBIG', `message of ${message.length} bytes exceeds max_msg_length ${this.maxMsgLength}`);
    }
    this.me.receive(message);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.messages$.complete();
    this.me.closed(this);
  }
}
