import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { promisify } from 'node:util';
import { type Uint32, encodeApf, type GlobalRequest } from 'lms-rx/apf';
import { SimulatedMe } from 'lms-rx/simulator';
import { startLms } from 'lms-rx';
import { freePort, head, nextEvent, ok200, startPair, until, type Pair } from '../support/harness.js';

const run = promisify(execFile);

describe('listeners and global requests (simulated ME, real sockets)', function () {
  this.timeout(30_000);
  let pair: Pair | undefined;
  afterEach(async () => {
    await pair?.stop();
    pair = undefined;
  });

  it('sends udp-send-to@amt.intel.com data as one datagram to the loopback address and port', async () => {
    pair = await startPair();
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const port = udp.address().port;
    const got = new Promise<Buffer>((r) => udp.once('message', (m) => r(m)));
    const request: GlobalRequest = {
      type: 'global-request',
      request: 'udp-send-to@amt.intel.com',
      wantReply: false,
      address: '127.0.0.1',
      port: port as Uint32,
      originatorAddress: '127.0.0.1',
      originatorPort: 623 as Uint32,
      data: Buffer.from('ASF presence ping'),
    };
    pair.me.inject(encodeApf(request));
    assert.equal((await got).toString(), 'ASF presence ping');
    udp.close();
  });

  it('answers REQUEST_FAILURE when the port is taken on both loopback addresses, without ending the session', async () => {
    const taken = await freePort();
    const blockers = await Promise.all(
      ['127.0.0.1', '::1'].map(
        (host) =>
          new Promise<net.Server>((r) => {
            const s = net.createServer();
            s.listen({ host, port: taken, ipv6Only: true }, () => r(s));
          }),
      ),
    );
    const httpPort = await freePort();
    const me = new SimulatedMe({ ports: [taken, httpPort], httpPorts: [httpPort] });
    const lms = startLms({ device: me });
    try {
      await lms.ready(httpPort);
      assert.deepStrictEqual(me.forwardedPorts(), [httpPort], 'the taken port must not be reported as forwarded');
      assert.ok(me.log.some((l) => l.includes(`host refused to forward port ${taken}`)));
      assert.equal(lms.status().session.phase, 'ready');
      // A port taken on this host is not the ME's fault (issue #14 item 7).
      assert.equal(lms.status().counters.protocolErrors, 0);
      assert.ok(ok200(await head(httpPort)));
    } finally {
      await lms.stop();
      me.close();
      for (const b of blockers) b.close();
    }
  });

  it('binds IPv4 alone when ::1 is taken, and still forwards', async () => {
    const port = await freePort();
    const v6 = await new Promise<net.Server>((r) => {
      const s = net.createServer();
      s.listen({ host: '::1', port, ipv6Only: true }, () => r(s));
    });
    const echo = await freePort();
    const me = new SimulatedMe({ ports: [port, echo], httpPorts: [port] });
    const lms = startLms({ device: me });
    try {
      const forward = nextEvent(lms, (e) => e.type === 'forward' && e.port === port);
      await lms.ready(echo);
      const e = await forward;
      assert.ok(e.type === 'forward' && e.ok && e.bound.length === 1 && e.bound[0] === '127.0.0.1');
      assert.ok(ok200(await head(port)));
    } finally {
      await lms.stop();
      me.close();
      v6.close();
    }
  });

  it('holds a connection made while the ME is resetting on a reserved port and serves it once the session is back', async () => {
    const httpPort = await freePort();
    const echoPort = await freePort();
    const me = new SimulatedMe({ ports: [httpPort, echoPort], httpPorts: [httpPort] });
    const lms = startLms({ device: me, reservePorts: [httpPort, echoPort], reconnectMs: 50 });
    try {
      await lms.ready(echoPort);
      const down = nextEvent(lms, (e) => e.type === 'session' && e.phase === 'disconnected');
      me.reset(400);
      await down;
      const reply = head(httpPort); // the port stayed bound: the client connects and waits
      await until('the client waits', () => lms.status().session.queued === 1);
      assert.ok(ok200(await reply));
    } finally {
      await lms.stop();
      me.close();
    }
  });

  it('refuses a held connection with a log line when the ME does not come back in time', async () => {
    const httpPort = await freePort();
    const me = new SimulatedMe({ ports: [httpPort], httpPorts: [httpPort] });
    const lines: string[] = [];
    const log = (_: Record<string, unknown>, m: string) => void lines.push(m);
    const logger = { error: log, warn: log, info: log, debug: () => undefined, trace: () => undefined };
    const lms = startLms({ device: me, reservePorts: [httpPort], holdMs: 200, reconnectMs: 50, logger });
    try {
      await lms.ready(httpPort);
      const down = nextEvent(lms, (e) => e.type === 'session' && e.phase === 'disconnected');
      me.reset(5000);
      await down;
      const reply = await head(httpPort).catch(() => Buffer.alloc(0));
      assert.equal(reply.length, 0);
      assert.ok(
        lines.some((l) => l === 'connection refused'),
        lines.join('\n'),
      );
      assert.equal(lms.status().counters.refused, 1);
    } finally {
      await lms.stop();
      me.close();
    }
  });

  it('stops accepting on cancel-tcpip-forward and lets a live channel finish', async () => {
    pair = await startPair();
    const live = net.connect({ host: '127.0.0.1', port: pair.echoPort });
    await new Promise((r) => live.once('connect', r));
    live.write('before');
    await new Promise((r) => live.once('data', r));
    const cancelled = nextEvent(pair.lms, (e) => e.type === 'forward' && e.cancelled === true);
    pair.me.inject(
      encodeApf({ type: 'global-request', request: 'cancel-tcpip-forward', wantReply: true, address: '127.0.0.1', port: pair.echoPort as Uint32 }),
    );
    await cancelled; // the listener was closed in the same step, before this event
    await assert.rejects(
      new Promise((res, rej) => {
        const s = net.connect({ host: '127.0.0.1', port: pair!.echoPort });
        s.on('connect', res);
        s.on('error', rej);
      }),
      /ECONNREFUSED/,
    );
    live.write('after');
    const echoed = await new Promise<Buffer>((r) => live.once('data', r));
    assert.equal(echoed.toString(), 'after');
    live.destroy();
    const { stdout } = await run('ss', ['-ltn', `sport = :${pair.echoPort}`]).catch(() => ({ stdout: '' }));
    assert.ok(!stdout.includes(`:${pair.echoPort}`));
  });
});
