/**
 * The decoded APF messages: one discriminated union on `type`, readonly fields, branded u32s.
 * Reserved wire fields are kept as decoded so that encoding a decoded message reproduces it
 * byte for byte; the constructors below fill them with the values the protocol sends.
 */
import { u32, type ChannelId, type Uint32 } from './brands.js';
import { ChannelType, RequestName, RESERVED_MAX_PACKET, Service } from './opcodes.js';
import { NIL_GUID } from './guid.js';

/** DISCONNECT (1): the session ends; a DisconnectReason. */
export interface Disconnect {
  readonly type: 'disconnect';
  readonly reason: Uint32;
  readonly reserved: number;
}
/** SERVICE_REQUEST (5): the ME asks for pfwd@amt.intel.com (or auth@). */
export interface ServiceRequest {
  readonly type: 'service-request';
  readonly service: string;
}
/** SERVICE_ACCEPT (6): the service asked for is available. */
export interface ServiceAccept {
  readonly type: 'service-accept';
  readonly service: string;
}

interface UserauthCommon {
  readonly type: 'userauth-request';
  readonly user: string;
  readonly service: string;
}
/** USERAUTH_REQUEST (50): none or password (or a method we do not know). */
export type UserauthRequest =
  | (UserauthCommon & { readonly method: 'none' })
  | (UserauthCommon & { readonly method: 'password'; readonly password: string })
  /** A method we do not know: its name and the bytes after it, kept raw. */
  | (UserauthCommon & { readonly method: 'unknown'; readonly name: string; readonly data: Buffer });
/** USERAUTH_FAILURE (51): the methods that may continue. */
export interface UserauthFailure {
  readonly type: 'userauth-failure';
  readonly methods: string;
  readonly partialSuccess: boolean;
}
/** USERAUTH_SUCCESS (52). */
export interface UserauthSuccess {
  readonly type: 'userauth-success';
}

interface GlobalCommon {
  readonly type: 'global-request';
  readonly wantReply: boolean;
}
/** tcpip-forward or cancel-tcpip-forward: the ME asks the host to listen on `port`, or to stop. */
export type TcpipForwardRequest = GlobalCommon & {
  readonly request: 'tcpip-forward' | 'cancel-tcpip-forward';
  readonly address: string;
  readonly port: Uint32;
};
/** udp-send-to@amt.intel.com: the ME asks the host to send a datagram. */
export type UdpSendToRequest = GlobalCommon & {
  readonly request: 'udp-send-to@amt.intel.com';
  readonly address: string;
  readonly port: Uint32;
  readonly originatorAddress: string;
  readonly originatorPort: Uint32;
  readonly data: Buffer;
};
/** A GLOBAL_REQUEST we do not know: its name and bytes, kept raw (answered REQUEST_FAILURE). */
export type UnknownGlobalRequest = GlobalCommon & { readonly request: 'unknown'; readonly name: string; readonly data: Buffer };
/** GLOBAL_REQUEST (80): tcpip-forward, cancel-tcpip-forward, udp-send-to, or one we do not know. */
export type GlobalRequest = TcpipForwardRequest | UdpSendToRequest | UnknownGlobalRequest;

/** REQUEST_SUCCESS is 5 bytes (with the bound port) after tcpip-forward, 1 byte otherwise. */
export interface RequestSuccess {
  readonly type: 'request-success';
  readonly port?: Uint32;
}
/** REQUEST_FAILURE (82): a GLOBAL_REQUEST refused. */
export interface RequestFailure {
  readonly type: 'request-failure';
}

interface ChannelOpenCommon {
  readonly type: 'channel-open';
  readonly sender: ChannelId;
  readonly window: Uint32;
  readonly reserved: Uint32;
}
/** CHANNEL_OPEN of forwarded-tcpip (host to ME) or direct-tcpip (ME to host): the addresses and ports of both ends. */
export type TcpipChannelOpen = ChannelOpenCommon & {
  readonly channelType: 'forwarded-tcpip' | 'direct-tcpip';
  readonly address: string;
  readonly port: Uint32;
  readonly originatorAddress: string;
  readonly originatorPort: Uint32;
};
/** A channel type we do not know: the host must still answer OPEN_FAILURE(3) to its sender. */
export type UnknownChannelOpen = ChannelOpenCommon & { readonly channelType: 'unknown'; readonly name: string; readonly data: Buffer };
/** CHANNEL_OPEN (90), of a known channel type or not. */
export type ChannelOpen = TcpipChannelOpen | UnknownChannelOpen;

