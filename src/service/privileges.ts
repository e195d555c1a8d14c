/**
 * Least privilege for a daemon started as root: once the device is open and the ports are bound,
 * become an unprivileged user. The device is reopened after an ME reset, so that user's group
 * needs the device (the udev rule); ports the ME asks for later need CAP_NET_BIND_SERVICE, which
 * the systemd unit grants instead (lms.service runs unprivileged from the start).
 */
import { execFileSync } from 'node:child_process';

export interface Dropped {
  readonly uid: number;
  readonly gid: number;
  readonly user?: string;
}

interface Log {
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

const userExists = (name: string): boolean => {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** Will `dropPrivileges` change user? (Root, and the user exists.) */
export const willDrop = (user: string | undefined): boolean => process.getuid?.() === 0 && userExists(user ?? 'lms');

export const dropPrivileges = (user: string | undefined, group: string | undefined, log: Log): Dropped => {
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0 || !process.setuid || !process.setgid || !process.setgroups) return { uid, gid: process.getgid?.() ?? -1 };
  const target = user ?? 'lms';
  if (!userExists(target)) {
    if (user !== undefined) throw new Error(`--user ${user}: no such user`);
    log.warn({}, 'running as root: create the "lms" user (see README) or pass --user to drop privileges');
    return { uid, gid: process.getgid!() };
  }
  const lookup = (cmd: string, args: string[], field: (out: string) => string): number => {
    try {
      return Number(field(execFileSync(cmd, args).toString()));
    } catch {
      return NaN;
    }
  };
  const gid = group === undefined ? lookup('id', ['-g', target], (o) => o.trim()) : lookup('getent', ['group', group], (o) => o.split(':')[2] ?? '');
  if (!Number.isInteger(gid)) throw new Error(`--group ${group ?? ''}: no such group`);
  process.setgroups([gid]);
  process.setgid(gid);
  process.setuid(target);
  log.info({ user: target, uid: process.getuid!(), gid: process.getgid!() }, 'dropped root privileges');
  return { uid: process.getuid!(), gid: process.getgid!(), user: target };
};
