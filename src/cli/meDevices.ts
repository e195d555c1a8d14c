/** The ME clients a command talks to: on the MEI device, or on a simulated ME (`--simulate`). */
import { MeClient } from '../codecs/mei.js';
import type { MeDevice } from '../device/transport.js';
import { isSimProvisioning, SIM_PROVISIONING, simAmtVersion, type SimProvisioning } from '../device/simulator/amt/profiles.js';
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
  'sim-provisioning': { type: 'string' },
  'sim-amt-version': { type: 'string' },
  'sim-no-amt': { type: 'boolean' },
} as const;

/** --sim-amt-version and --sim-provisioning (--sim-unprovisioned: pre), checked. */
export const parseSimAmtFlags = (v: {
  'sim-unprovisioned'?: boolean;
  'sim-provisioning'?: string;
  'sim-amt-version'?: string;
}): { amtVersion?: string; provisioning?: SimProvisioning } => {
  const provisioning = v['sim-unprovisioned'] ? 'pre' : v['sim-provisioning'];
  if (provisioning !== undefined && !isSimProvisioning(provisioning)) throw new UsageError(`--sim-provisioning ${provisioning}: use pre, ccm or acm`);
  const version = v['sim-amt-version'];
  const amtVersion = version === undefined ? undefined : simAmtVersion(version);
  if (version !== undefined && amtVersion === undefined) throw new UsageError(`--sim-amt-version ${version}: major.minor[.hotfix], e.g. 16.1 or 19.0`);
  return { ...(amtVersion ? { amtVersion } : {}), ...(provisioning ? { provisioning } : {}) };
};

/** The devices those flags name: --device, or --simulate with the --sim-* flags that shape its AMT. */
export const meDevices = async (
  v: { device?: string; simulate?: boolean; 'sim-no-amt'?: boolean } & Parameters<typeof parseSimAmtFlags>[0],
): Promise<MeDevices> => {
  if (v.device !== undefined && v.simulate) throw new UsageError('--device and --simulate exclude each other');
  const { amtVersion, provisioning } = parseSimAmtFlags(v);
  // Each mode loads only its own device code.
  if (v.simulate) {
    const { SimulatedMe } = await import('../device/simulator/simulatedMe.js');
    const me = new SimulatedMe({
      ...(amtVersion ? { amtVersion } : {}),
      // A platform not yet provisioned has no DNS suffix from its configuration either.
      amthi: v['sim-no-amt'] ? false : provisioning ? { ...SIM_PROVISIONING[provisioning], ...(provisioning === 'pre' ? { dnsSuffix: '' } : {}) } : {},
    });
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
