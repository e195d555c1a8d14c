import { strict as assert } from 'node:assert';
import * as E from 'fp-ts/lib/Either.js';
import { decodeApf, encodeApf, type ApfMessage } from 'lms-rx/apf';
import { bytes, hex, str, u16, u32, u8 } from '../support/apfBytes.js';

const right = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) assert.fail(`expected Right, got Left ${JSON.stringify(e.left)}`);
  return e.right;
};

interface Vector {
  readonly name: string;
  readonly wire: Buffer;
  readonly size?: number;
  readonly message: ApfMessage;
}

const UUID_TEXT = '12345678-9abc-def0-1122-334455667788';
const UUID_WIRE = '78563412 bc9a f0de 1122 334455667788';

// prettier-ignore
const vectors: Vector[] = [
  { name: 'DISCONNECT(PROTOCOL_ERROR)', size: 7, wire: hex('01 00000002 0000'), message: { type: 'disconnect', reason: 2, reserved: 0 } as ApfMessage },
  {
    name: 'SERVICE_REQUEST pfwd',
    size: 23,
    wire: bytes(u8(5), str('pfwd@amt.intel.com')),
    message: { type: 'service-request', service: 'pfwd@amt.intel.com' },
  },
  { name: 'SERVICE_ACCEPT auth', size: 23, wire: bytes(u8(6), str('auth@amt.intel.com')), message: { type: 'service-accept', service: 'auth@amt.intel.com' } },
  {
    name: 'USERAUTH_REQUEST none',
    wire: bytes(u8(50), str('admin'), str('pfwd@amt.intel.com'), str('none')),
    message: { type: 'userauth-request', user: 'admin', service: 'pfwd@amt.intel.com', method: 'none' },
  },
  {
    name: 'USERAUTH_REQUEST password',
    size: 18 + 5 + 18 + 8 + 6,
    wire: bytes(u8(50), str('admin'), str('pfwd@amt.intel.com'), str('password'), u8(0), str('secret')),
    message: { type: 'userauth-request', user: 'admin', service: 'pfwd@amt.intel.com', method: 'password', password: 'secret' },
  },
  {
    name: 'USERAUTH_FAILURE password',
    size: 14,
    wire: hex('33 00000008 70617373776f7264 00'),
    message: { type: 'userauth-failure', methods: 'password', partialSuccess: false },
  },
  { name: 'USERAUTH_SUCCESS', size: 1, wire: hex('34'), message: { type: 'userauth-success' } },
  {
    name: 'GLOBAL_REQUEST tcpip-forward 16992',
    size: 14 + 13 + 9,
    wire: bytes(u8(80), str('tcpip-forward'), u8(1), str('127.0.0.1'), u32(16992)),
    message: { type: 'global-request', request: 'tcpip-forward', wantReply: true, address: '127.0.0.1', port: 16992 } as ApfMessage,
  },
  {
    name: 'GLOBAL_REQUEST cancel-tcpip-forward, empty address',
    wire: bytes(u8(80), str('cancel-tcpip-forward'), u8(1), str(''), u32(623)),
    message: { type: 'global-request', request: 'cancel-tcpip-forward', wantReply: true, address: '', port: 623 } as ApfMessage,
  },
  {
    name: 'GLOBAL_REQUEST udp-send-to',
    size: 26 + 25 + 9 + 9 + 3,
    wire: bytes(u8(80), str('udp-send-to@amt.intel.com'), u8(0), str('127.0.0.1'), u32(5000), str('127.0.0.1'), u32(6000), str('abc')),
    message: {
      type: 'global-request',
      request: 'udp-send-to@amt.intel.com',
      wantReply: false,
      address: '127.0.0.1',
      port: 5000,
      originatorAddress: '127.0.0.1',
      originatorPort: 6000,
      data: Buffer.from('abc'),
    } as ApfMessage,
  },
  {
    name: 'GLOBAL_REQUEST with an unknown name keeps its bytes',
    wire: bytes(u8(80), str('x-custom'), u8(1), 'deadbeef'),
    message: { type: 'global-request', request: 'unknown', name: 'x-custom', wantReply: true, data: hex('deadbeef') },
  },
  { name: 'REQUEST_SUCCESS without port', size: 1, wire: hex('51'), message: { type: 'request-success' } },
  { name: 'REQUEST_SUCCESS with port', size: 5, wire: hex('51 00004260'), message: { type: 'request-success', port: 16992 } as ApfMessage },
  { name: 'REQUEST_FAILURE', size: 1, wire: hex('52'), message: { type: 'request-failure' } },
  {
    name: 'CHANNEL_OPEN forwarded-tcpip',
    size: 33 + 15 + 9 + 9,
    wire: bytes(u8(90), str('forwarded-tcpip'), u32(8), u32(4096), 'ffffffff', str('127.0.0.1'), u32(16992), str('127.0.0.1'), u32(40000)),
    message: {
      type: 'channel-open',
      channelType: 'forwarded-tcpip',
      sender: 8,
      window: 4096,
      reserved: 0xffffffff,
      address: '127.0.0.1',
      port: 16992,
      originatorAddress: '127.0.0.1',
      originatorPort: 40000,
    } as ApfMessage,
  },
  {
    name: 'CHANNEL_OPEN direct-tcpip to port 0 (ME notification)',
    wire: bytes(u8(90), str('direct-tcpip'), u32(3), u32(4096), 'ffffffff', str('127.0.0.1'), u32(0), str('127.0.0.1'), u32(0)),
    message: {
      type: 'channel-open',
      channelType: 'direct-tcpip',
      sender: 3,
      window: 4096,
      reserved: 0xffffffff,
      address: '127.0.0.1',
      port: 0,
      originatorAddress: '127.0.0.1',
      originatorPort: 0,
    } as ApfMessage,
  },
  {
    name: 'CHANNEL_OPEN_CONFIRMATION',
    size: 17,
    wire: hex('5b 00000008 00000001 00001000 ffffffff'),
    message: { type: 'channel-open-confirmation', recipient: 8, sender: 1, window: 4096, reserved: 0xffffffff } as ApfMessage,
  },
  {
    name: 'CHANNEL_OPEN_FAILURE(RESOURCE_SHORTAGE)',
    size: 17,
    wire: hex('5c 00000008 00000004 00000000 00000000'),
    message: { type: 'channel-open-failure', recipient: 8, reason: 4, reserved1: 0, reserved2: 0 } as ApfMessage,
  },
  {
    name: 'CHANNEL_WINDOW_ADJUST',
    size: 9,
    wire: hex('5d 00000001 00000400'),
    message: { type: 'channel-window-adjust', recipient: 1, bytesToAdd: 1024 } as ApfMessage,
  },
  {
    name: 'CHANNEL_DATA',
    size: 14,
    wire: bytes(u8(94), u32(1), str('HEAD ')),
    message: { type: 'channel-data', recipient: 1, data: Buffer.from('HEAD ') } as ApfMessage,
  },
  {
    name: 'CHANNEL_DATA empty',
    size: 9,
    wire: hex('5e 00000001 00000000'),
    message: { type: 'channel-data', recipient: 1, data: Buffer.alloc(0) } as ApfMessage,
  },
  { name: 'CHANNEL_CLOSE', size: 5, wire: hex('61 00000000'), message: { type: 'channel-close', recipient: 0 } as ApfMessage },
  {
    name: 'PROTOCOLVERSION 1.0 with the UUID in GUID byte order',
    size: 93,
    wire: bytes(u8(192), u32(1), u32(0), u32(254), UUID_WIRE, Buffer.alloc(64)),
    message: { type: 'protocol-version', major: 1, minor: 0, triggerReason: 254, uuid: UUID_TEXT, reserved: Buffer.alloc(64) } as ApfMessage,
  },
  { name: 'KEEPALIVE_REQUEST', size: 5, wire: hex('d0 cafebabe'), message: { type: 'keepalive-request', cookie: 0xcafebabe } as ApfMessage },
  { name: 'KEEPALIVE_REPLY', size: 5, wire: hex('d1 cafebabe'), message: { type: 'keepalive-reply', cookie: 0xcafebabe } as ApfMessage },
  {
    name: 'KEEPALIVE_OPTIONS_REQUEST',
    size: 9,
    wire: bytes(u8(210), u32(30), u32(0)),
    message: { type: 'keepalive-options-request', interval: 30, timeout: 0 } as ApfMessage,
  },
  {
    name: 'KEEPALIVE_OPTIONS_REPLY',
    size: 9,
    wire: bytes(u8(211), u32(30), u32(90)),
    message: { type: 'keepalive-options-reply', interval: 30, timeout: 90 } as ApfMessage,
  },
];

