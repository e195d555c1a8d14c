import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { NEVER, Observable, Subject } from 'rxjs';
import { AmthiCommand, MeClient } from 'lms-rx/heci';
import { encodeAmthiResponse } from '../../src/codecs/amthi.js';
import {
  MeiDevice,
  type MeDevice,
  type DutyReport,
  startHostDuties,
  type HostDuties,
  type HostDutiesOptions,
  startLms,
  type LmsService,
  type Logger,
} from 'lms-rx';
import { SimulatedMe, type SimulatedMeOptions } from 'lms-rx/simulator';
import { AMT } from '@device-management-toolkit/wsman-messages';
import { connectLogind } from '../../src/duties/logind.js';
import { wsmanCall } from '../../src/wsman/client.js';
import { SHUTDOWN_DELAY_MS, WALL } from '../../src/duties/powerDuty.js';
import { freePort, until } from '../support/harness.js';
import { useLogindDouble, type LogindDouble } from '../support/logindDouble.js';
import { needEmulator, startEmulatedMei } from '../tools/meiEmulator.js';

/**
 * The host resumes until `ok`: a signal sent before lms's subscription reached the bus is lost, as
 * on a real host, and no event says when the subscription is up, so the signal is sent again
 * (every 200 ms) rather than after a guessed delay.
 */
const resumeUntil = async (bus: LogindDouble, ok: () => boolean, ms = 8000): Promise<void> => {
  for (let t = 0; t < ms && !ok(); t += 20) {
    if (t % 200 === 0) bus.resume();
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(ok(), `a time sync on resume within ${ms} ms`);
};

/** A logger that keeps its lines, to count what a duty said. */
const recording = (): Logger & { lines: { level: string; message: string }[] } => {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (_: Record<string, unknown>, message: string) => void lines.push({ level, message });
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), trace: at('trace') };
};

interface Rig {
  readonly me: SimulatedMe;
  readonly lms: LmsService;
  readonly duties: HostDuties;
  readonly log: ReturnType<typeof recording>;
  stop(): Promise<void>;
}

const noLogind = (): Promise<never> => Promise.reject(new Error('no logind in this test'));

/** The simulated ME, lms on it, and the duties, started before the ME forwards (as the daemon does). */
const rig = async (meOptions: SimulatedMeOptions = {}, duties: Partial<HostDutiesOptions> = {}, amthi?: (me: SimulatedMe) => MeDevice): Promise<Rig> => {
  const http = await freePort();
  let echo = await freePort();
  while (echo === http) echo = await freePort();
  const me = new SimulatedMe({ ports: [http, echo], httpPorts: [http], ...meOptions });
  const lms = startLms({ device: me, reconnectMs: 20 });
  const log = recording();
  const d = startHostDuties({
    lms,
    amthi: amthi?.(me) ?? me.amthi(),
    log,
    wsmanPorts: { http, tls: http },
    resolveFqdn: () => Promise.resolve('host.example.org'),
    logind: noLogind,
    ...duties,
  });
  await lms.ready(echo);
  return {
    me,
    lms,
    duties: d,
    log,
    async stop() {
      d.stop();
      await lms.stop();
      me.close();
    },
  };
};

