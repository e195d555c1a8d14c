/**
 * AMTHI (AMT Host Interface, "PTHI") messages, the ME client that answers local questions
 * without credentials (docs/mei.md). Little-endian throughout.
 *   header (12): version major u8 = 1, minor u8 = 1, reserved u16, command u32, length u32
 *                (the bytes after the header)
 *   response:    header with command | 0x00800000, then status u32 (0 = success), then the body
 * The local system account (0x04000067) carries credentials: its decoder hands them to the WS-Man
 * client of the host duties and nowhere else (src/duties/).
 */
import * as E from 'fp-ts/lib/Either.js';
import { bytesToGuid } from './guid.js';

/** The AMTHI commands lms sends (request codes; the response sets bit 0x00800000). */
export const AmthiCommand = {
  GetCodeVersions: 0x0400001a,
  GetProvisioningState: 0x04000011,
  GetControlMode: 0x0400006b,
  GetUuid: 0x0400005c,
  GetDnsSuffix: 0x04000036,
  GetLanInterfaceSettings: 0x04000048,
  SetHostFqdn: 0x0400005b,
  GetLocalSystemAccount: 0x04000067,
  GetRemoteAccessConnectionStatus: 0x04000046,
  OpenUserInitiatedConnection: 0x04000044,
} as const;
export type AmthiCommand = (typeof AmthiCommand)[keyof typeof AmthiCommand];

const RESPONSE_BIT = 0x0080_0000;
const HEADER = 12;
/** What AMT's status codes mean (the first five; others are shown by number). */
const AmthiStatus: Readonly<Record<number, string>> = {
  0: 'success',
  1: 'internal error',
  2: 'not ready',
  3: 'invalid AMT mode',
  4: 'invalid message length',
  2057: 'data missing', // 0x809
};
/** AMT_STATUS_NOT_READY and AMT_STATUS_DATA_MISSING, as AMT's status codes number them. */
export const AMT_STATUS_NOT_READY = 2;
export const AMT_STATUS_DATA_MISSING = 0x809;
/** The name of an AMTHI status code, or its hex value. */
export const amthiStatusName = (status: number): string => AmthiStatus[status] ?? `status 0x${status.toString(16)}`;

/** GET_PROVISIONING_STATE values. */
export const ProvisioningState = { 0: 'pre-provisioning', 1: 'in provisioning', 2: 'post-provisioning' } as const;
/** GET_CONTROL_MODE values: how AMT was provisioned. */
export const ControlMode = { 0: 'none', 1: 'client control', 2: 'admin control' } as const;

/** Why an AMTHI response could not be used: malformed, for another command, or a failure status. */
export type AmthiError =
  | { readonly kind: 'truncated'; readonly needed: number; readonly available: number }
  | { readonly kind: 'wrong-response'; readonly expected: number; readonly actual: number }
  | { readonly kind: 'bad-length'; readonly declared: number; readonly actual: number }
  | { readonly kind: 'status'; readonly command: number; readonly status: number };

/** A sentence for an AmthiError. */
export const describeAmthiError = (e: AmthiError): string => {
  switch (e.kind) {
    case 'truncated':
      return `AMTHI response truncated: needs ${e.needed} bytes, has ${e.available}`;
    case 'wrong-response':
      return `AMTHI answered command 0x${e.actual.toString(16)} to 0x${e.expected.toString(16)}`;
    case 'bad-length':
      return `AMTHI response says ${e.declared} bytes follow its header, ${e.actual} do`;
    case 'status':
      return `AMTHI command 0x${e.command.toString(16)} failed: ${amthiStatusName(e.status)}`;
  }
};

const header = (command: number, length: number): Buffer => {
  const b = Buffer.alloc(HEADER);
  b[0] = 1;
  b[1] = 1;
  b.writeUInt32LE(command >>> 0, 4);
  b.writeUInt32LE(length, 8);
  return b;
};

/** A request: the header, then the body (only GetLanInterfaceSettings has one: the interface index). */
export const encodeAmthiRequest = (command: AmthiCommand, body: Buffer = Buffer.alloc(0)): Buffer => Buffer.concat([header(command, body.length), body]);

