/** `lms info`: AMT facts over the AMTHI client, without credentials. */
import { parseArgs } from 'node:util';
import { DeviceError } from '../device/transport.js';
import { readAmtInfo, type AmtInfo } from '../service/amtInfo.js';
import { Exit, UsageError } from './exitCodes.js';
import { ME_DEVICE_FLAGS, meDevices } from './meDevices.js';

export const INFO_HELP = `Usage: lms info [--json] [--device <path> | --simulate]

Reads from the ME's AMTHI client (no credentials needed, none are read): AMT, firmware and BIOS
versions, provisioning state, control mode, platform UUID, DNS suffix, wired LAN settings.
  --device <path>        the MEI device (default /dev/mei0)
  --simulate             ask the simulated ME instead
  --sim-unprovisioned    the simulated AMT is not provisioned yet
  --sim-provisioning <p> the simulated AMT's provisioning: pre, ccm (default) or acm
  --sim-amt-version <v>  the simulated AMT's version, e.g. 16.1 or 19.0
  --sim-no-amt           the simulated platform has no AMT
  --json                 one JSON object

Exit codes: 0 answered, 2 usage error, 3 no ME or no AMTHI client (AMT absent or disabled).`;

const text = (i: AmtInfo): string => {
  const lines: string[] = [];
  const row = (k: string, v: string | undefined): void => void (v !== undefined && lines.push(`${k.padEnd(20)} ${v}`));
  row('AMT version:', i.amtVersion);
  row('firmware version:', i.firmwareVersion);
  row('BIOS version:', i.biosVersion);
  row('provisioning state:', i.provisioningState?.name);
  row('control mode:', i.controlMode?.name);
  row('platform UUID:', i.uuid);
  row('DNS suffix:', i.dnsSuffix === '' ? '(none)' : i.dnsSuffix);
  if (i.wiredLan) {
    const l = i.wiredLan;
    row(
      'wired LAN:',
      `${l.enabled ? 'enabled' : 'disabled'}, link ${l.linkUp ? 'up' : 'down'}, MAC ${l.mac}, IPv4 ${l.ipv4}, DHCP ${l.dhcpEnabled ? `on (${l.dhcpMode === 2 ? 'active' : 'passive'})` : 'off'}`,
    );
  }
  if (i.provisioningState?.code === 0)
    lines.push('note: AMT is not provisioned: until a tool activates it (host-based setup, e.g. rpc-go activate --local), its WS-Man answers activation only.');
  for (const e of i.errors) lines.push(`not available: ${e.query}: ${e.error}`);
  return lines.join('\n');
};

export const infoCommand = async (argv: readonly string[]): Promise<number> => {
  let v;
  try {
    v = parseArgs({
      args: [...argv],
      strict: true,
      options: { ...ME_DEVICE_FLAGS, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nRun 'lms info --help' for the options.`);
  }
  if (v.help) {
    process.stdout.write(`${INFO_HELP}\n`);
    return Exit.Ok;
  }
  const { amthi: device, mkhi } = await meDevices(v);
  let info: AmtInfo;
  try {
    info = await readAmtInfo(device, { mkhi });
  } catch (err) {
    if (!(err instanceof DeviceError)) throw err;
    process.stderr.write(`lms info: ${err.message}\n`);
    return Exit.NoDevice;
  }
  process.stdout.write(v.json ? `${JSON.stringify(info, null, 2)}\n` : `${text(info)}\n`);
  return Exit.Ok;
};
