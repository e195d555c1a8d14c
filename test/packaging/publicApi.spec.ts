/**
 * Every value the package exports is used from outside, by its package name, in some spec
 * (issue #23, item 4). Most are used by the specs of their part; this one uses the rest, each
 * against the protocol's own numbers (RFC 4252-4254 for APF's SSH codes, Intel's AMTHI layout),
 * and holds the whole list: a new export with no spec that uses it fails here.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { Subject } from 'rxjs';
import { defaultSessionOptions, optionRanges } from 'lms-rx';
import {
  CHANNEL_DATA_HEADER,
  ChannelType,
  channelData,
  DisconnectReason,
  decodeApf,
  describeDecodeError,
  disconnectReasonName,
  encodeApf,
  encodeInto,
  MAX_U32,
  NIL_GUID,
  OpenFailureReason,
  openFailureReasonName,
  protocolVersion,
  RequestName,
  requestFailure,
  Service,
  TriggerReason,
  triggerReasonName,
  u32,
  userauthSuccess,
} from 'lms-rx/apf';
import {
  AmthiCommand,
  amthiStatusName,
  askAmthi,
  CONNECT_CLIENT_DATA_SIZE,
  ControlMode,
  callAmthi,
  decodeU32,
  decodeUuid,
  describeAmthiError,
  encodeAmthiRequest,
  MIN_LME_PROTOCOL_VERSION,
  ProvisioningState,
} from 'lms-rx/heci';
import { createSession } from 'lms-rx/session';
import { createMeEngine, defaultMeEngineOptions, PROFILE_PORTS, SimulatedMe } from 'lms-rx/simulator';

const ENTRIES = ['lms-rx', 'lms-rx/apf', 'lms-rx/session', 'lms-rx/simulator', 'lms-rx/heci'] as const;

/** The names each spec imports from each entry by its package name. */
const importedBySpecs = (): Map<string, Set<string>> => {
  const used = new Map<string, Set<string>>(ENTRIES.map((e) => [e, new Set<string>()]));
  const root = 'test';
  for (const file of readdirSync(root, { recursive: true }) as string[]) {
    if (!file.endsWith('.ts')) continue;
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(/import (?:type )?\{([^}]*)\} from '(lms-rx[^']*)'/g))
      for (const name of m[1]!.split(','))
        used.get(m[2]!)?.add(
          name
            .trim()
            .replace(/^type\s+/, '')
            .split(' as ')[0]!,
        );
  }
  return used;
};