describe('APF golden vectors', () => {
  for (const v of vectors) {
    describe(v.name, () => {
      if (v.size !== undefined)
        it(`is ${v.size} bytes on the wire`, () => {
          assert.equal(v.wire.length, v.size);
          assert.equal(encodeApf(v.message).length, v.size);
        });
      it('decodes to the typed message', () => {
        assert.deepStrictEqual(right(decodeApf(v.wire)), v.message);
      });
      it('encodes to the exact bytes', () => {
        assert.deepStrictEqual(encodeApf(v.message), v.wire);
      });
      it('is a Left for every truncation and for a trailing byte', () => {
        for (let n = 0; n < v.wire.length; n++) {
          const cut = decodeApf(v.wire.subarray(0, n));
          // REQUEST_SUCCESS's one-byte form is a valid prefix of its five-byte form, and a raw tail
          // (an unknown request's data) may be cut anywhere.
          if (v.message.type === 'request-success' && n === 1) continue;
          if (v.message.type === 'global-request' && v.message.request === 'unknown' && n >= v.wire.length - 4) continue;
          assert.ok(E.isLeft(cut), `prefix of ${n} bytes decoded`);
        }
        const longer = decodeApf(Buffer.concat([v.wire, hex('00')]));
        if (E.isRight(longer)) {
          // Only the types that end in a raw tail (unknown names) may absorb a byte.
          const m = longer.right;
          assert.ok(m.type === 'global-request' && m.request === 'unknown', 'a trailing byte was accepted');
        }
      });
    });
  }

  it('decodes CHANNEL_DATA without copying the payload', () => {
    const wire = bytes(u8(94), u32(7), str('payload'));
    const m = right(decodeApf(wire));
    assert.equal(m.type, 'channel-data');
    if (m.type !== 'channel-data') return;
    assert.equal(m.data.buffer, wire.buffer);
    assert.equal(m.data.byteOffset, wire.byteOffset + 9);
  });

  it('decodes a plain Uint8Array as well as a Buffer', () => {
    const wire = new Uint8Array(hex('5d 00000001 00000400'));
    assert.deepStrictEqual(right(decodeApf(wire)), { type: 'channel-window-adjust', recipient: 1, bytesToAdd: 1024 });
  });

  it('keeps an unknown CHANNEL_OPEN type so the host can refuse it by sender', () => {
    const wire = bytes(u8(90), str('x11'), u32(5), u32(100), 'ffffffff', 'abcd');
    assert.deepStrictEqual(right(decodeApf(wire)), {
      type: 'channel-open',
      channelType: 'unknown',
      name: 'x11',
      sender: 5,
      window: 100,
      reserved: 0xffffffff,
      data: hex('abcd'),
    });
    assert.deepStrictEqual(encodeApf(right(decodeApf(wire))), wire);
  });

  it('keeps an unknown DISCONNECT reason and reserved value', () => {
    const wire = bytes(u8(1), u32(99), u16(7));
    assert.deepStrictEqual(right(decodeApf(wire)), { type: 'disconnect', reason: 99, reserved: 7 });
  });
});

