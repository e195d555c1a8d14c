import { strict as assert } from 'node:assert';
import { Subject } from 'rxjs';
import { DeviceError, type MeConnection } from 'lms-rx';
import { serialWriter } from '../../src/service/serialWriter.js';

/** A connection whose writes finish when the test says so, recording what started when. */
const slowConnection = () => {
  const started: string[] = [];
  const pending: { text: string; finish: (err?: Error) => void }[] = [];
  const connection: MeConnection = {
    messages$: new Subject<Buffer>(),
    maxMsgLength: 4096,
    protocolVersion: 1,
    write: (m) =>
      new Promise<void>((resolve, reject) => {
        started.push(m.toString());
        pending.push({ text: m.toString(), finish: (err) => (err ? reject(err) : resolve()) });
      }),
    close: () => undefined,
  };
  const finishNext = async (err?: Error): Promise<void> => {
    pending.shift()!.finish(err);
    await new Promise((r) => setImmediate(r));
  };
  return { connection, started, finishNext };
};

describe('serialWriter (messages to the ME)', () => {
  it('starts a write at once when none is in flight, and holds the next until the device took the first', async () => {
    const { connection, started, finishNext } = slowConnection();
    const w = serialWriter(() => assert.fail('no error expected'));
    w.write(connection, Buffer.from('a'));
    assert.deepEqual(started, ['a'], 'the first write starts synchronously');
    w.write(connection, Buffer.from('b'));
    w.write(connection, Buffer.from('c'));
    assert.deepEqual(started, ['a'], 'two device writes are never in flight together');
    await finishNext();
    assert.deepEqual(started, ['a', 'b']);
    await finishNext();
    await finishNext();
    assert.deepEqual(started, ['a', 'b', 'c']);
  });

  it('reports a failed write with its message and goes on with the next', async () => {
    const { connection, started, finishNext } = slowConnection();
    const errors: string[] = [];
    const w = serialWriter((err, _c, m) => errors.push(`${(err as DeviceError).code} ${m.toString()}`));
    w.write(connection, Buffer.from('too big'));
    w.write(connection, Buffer.from('next'));
    await finishNext(new DeviceError('EFBIG', 'too big'));
    assert.deepEqual(errors, ['EFBIG too big']);
    assert.deepEqual(started, ['too big', 'next']);
  });

  it('resolves flushed() only after every message written so far reached its device', async () => {
    const { connection, finishNext } = slowConnection();
    const w = serialWriter(() => undefined);
    let flushed = false;
    await w.flushed(); // nothing written: at once
    w.write(connection, Buffer.from('close 1'));
    w.write(connection, Buffer.from('close 2'));
    void w.flushed().then(() => (flushed = true));
    await finishNext();
    assert.equal(flushed, false);
    await finishNext();
    assert.equal(flushed, true);
  });

  it('sends through writeNow when the transport offers it and nothing is queued, reporting a throw as a failed write', async () => {
    const sent: string[] = [];
    const errors: string[] = [];
    const connection: MeConnection = {
      messages$: new Subject<Buffer>(),
      maxMsgLength: 4096,
      protocolVersion: 1,
      write: () => Promise.reject(new Error('write() must not be used while writeNow() is offered')),
      writeNow: (m) => {
        if (m.length > 4) throw new DeviceError('EFBIG', 'too big');
        sent.push(m.toString());
      },
      close: () => undefined,
    };
    const w = serialWriter((err, _c, m) => errors.push(`${(err as DeviceError).code} ${m.toString()}`));
    w.write(connection, Buffer.from('a'));
    w.write(connection, Buffer.from('toolong'));
    w.write(connection, Buffer.from('b'));
    assert.deepEqual(sent, ['a', 'b'], 'each message is sent before write() returns');
    assert.deepEqual(errors, ['EFBIG toolong']);
    await w.flushed();
  });

  it('keeps order when a writeNow transport follows a write still in flight on the previous connection', async () => {
    const slow = slowConnection();
    const order: string[] = [];
    const fast: MeConnection = { ...slow.connection, writeNow: (m) => void order.push(`now ${m.toString()}`) };
    const w = serialWriter(() => undefined);
    w.write(slow.connection, Buffer.from('old'));
    w.write(fast, Buffer.from('new'));
    assert.deepEqual(order, [], 'waits behind the write in flight');
    await slow.finishNext();
    // Once queued, a message goes through write(): the queue drains in order by one path.
    assert.deepEqual(slow.started, ['old', 'new']);
    assert.deepEqual(order, []);
  });
});
