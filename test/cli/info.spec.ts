import { strict as assert } from 'node:assert';
import { MeClient } from 'lms-rx/heci';
import { MeiDevice, readAmtInfo } from 'lms-rx';
import { SimulatedMe } from 'lms-rx/simulator';
import { lms } from '../support/daemon.js';
import { needEmulator, startEmulatedMei } from '../tools/meiEmulator.js';

describe('lms info', function () {
  this.timeout(30_000);

  it('prints the AMT facts of the simulated ME as text and as JSON', async () => {
    const t = await lms(['info', '--simulate']);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /^AMT version: +16\.1\.30$/m);
    assert.match(t.stdout, /^provisioning state: +post-provisioning$/m);
    assert.match(t.stdout, /^platform UUID: +4c4c4544-0042-3510-8052-b3c04f4a4d32$/m);
    assert.match(t.stdout, /^wired LAN: +enabled, link up, MAC 02:00:5e:10:00:01/m);
    const j = JSON.parse((await lms(['info', '--simulate', '--json'])).stdout);
    assert.equal(j.firmwareVersion, '16.1.30.2225');
    assert.deepStrictEqual(j.controlMode, { code: 1, name: 'client control' });
    assert.deepStrictEqual(j.errors, []);
    assert.ok(!/password|account/i.test(JSON.stringify(j)), 'credentials must never appear');
  });

  it('says plainly when AMT is not provisioned, and when the platform has no AMT', async () => {
    const un = await lms(['info', '--simulate', '--sim-unprovisioned']);
    assert.equal(un.code, 0);
    assert.match(un.stdout, /^provisioning state: +pre-provisioning$/m);
    assert.match(un.stdout, /AMT is not provisioned/);
    const none = await lms(['info', '--simulate', '--sim-no-amt']);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /no AMTHI client \(AMT absent or disabled\)/);
    const nodev = await lms(['info', '--device', '/nonexistent/mei0']);
    assert.equal(nodev.code, 3);
    assert.match(nodev.stderr, /no MEI device at \/nonexistent\/mei0/);
  });

  it('shapes the simulated AMT with --sim-provisioning and --sim-amt-version, and refuses a wrong one', async () => {
    const j = JSON.parse((await lms(['info', '--simulate', '--sim-provisioning', 'acm', '--sim-amt-version', '19.0', '--json'])).stdout);
    assert.deepStrictEqual(j.controlMode, { code: 2, name: 'admin control' });
    assert.equal(j.amtVersion, '19.0.0');
    const bad = await lms(['info', '--simulate', '--sim-provisioning', 'half']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--sim-provisioning half: use pre, ccm or acm/);
  });

  it('reads the same facts through the emulated /dev/mei0 (AMTHI, and MKHI for the firmware version)', async function () {
    needEmulator(this);
    // This firmware leaves "Flash" out of AMTHI's code versions: the firmware version comes from MKHI.
    const me = new SimulatedMe({ amthi: { dnsSuffix: 'lab.example', codeVersionsIncludeFlash: false } });
    const emu = await startEmulatedMei(me);
    try {
      const at = (client: string) => new MeiDevice({ path: emu.devicePath, client, minProtocolVersion: 1 });
      const info = await readAmtInfo(at(MeClient.Amthi), { mkhi: at(MeClient.Mkhi) });
      assert.equal(info.amtVersion, '16.1.30');
      assert.equal(info.firmwareVersion, '16.1.30.2225');
      assert.ok(!info.codeVersions?.some((v) => v.description === 'Flash'));
      assert.equal(info.dnsSuffix, 'lab.example');
      assert.deepStrictEqual(info.errors, []);
      // The CLI on the same device, as an administrator runs it (a separate process: the simulator lives here).
      const r = await lms(['info', '--device', emu.devicePath, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).uuid, '4c4c4544-0042-3510-8052-b3c04f4a4d32');
      assert.equal(JSON.parse(r.stdout).firmwareVersion, '16.1.30.2225');
    } finally {
      await emu.stop();
      me.close();
    }
  });
});