describe('APF decode errors', () => {
  const left = (wire: Buffer) => {
    const r = decodeApf(wire);
    if (E.isRight(r)) assert.fail(`expected Left, got ${JSON.stringify(r.right)}`);
    return r.left;
  };

  it('reports an empty buffer as truncated', () => {
    assert.equal(left(Buffer.alloc(0)).kind, 'truncated');
  });

  it('reports an unknown message type with its code', () => {
    assert.deepStrictEqual(left(hex('60 00000001')), { kind: 'unknown-type', code: 96 });
    assert.deepStrictEqual(left(hex('fa 00000000')), { kind: 'unknown-type', code: 250 });
  });

  it('reports trailing bytes with both sizes', () => {
    assert.deepStrictEqual(left(hex('61 00000001 00')), { kind: 'trailing-bytes', message: 'CHANNEL_CLOSE', expected: 5, actual: 6 });
  });

  it('reports a length field pointing past the end as truncated at that field', () => {
    const e = left(bytes(u8(94), u32(1), u32(100), 'aabb'));
    assert.deepStrictEqual(e, { kind: 'truncated', message: 'CHANNEL_DATA', field: 'data', offset: 9, needed: 100, available: 2 });
  });

  it('rejects a name longer than 2048 bytes as out of range', () => {
    const e = left(bytes(u8(5), u32(5000), Buffer.alloc(5000, 0x61)));
    assert.equal(e.kind, 'out-of-range');
  });

  it('rejects a boolean field that is neither 0 nor 1', () => {
    const e = left(bytes(u8(80), str('tcpip-forward'), u8(2), str(''), u32(16992)));
    assert.deepStrictEqual(e, { kind: 'out-of-range', message: 'GLOBAL_REQUEST', field: 'want reply', value: 2, limit: '0 or 1' });
  });

  it('rejects a USERAUTH password change flag', () => {
    const e = left(bytes(u8(50), str('a'), str('pfwd@amt.intel.com'), str('password'), u8(1), str('x')));
    assert.equal(e.kind, 'out-of-range');
  });

  it('rejects the 15-byte USERAUTH_FAILURE that MPS sends as trailing bytes', () => {
    assert.equal(left(hex('33 00000008 70617373776f7264 00 00')).kind, 'trailing-bytes');
  });
});
