/**
 * Bytes -> ApfMessage. One decoder per message type, each with its field table (docs/apf.md §1.2).
 * Every malformed input is a Left; nothing here throws. CHANNEL_DATA's payload is a view.
 */
import * as E from 'fp-ts/lib/Either.js';
import { bytesToGuid } from './guid.js';
import type { ApfDecodeError } from './errors.js';
import type { ApfMessage } from './messages.js';
import { ChannelType, Opcode, RequestName } from './opcodes.js';
import { Reader } from './reader.js';

type Decoder = (r: Reader) => E.Either<ApfDecodeError, ApfMessage>;

// DISCONNECT 1: reason u32, reserved u16 (7 bytes)
const decodeDisconnect: Decoder = (r) => r.finish({ type: 'disconnect', reason: r.u32('reason'), reserved: r.u16('reserved') });

// SERVICE_REQUEST 5 / SERVICE_ACCEPT 6: S(service name)
const decodeServiceRequest: Decoder = (r) => r.finish({ type: 'service-request', service: r.string('service') });
const decodeServiceAccept: Decoder = (r) => r.finish({ type: 'service-accept', service: r.string('service') });

// USERAUTH_REQUEST 50: S(user), S(service), S(method); "password": u8 FALSE, S(password)
const decodeUserauthRequest: Decoder = (r) => {
  const user = r.string('user');
  const service = r.string('service');
  const method = r.string('method');
  if (method === 'none') return r.finish({ type: 'userauth-request', user, service, method: 'none' });
  if (method === 'password') {
    const change = r.u8('change-password flag');
    if (change !== 0) r.fail('change-password flag', change, '0 (password change is not part of APF)');
    return r.finish({ type: 'userauth-request', user, service, method: 'password', password: r.string('password') });
  }
  return r.finish({ type: 'userauth-request', user, service, method: 'unknown', name: method, data: r.rest() });
};

// USERAUTH_FAILURE 51: S(method list), u8 partial success (14 bytes for "password")
const decodeUserauthFailure: Decoder = (r) => r.finish({ type: 'userauth-failure', methods: r.string('methods'), partialSuccess: r.bool('partial success') });

// GLOBAL_REQUEST 80: S(name), u8 want_reply, then per name:
//   tcpip-forward / cancel-tcpip-forward: S(address), port u32
//   udp-send-to@amt.intel.com: S(address), port u32, S(originator), originator port u32, S(data)
//   anything else: kept raw
const decodeGlobalRequest: Decoder = (r) => {
  const name = r.string('request name');
  const wantReply = r.bool('want reply');
  switch (name) {
    case RequestName.TcpipForward:
    case RequestName.CancelTcpipForward:
      return r.finish({ type: 'global-request', request: name, wantReply, address: r.string('address'), port: r.u32('port') });
    case RequestName.UdpSendTo:
      return r.finish({
        type: 'global-request',
        request: name,
        wantReply,
        address: r.string('address'),
        port: r.u32('port'),
        originatorAddress: r.string('originator address'),
        originatorPort: r.u32('originator port'),
        data: r.lengthPrefixed('data'),
      });
    default:
      return r.finish({ type: 'global-request', request: 'unknown', name, wantReply, data: r.rest() });
  }
};

// REQUEST_SUCCESS 81: port u32 after tcpip-forward (5 bytes), nothing otherwise (1 byte)
const decodeRequestSuccess: Decoder = (r) =>
  r.remaining === 0 ? r.finish({ type: 'request-success' }) : r.finish({ type: 'request-success', port: r.u32('port') });

// REQUEST_FAILURE 82, USERAUTH_SUCCESS 52: nothing
const decodeRequestFailure: Decoder = (r) => r.finish({ type: 'request-failure' });
const decodeUserauthSuccess: Decoder = (r) => r.finish({ type: 'userauth-success' });

// CHANNEL_OPEN 90: S(type), sender u32, window u32, reserved u32 (0xFFFFFFFF),
//   S(address), port u32, S(originator address), originator port u32
const decodeChannelOpen: Decoder = (r) => {
  const name = r.string('channel type');
  const sender = r.u32('sender');
  const window = r.u32('window');
  const reserved = r.u32('reserved');
  if (name !== ChannelType.ForwardedTcpip && name !== ChannelType.DirectTcpip)
    return r.finish({ type: 'channel-open', channelType: 'unknown', name, sender, window, reserved, data: r.rest() });
  return r.finish({
    type: 'channel-open',
    channelType: name,
    sender,
    window,
    reserved,
    address: r.string('address'),
    port: r.u32('port'),
    originatorAddress: r.string('originator address'),
    originatorPort: r.u32('originator port'),
  });
};

// CHANNEL_OPEN_CONFIRMATION 91: recipient, sender, window, reserved (17 bytes)
const decodeOpenConfirmation: Decoder = (r) =>
  r.finish({
    type: 'channel-open-confirmation',
    recipient: r.u32('recipient'),
    sender: r.u32('sender'),
    window: r.u32('window'),
    reserved: r.u32('reserved'),
  });

// CHANNEL_OPEN_FAILURE 92: recipient, reason, reserved 0, reserved 0 (17 bytes)
const decodeOpenFailure: Decoder = (r) =>
  r.finish({
    type: 'channel-open-failure',
    recipient: r.u32('recipient'),
    reason: r.u32('reason'),
    reserved1: r.u32('reserved'),
    reserved2: r.u32('reserved'),
  });

