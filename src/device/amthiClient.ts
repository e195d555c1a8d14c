/**
 * The host side of the ME's request-reply clients (AMTHI, MKHI) over a MeDevice: one request, one
 * decoded answer or the reason there is none, within a bound. `lms info` and the host duties both
 * ask through it.
 */
import * as E from 'fp-ts/lib/Either.js';
import { firstValueFrom, timeout } from 'rxjs';
import { decodeAmthiResponse, describeAmthiError, type AmthiCommand, type AmthiError } from '../codecs/amthi.js';
import { decodeMkhiFwVersion, encodeMkhiFwVersionRequest, formatFwVersion } from '../codecs/mkhi.js';
import type { MeConnection, MeDevice } from './transport.js';

/** One AMTHI request on an open connection, and its decoded answer (or why there is none). */
export const askAmthi = async <A>(
  c: MeConnection,
  request: Buffer,
  command: AmthiCommand,
  decode: (body: Buffer) => E.Either<AmthiError, A>,
  ms: number,
): Promise<E.Either<string, A>> => {
  const reply = firstValueFrom(c.messages$.pipe(timeout(ms)));
  await c.write(request);
  try {
    const r = E.chain(decode)(decodeAmthiResponse(await reply, command));
    return E.mapLeft(describeAmthiError)(r);
  } catch (err) {
    return E.left(`no answer within ${ms} ms (${(err as Error).message})`);
  }
};

/** `ask` on a connection of its own: connect, ask, close. A device that cannot connect is an answer too (Left). */
const onConnection = async <A>(device: MeDevice, ask: (c: MeConnection) => Promise<E.Either<string, A>>): Promise<E.Either<string, A>> => {
  let c: MeConnection;
  try {
    c = await device.connect();
  } catch (err) {
    return E.left((err as Error).message);
  }
  try {
    return await ask(c);
  } finally {
    c.close();
  }
};

/** The firmware version from MKHI, for firmware whose AMTHI code versions have no "Flash" entry. */
export const readFirmwareVersion = (mkhi: MeDevice, timeoutMs: number): Promise<E.Either<string, string>> =>
  onConnection(mkhi, async (c) => {
    try {
      const reply = firstValueFrom(c.messages$.pipe(timeout(timeoutMs)));
      await c.write(encodeMkhiFwVersionRequest());
      return E.map(formatFwVersion)(decodeMkhiFwVersion(await reply));
    } catch (err) {
      return E.left(`no answer within ${timeoutMs} ms (${(err as Error).message})`);
    }
  });

/** One AMTHI request on a connection of its own. */
export const callAmthi = <A>(
  device: MeDevice,
  request: Buffer,
  command: AmthiCommand,
  decode: (body: Buffer) => E.Either<AmthiError, A>,
  timeoutMs = 3000,
): Promise<E.Either<string, A>> => onConnection(device, (c) => askAmthi(c, request, command, decode, timeoutMs));
