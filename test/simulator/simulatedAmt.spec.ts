import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { AMT, CIM, IPS } from '@device-management-toolkit/wsman-messages';
import { XMLParser } from 'fast-xml-parser';
import { startLms, type LmsService } from 'lms-rx';
import { AmthiCommand, callAmthi, decodeLocalSystemAccount, decodeU32, encodeAmthiRequest, localSystemAccountRequest } from 'lms-rx/heci';
import { SimulatedMe, type SimulatedMeOptions } from 'lms-rx/simulator';
import { parseRunArgs } from '../../src/cli/runArgs.js';
import { faultEnvelope, faultStatus } from '../../src/device/simulator/amt/wsmanEnvelope.js';
import { classUri } from '../../src/device/simulator/amt/wsmanService.js';
import { digestAuthorization, md5 } from '../../src/wsman/digest.js';
import { freePort } from '../support/harness.js';

/**
 * The simulated AMT driven as real tools drive AMT: requests built by Intel's wsman-messages (the
 * builders rpc-go, RPS and MPS use), sent over TCP to the port lms forwards, with HTTP Digest; the
 * answers checked against AMT's own (field names, order and values, faults as AMT words them).
 */

const amt = new AMT.Messages();
const ips = new IPS.Messages();
const cim = new CIM.Messages();

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly xml: string;
  // biome-ignore lint/suspicious/noExplicitAny: parsed XML, walked by element name
  readonly body: Record<string, any>;
}
type Account = { readonly user: string; readonly password: string };

const parser = new XMLParser({ removeNSPrefix: true, ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false });

const post = (
  port: number,
  xml: string,
  secure: boolean,
  authorization?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; xml: string }> =>
  new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: '/wsman',
      method: 'POST',
      headers: { 'Content-Type': 'application/soap+xml; charset=utf-8', ...(authorization ? { Authorization: authorization } : {}) },
      ...(secure ? { createConnection: () => tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }) } : { agent: false }),
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, xml: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(xml);
  });

/** One WS-Man call as a tool makes it: the request, the Digest challenge, the request again with credentials. */
const wsman = async (port: number, account: Account, xml: string, secure = false): Promise<Answer & { challenge: string }> => {
  const first = await post(port, xml, secure);
  assert.equal(first.status, 401, 'a request without credentials gets the Digest challenge');
  const challenge = String(first.headers['www-authenticate']);
  const r = await post(port, xml, secure, digestAuthorization(challenge, account, 'POST', '/wsman'));
  // biome-ignore lint/suspicious/noExplicitAny: parsed XML, walked by element name
  const doc = r.status === 401 ? {} : (parser.parse(r.xml) as Record<string, any>);
  return { ...r, challenge, body: doc['Envelope']?.['Body'] ?? {} };
};

/** The property names of an answer's first instance of `cls`, in the order sent (a REF's or a datetime's insides skipped). */
const fieldOrder = (xml: string, cls: string): string[] => {
  const inner = new RegExp(`<(\\w+):${cls}>(.*?)</\\1:${cls}>`).exec(xml)?.[2] ?? '';
  const names: string[] = [];
  let depth = 0;
  for (const [, close, name, selfClosing] of inner.matchAll(/<(\/?)\w+:(\w+)[^>]*?(\/?)>/g)) {
    if (close) depth--;
    else {
      if (depth === 0 && !names.includes(name!)) names.push(name!);
      if (!selfClosing) depth++;
    }
  }
  return names;
};

const realmOf = (challenge: string): string => /realm="([^"]+)"/.exec(challenge)![1]!;

interface Rig {
  readonly me: SimulatedMe;
  readonly lms: LmsService;
  readonly port: number;
  stop(): Promise<void>;
}

