/** `lms run` flags: parsed strictly, merged over the configuration file, validated once. */
import { parseArgs } from 'node:util';
import { bindAddressProblem } from '../streams/loopback.js';
import { optionRanges, rangeProblem, type RangedOption } from '../streams/sessionTypes.js';
import { loadConfigFile, LogFormat, LogLevel, parseConfig, type RunConfig } from './config.js';
import { forwardsTlsOnly, type SimProvisioning } from '../device/simulator/amt/profiles.js';
import { UsageError } from './exitCodes.js';
import { parseSimAmtFlags } from './meDevices.js';

export const RUN_HELP = `Usage: lms run [options]

Runs the Local Manageability Service: connects to the ME's LME client and forwards the ports the
ME asks for (16992/16993, 623/664) from loopback addresses only.

Device (one of):
  --device <path>        the MEI device (default /dev/mei0; a regular file emulating it is accepted)
  --simulate             run on the built-in simulated ME (what \`npm start\` does)
  --sim-profile <p>      simulated ports: plain (16992+623, default), tls (16993+664), both
  --sim-ports <a,b,...>  forward these ports instead (the first serves HTTP, the others echo),
                         to run beside another LMS or without root
  --sim-window <bytes>   the window the simulated ME advertises per channel (default 4096; the
                         real ME's is undocumented), to see how uploads depend on it
  --sim-fault <f@secs>   inject a fault into the simulated ME after secs seconds (repeatable):
                         reset, stale-close, open-failure-4, open-failure-1, open-failure-2,
                         slow-window, notify, malformed, disconnect; graceful-shutdown,
                         graceful-reboot, graceful-sleep, graceful-hibernate (a console's request);
                         cira-drop (AMT loses its tunnel to the MPS: needs --sim-cira)
  --sim-clock-skew <s>   the simulated AMT's clock runs this many seconds ahead (behind: --sim-clock-skew=-60)
  --sim-no-time-sync     the simulated AMT forbids the OS to set its clock (LocalTimeSyncEnabled 2)
  --sim-amt-version <v>  the simulated AMT's version, e.g. 11.8, 16.1 (default 16.1.30) or 19.0:
                         from 19 on the ME forwards only 16993 and 664 (TLS), as real AMT does
  --sim-provisioning <p> pre (not activated: a tool may activate it), ccm (client control mode,
                         the default) or acm (admin control mode)
  --sim-state <file>     keep the simulated AMT's realm and what tools changed (an activation,
                         settings) in this JSON file, across restarts
  --sim-trusted-root <sha256>  a root certificate's SHA-256 fingerprint that the simulated AMT
                         trusts for admin control mode activation (repeatable)
  --sim-cira             the simulated AMT is set up for CIRA: an MPS, a periodic policy that
                         keeps the tunnel for ever and a user-initiated one; it is outside the
                         enterprise and connected

Listening:
  --bind <address>       a literal loopback address to listen on, 127.x.x.x or ::1 (repeatable;
                         default 127.0.0.1 and ::1). Names (localhost) and other addresses are refused.
  --reserve-ports        bind 16992, 16993, 623 and 664 at start and keep them across ME resets

Channels:
  --window <bytes>       the receive window advertised to the ME per channel (default 65536,
                         at most 4294967295)
  --max-channels <n>     channels open at once (default 8: the ME has 8 slots; at most 64)
  --reclaim-idle-ms <ms> while other clients wait for a slot, close a channel to 16992/16993 that
                         moved no byte either way for this long (default 10000; 0: never)
  --reclaim-answer-ms <ms>  ... or whose request the ME left unanswered this long, counted from
                         its first byte (default 60000; 0: never). Other ports are never reclaimed.

Service:
  --config <file>        JSON configuration; flags override it. Keys: device, simulate, bind,
                         reservePorts, window, maxChannels, reclaimIdleMs, reclaimAnswerMs,
                         logLevel, logFormat, controlSocket, controlGroup, user, group, metricsPort, simProfile,
                         hostFqdn, timeSync, powerOps, ciraReconnect, sharedStaticIp, watchdog,
                         watchdogDevice
                         (a regular file of at most 64 KiB; SIGHUP re-reads it)
  --log-level <level>    fatal, error, warn, info (default), debug, trace (trace logs payload bytes)
  --log-format <f>       text (time, level, message, fields), json (one JSON object a line), or
                         auto (default: text on a terminal or the journal, JSON otherwise). Under
                         systemd each line carries its syslog priority for journalctl -p
  --control-socket <p>   where \`lms status\` connects (default /run/lms/lms.sock as root,
                         else $XDG_RUNTIME_DIR/lms.sock or /tmp/lms-<uid>.sock)
  --control-group <name> members of this group may run \`lms status\` too (socket mode 0660;
                         the package uses lms-status); by default only the socket's owner may
  --user <name>          started as root: drop to this user after binding (default lms, if it exists)
  --group <name>         and this group (default: the user's group)
  --metrics-port <port>  serve Prometheus metrics on 127.0.0.1:<port> (off by default)

Host duties (each on by default; config keys hostFqdn, timeSync, powerOps, ciraReconnect,
sharedStaticIp, watchdog set to false turn one off):
  --no-host-fqdn         do not send the host's FQDN to AMT (at start, then hourly when it changed)
  --no-time-sync         do not set AMT's clock to the host's (once forwarding is up, daily,
                         after each resume from sleep, and when a console allows it: alert
                         iAMT0069; when it is more than 30 s off)
  --no-power-ops         do not advertise or carry out remote graceful shutdown, reboot, sleep
                         and hibernate (through logind on the system bus)
  --no-cira-reconnect    do not ask AMT to reopen its tunnel to its management server (MPS) when
                         it is outside the enterprise, has a link and is not connected (every 15
                         minutes, after a resume and when the tunnel closes, while AMT has a
                         periodic and a user-initiated remote access policy)
  --no-shared-static-ip  do not write the host's IPv4 settings of the NIC AMT shares (its MAC) to
                         AMT when they change, where AMT shares the host's IP (IpSyncEnabled)
  --no-watchdog          do not ping AMT's watchdog (the mei_wdt device, identity iamt_wdt,
                         every 60 s with a 120 s timeout, so that AMT can tell a console when
                         the OS hangs). Off with --simulate unless --watchdog-device names one
  --watchdog-device <p>  AMT's watchdog device (default: the one whose identity is iamt_wdt
                         among /sys/class/watchdog; its identity is checked either way)
  -h, --help             this text

Exit codes: 0 stopped cleanly, 1 internal error, 2 usage error, 3 no usable ME device.`;

