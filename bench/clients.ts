/** Benchmark clients: fresh connections, as curl and AMT discovery tools make them. */
import { request } from 'node:http';
import * as net from 'node:net';
import type { Writable } from 'node:stream';

/** GET `path`, reading the whole body; resolves with its length. With `timeoutMs`, a GET idle that long is given up (rejected). */
export const httpGet = (port: number, path: string, timeoutMs?: number): Promise<number> =>
  new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, ...(timeoutMs ? { timeout: timeoutMs } : {}) }, (r) => {
      let n = 0;
      r.on('data', (d: Buffer) => (n += d.length));
      r.on('end', () => res(n));
      r.on('error', rej);
      r.on('close', () => rej(new Error('the reply ended early'))); // after 'end', a no-op
    });
    req.on('error', rej);
    req.on('timeout', () => req.destroy(Object.assign(new Error(`idle for ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.end();
  });

/**
 * HEAD / on a fresh connection; resolves with the microseconds until the header block is in.
 * With `timeoutMs`, a HEAD not answered by then is given up (rejected with code ETIMEDOUT).
 */
export const headLatency = (port: number, timeoutMs?: number): Promise<number> =>
  new Promise((res, rej) => {
    const t0 = performance.now();
    const s = net.connect({ host: '127.0.0.1', port });
    if (timeoutMs) s.setTimeout(timeoutMs, () => s.destroy(Object.assign(new Error(`no answer in ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    let text = '';
    s.on('connect', () => s.write('HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    s.on('data', (d) => {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\n')) {
        res((performance.now() - t0) * 1000);
        s.destroy();
      }
    });
    s.on('error', rej);
    // Closed before the header block (a peer that cannot open the channel may just hang up): no answer. After res(), a no-op.
    s.on('close', () => rej(Object.assign(new Error('closed without an answer'), { code: 'ECONNRESET' })));
  });

/** Writes `bytes` filler bytes with back-pressure, then ends the stream if asked. */
export const sendBytes = (w: Writable, bytes: number, end: boolean): void => {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  const pump = (): void => {
    while (sent < bytes) {
      const k = Math.min(chunk.length, bytes - sent);
      sent += k;
      if (!w.write(k === chunk.length ? chunk : chunk.subarray(0, k))) return void w.once('drain', pump);
    }
    if (end) w.end();
  };
  pump();
};

/** POST `bytes` filler bytes to /sha256 on a fresh connection; resolves with the reply body. With `timeoutMs`, as httpGet. */
export const httpPost = (port: number, bytes: number, timeoutMs?: number): Promise<string> =>
  new Promise((res, rej) => {
    const options = {
      host: '127.0.0.1',
      port,
      path: '/sha256',
      method: 'POST',
      agent: false,
      headers: { 'Content-Length': bytes },
      ...(timeoutMs ? { timeout: timeoutMs } : {}),
    };
    const req = request(options, (r) => {
      let body = '';
      r.on('data', (d: Buffer) => (body += d.toString()));
      r.on('end', () => res(body));
      r.on('error', rej);
      r.on('close', () => rej(new Error('the reply ended early'))); // after 'end', a no-op
    });
    req.on('error', rej);
    req.on('timeout', () => req.destroy(Object.assign(new Error(`idle for ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    sendBytes(req, bytes, true);
  });
