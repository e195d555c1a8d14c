/**
 * A hostile ME's messages: random and mutated APF, aimed away from the channels a test watches
 * (their ids are spared, so their bytes must arrive intact), and never the messages that end a
 * session by design (DISCONNECT, a new handshake) or rebind ports (GLOBAL_REQUEST).
 */
import fc from 'fast-check';
import { encodeApf, type ApfMessage } from 'lms-rx/apf';
import { apfMessage } from './arbitraries.js';
import { xorshift } from './random.js';

const spared = (m: ApfMessage, ids: ReadonlySet<number>): boolean =>
  m.type === 'disconnect' ||
  m.type === 'protocol-version' ||
  m.type === 'service-request' ||
  m.type === 'global-request' ||
  m.type === 'userauth-request' ||
  // an ME-opened channel is answered and allocates an id: harmless, but it would shift ids under test
  m.type === 'channel-open' ||
  ('recipient' in m && ids.has(m.recipient));

/** `count` hostile messages; host channel ids in `protect` are never addressed. */
export function* hostileMessages(count: number, protect: ReadonlySet<number>, seed = 0xbad): Generator<Buffer> {
  const rnd = xorshift(seed);
  const samples = fc.sample(
    apfMessage.filter((m) => !spared(m, protect)),
    { numRuns: 2000, seed },
  );
  for (let i = 0; i < count; i++) {
    const base = encodeApf(samples[rnd(samples.length)]!);
    switch (rnd(4)) {
      case 0: // valid message as is: data, adjusts, closes for ids nobody has, replies out of turn
        yield base;
        break;
      case 1: {
        // truncated
        yield base.subarray(0, rnd(base.length));
        break;
      }
      case 2: {
        // bytes flipped past the type byte, keeping the type so decoders are reached
        const b = Buffer.from(base);
        for (let k = 0; k < 3 && b.length > 1; k++) b[1 + rnd(b.length - 1)] ^= 1 << rnd(8);
        // a flip may turn a recipient into a protected id: then send the original instead
        const r = b.length >= 5 && [91, 92, 93, 94, 97].includes(b[0]!) ? b.readUInt32BE(1) : -1;
        yield protect.has(r) ? base : b;
        break;
      }
      default: {
        // random bytes after a type that is not a session-ending one
        const b = Buffer.alloc(1 + rnd(64));
        for (let k = 0; k < b.length; k++) b[k] = rnd(256);
        if ([1, 5, 80, 90, 192, 50].includes(b[0]!) || (b.length >= 5 && protect.has(b.readUInt32BE(1)))) b[0] = 250;
        yield b;
      }
    }
  }
}