export interface RunOptions extends RunConfig {
  readonly configPath?: string;
  readonly faults: readonly { name: string; atMs: number }[];
  readonly simPorts?: readonly number[];
  readonly simWindow?: number;
  readonly simClockSkewS?: number;
  readonly simNoTimeSync?: boolean;
  readonly simAmtVersion?: string;
  readonly simProvisioning?: SimProvisioning;
  readonly simState?: string;
  readonly simTrustedRoots?: readonly string[];
  readonly simCira?: boolean;
}

const FAULTS = new Set([
  'reset',
  'stale-close',
  'open-failure-4',
  'open-failure-1',
  'open-failure-2',
  'slow-window',
  'notify',
  'malformed',
  'disconnect',
  'graceful-shutdown',
  'graceful-reboot',
  'graceful-sleep',
  'graceful-hibernate',
  'cira-drop',
]);

/** A whole number in [min, max], or a usage error that names the flag and the range. */
const intIn = (flag: string, v: string | undefined, min: number, max: number): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UsageError(`${flag} needs a whole number from ${min} to ${max}, not ${JSON.stringify(v)}`);
  return Number(v);
};
const ranged = (flag: string, v: string | undefined, name: RangedOption): number | undefined => intIn(flag, v, optionRanges[name][0], optionRanges[name][1]);

