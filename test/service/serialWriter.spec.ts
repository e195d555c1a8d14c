import { strict as assert } from 'node:assert';
import { Subject } from 'rxjs';
import { DeviceError, type MeConnection } from '../../src/device/transport.js';
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
});
