/**
 * GUID text <-> the 16 bytes of the SMBIOS/Microsoft (uuid_le) order: the first three fields
 * little-endian, the last eight bytes as written. The MEI connect ioctl and APF's
 * PROTOCOLVERSION UUID both use this order.
 */
import * as E from 'fp-ts/lib/Either.js';

const GUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Byte positions, in text order, of the 16 wire bytes. */
const TEXT_ORDER = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15] as const;

/** UUID text to its 16 bytes in the ME's mixed-endian order (uuid_le), or why the text is not a UUID. */
export const guidToBytes = (text: string): E.Either<string, Buffer> => {
  if (!GUID_TEXT.test(text)) return E.left(`not a GUID: ${JSON.stringify(text)}`);
  const hex = Buffer.from(text.replace(/-/g, ''), 'hex');
  const out = Buffer.alloc(16);
  TEXT_ORDER.forEach((wireIndex, textIndex) => {
    out[wireIndex] = hex[textIndex]!;
  });
  return E.right(out);
};

/** The text form of 16 bytes in uuid_le order (lower case). */
export const bytesToGuid = (bytes: Uint8Array): string => {
  if (bytes.length !== 16) throw new RangeError(`a GUID is 16 bytes, got ${bytes.length}`);
  const h = TEXT_ORDER.map((i) => bytes[i]!.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** The all-zero UUID, sent where no UUID is known. */
export const NIL_GUID = '00000000-0000-0000-0000-000000000000';
