/**
 * `lms-rx/apf`: APF, the ME's port-forwarding protocol (docs/apf.md), as pure codecs. Every
 * message is a typed value; decoding never throws, it returns the reason a message is malformed.
 */

/** Bytes to a message or a typed error, and back. */
export { decodeApf } from './codecs/decode.js';
export { encodeApf, encodedLength, encodeInto, slabEncoder } from './codecs/encode.js';
export { describeDecodeError, type ApfDecodeError } from './codecs/errors.js';
/** The messages, a union discriminated by `type`. */
export type {
  ApfMessage,
  ChannelClose,
  ChannelData,
  ChannelOpen,
  ChannelOpenConfirmation,
  ChannelOpenFailure,
  ChannelWindowAdjust,
  Disconnect,
  GlobalRequest,
  KeepaliveOptionsReply,
  KeepaliveOptionsRequest,
  KeepaliveReply,
  KeepaliveRequest,
  ProtocolVersion,
  RequestFailure,
  RequestSuccess,
  ServiceAccept,
  ServiceRequest,
  TcpipChannelOpen,
  TcpipForwardRequest,
  UdpSendToRequest,
  UnknownChannelOpen,
  UnknownGlobalRequest,
  UserauthFailure,
  UserauthRequest,
  UserauthSuccess,
} from './codecs/messages.js';
/** A constructor for each message the LMS or the ME sends. */
export {
  channelClose,
  channelData,
  channelOpen,
  disconnect,
  openConfirmation,
  openFailure,
  protocolVersion,
  requestFailure,
  requestSuccess,
  serviceAccept,
  serviceRequest,
  tcpipForward,
  userauthSuccess,
  windowAdjust,
} from './codecs/messages.js';
/** Wire codes, and the names of the codes a peer reports. */
export {
  CHANNEL_DATA_HEADER,
  ChannelType,
  DisconnectReason,
  disconnectReasonName,
  Opcode,
  OpenFailureReason,
  openFailureReasonName,
  RequestName,
  Service,
  TriggerReason,
  triggerReasonName,
} from './codecs/opcodes.js';
/** The u32 brand that message fields carry, and the largest u32. */
export { Uint32, u32, MAX_U32, type ChannelId, type Uint32Brand } from './codecs/brands.js';
/** The ME's UUID in PROTOCOLVERSION, as text and bytes (RFC 4122 mixed-endian). */
export { guidToBytes, bytesToGuid, NIL_GUID } from './codecs/guid.js';
/** The codecs as RxJS operators. */
export { decodeMessages, encodeMessages, sessionInputs, type Decoded } from './streams/codecOperators.js';
