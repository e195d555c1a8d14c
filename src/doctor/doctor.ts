/**
 * `lms doctor` as a library call: what an administrator asks when AMT "does not work", checked in
 * the order the answers depend on each other (driver, device, LME client, the daemon, ports, the
 * kernel's port ranges, IPv6, AMT's provisioning, the NIC AMT shares), one finding each with what to
 * do. Everything the host says is read through a HostView, so a test can hand it a host of its own.
 */
import { execFileSync } from 'node:child_process';
import { AMT_WATCHDOG_IDENTITY } from '../codecs/watchdog.js';
import { readAmtInfo, type AmtInfo } from '../service/amtInfo.js';
import type { DaemonAnswer, DaemonStatus } from '../service/controlClient.js';
import { DeviceError, type MeDevice } from '../device/transport.js';
import { groupName, hostView, listeningInodes, processesHolding, userAccount, type HostView } from './hostView.js';

export type FindingLevel = 'ok' | 'info' | 'warn' | 'fail';

/** One answer: which check, how it went, what was found, and what to do about it. */
export interface Finding {
  readonly check:
    | 'mei-driver'
    | 'device'
    | 'device-access'
    | 'udev-rule'
    | 'lme-client'
    | 'daemon'
    | 'amt-port'
    | 'ephemeral-ports'
    | 'ipv6'
    | 'provisioning'
    | 'amt-nic'
    | 'watchdog';
  readonly level: FindingLevel;
  readonly message: string;
  readonly fix?: string;
}

export interface DoctorOptions {
  /** The LME client to try, unless the daemon is up (it holds the LME then). */
  readonly lme: MeDevice;
  /** The AMTHI client: provisioning state and AMT's wired LAN settings. */
  readonly amthi: MeDevice;
  /** The device node, for the driver, node, permission and holder checks; undefined on the simulated ME. */
  readonly devicePath?: string;
  /** Asks the running daemon for its status (askDaemon), or says why it has none. */
  readonly daemon: () => Promise<DaemonAnswer>;
  /** The user the service runs as (default lms). */
  readonly user?: string;
  /** The ports AMT uses (default 16992-16995, 623, 664). */
  readonly ports?: readonly number[];
  /** Where /sys, /proc, /dev and /etc are (default /). */
  readonly host?: HostView;
  /** What systemd says of lms.service, asked only when the daemon does not answer (default: systemctl show). */
  readonly unit?: () => UnitState | undefined;
}

/** What systemd knows of lms.service: `systemctl show`'s LoadState, ActiveState and ConditionResult. */
export interface UnitState {
  readonly loadState: string;
  readonly activeState: string;
  /** False when systemd skipped the last start because a Condition…= of the unit failed. */
  readonly conditionMet: boolean;
}

