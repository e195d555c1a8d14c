/**
 * The HTTP/1.1 service behind the simulated ME's forwarded ports: Node's own http server, fed
 * one in-memory socket per channel, answering like AMT's web server.
 *   HEAD|GET /         200, Server: Intel(R) Active Management Technology <version>
 *   POST /wsman        401 Digest challenge, or with credentials: Identify, or WS-Man (amt/)
 *   GET /data/<n>      n bytes of patternBytes (throughput and integrity tests)
 *   POST /sha256       the SHA-256 of the request body, hex
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { amtClasses } from './amt/classes.js';
import type { AmtModel } from './amt/model.js';
import { createWsmanService } from './amt/wsmanService.js';
import { createDigestVerifier, type DigestAccount } from './digestAuth.js';
import { patternBytes } from './patternBytes.js';
import { identifyResponse, isIdentifyRequest } from './wsman.js';

export interface AmtWeb {
  /** The simulated AMT: its version, realm, provisioning and classes' state. */
  readonly model: AmtModel;
  /** AMT's local system account (from AMTHI), which WS-Man accepts before provisioning and after. */
  readonly localAccount: DigestAccount;
}

const serverHeader = (amtVersion: string): string => `Intel(R) Active Management Technology ${amtVersion}`;

/** The largest /data/<n> served: enough for the 50 MB end-to-end tests and benchmarks. */
const MAX_DATA_BYTES = 1 << 30;
const DATA_CHUNK = 64 * 1024;

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

/** Streams `n` pattern bytes, honouring the response's back-pressure. */
const sendPattern = (res: ServerResponse, n: number): void => {
  let sent = 0;
  const pump = (): void => {
    while (sent < n) {
      const k = Math.min(DATA_CHUNK, n - sent);
      const ok = res.write(patternBytes(sent, k));
      sent += k;
      if (!ok) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
};

export const createAmtHttpServer = ({ model, localAccount }: AmtWeb): Server => {
  // The admin account exists once AMT is provisioned, as the HA1 that Setup or AdminSetup gave it.
  const accounts = (): DigestAccount[] => {
    const ha1 = model.persisted.provisioning.adminHa1;
    return ha1 && model.persisted.provisioning.state === 2 ? [{ user: model.adminUser, ha1 }, localAccount] : [localAccount];
  };
  const digest = createDigestVerifier(accounts, model.realm);
  const wsman = createWsmanService(model, amtClasses);
  const server = createServer({ keepAliveTimeout: 0 }, (req, res) => {
    res.setHeader('Server', serverHeader(model.version));
    const url = req.url ?? '/';
    const fail = (status: number, text: string): void => {
      res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };

    if ((req.method === 'HEAD' || req.method === 'GET') && url === '/') {
      const page = `<html><head><title>Intel&reg; Active Management Technology</title></head><body>AMT ${model.version}</body></html>`;
      res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(page) });
      return void res.end(req.method === 'HEAD' ? undefined : page);
    }

    if (url === '/wsman') {
      if (req.method !== 'POST') return fail(405, 'POST only');
      if (!digest.verify(req.method, req.headers.authorization)) {
        req.resume(); // read and drop the body so the connection stays usable
        res.writeHead(401, { 'WWW-Authenticate': digest.challenge(), 'Content-Type': 'text/html', 'Content-Length': 0 });
        return void res.end();
      }
      return void readBody(req).then((body) => {
        const text = body.toString('utf8');
        const answer = isIdentifyRequest(text) ? { status: 200, xml: identifyResponse(model.version) } : wsman.answer(text);
        // Chunked, as AMT sends its SOAP answers: no Content-Length.
        res.writeHead(answer.status, { 'Content-Type': 'application/soap+xml; charset=UTF-8' });
        res.end(answer.xml);
      });
    }

    const data = /^\/data\/(\d+)$/.exec(url);
    if (data && req.method === 'GET') {
      const n = Number(data[1]);
      if (n > MAX_DATA_BYTES) return fail(413, `at most ${MAX_DATA_BYTES} bytes`);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': n });
      return sendPattern(res, n);
    }

    if (url === '/sha256' && req.method === 'POST') {
      const hash = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        n += c.length;
      });
      req.on('end', () => {
        const text = `${hash.digest('hex')} ${n}\n`;
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': text.length });
        res.end(text);
      });
      return;
    }

    fail(404, 'not found');
  });
  // No timers on in-memory sockets: the channel's lifetime is the ME's business.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  return server;
};