/** The simulated ME forwarding one free port (its web service, over TLS with `tls`), and lms on it. */
const rig = async (options: SimulatedMeOptions = {}, tls = false): Promise<Rig> => {
  const port = await freePort();
  const me = new SimulatedMe({ ports: [port], httpPorts: [port], tlsPorts: tls ? [port] : [], ...options });
  const lms = startLms({ device: me, reconnectMs: 20 });
  await lms.ready(port);
  return {
    me,
    lms,
    port,
    async stop() {
      await lms.stop();
      me.close();
    },
  };
};

const amthiU32 = async (me: SimulatedMe, command: AmthiCommand): Promise<number> => {
  const r = await callAmthi(me.amthi(), encodeAmthiRequest(command), command, decodeU32);
  assert.equal(r._tag, 'Right');
  return (r as { right: number }).right;
};

/** What AMTHI gives a tool that activates AMT from the host: the local system account. */
const localSystemAccount = async (me: SimulatedMe): Promise<Account> => {
  const r = await callAmthi(me.amthi(), localSystemAccountRequest(), AmthiCommand.GetLocalSystemAccount, decodeLocalSystemAccount);
  assert.equal(r._tag, 'Right', 'AMTHI gives the local system account before activation too (rpc-go activates with it)');
  return (r as { right: Account }).right;
};