describe('host duties', function () {
  this.timeout(30_000);
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.stop();
    r = undefined;
  });
  const settled =
    (d: () => DutyReport): (() => boolean) =>
    () =>
      d().lastRunAt !== undefined;

  describe("the host's FQDN", () => {
    it('is sent to AMT at start, not again while it stays the same, and again once it changes', async () => {
      let name = 'a.example.org';
      r = await rig({}, { resolveFqdn: () => Promise.resolve(name), fqdnIntervalMs: 50 });
      const me = r.me;
      await until('the first FQDN', () => me.amthiState.hostFqdns.length === 1);
      await new Promise((res) => setTimeout(res, 300)); // several hourly occasions, at 50 ms
      assert.deepStrictEqual(me.amthiState.hostFqdns, ['a.example.org']);
      name = 'b.example.org';
      await until('the changed FQDN', () => me.amthiState.hostFqdns.length === 2);
      await new Promise((res) => setTimeout(res, 200));
      assert.deepStrictEqual(me.amthiState.hostFqdns, ['a.example.org', 'b.example.org']);
      assert.deepStrictEqual(r.duties.status().hostFqdn.details, { fqdn: 'b.example.org' });
      assert.equal(r.log.lines.filter((l) => /^host FQDN: sent/.test(l.message)).length, 2, 'one line per FQDN sent');
    });

    it('is sent again on the next occasion when AMT refused it, not counted as sent (issue #23, item 6)', async () => {
      // AMT's AMTHI client answers the first SET_HOST_FQDN with an error status (1, internal error).
      let refusals = 1;
      const refusingOnce = (me: SimulatedMe): MeDevice => ({
        description: 'AMTHI refusing the first SET_HOST_FQDN',
        async connect() {
          const c = await me.amthi().connect();
          const replies = new Subject<Buffer>();
          c.messages$.subscribe({ next: (m) => replies.next(m), error: (e: unknown) => replies.error(e) });
          return {
            ...c,
            messages$: replies,
            close: () => c.close(),
            write(m: Buffer) {
              if (m.readUInt32LE(4) === AmthiCommand.SetHostFqdn && refusals > 0) {
                refusals--;
                setImmediate(() => replies.next(encodeAmthiResponse(AmthiCommand.SetHostFqdn, 1)));
                return Promise.resolve();
              }
              return c.write(m);
            },
          };
        },
      });
      r = await rig({}, { fqdnIntervalMs: 100 }, refusingOnce);
      const me = r.me;
      await until('the FQDN sent after the refusal', () => me.amthiState.hostFqdns.length === 1);
      assert.match(r.log.lines.find((l) => l.level === 'warn')?.message ?? '', /^host FQDN: SET_HOST_FQDN host\.example\.org: /);
      assert.deepStrictEqual(r.duties.status().hostFqdn.details, { fqdn: 'host.example.org' });
    });

    it('is sent, the clock set, the power states advertised, a dropped CIRA tunnel reopened and the host IP synced through the emulated /dev/mei0, as on the simulated ME', async function () {
      needEmulator(this);
      const http = await freePort();
      let echo = await freePort();
      while (echo === http) echo = await freePort();
      const me = new SimulatedMe({ ports: [http, echo], httpPorts: [http], clockSkewS: 300, cira: true });
      const emu = await startEmulatedMei(me);
      const lms = startLms({ device: new MeiDevice({ path: emu.devicePath }), reconnectMs: 20 });
      const amthi = new MeiDevice({ path: emu.devicePath, client: MeClient.Amthi, minProtocolVersion: 1 });
      const duties = startHostDuties({
        lms,
        amthi,
        log: recording(),
        wsmanPorts: { http, tls: http },
        resolveFqdn: () => Promise.resolve('host.example.org'),
        logind: noLogind,
        hostNetwork: (mac) =>
          mac === '02:00:5e:10:00:01'
            ? { interface: 'amt0', dhcp: true, address: '192.0.2.20', subnetMask: '255.255.255.0', gateway: '', dns: [], linkUp: true }
            : 'not the MAC AMTHI gives',
        hostNetworkChanges: () => NEVER,
      });
      try {
        await lms.ready(echo);
        const all = ['hostFqdn', 'timeSync', 'powerOps', 'ciraReconnect', 'sharedStaticIp'] as const;
        await until('every duty', () => all.every((k) => duties.status()[k].lastRunAt !== undefined));
        assert.deepStrictEqual(me.amthiState.hostFqdns, ['host.example.org']);
        assert.equal(duties.status().timeSync.details?.['corrected'], true, JSON.stringify(duties.status().timeSync));
        assert.ok(Math.abs(me.amt.clockSkewMs) < 2000);
        assert.deepStrictEqual(me.amt.powerStatesSupported, [2, 8, 10, 12, 14]);
        assert.match(duties.status().sharedStaticIp.result ?? '', /^(sent amt0's settings to AMT|AMT has amt0's settings): DHCP$/);
        me.dropCira();
        await until('the tunnel reopened over AMTHI', () => me.amt.remoteAccess.userInitiated === 1);
      } finally {
        duties.stop();
        await lms.stop();
        await emu.stop();
        me.close();
      }
    });
  });

  describe("AMT's clock", () => {
    it("is set to the host's when it is 300 s off, through WS-Man with the local system account", async () => {
      r = await rig({ clockSkewS: 300 });
      const d = r.duties;
      await until(
        'a time sync',
        settled(() => d.status().timeSync),
      );
      const t = d.status().timeSync;
      assert.equal(t.error, undefined, t.error);
      assert.equal(t.details?.['corrected'], true);
      assert.ok(Math.abs(Number(t.details?.['offsetS']) - 300) <= 1, `offset ${String(t.details?.['offsetS'])}`);
      assert.ok(Math.abs(r.me.amt.clockSkewMs) < 2000, `AMT's clock is now ${r.me.amt.clockSkewMs} ms off`);
      assert.deepStrictEqual(
        r.me.amt.calls.filter((c) => c.startsWith('AMT_Time')),
        [
          'AMT_TimeSynchronizationService.Get',
          'AMT_TimeSynchronizationService.GetLowAccuracyTimeSynch',
          'AMT_TimeSynchronizationService.SetHighAccuracyTimeSynch',
        ],
      );
    });

    it('is left alone 10 s off', async () => {
      r = await rig({ clockSkewS: 10 });
      const d = r.duties;
      await until(
        'a time sync',
        settled(() => d.status().timeSync),
      );
      assert.equal(d.status().timeSync.details?.['corrected'], false);
      assert.ok(!r.me.amt.calls.includes('AMT_TimeSynchronizationService.SetHighAccuracyTimeSynch'));
      assert.equal(r.me.amt.clockSkewMs, 10_000);
    });

    it('is set as soon as a console allows it: AMT says so with iAMT0069, and the next daily run is not waited for (issue #28, item 5)', async () => {
      r = await rig({ clockSkewS: 300, localTimeSyncEnabled: 2 });
      const d = r.duties;
      await until('a refused time sync', () => /LocalTimeSyncEnabled 2/.test(d.status().timeSync.error ?? ''));
      // A console puts LocalTimeSyncEnabled 1 (as RPS's EnableLocalTimeSync does), over lms's forwarding.
      const port = r.me.options.ports![0]!;
      const put = new AMT.Messages().GeneralSettings.Put({ LocalTimeSyncEnabled: 1 } as never).replace(
        /AMT_GeneralSettings/g,
        'AMT_TimeSynchronizationService',
      );
      await wsmanCall({ port, tls: false, connect: () => r!.lms.connect(port) }, { user: r.me.user, password: r.me.password }, put);
      await until('the clock set after the policy changed', () => d.status().timeSync.occasion === 'policy changed' && d.status().timeSync.error === undefined);
      assert.ok(Math.abs(r.me.amt.clockSkewMs) < 2000, `AMT's clock is ${r.me.amt.clockSkewMs} ms off`);
    });

    it('is left alone when AMT forbids it (LocalTimeSyncEnabled 2), said once, and tried again on its next occasion', async () => {
      r = await rig({ clockSkewS: 300, localTimeSyncEnabled: 2 }, { timeSyncIntervalMs: 100 });
      const d = r.duties;
      await until(
        'a time sync',
        settled(() => d.status().timeSync),
      );
      await new Promise((res) => setTimeout(res, 450)); // a few daily occasions, at 100 ms
      assert.match(d.status().timeSync.error ?? '', /LocalTimeSyncEnabled 2/);
      assert.ok(!r.me.amt.calls.includes('AMT_TimeSynchronizationService.SetHighAccuracyTimeSynch'));
      assert.ok(r.me.amt.calls.filter((c) => c === 'AMT_TimeSynchronizationService.Get').length >= 3, 'retried on each occasion');
      assert.equal(r.log.lines.filter((l) => l.level === 'warn' && /LocalTimeSyncEnabled/.test(l.message)).length, 1, 'said once');
    });

    it('says why when the local system account is refused (a wrong password), and never shows the password', async () => {
      r = await rig({ clockSkewS: 300, amthi: { localAccount: { user: '$$OsAdmin', password: 'not-the-password' } } });
      const d = r.duties;
      await until(
        'a time sync',
        settled(() => d.status().timeSync),
      );
      assert.match(d.status().timeSync.error ?? '', /refused the local system account's credentials \(401\)/);
      assert.ok(!JSON.stringify(d.status()).includes('not-the-password'));
      assert.ok(!r.log.lines.some((l) => l.message.includes('not-the-password') || l.message.includes(r!.me.localAccount.password)));
    });

    it('does nothing on an AMT that is not provisioned, and says so', async () => {
      r = await rig({ clockSkewS: 300, amthi: { provisioningState: 0, controlMode: 0 } });
      const d = r.duties;
      await until(
        'a time sync',
        settled(() => d.status().timeSync),
      );
      assert.match(d.status().timeSync.error ?? '', /AMT is not provisioned/);
      assert.deepStrictEqual(r.me.amt.calls, [], 'no WS-Man call before activation');
    });
  });

  describe('the CIRA reconnect (issue #28, item 4)', () => {
    /** me's AMTHI client, counting the commands asked of it. */
    const counted =
      (asked: number[]) =>
      (me: SimulatedMe): MeDevice => ({
        description: 'AMTHI, counted',
        async connect() {
          const c = await me.amthi().connect();
          const write = (m: Buffer): Promise<void> => {
            asked.push(m.readUInt32LE(4));
            return c.write(m);
          };
          return { ...c, close: () => c.close(), write };
        },
      });
    const statusAsks = (asked: number[]): number => asked.filter((c) => c === AmthiCommand.GetRemoteAccessConnectionStatus).length;

    it('leaves a connected AMT alone, and asks it to reconnect at once when its tunnel closes outside the enterprise', async () => {
      r = await rig({ cira: true });
      const d = r.duties;
      await until('the first look', () => /connected to its MPS/.test(d.status().ciraReconnect.result ?? ''));
      assert.equal(d.status().ciraReconnect.details?.['watching'], true);
      assert.equal(r.me.amt.remoteAccess.userInitiated, 0);
      r.me.dropCira(); // AMT posts iAMT0058 argument 0
      await until('a reconnect', () => r!.me.amt.remoteAccess.userInitiated === 1);
      await until('its report', () => d.status().ciraReconnect.occasion === 'tunnel closed' && d.status().ciraReconnect.result !== undefined);
      assert.match(d.status().ciraReconnect.result!, /outside the enterprise and not connected to its MPS mps\.example\.internal: asked it to reconnect/);
      assert.equal(r.me.amt.remoteAccess.connection, 2);
      assert.ok(r.log.lines.some((l) => l.level === 'info' && /^CIRA reconnect: AMT was outside/.test(l.message)));
    });

    it('does not reconnect an AMT inside the enterprise, or one without a link, on its timer', async () => {
      r = await rig(
        { cira: true, amthi: { wired: { enabled: true, ipv4: '0.0.0.0', dhcpEnabled: true, dhcpMode: 1, linkUp: false, mac: '02:00:5e:10:00:01' } } },
        { ciraIntervalMs: 50 },
      );
      const d = r.duties;
      await until('the first look', () => d.status().ciraReconnect.result !== undefined);
      r.me.amt.remoteAccess.connection = 0;
      await until('a look on the timer', () => /without a network link/.test(d.status().ciraReconnect.result ?? ''));
      r.me.amt.remoteAccess.network = 0;
      await until('a look inside the enterprise', () => /inside the enterprise: it needs no tunnel/.test(d.status().ciraReconnect.result ?? ''));
      assert.equal(d.status().ciraReconnect.occasion, 'every 15 minutes');
      assert.equal(r.me.amt.remoteAccess.userInitiated, 0);
    });

    it('keeps no timer while AMT has no CIRA policy, and starts one when a provisioning change brings one', async () => {
      const asked: number[] = [];
      r = await rig({}, { ciraIntervalMs: 20 }, counted(asked));
      const d = r.duties;
      await until('the policy read', () => /not needed: AMT has no periodic remote access policy/.test(d.status().ciraReconnect.result ?? ''));
      await new Promise((res) => setTimeout(res, 300)); // fifteen periods of the timer, were it running
      assert.equal(statusAsks(asked), 0, 'no status asked without a policy');
      // A console sets AMT up for CIRA; AMT says its provisioning changed (iAMT0055).
      const ra = r.me.amt.remoteAccess;
      ra.mps = { host: 'mps.example.internal', port: 4433 };
      ra.policies.push({ name: 'Periodic', trigger: 2, tunnelLifeTime: 0 }, { name: 'User Initiated', trigger: 0, tunnelLifeTime: 0 });
      r.me.notify('iAMT0055', ['2']);
      await until('looks on the timer', () => statusAsks(asked) >= 3);
      assert.equal(d.status().ciraReconnect.details?.['watching'], true);
    });

    it('is off with ciraReconnect false: no policy read, no status asked', async () => {
      const asked: number[] = [];
      r = await rig({ cira: true }, { ciraReconnect: false, ciraIntervalMs: 20 }, counted(asked));
      await until('the clock duty ran', () => r!.duties.status().timeSync.lastRunAt !== undefined);
      assert.deepStrictEqual(r.duties.status().ciraReconnect, { enabled: false });
      assert.equal(statusAsks(asked), 0);
    });
  });

  describe('the shared static IP (issue #28, item 2)', () => {
    const HOST = {
      interface: 'amt0',
      dhcp: false,
      address: '192.0.2.10',
      subnetMask: '255.255.255.0',
      gateway: '192.0.2.1',
      dns: ['192.0.2.53'],
      linkUp: true,
    };

    it("watches the host's network only while AMT syncs its IP, and sends each change once", async () => {
      let host = HOST;
      let watchers = 0;
      const changes = new Subject<void>();
      const counted = new Observable<void>((s) => {
        watchers++;
        const sub = changes.subscribe(s);
        return () => {
          watchers--;
          sub.unsubscribe();
        };
      });
      r = await rig({}, { hostNetwork: () => host, hostNetworkChanges: () => counted });
      const d = r.duties;
      const me = r.me;
      await until('the first sync', () => me.amt.hostIpSettings.puts === 1);
      assert.deepStrictEqual(
        { ...me.amt.hostIpSettings },
        {
          dhcpEnabled: false,
          ipAddress: '192.0.2.10',
          subnetMask: '255.255.255.0',
          defaultGateway: '192.0.2.1',
          primaryDns: '192.0.2.53',
          secondaryDns: '0.0.0.0',
          puts: 1,
        },
      );
      assert.equal(watchers, 1);
      host = { ...HOST, address: '192.0.2.20' };
      changes.next();
      changes.next(); // one burst
      await until('the change sent', () => me.amt.hostIpSettings.ipAddress === '192.0.2.20');
      changes.next(); // nothing changed
      await until('the change looked at', () => /^AMT has amt0's settings/.test(d.status().sharedStaticIp.result ?? ''));
      assert.equal(me.amt.hostIpSettings.puts, 2);
      // A console switches IP sync off; AMT says so (iAMT0062 0) and lms stops watching.
      const port = me.options.ports![0]!;
      const eps = new AMT.Messages().EthernetPortSettings;
      await wsmanCall(
        { port, tls: false, connect: () => r!.lms.connect(port) },
        { user: me.user, password: me.password },
        eps.Put({ InstanceID: 'Intel(r) AMT Ethernet Port Settings 0', IpSyncEnabled: false } as never),
      );
      await until('no watching', () => watchers === 0);
      assert.match(d.status().sharedStaticIp.result ?? '', /^not needed: AMT does not sync its IP/);
    });
  });

  describe('graceful power operations', () => {
    let bus: LogindDouble | undefined;
    let restore: (() => Promise<void>) | undefined;
    beforeEach(async function () {
      ({ bus, restore } = await useLogindDouble(this));
    });
    afterEach(async () => {
      await r?.stop();
      r = undefined;
      await restore?.();
      restore = undefined;
    });
    // logind as the daemon reaches it: the system bus named by DBUS_SYSTEM_BUS_ADDRESS.
    const withLogind = (): Partial<HostDutiesOptions> => ({ logind: connectLogind });

    it('advertises graceful off and reset, and sleep and hibernate when logind can, with one Put', async () => {
      r = await rig({}, withLogind());
      const d = r.duties;
      await until(
        'the states advertised',
        settled(() => d.status().powerOps),
      );
      assert.deepStrictEqual(r.me.amt.powerStatesSupported, [2, 4, 7, 8, 10, 12, 14]);
      // An ME reset forwards again: the states are read again, and not Put again.
      r.me.reset();
      await until('a second Get', () => r!.me.amt.calls.filter((c) => c === 'CIM_PowerManagementCapabilities.Get').length === 2);
      await new Promise((res) => setTimeout(res, 200));
      assert.equal(r.me.amt.calls.filter((c) => c === 'CIM_PowerManagementCapabilities.Put').length, 1);
    });

    it('adds neither sleep nor hibernate when logind cannot', async () => {
      bus!.can = { suspend: 'no', hibernate: 'na' };
      r = await rig({}, withLogind());
      const d = r.duties;
      await until(
        'the states advertised',
        settled(() => d.status().powerOps),
      );
      assert.deepStrictEqual(r.me.amt.powerStatesSupported, [2, 8, 10, 12, 14]);
    });

    for (const [arg, request, calls] of [
      ['0', 'shutdown', ['SetWallMessage', 'ScheduleShutdown']],
      ['1', 'reboot', ['SetWallMessage', 'ScheduleShutdown']],
      ['2', 'sleep', ['Suspend']],
      ['3', 'hibernate', ['Hibernate']],
    ] as const) {
      it(`carries out a console's graceful ${request} (iAMT0067, argument ${arg}) through logind`, async () => {
        r = await rig({}, withLogind());
        const double = bus!;
        const before = Date.now();
        r.me.notify('iAMT0067', [arg]);
        await until(`logind's ${calls.join(' and ')}`, () => calls.every((m) => double.calls.some((c) => c.method === m)));
        const asked = double.calls.filter((c) => !c.method.startsWith('Can'));
        assert.deepStrictEqual(
          asked.map((c) => c.method),
          calls,
        );
        if (request === 'shutdown' || request === 'reboot') {
          assert.deepStrictEqual(asked[0]!.args, [WALL[request], true]);
          const [kind, usec] = asked[1]!.args as [string, bigint];
          assert.equal(kind, request === 'shutdown' ? 'poweroff' : 'reboot');
          const inMs = Number(usec / 1000n) - before;
          assert.ok(inMs >= SHUTDOWN_DELAY_MS - 1000 && inMs <= SHUTDOWN_DELAY_MS + 2000, `scheduled ${inMs} ms ahead`);
        } else assert.deepStrictEqual(asked[0]!.args, [false]);
        const reported = (): { request: string; done: string }[] =>
          (r!.duties.status().powerOps.details?.['requests'] ?? []) as { request: string; done: string }[];
        await until('the request in status', () => reported().length === 1);
        assert.equal(reported()[0]?.request, request);
        assert.doesNotMatch(reported()[0]!.done, /^not done/);
      });
    }

    it('subscribes to the resume signal on a later occasion (forwarding up, daily) when logind was not there at start', async () => {
      let first = true;
      const lateLogind = () => {
        if (!first) return connectLogind();
        first = false;
        return Promise.reject(new Error('logind not up yet'));
      };
      r = await rig({ clockSkewS: 300 }, { logind: lateLogind, powerOps: false, timeSyncIntervalMs: 150 });
      const d = r.duties;
      await until('a daily run', () => d.status().timeSync.occasion === 'daily');
      r.me.amt.clockSkewMs = 120_000;
      await resumeUntil(bus!, () => d.status().timeSync.occasion === 'resume');
    });

    it('sets the clock again after the host resumes from sleep (PrepareForSleep false)', async () => {
      r = await rig({ clockSkewS: 300 }, { ...withLogind(), powerOps: false });
      const d = r.duties;
      await until(
        'a time sync',
        settled(() => d.status().timeSync),
      );
      r.me.amt.clockSkewMs = 120_000; // the host slept; AMT's clock ran on its own
      await resumeUntil(bus!, () => d.status().timeSync.occasion === 'resume');
      assert.equal(d.status().timeSync.details?.['corrected'], true);
    });
  });
});

