import { MAX_U32 } from './brands.js';
/** APF message type codes (the first byte of every message; docs/apf.md §1.2). */
export const Opcode = {
  Disconnect: 1,
  ServiceRequest: 5,
  ServiceAccept: 6,
  UserauthRequest: 50,
  UserauthFailure: 51,
  UserauthSuccess: 52,
  GlobalRequest: 80,
  RequestSuccess: 81,
  RequestFailure: 82,
  ChannelOpen: 90,
  ChannelOpenConfirmation: 91,
  ChannelOpenFailure: 92,
  ChannelWindowAdjust: 93,
  ChannelData: 94,
  ChannelClose: 97,
  ProtocolVersion: 192,
  KeepaliveRequest: 208,
  KeepaliveReply: 209,
  KeepaliveOptionsRequest: 210,
  KeepaliveOptionsReply: 211,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** DISCONNECT reasons (Intel headers; 16-18 as MPS names them). Unknown codes are kept as numbers. */
export const DisconnectReason = {
  HostNotAllowedToConnect: 1,
  ProtocolError: 2,
  KeyExchangeFailed: 3,
  Reserved: 4,
  MacError: 5,
  CompressionError: 6,
  ServiceNotAvailable: 7,
  ProtocolVersionNotSupported: 8,
  HostKeyNotVerifiable: 9,
  ConnectionLost: 10,
  ByApplication: 11,
  TooManyConnections: 12,
  AuthCancelledByUser: 13,
  NoMoreAuthMethodsAvailable: 14,
  IllegalUserName: 15,
  ConnectionTimedOut: 16,
  ByPolicy: 17,
  TemporarilyUnavailable: 18,
} as const;

/** CHANNEL_OPEN_FAILURE reasons. */
export const OpenFailureReason = {
  AdministrativelyProhibited: 1,
  ConnectFailed: 2,
  UnknownChannelType: 3,
  ResourceShortage: 4,
} as const;

/** PROTOCOLVERSION trigger reasons. 254 is what Intel LMS sends back. */
export const TriggerReason = {
  UserInitiatedRequest: 1,
  AlertRequest: 2,
  HitProvisioningRequest: 3,
  PeriodicRequest: 4,
  LmeRequest: 254,
} as const;

const invert = (table: Record<string, number>): Map<number, string> => new Map(Object.entries(table).map(([k, v]) => [v, k]));
const disconnectNames = invert(DisconnectReason);
const openFailureNames = invert(OpenFailureReason);
const triggerNames = invert(TriggerReason);

/** The name of a known code, or `unknown(<n>)`: unknown codes are legal values, only unnamed. */
const nameOf = (names: Map<number, string>, code: number): string => names.get(code) ?? `unknown(${code})`;
/** The name of a DisconnectReason, or `unknown(<n>)`. */
export const disconnectReasonName = (code: number): string => nameOf(disconnectNames, code);
/** The name of an OpenFailureReason, or `unknown(<n>)`. */
export const openFailureReasonName = (code: number): string => nameOf(openFailureNames, code);
/** The name of a TriggerReason, or `unknown(<n>)`. */
export const triggerReasonName = (code: number): string => nameOf(triggerNames, code);

/** The services the ME asks for in SERVICE_REQUEST. */
export const Service = { Pfwd: 'pfwd@amt.intel.com', Auth: 'auth@amt.intel.com' } as const;
/** The GLOBAL_REQUEST names APF uses. */
export const RequestName = {
  TcpipForward: 'tcpip-forward',
  CancelTcpipForward: 'cancel-tcpip-forward',
  UdpSendTo: 'udp-send-to@amt.intel.com',
} as const;
/** The channel types APF uses. */
export const ChannelType = { ForwardedTcpip: 'forwarded-tcpip', DirectTcpip: 'direct-tcpip' } as const;

/** CHANNEL_DATA's header: type, recipient, length. A message carries at most max_msg_length minus this. */
export const CHANNEL_DATA_HEADER = 9;

/** The reserved u32 that APF sends where SSH has "maximum packet size". */
export const RESERVED_MAX_PACKET = MAX_U32;
