import { strict as assert } from 'node:assert';
import * as E from 'fp-ts/lib/Either.js';
import { bytesToGuid, guidToBytes } from 'lms-rx/apf';
import { decodeConnectClientResponse, encodeConnectClientRequest, MeClient } from 'lms-rx/heci';
import { encodeConnectClientResponse } from '../../src/codecs/mei.js';
import { hex } from '../support/apfBytes.js';

describe('MEI structures', () => {
  // docs/mei.md: the 16 bytes passed to IOCTL_MEI_CONNECT_CLIENT for each client.
  const table = [
    [MeClient.Lme, 'db a4 33 67 76 04 7b 4e b3 af bc fc 29 be e7 a7'],
    [MeClient.Amthi, '28 00 f8 12 b7 b4 2d 4b ac a8 46 e0 ff 65 81 4c'],
    [MeClient.Mkhi, '15 67 6a 8e bc 9a 43 40 88 ef 9e 39 c6 f6 3e 0f'],
  ] as const;

  for (const [guid, wire] of table) {
    it(`passes ${guid} to the connect ioctl in the driver's byte order`, () => {
      assert.deepStrictEqual(encodeConnectClientRequest(guid), E.right(hex(wire)));
      assert.equal(bytesToGuid(hex(wire)), guid);
    });
  }

  it('accepts upper-case GUID text and rejects malformed text', () => {
    assert.deepStrictEqual(guidToBytes(MeClient.Lme.toUpperCase()), guidToBytes(MeClient.Lme));
    assert.ok(E.isLeft(guidToBytes('6733a4db-0476-4e7b-b3af')));
    assert.ok(E.isLeft(guidToBytes('6733a4db-0476-4e7b-b3af-bcfc29bee7aZ')));
  });

  it('reads max_msg_length (u32 LE) and protocol_version (u8) from the ioctl reply', () => {
    const reply = hex('00 10 00 00 04 00 00 00 00 00 00 00 00 00 00 00');
    assert.deepStrictEqual(decodeConnectClientResponse(reply), E.right({ maxMsgLength: 4096, protocolVersion: 4 }));
    assert.deepStrictEqual(encodeConnectClientResponse({ maxMsgLength: 4096, protocolVersion: 4 }), reply);
  });

  it('rejects a reply of the wrong size or with a zero MTU', () => {
    assert.ok(E.isLeft(decodeConnectClientResponse(Buffer.alloc(8))));
    assert.ok(E.isLeft(decodeConnectClientResponse(Buffer.alloc(16))));
  });
});
