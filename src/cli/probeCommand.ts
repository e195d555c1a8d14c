/**
 * `lms probe [host]`: the seed-era discovery. Connect to 16992, send HEAD /, read the Server
 * header for the AMT version (no version: AMT 1.0). If 16992 refuses, try 16993: TLS is on, or
 * AMT is not provisioned.
 */
import * as net from 'node:net';
import { parseArgs } from 'node:util';
import { Exit, UsageError } from './exitCodes.js';

export const PROBE_HELP = `Usage: lms probe [host] [--json] [--timeout <ms>]

Asks host (default 127.0.0.1, through lms) for its AMT version: HEAD / on port 16992 and the
Server header. If 16992 refuses the connection, tries 16993 (TLS enabled or unprovisioned).`;

export type ProbeResult =
  | { readonly amt: true; readonly port: number; readonly version: string; readonly server: string }
  | { readonly amt: true; readonly port: 16993; readonly tls: true; readonly detail: string }
  | { readonly amt: false; readonly detail: string };

const SERVER = /^server:\s*(.*?)\s*$/im;
const AMT = /Intel\(R\) Active Management Technology\s*([\d.]*)/;

const headRequest = (host: string, port: number, timeoutMs: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    let text = '';
    s.setTimeout(timeoutMs, () => s.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    s.on('connect', () => s.write(`HEAD / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    s.on('data', (d) => {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\n')) s.end();
    });
    s.on('error', reject);
    s.on('close', () => resolve(text));
  });

export const probe = async (host: string, timeoutMs = 3000): Promise<ProbeResult> => {
  try {
    const head = await headRequest(host, 16992, timeoutMs);
    const server = SERVER.exec(head)?.[1];
    if (!server) return { amt: false, detail: `port 16992 answered without a Server header` };
    const m = AMT.exec(server);
    if (!m) return { amt: false, detail: `port 16992 is not AMT (Server: ${server})` };
    return { amt: true, port: 16992, version: m[1] || '1.0', server };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED') return { amt: false, detail: `16992: ${(err as Error).message}` };
  }
  return new Promise((resolve) => {
    const s = net.connect({ host, port: 16993 });
    s.setTimeout(timeoutMs, () => s.destroy());
    s.on('connect', () => {
      s.destroy();
      resolve({ amt: true, port: 16993, tls: true, detail: 'TLS enabled or unprovisioned' });
    });
    s.on('error', (err) => resolve({ amt: false, detail: `16992 refused, 16993: ${err.message}` }));
    s.on('close', () => resolve({ amt: false, detail: '16992 refused, 16993 did not answer' }));
  });
};

export const probeCommand = async (argv: readonly string[]): Promise<number> => {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: { json: { type: 'boolean' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.values.help) {
    process.stdout.write(`${PROBE_HELP}\n`);
    return Exit.Ok;
  }
  if (parsed.positionals.length > 1) throw new UsageError('lms probe takes at most one host');
  const timeout = parsed.values.timeout === undefined ? 3000 : Number(parsed.values.timeout);
  if (!Number.isInteger(timeout) || timeout <= 0) throw new UsageError('--timeout needs a positive number of milliseconds');
  const host = parsed.positionals[0] ?? '127.0.0.1';
  const r = await probe(host, timeout);
  if (parsed.values.json) process.stdout.write(`${JSON.stringify({ host, ...r })}\n`);
  else if (r.amt && 'version' in r) process.stdout.write(`${host}: Intel AMT ${r.version} (port ${r.port}; Server: ${r.server})\n`);
  else if (r.amt) process.stdout.write(`${host}: port 16992 refused, 16993 open: ${r.detail}\n`);
  else process.stdout.write(`${host}: no AMT found (${r.detail})\n`);
  return r.amt ? Exit.Ok : Exit.NoAmt;
};
