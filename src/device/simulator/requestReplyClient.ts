/**
 * An ME client that answers each request with one reply, as AMTHI and MKHI do: the device `lms
 * info` opens on the simulated ME. A platform without AMT has no such client (ENOTTY at connect).
 */
import { Subject } from 'rxjs';
import { DeviceError, type MeConnection, type MeDevice } from '../transport.js';
import type { AmthiProfile } from './amthiService.js';

export const requestReplyClient = (
  name: string,
  profile: AmthiProfile | undefined,
  maxMsgLength: number,
  answer: (request: Buffer, profile: AmthiProfile) => Buffer,
): MeDevice => ({
  description: `simulated ME (${name} client)`,
  connect: () => {
    if (!profile) return Promise.reject(new DeviceError('ENOTTY', `the simulated ME has no ${name} client (AMT absent or disabled)`));
    const messages$ = new Subject<Buffer>();
    let closed = false;
    return Promise.resolve<MeConnection>({
      maxMsgLength,
      protocolVersion: 1,
      messages$,
      write: (request) => {
        if (closed) return Promise.reject(new DeviceError('ENODEV', `the ${name} connection is closed`));
        setImmediate(() => closed || messages$.next(answer(request, profile)));
        return Promise.resolve();
      },
      close: () => {
        closed = true;
        messages$.complete();
      },
    });
  },
});