describe('host duties beside a program that holds the WS-Man port (issue #22, item 1)', function () {
  this.timeout(30_000);
  it("reach AMT over lms's own channel: a squatter on 127.0.0.1 gets no request and no Digest answer, and the forward is reported as partial", async () => {
    const http = await freePort();
    let echo = await freePort();
    while (echo === http) echo = await freePort();
    // The attacker listens on 127.0.0.1 first; lms can then bind only [::1].
    const seen: Buffer[] = [];
    const squatter = net.createServer((s) => s.on('data', (d: Buffer) => seen.push(d)));
    await new Promise<void>((resolve) => squatter.listen(http, '127.0.0.1', resolve));
    const me = new SimulatedMe({ ports: [http, echo], httpPorts: [http], clockSkewS: 300 });
    const lms = startLms({ device: me, reconnectMs: 20 });
    const duties = startHostDuties({
      lms,
      amthi: me.amthi(),
      log: recording(),
      wsmanPorts: { http, tls: http },
      hostFqdn: false,
      powerOps: false,
      logind: noLogind,
    });
    try {
      await lms.ready(echo);
      await until('a time sync', () => duties.status().timeSync.lastRunAt !== undefined);
      assert.equal(duties.status().timeSync.error, undefined, duties.status().timeSync.error);
      assert.equal(duties.status().timeSync.details?.['corrected'], true);
      assert.equal(seen.length, 0, `the squatter was sent ${Buffer.concat(seen).toString('latin1').slice(0, 200)}`);
      assert.deepStrictEqual(lms.status().partialForwards, [{ port: http, unbound: ['127.0.0.1'] }]);
    } finally {
      duties.stop();
      await lms.stop();
      me.close();
      squatter.close();
    }
  });
});

