/**
 * Local clients that try to keep the ME's eight channel slots for themselves (issue #14, items 1
 * and 3): pipelining requests for large bodies, reading nothing and closing; connecting and sending
 * nothing; dribbling a request a byte at a time (slowloris). Each is bounded in time and count.
 */
import * as net from 'node:net';

/** Sends ~160 KB of pipelined GETs for `bodyBytes` each, reads nothing, closes after `closeAfterMs`. */
export const pipelineAndClose = (port: number, bodyBytes: number, closeAfterMs = 200): Promise<void> =>
  new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.pause(); // reads nothing
    s.on('error', () => undefined);
    s.on('close', () => resolve());
    s.on('connect', () => {
      const one = `GET /data/${bodyBytes} HTTP/1.1\r\nHost: x\r\n\r\n`;
      s.write(one.repeat(Math.ceil((160 * 1024) / one.length)));
      setTimeout(() => s.destroy(), closeAfterMs);
    });
  });

/**
 * Keeps `count` connections open until `untilMs` (Date.now()), reconnecting each one lms closes
 * after `reconnectMs`:
 * idle ones send nothing; slowloris ones send one byte of a request every `dribbleMs`.
 * Resolves with how many connections lms closed on them.
 */
export const holdSlots = (port: number, count: number, untilMs: number, dribbleMs?: number, reconnectMs = 0): Promise<number> => {
  const request = Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(4000)}\r\n\r\n`);
  let closedOnUs = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      if (Date.now() >= untilMs) return resolve();
      const s = net.connect({ host: '127.0.0.1', port });
      let timer: NodeJS.Timeout | undefined;
      let sent = 0;
      const end = setTimeout(() => s.destroy(), Math.max(0, untilMs - Date.now()));
      s.on('error', () => undefined);
      s.on('connect', () => {
        if (dribbleMs === undefined) return;
        timer = setInterval(() => s.write(request.subarray(sent, ++sent)), dribbleMs);
      });
      s.on('close', () => {
        clearInterval(timer);
        clearTimeout(end);
        if (Date.now() < untilMs) closedOnUs++;
        setTimeout(() => void one().then(resolve), reconnectMs);
      });
    });
  return Promise.all(Array.from({ length: count }, one)).then(() => closedOnUs);
};
