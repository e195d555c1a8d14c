/**
 * ApfMessage -> bytes. `encodedLength` sizes a message exactly, `encodeInto` writes it at an
 * offset, and `encodeApf` allocates once. Strings are written as latin1, the inverse of the
 * decoder, so a decoded message encodes back to its input byte for byte.
 */
import { guidToBytes } from './guid.js';
import type { ApfMessage } from './messages.js';
import { PROTOCOL_VERSION_RESERVED_LENGTH } from './messages.js';
import { CHANNEL_DATA_HEADER, Opcode } from './opcodes.js';

const S = (s: string): number => 4 + Buffer.byteLength(s, 'latin1');
const B = (b: Buffer): number => 4 + b.length;

/** How many bytes `encodeApf(m)` will write, computed without writing them. */
export const encodedLength = (m: ApfMessage): number => {
  switch (m.type) {
    case 'disconnect':
      return 7;
    case 'service-request':
    case 'service-accept':
      return 1 + S(m.service);
    case 'userauth-request': {
      const head = 1 + S(m.user) + S(m.service);
      if (m.method === 'none') return head + S('none');
      if (m.method === 'password') return head + S('password') + 1 + S(m.password);
      return head + S(m.name) + m.data.length;
    }
    case 'userauth-failure':
      return 1 + S(m.methods) + 1;
    case 'userauth-success':
    case 'request-failure':
      return 1;
    case 'global-request': {
      if (m.request === 'unknown') return 1 + S(m.name) + 1 + m.data.length;
      const head = 1 + S(m.request) + 1 + S(m.address) + 4;
      if (m.request === 'udp-send-to@amt.intel.com') return head + S(m.originatorAddress) + 4 + B(m.data);
      return head;
    }
    case 'request-success':
      return m.port === undefined ? 1 : 5;
    case 'channel-open': {
      if (m.channelType === 'unknown') return 1 + S(m.name) + 12 + m.data.length;
      return 1 + S(m.channelType) + 12 + S(m.address) + 4 + S(m.originatorAddress) + 4;
    }
    case 'channel-open-confirmation':
    case 'channel-open-failure':
      return 17;
    case 'channel-window-adjust':
      return 9;
    case 'channel-data':
      return CHANNEL_DATA_HEADER + m.data.length;
    case 'channel-close':
      return 5;
    case 'protocol-version':
      return 93;
    case 'keepalive-request':
    case 'keepalive-reply':
      return 5;
    case 'keepalive-options-request':
    case 'keepalive-options-reply':
      return 9;
  }
};

/** A write cursor over a buffer already sized by `encodedLength`. */
class Writer {
  constructor(
    readonly out: Buffer,
    public at: number,
  ) {}
  u8(v: number): this {
    this.out[this.at++] = v;
    return this;
  }
  u16(v: number): this {
    this.at = this.out.writeUInt16BE(v, this.at);
    return this;
  }
  u32(v: number): this {
    this.at = this.out.writeUInt32BE(v, this.at);
    return this;
  }
  raw(b: Uint8Array): this {
    this.out.set(b, this.at);
    this.at += b.length;
    return this;
  }
  bytes(b: Uint8Array): this {
    return this.u32(b.length).raw(b);
  }
  string(s: string): this {
    const n = Buffer.byteLength(s, 'latin1');
    this.u32(n);
    this.out.write(s, this.at, n, 'latin1');
    this.at += n;
    return this;
  }
}

