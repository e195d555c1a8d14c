/**
 * The decoded APF messages: one discriminated union on `type`, readonly fields, branded u32s.
 * Reserved wire fields are kept as decoded so that encoding a decoded message reproduces it
 * byte for byte; the constructors below fill them with the values the protocol sends.
 */
import { u32, type ChannelId, type Uint32 } from './brands.js';
import { ChannelType, RequestName, RESERVED_MAX_PACKET, Service } from './opcodes.js';
import { NIL_GUID } from './guid.js';

export interface Disconnect { readonly type: 'disconnect'; readonly reason: Uint32; readonly reserved: number }
export interface ServiceRequest { readonly type: 'service-request'; readonly service: string }
export interface ServiceAccept { readonly type: 'service-accept'; readonly service: string }

interface UserauthCommon { readonly type: 'userauth-request'; readonly user: string; readonly service: string }
export type UserauthRequest =
  | (UserauthCommon & { readonly method: 'none' })
  | (UserauthCommon & { readonly method: 'password'; readonly password: string })
  /** A method we do not know: its name and the bytes after it, kept raw. */
  | (UserauthCommon & { readonly method: 'unknown'; readonly name: string; readonly data: Buffer });
export interface UserauthFailure { readonly type: 'userauth-failure'; readonly methods: string; readonly partialSuccess: boolean }
export interface UserauthSuccess { readonly type: 'userauth-success' }

interface GlobalCommon { readonly type: 'global-request'; readonly wantReply: boolean }
export type TcpipForwardRequest = GlobalCommon & {
  readonly request: 'tcpip-forward' | 'cancel-tcpip-forward';
  readonly address: string;
  readonly port: Uint32;
};
export type UdpSendToRequest = GlobalCommon & {
  readonly request: 'udp-send-to@amt.intel.com';
  readonly address: string;
  readonly port: Uint32;
  readonly originatorAddress: string;
  readonly originatorPort: Uint32;
  readonly data: Buffer;
};
export type UnknownGlobalRequest = GlobalCommon & { readonly request: 'unknown'; readonly name: string; readonly data: Buffer };
export type GlobalRequest = TcpipForwardRequest | UdpSendToRequest | UnknownGlobalRequest;

/** REQUEST_SUCCESS is 5 bytes (with the bound port) after tcpip-forward, 1 byte otherwise. */
export interface RequestSuccess { readonly type: 'request-success'; readonly port?: Uint32 }
export interface RequestFailure { readonly type: 'request-failure' }

interface ChannelOpenCommon {
  readonly type: 'channel-open';
  readonly sender: ChannelId;
  readonly window: Uint32;
  readonly reserved: Uint32;
}
export type TcpipChannelOpen = ChannelOpenCommon & {
  readonly channelType: 'forwarded-tcpip' | 'direct-tcpip';
  readonly address: string;
  readonly port: Uint32;
  readonly originatorAddress: string;
  readonly originatorPort: Uint32;
};
/** A channel type we do not know: the host must still answer OPEN_FAILURE(3) to its sender. */
export type UnknownChannelOpen = ChannelOpenCommon & { readonly channelType: 'unknown'; readonly name: string; readonly data: Buffer };
export type ChannelOpen = TcpipChannelOpen | UnknownChannelOpen;

export interface ChannelOpenConfirmation {
  readonly type: 'channel-open-confirmation';
  readonly recipient: ChannelId;
  readonly sender: ChannelId;
  readonly window: Uint32;
  readonly reserved: Uint32;
}
export interface ChannelOpenFailure {
  readonly type: 'channel-open-failure';
  readonly recipient: ChannelId;
  readonly reason: Uint32;
  readonly reserved1: Uint32;
  readonly reserved2: Uint32;
}
export interface ChannelWindowAdjust { readonly type: 'channel-window-adjust'; readonly recipient: ChannelId; readonly bytesToAdd: Uint32 }
/** `data` is a view into the received message, never a copy. */
export interface ChannelData { readonly type: 'channel-data'; readonly recipient: ChannelId; readonly data: Buffer }
export interface ChannelClose { readonly type: 'channel-close'; readonly recipient: ChannelId }
export interface ProtocolVersion {
  readonly type: 'protocol-version';
  readonly major: Uint32;
  readonly minor: Uint32;
  readonly triggerReason: Uint32;
  /** GUID text; on the wire in the mixed-endian (uuid_le) order. */
  readonly uuid: string;
  /** 64 bytes, zeros as sent. */
  readonly reserved: Buffer;
}
export interface KeepaliveRequest { readonly type: 'keepalive-request'; readonly cookie: Uint32 }
export interface KeepaliveReply { readonly type: 'keepalive-reply'; readonly cookie: Uint32 }
export interface KeepaliveOptionsRequest { readonly type: 'keepalive-options-request'; readonly interval: Uint32; readonly timeout: Uint32 }
export interface KeepaliveOptionsReply { readonly type: 'keepalive-options-reply'; readonly interval: Uint32; readonly timeout: Uint32 }