export const parseRunArgs = (argv: readonly string[]): RunOptions | 'help' => {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        device: { type: 'string' },
        simulate: { type: 'boolean' },
        'sim-profile': { type: 'string' },
        'sim-ports': { type: 'string' },
        'sim-fault': { type: 'string', multiple: true },
        'sim-window': { type: 'string' },
        'sim-clock-skew': { type: 'string' },
        'sim-no-time-sync': { type: 'boolean' },
        'sim-amt-version': { type: 'string' },
        'sim-provisioning': { type: 'string' },
        'sim-state': { type: 'string' },
        'sim-trusted-root': { type: 'string', multiple: true },
        'sim-cira': { type: 'boolean' },
        'no-host-fqdn': { type: 'boolean' },
        'no-time-sync': { type: 'boolean' },
        'no-power-ops': { type: 'boolean' },
        'no-cira-reconnect': { type: 'boolean' },
        'no-watchdog': { type: 'boolean' },
        'no-shared-static-ip': { type: 'boolean' },
        'watchdog-device': { type: 'string' },
        bind: { type: 'string', multiple: true },
        'reserve-ports': { type: 'boolean' },
        window: { type: 'string' },
        'max-channels': { type: 'string' },
        'reclaim-idle-ms': { type: 'string' },
        'reclaim-answer-ms': { type: 'string' },
        config: { type: 'string' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        'control-socket': { type: 'string' },
        'control-group': { type: 'string' },
        user: { type: 'string' },
        group: { type: 'string' },
        'metrics-port': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nRun 'lms run --help' for the options.`);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.device !== undefined && v.simulate) throw new UsageError('--device and --simulate exclude each other');
  for (const a of v.bind ?? []) {
    const problem = bindAddressProblem(a);
    if (problem) throw new UsageError(`--bind ${a}: ${problem}; lms listens on literal loopback addresses only (127.x.x.x, ::1)`);
  }
  if (v['log-format'] !== undefined && !LogFormat.is(v['log-format'])) throw new UsageError(`--log-format ${v['log-format']}: use text, json or auto`);
  if (v['log-level'] !== undefined && !LogLevel.is(v['log-level']))
    throw new UsageError(`--log-level ${v['log-level']}: use one of ${Object.keys(LogLevel.keys).join(', ')}`);
  const faults = (v['sim-fault'] ?? []).map((f) => {
    const m = /^([a-z0-9-]+)(?:@(\d+(?:\.\d+)?))?$/.exec(f);
    if (!m || !FAULTS.has(m[1]!)) throw new UsageError(`--sim-fault ${f}: use <fault>[@seconds] with one of ${[...FAULTS].join(', ')}`);
    return { name: m[1]!, atMs: Math.round(Number(m[2] ?? '0') * 1000) };
  });
  if (
    v.device !== undefined &&
    (faults.length > 0 ||
      v['sim-ports'] !== undefined ||
      v['sim-profile'] !== undefined ||
      v['sim-window'] !== undefined ||
      v['sim-clock-skew'] !== undefined ||
      v['sim-no-time-sync'] ||
      v['sim-amt-version'] !== undefined ||
      v['sim-provisioning'] !== undefined ||
      v['sim-state'] !== undefined ||
      v['sim-trusted-root'] !== undefined ||
      v['sim-cira'])
  )
    throw new UsageError('the --sim-* options need the simulated ME, not --device');
  const skew = v['sim-clock-skew'];
  if (skew !== undefined && !/^-?\d+$/.test(skew)) throw new UsageError(`--sim-clock-skew ${skew}: a whole number of seconds`);
  const simClockSkewS = skew === undefined ? undefined : Number(skew);
  const simWindow = ranged('--sim-window', v['sim-window'], 'window');
  const { amtVersion, provisioning } = parseSimAmtFlags(v);
  for (const h of v['sim-trusted-root'] ?? [])
    if (!/^[0-9a-fA-F]{64}$/.test(h.replace(/:/g, ''))) throw new UsageError(`--sim-trusted-root ${h}: a SHA-256 fingerprint, 64 hex digits (colons allowed)`);
  const simPorts = v['sim-ports']?.split(',').map((p) => {
    if (!/^\d+$/.test(p) || rangeProblem('port', Number(p))) throw new UsageError(`--sim-ports ${v['sim-ports']}: a comma-separated list of ports`);
    return Number(p);
  });

  const fromFile = v.config !== undefined ? loadConfigFile(v.config) : {};
  const flags = parseConfig(
    Object.fromEntries(
      Object.entries({
        device: v.device,
        simulate: v.simulate,
        simProfile: v['sim-profile'],
        bind: v.bind,
        reservePorts: v['reserve-ports'],
        window: ranged('--window', v.window, 'window'),
        maxChannels: ranged('--max-channels', v['max-channels'], 'maxChannels'),
        reclaimIdleMs: ranged('--reclaim-idle-ms', v['reclaim-idle-ms'], 'reclaimIdleMs'),
        reclaimAnswerMs: ranged('--reclaim-answer-ms', v['reclaim-answer-ms'], 'reclaimAnswerMs'),
        logLevel: v['log-level'],
        logFormat: v['log-format'],
        controlSocket: v['control-socket'],
        controlGroup: v['control-group'],
        user: v.user,
        group: v.group,
        metricsPort: ranged('--metrics-port', v['metrics-port'], 'port'),
        hostFqdn: v['no-host-fqdn'] ? false : undefined,
        timeSync: v['no-time-sync'] ? false : undefined,
        powerOps: v['no-power-ops'] ? false : undefined,
        ciraReconnect: v['no-cira-reconnect'] ? false : undefined,
        watchdog: v['no-watchdog'] ? false : undefined,
        sharedStaticIp: v['no-shared-static-ip'] ? false : undefined,
        watchdogDevice: v['watchdog-device'],
      }).filter(([, x]) => x !== undefined),
    ),
    'command line',
  );
  const merged: RunConfig = { ...fromFile, ...flags };
  if (flags.device !== undefined) delete (merged as { simulate?: boolean }).simulate;
  if (flags.simulate) delete (merged as { device?: string }).device;
  if (merged.device !== undefined && merged.simulate) throw new UsageError('the configuration names both a device and simulate');
  if (amtVersion !== undefined && forwardsTlsOnly(amtVersion)) {
    if (merged.simProfile !== undefined && merged.simProfile !== 'tls')
      throw new UsageError(`--sim-amt-version ${amtVersion}: AMT 19 and later forward only 16993 and 664, so the profile is tls, not ${merged.simProfile}`);
    (merged as { simProfile?: string }).simProfile = 'tls';
  }
  return {
    ...merged,
    ...(v.config !== undefined ? { configPath: v.config } : {}),
    ...(simPorts ? { simPorts } : {}),
    ...(simWindow ? { simWindow } : {}),
    ...(simClockSkewS !== undefined ? { simClockSkewS } : {}),
    ...(v['sim-no-time-sync'] ? { simNoTimeSync: true } : {}),
    ...(amtVersion !== undefined ? { simAmtVersion: amtVersion } : {}),
    ...(provisioning !== undefined ? { simProvisioning: provisioning } : {}),
    ...(v['sim-state'] !== undefined ? { simState: v['sim-state'] } : {}),
    ...(v['sim-trusted-root'] !== undefined ? { simTrustedRoots: v['sim-trusted-root'] } : {}),
    ...(v['sim-cira'] ? { simCira: true } : {}),
    faults,
  };
};
