/**
 * The codec as RxJS operators. Decoding surfaces malformed input as a Left value, so one bad
 * message never kills the stream that carries the good ones.
 */
import type * as E from 'fp-ts/lib/Either.js';
import { map, type OperatorFunction } from 'rxjs';
import { decodeApf } from '../codecs/decode.js';
import { encodeApf } from '../codecs/encode.js';
import type { ApfDecodeError } from '../codecs/errors.js';
import type { ApfMessage } from '../codecs/messages.js';
import type { SessionInput } from './sessionTypes.js';

/** A decoded message, or why it was malformed. */
export type Decoded = E.Either<ApfDecodeError, ApfMessage>;

/** One whole message per input (an MEI read) to a decoded message or a typed error. */
export const decodeMessages = (): OperatorFunction<Uint8Array, Decoded> => map(decodeApf);

/** Messages to their wire bytes, one Buffer each (one MEI write each). */
export const encodeMessages = (): OperatorFunction<ApfMessage, Buffer> => map(encodeApf);

/** Device reads to session inputs: each message with its wire size, or the reason it was malformed. */
export const sessionInputs = (): OperatorFunction<Uint8Array, SessionInput> =>
  map((bytes) => {
    const decoded = decodeApf(bytes);
    return decoded._tag === 'Right'
      ? { kind: 'message', message: decoded.right, size: bytes.length }
      : { kind: 'decode-error', error: decoded.left, size: bytes.length };
  });
