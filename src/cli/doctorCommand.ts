/** `lms doctor`: what an administrator asks when AMT "does not work", one line per finding. */
import { parseArgs } from 'node:util';
import { healthy, runDoctor, type Finding } from '../doctor/doctor.js';
import { askDaemon } from '../service/controlClient.js';
import { Exit, UsageError } from './exitCodes.js';
import { ME_DEVICE_FLAGS, meDevices } from './meDevices.js';

export const DOCTOR_HELP = `Usage: lms doctor [--json] [--device <path> | --simulate] [--control-socket <path>] [--user <name>]

Checks, one line per finding with what to do: the MEI driver, the device node and whether the
service's user may open it (group, udev rule), the LME client (and who holds it when busy), the
daemon and its session, programs holding an AMT port, the ephemeral port range against the AMT
ports, IPv6, AMT's provisioning, and the host NIC that shares its MAC with AMT (in a bond or team?).
  --device <path>          the MEI device (default /dev/mei0)
  --simulate               check against the simulated ME (no driver or device node)
  --sim-unprovisioned      the simulated AMT is not provisioned yet
  --sim-provisioning <p>   the simulated AMT's provisioning: pre, ccm (default) or acm
  --sim-amt-version <v>    the simulated AMT's version, e.g. 16.1 or 19.0
  --sim-no-amt             the simulated platform has no AMT
  --control-socket <path>  the daemon's control socket (default as for lms status)
  --user <name>            the user the service runs as (default lms)
  --json                   one JSON object: {"healthy": ..., "findings": [...]}

Exit codes: 0 all is well, 2 usage error, 6 a finding warns or fails.`;

const MARK: Record<Finding['level'], string> = { ok: 'ok  ', info: 'info', warn: 'WARN', fail: 'FAIL' };
const line = (f: Finding): string => `${MARK[f.level]}  ${f.message}${f.fix ? `\n      -> ${f.fix}` : ''}`;

export const doctorCommand = async (argv: readonly string[]): Promise<number> => {
  let v;
  try {
    v = parseArgs({
      args: [...argv],
      strict: true,
      options: { ...ME_DEVICE_FLAGS, 'control-socket': { type: 'string' }, user: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nRun 'lms doctor --help' for the options.`);
  }
  if (v.help) {
    process.stdout.write(`${DOCTOR_HELP}\n`);
    return Exit.Ok;
  }
  const { lme, amthi, path: devicePath } = await meDevices(v);
  const daemon = () => askDaemon(v['control-socket'], 2000);
  const findings = await runDoctor({ lme, amthi, daemon, ...(devicePath ? { devicePath } : {}), ...(v.user ? { user: v.user } : {}) });
  const ok = healthy(findings);
  process.stdout.write(v.json ? `${JSON.stringify({ healthy: ok, findings }, null, 2)}\n` : `${findings.map(line).join('\n')}\n`);
  return ok ? Exit.Ok : Exit.Findings;
};
