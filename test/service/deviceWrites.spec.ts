import { strict as assert } from 'node:assert';
import { Subject } from 'rxjs';
import { DeviceError, type MeConnection, type MeDevice, startLms, type Logger } from 'lms-rx';
import { until } from '../support/harness.js';

/** A device whose connection fails every write with `error` (and counts them); lms speaks first after 10 ms of ME silence. */
const failingDevice = (error: unknown): MeDevice & { writes: number } => {
  const device = {
    writes: 0,
    description: 'failing test device',
    connect: async (): Promise<MeConnection> => ({
      messages$: new Subject<Buffer>(),
      maxMsgLength: 4096,
      protocolVersion: 1,
      write: () => {
        device.writes++;
        return Promise.reject(error);
      },
      writeNow: () => {
        device.writes++;
        throw error;
      },
      close: () => undefined,
    }),
  };
  return device;
};

const recordingLogger = (): { logger: Logger; errors: string[] } => {
  const errors: string[] = [];
  const nothing = (): void => undefined;
  return { errors, logger: { error: (_f, m) => void errors.push(m), warn: nothing, info: nothing, debug: nothing, trace: nothing } };
};

describe('device writes from lms', () => {
  it('logs a device write that throws something other than a DeviceError as a bug, and keeps running', async () => {
    const { logger, errors } = recordingLogger();
    const lms = startLms({ device: failingDevice(new TypeError('simulator bug')), logger, versionTimeoutMs: 10, bindAddresses: [] });
    await until('the bug line', () => errors.includes('BUG: a device write threw'));
    await lms.stop();
  });

  it('leaves ENODEV to the reconnect path without a bug line', async () => {
    const { logger, errors } = recordingLogger();
    const device = failingDevice(new DeviceError('ENODEV', 'gone'));
    const lms = startLms({ device, logger, versionTimeoutMs: 10, bindAddresses: [] });
    await until('our PROTOCOLVERSION written (and failed)', () => device.writes >= 1);
    await new Promise((r) => setImmediate(r)); // whatever the failure's handling does has run
    assert.deepEqual(
      errors.filter((e) => e.startsWith('BUG')),
      [],
    );
    await lms.stop();
  });
});
