import { strict as assert } from 'node:assert';
import { filter } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  channelClose,
  channelData,
  channelOpen,
  openConfirmation,
  openFailure,
  protocolVersion,
  requestSuccess,
  serviceAccept,
  serviceRequest,
  tcpipForward,
  windowAdjust,
  type ApfMessage,
} from 'lms-rx/apf';
import { splitsTerminator } from '../../src/device/simulator/meEngine.js';
import { emptyStats, type MeEffect, type MeInput, runMe } from 'lms-rx/simulator';
import { newScheduler } from '../support/marbles.js';

const UUID = '4c4c4544-0042-3510-8052-b3c04f4a4d32';
const host = (message: ApfMessage): MeInput => ({ kind: 'host', message });
const me = (message: ApfMessage): MeEffect => ({ kind: 'send', message });
const open = (sender: number, port = 16992, window = 100): ApfMessage =>
  channelOpen({ sender, window, address: '127.0.0.1', port, originatorAddress: '127.0.0.1', originatorPort: 50000 + sender });
const notLogs = filter((e: MeEffect) => e.kind !== 'log');

// prettier-ignore
const input: Record<string, MeInput> = {
  c: { kind: 'connect' },
  v: host(protocolVersion(254)),
  a: host(serviceAccept('pfwd@amt.intel.com')),
  r: host(requestSuccess(16992)),
  s: host(requestSuccess(623)),
};
// prettier-ignore
const output: Record<string, MeEffect> = {
  V: me(protocolVersion(1, UUID)),
  S: me(serviceRequest('pfwd@amt.intel.com')),
  F: me(tcpipForward(16992, '127.0.0.1')),
  G: me(tcpipForward(623, '127.0.0.1')),
};
const HS_IN = 'cvars';
const HS_OUT = 'VSFG-';

