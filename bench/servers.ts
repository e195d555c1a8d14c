/**
 * Baseline servers for the benchmarks, run as child processes like the daemon:
 *   raw <port>     a raw loopback TCP pipe doing the simulated AMT's service work without HTTP or APF:
 *                  "GET n\n" -> n pattern bytes; "PUT n\n" + n bytes -> their SHA-256
 *   direct <port>  the simulated AMT's HTTP service on a real TCP port, without APF or the daemon
 *   floor <port>   the least any Node.js server does for a HEAD: accept, read once, write a fixed
 *                  reply, close; no HTTP parser, no timers, no log (what a Node LMS cannot go below)
 * Each prints "listening" and answers "cpu" / "mem" on stdin with its own figures.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { patternBytes } from '../src/device/simulator/patternBytes.js';
import { benchAmtWeb } from './amtWeb.js';
import { createAmtHttpServer } from '../src/device/simulator/amtHttpService.js';

const [mode, portText] = process.argv.slice(2);
const port = Number(portText);

const raw = () =>
  createServer((s) => {
    let head = '';
    let want = -1;
    let got = 0;
    const hash = createHash('sha256');
    const onData = (d: Buffer): void => {
      if (want < 0) {
        head += d.toString('latin1');
        const nl = head.indexOf('\n');
        if (nl < 0) return;
        const [verb, n] = head.slice(0, nl).split(' ');
        want = Number(n);
        if (verb === 'GET') {
          let sent = 0;
          const pump = (): void => {
            while (sent < want) {
              const k = Math.min(65536, want - sent);
              const ok = s.write(patternBytes(sent, k));
              sent += k;
              if (!ok) return void s.once('drain', pump);
            }
            s.end();
          };
          return pump();
        }
        const rest = Buffer.from(head.slice(nl + 1), 'latin1');
        got = rest.length;
        hash.update(rest);
      } else {
        got += d.length;
        hash.update(d);
      }
      if (got >= want) s.end(`${hash.digest('hex')}\n`);
    };
    s.on('data', onData);
    s.on('error', () => undefined);
  });

const floor = () =>
  createServer((s) => {
    s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    s.on('error', () => undefined);
  });

const server = mode === 'raw' ? raw() : mode === 'floor' ? floor() : createAmtHttpServer(benchAmtWeb());
server.listen({ host: '127.0.0.1', port }, () => process.stdout.write('listening\n'));
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'exit') process.exit(0);
});
