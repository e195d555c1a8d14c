import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import type * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { askDaemon } from '../../src/service/controlClient.js';
import { controlSocketToAsk, serveControl } from '../../src/service/controlSocket.js';

describe('which daemon lms status asks (issue #22, item 4)', () => {
  let dir: string;
  const servers: net.Server[] = [];
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lms-ask-'))));
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const serve = async (path: string): Promise<void> => void servers.push(await serveControl(path, { status: () => ({ answered: path }) }));

  it("asks the system daemon's socket when this user runs no daemon of its own, and its own when it does", async () => {
    const own = join(dir, 'own.sock');
    const system = join(dir, 'system', 'lms.sock');
    assert.equal(controlSocketToAsk(own, system), own, 'neither is there: its own, for the "not running" message');
    await serve(system);
    assert.equal(controlSocketToAsk(own, system), system);
    await serve(own);
    assert.equal(controlSocketToAsk(own, system), own);
  });

  it('tells a daemon that answers from one that is not there', async () => {
    const path = join(dir, 'lms.sock');
    assert.deepStrictEqual(await askDaemon(path), { kind: 'not-running', path, detail: 'is lms running? (systemctl status lms)' });
    await serve(path);
    const answer = await askDaemon(path);
    assert.equal(answer.kind, 'status');
    assert.deepStrictEqual(answer.kind === 'status' && answer.status, { answered: path });
  });
});
