import { strict as assert } from 'node:assert';
import { filter, of, Subject } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  channelClose,
  channelData,
  channelOpen,
  disconnect,
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
import { runSession, type SessionEffect, type SessionInput } from 'lms-rx/session';
import { accepted, bytesOf, dataToMe, eventsOnly, fromMe, LOCAL, newScheduler, toMe, withoutEvents, writeTo } from '../support/marbles.js';

const MTU = 64; // small, so that chunking shows in short diagrams
const WINDOW = 16; // what we advertise; credit goes back at 8
const options = { window: WINDOW, maxChannels: 8, maxQueue: 16, holdMs: 1000, versionTimeoutMs: 3000, openRetries: 2, openRetryMs: 100, highWaterMark: 32 };
const ME_UUID = '12345678-9abc-def0-1122-334455667788';
const socketData = (socket: number, data: Buffer): SessionInput => ({ kind: 'socket-data', socket, data });
const open = (sender: number, originatorPort = 40001): ApfMessage =>
  channelOpen({ sender, window: WINDOW, address: LOCAL.address, port: LOCAL.port, originatorAddress: '127.0.0.1', originatorPort });

// Inputs are lower case, effects upper case. The handshake is the same in most specs.
// prettier-ignore
const input: Record<string, SessionInput> = {
  c: { kind: 'connected', maxMsgLength: MTU },
  v: fromMe(protocolVersion(1, ME_UUID)),
  s: fromMe(serviceRequest('pfwd@amt.intel.com')),
  f: fromMe(tcpipForward(16992)),
  l: { kind: 'listening', port: 16992, bound: ['127.0.0.1', '::1'] },
  a: accepted(1),
  k: fromMe(openConfirmation(1, 0, 10)), // the ME's id 0, window 10
  d: socketData(1, bytesOf(20)),
  w: fromMe(windowAdjust(1, 10)),
  m: fromMe(channelData(1, bytesOf(10, 0x62))), // ME -> host
  t: { kind: 'socket-written', socket: 1, bytes: 10 },
  e: { kind: 'socket-end', socket: 1 },
  g: { kind: 'socket-closed', socket: 1 },
  x: fromMe(channelClose(1)),
  z: fromMe(channelClose(0)),
  r: { kind: 'disconnected', reason: 'ENODEV' },
  q: fromMe(channelData(1, bytesOf(4))),
};

// prettier-ignore
const effect: Record<string, SessionEffect> = {
  V: toMe(protocolVersion(254)),
  A: toMe(serviceAccept('pfwd@amt.intel.com')),
  L: { kind: 'listen', port: 16992 },
  R: toMe(requestSuccess(16992)),
  O: toMe(open(1)),
  U: { kind: 'resume', socket: 1 },
  P: { kind: 'pause', socket: 1 },
  D: dataToMe(1, channelData(0, bytesOf(10))),
  Y: writeTo(1, bytesOf(10, 0x62)),
  W: toMe(windowAdjust(0, 10)),
  C: toMe(channelClose(0)),
  Z: { kind: 'end', socket: 1 },
  X: { kind: 'destroy', socket: 1 },
  K: { kind: 'reconnect', reason: '' },
  T: toMe(disconnect(2)),
};

const HS_IN = '(cvsfl)';
const HS_OUT = '(VALR)-'; // same length as HS_IN, so later frames line up