describe('the simulated AMT, driven as AMT tools drive it (issue #24)', function () {
  this.timeout(20_000);
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.stop();
    r = undefined;
  });

  describe("rpc-go's local activation and deactivation", () => {
    it('activates in client control mode with Setup, which AMTHI then reports, and deactivates with Unprovision', async () => {
      r = await rig({ amthi: { provisioningState: 0, controlMode: 0 } });
      assert.equal(await amthiU32(r.me, AmthiCommand.GetControlMode), 0);
      const lsa = await localSystemAccount(r.me);

      const general = await wsman(r.port, lsa, amt.GeneralSettings.Get());
      assert.equal(general.status, 200);
      const realm = general.body['AMT_GeneralSettings']['DigestRealm'];
      assert.equal(realm, realmOf(general.challenge), "DigestRealm is the realm of AMT's Digest challenge");

      const setup = await wsman(r.port, lsa, ips.HostBasedSetupService.Get());
      const hbs = setup.body['IPS_HostBasedSetupService'];
      assert.equal(hbs['CurrentControlMode'], '0');
      assert.deepStrictEqual(hbs['AllowedControlModes'], ['2', '1']);
      assert.equal(Buffer.from(hbs['ConfigurationNonce'], 'base64').length, 20);

      const password = 'Str0ng!Passw0rd';
      const done = await wsman(r.port, lsa, ips.HostBasedSetupService.Setup(2, md5(`admin:${realm}:${password}`)));
      assert.equal(done.status, 200);
      assert.equal(done.body['Setup_OUTPUT']['ReturnValue'], '0');
      assert.equal(await amthiU32(r.me, AmthiCommand.GetProvisioningState), 2);
      assert.equal(await amthiU32(r.me, AmthiCommand.GetControlMode), 1);

      // The admin account now exists, with the password the tool chose; a second Setup is refused.
      const admin = { user: 'admin', password };
      assert.equal((await wsman(r.port, admin, amt.SetupAndConfigurationService.Get())).body['AMT_SetupAndConfigurationService']['ProvisioningState'], '2');
      assert.equal((await wsman(r.port, lsa, ips.HostBasedSetupService.Setup(2, md5(`admin:${realm}:x`)))).body['Setup_OUTPUT']['ReturnValue'], '2');

      const gone = await wsman(r.port, admin, amt.SetupAndConfigurationService.Unprovision(1));
      assert.equal(gone.body['Unprovision_OUTPUT']['ReturnValue'], '0');
      assert.equal(await amthiU32(r.me, AmthiCommand.GetProvisioningState), 0);
      assert.equal((await wsman(r.port, admin, amt.GeneralSettings.Get())).status, 401, 'no admin account after deactivation');
      const denied = await wsman(r.port, lsa, amt.EthernetPortSettings.Get());
      assert.equal(denied.status, 400);
      assert.equal(denied.body['Fault']['Code']['Subcode']['Value'], 'c:AccessDenied');
    });

    it('activates in admin control mode with a provisioning certificate chain and a signed AdminSetup, checking what AMT checks', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'lms-acm-'));
      try {
        const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
        ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-days', '2', '-subj', '/CN=Test Provisioning Root');
        ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=amt.example.internal');
        const ext = join(dir, 'leaf.ext');
        execFileSync('sh', ['-c', `printf 'extendedKeyUsage=serverAuth,2.16.840.1.113741.1.2.3\\n' > ${ext}`]);
        ssl(
          'x509',
          '-req',
          '-in',
          'leaf.csr',
          '-CA',
          'root.pem',
          '-CAkey',
          'root.key',
          '-CAcreateserial',
          '-out',
          'leaf.pem',
          '-days',
          '2',
          '-extfile',
          'leaf.ext',
        );
        const der = (f: string): string => new X509Certificate(readFileSync(join(dir, f))).raw.toString('base64');
        const rootHash = new X509Certificate(readFileSync(join(dir, 'root.pem'))).fingerprint256;

        // First with a root AMT does not trust: the chain is refused.
        r = await rig({ amthi: { provisioningState: 0, controlMode: 0 } });
        let lsa = await localSystemAccount(r.me);
        await wsman(r.port, lsa, ips.HostBasedSetupService.AddNextCertInChain(der('leaf.pem'), true, false));
        const untrusted = await wsman(r.port, lsa, ips.HostBasedSetupService.AddNextCertInChain(der('root.pem'), false, true));
        assert.notEqual(untrusted.body['AddNextCertInChain_OUTPUT']['ReturnValue'], '0', 'a root AMT does not trust');
        await r.stop();

        r = await rig({ amthi: { provisioningState: 0, controlMode: 0 }, trustedRootHashes: [rootHash] });
        lsa = await localSystemAccount(r.me);
        const realm = (await wsman(r.port, lsa, amt.GeneralSettings.Get())).body['AMT_GeneralSettings']['DigestRealm'];
        for (const [cert, leaf, root] of [
          ['leaf.pem', true, false],
          ['root.pem', false, true],
        ] as const)
          assert.equal(
            (await wsman(r.port, lsa, ips.HostBasedSetupService.AddNextCertInChain(der(cert), leaf, root))).body['AddNextCertInChain_OUTPUT']['ReturnValue'],
            '0',
          );
        const nonce = Buffer.from(
          (await wsman(r.port, lsa, ips.HostBasedSetupService.Get())).body['IPS_HostBasedSetupService']['ConfigurationNonce'],
          'base64',
        );
        const mcNonce = randomBytes(20);
        const sign = (data: Buffer): string =>
          createSign('sha256')
            .update(data)
            .sign(readFileSync(join(dir, 'leaf.key')))
            .toString('base64');
        const password = 'Str0ng!Passw0rd';
        const ha1 = md5(`admin:${realm}:${password}`);

        // Signed over McNonce then ConfigurationNonce (the wrong order): AMT refuses (5, authentication failed).
        const wrong = await wsman(
          r.port,
          lsa,
          ips.HostBasedSetupService.AdminSetup(2, ha1, mcNonce.toString('base64'), 2, sign(Buffer.concat([mcNonce, nonce]))),
        );
        assert.equal(wrong.body['AdminSetup_OUTPUT']['ReturnValue'], '5');
        assert.equal(await amthiU32(r.me, AmthiCommand.GetProvisioningState), 0);

        const right = await wsman(
          r.port,
          lsa,
          ips.HostBasedSetupService.AdminSetup(2, ha1, mcNonce.toString('base64'), 2, sign(Buffer.concat([nonce, mcNonce]))),
        );
        assert.equal(right.body['AdminSetup_OUTPUT']['ReturnValue'], '0');
        assert.equal(await amthiU32(r.me, AmthiCommand.GetControlMode), 2);
        const mebx = await wsman(r.port, { user: 'admin', password }, amt.SetupAndConfigurationService.SetMEBXPassword('Mebx!Passw0rd'));
        assert.equal(mebx.body['SetMEBxPassword_OUTPUT']['ReturnValue'], '0', 'admin control mode may set the MEBx password');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('keeps an activation across a restart with a state file (--sim-state)', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'lms-state-'));
      const stateFile = join(dir, 'amt.json');
      try {
        r = await rig({ amthi: { provisioningState: 0, controlMode: 0 }, stateFile });
        const lsa = await localSystemAccount(r.me);
        const realm = (await wsman(r.port, lsa, amt.GeneralSettings.Get())).body['AMT_GeneralSettings']['DigestRealm'];
        await wsman(r.port, lsa, ips.HostBasedSetupService.Setup(2, md5(`admin:${realm}:Kept!Passw0rd`)));
        await r.stop();

        r = await rig({ amthi: { provisioningState: 0, controlMode: 0 }, stateFile });
        assert.equal(await amthiU32(r.me, AmthiCommand.GetControlMode), 1, 'still activated');
        const again = await wsman(r.port, { user: 'admin', password: 'Kept!Passw0rd' }, amt.GeneralSettings.Get());
        assert.equal(again.status, 200, 'the same realm and admin password');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("rpc-go's configure and amtfeatures", () => {
    it("takes the host name, a static wired address and the redirection features as rpc-go Puts them, with AMT's rules", async () => {
      r = await rig();
      const admin = { user: r.me.user, password: r.me.password };
      // configure synchostname: the host's name and domain into AMT_GeneralSettings.
      const general = (await wsman(r.port, admin, amt.GeneralSettings.Get())).body['AMT_GeneralSettings'];
      const named = await wsman(r.port, admin, amt.GeneralSettings.Put({ ...general, HostName: 'desk42', DomainName: 'example.internal' }));
      assert.equal(named.status, 200);
      assert.equal(named.body['AMT_GeneralSettings']['HostOSFQDN'], 'desk42.example.internal');

      // configure wired --static: DHCP off, AMT's own address; a half-given one is refused.
      const wired = {
        ElementName: 'Intel(r) AMT Ethernet Port Settings',
        InstanceID: 'Intel(r) AMT Ethernet Port Settings 0',
        DHCPEnabled: false,
        IpSyncEnabled: false,
        SharedStaticIp: false,
      };
      const half = await wsman(r.port, admin, amt.EthernetPortSettings.Put({ ...wired, IPAddress: '192.168.1.50' } as never));
      assert.equal(half.status, 400, 'a static address without mask, gateway and DNS');
      const full = { ...wired, IPAddress: '192.168.1.50', SubnetMask: '255.255.255.0', DefaultGateway: '192.168.1.1', PrimaryDNS: '192.168.1.1' };
      const put = await wsman(r.port, admin, amt.EthernetPortSettings.Put(full as never));
      assert.equal(put.status, 200, put.xml.slice(0, 400));
      const port0 = (await wsman(r.port, admin, amt.EthernetPortSettings.Get({ name: 'InstanceID', value: 'Intel(r) AMT Ethernet Port Settings 0' }))).body[
        'AMT_EthernetPortSettings'
      ];
      assert.deepStrictEqual([port0['DHCPEnabled'], port0['IPAddress'], port0['SubnetMask']], ['false', '192.168.1.50', '255.255.255.0']);

      // amtfeatures: IDE-R and SOL on, the listener on, KVM on; consent is for admin control mode to waive.
      assert.equal((await wsman(r.port, admin, amt.RedirectionService.RequestStateChange(32771))).body['RequestStateChange_OUTPUT']['ReturnValue'], '0');
      assert.equal((await wsman(r.port, admin, cim.KVMRedirectionSAP.RequestStateChange(2))).body['RequestStateChange_OUTPUT']['ReturnValue'], '0');
      const redirection = (await wsman(r.port, admin, amt.RedirectionService.Get())).body['AMT_RedirectionService'];
      assert.equal((await wsman(r.port, admin, amt.RedirectionService.Put({ ...redirection, ListenerEnabled: true }))).status, 200);
      const optIn = (await wsman(r.port, admin, ips.OptInService.Get())).body['IPS_OptInService'];
      const waive = await wsman(r.port, admin, ips.OptInService.Put({ IPS_OptInService: { ...optIn, OptInRequired: 0 } } as never));
      assert.equal(waive.status, 400, 'client control mode cannot waive user consent');
      assert.equal(waive.body['Fault']['Code']['Subcode']['Value'], 'c:AccessDenied');
    });
  });

  describe("a console's connect sequence", () => {
    it('answers Get or Enumerate+Pull of every class a console reads, with AMT_GeneralSettings laid out as AMT lays it out', async () => {
      r = await rig();
      const admin = { user: r.me.user, password: r.me.password };
      const get = await wsman(r.port, admin, amt.GeneralSettings.Get());
      // AMT's own answer (go-wsman-messages' recorded AMT_GeneralSettings): these fields, in this order.
      assert.deepStrictEqual(fieldOrder(get.xml, 'AMT_GeneralSettings'), [
        'AMTNetworkEnabled',
        'DDNSPeriodicUpdateInterval',
        'DDNSTTL',
        'DDNSUpdateByDHCPServerEnabled',
        'DDNSUpdateEnabled',
        'DHCPSyncRequiresHostname',
        'DHCPv6ConfigurationTimeout',
        'DigestRealm',
        'DomainName',
        'ElementName',
        'HostName',
        'HostOSFQDN',
        'IdleWakeTimeout',
        'InstanceID',
        'NetworkInterfaceEnabled',
        'PingResponseEnabled',
        'PowerSource',
        'PreferredAddressFamily',
        'PresenceNotificationInterval',
        'PrivacyLevel',
        'RmcpPingResponseEnabled',
        'SharedFQDN',
        'ThunderboltDockEnabled',
        'WsmanOnlyMode',
      ]);
      assert.match(get.xml, /<b:Action a:mustUnderstand="true">http:\/\/schemas.xmlsoap.org\/ws\/2004\/09\/transfer\/GetResponse<\/b:Action>/);
      assert.match(get.xml, /<b:MessageID>uuid:00000000-8086-8086-8086-[0-9A-F]{12}<\/b:MessageID>/);
      assert.equal(get.headers['transfer-encoding'], 'chunked', 'AMT sends its SOAP answers chunked');

      const ta0 = Number((await wsman(r.port, admin, amt.TimeSynchronizationService.GetLowAccuracyTimeSynch())).body['GetLowAccuracyTimeSynch_OUTPUT']['Ta0']);
      assert.ok(Math.abs(ta0 - Date.now() / 1000) < 5);

      // A console's classes, enumerated and pulled; a fresh AMT has empty lists where it has nothing.
      const listed: Record<string, number> = {};
      const classes = {
        AMT_EthernetPortSettings: amt.EthernetPortSettings,
        AMT_TLSSettingData: amt.TLSSettingData,
        AMT_TLSCredentialContext: amt.TLSCredentialContext,
        AMT_PublicKeyCertificate: amt.PublicKeyCertificate,
        AMT_ManagementPresenceRemoteSAP: amt.ManagementPresenceRemoteSAP,
        AMT_RemoteAccessPolicyAppliesToMPS: amt.RemoteAccessPolicyAppliesToMPS,
        AMT_BootSettingData: amt.BootSettingData,
        AMT_BootCapabilities: amt.BootCapabilities,
        AMT_RedirectionService: amt.RedirectionService,
        AMT_MessageLog: amt.MessageLog,
        CIM_SoftwareIdentity: cim.SoftwareIdentity,
        CIM_BIOSElement: cim.BIOSElement,
        CIM_ComputerSystemPackage: cim.ComputerSystemPackage,
        CIM_Chassis: cim.Chassis,
        CIM_Card: cim.Card,
        CIM_Chip: cim.Chip,
        CIM_Processor: cim.Processor,
        CIM_PhysicalMemory: cim.PhysicalMemory,
        CIM_MediaAccessDevice: cim.MediaAccessDevice,
        CIM_KVMRedirectionSAP: cim.KVMRedirectionSAP,
        CIM_WiFiEndpointSettings: cim.WiFiEndpointSettings,
        CIM_ServiceAvailableToElement: cim.ServiceAvailableToElement,
        IPS_OptInService: ips.OptInService,
        IPS_KVMRedirectionSettingData: ips.KVMRedirectionSettingData,
        IPS_PowerManagementService: ips.PowerManagementService,
      } as const;
      for (const [name, builder] of Object.entries(classes)) {
        const e = await wsman(r.port, admin, builder.Enumerate());
        assert.equal(e.status, 200, `${name}: Enumerate answered ${e.status}: ${e.xml.slice(0, 300)}`);
        const context = e.body['EnumerateResponse']['EnumerationContext'];
        const p = await wsman(r.port, admin, builder.Pull(context));
        assert.equal(p.status, 200, `${name}: Pull answered ${p.status}`);
        assert.ok('EndOfSequence' in p.body['PullResponse'], `${name}: one Pull of up to 999 items ends the sequence`);
        const items = p.body['PullResponse']['Items'] || {};
        listed[name] = Object.values(items).flat().length;
        // The context is used up: AMT refuses it afterwards.
        const stale = await wsman(r.port, admin, builder.Pull(context));
        assert.equal(stale.body['Fault']?.['Code']?.['Subcode']?.['Value'], 'g:InvalidEnumerationContext');
      }
      assert.equal(listed['AMT_EthernetPortSettings'], 2, 'wired and wireless');
      assert.equal(listed['AMT_TLSCredentialContext'], 0, 'no TLS credentials on a fresh AMT');
      assert.equal(listed['CIM_SoftwareIdentity'], 11);

      const pkg = await wsman(r.port, admin, cim.ComputerSystemPackage.Get());
      const uuid = r.me.options.uuid;
      const guid = pkg.body['CIM_ComputerSystemPackage']['PlatformGUID'] as string;
      // AMT's byte order: the first three fields little-endian, as AMTHI's GET_UUID gives them.
      const [a, b, c, d, e] = uuid.split('-');
      const swap = (h: string): string => h.match(/../g)!.reverse().join('');
      assert.equal(guid, `${swap(a!)}${swap(b!)}${swap(c!)}${d}${e}`.toUpperCase());
    });

    it("lays out each class's instance as AMT does: AMT's properties, in AMT's order (test/fixtures/amt-class-fields.json)", async () => {
      r = await rig({ cira: true }); // set up for CIRA: its MPS and policy rules are listed too
      const admin = { user: r.me.user, password: r.me.password };
      const recorded = JSON.parse(readFileSync('test/fixtures/amt-class-fields.json', 'utf8')) as Record<string, string[]>;
      // Listed by another class (an association's subclass), and what a fresh AMT leaves out.
      const via: Record<string, string> = { CIM_AssociatedPowerManagementService: 'CIM_ServiceAvailableToElement' };
      const optional: Record<string, string[]> = { AMT_EnvironmentDetectionSettingData: ['DetectionStrings'] };
      const template = amt.GeneralSettings.Enumerate();
      for (const [cls, fields] of Object.entries(recorded)) {
        const uri = classUri(via[cls] ?? cls);
        const e = await wsman(r.port, admin, template.replace('http://intel.com/wbem/wscim/1/amt-schema/1/AMT_GeneralSettings', uri));
        assert.equal(e.status, 200, `${cls}: ${e.xml.slice(0, 300)}`);
        const pull = amt.GeneralSettings.Pull(e.body['EnumerateResponse']['EnumerationContext']).replace(
          'http://intel.com/wbem/wscim/1/amt-schema/1/AMT_GeneralSettings',
          uri,
        );
        const ours = fieldOrder((await wsman(r.port, admin, pull)).xml, cls);
        const expected = fields.filter((f) => !(optional[cls] ?? []).includes(f));
        assert.deepStrictEqual(ours, expected, `${cls}: AMT sends ${fields.join(', ')}`);
      }
    });

    it('pulls in batches of MaxElements, ends with EndOfSequence, and answers an optimized Enumerate with its items', async () => {
      r = await rig();
      const admin = { user: r.me.user, password: r.me.password };
      const e = await wsman(r.port, admin, cim.SoftwareIdentity.Enumerate());
      const context = e.body['EnumerateResponse']['EnumerationContext'];
      const batch = (xml: string): string => xml.replace(/<MaxElements>\d+<\/MaxElements>/, '<MaxElements>4</MaxElements>');
      const sizes: number[] = [];
      for (;;) {
        const p = await wsman(r.port, admin, batch(cim.SoftwareIdentity.Pull(context)));
        assert.equal(p.status, 200);
        const items = p.body['PullResponse']['Items']['CIM_SoftwareIdentity'];
        sizes.push(Array.isArray(items) ? items.length : 1);
        if ('EndOfSequence' in p.body['PullResponse']) break;
        assert.equal(p.body['PullResponse']['EnumerationContext'], context, 'the same context until the end');
      }
      assert.deepStrictEqual(sizes, [4, 4, 3], "AMT's 11 version entries in batches of 4");
      // Optimized (WS-Management 1.1): the items come with the EnumerateResponse itself.
      const optimized = cim.SoftwareIdentity.Enumerate().replace(
        /<Enumerate([^>]*?)\s*\/>|<Enumerate([^>]*)><\/Enumerate>/,
        '<Enumerate$1$2><w:OptimizeEnumeration/><w:MaxElements>20</w:MaxElements></Enumerate>',
      );
      const o = await wsman(r.port, admin, optimized);
      assert.equal(o.status, 200, o.xml.slice(0, 300));
      assert.equal(o.body['EnumerateResponse']['Items']['CIM_SoftwareIdentity'].length, 11);
      assert.ok('EndOfSequence' in o.body['EnumerateResponse']);
    });

    it("words an internal error as the Receiver's fault with HTTP 500, and the others as the Sender's with 400 (SOAP 1.2's HTTP binding)", () => {
      assert.match(faultEnvelope({ messageId: '7' }, { fault: 'InternalError' }), /<a:Code><a:Value>a:Receiver<\/a:Value>/);
      assert.equal(faultStatus({ fault: 'InternalError' }), 500);
      assert.match(faultEnvelope({ messageId: '7' }, { fault: 'AccessDenied' }), /<a:Code><a:Value>a:Sender<\/a:Value>/);
      assert.equal(faultStatus({ fault: 'AccessDenied' }), 400);
    });

    it('answers an unknown class and an unknown method as AMT does', async () => {
      r = await rig();
      const admin = { user: r.me.user, password: r.me.password };
      const unknown = await wsman(r.port, admin, amt.GeneralSettings.Get().replace(/AMT_GeneralSettings/g, 'AMT_NoSuchClass'));
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body['Fault']['Code']['Subcode']['Value'], 'b:DestinationUnreachable');
      assert.equal(
        unknown.body['Fault']['Reason']['Text']['#text'],
        'No route can be determined to reach the destination role defined by the WS-Addressing To.',
      );
      const method = await wsman(r.port, admin, amt.TimeSynchronizationService.GetLowAccuracyTimeSynch().replace(/GetLowAccuracyTimeSynch/g, 'NoSuchMethod'));
      assert.equal(method.status, 400);
      assert.equal(method.body['Fault']['Code']['Subcode']['Value'], 'b:ActionNotSupported');
    });

    it('turns a graceful power request into alert iAMT0067 for the host agent, only for states the agent advertised', async () => {
      r = await rig();
      const admin = { user: r.me.user, password: r.me.password };
      const refused = await wsman(r.port, admin, cim.PowerManagementService.RequestPowerStateChange(12));
      assert.equal(refused.body['RequestPowerStateChange_OUTPUT']['ReturnValue'], '2', 'graceful off is not advertised yet');
      r.me.amt.powerStatesSupported = [2, 8, 10, 12, 14];
      const alerts: string[] = [];
      r.me.amt.alert = (id, args) => alerts.push(`${id}(${args[0]})`);
      const ok = await wsman(r.port, admin, cim.PowerManagementService.RequestPowerStateChange(14));
      assert.equal(ok.body['RequestPowerStateChange_OUTPUT']['ReturnValue'], '0');
      assert.deepStrictEqual(alerts, ['iAMT0067(1)'], 'graceful reset is iAMT0067 with argument 1 (reboot)');
      const log = await wsman(r.port, admin, amt.MessageLog.Get());
      assert.equal(log.body['AMT_MessageLog']['CurrentNumberOfRecords'], '1', 'the request is in the event log');
    });

    it('posts the alerts AMT posts when a console asks for consent, the code is entered or the request is cancelled, and when KVM is switched on or off (issue #28, item 3)', async () => {
      r = await rig();
      const admin = { user: r.me.user, password: r.me.password };
      const alerts: string[] = [];
      r.me.amt.alert = (id, args) => alerts.push(`${id}-${args[0]}`);
      const result = (a: { body: Record<string, Record<string, unknown>> }, out: string) => String(a.body[out]?.['ReturnValue']);
      assert.equal(result(await wsman(r.port, admin, ips.OptInService.StartOptIn()), 'StartOptIn_OUTPUT'), '0');
      assert.equal(result(await wsman(r.port, admin, ips.OptInService.SendOptInCode(Number(r.me.amt.optInCode))), 'SendOptInCode_OUTPUT'), '0');
      assert.equal(result(await wsman(r.port, admin, ips.OptInService.CancelOptIn()), 'CancelOptIn_OUTPUT'), '0');
      assert.equal(result(await wsman(r.port, admin, ips.OptInService.CancelOptIn()), 'CancelOptIn_OUTPUT'), '0');
      // KVM is on by default: off, off again (no change, no alert), then on.
      for (const state of [3, 3, 2] as const)
        assert.equal(result(await wsman(r.port, admin, cim.KVMRedirectionSAP.RequestStateChange(state)), 'RequestStateChange_OUTPUT'), '0');
      // Requested, granted, ended (a second cancel has nothing to end); KVM disabled once, then enabled.
      assert.deepStrictEqual(alerts, ['iAMT0064-3', 'iAMT0064-1', 'iAMT0064-2', 'iAMT0059-0', 'iAMT0059-1']);
    });
  });

  describe('the AMT 19 profile', () => {
    it('serves WS-Man on the TLS port only, as AMT 19 and later forward only 16993 and 664', async () => {
      r = await rig({ amtVersion: '19.0.5' }, true);
      const admin = { user: r.me.user, password: r.me.password };
      const plain = await post(r.port, amt.GeneralSettings.Get(), false).catch((err: Error) => err);
      assert.ok(plain instanceof Error, 'plain HTTP on the TLS port gets no answer');
      const versions = await wsman(r.port, admin, cim.SoftwareIdentity.Get({ name: 'InstanceID', value: 'AMT' }), true);
      assert.equal(versions.body['CIM_SoftwareIdentity']['VersionString'], '19.0.5');
      assert.equal(versions.headers['server'], 'Intel(R) Active Management Technology 19.0.5');
      const opts = parseRunArgs(['--simulate', '--sim-amt-version', '19.0']);
      assert.ok(opts !== 'help' && opts.simProfile === 'tls' && opts.simAmtVersion === '19.0.0');
      assert.throws(() => parseRunArgs(['--simulate', '--sim-amt-version', '19.0', '--sim-profile', 'plain']), /forward only 16993 and 664/);
    });
  });
});
