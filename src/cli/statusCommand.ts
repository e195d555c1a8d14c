/** `lms status`: asks the running daemon over its control socket. */
import { parseArgs } from 'node:util';
import { askDaemon } from '../service/controlClient.js';
import { describeUser } from '../service/userNames.js';
import type { LmsStatus } from '../service/lmsService.js';
import { Exit, UsageError } from './exitCodes.js';

export const STATUS_HELP = `Usage: lms status [--json] [--control-socket <path>]

Shows the running daemon's session state, the ME's protocol version and UUID, forwarded ports,
open channels with bytes, age and the local user whose connection each is, the slots each user
holds and the connections each has waiting, queue length, resets and protocol errors, AMT's
events by category with the last ten (lms events follows them as they come), and the host
services' last runs. Without
--control-socket it asks the daemon this user started, else the system daemon (/run/lms/lms.sock,
which root and members of group lms-status may ask).

Exit codes: 0 ok, 2 usage error, 4 the daemon is not running, 7 this user may not ask it.`;

type DutyReport = import('../duties/duty.js').DutyReport;
const duty = (name: string, d: DutyReport | undefined): string | undefined => {
  if (!d) return undefined;
  if (!d.enabled) return `${name.padEnd(16)} off`;
  if (!d.lastRunAt) return `${name.padEnd(16)} not run yet`;
  return `${name.padEnd(16)} ${d.error ? `failed: ${d.error}` : d.result} (${d.occasion}, ${d.lastRunAt})`;
};

/** A user as the daemon named it: login name and uid, or the uid alone. */
const who = (u: { owner: number; user?: string }): string => describeUser(u.owner, u.user);

const human = (
  s: LmsStatus & {
    simulator?: Record<string, unknown>;
    duties?: Partial<Record<'hostFqdn' | 'timeSync' | 'powerOps' | 'ciraReconnect' | 'sharedStaticIp' | 'watchdog', DutyReport>>;
  },
): string => {
  const lines = [
    `device:          ${s.device}`,
    `session:         ${s.session.phase}`,
    `ME version:      ${s.meVersion ? `${s.meVersion.major}.${s.meVersion.minor}, UUID ${s.meVersion.uuid}` : 'not yet known'}`,
    `forwarded ports: ${s.session.forwards.join(', ') || 'none'}   listening: ${s.session.listening.join(', ') || 'none'}`,
    ...s.partialForwards.map((f) => `forwarded in part: port ${f.port} is not bound on ${f.unbound.join(', ')} (another program may hold it there)`),
    `channels open:   ${s.channels.length}   waiting: ${s.session.queued}`,
    `connects: ${s.counters.connects}   resets: ${s.counters.resets}   protocol errors: ${s.counters.protocolErrors}   refused: ${s.counters.refused}   reclaimed: ${s.counters.reclaimed ?? 0}   notifications: ${s.counters.notifications}${s.counters.goneBeforeAccept ? `   reset before accept: ${s.counters.goneBeforeAccept}` : ''}${s.counters.sessionFailures ? `   session failures (bugs): ${s.counters.sessionFailures}` : ''}`,
  ];
  for (const c of s.channels)
    lines.push(
      `  #${c.id} (ME ${c.meId}) ${c.peer.address}:${c.peer.port} -> ${c.local.port}  ${who(c)}  ${c.bytesToMe} B to ME, ${c.bytesFromMe} B from ME, ${(c.ageMs / 1000).toFixed(1)} s`,
    );
  // Slots and waiting places are shared by user: who holds and who waits.
  for (const u of s.users ?? []) lines.push(`user ${who(u)}: holds ${u.holding} of the ME's slots, ${u.waiting} waiting`);
  if (s.lastDeviceError) lines.push(`last device error: ${s.lastDeviceError}`);
  // An older daemon sends no events: nothing to show then.
  if (s.amtEvents) {
    const by = Object.entries(s.amtEvents.byCategory).map(([c, n]) => `${c} ${n}`);
    lines.push(`AMT events:      ${s.amtEvents.count}${by.length ? ` (${by.join(', ')})` : ''}`);
    for (const e of s.amtEvents.recent) lines.push(`  ${e.time} ${e.text} (${e.key})`);
  }
  if (s.duties) {
    for (const [name, d] of [
      ['host FQDN:', s.duties.hostFqdn],
      ['AMT clock:', s.duties.timeSync],
      ['graceful power:', s.duties.powerOps],
      ['CIRA reconnect:', s.duties.ciraReconnect],
      ['shared IP:', s.duties.sharedStaticIp],
      ['AMT watchdog:', s.duties.watchdog],
    ] as const) {
      const line = duty(name, d);
      if (line) lines.push(line);
    }
    const requests = (s.duties.powerOps?.details?.['requests'] ?? []) as { at: string; request: string; done: string }[];
    for (const r of requests) lines.push(`  remote ${r.request} at ${r.at}: ${r.done}`);
  }
  return lines.join('\n');
};

/** The flags of a command that asks the running daemon: --json, --control-socket, --help (its text printed). */
export const parseDaemonQueryArgs = (argv: readonly string[], help: string): { json: boolean; controlSocket: string | undefined } | 'help' => {
  let v;
  try {
    v = parseArgs({
      args: [...argv],
      strict: true,
      options: { json: { type: 'boolean' }, 'control-socket': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (v.help) {
    process.stdout.write(`${help}\n`);
    return 'help';
  }
  return { json: v.json === true, controlSocket: v['control-socket'] };
};

export const statusCommand = async (argv: readonly string[]): Promise<number> => {
  const v = parseDaemonQueryArgs(argv, STATUS_HELP);
  if (v === 'help') return Exit.Ok;
  const answer = await askDaemon(v.controlSocket);
  if (answer.kind !== 'status') {
    process.stderr.write(`lms status: no answer on ${answer.path}: ${answer.detail}\n`);
    return answer.kind === 'denied' ? Exit.NotPermitted : Exit.NotRunning;
  }
  process.stdout.write(v.json ? `${JSON.stringify(answer.status, null, 2)}\n` : `${human(answer.status)}\n`);
  return Exit.Ok;
};
