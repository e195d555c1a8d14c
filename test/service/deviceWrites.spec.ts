import { strict as assert } from 'node:assert';
import { Subject } from 'rxjs';
import { DeviceError, type MeConnection, type MeDevice } from '../../src/device/transport.js';
import { startLms } from '../../src/service/lmsService.js';
import type { Logger } from '../../src/service/logger.js';

/** A device whose connection fails every write with `error`; lms speaks first after 10 ms of ME silence. */
const failingDevice = (error: unknown): MeDevice => ({
  description: 'failing test device',
  connect: async (): Promise<MeConnection> => ({
    messages$: new Subject<Buffer>(),
    maxMsgLength: 4096,
    protocolVersion: 1,
    write: () => Promise.reject(error),
    writeNow: () => {
      throw error;
    },
    close: () => undefined,
  }),
});

const recordingLogger = (): { logger: Logger; errors: string[] } => {
  const errors: string[] = [];
  const nothing = (): void => undefined;
  return { errors, logger: { error: (_f, m) => void errors.push(m), warn: nothing, info: nothing, debug: nothing, trace: nothing } };
};

describe('device writes from lms', () => {
  it('logs a device write that throws something other than a DeviceError as a bug, and keeps running', async () => {
    const { logger, errors } = recordingLogger();
    const lms = startLms({ device: failingDevice(new TypeError('simulator bug')), logger, versionTimeoutMs: 10, bindAddresses: [] });
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(errors.includes('BUG: a device write threw'), `errors: ${JSON.stringify(errors)}`);
    await lms.stop();
  });

  it('leaves ENODEV to the reconnect path without a bug line', async () => {
    const { logger, errors } = recordingLogger();
    const lms = startLms({ device: failingDevice(new DeviceError('ENODEV', 'gone')), logger, versionTimeoutMs: 10, bindAddresses: [] });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(errors.filter((e) => e.startsWith('BUG')), []);
    await lms.stop();
  });
});
