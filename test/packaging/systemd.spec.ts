import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const UNIT = 'packaging/systemd/lms.service';

describe('systemd unit', function () {
  this.timeout(30_000);

  before(async function () {
    try {
      await run('systemd-analyze', ['--version']);
    } catch {
      if (process.env['CI']) throw new Error('systemd-analyze is missing on CI (scripts/ensure-test-tools.sh installs it)');
      console.log('      skipped: systemd-analyze is not installed (apt-get install -y systemd)');
      this.skip();
    }
  });

  it('passes systemd-analyze verify', async () => {
    const r = await run('systemd-analyze', ['verify', UNIT]).catch((e: { stdout: string; stderr: string }) => assert.fail(`verify failed: ${e.stderr}`));
    assert.equal(r.stderr.trim(), '', r.stderr);
  });

  it('rates an exposure of 2.0 or lower in systemd-analyze security --offline', async () => {
    const r = await run('systemd-analyze', ['security', '--offline=yes', UNIT]).catch((e: { stdout: string }) => e);
    const m = /Overall exposure level for lms\.service: (\d+\.\d+)/.exec(r.stdout);
    assert.ok(m, r.stdout.slice(-500));
    assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]}`);
  });

  it('runs unprivileged with only CAP_NET_BIND_SERVICE, loopback only, and the MEI device alone', () => {
    const unit = readFileSync(UNIT, 'utf8');
    for (const line of [
      'User=lms',
      'SupplementaryGroups=lms-status',
      'CapabilityBoundingSet=CAP_NET_BIND_SERVICE',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'PrivateTmp=yes',
      'DeviceAllow=/dev/mei0 rw',
      // AMT's watchdog, write only (issue #28, item 1); the udev rule gives lms that one alone.
      'DeviceAllow=char-watchdog w',
      'IPAddressAllow=localhost',
      // sock_diag (netlink) names the user behind each connection; without it every user shares as one (issue #25).
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK',
      'Type=notify',
    ])
      assert.ok(unit.split('\n').includes(line), `missing ${line}`);
    const udev = readFileSync('packaging/udev/99-lms-mei.rules', 'utf8');
    // The device for the service user alone: whoever opens it can read AMT's local system account (issue #22, item 4).
    assert.match(udev, /^KERNEL=="mei\[0-9\]\*", SUBSYSTEM=="mei", OWNER="lms", GROUP="root", MODE="0600", TAG\+="systemd"$/m);
    assert.match(udev, /^SUBSYSTEM=="watchdog", ATTR\{identity\}=="iamt_wdt", OWNER="lms", GROUP="root", MODE="0600"$/m);
    assert.match(unit, /^ExecStart=.* --control-group lms-status$/m);
    assert.match(readFileSync('packaging/sysusers/lms.conf', 'utf8'), /^g lms-status -$/m);
  });

  it('is started by its device and bound to it, and holds no boot on a machine without one (issue #26, item 1)', () => {
    const lines = readFileSync(UNIT, 'utf8').split('\n');
    // @chown: the control socket's lchown to group lms-status, which ~@privileged would refuse
    // (EPERM: the service did not start under systemd); reload with the shell's kill (no procps).
    for (const line of [
      'BindsTo=dev-mei0.device',
      'WantedBy=dev-mei0.device',
      'RestartPreventExitStatus=2 3 126 127 203',
      'SystemCallFilter=@chown',
      "ExecReload=/bin/sh -c 'kill -HUP $$MAINPID'",
    ])
      assert.ok(lines.includes(line), `missing ${line}`);
    assert.ok(lines.some((l) => /^After=.*\bdev-mei0\.device\b/.test(l)));
    // Nothing at boot pulls it in: a target that wanted it would wait for the device to time out.
    assert.ok(!lines.some((l) => /^WantedBy=.*\.target/.test(l)), 'WantedBy a target');
  });
});