/** SET_HOST_FQDN: a u16 LE length that counts the trailing NUL, the name, the NUL (Intel LMS's layout). */
export const hostFqdnRequest = (fqdn: string): Buffer => {
  const name = Buffer.from(fqdn, 'latin1');
  const body = Buffer.alloc(2 + name.length + 1);
  body.writeUInt16LE(name.length + 1, 0);
  name.copy(body, 2);
  return encodeAmthiRequest(AmthiCommand.SetHostFqdn, body);
};

/** SET_HOST_FQDN's name, from a request body (the simulated ME reads it). */
export const decodeHostFqdnBody = (body: Buffer): E.Either<AmthiError, string> =>
  E.chain((b: Buffer): E.Either<AmthiError, string> => {
    const n = b.readUInt16LE(0);
    if (b.length < 2 + n || n === 0) return E.left({ kind: 'truncated', needed: 2 + Math.max(n, 1), available: b.length });
    return E.right(b.toString('latin1', 2, 2 + n - 1));
  })(need(body, 2));

/** GET_LOCAL_SYSTEM_ACCOUNT: 40 reserved zero bytes. */
export const localSystemAccountRequest = (): Buffer => encodeAmthiRequest(AmthiCommand.GetLocalSystemAccount, Buffer.alloc(40));

const ACCOUNT_FIELD = 33;
/** AMT's local system account: the credentials its own OS agent uses for WS-Man on loopback. */
export interface LocalSystemAccount {
  readonly user: string;
  readonly password: string;
}
/** User name [33] and password [33], each NUL-padded. */
export const decodeLocalSystemAccount = (body: Buffer): E.Either<AmthiError, LocalSystemAccount> =>
  E.map((b: Buffer) => ({ user: nulTrim(b.subarray(0, ACCOUNT_FIELD)), password: nulTrim(b.subarray(ACCOUNT_FIELD, 2 * ACCOUNT_FIELD)) }))(
    need(body, 2 * ACCOUNT_FIELD),
  );
/** The body of a GET_LOCAL_SYSTEM_ACCOUNT response (the simulated ME answers with it). */
export const encodeLocalSystemAccount = (a: LocalSystemAccount): Buffer => {
  const b = Buffer.alloc(2 * ACCOUNT_FIELD);
  b.write(a.user.slice(0, ACCOUNT_FIELD - 1), 0, 'latin1');
  b.write(a.password.slice(0, ACCOUNT_FIELD - 1), ACCOUNT_FIELD, 'latin1');
  return b;
};

/** A GET_LAN_INTERFACE_SETTINGS request for interface 0 (wired) or 1 (wireless). */
export const lanInterfaceRequest = (index: 0 | 1): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(index, 0);
  return encodeAmthiRequest(AmthiCommand.GetLanInterfaceSettings, b);
};

/** A response's body after a successful status; every failure is a Left. */
export const decodeAmthiResponse = (bytes: Uint8Array, request: AmthiCommand): E.Either<AmthiError, Buffer> => {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < HEADER + 4) return E.left({ kind: 'truncated', needed: HEADER + 4, available: b.length });
  const command = b.readUInt32LE(4);
  if (command !== (request | RESPONSE_BIT) >>> 0) return E.left({ kind: 'wrong-response', expected: (request | RESPONSE_BIT) >>> 0, actual: command });
  const length = b.readUInt32LE(8);
  if (length !== b.length - HEADER) return E.left({ kind: 'bad-length', declared: length, actual: b.length - HEADER });
  const status = b.readUInt32LE(12);
  if (status !== 0) return E.left({ kind: 'status', command: request, status });
  return E.right(b.subarray(HEADER + 4));
};

/** The response a device (or the simulator) sends. */
export const encodeAmthiResponse = (request: number, status: number, body: Buffer = Buffer.alloc(0)): Buffer => {
  const s = Buffer.alloc(4);
  s.writeUInt32LE(status, 0);
  return Buffer.concat([header((request | RESPONSE_BIT) >>> 0, 4 + body.length), s, body]);
};

