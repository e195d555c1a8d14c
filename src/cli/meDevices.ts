/** The ME clients a command talks to: on the MEI device, or on a simulated ME (`--simulate`). */
import { MeClient } from '../codecs/mei.js';
import type { MeDevice } from '../device/transport.js';
import { UsageError } from './exitCodes.js';

export interface MeDevices {
  readonly lme: MeDevice;
  readonly amthi: MeDevice;
  readonly mkhi: MeDevice;
  /** The device node, unless simulated. */
  readonly path?: string;
}

/** The flags `info` and `doctor` share (parseArgs options), and --json. */
export const ME_DEVICE_FLAGS = {
  json: { type: 'boolean' },
  device: { type: 'string' },
  simulate: { type: 'boolean' },
  'sim-unprovisioned': { type: 'boolean' },
  'sim-no-amt': { type: 'boolean' },
} as const;

/** The devices those flags name: --device, or --simulate with --sim-unprovisioned / --sim-no-amt. */
export const meDevices = async (v: { device?: string; simulate?: boolean; 'sim-unprovisioned'?: boolean; 'sim-no-amt'?: boolean }): Promise<MeDevices> => {
  if (v.device !== undefined && v.simulate) throw new UsageError('--device and --simulate exclude each other');
  // Each mode loads only its own device code.
  if (v.simulate) {
    const { SimulatedMe } = await import('../device/simulator/simulatedMe.js');
    const me = new SimulatedMe({ amthi: v['sim-no-amt'] ? false : v['sim-unprovisioned'] ? { provisioningState: 0, controlMode: 0, dnsSuffix: '' } : {} });
    return { lme: me, amthi: me.amthi(), mkhi: me.mkhi() };
  }
  const { MeiDevice } = await import('../device/meiDevice.js');
  const path = v.device ?? '/dev/mei0';
  return {
    lme: new MeiDevice({ path }),
    amthi: new MeiDevice({ path, client: MeClient.Amthi, minProtocolVersion: 1 }),
    mkhi: new MeiDevice({ path, client: MeClient.Mkhi, minProtocolVersion: 1 }),
    path,
  };
};
