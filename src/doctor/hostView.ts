/**
 * The host as `lms doctor` reads it: /sys, /proc, /dev and /etc under one root, so that a test can
 * hand it a tree of its own (a fake /proc with a process holding a port, a NIC in a bond) and the
 * CLI the real one. Reads never throw: what cannot be read is undefined.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';

export interface HostView {
  readonly root: string;
  read(path: string): string | undefined;
  list(path: string): string[];
  link(path: string): string | undefined;
  stat(path: string): Stats | undefined;
  exists(path: string): boolean;
}

export const hostView = (root = '/'): HostView => {
  const at = (p: string): string => join(root, p);
  const attempt = <A>(f: () => A): A | undefined => {
    try {
      return f();
    } catch {
      return undefined;
    }
  };
  return {
    root,
    read: (p) => attempt(() => readFileSync(at(p), 'utf8')),
    list: (p) => attempt(() => readdirSync(at(p))) ?? [],
    link: (p) => attempt(() => readlinkSync(at(p))),
    stat: (p) => attempt(() => statSync(at(p))),
    exists: (p) => attempt(() => lstatSync(at(p))) !== undefined,
  };
};

/**
 * Text another process chose (its name, its command line), made safe to print to root's terminal
 * and log: control characters (C0, DEL, C1: terminal escapes) and the Unicode controls that
 * reorder or hide text become visible escapes, and it is cut at 200 characters.
 */
const printable = (s: string): string => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  const safe = s.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return safe.length > 200 ? `${safe.slice(0, 200)}…` : safe;
};

/** The processes whose open files include one `matches` accepts: pid, name and command line (printable). */
export const processesHolding = (host: HostView, matches: (target: string) => boolean): { pid: number; name: string; command: string }[] => {
  const found = [];
  for (const entry of host.list('proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fds = host.list(`proc/${entry}/fd`);
    if (
      !fds.some((fd) => {
        const target = host.link(`proc/${entry}/fd/${fd}`);
        return target !== undefined && matches(target);
      })
    )
      continue;
    const name = printable(host.read(`proc/${entry}/comm`)?.replace(/\n$/, '') ?? '?');
    const command = printable(host.read(`proc/${entry}/cmdline`)?.split('\0').filter(Boolean).join(' ') ?? name);
    found.push({ pid: Number(entry), name, command });
  }
  return found;
};

/** The inodes of the TCP sockets that listen on `port` (IPv4 and IPv6), from /proc/net/tcp{,6}. */
export const listeningInodes = (host: HostView, port: number): string[] => {
  const inodes: string[] = [];
  for (const table of ['proc/net/tcp', 'proc/net/tcp6']) {
    for (const line of (host.read(table) ?? '').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st ... inode (field 9); state 0A is LISTEN.
      if (f.length < 10 || f[3] !== '0A') continue;
      if (Number.parseInt(f[1]!.split(':')[1]!, 16) === port) inodes.push(f[9]!);
    }
  }
  return inodes;
};

/** A user's uid, primary gid and the groups that list it as a member, from /etc/passwd and /etc/group. */
export const userAccount = (host: HostView, name: string): { uid: number; gid: number; groups: Set<number> } | undefined => {
  const entry = (host.read('etc/passwd') ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === name);
  if (!entry) return undefined;
  const gid = Number(entry[3]);
  const groups = new Set([gid]);
  for (const f of (host.read('etc/group') ?? '').split('\n').map((l) => l.split(':'))) if ((f[3] ?? '').split(',').includes(name)) groups.add(Number(f[2]));
  return { uid: Number(entry[2]), gid, groups };
};

export const groupName = (host: HostView, gid: number): string =>
  (host.read('etc/group') ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => Number(f[2]) === gid)?.[0] ?? String(gid);