/** Writes `m` at `at` in `out` (which must have room) and returns the offset after it. */
export const encodeInto = (m: ApfMessage, out: Buffer, at: number): number => {
  const w = new Writer(out, at);
  switch (m.type) {
    case 'disconnect':
      return w.u8(Opcode.Disconnect).u32(m.reason).u16(m.reserved).at;
    case 'service-request':
      return w.u8(Opcode.ServiceRequest).string(m.service).at;
    case 'service-accept':
      return w.u8(Opcode.ServiceAccept).string(m.service).at;
    case 'userauth-request':
      w.u8(Opcode.UserauthRequest).string(m.user).string(m.service);
      if (m.method === 'none') return w.string('none').at;
      if (m.method === 'password') return w.string('password').u8(0).string(m.password).at;
      return w.string(m.name).raw(m.data).at;
    case 'userauth-failure':
      return w
        .u8(Opcode.UserauthFailure)
        .string(m.methods)
        .u8(m.partialSuccess ? 1 : 0).at;
    case 'userauth-success':
      return w.u8(Opcode.UserauthSuccess).at;
    case 'global-request':
      w.u8(Opcode.GlobalRequest);
      if (m.request === 'unknown')
        return w
          .string(m.name)
          .u8(m.wantReply ? 1 : 0)
          .raw(m.data).at;
      w.string(m.request)
        .u8(m.wantReply ? 1 : 0)
        .string(m.address)
        .u32(m.port);
      if (m.request === 'udp-send-to@amt.intel.com') return w.string(m.originatorAddress).u32(m.originatorPort).bytes(m.data).at;
      return w.at;
    case 'request-success':
      w.u8(Opcode.RequestSuccess);
      return m.port === undefined ? w.at : w.u32(m.port).at;
    case 'request-failure':
      return w.u8(Opcode.RequestFailure).at;
    case 'channel-open':
      w.u8(Opcode.ChannelOpen)
        .string(m.channelType === 'unknown' ? m.name : m.channelType)
        .u32(m.sender)
        .u32(m.window)
        .u32(m.reserved);
      if (m.channelType === 'unknown') return w.raw(m.data).at;
      return w.string(m.address).u32(m.port).string(m.originatorAddress).u32(m.originatorPort).at;
    case 'channel-open-confirmation':
      return w.u8(Opcode.ChannelOpenConfirmation).u32(m.recipient).u32(m.sender).u32(m.window).u32(m.reserved).at;
    case 'channel-open-failure':
      return w.u8(Opcode.ChannelOpenFailure).u32(m.recipient).u32(m.reason).u32(m.reserved1).u32(m.reserved2).at;
    case 'channel-window-adjust':
      return w.u8(Opcode.ChannelWindowAdjust).u32(m.recipient).u32(m.bytesToAdd).at;
    case 'channel-data':
      return w.u8(Opcode.ChannelData).u32(m.recipient).bytes(m.data).at;
    case 'channel-close':
      return w.u8(Opcode.ChannelClose).u32(m.recipient).at;
    case 'protocol-version': {
      const uuid = guidToBytes(m.uuid);
      if (uuid._tag === 'Left') throw new TypeError(`PROTOCOLVERSION: ${uuid.left}`);
      const reserved = Buffer.alloc(PROTOCOL_VERSION_RESERVED_LENGTH);
      m.reserved.copy(reserved, 0, 0, PROTOCOL_VERSION_RESERVED_LENGTH);
      return w.u8(Opcode.ProtocolVersion).u32(m.major).u32(m.minor).u32(m.triggerReason).raw(uuid.right).raw(reserved).at;
    }
    case 'keepalive-request':
      return w.u8(Opcode.KeepaliveRequest).u32(m.cookie).at;
    case 'keepalive-reply':
      return w.u8(Opcode.KeepaliveReply).u32(m.cookie).at;
    case 'keepalive-options-request':
      return w.u8(Opcode.KeepaliveOptionsRequest).u32(m.interval).u32(m.timeout).at;
    case 'keepalive-options-reply':
      return w.u8(Opcode.KeepaliveOptionsReply).u32(m.interval).u32(m.timeout).at;
  }
};

/** `encodeInto` where `n` (its `encodedLength`) must come out exactly: a mismatch is an encoder bug. */
const encodeSized = (m: ApfMessage, out: Buffer, at: number, n: number): void => {
  const end = encodeInto(m, out, at);
  if (end !== at + n) throw new Error(`encoder for ${m.type} wrote ${end - at} of ${n} bytes`);
};

/** Encode one message into a buffer of exactly its size. */
export const encodeApf = (m: ApfMessage): Buffer => {
  const n = encodedLength(m);
  const out = Buffer.allocUnsafe(n);
  encodeSized(m, out, 0, n);
  return out;
};

/**
 * An encoder that carves messages out of shared slabs instead of allocating each one.
 * A full CHANNEL_DATA is 4105 bytes, just over Node's own pool limit (4 KiB), so `encodeApf`
 * gives every such message an ArrayBuffer of its own, and at hundreds of MB/s that allocation
 * and its garbage cost more than the copy. Messages are views that never overlap; a slab is freed
 * once no message in it is referenced. The slab is kept small because one long-lived message
 * keeps its whole slab alive; a message larger than the slab gets a buffer of its own.
 */
export const slabEncoder = (slabBytes = 64 * 1024): ((m: ApfMessage) => Buffer) => {
  let slab = Buffer.allocUnsafeSlow(slabBytes);
  let used = 0;
  return (m) => {
    const n = encodedLength(m);
    if (n > slabBytes) return encodeApf(m);
    if (used + n > slabBytes) {
      slab = Buffer.allocUnsafeSlow(slabBytes);
      used = 0;
    }
    encodeSized(m, slab, used, n);
    used += n;
    return slab.subarray(used - n, used);
  };
};