// ---- bodies ------------------------------------------------------------------------------------

const need = (b: Buffer, n: number): E.Either<AmthiError, Buffer> =>
  b.length >= n ? E.right(b) : E.left({ kind: 'truncated', needed: n, available: b.length });
const nulTrim = (b: Buffer): string => {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('latin1');
};

/** GET_CODE_VERSIONS: the BIOS version and the named firmware versions (AMT, Flash, Netstack, ...). */
export interface CodeVersions {
  readonly bios: string;
  /** Description -> version, in the ME's order ("AMT", "Flash", "Netstack", "Sku", ...). */
  readonly versions: readonly { readonly description: string; readonly version: string }[];
}

const BIOS_LEN = 65;
const UNICODE_LEN = 20;
const ENTRY = 2 * (2 + UNICODE_LEN);

/** BIOS version [65], count u32, then `count` × {u16 length, [20]} description and version. */
export const decodeCodeVersions = (body: Buffer): E.Either<AmthiError, CodeVersions> =>
  E.chain((b: Buffer): E.Either<AmthiError, CodeVersions> => {
    const count = b.readUInt32LE(BIOS_LEN);
    const size = BIOS_LEN + 4 + count * ENTRY;
    if (b.length < size) return E.left({ kind: 'truncated', needed: size, available: b.length });
    const text = (at: number): string => b.toString('latin1', at + 2, at + 2 + Math.min(UNICODE_LEN, b.readUInt16LE(at))).replace(/\0+$/, '');
    const versions = Array.from({ length: count }, (_, i) => {
      const at = BIOS_LEN + 4 + i * ENTRY;
      return { description: text(at), version: text(at + 2 + UNICODE_LEN) };
    });
    return E.right({ bios: nulTrim(b.subarray(0, BIOS_LEN)), versions });
  })(need(body, BIOS_LEN + 4));

/** The body of a GET_CODE_VERSIONS response (the simulated ME answers with it). */
export const encodeCodeVersions = (v: CodeVersions): Buffer => {
  const b = Buffer.alloc(BIOS_LEN + 4 + v.versions.length * ENTRY);
  b.write(v.bios.slice(0, BIOS_LEN - 1), 0, 'latin1');
  b.writeUInt32LE(v.versions.length, BIOS_LEN);
  v.versions.forEach((e, i) => {
    const at = BIOS_LEN + 4 + i * ENTRY;
    for (const [off, s] of [
      [0, e.description],
      [2 + UNICODE_LEN, e.version],
    ] as const) {
      const t = s.slice(0, UNICODE_LEN);
      b.writeUInt16LE(t.length, at + off);
      b.write(t, at + off + 2, 'latin1');
    }
  });
  return b;
};

/** A u32 state (provisioning state, control mode). */
export const decodeU32 = (body: Buffer): E.Either<AmthiError, number> => E.map((b: Buffer) => b.readUInt32LE(0))(need(body, 4));
/** A u32 LE body, as several AMTHI responses carry. */
export const encodeU32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
};

/** The platform UUID: 16 bytes, shown in the SMBIOS (uuid_le) text order. */
export const decodeUuid = (body: Buffer): E.Either<AmthiError, string> => E.map((b: Buffer) => bytesToGuid(b.subarray(0, 16)))(need(body, 16));

/** An AMT ANSI string: u16 length, then that many bytes. */
export const decodeAnsiString = (body: Buffer): E.Either<AmthiError, string> =>
  E.chain((b: Buffer): E.Either<AmthiError, string> => {
    const n = b.readUInt16LE(0);
    return b.length >= 2 + n ? E.right(b.toString('latin1', 2, 2 + n)) : E.left({ kind: 'truncated', needed: 2 + n, available: b.length });
  })(need(body, 2));
/** An AMTHI ANSI string: a u16 LE length, then the latin1 bytes (the simulated ME answers with it). */
export const encodeAnsiString = (s: string): Buffer => {
  const b = Buffer.alloc(2 + s.length);
  b.writeUInt16LE(s.length, 0);
  b.write(s, 2, 'latin1');
  return b;
};

