/**
 * The socket a simulated AMT service talks through. APF has no half-close, so a service that ends
 * its side has closed the channel: the socket must close too, or the http server, which frees a
 * connection only on 'close', keeps it and its parser for good.
 */
import { strict as assert } from 'node:assert';
import { queryObjects } from 'node:v8';
import { ServiceSocket } from '../../src/device/simulator/serviceSocket.js';
import { head, startPair, until, type Pair } from '../support/harness.js';

describe('a simulated AMT service socket', () => {
  let pair: Pair | undefined;
  afterEach(async () => {
    await pair?.stop();
    pair = undefined;
  });

  it('closes once the service has ended its side and its last bytes are out, reporting the close once', async () => {
    const out: string[] = [];
    let closed = 0;
    const output = (data: Buffer, done: () => void): void => {
      out.push(data.toString());
      done();
    };
    const socket = new ServiceSocket({ output, consumed: () => undefined, closed: () => closed++ }, 16992);
    let closeEvents = 0;
    socket.on('close', () => closeEvents++);
    socket.end('HTTP/1.1 200 OK\r\n\r\n');
    await until('the socket closes', () => closeEvents > 0);
    assert.deepEqual(out, ['HTTP/1.1 200 OK\r\n\r\n']);
    assert.equal(socket.destroyed, true);
    assert.equal(closed, 1);
  });

  it('leaves no socket behind when the http server ends each exchange: 200 HEADs through the simulated ME hold none after', async () => {
    pair = await startPair();
    const before = queryObjects(ServiceSocket, { format: 'count' });
    for (let i = 0; i < 200; i++) await head(pair.httpPort);
    // The last channel's socket closes a turn after its CLOSE: wait for it, but not for the others
    // (each check collects the heap, so at most 100 of them).
    await until('the sockets close', () => queryObjects(ServiceSocket, { format: 'count' }) <= before, 2000);
    assert.equal(queryObjects(ServiceSocket, { format: 'count' }), before);
  });
});
