/**
 * A hostile or broken peer on the WS-Man port holds neither memory nor a channel (issue #22,
 * item 2): the answer's size is capped, the whole call has one deadline however slowly the bytes
 * come, and a duty run past its own deadline ends, frees its connection, says so once and lets the
 * next occasion run. The peer is an HTTP server on the other end of an in-process pair, as AMT is
 * behind lms's own channel.
 */
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { createDuty } from '../../src/duties/duty.js';
import { duplexPair } from '../../src/service/duplexPair.js';
import type { Logger } from 'lms-rx';
import { MAX_ANSWER_BYTES, wsmanCall, type WsmanTarget } from '../../src/wsman/client.js';
import { until } from '../support/harness.js';

const ACCOUNT = { user: '$$OsAdmin', password: 'p' };
const XML = '<Envelope/>';

/** A peer: each connection handed to `serve`; counts what it wrote and whether its socket closed. */
const hostile = (serve: (req: http.IncomingMessage, res: http.ServerResponse) => void) => {
  const server = http.createServer(serve);
  const peers: { sent: () => number; closed: boolean }[] = [];
  const target: WsmanTarget = {
    port: 16992,
    tls: false,
    connect: (): Duplex => {
      const [client, amt] = duplexPair();
      let sent = 0;
      const write = amt.write.bind(amt);
      amt.write = ((chunk: Buffer, ...rest: never[]) => {
        sent += Buffer.byteLength(chunk);
        return write(chunk, ...rest);
      }) as typeof amt.write;
      const peer = { sent: () => sent, closed: false };
      amt.on('close', () => (peer.closed = true));
      peers.push(peer);
      server.emit('connection', amt);
      return client;
    },
  };
  return { target, peers, close: () => server.close() };
};

describe('WS-Man calls to a hostile peer (issue #22, item 2)', function () {
  this.timeout(20_000);

  it(`stops reading an endless answer at ${MAX_ANSWER_BYTES / 1024} KiB and closes the connection`, async () => {
    const h = hostile((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/soap+xml' });
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const more = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', more);
      };
      more();
    });
    await assert.rejects(wsmanCall(h.target, ACCOUNT, XML), /passed 256 KiB, more than any AMT answer/);
    await until('the connection closed', () => h.peers[0]!.closed);
    assert.ok(h.peers[0]!.sent() < 4 * MAX_ANSWER_BYTES, `the peer got ${h.peers[0]!.sent()} bytes out before lms stopped reading`);
    h.close();
  });

  it('refuses an answer that announces more than the cap, without reading it', async () => {
    const h = hostile((_req, res) => {
      res.writeHead(200, { 'Content-Length': 400 * 1024 * 1024 });
      res.write(Buffer.alloc(1024));
    });
    await assert.rejects(wsmanCall(h.target, ACCOUNT, XML), /would be 419430400 bytes, over the 256 KiB/);
    await until('the connection closed', () => h.peers[0]!.closed);
    h.close();
  });

  it('ends a call whose answer trickles in at its one deadline, not at an idle timeout, and closes the connection', async () => {
    const h = hostile((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/soap+xml', 'Content-Length': 1000 });
      const drip = setInterval(() => (res.destroyed ? clearInterval(drip) : res.write('x')), 50); // never idle for long
    });
    const started = Date.now();
    await assert.rejects(wsmanCall(h.target, ACCOUNT, XML, { deadline: started + 400 }), /no answer from AMT on port 16992 within 1 s/);
    await until('the connection closed', () => h.peers[0]!.closed);
    assert.ok(h.peers[0]!.sent() > 3, 'the peer was still trickling when the deadline ended the call');
    h.close();
  });

  it('ends a call at once when its run is stopped, and closes the connection', async () => {
    const h = hostile(() => undefined); // never answers
    const stop = new AbortController();
    const call = wsmanCall(h.target, ACCOUNT, XML, { deadline: Date.now() + 60_000, signal: stop.signal });
    await until('the request reached the peer', () => h.peers.length === 1);
    stop.abort('the run did not finish within 30 s and was stopped');
    await assert.rejects(call, /was stopped: the run did not finish/);
    await until('the connection closed', () => h.peers[0]!.closed);
    h.close();
  });
});

describe('a duty run past its deadline (issue #22, item 2)', () => {
  const recording = (): Logger & { lines: string[] } => {
    const lines: string[] = [];
    const at = () => (_: Record<string, unknown>, message: string) => void lines.push(message);
    return { lines, error: at(), warn: at(), info: at(), debug: at(), trace: at() };
  };

  it('ends, aborts what it waits for, says why once, and lets the next occasion run', async () => {
    const log = recording();
    const signals: AbortSignal[] = [];
    let runs = 0;
    const duty = createDuty(
      'stuck',
      log,
      (_occasion, signal) => {
        runs++;
        signals.push(signal);
        return new Promise(() => undefined); // a peer that answers nothing, ever
      },
      100,
    );
    await duty.run('start');
    assert.equal(signals[0]!.aborted, true, 'the run was told to stop');
    assert.match(duty.report().error ?? '', /did not finish within 0.1 s and was stopped/);
    await duty.run('daily');
    await duty.run('resume');
    assert.equal(runs, 3, 'each later occasion ran');
    assert.equal(log.lines.filter((l) => /did not finish/.test(l)).length, 1, 'said once');
  });

  it('ends a run under way without a word when the service stops, and starts none after', async () => {
    const log = recording();
    let runs = 0;
    const duty = createDuty('stuck', log, (_occasion, signal) => {
      runs++;
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error(`stopped: ${String(signal.reason)}`))));
    });
    const run = duty.run('start');
    duty.stop();
    await run;
    await duty.run('daily');
    assert.equal(runs, 1);
    assert.deepStrictEqual(log.lines, []);
  });
});