// CHANNEL_WINDOW_ADJUST 93: recipient, bytes to add (9 bytes). Consumes no window.
const decodeWindowAdjust: Decoder = (r) => r.finish({ type: 'channel-window-adjust', recipient: r.u32('recipient'), bytesToAdd: r.u32('bytes to add') });

// CHANNEL_DATA 94: recipient, S(data) (9 + n bytes). `data` is a view: no copy on the hot path.
const decodeChannelData: Decoder = (r) => r.finish({ type: 'channel-data', recipient: r.u32('recipient'), data: r.lengthPrefixed('data') });

// CHANNEL_CLOSE 97: recipient (5 bytes)
const decodeChannelClose: Decoder = (r) => r.finish({ type: 'channel-close', recipient: r.u32('recipient') });

// PROTOCOLVERSION 192: major, minor, trigger reason, UUID[16] (uuid_le order), reserved[64] (93 bytes)
const decodeProtocolVersion: Decoder = (r) => {
  const major = r.u32('major');
  const minor = r.u32('minor');
  const triggerReason = r.u32('trigger reason');
  const uuid = r.bytes(16, 'uuid');
  const reserved = r.bytes(64, 'reserved');
  // A short uuid means the reader has failed already and finish() answers Left.
  return r.finish({ type: 'protocol-version', major, minor, triggerReason, uuid: uuid.length === 16 ? bytesToGuid(uuid) : '', reserved });
};

// KEEPALIVE_REQUEST 208 / REPLY 209: cookie (5 bytes)
const decodeKeepaliveRequest: Decoder = (r) => r.finish({ type: 'keepalive-request', cookie: r.u32('cookie') });
const decodeKeepaliveReply: Decoder = (r) => r.finish({ type: 'keepalive-reply', cookie: r.u32('cookie') });

// KEEPALIVE_OPTIONS_REQUEST 210 / REPLY 211: interval, timeout in seconds (9 bytes)
const decodeKeepaliveOptionsRequest: Decoder = (r) => r.finish({ type: 'keepalive-options-request', interval: r.u32('interval'), timeout: r.u32('timeout') });
const decodeKeepaliveOptionsReply: Decoder = (r) => r.finish({ type: 'keepalive-options-reply', interval: r.u32('interval'), timeout: r.u32('timeout') });

const decoders: ReadonlyMap<number, readonly [name: string, decoder: Decoder]> = new Map([
  [Opcode.Disconnect, ['DISCONNECT', decodeDisconnect]],
  [Opcode.ServiceRequest, ['SERVICE_REQUEST', decodeServiceRequest]],
  [Opcode.ServiceAccept, ['SERVICE_ACCEPT', decodeServiceAccept]],
  [Opcode.UserauthRequest, ['USERAUTH_REQUEST', decodeUserauthRequest]],
  [Opcode.UserauthFailure, ['USERAUTH_FAILURE', decodeUserauthFailure]],
  [Opcode.UserauthSuccess, ['USERAUTH_SUCCESS', decodeUserauthSuccess]],
  [Opcode.GlobalRequest, ['GLOBAL_REQUEST', decodeGlobalRequest]],
  [Opcode.RequestSuccess, ['REQUEST_SUCCESS', decodeRequestSuccess]],
  [Opcode.RequestFailure, ['REQUEST_FAILURE', decodeRequestFailure]],
  [Opcode.ChannelOpen, ['CHANNEL_OPEN', decodeChannelOpen]],
  [Opcode.ChannelOpenConfirmation, ['CHANNEL_OPEN_CONFIRMATION', decodeOpenConfirmation]],
  [Opcode.ChannelOpenFailure, ['CHANNEL_OPEN_FAILURE', decodeOpenFailure]],
  [Opcode.ChannelWindowAdjust, ['CHANNEL_WINDOW_ADJUST', decodeWindowAdjust]],
  [Opcode.ChannelData, ['CHANNEL_DATA', decodeChannelData]],
  [Opcode.ChannelClose, ['CHANNEL_CLOSE', decodeChannelClose]],
  [Opcode.ProtocolVersion, ['PROTOCOLVERSION', decodeProtocolVersion]],
  [Opcode.KeepaliveRequest, ['KEEPALIVE_REQUEST', decodeKeepaliveRequest]],
  [Opcode.KeepaliveReply, ['KEEPALIVE_REPLY', decodeKeepaliveReply]],
  [Opcode.KeepaliveOptionsRequest, ['KEEPALIVE_OPTIONS_REQUEST', decodeKeepaliveOptionsRequest]],
  [Opcode.KeepaliveOptionsReply, ['KEEPALIVE_OPTIONS_REPLY', decodeKeepaliveOptionsReply]],
]);

/** Decode one whole APF message (one MEI read). Never throws. */
export const decodeApf = (bytes: Uint8Array): E.Either<ApfDecodeError, ApfMessage> => {
  if (bytes.length === 0) return E.left({ kind: 'truncated', message: 'APF message', field: 'type', offset: 0, needed: 1, available: 0 });
  const entry = decoders.get(bytes[0]!);
  if (!entry) return E.left({ kind: 'unknown-type', code: bytes[0]! });
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return entry[1](new Reader(buf, entry[0]));
};
