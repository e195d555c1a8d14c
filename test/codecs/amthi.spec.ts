import { strict as assert } from 'node:assert';
import * as E from 'fp-ts/lib/Either.js';
import {
  AmthiCommand,
  decodeLocalSystemAccount,
  hostFqdnRequest,
  localSystemAccountRequest,
  decodeAmthiResponse,
  decodeAnsiString,
  decodeCodeVersions,
  decodeLanSettings,
  decodeRemoteAccessStatus,
  decodeU32,
  decodeUuid,
  encodeAmthiRequest,
  lanInterfaceRequest,
  decodeMkhiFwVersion,
  encodeMkhiFwVersionRequest,
  formatFwVersion,
} from 'lms-rx/heci';
import {
  decodeHostFqdnBody,
  encodeLocalSystemAccount,
  encodeAmthiResponse,
  encodeCodeVersions,
  encodeLanSettings,
  encodeRemoteAccessStatus,
} from '../../src/codecs/amthi.js';
import { encodeMkhiFwVersionResponse } from '../../src/codecs/mkhi.js';
import { answerAmthi, answerMkhi, defaultAmthiProfile } from '../../src/device/simulator/amthiService.js';
import { bytes, hex } from '../support/apfBytes.js';

const right = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) assert.fail(`expected Right, got ${JSON.stringify(e.left)}`);
  return e.right;
};
const le32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

