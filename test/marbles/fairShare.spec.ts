import { strict as assert } from 'node:assert';
import { filter } from 'rxjs';
import { channelClose, channelOpen, openConfirmation, protocolVersion, requestSuccess, serviceAccept, serviceRequest, tcpipForward } from 'lms-rx/apf';
import { holdings, lastSlotKeptForWsman, nextOwner, shareReclaim, type SlotHolder } from '../../src/streams/session/fairShare.js';
import { runSession, type SessionEffect, type SessionInput } from 'lms-rx/session';
import type { SocketOwner } from '../../src/streams/sessionTypes.js';
import { eventsOnly, fromMe, newScheduler, peer, toMe, withoutEvents } from '../support/marbles.js';

// Two users and the lms daemon's own: uids as the shell finds them in /proc/net/tcp.
const ALICE = 1001;
const BOB = 1002;
const WSMAN = 16992;
const SOL = 623; // a redirection port: never reclaimed for being quiet
const WINDOW = 16;
const options = {
  window: WINDOW,
  maxChannels: 2,
  maxQueue: 4,
  holdMs: 1000,
  versionTimeoutMs: 3000,
  openRetries: 2,
  openRetryMs: 100,
  highWaterMark: 32,
  closeTimeoutMs: 5000,
  // Quiet channels are never taken back here: what is taken back is taken for sharing alone.
  reclaim: { ports: [WSMAN], idleMs: 0, answerMs: 0 },
};
const ME_UUID = '12345678-9abc-def0-1122-334455667788';

/** Socket `n` of `owner` connects to `port`, from client port 40000 + n. */
const by = (owner: SocketOwner, n: number, port = WSMAN): SessionInput => ({
  kind: 'accepted',
  socket: n,
  local: { address: '127.0.0.1', port },
  peer: peer(40000 + n),
  owner,
});
/** Our CHANNEL_OPEN of channel `id` for socket `n` (ids go up by one from 1, sockets are the test's). */
const openFor = (n: number, port = WSMAN, id = n) =>
  toMe(channelOpen({ sender: id, window: WINDOW, address: '127.0.0.1', port, originatorAddress: '127.0.0.1', originatorPort: 40000 + n }));
/** The ME confirms our channel `n` with its own id `n + 100`. */
const confirm = (n: number): SessionInput => fromMe(openConfirmation(n, n + 100, 10));
/** Our CLOSE for channel `n`, named by the ME's id. */
const closeOf = (n: number) => toMe(channelClose(n + 100));
const destroy = (n: number): SessionEffect => ({ kind: 'destroy', socket: n });

// The ME forwards a WS-Man port and a redirection port.
// prettier-ignore
const handshake: Record<string, SessionInput> = {
  c: { kind: 'connected', maxMsgLength: 64 },
  v: fromMe(protocolVersion(1, ME_UUID)),
  s: fromMe(serviceRequest('pfwd@amt.intel.com')),
  f: fromMe(tcpipForward(WSMAN)),
  g: fromMe(tcpipForward(SOL)),
  l: { kind: 'listening', port: WSMAN, bound: ['127.0.0.1'] },
  m: { kind: 'listening', port: SOL, bound: ['127.0.0.1'] },
};
// prettier-ignore
const handshakeOut: Record<string, SessionEffect> = {
  V: toMe(protocolVersion(254)),
  A: toMe(serviceAccept('pfwd@amt.intel.com')),
  L: { kind: 'listen', port: WSMAN },
  M: { kind: 'listen', port: SOL },
  R: toMe(requestSuccess(WSMAN)),
  S: toMe(requestSuccess(SOL)),
};
const HS_IN = '(cvsfglm)';
const HS_OUT = '(VALMRS)-'; // as long as HS_IN

