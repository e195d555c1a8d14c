import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { channelClose, channelData, windowAdjust, type ApfMessage } from 'lms-rx/apf';
import { ByteQueue } from '../../src/streams/byteQueue.js';
import { addCredit, MIN_TAIL, nextChunkSize } from 'lms-rx/session';
import {
  closeSendWindow,
  creditSendWindow,
  receiveWindow,
  sendWindow,
  sendWithinWindow,
  takeFromReceiveWindow,
  oweCredit,
} from '../../src/streams/channelWindow.js';

describe('channel windows', () => {
  it('never exceeds the window, the MTU payload or what is buffered', () => {
    fc.assert(
      fc.property(fc.nat({ max: 100_000 }), fc.integer({ min: 64, max: 8192 }), fc.nat({ max: 100_000 }), fc.boolean(), (window, mtu, buffered, credit) => {
        const n = nextChunkSize(window, mtu, buffered, credit);
        assert.ok(n >= 0 && n <= window && n <= mtu - 9 && n <= buffered);
      }),
    );
  });

  it('leaves no tail shorter than 5 bytes whenever the window allows it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 64, max: 100_000 }),
        fc.integer({ min: 64, max: 8192 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.boolean(),
        (window, mtu, buffered, credit) => {
          const n = nextChunkSize(window, mtu, buffered, credit);
          const tail = buffered - n;
          if (n > 0) assert.ok(tail === 0 || tail >= MIN_TAIL, `window ${window} mtu ${mtu} buffered ${buffered}: sent ${n}, left ${tail}`);
        },
      ),
    );
  });

  it('waits for credit rather than spend a window sliver on a tiny message, but never deadlocks without credit in flight', () => {
    assert.equal(nextChunkSize(9, 4096, 10_000, true), 0);
    assert.equal(nextChunkSize(9, 4096, 10_000, false), 9);
    assert.equal(nextChunkSize(3, 4096, 4, false), 3, 'the tail rule yields when waiting could deadlock');
    assert.equal(nextChunkSize(3, 4096, 4, true), 0);
    assert.equal(nextChunkSize(2000, 4096, 10_000, true), 2000);
  });

  it('caps an overflowing WINDOW_ADJUST at 2^32-1 and says so', () => {
    assert.deepStrictEqual(addCredit(0xffff_fff0, 0x20), { window: 0xffff_ffff, overflow: true });
    assert.deepStrictEqual(addCredit(10, 20), { window: 30, overflow: false });
  });

  it('returns credit to the peer in batches of half the advertised window, and at once with a batch of 1', () => {
    const r = receiveWindow(16, 3);
    assert.equal(takeFromReceiveWindow(r, 16), 0);
    assert.equal(oweCredit(r, 7), undefined);
    assert.deepStrictEqual(oweCredit(r, 1), windowAdjust(3, 8));
    assert.deepStrictEqual({ window: r.window, owed: r.owed }, { window: 8, owed: 0 });
    assert.deepStrictEqual(oweCredit(receiveWindow(16, 3, 1), 2), windowAdjust(3, 2));
  });

  it('reports the bytes beyond the receive window and leaves it at 0', () => {
    const r = receiveWindow(10, 3);
    assert.equal(takeFromReceiveWindow(r, 4), 0);
    assert.equal(takeFromReceiveWindow(r, 9), 3);
    assert.equal(r.window, 0);
  });

  it('cuts buffered bytes into CHANNEL_DATA to the peer within the window and the MTU, and stops at the window', () => {
    const w = sendWindow(10, 5);
    const tx = new ByteQueue();
    tx.push(Buffer.alloc(30, 0x61));
    const sent: ApfMessage[] = [];
    assert.equal(
      sendWithinWindow(w, tx, 9 + 4, (m) => sent.push(m)),
      10,
    );
    assert.deepStrictEqual(sent, [channelData(5, Buffer.alloc(4, 0x61)), channelData(5, Buffer.alloc(4, 0x61)), channelData(5, Buffer.alloc(2, 0x61))]);
    assert.deepStrictEqual({ window: w.window, uncredited: w.uncredited, left: tx.length }, { window: 0, uncredited: 10, left: 20 });
    assert.equal(creditSendWindow(w, 6), false);
    assert.deepStrictEqual({ window: w.window, uncredited: w.uncredited }, { window: 6, uncredited: 4 });
  });

  it("cuts by the LMS's rules when the direction is shaped: no tail shorter than 5 bytes behind a message", () => {
    const w = sendWindow(100, 5, true);
    const tx = new ByteQueue();
    tx.push(Buffer.alloc(16, 0x61));
    const sent: ApfMessage[] = [];
    sendWithinWindow(w, tx, 9 + 13, (m) => sent.push(m));
    assert.deepStrictEqual(
      sent.map((m) => (m.type === 'channel-data' ? m.data.length : -1)),
      [11, 5],
    );
  });

  it('caps the send window at 2^32-1 on an overflowing WINDOW_ADJUST and says so', () => {
    const w = sendWindow(0xffff_fff0, 5);
    assert.equal(creditSendWindow(w, 0x20), true);
    assert.equal(w.window, 0xffff_ffff);
  });

  it('sends CLOSE to the peer once, and nothing after it', () => {
    const w = sendWindow(100, 2);
    const sent: ApfMessage[] = [];
    assert.equal(
      closeSendWindow(w, (m) => sent.push(m)),
      true,
    );
    assert.equal(
      closeSendWindow(w, (m) => sent.push(m)),
      false,
    );
    const tx = new ByteQueue();
    tx.push(Buffer.alloc(5));
    assert.equal(
      sendWithinWindow(w, tx, 4096, (m) => sent.push(m)),
      0,
    );
    assert.deepStrictEqual(sent, [channelClose(2)]);
  });
});
