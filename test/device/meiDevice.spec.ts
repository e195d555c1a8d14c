import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import * as E from 'fp-ts/lib/Either.js';
import { firstValueFrom } from 'rxjs';
import { decodeApf, encodeApf, channelOpen, protocolVersion } from 'lms-rx/apf';
import { encodeConnectClientRequest, IOCTL_MEI_CONNECT_CLIENT, MeClient } from 'lms-rx/heci';
import { SimulatedMe } from 'lms-rx/simulator';
import { DeviceError, startLms, MeiDevice } from 'lms-rx';
import { ioctl } from '../../src/device/ioctl.js';
import { CLI } from '../support/daemon.js';
import { freePort, head, until } from '../support/harness.js';
import { needEmulator, startEmulatedMei, type EmulatedMei } from '../tools/meiEmulator.js';

const run = promisify(execFile);

describe('MEI device on the emulated /dev/mei0', function () {
  this.timeout(60_000);
  let me: SimulatedMe;
  let emu: EmulatedMei;
  let httpPort: number;
  let echoPort: number;

  before(function () {
    needEmulator(this);
  });

  beforeEach(async () => {
    httpPort = await freePort();
    echoPort = await freePort();
    me = new SimulatedMe({ ports: [httpPort, echoPort], httpPorts: [httpPort] });
    emu = await startEmulatedMei(me);
  });

  afterEach(async () => {
    await emu?.stop();
    me?.close();
  });

  it('connects the LME client with IOCTL_MEI_CONNECT_CLIENT, reads max_msg_length and the version, and reads whole messages', async () => {
    const c = await new MeiDevice({ path: emu.devicePath }).connect();
    assert.equal(c.maxMsgLength, 4096);
    assert.equal(c.protocolVersion, 4);
    const first = await firstValueFrom(c.messages$);
    const m = decodeApf(first);
    assert.ok(E.isRight(m) && m.right.type === 'protocol-version', 'the ME speaks first with PROTOCOLVERSION');
    c.close();
  });

  it('reads each reply when the device is readable, after idle spells as back to back: it arms no timer, so there is no sleep to wait out', async () => {
    // Counted, not timed: a reader that polled would arm a timer again and again while idle (the one
    // this replaced slept up to 25 ms once idle for a second); one that waits on readiness arms none.
    const c = await new MeiDevice({ path: emu.devicePath }).connect();
    let replies = 0;
    c.messages$.subscribe(() => replies++);
    while (replies === 0) await new Promise((r) => setImmediate(r)); // the ME's PROTOCOLVERSION
    const open = encodeApf(channelOpen({ sender: 1, window: 4096, address: '127.0.0.1', port: httpPort, originatorAddress: '127.0.0.1', originatorPort: 1 }));
    const real = { setTimeout: globalThis.setTimeout, setInterval: globalThis.setInterval };
    const armed: number[] = [];
    try {
      for (const idleMs of [0, 0, 1500, 1500]) {
        const idle = new Promise((r) => real.setTimeout(r, idleMs));
        let calls = 0;
        globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
          calls++;
          return real.setTimeout(...args);
        }) as typeof setTimeout;
        globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
          calls++;
          return real.setInterval(...args);
        }) as typeof setInterval;
        await idle;
        const seen = replies;
        await c.write(open); // before the session is set up, the ME answers OPEN_FAILURE at once
        while (replies === seen) await new Promise((r) => setImmediate(r));
        Object.assign(globalThis, real);
        armed.push(calls);
      }
    } finally {
      Object.assign(globalThis, real);
      c.close();
    }
    assert.deepStrictEqual(armed, [0, 0, 0, 0], 'timers armed during each idle spell and its write and reply');
  });

  it('reads without a stack but gives it back: the session, and the error of a reset, run with stack traces on', async () => {
    // Each drain ends in EAGAIN, thrown stackless to save its cost; nothing else may lose its stack.
    const limit = Error.stackTraceLimit;
    const c = await new MeiDevice({ path: emu.devicePath }).connect();
    const limits: number[] = [];
    let failure: { readonly limit: number; readonly error: Error } | undefined;
    c.messages$.subscribe({ next: () => limits.push(Error.stackTraceLimit), error: (error: Error) => (failure = { limit: Error.stackTraceLimit, error }) });
    await until('the ME speaks first', () => limits.length > 0);
    await new Promise((r) => setImmediate(r));
    assert.equal(Error.stackTraceLimit, limit, 'after a drain that ended in EAGAIN');
    writeFileSync(emu.controlPath, 'reset');
    await until('the reset ends the connection', () => failure !== undefined);
    assert.deepStrictEqual(
      limits,
      limits.map(() => limit),
      'while each message goes through the session',
    );
    assert.equal(failure?.limit, limit, 'when the read error is handed on');
    assert.ok(failure?.error instanceof DeviceError && /ENODEV/.test(failure.error.message), String(failure?.error));
    assert.match(failure?.error.stack ?? '', /\n\s+at /, 'the DeviceError has its stack');
    assert.equal(Error.stackTraceLimit, limit);
  });

  it('holds a write the driver has no room for until POLLOUT, in order, and sends it then', async () => {
    const c = await new MeiDevice({ path: emu.devicePath }).connect();
    const replies: Buffer[] = [];
    c.messages$.subscribe((m) => replies.push(m));
    while (replies.length === 0) await new Promise((r) => setTimeout(r, 10)); // the ME's PROTOCOLVERSION
    const open = (sender: number) =>
      encodeApf(channelOpen({ sender, window: 4096, address: '127.0.0.1', port: httpPort, originatorAddress: '127.0.0.1', originatorPort: sender }));
    writeFileSync(emu.controlPath, 'tx-full'); // the driver's write queue is full: EAGAIN, no POLLOUT
    const done: number[] = [];
    const writes = [1, 2, 3].map((id) => c.write(open(id)).then(() => done.push(id)));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepStrictEqual([done, replies.length], [[], 1], 'a write went through a full driver');
    writeFileSync(emu.controlPath, 'tx-room');
    await Promise.all(writes);
    assert.deepStrictEqual(done, [1, 2, 3]);
    while (replies.length < 4) await new Promise((r) => setTimeout(r, 10));
    // Before the session is set up the ME answers each open with OPEN_FAILURE: they came in order.
    const recipients = replies
      .slice(1)
      .map((b) => decodeApf(b))
      .map((m) => (E.isRight(m) && m.right.type === 'channel-open-failure' ? m.right.recipient : -1));
    assert.deepStrictEqual(recipients, [1, 2, 3]);
    c.close();
  });

  it('keeps a process alive while connected and lets it exit by itself once closed: nothing left in the loop', async () => {
    const exitsAfter = (close: boolean): Promise<number> =>
      new Promise((res) => {
        const child = spawn(process.execPath, [
          '--input-type=module',
          '-e',
          `import { MeiDevice } from ${JSON.stringify(resolve('dist/src/device/meiDevice.js'))};
           const c = await new MeiDevice({ path: ${JSON.stringify(emu.devicePath)} }).connect();
           c.messages$.subscribe({ error: () => undefined });
           await new Promise((r) => setTimeout(r, 200));
           if (${close}) c.close();`,
        ]);
        const t0 = Date.now();
        const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.on('exit', (code) => {
          clearTimeout(kill);
          res(code === 0 ? Date.now() - t0 : -1);
        });
      });
    const closed = await exitsAfter(true);
    assert.ok(closed >= 0 && closed < 2500, `a process that closed its connection took ${closed} ms to exit by itself`);
    assert.equal(await exitsAfter(false), -1, 'a connected device did not hold the process open');
  });

  it('behaves like the driver: EFBIG over the MTU, ENOTTY for another ioctl, ENODEV after a reset', () => {
    const fd = openSync(emu.devicePath, constants.O_RDWR | constants.O_NONBLOCK);
    try {
      assert.deepStrictEqual(ioctl(fd, 0x1234, Buffer.alloc(16)), { ok: false, errno: 25 });
      const req = encodeConnectClientRequest(MeClient.Lme);
      assert.ok(E.isRight(req));
      assert.deepStrictEqual(ioctl(fd, IOCTL_MEI_CONNECT_CLIENT, req.right), { ok: true });
      assert.equal(req.right.readUInt32LE(0), 4096);
      assert.deepStrictEqual(ioctl(fd, IOCTL_MEI_CONNECT_CLIENT, Buffer.from(req.right)), { ok: false, errno: 16 }, 'a second connect is EBUSY');
      assert.throws(
        () => writeSync(fd, Buffer.alloc(4097)),
        (e: NodeJS.ErrnoException) => e.code === 'EFBIG',
      );
      writeFileSync(emu.controlPath, 'reset');
      assert.throws(
        () => writeSync(fd, Buffer.alloc(5)),
        (e: NodeJS.ErrnoException) => e.code === 'ENODEV',
      );
    } finally {
      closeSync(fd);
    }
  });

  it('gives the LME client to a handle opened right after others were closed, as Intel LMS reopens its own: a release never strands it', async () => {
    // FUSE delivers a release after close() returns; a connect still waiting for the busy client
    // when its handle is released must not take the client for nobody.
    const connect = (): number => {
      const fd = openSync(emu.devicePath, constants.O_RDWR | constants.O_NONBLOCK);
      const req = encodeConnectClientRequest(MeClient.Lme);
      assert.ok(E.isRight(req) && ioctl(fd, IOCTL_MEI_CONNECT_CLIENT, req.right).ok);
      return fd;
    };
    const settle = (): Promise<unknown> => new Promise((r) => setTimeout(r, 100)); // lets a release arrive first (it orders, it asserts nothing)
    const holder = connect();
    const waiting = connect(); // the client is busy: this one waits for it
    closeSync(waiting);
    await settle();
    closeSync(holder); // the waiting connect gets the client now, for a handle that is gone
    await settle();
    const fd = connect();
    try {
      const buf = Buffer.alloc(4096);
      const first = async (): Promise<Buffer> => {
        for (const end = Date.now() + 5000; Date.now() < end; ) {
          try {
            return buf.subarray(0, readSync(fd, buf));
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
            await new Promise((r) => setTimeout(r, 10));
          }
        }
        throw new Error('nothing to read in 5 s');
      };
      const m = decodeApf(await first());
      assert.ok(E.isRight(m) && m.right.type === 'protocol-version', 'the new handle is served');
      await until('one connection', () => emu.connections() === 1, 2000);
      await new Promise((r) => setTimeout(r, 700)); // past the waiting connect's retries
      assert.equal(emu.connections(), 1, 'no connection kept for a released handle');
    } finally {
      closeSync(fd);
    }
  });

  it('lets a write through while a blocking read is pending on the same fd (FOPEN_STREAM), as a blocking reader such as Intel LMS needs', async () => {
    // lms never blocks in read(), but the emulator must serve readers that do, as the driver does.
    const fd = openSync(emu.devicePath, constants.O_RDWR);
    const req = encodeConnectClientRequest(MeClient.Lme);
    assert.ok(E.isRight(req) && ioctl(fd, IOCTL_MEI_CONNECT_CLIENT, req.right).ok);
    const reader = new Worker(
      `const { readSync } = require('node:fs');
       const { parentPort, workerData } = require('node:worker_threads');
       const buf = Buffer.alloc(4096);
       for (;;) parentPort.postMessage(buf.subarray(0, readSync(workerData.fd, buf)));`,
      { eval: true, workerData: { fd } },
    );
    const messages: Buffer[] = [];
    reader.on('message', (m: Uint8Array) => messages.push(Buffer.from(m)));
    reader.on('error', () => undefined);
    try {
      while (messages.length === 0) await new Promise((r) => setTimeout(r, 10)); // PROTOCOLVERSION; the reader now blocks in read()
      await new Promise((r) => setTimeout(r, 50));
      const t0 = Date.now();
      writeSync(fd, encodeApf(protocolVersion(254))); // would wait for the blocked read without FOPEN_STREAM
      assert.ok(Date.now() - t0 < 1000, `the write waited ${Date.now() - t0} ms behind the read`);
      // The ME answers our version with SERVICE_REQUEST: the pending read returns it.
      while (messages.length === 1) await new Promise((r) => setTimeout(r, 10));
      const next = decodeApf(messages[1]!);
      assert.ok(E.isRight(next) && next.right.type === 'service-request');
    } finally {
      writeFileSync(emu.controlPath, 'reset'); // ends the blocked read with ENODEV
      await reader.terminate();
      closeSync(fd);
    }
  });

  it('answers an interrupted blocking read, so a process killed inside read() exits at once', async () => {
    // A child blocks in read() on the connected device, then is killed: the kernel interrupts the
    // FUSE request, and only a server that answers the interrupt (EINTR) lets the process die.
    const ioctlModule = resolve('dist/src/device/ioctl.js');
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { openSync, readSync } from 'node:fs';
         import { ioctl } from ${JSON.stringify(ioctlModule)};
         const fd = openSync(${JSON.stringify(emu.devicePath)}, 'r+');
         const guid = Buffer.from('dba433677604' + '7b4e' + 'b3afbcfc29bee7a7', 'hex');
         if (!ioctl(fd, ${IOCTL_MEI_CONNECT_CLIENT}, guid).ok) process.exit(9);
         const buf = Buffer.alloc(4096);
         readSync(fd, buf);            // PROTOCOLVERSION
         console.log('blocking');
         readSync(fd, buf);            // nothing more comes: blocks here`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((res) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('blocking') && res()));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    const exited = new Promise<number>((res) => child.once('exit', () => res(Date.now() - t0)));
    child.kill('SIGKILL');
    const ms = await Promise.race([exited, new Promise<number>((res) => setTimeout(() => res(-1), 3000))]);
    assert.ok(ms >= 0 && ms < 1000, ms < 0 ? 'the killed reader is stuck in the kernel' : `exit took ${ms} ms`);
  });

  it('refuses an unknown ME client with a permanent ENOTTY error', async () => {
    const unknown = '0badc0de-1111-2222-3333-444444444444';
    await assert.rejects(
      new MeiDevice({ path: emu.devicePath, client: unknown }).connect(),
      (e: unknown) => e instanceof DeviceError && e.code === 'ENOTTY' && e.permanent && e.message.includes(`no ${unknown} client`),
    );
  });

  it('serves the pipeline unchanged, recovers from an ME reset during a transfer, and leaves no handle behind at stop', async () => {
    const handles = (): number => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
    const baseline = handles();
    const lms = startLms({ device: new MeiDevice({ path: emu.devicePath }), reconnectMs: 20 });
    let stopped = false;
    try {
      await lms.ready(echoPort);
      assert.match((await head(httpPort)).toString(), /^HTTP\/1\.1 200 OK/);
      const download = run('curl', ['-sS', '-o', '/dev/null', `http://127.0.0.1:${httpPort}/data/${500 * 1024 * 1024}`]).then(
        () => 'complete',
        () => 'cut',
      );
      await until('the download is under way', () => (lms.status().channels[0]?.bytesFromMe ?? 0) > 0);
      me.reset();
      assert.equal(await download, 'cut');
      await lms.ready(echoPort);
      assert.match((await head(httpPort)).toString(), /^HTTP\/1\.1 200 OK/);
      assert.equal(me.stats.resets, 1);
      assert.ok(me.stats.sessions >= 2);
      await lms.stop();
      stopped = true;
      for (let i = 0; i < 50 && handles() > baseline; i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(handles() <= baseline, `handles: ${baseline} before, ${handles()} after stop (a watched fd would keep the process alive)`);
    } finally {
      if (!stopped) await lms.stop();
    }
  });

  it('runs `lms run --device <path>` on it as on hardware: curl through the daemon, then SIGTERM stops it promptly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lms-test-'));
    const daemon = spawn(process.execPath, [CLI, 'run', '--device', emu.devicePath, '--control-socket', join(dir, 'lms.sock'), '--log-level', 'info'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let log = '';
      daemon.stdout!.on('data', (d: Buffer) => (log += d.toString()));
      for (let i = 0; i < 100 && !log.includes(`"port":${echoPort},"ok":true`); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(log, /lms ready/);
      const r = await run('curl', ['-sSI', `http://127.0.0.1:${httpPort}/`]);
      assert.match(r.stdout, /^Server: Intel\(R\) Active Management Technology/m);
      const t0 = Date.now();
      const exited = new Promise<number | null>((res) => daemon.once('exit', (code) => res(code)));
      daemon.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.ok(Date.now() - t0 < 2000, `stopping took ${Date.now() - t0} ms`);
    } finally {
      daemon.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lms run --device: errors an administrator can act on', function () {
  this.timeout(20_000);
  const runCli = (args: string[]) =>
    run(process.execPath, [CLI, 'run', ...args], { timeout: 10_000 }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );

  it('exits 3 and asks about the mei_me driver when there is no device', async () => {
    const r = await runCli(['--device', '/nonexistent/mei0', '--control-socket', join(tmpdir(), `lms-${process.pid}-a.sock`)]);
    assert.equal(r.code, 3);
    assert.match(r.out, /no MEI device at \/nonexistent\/mei0: is the mei_me kernel driver loaded/);
  });

  it('exits 3 and says it is not an MEI device when the file answers ioctl with ENOTTY', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lms-test-'));
    const file = join(dir, 'not-mei');
    writeFileSync(file, '');
    try {
      const r = await runCli(['--device', file, '--control-socket', join(dir, 'lms.sock')]);
      assert.equal(r.code, 3);
      assert.match(r.out, /is not an MEI device \(ioctl answered ENOTTY\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 on a wrong flag, naming it', async () => {
    const r = await runCli(['--no-such-flag']);
    assert.equal(r.code, 2);
    assert.match(r.out, /no-such-flag/);
  });

  it('refuses a --bind address that is not loopback', async () => {
    const r = await runCli(['--simulate', '--bind', '0.0.0.0']);
    assert.equal(r.code, 2);
    assert.match(r.out, /--bind 0\.0\.0\.0: not a loopback address; lms listens on literal loopback addresses only/);
  });
});
