/**
 * MKHI (ME Kernel Host Interface): the firmware version, for `lms info` when AMTHI's code versions
 * lack the "Flash" entry; and the FWCAPS rules the simulated ME answers, which Intel LMS asks
 * before it runs (AMT there and enabled, the platform type). Header u32 LE: group id (bits 0-7),
 * command (8-14), is-response (15), reserved (16-23), result (24-31). GEN group 0xFF,
 * GET_FW_VERSION 0x02; the reply carries the code version as u16 LE minor, major, build number,
 * hot fix.
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

/**
 * An MKHI GET_FW_VERSION response (the simulated ME answers with it): the code version, then the
 * recovery (NFTP) version, as the firmware sends both (Intel LMS reads 16 bytes after the header).
 */
export const encodeMkhiFwVersionResponse = (v: FwVersion): Buffer => {
  const b = Buffer.alloc(20);
  b[0] = GEN_GROUP;
  b[1] = GET_FW_VERSION | RESPONSE;
  for (const at of [4, 12]) {
    b.writeUInt16LE(v.minor, at);
    b.writeUInt16LE(v.major, at + 2);
    b.writeUInt16LE(v.build, at + 4);
    b.writeUInt16LE(v.hotfix, at + 6);
  }
  return b;
};

/** The FWCAPS group's GET_RULE (group 3, command 2): a rule id u32 in, the rule's data out. */
const FWCAPS_GROUP = 0x03;
const GET_RULE = 0x02;
/** Rule ids (feature 0): the SKU's capabilities, the enabled features, and the available ones. */
export const MkhiRule = { FwSku: 0, PlatformType: 29, FeatureEnable: 32, AvailableBitmap: 39 } as const;
/** MEFWCAPS_SKU bits: AMT (2), IPv6 (17), KVM (18), TLS (21). */
export const FwFeature = { Amt: 1 << 2, Ipv6: 1 << 17, Kvm: 1 << 18, Tls: 1 << 21 } as const;
/**
 * MKHI_PLATFORM_TYPE (rule 29): mobile (bit 0), desktop (1), production signed (7), image type
 * (bits 8-11: 4 is a full 8 MB ME, the one AMT runs on), brand (bits 12-15: 1 is AMT).
 */
export const platformType = (p: { desktop: boolean; imageType: number; brand: number }): number =>
  ((p.desktop ? 0x2 : 0x1) | 0x80 | ((p.imageType & 0xf) << 8) | ((p.brand & 0xf) << 12)) >>> 0;
export const ME_FULL_8MB = 4;
export const BRAND_AMT = 1;

/** The rule id of an MKHI FWCAPS GET_RULE request, or undefined for any other message. */
export const mkhiGetRuleId = (request: Buffer): number | undefined =>
  request.length >= 8 && request[0] === FWCAPS_GROUP && request[1] === GET_RULE ? request.readUInt32LE(4) : undefined;

/** A GET_RULE response: the header, the rule id, its data's length (u8) and the data (the simulated ME answers with it). */
export const encodeMkhiRuleResponse = (rule: number, data: Buffer): Buffer => {
  const b = Buffer.alloc(9 + data.length);
  b[0] = FWCAPS_GROUP;
  b[1] = GET_RULE | RESPONSE;
  b.writeUInt32LE(rule, 4);
  b[8] = data.length;
  data.copy(b, 9);
  return b;
};