describe('runSession', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = newScheduler();
  });

  const wire = (marbles: string, values: Record<string, SessionInput> = input) =>
    testScheduler.createColdObservable(marbles, values).pipe(runSession(options), withoutEvents());

  describe('handshake', () => {
    it('should answer the ME PROTOCOLVERSION once, accept pfwd, and reply to tcpip-forward only after the port is bound', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const device = cold(HS_IN, input);
        expectObservable(device.pipe(runSession(options), withoutEvents())).toBe(HS_OUT, effect);
      });
    });

    it('should send its own PROTOCOLVERSION once when the ME stays silent, and not answer the ME version that follows', () => {
      testScheduler.run(({ expectObservable }) => {
        expectObservable(wire('c 3500ms v')).toBe('3000ms V', effect);
      });
    });

    it('should DISCONNECT with PROTOCOL_ERROR and reconnect on a channel message before the handshake', () => {
      testScheduler.run(({ expectObservable }) => {
        expectObservable(wire('cm')).toBe('-(TK)', { T: effect.T, K: { kind: 'reconnect', reason: 'channel-data before the pfwd service was accepted' } });
      });
    });

    it('should DISCONNECT with PROTOCOL_ERROR on SERVICE_REQUEST before PROTOCOLVERSION', () => {
      testScheduler.run(({ expectObservable }) => {
        expectObservable(wire('cs')).toBe('-(TK)', {
          T: effect.T,
          K: { kind: 'reconnect', reason: 'SERVICE_REQUEST pfwd@amt.intel.com before PROTOCOLVERSION' },
        });
      });
    });

    it('should DISCONNECT on GLOBAL_REQUEST before the pfwd service is accepted', () => {
      testScheduler.run(({ expectObservable }) => {
        expectObservable(wire('cvf')).toBe('-V(TK)', {
          V: effect.V,
          T: effect.T,
          K: { kind: 'reconnect', reason: 'global-request before the pfwd service was accepted' },
        });
      });
    });

    it('should reply to a repeated tcpip-forward at once without binding again', () => {
      testScheduler.run(({ expectObservable }) => {
        expectObservable(wire(`${HS_IN}f`)).toBe(`${HS_OUT}R`, effect);
      });
    });
  });

  describe('channel identity in effects (issue #23)', () => {
    it("should name our channel in every data effect and the ME's id in every message, with two channels open", () => {
      testScheduler.run(({ expectObservable }) => {
        // Channel 1 is the ME's 7, channel 2 the ME's 3: each socket's bytes go out on its own pair of ids.
        const values = {
          ...input,
          b: accepted(2),
          k: fromMe(openConfirmation(1, 7, 100)),
          j: fromMe(openConfirmation(2, 3, 100)),
          d: socketData(2, bytesOf(4)),
          m: fromMe(channelData(1, bytesOf(6, 0x62))),
        };
        expectObservable(wire(`${HS_IN}abkjdm`, values)).toBe(`${HS_OUT}O-Q-DY`, {
          ...effect,
          Q: toMe(open(2, 40002)),
          D: dataToMe(2, channelData(3, bytesOf(4))),
          Y: writeTo(1, bytesOf(6, 0x62), 1),
        });
      });
    });
  });

  describe('outbound flow control', () => {
    it('should open a forwarded-tcpip channel per accepted socket with the listener as address and the peer as originator', () => {
      testScheduler.run(({ expectObservable }) => {
        expectObservable(wire(`${HS_IN}ak`)).toBe(`${HS_OUT}O-`, effect);
      });
    });

    it('should hold socket bytes beyond the ME window, pause the socket, and resume on WINDOW_ADJUST', () => {
      testScheduler.run(({ expectObservable }) => {
        const device = `${HS_IN}akd----w`;
        const expected = `${HS_OUT}O-(DP)-(EU)`;
        expectObservable(wire(device)).toBe(expected, { ...effect, E: dataToMe(1, channelData(0, bytesOf(10))) });
      });
    });

    it('should pause a socket past the high-water mark while the ME window is open but too small to spend (issue #23, item 6)', () => {
      testScheduler.run(({ expectObservable }) => {
        // ME window 20: 15 bytes go at once; the 5 left are a sliver not spent while credit is owed, so 40 more stay
        // buffered with the window open, and only the high-water mark (32) pauses the socket.
        const values = { ...input, k: fromMe(openConfirmation(1, 0, 20)), d: socketData(1, bytesOf(15)), e: socketData(1, bytesOf(40)) };
        expectObservable(wire(`${HS_IN}akde`, values)).toBe(`${HS_OUT}O-DP`, { ...effect, D: dataToMe(1, channelData(0, bytesOf(15))) });
      });
    });

    it('should pause a socket past the high-water mark while it waits for its channel to open (issue #23, item 6)', () => {
      testScheduler.run(({ expectObservable }) => {
        const values = { ...input, d: socketData(1, bytesOf(20)), e: socketData(1, bytesOf(20)) };
        expectObservable(wire(`${HS_IN}ade`, values)).toBe(`${HS_OUT}O-P`, effect);
      });
    });

    it('should cut CHANNEL_DATA at the MTU minus the 9-byte header', () => {
      testScheduler.run(({ expectObservable }) => {
        const values = { ...input, k: fromMe(openConfirmation(1, 0, 1000)), d: socketData(1, bytesOf(120)) };
        const expected = `${HS_OUT}O-(DEF)`;
        expectObservable(wire(`${HS_IN}akd`, values)).toBe(expected, {
          ...effect,
          D: dataToMe(1, channelData(0, bytesOf(55))),
          E: dataToMe(1, channelData(0, bytesOf(55))),
          F: dataToMe(1, channelData(0, bytesOf(10))),
        });
      });
    });

    it('should never leave a tail shorter than 5 bytes when more is buffered (split chunk terminator)', () => {
      testScheduler.run(({ expectObservable }) => {
        const body = Buffer.concat([bytesOf(54), Buffer.from('0\r\n\r\n')]);
        const values = { ...input, k: fromMe(openConfirmation(1, 0, 1000)), d: socketData(1, body) };
        expectObservable(wire(`${HS_IN}akd`, values)).toBe(`${HS_OUT}O-(DE)`, {
          ...effect,
          D: dataToMe(1, channelData(0, bytesOf(54))),
          E: dataToMe(1, channelData(0, Buffer.from('0\r\n\r\n'))),
        });
      });
    });
  });

  describe('inbound flow control', () => {
    it('should return credit only after the socket write completes, coalesced to half the window', () => {
      testScheduler.run(({ expectObservable }) => {
        const values = { ...input, t: { kind: 'socket-written', socket: 1, bytes: 4 } as SessionInput };
        // m: 10 bytes written to the socket; 4 flushed (below 8: no adjust), then 4 more: WINDOW_ADJUST(8).
        expectObservable(wire(`${HS_IN}akm--t-t`, values)).toBe(`${HS_OUT}O-Y----W`, { ...effect, W: toMe(windowAdjust(0, 8)) });
      });
    });

    /** The protocol-error events of a run, as [violation, channel]. */
    const violations = (marbles: string, values: Record<string, SessionInput>): [string, number | undefined][] => {
      const seen: [string, number | undefined][] = [];
      testScheduler.run(() => {
        testScheduler
          .createColdObservable(marbles, values)
          .pipe(runSession(options), eventsOnly())
          .subscribe((e) => e.kind === 'event' && e.event.type === 'protocol-error' && seen.push([e.event.violation, e.event.channel]));
      });
      return seen;
    };

    it('should deliver ME data beyond the window intact and report the overrun', () => {
      const big = bytesOf(40, 0x63);
      const values = { ...input, m: fromMe(channelData(1, big)) };
      testScheduler.run(({ expectObservable }) => {
        const source = testScheduler.createColdObservable(`${HS_IN}akm`, values).pipe(runSession(options));
        expectObservable(source.pipe(withoutEvents())).toBe(`${HS_OUT}O-Y`, { ...effect, Y: writeTo(1, big) });
      });
      // 40 bytes into the window of 16 we advertised; 49 bytes on the wire is within the MTU (64).
      assert.deepStrictEqual(violations(`${HS_IN}akm`, values), [['window-overrun', 1]]);
    });

    it('should report a message over the MTU, and data for a channel it does not have, and deliver neither wrongly', () => {
      const values = {
        ...input,
        m: fromMe(channelData(1, bytesOf(14))),
        h: { ...fromMe(channelData(1, bytesOf(14))), size: MTU + 1 } as SessionInput,
        u: fromMe(channelData(9, bytesOf(4))),
      };
      assert.deepStrictEqual(violations(`${HS_IN}akhu`, values), [
        ['mtu-overrun', 1],
        ['unknown-channel', 9],
      ]);
    });
  });

  describe('close ordering', () => {
    it('should send CLOSE on local FIN and keep delivering ME data until the ME CLOSE, without a second CLOSE', () => {
      testScheduler.run(({ expectObservable }) => {
        expectObservable(wire(`${HS_IN}akem-x`)).toBe(`${HS_OUT}O-CY-Z`, effect);
      });
    });

    it('should flush the buffered socket bytes within the window before the CLOSE that follows a FIN', () => {
      testScheduler.run(({ expectObservable }) => {
        // x: the ME answers our CLOSE; the socket is ended then.
        const device = `${HS_IN}akde--w----x`;
        const expected = `${HS_OUT}O-(DP)(EC)-Z`;
        expectObservable(wire(device)).toBe(expected, { ...effect, E: dataToMe(1, channelData(0, bytesOf(10))) });
      });
    });

    it('should CLOSE at once when the socket goes away with bytes still buffered for the ME, and drop the ME data that follows (issue #14)', () => {
      testScheduler.run(({ expectObservable }) => {
        // d: 20 bytes into a window of 10 (10 go, 10 wait); g: the socket is gone; m: ME data for it.
        // Waiting to drain the 10 let a client that pipelined, read nothing and closed keep the slot.
        expectObservable(wire(`${HS_IN}akd---gmx`)).toBe(`${HS_OUT}O-(DP)C--`, effect);
      });
    });

    it('should report when a channel opened and how long it was open on its own clock, and no duration for a failed open (issue #23, item 2)', () => {
      const times: unknown[] = [];
      testScheduler.run(() => {
        // Opened at frame 8 (the confirmation); the ME's CLOSE 100 ms later. Socket 2's open fails.
        const values = { ...input, b: accepted(2), y: fromMe(openFailure(2, 2)) };
        testScheduler
          .createColdObservable(`${HS_IN}ak 99ms x by`, values)
          .pipe(runSession(options), eventsOnly())
          .subscribe((e) => {
            if (e.kind !== 'event') return;
            if (e.event.type === 'channel-opened') times.push(['opened', e.event.id, e.event.at]);
            if (e.event.type === 'channel-closed') times.push(['closed', e.event.id, e.event.durationMs]);
          });
      });
      assert.deepStrictEqual(times, [
        ['opened', 1, 8],
        ['closed', 1, 100],
        ['closed', 2, undefined],
      ]);
    });

    it('should give the slot up, destroy the socket and report it when the ME does not answer our CLOSE in time', () => {
      const seen: SessionEffect[] = [];
      testScheduler.run(({ expectObservable }) => {
        const session = testScheduler.createColdObservable(`${HS_IN}ake`, input).pipe(runSession({ ...options, closeTimeoutMs: 500 }));
        session.pipe(eventsOnly()).subscribe((e) => seen.push(e));
        // e: FIN, so our CLOSE goes first; the ME stays silent for 500 ms.
        expectObservable(session.pipe(withoutEvents())).toBe(`${HS_OUT}O-C 499ms X`, effect);
      });
      const closed = seen.flatMap((e) => (e.kind === 'event' && e.event.type === 'channel-closed' ? [e.event.reason] : []));
      const errors = seen.flatMap((e) => (e.kind === 'event' && e.event.type === 'protocol-error' ? [e.event.violation] : []));
      assert.deepStrictEqual([closed, errors], [['close-unanswered'], ['close-unanswered']]);
    });

    it('should answer an ME CLOSE with one CLOSE and end the socket after its pending writes', () => {
      testScheduler.run(({ expectObservable }) => {
        // t after the close: the channel is gone, so no WINDOW_ADJUST goes out for it.
        expectObservable(wire(`${HS_IN}akmxt`)).toBe(`${HS_OUT}O-Y(CZ)-`, effect);
      });
    });

    it('should send CLOSE right after the confirmation when the socket closed while the open was pending', () => {
      testScheduler.run(({ expectObservable }) => {
        expectObservable(wire(`${HS_IN}agk-x`)).toBe(`${HS_OUT}O-C--`, effect);
      });
    });

    it('should ignore a stale CLOSE(0) and a repeated CLOSE, and never answer them', () => {
      testScheduler.run(({ expectObservable }) => {
        expectObservable(wire(`${HS_IN}akzxx`)).toBe(`${HS_OUT}O--(CZ)-`, effect);
      });
    });

    it('should report the stale CLOSE as a protocol error event', () => {
      const seen: SessionEffect[] = [];
      testScheduler.run(() => {
        testScheduler
          .createColdObservable(`${HS_IN}akz`, input)
          .pipe(runSession(options), eventsOnly())
          .subscribe((e) => seen.push(e));
      });
      const errors = seen.flatMap((e) => (e.kind === 'event' && e.event.type === 'protocol-error' ? [e.event] : []));
      assert.deepStrictEqual(
        errors.map((e) => [e.violation, e.channel]),
        [['stale-close', 0]],
      );
    });
  });

  describe('channel opens', () => {
    it('should retry OPEN_FAILURE(RESOURCE_SHORTAGE) with backoff and a fresh id, then give up and close the socket', () => {
      testScheduler.run(({ expectObservable }) => {
        const values = { ...input, A: fromMe(openFailure(1, 4)), B: fromMe(openFailure(2, 4)), C: fromMe(openFailure(3, 1)) };
        // A at 8: retry 100 ms later; B at 149: retry 200 ms later; C at 400: retries exhausted.
        const device = `${HS_IN}aA 140ms B 250ms C`;
        const expected = `${HS_OUT}O 100ms Q 240ms S 50ms X`;
        expectObservable(wire(device, values)).toBe(expected, { ...effect, Q: toMe(open(2)), S: toMe(open(3)) });
      });
    });

    it('should close the socket at once on OPEN_FAILURE(CONNECT_FAILED)', () => {
      testScheduler.run(({ expectObservable }) => {
        const values = { ...input, n: fromMe(openFailure(1, 2)) };
        expectObservable(wire(`${HS_IN}an`, values)).toBe(`${HS_OUT}OX`, effect);
      });
    });

    it('should keep the 9th connection queued until a slot frees, with one CHANNEL_OPEN pending at a time', () => {
      testScheduler.run(({ expectObservable }) => {
        // A-I: nine sockets connect at once; 1-8: the ME confirms each open; z: the ME closes channel 1.
        const values: Record<string, SessionInput> = { ...input, z: fromMe(channelClose(1)) };
        const effects: Record<string, SessionEffect> = { Y: toMe(channelClose(0)), Z: { kind: 'end', socket: 1 }, 1: toMe(open(1)), 9: toMe(open(9, 40009)) };
        for (let i = 1; i <= 9; i++) values[String.fromCharCode(64 + i)] = accepted(i);
        for (let i = 1; i <= 8; i++) values[String(i)] = fromMe(openConfirmation(i, i - 1, 10));
        for (let i = 1; i <= 7; i++) effects[String.fromCharCode(108 + i)] = toMe(open(i + 1, 40001 + i)); // m..s
        const device = `${HS_IN}(ABCDEFGHI)1---2---3---4---5---6---7---8---z`;
        const expected = `${HS_OUT}1----------m---n---o---p---q---r---s-------(YZ9)`;
        expectObservable(wire(device, values)).toBe(expected, { ...effect, ...effects });
      });
    });
  });

  describe('waiting sockets', () => {
    it('should read a socket while it waits for a channel and forward its bytes once the channel opens', () => {
      testScheduler.run(({ expectObservable }) => {
        const values = { ...input, d: socketData(1, bytesOf(8)), k: fromMe(openConfirmation(1, 0, 1000)) };
        expectObservable(wire(`${HS_IN}ad-k`, values)).toBe(`${HS_OUT}O--D`, { ...effect, D: dataToMe(1, channelData(0, bytesOf(8))) });
      });
    });

    it('should not spend a channel on a socket that closes before sending a byte', () => {
      testScheduler.run(({ expectObservable }) => {
        // Before the handshake the socket waits; its FIN drops it, and no CHANNEL_OPEN ever goes out.
        const values = { ...input, e: { kind: 'socket-end', socket: 1 } as SessionInput };
        expectObservable(wire(`cae-vsfl`, values)).toBe(`--X-VALR`, effect);
      });
    });

    it('should refuse a peer that is not a loopback address', () => {
      testScheduler.run(({ expectObservable }) => {
        const values = { ...input, a: { kind: 'accepted', socket: 1, local: LOCAL, peer: { address: '10.1.2.3', port: 5000 } } as SessionInput };
        expectObservable(wire(`${HS_IN}a`, values)).toBe(`${HS_OUT}X`, effect);
      });
    });
  });

  describe('quiet channels while others wait (issue #14)', () => {
    const reclaim = { ports: [16992], idleMs: 500, answerMs: 2000 };
    const one = { ...options, maxChannels: 1, reclaim };
    const values = { ...input, b: accepted(2), n: socketData(1, bytesOf(1)) };
    const effects = { ...effect, Q: toMe(open(2, 40002)), N: dataToMe(1, channelData(0, bytesOf(1))) };
    const run = (marbles: string, opts = one) => testScheduler.createColdObservable(marbles, values).pipe(runSession(opts), withoutEvents());

    it('should take back a channel idle for idleMs once another socket waits for the slot, and open the waiter after the ME CLOSE', () => {
      testScheduler.run(({ expectObservable }) => {
        // k at 8: channel 1 opens and stays silent; b at 9 waits; at 508 channel 1 is reclaimed.
        const device = `${HS_IN}akb 590ms x`;
        const expected = `${HS_OUT}O 500ms (XC) 88ms Q`;
        expectObservable(run(device)).toBe(expected, effects);
      });
    });

    it('should reclaim nothing while nobody waits, and an idle channel at once when someone starts to', () => {
      testScheduler.run(({ expectObservable }) => {
        const device = `${HS_IN}ak 1491ms b 99ms x`;
        const expected = `${HS_OUT}O 1492ms (XC) 96ms Q`;
        expectObservable(run(device)).toBe(expected, effects);
      });
    });

    it('should count a dribbled request from its first byte and take it back after answerMs without an ME answer (slowloris)', () => {
      testScheduler.run(({ expectObservable }) => {
        // n: one byte at 100 and one at 1000, never answered; b waits from 9. Reclaimed at 100 + 2000.
        const device = `${HS_IN}akb 90ms n 899ms n 1199ms x`;
        const expected = `${HS_OUT}O 92ms N 899ms N 1099ms (XC) 96ms Q`;
        expectObservable(run(device)).toBe(expected, effects);
      });
    });

    it("should count an answered request as idle from the ME's last byte, not as unanswered", () => {
      testScheduler.run(({ expectObservable }) => {
        // n at 100 asks, m at 300 answers: idle from 300, so reclaimed at 800 (not at 100 + answerMs).
        const device = `${HS_IN}akb 90ms n 199ms m 599ms x`;
        const expected = `${HS_OUT}O 92ms N 199ms Y 499ms (XC) 96ms Q`;
        expectObservable(run(device)).toBe(expected, effects);
      });
    });

    it('should bring the timer forward when a request starts a shorter wait than the idle one (answerMs < idleMs)', () => {
      testScheduler.run(({ expectObservable }) => {
        // Idle since 8 (due at 508); n at 100 starts an unanswered wait of 200 ms: due at 300.
        const device = `${HS_IN}akb 90ms n 299ms x`;
        const expected = `${HS_OUT}O 92ms N 199ms (XC) 96ms Q`;
        expectObservable(run(device, { ...one, reclaim: { ...reclaim, answerMs: 200 } })).toBe(expected, effects);
      });
    });

    it('should never reclaim a channel to a port outside the policy (redirection sessions are quiet for long)', () => {
      testScheduler.run(({ expectObservable }) => {
        expectObservable(run(`${HS_IN}akb 5000ms -`, { ...one, reclaim: { ...reclaim, ports: [16993] } })).toBe(`${HS_OUT}O`, effects);
      });
    });
  });

  describe('waiting sockets after an ME reset (issue #14)', () => {
    it('should stop the hold timer once the port is forwarded again, so a socket that waits for a slot is not refused', () => {
      testScheduler.run(({ expectObservable }) => {
        // r: reset with nothing open; b and j connect (held); the replay opens b, j waits for the slot
        // far past holdMs (1000), and opens once the ME closes b.
        const values = { ...input, b: accepted(2), j: accepted(3), K: fromMe(openConfirmation(1, 0, 10)), y: fromMe(channelClose(1)) };
        const device = `${HS_IN}rbj${HS_IN}K 1500ms y`;
        const expected = `${HS_OUT}---(VARQ)-- 1500ms (CZS)`;
        const effects = {
          ...effect,
          Q: toMe(open(1, 40002)),
          C: toMe(channelClose(0)),
          Z: { kind: 'end', socket: 2 } as SessionEffect,
          S: toMe(open(2, 40003)),
        };
        expectObservable(testScheduler.createColdObservable(device, values).pipe(runSession({ ...options, maxChannels: 1 }), withoutEvents())).toBe(
          expected,
          effects,
        );
      });
    });
  });

  describe('ME reset', () => {
    it('should destroy every channel socket on reset mid-transfer, keep listeners, and serve again after the replayed handshake', () => {
      testScheduler.run(({ expectObservable }) => {
        // r: the device reports ENODEV; q: data for the stale id arrives late and is dropped.
        // The replayed tcpip-forward is answered at once: the port stayed bound (no second listen).
        const values = { ...input, b: accepted(2), K: fromMe(openConfirmation(2, 0, 10)) };
        const device = `${HS_IN}akd---rq${HS_IN}bK`;
        const expected = `${HS_OUT}O-(DP)X-(VAR)--Q-`;
        expectObservable(wire(device, values)).toBe(expected, { ...effect, Q: toMe(open(2, 40002)) });
      });
    });
  });

  describe('RxJS contract', () => {
    it('should pass an error from the device through', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const device = cold<SessionInput>('c#', input);
        expectObservable(device.pipe(runSession(options), withoutEvents())).toBe('-#');
      });
    });

    it('should complete when the device completes, and emit nothing for an empty source', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold<SessionInput>('|').pipe(runSession(options))).toBe('|');
        expectObservable(cold<SessionInput>('-c-|', input).pipe(runSession(options), withoutEvents())).toBe('---|');
      });
    });

    it('should unsubscribe from the device at the error frame, and from an error it forwards', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const device = hot<SessionInput>('c--#', input);
        expectObservable(device.pipe(runSession(options), withoutEvents())).toBe('---#');
        expectSubscriptions(device.subscriptions).toBe('^--!');
      });
    });

    it('should end with an error, and unsubscribe from the device, when a step breaks an invariant', () => {
      // A socket-data input without its data is no protocol event: the step throws on it.
      const broken: Record<string, SessionInput> = { ...input, n: { kind: 'socket-data', socket: 1, data: undefined as unknown as Buffer } };
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const device = hot<SessionInput>(`${HS_IN}akn--d`, broken);
        expectObservable(device.pipe(runSession(options), withoutEvents())).toBe(
          `${HS_OUT}O-#`,
          effect,
          new TypeError("Cannot read properties of undefined (reading 'length')"),
        );
        expectSubscriptions(device.subscriptions).toBe(`^${'-'.repeat(HS_IN.length + 1)}!`);
      });
    });

    it('should follow an unsubscription through a chain of operators to the device', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const device = hot<SessionInput>(`${HS_IN}a-k-d`, input);
        const chain = device.pipe(
          runSession(options),
          withoutEvents(),
          filter((e) => e.kind === 'send'),
        );
        expectObservable(chain, '^---------!').toBe('(VAR)--O', effect);
        expectSubscriptions(device.subscriptions).toBe('^---------!');
      });
    });

    it('should run a synchronous source to the end in one frame, in order, with the same effects as a timed one', () => {
      testScheduler.run(({ expectObservable }) => {
        const sync = of(input.c!, input.v!, input.s!, input.f!, input.l!, input.a!, input.k!, input.d!);
        expectObservable(sync.pipe(runSession(options), withoutEvents())).toBe('(VALRODP|)', effect);
      });
    });

    it('should take an input fed back from inside an effect after the rest of the current step, in order', () => {
      const seen: string[] = [];
      const inputs = new Subject<SessionInput>();
      const sub = inputs.pipe(runSession(options)).subscribe((e) => {
        seen.push(e.kind === 'send' ? e.message.type : e.kind === 'event' ? `${e.event.type}${e.event.type === 'session' ? ` ${e.event.phase}` : ''}` : e.kind);
        // The shell reacts at once, from inside the effect: the ME's forward request may not overtake the "ready" still being delivered.
        if (e.kind === 'send' && e.message.type === 'service-accept') inputs.next(input.f!);
      });
      for (const k of ['c', 'v', 's']) inputs.next(input[k]!);
      sub.unsubscribe();
      assert.deepStrictEqual(seen, [
        'session awaiting-version',
        'me-version',
        'protocol-version',
        'session awaiting-service',
        'service-accept',
        'session ready',
        'listen',
      ]);
    });

    it('should release its timers when unsubscribed early, so no PROTOCOLVERSION is sent later', () => {
      let later = -1;
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const device = hot<SessionInput>('c-------', input);
        const deviceSubs = '^--!';
        const unsub = '---!';
        expectObservable(device.pipe(runSession(options), withoutEvents()), unsub).toBe('');
        expectSubscriptions(device.subscriptions).toBe(deviceSubs);
        // Right after the unsubscribe, nothing may be left scheduled: the version timer (due at
        // 3000 ms) would still be, had it not been released.
        testScheduler.schedule(() => {
          const frame = testScheduler.frame;
          later = testScheduler.actions.filter((a) => (a as unknown as { delay: number }).delay > frame).length;
        }, 4);
      });
      assert.equal(later, 0, `${later} scheduler action(s) still pending after the unsubscribe`);
    });
  });
});
