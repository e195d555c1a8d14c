import { strict as assert } from 'node:assert';
import * as E from 'fp-ts/lib/Either.js';
import { map } from 'rxjs';
import { encodeApf, channelClose, windowAdjust, decodeMessages, encodeMessages, sessionInputs } from 'lms-rx/apf';
import { newScheduler } from '../support/marbles.js';

describe('codec operators', () => {
  const good = encodeApf(channelClose(7));
  const bad = Buffer.from([94, 0, 0, 0, 1, 0, 0, 0x10, 0]); // CHANNEL_DATA whose length points past its end

  it('should decode each device read, and carry on past a malformed one as a Left', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const tags = cold('gbg|', { g: good, b: bad }).pipe(
        decodeMessages(),
        map((d) => (E.isRight(d) ? `R${d.right.type}` : `L${d.left.kind}`)),
      );
      expectObservable(tags).toBe('xyx|', { x: 'Rchannel-close', y: 'Ltruncated' });
    });
  });

  it('should encode each message to its own buffer, one device write each', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('ab|', { a: channelClose(7), b: windowAdjust(1, 2) }).pipe(encodeMessages())).toBe('AB|', {
        A: good,
        B: encodeApf(windowAdjust(1, 2)),
      });
    });
  });

  it('should turn device reads into session inputs with their wire size, a malformed one into a decode-error', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const kinds = cold('gb|', { g: good, b: bad }).pipe(
        sessionInputs(),
        map((i) => `${i.kind} ${'size' in i ? i.size : ''}`),
      );
      expectObservable(kinds).toBe('xy|', { x: `message ${good.length}`, y: `decode-error ${bad.length}` });
    });
  });

  it('should not lose the good message before a bad one in the same batch', () => {
    const seen: string[] = [];
    newScheduler().run(({ cold }) => {
      cold('(gbg|)', { g: good, b: bad })
        .pipe(sessionInputs())
        .subscribe((i) => seen.push(i.kind));
    });
    assert.deepStrictEqual(seen, ['message', 'decode-error', 'message']);
  });
});
