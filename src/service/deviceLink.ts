/**
 * The link to the ME: connect the device, reconnect with backoff after a loss, and write messages
 * in order. What the device reads becomes session inputs; what the link knows about itself (up,
 * lost, failed for good) is reported through `feed` and `failure$`.
 */
import { BehaviorSubject, type Subscription } from 'rxjs';
import { DeviceError, type MeConnection, type MeDevice } from '../device/transport.js';
import { sessionInputs } from '../streams/codecOperators.js';
import type { SessionInput } from '../streams/sessionTypes.js';
import type { Logger } from './logger.js';
import { serialWriter } from './serialWriter.js';

export interface DeviceLinkOptions {
  readonly device: MeDevice;
  /** First reconnect delay; doubles up to `reconnectMaxMs`. */
  readonly reconnectMs: number;
  readonly reconnectMaxMs: number;
  readonly log: Logger;
  readonly feed: (input: SessionInput) => void;
}

export interface DeviceLink {
  /** The permanent error once the device failed for good (no device, no permission, no LME). */
  readonly failure$: BehaviorSubject<DeviceError | undefined>;
  readonly lastError: string | undefined;
  readonly connects: number;
  /** Times a live link was lost. */
  readonly resets: number;
  readonly up: boolean;
  connect(): void;
  write(message: Buffer): void;
  /** Drop the connection (after its queued writes) and connect again after `delayMs`. */
  restart(delayMs: number): void;
  /** Let the queued writes go out, then release the device for good. */
  stop(): Promise<void>;
}

export const createDeviceLink = (options: DeviceLinkOptions): DeviceLink => {
  const { log, feed } = options;
  const failure$ = new BehaviorSubject<DeviceError | undefined>(undefined);
  let connection: MeConnection | undefined;
  let reads: Subscription | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let backoff = options.reconnectMs;
  let lastError: string | undefined;
  let connects = 0;
  let resets = 0;

  const writer = serialWriter((err, c, bytes) => {
    if (err instanceof DeviceError && err.code === 'EFBIG') log.error({ size: bytes.length, maxMsgLength: c.maxMsgLength }, `BUG: ${err.message}`);
    else if (!(err instanceof DeviceError)) log.error({ error: String(err) }, 'BUG: a device write threw');
    // ENODEV and friends also end messages$, which handles the reconnect.
  });

  const schedule = (delay: number): void => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, delay);
  };

  const drop = (): void => {
    reads?.unsubscribe();
    reads = undefined;
    const c = connection;
    connection = undefined;
    // Let queued writes (a DISCONNECT, the last CLOSEs) go out before the device is released.
    void writer.flushed().then(() => c?.close());
  };

  const lost = (reason: string): void => {
    if (!connection) return;
    drop();
    resets++;
    feed({ kind: 'disconnected', reason });
    schedule(backoff);
  };

  const connect = async (): Promise<void> => {
    if (stopped) return;
    let c: MeConnection;
    try {
      c = await options.device.connect();
    } catch (err) {
      const e = err instanceof DeviceError ? err : new DeviceError('ENODEV', String(err));
      lastError = e.message;
      if (e.permanent) {
        log.error({ code: e.code, device: options.device.description }, e.message);
        failure$.next(e);
        return;
      }
      log.warn({ code: e.code, retryInMs: backoff }, `device not available: ${e.message}`);
      schedule(backoff);
      backoff = Math.min(backoff * 2, options.reconnectMaxMs);
      return;
    }
    if (stopped) return c.close();
    backoff = options.reconnectMs;
    connection = c;
    connects++;
    log.info({ maxMsgLength: c.maxMsgLength, protocolVersion: c.protocolVersion, device: options.device.description }, 'connected to the ME');
    feed({ kind: 'connected', maxMsgLength: c.maxMsgLength });
    reads = c.messages$.pipe(sessionInputs()).subscribe({
      next: feed,
      error: (err: unknown) => {
        lastError = err instanceof Error ? err.message : String(err);
        log.warn({ error: lastError }, 'ME link lost');
        lost(lastError);
      },
      complete: () => lost('the device closed the connection'),
    });
  };

  return {
    failure$,
    get lastError() {
      return lastError;
    },
    get connects() {
      return connects;
    },
    get resets() {
      return resets;
    },
    get up() {
      return connection !== undefined;
    },
    connect: () => void connect(),
    write(message) {
      if (connection) writer.write(connection, message);
    },
    restart(delayMs) {
      if (!connection) return;
      drop();
      schedule(delayMs);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await writer.flushed(); // the CLOSEs go out before the device is released
      reads?.unsubscribe();
      connection?.close();
      connection = undefined;
    },
  };
};
