/**
 * MKHI (ME Kernel Host Interface): only the firmware version, for `lms info` when AMTHI's code
 * versions lack the "Flash" entry. Header u32 LE: group id (bits 0-7), command (8-14),
 * is-response (15), reserved (16-23), result (24-31). GEN group 0xFF, GET_FW_VERSION 0x02;
 * the reply carries the code version as u16 LE minor, major, build number, hot fix.
 */
import * as E from 'fp-ts/lib/Either.js';

const GEN_GROUP = 0xff;
const GET_FW_VERSION = 0x02;
const RESPONSE = 0x80;

/** An MKHI GET_FW_VERSION request. */
export const encodeMkhiFwVersionRequest = (): Buffer => Buffer.from([GEN_GROUP, GET_FW_VERSION, 0, 0]);

/** The ME firmware version MKHI reports. */
export interface FwVersion {
  readonly major: number;
  readonly minor: number;
  readonly hotfix: number;
  readonly build: number;
}

/** Intel writes firmware versions major.minor.hotfix.build (e.g. 16.1.30.2225). */
export const formatFwVersion = (v: FwVersion): string => `${v.major}.${v.minor}.${v.hotfix}.${v.build}`;

/** An MKHI GET_FW_VERSION response to its version, or why it is not one. */
export const decodeMkhiFwVersion = (bytes: Uint8Array): E.Either<string, FwVersion> => {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 12) return E.left(`MKHI reply of ${b.length} bytes, expected at least 12`);
  if (b[0] !== GEN_GROUP || b[1] !== (GET_FW_VERSION | RESPONSE)) return E.left(`MKHI answered group 0x${b[0]!.toString(16)} command 0x${b[1]!.toString(16)}`);
  if (b[3] !== 0) return E.left(`MKHI GET_FW_VERSION failed with result 0x${b[3]!.toString(16)}`);
  return E.right({ minor: b.readUInt16LE(4), major: b.readUInt16LE(6), build: b.readUInt16LE(8), hotfix: b.readUInt16LE(10) });
};

/** An MKHI GET_FW_VERSION response (the simulated ME answers with it). */
export const encodeMkhiFwVersionResponse = (v: FwVersion): Buffer => {
  const b = Buffer.alloc(12);
  b[0] = GEN_GROUP;
  b[1] = GET_FW_VERSION | RESPONSE;
  b.writeUInt16LE(v.minor, 4);
  b.writeUInt16LE(v.major, 6);
  b.writeUInt16LE(v.build, 8);
  b.writeUInt16LE(v.hotfix, 10);
  return b;
};
