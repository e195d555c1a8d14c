import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { firstValueFrom, timeout } from 'rxjs';
import { encodeApf, channelData } from 'lms-rx/apf';
import { patternBytes } from '../../src/device/simulator/patternBytes.js';
import { DeviceError } from 'lms-rx';
import { curl, exchange, head, nextEvent, sha256, startPair, until, type Pair } from '../support/harness.js';

const IDENTIFY =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">' +
  '<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>';

describe('simulated ME through the LMS', function () {
  this.timeout(30_000);
  let pair: Pair;
  afterEach(async () => {
    await pair?.stop();
  });

  describe('AMT HTTP service', () => {
    beforeEach(async () => {
      pair = await startPair();
    });

    it('answers POST /wsman without credentials with a Digest challenge in an AMT realm', async () => {
      const r = await curl(['-i', '-X', 'POST', '--data-binary', IDENTIFY, `http://127.0.0.1:${pair.httpPort}/wsman`]);
      const text = r.stdout.toString();
      assert.match(text, /^HTTP\/1\.1 401/);
      assert.match(text, /WWW-Authenticate: Digest realm="Digest:[0-9A-F]{32}", nonce="[0-9a-f]{32}", stale="false", qop="auth"/);
    });

    it('answers a WS-Man Identify with curl --digest and the right password with an IdentifyResponse', async () => {
      const r = await curl([
        '--digest',
        '-u',
        'admin:P@ssw0rd',
        '-H',
        'Content-Type: application/soap+xml',
        '--data-binary',
        IDENTIFY,
        `http://127.0.0.1:${pair.httpPort}/wsman`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const xml = r.stdout.toString();
      assert.match(xml, /<b:IdentifyResponse>/);
      assert.match(xml, /<b:ProductVendor>Intel Corporation<\/b:ProductVendor>/);
      assert.match(xml, /<b:ProductVersion>AMT 16\.1<\/b:ProductVersion>/);
      assert.match(xml, /<b:ProtocolVersion>http:\/\/schemas\.dmtf\.org\/wbem\/wsman\/1\/wsman\.xsd<\/b:ProtocolVersion>/);
      assert.match(xml, /secprofile\/http\/digest/);
    });

    it('refuses a wrong password with 401', async () => {
      const r = await curl([
        '--digest',
        '-u',
        'admin:wrong',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--data-binary',
        IDENTIFY,
        `http://127.0.0.1:${pair.httpPort}/wsman`,
      ]);
      assert.equal(r.stdout.toString(), '401');
    });

    it('counts no split chunk terminator for a chunked upload through the LMS, but rejects one a client splits itself', async () => {
      const headers = `POST /sha256 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
      const whole = await exchange(pair.httpPort, Buffer.from(`${headers}3\r\nabc\r\n0\r\n\r\n`));
      assert.match(whole.toString(), /^HTTP\/1\.1 200/);
      assert.equal(pair.me.stats.splitTerminators, 0);
      // The client writes the terminator in two pieces with a pause: the LMS forwards what it has,
      // and the simulated AMT answers 400 as the real one does (mps #662).
      const split = await exchange(pair.httpPort, [Buffer.from(`${headers}3\r\nabc\r\n0\r\n`), Buffer.from('\r\n')], { gapMs: 50 });
      assert.match(split.toString(), /^HTTP\/1\.1 400/);
      assert.equal(pair.me.stats.splitTerminators, 1);
    });
  });

  describe('faults', () => {
    it('survives an ME reset in the middle of a download and serves again after the replayed handshake', async () => {
      pair = await startPair();
      const download = curl([`http://127.0.0.1:${pair.httpPort}/data/${200 * 1024 * 1024}`]);
      await until('the download is under way', () => (pair!.lms.status().channels[0]?.bytesFromMe ?? 0) > 0);
      pair.me.reset();
      const r = await download;
      assert.notEqual(r.code, 0, 'the interrupted download must not look complete');
      await pair.lms.ready(pair.echoPort);
      assert.match((await head(pair.httpPort)).toString(), /^HTTP\/1\.1 200/);
      assert.equal(pair.me.stats.resets, 1);
      assert.equal(pair.me.stats.sessions, 2);
      assert.equal(pair.lms.status().counters.resets, 1);
    });

    it('keeps connecting while the ME stays down after a reset, then recovers', async () => {
      pair = await startPair();
      pair.me.reset(300);
      await pair.lms.ready(pair.echoPort);
      assert.match((await head(pair.httpPort)).toString(), /^HTTP\/1\.1 200/);
    });

    it('serves a connection that waited through a reset and then for a busy slot, past holdMs (issue #14)', async () => {
      pair = await startPair({}, { maxChannels: 1, holdMs: 800, reconnectMs: 20 });
      pair.me.reset(100);
      await until('the ME is resetting', () => pair!.lms.status().session.phase !== 'ready');
      // During the reset: a client that takes the one slot once the ME is back and reads nothing,
      // then a HEAD that must wait for that slot well past holdMs.
      const hog = net.connect({ host: '127.0.0.1', port: pair.httpPort });
      hog.pause();
      hog.on('error', () => undefined);
      hog.write(`GET /data/${64 << 20} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await until('the hog waits first', () => pair!.lms.status().session.queued === 1);
      const reply = head(pair.httpPort);
      await nextEvent(pair.lms, (e) => e.type === 'channel-opened', 3000);
      await new Promise((r) => setTimeout(r, 1200)); // the hold (800 ms) would have refused it by now
      hog.destroy();
      assert.match((await reply).toString(), /^HTTP\/1\.1 200/, 'the waiting connection was refused');
      assert.ok(!pair.events.some((e) => e.type === 'connection-refused'));
    });

    it('ignores a stale CLOSE(0) and never answers it', async () => {
      pair = await startPair();
      const stale = nextEvent(pair.lms, (e) => e.type === 'protocol-error' && e.violation === 'stale-close');
      pair.me.staleClose(0);
      await stale;
      assert.equal(pair.me.stats.unknownChannel + pair.me.stats.doubleClose, 0, 'the LMS answered the stale CLOSE');
      assert.match((await head(pair.httpPort)).toString(), /^HTTP\/1\.1 200/);
    });

    it('retries OPEN_FAILURE(RESOURCE_SHORTAGE) and OPEN_FAILURE(ADMINISTRATIVELY_PROHIBITED) until the open succeeds', async () => {
      pair = await startPair();
      pair.me.failNextOpens(4, 1);
      assert.match((await head(pair.httpPort)).toString(), /^HTTP\/1\.1 200/);
      pair.me.failNextOpens(1, 2);
      assert.match((await head(pair.httpPort)).toString(), /^HTTP\/1\.1 200/);
      assert.equal(pair.me.stats.openFailures, 3);
    });

    it('closes the client on OPEN_FAILURE(CONNECT_FAILED)', async () => {
      pair = await startPair();
      pair.me.failNextOpens(2, 1);
      // The client is closed without a reply: an empty read or a reset, depending on timing.
      const reply = await head(pair.httpPort).catch((e: NodeJS.ErrnoException) => e.code);
      assert.ok(reply === 'ECONNRESET' || (Buffer.isBuffer(reply) && reply.length === 0), `got ${String(reply)}`);
      assert.match((await head(pair.httpPort)).toString(), /^HTTP\/1\.1 200/);
    });

    it('moves a 128 KB upload intact through a slow window (512 bytes, adjusts 5 ms late)', async () => {
      pair = await startPair();
      pair.me.slowWindow(512, 5);
      const body = patternBytes(7, 128 * 1024);
      const r = await curl(['--data-binary', '@-', `http://127.0.0.1:${pair.httpPort}/sha256`], body);
      assert.equal(r.stdout.toString().trim(), `${sha256(body)} ${body.length}`);
      assert.equal(pair.me.stats.windowViolations, 0);
      assert.ok(
        pair.events.some((e) => e.type === 'channel-stalled'),
        'the channel never waited for window',
      );
    });

    it('answers an ME notification channel (direct-tcpip to port 0) and offers the alert to library users', async () => {
      pair = await startPair();
      const note = firstValueFrom(pair.lms.notifications$.pipe(timeout(5000)));
      pair.me.notify('iAMT0005', ['admin']);
      const { request } = await note;
      assert.match(request.toString(), /<g:MessageID>iAMT0005<\/g:MessageID>/);
      for (let i = 0; i < 50 && pair.me.stats.notificationsAcknowledged === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(pair.me.stats.notificationsAcknowledged, 1);
    });

    it('logs a malformed message from the ME, keeps the session and serves on', async () => {
      pair = await startPair();
      const err = nextEvent(pair.lms, (e) => e.type === 'protocol-error' && e.violation === 'decode-error');
      pair.me.sendMalformed();
      await err;
      assert.equal(pair.lms.status().session.phase, 'ready');
      assert.match((await head(pair.httpPort)).toString(), /^HTTP\/1\.1 200/);
    });

    it('reconnects after the ME sends DISCONNECT and serves again', async () => {
      pair = await startPair();
      pair.me.disconnect();
      await nextEvent(pair.lms, (e) => e.type === 'session' && e.phase === 'disconnected');
      await pair.lms.ready(pair.echoPort);
      assert.match((await head(pair.httpPort)).toString(), /^HTTP\/1\.1 200/);
      assert.equal(pair.me.stats.sessions, 2);
    });

    it('rejects a message over max_msg_length with EFBIG, as the driver does, and counts it', async () => {
      pair = await startPair();
      await pair.lms.stop(); // free the simulated LME client for a direct connection
      const c = await pair.me.connect();
      const big = encodeApf(channelData(0, Buffer.alloc(pair.me.options.maxMsgLength)));
      await assert.rejects(c.write(big), (e: unknown) => e instanceof DeviceError && e.code === 'EFBIG');
      assert.equal(pair.me.stats.mtuViolations, 1);
      c.close();
    });
  });
});
