/**
 * The ME engine in real time: it feeds the engine its inputs one at a time, and carries out its
 * effects: messages to the host's connection, and AMT's services behind each channel (HTTP on
 * the HTTP ports, an echo on the redirection ports), with their output held to the host's window.
 */
import type { Server } from 'node:http';
import { TLSSocket, type SecureContext } from 'node:tls';
import { slabEncoder } from '../../codecs/encode.js';
import { createAmtHttpServer, type AmtWeb } from './amtHttpService.js';
import type { MeEngine } from './meEngine.js';
import type { MeEffect, MeInput } from './meTypes.js';
import { ServiceSocket } from './serviceSocket.js';
import type { SimulatedConnection } from './simulatedConnection.js';

/** Service output the ME buffers before it holds the writer's callback. */
const SERVICE_BUFFER = 64 * 1024;

export interface EngineDriverOptions {
  /** AMT's web service: its model and the local system account. */
  readonly web: AmtWeb;
  /** Ports that serve HTTP; the other forwarded ports echo. */
  readonly httpPorts: ReadonlySet<number>;
  /** Where the engine's log lines go. */
  readonly note: (line: string) => void;
  /** Ports whose service speaks TLS first (16993 where AMT enforces TLS), and the certificate it shows. */
  readonly tlsPorts: ReadonlySet<number>;
  readonly tlsContext: () => Promise<SecureContext>;
}

export class EngineDriver {
  /** The host's connection, while there is one. */
  connection: SimulatedConnection | undefined;
  /** Hold each WINDOW_ADJUST this long (a slow ME). */
  adjustDelayMs = 0;
  private readonly http: Server;
  private readonly services = new Map<number, ServiceSocket>();
  private readonly heldWrites = new Map<number, () => void>();
  /** Messages to the host share slabs: one allocation per 4105-byte CHANNEL_DATA costs more than its copy. */
  private readonly encode = slabEncoder();
  private readonly backlog: MeInput[] = [];
  private busy = false;

  constructor(
    private readonly engine: MeEngine,
    private readonly options: EngineDriverOptions,
  ) {
    this.http = createAmtHttpServer(options.web);
  }

  /** Inputs that arrive while effects run wait their turn, so effects keep their order. */
  run(input: MeInput): void {
    this.backlog.push(input);
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.backlog.length > 0) for (const effect of this.engine.step(this.backlog.shift()!)) this.apply(effect);
    } finally {
      this.busy = false;
    }
  }

  /** The link is gone: every service goes with it. */
  detachServices(): void {
    for (const s of this.services.values()) s.detach();
    this.services.clear();
    this.heldWrites.clear();
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
      case 'log':
        return this.options.note(effect.message);
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
    if (this.options.tlsPorts.has(port)) {
      // The host's ClientHello waits in the socket until the certificate (made at start) is ready.
      this.options.tlsContext().then(
        (secureContext) => {
          const secure = new TLSSocket(socket, { isServer: true, secureContext });
          secure.on('error', () => socket.destroy());
          this.http.emit('connection', secure);
        },
        (err: unknown) => {
          // No certificate, no TLS service: the channel closes, the simulator goes on.
          this.options.note(`no TLS certificate for port ${port}: ${err instanceof Error ? err.message : String(err)}`);
          socket.destroy();
        },
      );
    } else if (this.options.httpPorts.has(port)) this.http.emit('connection', socket);
    else socket.pipe(socket); // 623/664: an echo
  }
}
