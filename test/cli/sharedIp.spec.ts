/**
 * The shared static IP as an administrator meets it: `lms run` in a network namespace of its own
 * (the machine's own network is never touched), a NIC there with the simulated AMT's MAC, and
 * the NIC's settings changed with ip(8) while lms runs.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { lms, startDaemon, type Daemon } from '../support/daemon.js';
import { freePort } from '../support/harness.js';

interface Status {
  duties: { sharedStaticIp: { result?: string; occasion?: string; error?: string } };
  simulator: { hostIpSettings: Record<string, unknown> };
}

const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });
const hasIp = (): boolean => {
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

describe('shared static IP through lms run, on rtnetlink events (issue #28, item 2)', function () {
  this.timeout(60_000);
  const ns = `lmsip${process.pid}`;
  let d: Daemon | undefined;
  before(function () {
    if (process.getuid?.() !== 0 || !hasIp()) {
      console.log('      skipped: a network namespace needs root and ip (iproute2)');
      this.skip();
    }
    ip('netns', 'add', ns);
    // A NIC with the simulated AMT's wired MAC, its link up (a veth pair: both ends up), and the
    // namespace's resolv.conf (ip netns exec puts /etc/netns/NS/resolv.conf in its place).
    ip('-n', ns, 'link', 'add', 'amt0', 'type', 'veth', 'peer', 'name', 'amt0p');
    ip('-n', ns, 'link', 'set', 'amt0', 'address', '02:00:5e:10:00:01');
    for (const l of ['lo', 'amt0', 'amt0p']) ip('-n', ns, 'link', 'set', l, 'up');
    mkdirSync(`/etc/netns/${ns}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns}/resolv.conf`, 'nameserver 192.0.2.53\n');
  });
  after(async () => {
    await d?.stop();
    try {
      ip('netns', 'del', ns);
    } catch {
      // never made
    }
    rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
  });

  const status = async (): Promise<Status> => JSON.parse((await lms(['status', '--json', '--control-socket', d!.controlSocket])).stdout) as Status;
  const until = async (what: string, ok: (s: Status) => boolean): Promise<Status> => {
    let s: Status | undefined;
    for (const end = Date.now() + 15_000; Date.now() < end; ) {
      s = await status().catch(() => undefined);
      if (s && ok(s)) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`${what}: not within 15 s; last status: ${JSON.stringify(s?.duties?.sharedStaticIp)} ${JSON.stringify(s?.simulator?.hostIpSettings)}`);
  };

  it("writes the NIC's static settings to AMT when they are made, and DHCP when the address becomes a lease", async () => {
    d = await startDaemon(
      [
        '--simulate',
        '--sim-ports',
        `${await freePort()},${await freePort()}`,
        '--no-time-sync',
        '--no-power-ops',
        '--no-cira-reconnect',
        '--log-format',
        'json',
      ],
      ['ip', 'netns', 'exec', ns],
    );
    await d.waitFor(/"msg":"lms ready"/);
    await until('no address yet', (s) =>
      /nothing to sync: amt0, the NIC with AMT's MAC 02:00:5e:10:00:01, has no IPv4 address/.test(s.duties.sharedStaticIp.result ?? ''),
    );

    ip('-n', ns, 'addr', 'add', '192.0.2.10/24', 'dev', 'amt0');
    ip('-n', ns, 'route', 'add', 'default', 'via', '192.0.2.1');
    const s = await until(
      'the static settings sent',
      (x) => x.simulator.hostIpSettings['ipAddress'] === '192.0.2.10' && x.simulator.hostIpSettings['defaultGateway'] === '192.0.2.1',
    );
    assert.deepStrictEqual(s.simulator.hostIpSettings, {
      dhcpEnabled: false,
      ipAddress: '192.0.2.10',
      subnetMask: '255.255.255.0',
      defaultGateway: '192.0.2.1',
      primaryDns: '192.0.2.53',
      secondaryDns: '0.0.0.0',
      puts: s.simulator.hostIpSettings['puts'],
    });
    assert.equal(s.duties.sharedStaticIp.occasion, 'host network changed');
    assert.match(
      d.log(),
      /"msg":"shared static IP: sent amt0's settings to AMT: 192\.0\.2\.10\/255\.255\.255\.0 via 192\.0\.2\.1, DNS 192\.0\.2\.53 0\.0\.0\.0"/,
    );

    // The address is now a lease (a lifetime: not permanent), as a DHCP client sets it.
    ip('-n', ns, 'addr', 'del', '192.0.2.10/24', 'dev', 'amt0');
    ip('-n', ns, 'addr', 'add', '192.0.2.20/24', 'dev', 'amt0', 'valid_lft', '3600', 'preferred_lft', '3600');
    await until('DHCP sent', (x) => x.simulator.hostIpSettings['dhcpEnabled'] === true);
    const puts = (await status()).simulator.hostIpSettings['puts'];
    // Nothing changes: nothing is sent.
    ip('-n', ns, 'link', 'set', 'amt0p', 'mtu', '1400');
    await until('the change seen', (x) => /^AMT has amt0's settings: DHCP$/.test(x.duties.sharedStaticIp.result ?? ''));
    assert.equal((await status()).simulator.hostIpSettings['puts'], puts);
  });
});
