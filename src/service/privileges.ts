/**
 * Least privilege for a daemon started as root: once the device is open and the ports are bound,
 * become an unprivileged user. The device is reopened after an ME reset, so that user's group
 * needs the device (the udev rule); ports the ME asks for later need CAP_NET_BIND_SERVICE, which
 * the systemd unit grants instead (lms.service runs unprivileged from the start).
 *
 * The user and group are resolved before anything starts (`planDrop`), so a wrong name is a usage
 * error before a port is bound, not after the daemon has begun to serve.
 */
import { execFileSync } from 'node:child_process';

export interface Dropped {
  readonly uid: number;
  readonly gid: number;
  readonly user?: string;
}

/** What `dropPrivileges` will do: nothing, or become `user` (uid) in group gid. */
export type DropPlan =
  | { readonly kind: 'stay'; readonly why?: string }
  | { readonly kind: 'drop'; readonly user: string; readonly uid: number; readonly gid: number };

interface Log {
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

/** A numeric id that a lookup command prints, or undefined when it fails (no such name). */
const lookupId = (cmd: string, args: string[], field: (out: string) => string | undefined): number | undefined => {
  try {
    const n = Number(field(execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] }).toString()));
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
};
const idOf = (args: string[]): number | undefined => lookupId('id', args, (o) => o.trim());
const groupId = (name: string): number | undefined => lookupId('getent', ['group', name], (o) => o.split(':')[2]);

/** Resolves --control-group: its gid, which this process must be able to give its socket to. */
export const planControlGroup = (name: string | undefined): number | undefined => {
  if (name === undefined) return undefined;
  const gid = groupId(name);
  if (gid === undefined) throw new Error(`--control-group ${name}: no such group`);
  const mine = new Set([process.getegid?.(), ...(process.getgroups?.() ?? [])]);
  if (process.getuid?.() !== 0 && !mine.has(gid))
    throw new Error(
      `--control-group ${name}: lms (uid ${process.getuid?.()}) is not in that group, so it cannot give it the socket (SupplementaryGroups= in the unit)`,
    );
  return gid;
};

/** Resolves --user and --group; throws an Error that names the flag when they cannot be honoured. */
export const planDrop = (user: string | undefined, group: string | undefined): DropPlan => {
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) {
    // Unprivileged already: a user or group other than our own cannot be taken.
    if (user !== undefined && idOf(['-u', user]) !== uid) throw new Error(`--user ${user}: lms runs as uid ${uid}; only root can change user`);
    if (group !== undefined && groupId(group) !== process.getgid?.())
      throw new Error(`--group ${group}: lms runs as gid ${process.getgid?.()}; only root can change group`);
    return { kind: 'stay' };
  }
  const target = user ?? 'lms';
  const targetUid = idOf(['-u', target]);
  if (targetUid === undefined) {
    if (user !== undefined) throw new Error(`--user ${user}: no such user`);
    if (group !== undefined) throw new Error(`--group ${group}: there is no "lms" user to run in that group; pass --user as well`);
    return { kind: 'stay', why: 'running as root: create the "lms" user (see README) or pass --user to drop privileges' };
  }
  if (targetUid === 0) return { kind: 'stay', why: `running as root (--user ${target}): no privileges are dropped` };
  const gid = group === undefined ? idOf(['-g', target]) : groupId(group);
  if (gid === undefined) throw new Error(group === undefined ? `--user ${target}: cannot find its group` : `--group ${group}: no such group`);
  return { kind: 'drop', user: target, uid: targetUid, gid };
};

export const dropPrivileges = (plan: DropPlan, log: Log): Dropped => {
  if (plan.kind === 'stay') {
    if (plan.why) log.warn({}, plan.why);
    return { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 };
  }
  process.setgroups!([plan.gid]);
  process.setgid!(plan.gid);
  process.setuid!(plan.uid);
  log.info({ user: plan.user, uid: process.getuid!(), gid: process.getgid!() }, 'dropped root privileges');
  return { uid: process.getuid!(), gid: process.getgid!(), user: plan.user };
};
