/**
 * A local client run as another user by the fair-sharing tests (issue #25):
 *   quiet PORT COUNT MS      COUNT connections that send nothing, each made again when lms closes it
 *   flood PORT COUNT MS      the same, each made again a second after lms closes it
 *   slowloris PORT COUNT MS  the same, each dribbling a request a byte every 100 ms
 *   probe PORT COUNT GAP_MS  COUNT HEADs one after another; prints each one's outcome as JSON
 * An attacker prints `ready` once its connections are made, and how many lms closed at the end.
 */
import * as net from 'node:net';
import { holdSlots } from './slotAttack.js';

const [mode, portArg, countArg, msArg] = process.argv.slice(2);
const port = Number(portArg);
const count = Number(countArg);
const ms = Number(msArg);

/** One HEAD: how long until the whole answer head came, or why not within `deadlineMs`. */
const head = (deadlineMs: number): Promise<{ ok: boolean; ms: number; detail?: string }> =>
  new Promise((resolve) => {
    const t0 = performance.now();
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const done = (ok: boolean, detail?: string) => {
      clearTimeout(timer);
      s.destroy();
      resolve({ ok, ms: Math.round(performance.now() - t0), ...(detail ? { detail } : {}) });
    };
    const timer = setTimeout(() => done(false, `no answer within ${deadlineMs} ms`), deadlineMs);
    s.on('connect', () => s.write('HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) done(got.startsWith('HTTP/1.1 200 '), got.split('\r\n')[0]);
    });
    s.on('error', (e) => done(false, e.message));
    s.on('close', () => done(false, `closed after ${got.length} bytes`));
  });

const main = async (): Promise<void> => {
  if (mode === 'probe') {
    const results = [];
    for (let i = 0; i < count; i++) {
      results.push(await head(5000));
      await new Promise((r) => setTimeout(r, ms));
    }
    process.stdout.write(`${JSON.stringify(results)}\n`);
    return;
  }
  const until = Date.now() + ms;
  const closed = holdSlots(port, count, until, mode === 'slowloris' ? 100 : undefined, mode === 'flood' ? 1000 : 0);
  process.stdout.write('ready\n');
  process.stdout.write(`${JSON.stringify({ closedOnUs: await closed })}\n`);
};
void main();
