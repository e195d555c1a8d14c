import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'lms-rx';
import { decodeWatchdogInfo } from '../../src/codecs/watchdog.js';
import { findAmtWatchdog, startAmtWatchdog, type AmtWatchdog } from '../../src/duties/amtWatchdog.js';
import { MEI_WDT_OPTIONS, needWatchdogEmulator, startEmulatedWatchdog, WDIOF_MAGICCLOSE, type EmulatedWatchdog } from '../tools/watchdogEmulator.js';

const recording = (): Logger & { lines: { level: string; message: string }[] } => {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (_: Record<string, unknown>, message: string) => void lines.push({ level, message });
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), trace: at('trace') };
};

/** A /sys/class/watchdog of our own: each name with its identity. */
const sysClass = (watchdogs: Record<string, string>): string => {
  const dir = mkdtempSync(join(tmpdir(), 'sys-watchdog-'));
  for (const [name, identity] of Object.entries(watchdogs)) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'identity'), `${identity}\n`);
  }
  return dir;
};

describe("AMT's watchdog heartbeat (issue #28, item 1)", function () {
  this.timeout(30_000);
  const emulated: EmulatedWatchdog[] = [];
  const dirs: string[] = [];
  let wd: AmtWatchdog | undefined;
  const emulate = async (...a: Parameters<typeof startEmulatedWatchdog>): Promise<EmulatedWatchdog> => {
    const e = await startEmulatedWatchdog(...a);
    emulated.push(e);
    return e;
  };
  beforeEach(function () {
    needWatchdogEmulator(this);
  });
  afterEach(async () => {
    wd?.stop();
    wd = undefined;
    for (const e of emulated.splice(0)) await e.stop();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('reads struct watchdog_info as <linux/watchdog.h> lays it out: options, firmware version, a 32-byte identity', () => {
    const b = Buffer.alloc(40);
    b.writeUInt32LE(MEI_WDT_OPTIONS, 0);
    b.writeUInt32LE(7, 4);
    b.write('iamt_wdt', 8, 'latin1');
    assert.deepStrictEqual(decodeWatchdogInfo(b), { options: MEI_WDT_OPTIONS, firmwareVersion: 7, identity: 'iamt_wdt' });
  });

  it("finds AMT's watchdog by its identity among the host's watchdogs, and never opens another one (that would arm it)", async () => {
    const other = await emulate({ name: 'watchdog0', identity: 'iTCO_wdt' });
    const amt = await emulate({ name: 'watchdog1' });
    const sys = sysClass({ watchdog0: 'iTCO_wdt', watchdog1: 'iamt_wdt' });
    const dev = mkdtempSync(join(tmpdir(), 'dev-'));
    dirs.push(sys, dev);
    symlinkSync(other.path, join(dev, 'watchdog0'));
    symlinkSync(amt.path, join(dev, 'watchdog1'));
    assert.equal(findAmtWatchdog(sys, dev), join(dev, 'watchdog1'));
    wd = startAmtWatchdog({ log: recording(), sysClassDir: sys, devDir: dev });
    wd.open('start');
    await amt.waitFor(/^keepalive/);
    // The identity checked again on the open device, the timeout set (Intel LMS's 120 s), a first ping.
    assert.deepStrictEqual(amt.lines().slice(0, 3), ['open', 'getsupport', 'settimeout 120']);
    assert.match(wd.report().result ?? '', /^pinging .*watchdog1 \(iamt_wdt\) every 60 s, timeout 120 s$/);
    assert.deepStrictEqual(other.lines(), [], 'the other watchdog was never opened');
  });

  it('pings at half its timeout, so that the watchdog never expires while lms runs', async () => {
    const amt = await emulate({ minTimeoutS: 1 });
    wd = startAmtWatchdog({ log: recording(), device: amt.path, timeoutS: 4 });
    wd.open('start');
    await amt.waitFor(/^settimeout 4$/);
    // Two pings on the timer after the first: every 2 s. The emulator says "expired" for a gap over 4 s.
    for (let i = 0; i < 100 && amt.lines().filter((l) => l.startsWith('keepalive')).length < 4; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(amt.lines().filter((l) => l.startsWith('keepalive')).length >= 4, amt.lines().join(' | '));
    assert.deepStrictEqual(
      amt.lines().filter((l) => l.startsWith('expired')),
      [],
    );
    assert.equal(wd.report().details?.['timeoutS'], 4);
  });

  it('stops the watchdog on a clean stop: the magic close character, then close, on a device that needs it', async () => {
    const amt = await emulate({ options: MEI_WDT_OPTIONS | WDIOF_MAGICCLOSE });
    wd = startAmtWatchdog({ log: recording(), device: amt.path });
    wd.open('start');
    await amt.waitFor(/^keepalive/);
    wd.stop();
    wd = undefined;
    assert.equal(await amt.waitFor(/^release/), 'release stopped');
    assert.ok(amt.lines().includes('write V'));
  });

  it('leaves a device of another identity alone when named by path: disarmed at once, no timeout set, and says why', async () => {
    const other = await emulate({ identity: 'iTCO_wdt', options: WDIOF_MAGICCLOSE });
    const log = recording();
    wd = startAmtWatchdog({ log, device: other.path });
    wd.open('start');
    assert.equal(await other.waitFor(/^release/), 'release stopped');
    assert.deepStrictEqual(other.lines(), ['open', 'getsupport', 'write V', 'release stopped']);
    assert.match(wd.report().error ?? '', /is not AMT's watchdog \(identity "iTCO_wdt"\); left alone/);
    assert.equal(log.lines.filter((l) => l.level === 'warn').length, 1);
  });

  it('says a missing device once, and looks again on each later occasion', async () => {
    const sys = sysClass({ watchdog0: 'iTCO_wdt' });
    dirs.push(sys);
    const log = recording();
    wd = startAmtWatchdog({ log, sysClassDir: sys, devDir: '/nonexistent' });
    wd.open('start');
    wd.open('forwarding up');
    wd.open('forwarding up');
    assert.equal(log.lines.length, 1);
    assert.match(log.lines[0]!.message, /^AMT watchdog: no AMT watchdog \(iamt_wdt\) on this host/);
    assert.equal(log.lines[0]!.level, 'info', 'a host without AMT is no fault');
    assert.equal(wd.report().occasion, 'forwarding up');
  });

  it('closes a device whose ping fails, and opens it again when the ME forwards again (it comes back after an ME reset)', async () => {
    const first = await emulate();
    // The node's name stays; the device behind it is made anew (here: another emulation behind a link).
    const dev = mkdtempSync(join(tmpdir(), 'dev-'));
    dirs.push(dev);
    const node = join(dev, 'watchdog0');
    symlinkSync(first.path, node);
    const log = recording();
    wd = startAmtWatchdog({ log, device: node });
    wd.open('start');
    await first.waitFor(/^keepalive/);
    await first.stop(); // the driver's device goes with the ME
    emulated.splice(emulated.indexOf(first), 1);
    wd.ping('resume');
    assert.match(wd.report().error ?? '', /^ping of .* failed/);
    const again = await emulate();
    rmSync(node);
    symlinkSync(again.path, node);
    wd.open('forwarding up');
    await again.waitFor(/^keepalive/);
    assert.equal(wd.report().error, undefined);
    assert.match(log.lines.at(-1)?.message ?? '', /^AMT watchdog: works again: pinging/);
  });
});