export type ApfMessage =
  | Disconnect
  | ServiceRequest
  | ServiceAccept
  | UserauthRequest
  | UserauthFailure
  | UserauthSuccess
  | GlobalRequest
  | RequestSuccess
  | RequestFailure
  | ChannelOpen
  | ChannelOpenConfirmation
  | ChannelOpenFailure
  | ChannelWindowAdjust
  | ChannelData
  | ChannelClose
  | ProtocolVersion
  | KeepaliveRequest
  | KeepaliveReply
  | KeepaliveOptionsRequest
  | KeepaliveOptionsReply;

export const PROTOCOL_VERSION_RESERVED_LENGTH = 64;

// Constructors: the protocol's values for the reserved fields, numbers checked once here.
export const disconnect = (reason: number): Disconnect => ({ type: 'disconnect', reason: u32(reason), reserved: 0 });
export const serviceRequest = (service: string = Service.Pfwd): ServiceRequest => ({ type: 'service-request', service });
export const serviceAccept = (service: string): ServiceAccept => ({ type: 'service-accept', service });
export const userauthSuccess: UserauthSuccess = { type: 'userauth-success' };
export const userauthFailure = (methods = 'password'): UserauthFailure => ({ type: 'userauth-failure', methods, partialSuccess: false });
export const tcpipForward = (port: number, address = '', wantReply = true, cancel = false): TcpipForwardRequest => ({
  type: 'global-request',
  request: cancel ? RequestName.CancelTcpipForward : RequestName.TcpipForward,
  wantReply,
  address,
  port: u32(port),
});
export const requestSuccess = (port?: number): RequestSuccess =>
  port === undefined ? { type: 'request-success' } : { type: 'request-success', port: u32(port) };
export const requestFailure: RequestFailure = { type: 'request-failure' };
export const channelOpen = (o: {
  channelType?: 'forwarded-tcpip' | 'direct-tcpip';
  sender: number;
  window: number;
  address: string;
  port: number;
  originatorAddress: string;
  originatorPort: number;
}): TcpipChannelOpen => ({
  type: 'channel-open',
  channelType: o.channelType ?? ChannelType.ForwardedTcpip,
  sender: u32(o.sender),
  window: u32(o.window),
  reserved: u32(RESERVED_MAX_PACKET),
  address: o.address,
  port: u32(o.port),
  originatorAddress: o.originatorAddress,
  originatorPort: u32(o.originatorPort),
});
export const openConfirmation = (recipient: number, sender: number, window: number): ChannelOpenConfirmation => ({
  type: 'channel-open-confirmation',
  recipient: u32(recipient),
  sender: u32(sender),
  window: u32(window),
  reserved: u32(RESERVED_MAX_PACKET),
});
export const openFailure = (recipient: number, reason: number): ChannelOpenFailure => ({
  type: 'channel-open-failure',
  recipient: u32(recipient),
  reason: u32(reason),
  reserved1: u32(0),
  reserved2: u32(0),
});
export const windowAdjust = (recipient: number, bytesToAdd: number): ChannelWindowAdjust => ({
  type: 'channel-window-adjust',
  recipient: u32(recipient),
  bytesToAdd: u32(bytesToAdd),
});
export const channelData = (recipient: number, data: Buffer): ChannelData => ({ type: 'channel-data', recipient: u32(recipient), data });
export const channelClose = (recipient: number): ChannelClose => ({ type: 'channel-close', recipient: u32(recipient) });
export const protocolVersion = (triggerReason: number, uuid: string = NIL_GUID, major = 1, minor = 0): ProtocolVersion => ({
  type: 'protocol-version',
  major: u32(major),
  minor: u32(minor),
  triggerReason: u32(triggerReason),
  uuid,
  reserved: Buffer.alloc(PROTOCOL_VERSION_RESERVED_LENGTH),
});