/** GET_LAN_INTERFACE_SETTINGS: one of AMT's interfaces (0 wired, 1 wireless), as AMT sees it. */
export interface LanSettings {
  readonly enabled: boolean;
  readonly ipv4: string;
  readonly dhcpEnabled: boolean;
  /** 1 passive, 2 active (AMT follows the host's DHCP or runs its own). */
  readonly dhcpMode: number;
  readonly linkUp: boolean;
  readonly mac: string;
}

/** Enabled u32, IPv4 u32 (most significant byte first when shown), DHCP u32, DHCP mode u8, link u8, MAC [6]. */
export const decodeLanSettings = (body: Buffer): E.Either<AmthiError, LanSettings> =>
  E.map((b: Buffer) => {
    const ip = b.readUInt32LE(4);
    return {
      enabled: b.readUInt32LE(0) !== 0,
      ipv4: [ip >>> 24, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff].join('.'),
      dhcpEnabled: b.readUInt32LE(8) !== 0,
      dhcpMode: b[12]!,
      linkUp: b[13] !== 0,
      mac: [...b.subarray(14, 20)].map((x) => x.toString(16).padStart(2, '0')).join(':'),
    };
  })(need(body, 20));

/** The body of a GET_LAN_INTERFACE_SETTINGS response (the simulated ME answers with it). */
export const encodeLanSettings = (l: LanSettings): Buffer => {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(l.enabled ? 1 : 0, 0);
  b.writeUInt32LE(
    l.ipv4.split('.').reduce((acc, octet) => (acc * 256 + Number(octet)) >>> 0, 0),
    4,
  );
  b.writeUInt32LE(l.dhcpEnabled ? 1 : 0, 8);
  b[12] = l.dhcpMode;
  b[13] = l.linkUp ? 1 : 0;
  Buffer.from(l.mac.replace(/:/g, ''), 'hex').copy(b, 14);
  return b;
};

/** GET_REMOTE_ACCESS_CONNECTION_STATUS: where AMT is, and whether it holds a connection to its MPS (CIRA). */
export interface RemoteAccessStatus {
  /** 0 direct (inside the enterprise), 1 VPN, 2 outside the enterprise, 3 unknown. */
  readonly network: 0 | 1 | 2 | 3;
  /** 0 not connected, 1 connecting, 2 connected. */
  readonly connection: 0 | 1 | 2;
  /** What opened the connection: 0 user initiated, 1 alert, 2 provisioning, 3 periodic. */
  readonly trigger: 0 | 1 | 2 | 3;
  /** The management presence server AMT connects to ('' when none is configured). */
  readonly mpsHostname: string;
}

export const RemoteAccessNetwork = { 0: 'inside the enterprise', 1: 'on a VPN', 2: 'outside the enterprise', 3: 'on an unknown network' } as const;

/** Network u32, connection u32, trigger u32, then the MPS's host name as an AMT ANSI string. */
export const decodeRemoteAccessStatus = (body: Buffer): E.Either<AmthiError, RemoteAccessStatus> =>
  E.chain((b: Buffer) =>
    E.map(
      (mpsHostname: string): RemoteAccessStatus => ({
        network: Math.min(b.readUInt32LE(0), 3) as RemoteAccessStatus['network'],
        connection: Math.min(b.readUInt32LE(4), 2) as RemoteAccessStatus['connection'],
        trigger: Math.min(b.readUInt32LE(8), 3) as RemoteAccessStatus['trigger'],
        mpsHostname,
      }),
    )(decodeAnsiString(b.subarray(12))),
  )(need(body, 14));

/** The body of a GET_REMOTE_ACCESS_CONNECTION_STATUS response (the simulated ME answers with it). */
export const encodeRemoteAccessStatus = (s: RemoteAccessStatus): Buffer => {
  const b = Buffer.alloc(12);
  b.writeUInt32LE(s.network, 0);
  b.writeUInt32LE(s.connection, 4);
  b.writeUInt32LE(s.trigger, 8);
  return Buffer.concat([b, encodeAnsiString(s.mpsHostname)]);
};