describe('simulated ME engine', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = newScheduler();
  });

  describe('handshake', () => {
    it('should speak first, request pfwd after the host version, and forward 16992 then 623, each after the previous reply', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold(HS_IN, input).pipe(runMe(), notLogs)).toBe(HS_OUT, output);
      });
    });

    it('should forward 16993 and 664 for the tls profile and all four for both', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const tls = { ...input, r: host(requestSuccess(16993)), s: host(requestSuccess(664)) };
        expectObservable(cold(HS_IN, tls).pipe(runMe({ profile: 'tls' }), notLogs)).toBe(HS_OUT, {
          ...output,
          F: me(tcpipForward(16993, '127.0.0.1')),
          G: me(tcpipForward(664, '127.0.0.1')),
        });
        const both = { ...input, t: host(requestSuccess(16993)), u: host(requestSuccess(664)) };
        expectObservable(cold('cvarstu', both).pipe(runMe({ profile: 'both' }), notLogs)).toBe('VSFGHI-', {
          ...output,
          H: me(tcpipForward(16993, '127.0.0.1')),
          I: me(tcpipForward(664, '127.0.0.1')),
        });
      });
    });

    it('should count a second host PROTOCOLVERSION and a reply naming the wrong port as protocol errors', () => {
      const stats = emptyStats();
      testScheduler.run(({ cold, expectObservable }) => {
        const values = { ...input, w: host(requestSuccess(9999)) };
        expectObservable(cold('cvvaw', values).pipe(runMe({}, stats), notLogs)).toBe('VS-FG', output);
      });
      assert.equal(stats.protocolErrors, 2);
    });
  });

  describe('channels', () => {
    const ready = (extra: string) => `${HS_IN}${extra}`;

    it('should fill 8 slots with ids 0-7, refuse the 9th with OPEN_FAILURE(RESOURCE_SHORTAGE), and reuse an id right after both CLOSEs', () => {
      const stats = emptyStats();
      testScheduler.run(({ cold, expectObservable }) => {
        const values: Record<string, MeInput> = { ...input, x: host(channelClose(0)), y: host(open(20)) };
        const expected: Record<string, MeEffect> = {
          ...output,
          N: me(openFailure(9, 4)),
          X: me(channelClose(1)),
          Y: me(openConfirmation(20, 0, 4096)),
          Z: { kind: 'service-open', id: 0, port: 16992 },
          W: { kind: 'service-close', id: 0 },
        };
        for (let i = 1; i <= 9; i++) values[String(i)] = host(open(i));
        for (let i = 1; i <= 8; i++) {
          expected[String.fromCharCode(96 + i)] = me(openConfirmation(i, i - 1, 4096));
          expected[String(i)] = { kind: 'service-open', id: i - 1, port: 16992 };
        }
        // 1-8 fill the slots, 9 is refused; x: the host closes ME id 0 -> the ME replies; y reuses id 0.
        const device = ready('1---2---3---4---5---6---7---8---9x---y');
        const expected_ = `${HS_OUT}(a1)(b2)(c3)(d4)(e5)(f6)(g7)(h8)N(WX)(YZ)`;
        expectObservable(cold(device, values).pipe(runMe({}, stats), notLogs)).toBe(expected_, expected);
      });
      assert.equal(stats.openFailures, 1);
      assert.equal(stats.channelsOpened, 9);
      assert.equal(stats.channelsClosed, 1);
    });

    it('should enforce the window it advertised and count each violation, delivering the data anyway', () => {
      const stats = emptyStats();
      testScheduler.run(({ cold, expectObservable }) => {
        const values = { ...input, o: host(open(7)), d: host(channelData(0, Buffer.alloc(60))), e: host(channelData(0, Buffer.alloc(60))) };
        const device = ready('o---de');
        expectObservable(cold(device, values).pipe(runMe({ window: 100 }, stats), notLogs)).toBe(`${HS_OUT}(OP)DE`, {
          ...output,
          O: me(openConfirmation(7, 0, 100)),
          P: { kind: 'service-open', id: 0, port: 16992 },
          D: { kind: 'service-data', id: 0, data: Buffer.alloc(60) },
          E: { kind: 'service-data', id: 0, data: Buffer.alloc(60) },
        });
      });
      assert.equal(stats.windowViolations, 1);
    });

    it('should return credit once its service consumed the data, and send service output within the host window', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const values: Record<string, MeInput> = {
          ...input,
          o: host(open(7, 16992, 10)),
          u: { kind: 'service-consumed', id: 0, bytes: 30 },
          q: { kind: 'service-output', id: 0, data: Buffer.alloc(25, 1) },
          w: host(windowAdjust(0, 20)),
        };
        expectObservable(cold(ready('o---uqw'), values).pipe(runMe({}, emptyStats()), notLogs)).toBe(`${HS_OUT}(OP)UQ(RT)`, {
          ...output,
          O: me(openConfirmation(7, 0, 4096)),
          P: { kind: 'service-open', id: 0, port: 16992 },
          U: me(windowAdjust(7, 30)),
          Q: me(channelData(7, Buffer.alloc(10, 1))),
          R: me(channelData(7, Buffer.alloc(15, 1))),
          T: { kind: 'service-flushed', id: 0 },
        });
      });
    });

    it('should count host data after its own CLOSE went out, before the host answered it', () => {
      const stats = emptyStats();
      testScheduler.run(({ cold, expectObservable }) => {
        // k: the service behind slot 0 closes, so the ME sends CLOSE; d: the host still sends data.
        const values = { ...input, o: host(open(7)), k: { kind: 'service-closed', id: 0 } as MeInput, d: host(channelData(0, Buffer.alloc(3))) };
        expectObservable(cold(ready('o---kd'), values).pipe(runMe({}, stats), notLogs)).toBe(`${HS_OUT}(OP)X`, {
          ...output,
          O: me(openConfirmation(7, 0, 4096)),
          P: { kind: 'service-open', id: 0, port: 16992 },
          X: me(channelClose(7)),
        });
      });
      assert.equal(stats.dataAfterClose, 1);
      assert.equal(stats.unknownChannel, 0);
    });

    it('should count a double CLOSE and data for unknown ids', () => {
      const stats = emptyStats();
      testScheduler.run(({ cold, expectObservable }) => {
        const values = {
          ...input,
          o: host(open(7)),
          x: host(channelClose(0)),
          d: host(channelData(0, Buffer.alloc(3))),
          u: host(channelData(5, Buffer.alloc(3))),
        };
        const out = cold(ready('o---xxdu'), values).pipe(runMe({}, stats), notLogs);
        expectObservable(out).toBe(`${HS_OUT}(OP)(WX)`, {
          ...output,
          O: me(openConfirmation(7, 0, 4096)),
          P: { kind: 'service-open', id: 0, port: 16992 },
          W: { kind: 'service-close', id: 0 },
          X: me(channelClose(7)),
        });
      });
      assert.equal(stats.doubleClose, 1);
      assert.equal(stats.unknownChannel, 2); // data for the freed slot 0, and for 5
    });

    it('should reject a chunked request whose terminator is split across two messages, as AMT does', () => {
      const stats = emptyStats();
      testScheduler.run(({ cold, expectObservable }) => {
        const body = Buffer.from('POST /wsman HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n');
        const values = { ...input, o: host(open(7)), d: host(channelData(0, body)), t: host(channelData(0, Buffer.from('\r\n'))) };
        expectObservable(cold(ready('o---dt'), values).pipe(runMe({}, stats), notLogs)).toBe(`${HS_OUT}(OP)DR`, {
          ...output,
          O: me(openConfirmation(7, 0, 4096)),
          P: { kind: 'service-open', id: 0, port: 16992 },
          D: { kind: 'service-data', id: 0, data: body },
          R: { kind: 'service-reject', id: 0 },
        });
      });
      assert.equal(stats.splitTerminators, 1);
      assert.ok(splitsTerminator(Buffer.from('\r\n0\r'), Buffer.from('\n\r\n')));
      assert.ok(!splitsTerminator(Buffer.from('abcd'), Buffer.from('0\r\n\r\n')));
    });
  });

  describe('faults', () => {
    it('should send a stale CLOSE, fail the next opens with the injected reason, and replay the handshake after a reset', () => {
      const stats = emptyStats();
      testScheduler.run(({ cold, expectObservable }) => {
        const values: Record<string, MeInput> = {
          ...input,
          z: { kind: 'stale-close', id: 0 },
          f: { kind: 'fail-opens', reason: 1, count: 1 },
          o: host(open(7)),
          p: host(open(8)),
          R: { kind: 'reset' },
        };
        const device = `${HS_IN}zfop---R${HS_IN}`;
        expectObservable(cold(device, values).pipe(runMe({}, stats), notLogs)).toBe(`${HS_OUT}Z-N(OP)W${HS_OUT}`, {
          ...output,
          Z: me(channelClose(0)),
          N: me(openFailure(7, 1)),
          O: me(openConfirmation(8, 0, 4096)),
          P: { kind: 'service-open', id: 0, port: 16992 },
          W: { kind: 'service-close', id: 0 },
        });
      });
      assert.equal(stats.resets, 1);
      assert.equal(stats.sessions, 2);
    });

    it('should open a direct-tcpip channel to port 0 for a notification and count the host answer once', () => {
      const stats = emptyStats();
      const request = Buffer.from('POST /wsman HTTP/1.1\r\nContent-Length: 0\r\n\r\n');
      testScheduler.run(({ cold, expectObservable }) => {
        const values: Record<string, MeInput> = {
          ...input,
          n: { kind: 'notify', request },
          k: host(openConfirmation(0, 33, 4096)),
          h: host(channelData(0, Buffer.from('HTTP/1.1 200 OK\r\n\r\n'))),
          b: host(channelData(0, Buffer.from('late'))), // a body after the headers: the same answer, not a second one
          x: host(channelClose(0)),
        };
        expectObservable(cold(`${HS_IN}nk---hbx`, values).pipe(runMe({}, stats), notLogs)).toBe(`${HS_OUT}O(DE)HBX`, {
          ...output,
          O: me(
            channelOpen({
              channelType: 'direct-tcpip',
              sender: 0,
              window: 4096,
              address: '127.0.0.1',
              port: 0,
              originatorAddress: '127.0.0.1',
              originatorPort: 0,
            }),
          ),
          D: me(channelData(33, request)),
          E: { kind: 'service-flushed', id: 0 },
          H: me(windowAdjust(33, 19)),
          B: me(windowAdjust(33, 4)),
          X: me(channelClose(33)),
        });
      });
      assert.equal(stats.notificationsAcknowledged, 1);
    });
  });
});
