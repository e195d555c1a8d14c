import type { LmsEvent } from 'lms-rx/session';
import { quietAfterChannels } from '../../src/service/idleMemory.js';
import { newScheduler } from '../support/marbles.js';

// Events are lower case; `r` is the moment memory is given back. 10 ms of quiet count as idle here.
const closed = (id: number): LmsEvent => ({ type: 'channel-closed', id, socket: id, reason: 'closed', bytesToMe: 0, bytesFromMe: 0, durationMs: 1 });
const events: Record<string, LmsEvent> = {
  o: {
    type: 'channel-opened',
    id: 1,
    socket: 1,
    meId: 0,
    local: { address: '127.0.0.1', port: 16992 },
    peer: { address: '127.0.0.1', port: 40001 },
    owner: 1000,
    meWindow: 4096,
    at: 0,
  },
  c: closed(1),
  d: closed(2),
  s: { type: 'session', phase: 'ready' },
};

describe('memory given back when idle (quietAfterChannels)', () => {
  it('gives memory back once, a quiet spell after the last channel of a burst closed', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const e = hot('-o-c-d-c 19ms o', events);
      expectObservable(e.pipe(quietAfterChannels(10))).toBe('-------- 9ms r ---', { r: undefined });
    });
  });

  it('waits while channels keep closing within the spell', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const e = hot('c 5ms c 5ms c 5ms c', events);
      expectObservable(e.pipe(quietAfterChannels(10))).toBe('18ms 10ms r', { r: undefined });
    });
  });

  it('arms nothing for a daemon that serves no channel: session events and opens alone give nothing back', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const e = hot('-s-o-s-o 50ms s', events);
      expectObservable(e.pipe(quietAfterChannels(10))).toBe('');
    });
  });
});
