import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { patternBytes } from '../../src/device/simulator/patternBytes.js';
import { curl, exchange, head, ok200, sha256, startPair, type Pair } from '../support/harness.js';

const MB = 1024 * 1024;

describe('forwarding end to end (simulated ME, real TCP clients)', function () {
  this.timeout(60_000);
  let pair: Pair;
  beforeEach(async () => {
    pair = await startPair();
  });
  afterEach(async () => {
    await pair.stop();
  });

  it('serves curl -I on 127.0.0.1 with the AMT Server header', async () => {
    const r = await curl(['-I', `http://127.0.0.1:${pair.httpPort}/`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /^HTTP\/1\.1 200 OK/);
    assert.match(r.stdout.toString(), /^Server: Intel\(R\) Active Management Technology 16\.1\.30\r$/m);
  });

  it('serves curl -I on ::1', async () => {
    const r = await curl(['-I', '-g', `http://[::1]:${pair.httpPort}/`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /^HTTP\/1\.1 200 OK/);
  });

  it('carries a 50 MB download through one channel byte for byte', async () => {
    const n = 50 * MB;
    const r = await curl([`http://127.0.0.1:${pair.httpPort}/data/${n}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.length, n);
    assert.equal(sha256(r.stdout), sha256(patternBytes(0, n)));
    assert.equal(pair.me.stats.windowViolations + pair.me.stats.mtuViolations + pair.me.stats.protocolErrors, 0);
  });

  it('hands the ME data of one turn to the socket as one write, with the window returned per turn', async () => {
    // One syscall per 4 KB message cost more than the forwarding itself; a window's worth per
    // writev is what lets a channel keep up. Counted on lms's side of the connection only.
    const counts = { calls: 0, bytes: 0 };
    type Writev = (this: net.Socket, chunks: { chunk: Buffer }[], cb: unknown) => unknown;
    type Write = (this: net.Socket, chunk: Buffer, enc: unknown, cb: unknown) => unknown;
    const proto = net.Socket.prototype as unknown as { _writev: Writev; _write: Write };
    const { _writev, _write } = proto;
    const mine = (s: net.Socket): boolean => s.localPort === pair.httpPort;
    const count = (s: net.Socket, bytes: number): void => {
      if (!mine(s)) return;
      counts.calls++;
      counts.bytes += bytes;
    };
    proto._writev = function (chunks, cb) {
      count(
        this,
        chunks.reduce((a, c) => a + c.chunk.length, 0),
      );
      return _writev.call(this, chunks, cb);
    };
    proto._write = function (chunk, enc, cb) {
      count(this, chunk.length);
      return _write.call(this, chunk, enc, cb);
    };
    try {
      const n = 8 * MB;
      const r = await curl([`http://127.0.0.1:${pair.httpPort}/data/${n}`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.length, n);
    } finally {
      Object.assign(proto, { _writev, _write });
    }
    assert.ok(counts.bytes >= 8 * MB, `${counts.bytes} bytes counted`);
    // Per message it would be 2052 writes of 4 KB. With the credit returned once the turn's
    // writes complete, the ME has its whole 64 KiB window again each turn (measured: 64 KB per
    // write; returning half-window credit per message write gave 34 KB).
    assert.ok(counts.bytes / counts.calls >= 48 * 1024, `${counts.calls} writes of ${Math.round(counts.bytes / counts.calls)} bytes on average`);
  });

  it('carries a 50 MB upload through one channel byte for byte', async () => {
    const body = patternBytes(12345, 50 * MB);
    const r = await curl(['--data-binary', '@-', '-H', 'Content-Type: application/octet-stream', `http://127.0.0.1:${pair.httpPort}/sha256`], body);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString().trim(), `${sha256(body)} ${body.length}`);
    assert.equal(pair.me.stats.windowViolations, 0, 'the LMS overran the ME window');
    assert.equal(pair.me.stats.mtuViolations, 0, 'the LMS wrote a message over the MTU');
  });

  it('serves 100 concurrent clients over 8 ME slots, every reply complete', async () => {
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, pair.me.openChannels())), 1);
    const replies = await Promise.all(Array.from({ length: 100 }, () => head(pair.httpPort)));
    clearInterval(timer);
    for (const r of replies) assert.match(r.toString(), /^HTTP\/1\.1 200 OK[\s\S]*Server: Intel\(R\) Active Management Technology/);
    assert.ok(peak <= 8, `the ME had ${peak} channels open`);
    assert.equal(pair.me.stats.openFailures, 0);
    assert.equal(pair.me.stats.doubleClose, 0);
    assert.equal(pair.me.stats.dataAfterClose, 0);
    assert.equal(pair.me.stats.channelsOpened, 100);
  });

  it('offers each channel to library users, with its data counts and its close', async () => {
    const seen: string[] = [];
    let bytesFromMe = 0;
    const closed = new Promise<string>((resolve) =>
      pair.lms.channels$.subscribe((ch) => {
        seen.push(`open ${ch.local.port}`);
        ch.activity$.subscribe((a) => {
          if (a.type === 'from-me') bytesFromMe += a.bytes;
          if (a.type === 'to-me') seen.push('to-me');
          if (a.type === 'closed') resolve(`${a.reason} ${a.bytesFromMe}`);
        });
      }),
    );
    const reply = await head(pair.httpPort);
    assert.equal(await closed, `closed ${reply.length}`);
    assert.equal(bytesFromMe, reply.length);
    assert.deepStrictEqual(seen, [`open ${pair.httpPort}`, 'to-me']);
  });

  it('names the loopback address each client reached, 127.0.0.1 or ::1, as the local end of its channel', async () => {
    const ends: string[] = [];
    pair.lms.channels$.subscribe((ch) => ends.push(`${ch.local.address} ${ch.local.port} from ${ch.peer.address}`));
    assert.ok(ok200(await head(pair.httpPort, '127.0.0.1')));
    assert.ok(ok200(await head(pair.httpPort, '::1')));
    assert.deepStrictEqual(ends, [`127.0.0.1 ${pair.httpPort} from 127.0.0.1`, `::1 ${pair.httpPort} from ::1`]);
  });

  it('echoes on the second forwarded port (623 on AMT), and a client FIN still gets the reply before the close', async () => {
    const payload = patternBytes(0, 200_000);
    const reply = await exchange(pair.echoPort, payload, { halfClose: true });
    assert.equal(sha256(reply), sha256(payload));
  });
});