/** CHANNEL_OPEN_CONFIRMATION (91): the opener's id as recipient, the confirmer's own id and window. */
export interface ChannelOpenConfirmation {
  readonly type: 'channel-open-confirmation';
  readonly recipient: ChannelId;
  readonly sender: ChannelId;
  readonly window: Uint32;
  readonly reserved: Uint32;
}
/** CHANNEL_OPEN_FAILURE (92), with an OpenFailureReason. */
export interface ChannelOpenFailure {
  readonly type: 'channel-open-failure';
  readonly recipient: ChannelId;
  readonly reason: Uint32;
  readonly reserved1: Uint32;
  readonly reserved2: Uint32;
}
/** CHANNEL_WINDOW_ADJUST (93): the recipient may send `bytesToAdd` more. */
export interface ChannelWindowAdjust {
  readonly type: 'channel-window-adjust';
  readonly recipient: ChannelId;
  readonly bytesToAdd: Uint32;
}
/** `data` is a view into the received message, never a copy. */
export interface ChannelData {
  readonly type: 'channel-data';
  readonly recipient: ChannelId;
  readonly data: Buffer;
}
/** CHANNEL_CLOSE (97): each side sends one per channel; the id is free once both are exchanged. */
export interface ChannelClose {
  readonly type: 'channel-close';
  readonly recipient: ChannelId;
}
/** PROTOCOLVERSION (192): major, minor, the trigger reason and the platform UUID. */
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
/** KEEPALIVE_REQUEST (208), with a cookie to echo. */
export interface KeepaliveRequest {
  readonly type: 'keepalive-request';
  readonly cookie: Uint32;
}
/** KEEPALIVE_REPLY (209): the request's cookie, echoed. */
export interface KeepaliveReply {
  readonly type: 'keepalive-reply';
  readonly cookie: Uint32;
}
/** KEEPALIVE_OPTIONS_REQUEST (210): the ME proposes an interval and timeout. */
export interface KeepaliveOptionsRequest {
  readonly type: 'keepalive-options-request';
  readonly interval: Uint32;
  readonly timeout: Uint32;
}
/** KEEPALIVE_OPTIONS_REPLY (211): the interval and timeout accepted. */
export interface KeepaliveOptionsReply {
  readonly type: 'keepalive-options-reply';
  readonly interval: Uint32;
  readonly timeout: Uint32;
}

/** Every APF message, discriminated on `type`. */
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

/** The zero bytes at the end of PROTOCOLVERSION. */
export const PROTOCOL_VERSION_RESERVED_LENGTH = 64;

// Constructors: the protocol's values for the reserved fields, numbers checked once here.
/** DISCONNECT with a DisconnectReason. */
export const disconnect = (reason: number): Disconnect => ({ type: 'disconnect', reason: u32(reason), reserved: 0 });
/** SERVICE_REQUEST for `service` (pfwd unless told). */
export const serviceRequest = (service: string = Service.Pfwd): ServiceRequest => ({ type: 'service-request', service });
/** SERVICE_ACCEPT of `service`. */
export const serviceAccept = (service: string): ServiceAccept => ({ type: 'service-accept', service });
/** USERAUTH_SUCCESS. */
export const userauthSuccess: UserauthSuccess = { type: 'userauth-success' };
/** A tcpip-forward GLOBAL_REQUEST for `port` (cancel-tcpip-forward with `cancel`). */
export const tcpipForward = (port: number, address = '', wantReply = true, cancel = false): TcpipForwardRequest => ({
  type: 'global-request',
  request: cancel ? RequestName.CancelTcpipForward : RequestName.TcpipForward,
  wantReply,
  address,
  port: u32(port),
});
/** REQUEST_SUCCESS, with the bound port after a tcpip-forward. */
export const requestSuccess = (port?: number): RequestSuccess =>
  port === undefined ? { type: 'request-success' } : { type: 'request-success', port: u32(port) };
/** REQUEST_FAILURE. */
export const requestFailure: RequestFailure = { type: 'request-failure' };
/** CHANNEL_OPEN, forwarded-tcpip unless told, with the reserved max-packet field APF sends. */
export const channelOpen = (fields: {
  channelType?: 'forwarded-tcpip' | 'direct-tcpip';
  sender: number;
  window: number;
  address: string;
  port: number;
  originatorAddress: string;
  originatorPort: number;
}): TcpipChannelOpen => ({
  type: 'channel-open',
  channelType: fields.channelType ?? ChannelType.ForwardedTcpip,
  sender: u32(fields.sender),
  window: u32(fields.window),
  reserved: u32(RESERVED_MAX_PACKET),
  address: fields.address,
  port: u32(fields.port),
  originatorAddress: fields.originatorAddress,
  originatorPort: u32(fields.originatorPort),
});
/** CHANNEL_OPEN_CONFIRMATION of `recipient`'s open, naming our `sender` id and `window`. */
export const openConfirmation = (recipient: number, sender: number, window: number): ChannelOpenConfirmation => ({
  type: 'channel-open-confirmation',
  recipient: u32(recipient),
  sender: u32(sender),
  window: u32(window),
  reserved: u32(RESERVED_MAX_PACKET),
});
/** CHANNEL_OPEN_FAILURE of `recipient`'s open, with an OpenFailureReason. */
export const openFailure = (recipient: number, reason: number): ChannelOpenFailure => ({
  type: 'channel-open-failure',
  recipient: u32(recipient),
  reason: u32(reason),
  reserved1: u32(0),
  reserved2: u32(0),
});
/** CHANNEL_WINDOW_ADJUST: `recipient` may send `bytesToAdd` more. */
export const windowAdjust = (recipient: number, bytesToAdd: number): ChannelWindowAdjust => ({
  type: 'channel-window-adjust',
  recipient: u32(recipient),
  bytesToAdd: u32(bytesToAdd),
});
/** CHANNEL_DATA to `recipient`; `data` is sent as given, not copied. */
export const channelData = (recipient: number, data: Buffer): ChannelData => ({ type: 'channel-data', recipient: u32(recipient), data });
/** CHANNEL_CLOSE to `recipient`. */
export const channelClose = (recipient: number): ChannelClose => ({ type: 'channel-close', recipient: u32(recipient) });
/** PROTOCOLVERSION 1.0 (unless told), with the trigger reason and UUID. */
export const protocolVersion = (triggerReason: number, uuid: string = NIL_GUID, major = 1, minor = 0): ProtocolVersion => ({
  type: 'protocol-version',
  major: u32(major),
  minor: u32(minor),
  triggerReason: u32(triggerReason),
  uuid,
  reserved: Buffer.alloc(PROTOCOL_VERSION_RESERVED_LENGTH),
});
