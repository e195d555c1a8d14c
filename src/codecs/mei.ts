/**
 * MEI (HECI) driver structures (docs/mei.md): the IOCTL_MEI_CONNECT_CLIENT buffer and the ME client
 * GUIDs. In: the client's 16-byte GUID (uuid_le). Out, in the same 16 bytes:
 *   max_msg_length u32 LE @0, protocol_version u8 @4, 3 reserved bytes.
 */
import * as E from 'fp-ts/lib/Either.js';
import { guidToBytes } from './guid.js';

/** The MEI driver's ioctl that connects an fd to an ME client by GUID. */
export const IOCTL_MEI_CONNECT_CLIENT = 0xc0104801;
/** The size of the connect ioctl's argument: a 16-byte GUID in, max_msg_length and version out. */
export const CONNECT_CLIENT_DATA_SIZE = 16;

/** The GUIDs of the ME clients lms connects to. */
export const MeClient = {
  Lme: '6733a4db-0476-4e7b-b3af-bcfc29bee7a7',
  Amthi: '12f80028-b4b7-4b2d-aca8-46e0ff65814c',
  Mkhi: '8e6a6715-9abc-4043-88ef-9e39c6f63e0f',
} as const;

/** The oldest LME client protocol version that serves APF port forwarding (MicroLMS refuses < 4). */
export const MIN_LME_PROTOCOL_VERSION = 4;

/** What IOCTL_MEI_CONNECT_CLIENT answers: the client's max_msg_length and protocol version. */
export interface ConnectedClient {
  readonly maxMsgLength: number;
  readonly protocolVersion: number;
}

/** The ioctl's input buffer for a client GUID. */
export const encodeConnectClientRequest = (guid: string): E.Either<string, Buffer> => guidToBytes(guid);

/** The connect ioctl's answer, from its 16-byte argument after the call. */
export const decodeConnectClientResponse = (buf: Uint8Array): E.Either<string, ConnectedClient> => {
  if (buf.length !== CONNECT_CLIENT_DATA_SIZE) return E.left(`connect-client reply is ${buf.length} bytes, expected 16`);
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const maxMsgLength = b.readUInt32LE(0);
  if (maxMsgLength === 0) return E.left('connect-client reply has max_msg_length 0');
  return E.right({ maxMsgLength, protocolVersion: b[4]! });
};

/** The reply buffer a driver (or our emulation) writes back. */
export const encodeConnectClientResponse = (c: ConnectedClient): Buffer => {
  const b = Buffer.alloc(CONNECT_CLIENT_DATA_SIZE);
  b.writeUInt32LE(c.maxMsgLength, 0);
  b[4] = c.protocolVersion;
  return b;
};