/** lms.service as systemd sees it, or undefined where there is no systemd to ask. */
export const systemdUnitState = (): UnitState | undefined => {
  try {
    const out = execFileSync('systemctl', ['show', 'lms.service', '--property=LoadState,ActiveState,ConditionResult'], {
      encoding: 'utf8',
      timeout: 2000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const v = Object.fromEntries(out.split('\n').map((l) => l.split('=', 2) as [string, string]));
    return { loadState: v['LoadState'] ?? '', activeState: v['ActiveState'] ?? '', conditionMet: v['ConditionResult'] !== 'no' };
  } catch {
    return undefined;
  }
};

export const AMT_PORTS = [16992, 16993, 16994, 16995, 623, 664] as const;

/** All is well when nothing warns or fails. */
export const healthy = (findings: readonly Finding[]): boolean => findings.every((f) => f.level === 'ok' || f.level === 'info');

const finding = (level: FindingLevel, check: Finding['check'], message: string, fix?: string): Finding =>
  fix === undefined ? { check, level, message } : { check, level, message, fix };

/** The driver, the node and who may open it. */
const deviceChecks = (host: HostView, path: string, user: string): Finding[] => {
  const out: Finding[] = [];
  const driver = ['sys/module/mei_me', 'sys/module/mei', 'sys/class/mei'].find((p) => host.exists(p));
  out.push(
    driver
      ? finding('ok', 'mei-driver', `the MEI driver is loaded (${driver.replace(/^sys\//, '/sys/')})`)
      : finding(
          'fail',
          'mei-driver',
          'the MEI driver is not loaded',
          'modprobe mei_me; if it does not load, the platform has no Intel ME, or it is disabled in the BIOS',
        ),
  );
  const node = host.stat(path.replace(/^\//, ''));
  if (!node) {
    out.push(noNode(host, path, driver !== undefined));
    return out;
  }
  out.push(finding('ok', 'device', `${path} is there${node.isCharacterDevice() ? '' : ' (not a character device: an emulated device?)'}`));
  const account = userAccount(host, user);
  if (!account)
    out.push(
      finding('fail', 'device-access', `there is no user ${user} to run the service`, 'install the sysusers file: systemd-sysusers (the package does it)'),
    );
  else {
    const mode = node.mode & 0o777;
    const may =
      (account.uid === node.uid && (mode & 0o600) === 0o600) || (account.groups.has(node.gid) && (mode & 0o060) === 0o060) || (mode & 0o006) === 0o006;
    const owner = `owner ${node.uid}, group ${groupName(host, node.gid)}, mode ${mode.toString(8).padStart(4, '0')}`;
    const rule = 'install the udev rule (99-lms-mei.rules: owner lms, mode 0600) and run udevadm trigger --subsystem-match=mei';
    out.push(
      !may
        ? finding('fail', 'device-access', `user ${user} may not open ${path} (${owner})`, rule)
        : (mode & 0o066) !== 0
          ? finding(
              'warn',
              'device-access',
              `not only user ${user} may open ${path} (${owner}): whoever may can read AMT's local system account over AMTHI and administer AMT`,
              rule,
            )
          : finding('ok', 'device-access', `only user ${user} may open ${path} (${owner})`),
    );
  }
  const rule = ['etc/udev/rules.d/99-lms-mei.rules', 'usr/lib/udev/rules.d/99-lms-mei.rules', 'lib/udev/rules.d/99-lms-mei.rules'].find((p) => host.exists(p));
  out.push(
    rule
      ? finding('ok', 'udev-rule', `the udev rule is installed (/${rule})`)
      : finding(
          'warn',
          'udev-rule',
          'the udev rule 99-lms-mei.rules is not installed: /dev/mei* stays root-only after a reboot',
          'install packaging/udev/99-lms-mei.rules in /etc/udev/rules.d/ (the package does it)',
        ),
  );
  return out;
};

/**
 * AMT's watchdog (mei_wdt, identity iamt_wdt), which lms pings so that AMT can tell a console when
 * the OS hangs: whether the kernel offers it, whether the service user may open it, and whether
 * a program other than lms holds it (the watchdog core lets one open at a time).
 */
const watchdogCheck = (host: HostView, user: string, status: DaemonStatus | undefined): Finding => {
  const name = host.list('sys/class/watchdog').find((n) => host.read(`sys/class/watchdog/${n}/identity`)?.trim() === AMT_WATCHDOG_IDENTITY);
  if (!name)
    return finding(
      'info',
      'watchdog',
      `no AMT watchdog (${AMT_WATCHDOG_IDENTITY}): AMT cannot tell a console when the OS hangs`,
      'modprobe mei_wdt, where AMT is provisioned (lms pings it once it is there)',
    );
  const path = `/dev/${name}`;
  const node = host.stat(`dev/${name}`);
  const account = userAccount(host, user);
  if (!node || !account || !(account.uid === node.uid && (node.mode & 0o200) !== 0))
    return finding(
      'warn',
      'watchdog',
      `user ${user} may not open AMT's watchdog ${path}${node ? ` (owner ${node.uid}, mode ${(node.mode & 0o777).toString(8).padStart(4, '0')})` : ': no node'}`,
      'install the udev rule (99-lms-mei.rules gives user lms the iamt_wdt watchdog) and run udevadm trigger --subsystem-match=watchdog',
    );
  const others = processesHolding(host, (t) => t === path).filter((p) => p.pid !== status?.pid);
  if (others.length > 0)
    return finding(
      'warn',
      'watchdog',
      `AMT's watchdog ${path} is held by ${others.map((p) => `pid ${p.pid} (${p.name}: ${p.command})`).join(', ')}: lms cannot ping it`,
      'stop the program that holds it (Intel LMS pings it too: it and lms cannot both run)',
    );
  return finding('ok', 'watchdog', `AMT's watchdog is ${path} (${AMT_WATCHDOG_IDENTITY}); user ${user} may open it`);
};

/**
 * Why there is no node, from what the kernel shows: no MEI driver at all; the MEI core without
 * mei_me (the driver for Intel's ME); mei_me that found no ME (a platform without one, or with it
 * off in the BIOS: the common case on AMD and on consumer machines); or an ME without a node.
 */
const noNode = (host: HostView, path: string, driver: boolean): Finding => {
  if (!driver) return finding('fail', 'device', `no device node at ${path}`, 'load the driver first (above)');
  if (!host.exists('sys/module/mei_me'))
    return finding('fail', 'device', `no device node at ${path}: the MEI core is loaded, but not mei_me, its driver for Intel's ME`, 'modprobe mei_me');
  const found = host.list('sys/class/mei');
  if (found.length === 0)
    return finding(
      'fail',
      'device',
      `no device node at ${path}: mei_me is loaded but found no ME`,
      'this platform has no Intel ME, or it is disabled in the BIOS: there is nothing for lms to serve here',
    );
  return finding(
    'fail',
    'device',
    `no device node at ${path}, although the kernel has ${found.map((d) => `/dev/${d}`).join(', ')}`,
    `give lms the device the kernel made (--device /dev/${found[0]}), or check udev: udevadm trigger --subsystem-match=mei`,
  );
};

/** Who holds the LME, when it is busy: the processes with /dev/mei* open. */
const holders = (host: HostView, path: string | undefined): string => {
  const held = processesHolding(host, (t) => t === path || /^\/dev\/mei\d+$/.test(t));
  return held.length === 0
    ? 'no process here has it open (run lms doctor as root to see them all)'
    : held.map((p) => `pid ${p.pid} (${p.name}: ${p.command})`).join(', ');
};

const lmeCheck = async (options: DoctorOptions, host: HostView, status: DaemonStatus | undefined): Promise<Finding> => {
  if (status) return finding('ok', 'lme-client', 'the LME client is held by the running lms, as it should be');
  try {
    const c = await options.lme.connect();
    c.close();
    return finding('ok', 'lme-client', `the LME client answers (max_msg_length ${c.maxMsgLength}, protocol version ${c.protocolVersion})`);
  } catch (err) {
    const e = err instanceof DeviceError ? err : new DeviceError('ENODEV', String(err));
    if (e.code === 'EBUSY')
      return finding(
        'fail',
        'lme-client',
        `the LME client is busy: ${holders(host, options.devicePath)}`,
        'another LMS holds it (Intel LMS: systemctl stop lms; or an lms run by hand): stop it, then start lms',
      );
    return finding('fail', 'lme-client', e.message);
  }
};

/** lms is not running: the advice follows what systemd says of the unit. */
const notRunning = (path: string, unit: UnitState | undefined): Finding => {
  const said = `lms is not running (nothing answers on ${path})`;
  if (unit?.loadState === 'not-found')
    return finding('warn', 'daemon', `${said}; lms.service is not installed`, 'install the package, or the unit packaging/systemd/lms.service');
  if (unit && !unit.conditionMet && unit.activeState !== 'failed')
    return finding(
      'warn',
      'daemon',
      `${said}: systemd skipped lms.service, because its start condition failed (no /dev/mei0 when it was started)`,
      'the device starts lms when it appears (udev rule 99-lms-mei.rules); if it is there now, systemctl start lms',
    );
  if (unit?.activeState === 'failed') return finding('warn', 'daemon', `${said}: lms.service failed`, 'journalctl -u lms says why; then systemctl restart lms');
  return finding('warn', 'daemon', said, 'systemctl start lms; journalctl -u lms says why it stopped');
};

const daemonCheck = (answer: DaemonAnswer, unit: () => UnitState | undefined): Finding => {
  if (answer.kind !== 'status') {
    if (answer.kind === 'not-running') return notRunning(answer.path, unit());
    if (answer.kind === 'denied')
      return finding(
        'warn',
        'daemon',
        `lms may be running, but this user may not ask it: ${answer.detail}`,
        "run lms doctor as root, or as a member of the socket's group",
      );
    return finding('warn', 'daemon', `lms did not answer on ${answer.path}: ${answer.detail}`, 'journalctl -u lms; lms status');
  }
  const status = answer.status;
  const s = status.session;
  if (s.phase === 'ready')
    return finding('ok', 'daemon', `lms runs on ${status.device}; the session is ready, forwarding ${s.forwards.join(', ') || 'no port yet'}`);
  return finding(
    'warn',
    'daemon',
    `lms runs on ${status.device} but its session is ${s.phase}${status.lastDeviceError ? ` (last device error: ${status.lastDeviceError})` : ''}`,
    'journalctl -u lms; lms status',
  );
};

/**
 * Who listens on each AMT port: lms, another program, or nobody. A holder is lms only when it is
 * the process the control socket answered for: a name or a command line proves nothing.
 */
const portChecks = (host: HostView, ports: readonly number[], status: DaemonStatus | undefined): Finding[] => {
  const out: Finding[] = [];
  const isLms = (p: { pid: number }): boolean => status?.pid !== undefined && p.pid === status.pid;
  const named = (ps: readonly { pid: number; name: string; command: string }[]): string => ps.map((p) => `pid ${p.pid} (${p.name}: ${p.command})`).join(', ');
  for (const port of ports) {
    const inodes = new Set(listeningInodes(host, port));
    if (inodes.size === 0) continue;
    const owners = processesHolding(host, (t) => {
      const m = /^socket:\[(\d+)\]$/.exec(t);
      return m !== null && inodes.has(m[1]!);
    });
    const others = owners.filter((p) => !isLms(p));
    if (owners.length > 0 && others.length === 0) out.push(finding('ok', 'amt-port', `port ${port}: lms listens (pid ${owners.map((p) => p.pid).join(', ')})`));
    else if (others.length > 0 && !status)
      out.push(
        finding(
          'warn',
          'amt-port',
          `port ${port} is held by ${named(others)}, which the daemon did not confirm as lms (its control socket did not answer)`,
          `if that is not lms, stop it (ss -ltnp 'sport = :${port}')`,
        ),
      );
    else if (others.length > 0)
      out.push(
        finding(
          'fail',
          'amt-port',
          `port ${port} is held by ${named(others)}, not by lms (pid ${status!.pid ?? '?'}): lms cannot forward it there`,
          `stop that program, or move it off the port (ss -ltnp 'sport = :${port}')`,
        ),
      );
    else out.push(finding('warn', 'amt-port', `port ${port} is held by a process this user cannot see`, 'run lms doctor as root to name it'));
  }
  for (const f of status?.partialForwards ?? [])
    out.push(
      finding(
        'warn',
        'amt-port',
        `port ${f.port} is forwarded in part: lms could not bind it on ${f.unbound.join(', ')}, so local programs there reach whatever holds it`,
        `find the holder (ss -ltnp 'sport = :${f.port}'), stop it, then systemctl restart lms`,
      ),
    );
  if (out.length === 0) out.push(finding('info', 'amt-port', `nothing listens on the AMT ports (${ports.join(', ')})`));
  return out;
};

/** Ports in the kernel's ephemeral range that are not reserved: the host may take one for an outgoing connection. */
const ephemeralCheck = (host: HostView, ports: readonly number[]): Finding => {
  const range = host.read('proc/sys/net/ipv4/ip_local_port_range')?.trim().split(/\s+/).map(Number);
  if (range?.length !== 2) return finding('info', 'ephemeral-ports', 'the ephemeral port range could not be read');
  const [lo, hi] = range as [number, number];
  const reserved = new Set<number>();
  for (const part of (host.read('proc/sys/net/ipv4/ip_local_reserved_ports') ?? '').trim().split(',').filter(Boolean)) {
    const [a, b = a] = part.split('-').map(Number) as [number, number?];
    for (let p = a; p <= b!; p++) reserved.add(p);
  }
  const exposed = ports.filter((p) => p >= lo && p <= hi && !reserved.has(p));
  if (exposed.length === 0)
    return finding(
      'ok',
      'ephemeral-ports',
      `no AMT port is open to outgoing connections (ephemeral range ${lo}-${hi}${reserved.size ? ', AMT ports reserved' : ''})`,
    );
  return finding(
    'warn',
    'ephemeral-ports',
    `ports ${exposed.join(', ')} lie in the ephemeral range ${lo}-${hi} and are not reserved: an outgoing connection may take one, and lms then cannot listen on it`,
    `reserve them with the ports you reserve already: a file in /etc/sysctl.d/ with net.ipv4.ip_local_reserved_ports = ${exposed.join(',')} (and yours), then sysctl --system`,
  );
};

const ipv6Check = (host: HostView): Finding => {
  const off = host.read('proc/sys/net/ipv6/conf/all/disable_ipv6')?.trim() === '1' || !host.exists('proc/net/if_inet6');
  return off
    ? finding('info', 'ipv6', 'IPv6 is disabled in the kernel: lms serves 127.0.0.1 only, not ::1')
    : finding('ok', 'ipv6', 'IPv6 is on: lms serves 127.0.0.1 and ::1');
};

/** AMT's own facts: provisioned or not, and the host interface whose MAC AMT's wired LAN shares. */
const amtChecks = (host: HostView, info: AmtInfo | undefined, why: string | undefined): Finding[] => {
  if (!info) return [finding('fail', 'provisioning', `AMT does not answer over AMTHI: ${why}`, 'enable AMT in the BIOS or MEBx; lms info says more')];
  const out: Finding[] = [];
  const p = info.provisioningState;
  if (!p) out.push(finding('warn', 'provisioning', 'AMT did not say whether it is provisioned'));
  else if (p.code === 2) out.push(finding('ok', 'provisioning', `AMT is provisioned (${info.controlMode?.name ?? 'control mode unknown'})`));
  else
    out.push(
      finding(
        'warn',
        'provisioning',
        `AMT is not provisioned (${p.name}): its ports answer only after activation`,
        'activate it (rpc-go activate, or in MEBx)',
      ),
    );
  const mac = info.wiredLan?.mac?.toLowerCase();
  if (!mac) return out;
  const nic = host.list('sys/class/net').find((n) => host.read(`sys/class/net/${n}/address`)?.trim().toLowerCase() === mac);
  if (!nic) {
    out.push(finding('info', 'amt-nic', `no host interface has AMT's wired MAC ${mac}`));
    return out;
  }
  const master = host.link(`sys/class/net/${nic}/master`)?.split('/').pop();
  out.push(
    master
      ? finding(
          'warn',
          'amt-nic',
          `${nic} shares its MAC ${mac} with AMT's wired LAN and is enslaved to ${master}: AMT traffic on a NIC in a bond or team is lost to the aggregation`,
          `take ${nic} out of ${master}, or give AMT a NIC of its own`,
        )
      : finding('ok', 'amt-nic', `${nic} shares its MAC ${mac} with AMT's wired LAN`),
  );
  return out;
};

export const runDoctor = async (options: DoctorOptions): Promise<Finding[]> => {
  const host = options.host ?? hostView();
  const ports = options.ports ?? AMT_PORTS;
  const answer = await options.daemon();
  const status = answer.kind === 'status' ? answer.status : undefined;
  const findings = options.devicePath
    ? deviceChecks(host, options.devicePath, options.user ?? 'lms')
    : [finding('info', 'device', 'the simulated ME: no driver, device node or udev rule to check')];
  // Without a node there is no ME to ask: the findings above already say what to do.
  const noNode = findings.some((f) => f.check === 'device' && f.level === 'fail');
  findings.push(noNode ? finding('info', 'lme-client', 'not asked: no device node') : await lmeCheck(options, host, status));
  findings.push(daemonCheck(answer, options.unit ?? systemdUnitState), ...portChecks(host, ports, status), ephemeralCheck(host, ports), ipv6Check(host));
  if (options.devicePath) findings.push(watchdogCheck(host, options.user ?? 'lms', status));
  if (noNode) findings.push(finding('info', 'provisioning', 'AMT not asked: no device node'));
  else {
    let info: AmtInfo | undefined;
    let why: string | undefined;
    try {
      info = await readAmtInfo(options.amthi);
    } catch (err) {
      why = err instanceof Error ? err.message : String(err);
    }
    findings.push(...amtChecks(host, info, why));
  }
  return findings;
};
