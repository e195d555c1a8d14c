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

/** What a lookup command prints, or undefined when it fails (no such name or id). */
const lookup = (cmd: string, args: string[]): string | undefined => {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch {
    return undefined;
  }
};
const whole = (s: string | undefined): number | undefined => (s !== undefined && Number.isInteger(Number(s)) && s.trim() !== '' ? Number(s) : undefined);
const idOf = (args: string[]): number | undefined => whole(lookup('id', args)?.trim());
/** `getent group` of a name or a gid: the entry's fields (name, password, gid, members). */
const groupEntry = (key: string | number): string[] | undefined =>
  lookup('getent', ['group', String(key)])
    ?.trim()
    .split(':');
const groupId = (name: string): number | undefined => whole(groupEntry(name)?.[2]);
/** A group's name, or its number when the host has no name for it. */
export const groupNameOf = (gid: number): string => groupEntry(gid)?.[0] || String(gid);

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