describe('host duties without logind', function () {
  this.timeout(30_000);
  it('still advertises graceful off and reset, and says a request could not be done, and why', async () => {
    const saved = process.env['DBUS_SYSTEM_BUS_ADDRESS'];
    process.env['DBUS_SYSTEM_BUS_ADDRESS'] = 'unix:path=/nonexistent/lms-test-bus';
    const r = await rig({}, { logind: connectLogind });
    try {
      await until('the states advertised', () => r.duties.status().powerOps.lastRunAt !== undefined);
      assert.deepStrictEqual(r.me.amt.powerStatesSupported, [2, 8, 10, 12, 14]);
      r.me.notify('iAMT0067', ['0']);
      const requests = (): { request: string; done: string }[] =>
        (r.duties.status().powerOps.details?.['requests'] ?? []) as { request: string; done: string }[];
      await until('the request in status', () => requests().length === 1, 3000);
      assert.match(requests()[0]!.done, /^not done: logind is not reachable on the system bus: connect ENOENT/);
      assert.ok(r.log.lines.some((l) => l.level === 'warn' && /remote shutdown requested, not done/.test(l.message)));
    } finally {
      if (saved === undefined) delete process.env['DBUS_SYSTEM_BUS_ADDRESS'];
      else process.env['DBUS_SYSTEM_BUS_ADDRESS'] = saved;
      await r.stop();
    }
  });
});

describe('host duties on a TLS-only AMT (AMT 19 and later: the ME forwards 16993 and 664 only)', function () {
  this.timeout(30_000);
  it("sets the clock through TLS on the TLS port, accepting the ME's self-signed certificate on loopback", async () => {
    const tls = await freePort();
    let echo = await freePort();
    while (echo === tls) echo = await freePort();
    const me = new SimulatedMe({ ports: [tls, echo], httpPorts: [tls], tlsPorts: [tls], clockSkewS: -400 });
    const lms = startLms({ device: me, reconnectMs: 20 });
    const duties = startHostDuties({
      lms,
      amthi: me.amthi(),
      log: recording(),
      wsmanPorts: { http: await freePort(), tls },
      hostFqdn: false,
      powerOps: false,
      logind: noLogind,
    });
    try {
      await lms.ready(echo);
      await until('a time sync', () => duties.status().timeSync.lastRunAt !== undefined);
      const t = duties.status().timeSync;
      assert.equal(t.error, undefined, t.error);
      assert.equal(t.details?.['corrected'], true);
      assert.ok(Math.abs(me.amt.clockSkewMs) < 2000);
    } finally {
      duties.stop();
      await lms.stop();
      me.close();
    }
  });
});