describe('the public API, used from outside (issue #23, item 4)', () => {
  it('has every exported value imported by its package name in some spec', async () => {
    const used = importedBySpecs();
    for (const entry of ENTRIES) {
      const names = Object.keys(await import(entry));
      assert.deepStrictEqual(
        names.filter((n) => !used.get(entry)!.has(n)),
        [],
        `${entry} exports values no spec imports from '${entry}'`,
      );
    }
  });

  describe('lms-rx', () => {
    it("defaults to the ME's eight slots, a 64 KiB window and 1,024 waiting places, within the documented ranges", () => {
      assert.equal(defaultSessionOptions.maxChannels, 8);
      assert.equal(defaultSessionOptions.window, 65_536);
      assert.equal(defaultSessionOptions.maxQueue, 1024);
      assert.deepStrictEqual(optionRanges.window, [1, 0xffffffff], 'an APF window is a u32');
      assert.deepStrictEqual(optionRanges.maxChannels, [1, 64]);
    });
  });

  describe('lms-rx/apf', () => {
    it('numbers disconnects and open failures as SSH does (RFC 4253 §11.1, RFC 4254 §5.1), and names them', () => {
      assert.deepStrictEqual(
        [DisconnectReason.ProtocolError, DisconnectReason.ServiceNotAvailable, DisconnectReason.ProtocolVersionNotSupported, DisconnectReason.ByApplication],
        [2, 7, 8, 11],
      );
      assert.deepStrictEqual(
        [
          OpenFailureReason.AdministrativelyProhibited,
          OpenFailureReason.ConnectFailed,
          OpenFailureReason.UnknownChannelType,
          OpenFailureReason.ResourceShortage,
        ],
        [1, 2, 3, 4],
      );
      assert.equal(disconnectReasonName(2), 'ProtocolError');
      assert.equal(disconnectReasonName(99), 'unknown(99)');
      assert.equal(openFailureReasonName(4), 'ResourceShortage');
      assert.equal(TriggerReason.LmeRequest, 254);
      assert.equal(triggerReasonName(254), 'LmeRequest');
    });

    it("names APF's services, requests and channel types as the ME sends them", () => {
      assert.deepStrictEqual([Service.Pfwd, Service.Auth], ['pfwd@amt.intel.com', 'auth@amt.intel.com']);
      assert.deepStrictEqual([RequestName.TcpipForward, RequestName.CancelTcpipForward], ['tcpip-forward', 'cancel-tcpip-forward']);
      assert.deepStrictEqual([ChannelType.ForwardedTcpip, ChannelType.DirectTcpip], ['forwarded-tcpip', 'direct-tcpip']);
    });

    it('encodes USERAUTH_SUCCESS and REQUEST_FAILURE as their SSH message numbers alone (52, 82)', () => {
      assert.equal(encodeApf(userauthSuccess).toString('hex'), '34');
      assert.equal(encodeApf(requestFailure).toString('hex'), '52');
    });

    it('writes a message into a buffer of its own at an offset, CHANNEL_DATA with its 9-byte header', () => {
      const out = Buffer.alloc(32, 0xee);
      const end = encodeInto(channelData(7, Buffer.from('hi')), out, 3);
      assert.equal(CHANNEL_DATA_HEADER, 9);
      assert.equal(end, 3 + CHANNEL_DATA_HEADER + 2);
      assert.equal(out.subarray(0, end + 1).toString('hex'), `eeeeee${'5e'}${'00000007'}${'00000002'}6869ee`);
    });

    it('says why a message is malformed, and keeps u32 values in range', () => {
      const r = decodeApf(Buffer.from([0x61, 0, 0]));
      assert.ok(E.isLeft(r));
      assert.match(describeDecodeError(r.left), /CHANNEL_CLOSE|truncated|bytes/i);
      assert.equal(MAX_U32, 0xffffffff);
      assert.equal(u32(MAX_U32), MAX_U32);
      assert.throws(() => u32(-1), RangeError);
      assert.equal(NIL_GUID, '00000000-0000-0000-0000-000000000000');
    });
  });

  describe('lms-rx/session', () => {
    it('steps: connected starts the wait for the ME version, which it answers with its own (trigger 254)', () => {
      const session = createSession(defaultSessionOptions, () => 0);
      assert.deepStrictEqual(
        session.step({ kind: 'connected', maxMsgLength: 4096 }).filter((e) => e.kind !== 'event'),
        [{ kind: 'start-timer', key: { kind: 'version' }, ms: defaultSessionOptions.versionTimeoutMs }],
      );
      const sent = session
        .step({
          kind: 'message',
          message: protocolVersion(1, NIL_GUID),
          size: 93,
        })
        .flatMap((e) => (e.kind === 'send' ? [e.message] : []));
      assert.deepStrictEqual(
        sent.map((m) => (m.type === 'protocol-version' ? m.triggerReason : m.type)),
        [254],
      );
      assert.equal(session.snapshot().phase, 'awaiting-service');
    });
  });

  describe('lms-rx/simulator', () => {
    it('forwards 16992 and 623 in its plain profile, and opens a session with PROTOCOLVERSION on connect', () => {
      assert.deepStrictEqual(PROFILE_PORTS.plain, [16992, 623]);
      assert.equal(defaultMeEngineOptions.profile, 'plain');
      const me = createMeEngine(defaultMeEngineOptions);
      const first = me.step({ kind: 'connect' }).find((e) => e.kind === 'send');
      assert.equal(first?.kind === 'send' && first.message.type, 'protocol-version');
    });
  });

  describe('lms-rx/heci', () => {
    it("sizes the connect ioctl's data as the kernel's 16-byte union, and asks for LME protocol 4 or later", () => {
      assert.equal(CONNECT_CLIENT_DATA_SIZE, 16);
      assert.equal(MIN_LME_PROTOCOL_VERSION, 4);
    });

    it("names AMT's provisioning states, control modes and statuses as the AMT SDK does", () => {
      assert.deepStrictEqual([ProvisioningState[0], ProvisioningState[2]], ['pre-provisioning', 'post-provisioning']);
      assert.deepStrictEqual([ControlMode[1], ControlMode[2]], ['client control', 'admin control']);
      assert.equal(amthiStatusName(0), 'success');
      assert.equal(describeAmthiError({ kind: 'status', command: AmthiCommand.SetHostFqdn, status: 3 }), 'AMTHI command 0x400005b failed: invalid AMT mode');
    });

    it('asks a connection an AMTHI question and decodes the answer laid out by hand (header, status, body)', async () => {
      const messages$ = new Subject<Buffer>();
      const written: Buffer[] = [];
      const connection = {
        maxMsgLength: 4096,
        protocolVersion: 1,
        messages$,
        write: async (b: Buffer) => {
          written.push(b);
          // version 1.1, reserved, GetProvisioningState | 0x800000, 8 bytes follow: status 0, state 2
          setImmediate(() => messages$.next(Buffer.from('01010000' + '11008004' + '08000000' + '00000000' + '02000000', 'hex')));
        },
        close: () => undefined,
      };
      const request = encodeAmthiRequest(AmthiCommand.GetProvisioningState);
      const r = await askAmthi(connection as never, request, AmthiCommand.GetProvisioningState, decodeU32, 1000);
      assert.deepStrictEqual(r, E.right(2));
      assert.equal(written[0]!.toString('hex'), '01010000110000040000000' + '0');
    });

    it("calls AMTHI on a device: the simulated ME's UUID", async () => {
      const r = await callAmthi(new SimulatedMe().amthi(), encodeAmthiRequest(AmthiCommand.GetUuid), AmthiCommand.GetUuid, decodeUuid);
      assert.deepStrictEqual(r, E.right(defaultMeEngineOptions.uuid));
    });
  });
});