describe('fair sharing of the ME slots between local users (issue #25)', () => {
  const scheduler = newScheduler;
  const run = (marbles: string, values: Record<string, SessionInput>, opts = options) => {
    const t = scheduler();
    return { t, out: (s: typeof t) => s.createColdObservable(marbles, { ...handshake, ...values }).pipe(runSession(opts), withoutEvents()) };
  };

  it('should take back the newest channel of a user that holds two slots more than a waiting user, and open the waiter in it', () => {
    const { t, out } = run(`${HS_IN}a1b2u----y`, { a: by(ALICE, 1), 1: confirm(1), b: by(ALICE, 2), 2: confirm(2), u: by(BOB, 3), y: fromMe(channelClose(2)) });
    t.run(({ expectObservable }) => {
      // Alice's channels 1 and 2 fill both slots; Bob's socket 3 waits: Alice's newest (2) goes, Bob's opens.
      expectObservable(out(t)).toBe(`${HS_OUT}P-Q-(XC)-T`, { ...handshakeOut, P: openFor(1), Q: openFor(2), X: destroy(2), C: closeOf(2), T: openFor(3) });
    });
  });

  it('should take nothing from a user that holds every slot while only that user waits', () => {
    const { t, out } = run(`${HS_IN}a1b2d 5000ms -`, { a: by(ALICE, 1), 1: confirm(1), b: by(ALICE, 2), 2: confirm(2), d: by(ALICE, 3) });
    t.run(({ expectObservable }) => {
      expectObservable(out(t)).toBe(`${HS_OUT}P-Q--`, { ...handshakeOut, P: openFor(1), Q: openFor(2) });
    });
  });

  it('should take nothing while the waiting user holds one slot less than the other (its share of two)', () => {
    const { t, out } = run(`${HS_IN}a1u3k 5000ms -`, { a: by(ALICE, 1), 1: confirm(1), u: by(BOB, 2), 3: confirm(2), k: by(BOB, 4) });
    t.run(({ expectObservable }) => {
      expectObservable(out(t)).toBe(`${HS_OUT}P-Q--`, { ...handshakeOut, P: openFor(1), Q: openFor(2) });
    });
  });

  it('should give a freed slot to the waiting user holding the fewest, then to the one served longest ago', () => {
    // One slot: Alice holds it; Alice's socket 2 waits first, then Bob's 3 and Carol's 4. Each close
    // frees the slot: Bob (holds none, never served) goes before Alice, then Carol, then Alice.
    const CAROL = 1003;
    // Channel ids follow the opens: 1 for socket 1, 2 for Bob's 3, 3 for Carol's 4, 4 for Alice's 2.
    const values = {
      a: by(ALICE, 1),
      1: confirm(1),
      b: by(ALICE, 2),
      u: by(BOB, 3),
      w: by(CAROL, 4),
      x: fromMe(channelClose(1)),
      3: confirm(2),
      y: fromMe(channelClose(2)),
      4: confirm(3),
      z: fromMe(channelClose(3)),
    };
    const { t, out } = run(`${HS_IN}a1buwx----3y----4z`, values, { ...options, maxChannels: 1 });
    t.run(({ expectObservable }) => {
      // Each ME CLOSE is answered, the socket ended, and the next socket's channel opened.
      const expected = `${HS_OUT}P----(BEK)-(DFN)-(HGQ)`;
      const ends = (n: number): SessionEffect => ({ kind: 'end', socket: n });
      expectObservable(out(t)).toBe(expected, {
        ...handshakeOut,
        P: openFor(1),
        B: closeOf(1),
        D: closeOf(2),
        H: closeOf(3),
        E: ends(1),
        K: openFor(3, WSMAN, 2),
        F: ends(3),
        N: openFor(4, WSMAN, 3),
        G: ends(4),
        Q: openFor(2, WSMAN, 4),
      });
    });
  });

  it('should give a full waiting queue place to a user with fewer waiting, refusing the newest of the user with the most', () => {
    // Two slots held by Alice, her sockets 3-6 fill the queue (4); Bob's 7 takes the place of her 6;
    // Alice's 8 is refused (she still has the most places); Bob's channel opens once one frees.
    const values = {
      a: by(ALICE, 1),
      1: confirm(1),
      b: by(ALICE, 2),
      2: confirm(2),
      d: by(ALICE, 3),
      e: by(ALICE, 4),
      h: by(ALICE, 5),
      i: by(ALICE, 6),
      u: by(BOB, 7),
      j: by(ALICE, 8),
      y: fromMe(channelClose(2)),
    };
    const { t, out } = run(`${HS_IN}a1b2(dehi)u----jy`, values, { ...options, maxChannels: 2 });
    t.run(({ expectObservable }) => {
      // u: Alice's 6 is refused for Bob's 7, and Alice's newest channel (2) goes for Bob; j: refused;
      // y: the ME's CLOSE frees the slot, and Bob's socket has it before Alice's older ones.
      expectObservable(out(t)).toBe(`${HS_OUT}P-Q-------(FXC)HO`, {
        ...handshakeOut,
        P: openFor(1),
        Q: openFor(2),
        F: destroy(6),
        X: destroy(2),
        C: closeOf(2),
        H: destroy(8),
        O: openFor(7, WSMAN, 3),
      });
    });
  });

  it('should take back the newest redirection channel for a WS-Man socket when every slot carries a redirection port, and keep the freed slot for it', () => {
    // One user: two SOL sessions hold both slots; another SOL socket (3) waits, then a WS-Man one (4).
    const values = {
      a: by(ALICE, 1, SOL),
      1: confirm(1),
      b: by(ALICE, 2, SOL),
      2: confirm(2),
      e: by(ALICE, 3, SOL),
      d: by(ALICE, 4, WSMAN),
      y: fromMe(channelClose(2)),
    };
    const { t, out } = run(`${HS_IN}a1b2e-d----y`, values);
    t.run(({ expectObservable }) => {
      // Socket 3 waited first, but the slot freed for the WS-Man socket goes to it.
      expectObservable(out(t)).toBe(`${HS_OUT}P-Q---(XC)-W`, {
        ...handshakeOut,
        P: openFor(1, SOL),
        Q: openFor(2, SOL),
        X: destroy(2),
        C: closeOf(2),
        W: openFor(4, WSMAN, 3),
      });
    });
  });

  it('should say whose channel was taken back, why, and for whom', () => {
    const t = scheduler();
    const values = { ...handshake, a: by(ALICE, 1), 1: confirm(1), b: by(ALICE, 2), 2: confirm(2), u: by(BOB, 3) };
    t.run(({ expectObservable }) => {
      const reclaims = t.createColdObservable(`${HS_IN}a1b2u`, values).pipe(
        runSession(options),
        eventsOnly(),
        filter((e) => e.kind === 'event' && e.event.type === 'channel-reclaimed'),
      );
      const event: SessionEffect = {
        kind: 'event',
        event: { type: 'channel-reclaimed', id: 2, socket: 2, port: WSMAN, owner: ALICE, why: 'over-share', for: BOB },
      };
      expectObservable(reclaims).toBe(`${'-'.repeat(HS_IN.length)}----E`, { E: event });
    });
  });

  describe('the rules over plain data', () => {
    const h = (owner: SocketOwner, openedAt: number, wsman = true, open = true): SlotHolder<string> => ({
      channel: `${owner}@${openedAt}`,
      owner,
      wsman,
      open,
      openedAt,
    });

    it('should count the slots each user holds', () => {
      assert.deepStrictEqual(
        [...holdings([h(ALICE, 1), h(BOB, 2), h(ALICE, 3)])],
        [
          [ALICE, 2],
          [BOB, 1],
        ],
      );
    });

    it('should pick the newest open channel of the user holding the most, never one still opening', () => {
      const held = [h(ALICE, 1), h(ALICE, 5), h(ALICE, 9, true, false), h(BOB, 3)];
      assert.deepStrictEqual(shareReclaim(held, [{ owner: 1003, wsman: true }]), { channel: `${ALICE}@5`, owner: ALICE, why: 'over-share', for: 1003 });
    });

    it('should take nothing when the waiting user already has its share', () => {
      assert.equal(shareReclaim([h(ALICE, 1), h(ALICE, 2), h(BOB, 3)], [{ owner: BOB, wsman: true }]), undefined);
      assert.equal(shareReclaim([h(ALICE, 1), h(ALICE, 2)], []), undefined);
    });

    it('should keep the last slot for WS-Man only while no channel carries a WS-Man port', () => {
      assert.equal(lastSlotKeptForWsman([h(ALICE, 1, false)], [{ owner: ALICE, wsman: true }]), true);
      assert.equal(lastSlotKeptForWsman([h(ALICE, 1, true)], [{ owner: ALICE, wsman: true }]), false);
      assert.equal(lastSlotKeptForWsman([h(ALICE, 1, false)], [{ owner: ALICE, wsman: false }]), false);
    });

    it('should serve the waiting user holding the fewest, ties to the one served longest ago', () => {
      const holds = (o: SocketOwner) => (o === ALICE ? 1 : 0);
      assert.equal(nextOwner([ALICE, BOB], holds, new Map()), BOB);
      const none = () => 0;
      assert.equal(
        nextOwner(
          [ALICE, BOB],
          none,
          new Map([
            [ALICE, 4],
            [BOB, 7],
          ]),
        ),
        ALICE,
      );
      assert.equal(nextOwner([ALICE, BOB], none, new Map([[BOB, 7]])), ALICE); // never served: first
    });
  });
});