describe('AMTHI codec golden vectors', () => {
  it('encodes a 12-byte GetCodeVersions request: version 1.1, command LE, no body', () => {
    assert.deepStrictEqual(encodeAmthiRequest(AmthiCommand.GetCodeVersions), hex('01 01 0000 1a000004 00000000'));
  });

  it('encodes GetLanInterfaceSettings with the interface index as a 4-byte body', () => {
    assert.deepStrictEqual(lanInterfaceRequest(0), hex('01 01 0000 48000004 04000000 00000000'));
  });

  it('encodes SET_HOST_FQDN: a u16 length that counts the trailing NUL, the name, the NUL', () => {
    // "h.ex" is 4 bytes: length 5 (with the NUL); the body is 2 + 4 + 1 = 7 bytes.
    assert.deepStrictEqual(hostFqdnRequest('h.ex'), hex('01 01 0000 5b000004 07000000 0500 682e6578 00'));
    assert.equal(right(decodeHostFqdnBody(hex('0500 682e6578 00'))), 'h.ex');
    assert.ok(E.isLeft(decodeHostFqdnBody(hex('0900 682e6578 00'))), 'a length past the body is refused');
  });

  it('encodes GET_LOCAL_SYSTEM_ACCOUNT with 40 reserved zero bytes, and decodes two 33-byte NUL-padded fields', () => {
    assert.deepStrictEqual(localSystemAccountRequest(), bytes(hex('01 01 0000 67000004 28000000'), Buffer.alloc(40)));
    const field = (s: string) => Buffer.concat([Buffer.from(s), Buffer.alloc(33 - s.length)]);
    const body = bytes(field('$$OsAdmin'), field('s3cret'));
    assert.deepStrictEqual(right(decodeLocalSystemAccount(body)), { user: '$$OsAdmin', password: 's3cret' });
    assert.deepStrictEqual(encodeLocalSystemAccount({ user: '$$OsAdmin', password: 's3cret' }), body);
    assert.ok(E.isLeft(decodeLocalSystemAccount(body.subarray(0, 40))));
  });

  it('decodes GET_REMOTE_ACCESS_CONNECTION_STATUS as Intel LMS lays it out: network, connection, trigger (u32 each), the MPS as a u16-length string (issue #28, item 4)', () => {
    // Outside the enterprise (2), not connected (0), last opened by the periodic trigger (3), MPS "mps.ex".
    const wire = hex('01 01 0000 46008004 18000000 00000000 02000000 00000000 03000000 0600 6d70732e6578');
    const s = right(E.chain(decodeRemoteAccessStatus)(decodeAmthiResponse(wire, AmthiCommand.GetRemoteAccessConnectionStatus)));
    assert.deepStrictEqual(s, { network: 2, connection: 0, trigger: 3, mpsHostname: 'mps.ex' });
    assert.deepStrictEqual(encodeAmthiResponse(AmthiCommand.GetRemoteAccessConnectionStatus, 0, encodeRemoteAccessStatus(s)), wire);
    assert.ok(E.isLeft(decodeRemoteAccessStatus(hex('02000000 00000000 03000000 0900 6d70732e6578'))), 'a name longer than the body is refused');
    assert.deepStrictEqual(encodeAmthiRequest(AmthiCommand.OpenUserInitiatedConnection), hex('01 01 0000 44000004 00000000'));
  });

  it('decodes a provisioning-state response: command | 0x00800000, length, status, state', () => {
    const wire = hex('01 01 0000 11008004 08000000 00000000 02000000');
    assert.deepStrictEqual(right(E.chain(decodeU32)(decodeAmthiResponse(wire, AmthiCommand.GetProvisioningState))), 2);
    assert.deepStrictEqual(encodeAmthiResponse(AmthiCommand.GetProvisioningState, 0, hex('02000000')), wire);
  });

  it('decodes code versions: BIOS [65], count, then {u16 length, [20]} pairs', () => {
    const entry = (s: string) => bytes([s.length & 0xff, s.length >> 8], Buffer.concat([Buffer.from(s), Buffer.alloc(20 - s.length)]));
    const body = bytes(
      Buffer.concat([Buffer.from('BIOS.1'), Buffer.alloc(59)]),
      le32(2),
      entry('AMT'),
      entry('16.1.30'),
      entry('Flash'),
      entry('16.1.30.2225'),
    );
    assert.equal(body.length, 65 + 4 + 2 * 44);
    const v = right(decodeCodeVersions(body));
    assert.deepStrictEqual(v, {
      bios: 'BIOS.1',
      versions: [
        { description: 'AMT', version: '16.1.30' },
        { description: 'Flash', version: '16.1.30.2225' },
      ],
    });
    assert.deepStrictEqual(encodeCodeVersions(v), body);
  });

  it('decodes the UUID in uuid_le order, an ANSI string and the LAN settings', () => {
    assert.equal(right(decodeUuid(hex('78563412 bc9a f0de 1122 334455667788'))), '12345678-9abc-def0-1122-334455667788');
    assert.equal(right(decodeAnsiString(bytes([7, 0], Buffer.from('corp.ex')))), 'corp.ex');
    const lan = bytes(le32(1), le32(0xc0a8010a), le32(1), [2, 1], '00 1b 21 aa bb cc');
    const decoded = right(decodeLanSettings(lan));
    assert.deepStrictEqual(decoded, { enabled: true, ipv4: '192.168.1.10', dhcpEnabled: true, dhcpMode: 2, linkUp: true, mac: '00:1b:21:aa:bb:cc' });
    assert.deepStrictEqual(encodeLanSettings(decoded), lan);
  });

  it('is a Left for a failed status, a wrong command, a bad length and a truncation', () => {
    const failed = decodeAmthiResponse(encodeAmthiResponse(AmthiCommand.GetUuid, 3), AmthiCommand.GetUuid);
    assert.deepStrictEqual(failed, E.left({ kind: 'status', command: AmthiCommand.GetUuid, status: 3 }));
    assert.equal(E.isLeft(decodeAmthiResponse(encodeAmthiResponse(AmthiCommand.GetUuid, 0), AmthiCommand.GetControlMode)) && 'wrong', 'wrong');
    const wire = encodeAmthiResponse(AmthiCommand.GetControlMode, 0, hex('01000000'));
    assert.deepStrictEqual(decodeAmthiResponse(wire.subarray(0, 10), AmthiCommand.GetControlMode), E.left({ kind: 'truncated', needed: 16, available: 10 }));
    assert.deepStrictEqual(
      decodeAmthiResponse(Buffer.concat([wire, hex('00')]), AmthiCommand.GetControlMode),
      E.left({ kind: 'bad-length', declared: 8, actual: 9 }),
    );
    assert.ok(E.isLeft(decodeLanSettings(Buffer.alloc(19))));
    assert.ok(E.isLeft(decodeCodeVersions(bytes(Buffer.alloc(65), le32(3)))));
  });

  it('encodes MKHI GET_FW_VERSION and decodes its reply: u16 minor, major, build, hot fix, then the recovery version the same way', () => {
    assert.deepStrictEqual(encodeMkhiFwVersionRequest(), hex('ff 02 00 00'));
    // The code version, then the recovery (NFTP) version: Intel LMS's GET_FW_VER_RESPONSE reads both.
    const reply = hex('ff 82 00 00 0100 1000 b108 1e00 0100 1000 b108 1e00');
    const v = right(decodeMkhiFwVersion(reply));
    assert.deepStrictEqual(v, { minor: 1, major: 16, build: 2225, hotfix: 30 });
    assert.equal(formatFwVersion(v), '16.1.30.2225');
    assert.deepStrictEqual(encodeMkhiFwVersionResponse(v), reply);
    assert.deepStrictEqual(right(decodeMkhiFwVersion(reply.subarray(0, 12))), v, 'a reply without the recovery version reads the same');
    assert.ok(E.isLeft(decodeMkhiFwVersion(hex('ff 82 00 8d 0000 0000 0000 0000'))), 'a failed result is a Left');
    assert.ok(E.isLeft(decodeMkhiFwVersion(hex('ff 82 00 00'))));
  });

  it('has the simulated MKHI answer the FWCAPS rules Intel LMS asks before it will run: AMT there and on, a full ME branded AMT', () => {
    // Intel LMS v2506's requests as strace saw them on the emulated /dev/mei0: FWCAPS (group 3) GET_RULE (2) with the rule id.
    // The answers laid out as its MKHIGetRuleCommandResponse reads them: header, rule id, data length (u8), data.
    const p = defaultAmthiProfile('16.1.30', '12345678-9abc-def0-1122-334455667788');
    // Rule 32 (features enabled) and 0 (the SKU): AMT (bit 2), IPv6 (17), KVM (18), TLS (21).
    assert.deepStrictEqual(answerMkhi(hex('03 02 00 00 20000000'), p), hex('03 82 00 00 20000000 04 04002600'));
    assert.deepStrictEqual(answerMkhi(hex('03 02 00 00 00000000'), p), hex('03 82 00 00 00000000 04 04002600'));
    // Rule 29 (platform type): desktop (bit 1), production signed (7), image type 4 (full ME, bits 8-11), brand 1 (AMT, bits 12-15).
    assert.deepStrictEqual(answerMkhi(hex('03 02 00 00 1d000000'), p), hex('03 82 00 00 1d000000 04 82140000'));
    // A rule it does not know: a failure result, as before.
    assert.deepStrictEqual(answerMkhi(hex('03 02 00 00 07000000'), p), hex('03 82 00 8d'));
  });

  it('has the simulator answer every request lms info sends, and refuse what it does not know', () => {
    const p = defaultAmthiProfile('16.1.30', '12345678-9abc-def0-1122-334455667788');
    assert.equal(right(E.chain(decodeUuid)(decodeAmthiResponse(answerAmthi(encodeAmthiRequest(AmthiCommand.GetUuid), p), AmthiCommand.GetUuid))), p.uuid);
    const account = Buffer.from(encodeAmthiRequest(AmthiCommand.GetUuid));
    account.writeUInt32LE(0x04000067, 4); // the local system account: never answered with credentials
    const reply = answerAmthi(account, p);
    assert.notEqual(reply.readUInt32LE(12), 0);
  });
});
