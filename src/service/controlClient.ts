/**
 * `lms status` and `lms doctor` ask the running daemon over its control socket; this says what
 * they learnt: its status, or why there is none, telling a daemon that is not running from one the
 * user may not ask (a permission problem is not an absence).
 */
import { lstatSync } from 'node:fs';
import { controlSocketToAsk, queryControl } from './controlSocket.js';
import type { LmsStatus } from './lmsService.js';
import { groupNameOf } from './privileges.js';

/** What the daemon's control socket answers: its LMS's status and the process that runs it. */
export type DaemonStatus = LmsStatus & { readonly pid?: number };

export type DaemonAnswer =
  | { readonly kind: 'status'; readonly path: string; readonly status: DaemonStatus }
  | { readonly kind: 'not-running' | 'denied' | 'failed'; readonly path: string; readonly detail: string };

/** The name of the group of the socket at `path`; undefined when this user cannot see the socket. */
const groupOf = (path: string): string | undefined => {
  try {
    return groupNameOf(lstatSync(path).gid);
  } catch {
    return undefined;
  }
};

/** Why the daemon on `path` gave no answer: not running, not ours to ask, or something else. */
export const unanswered = (err: unknown, path: string): Exclude<DaemonAnswer, { kind: 'status' }> => {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') return { kind: 'not-running', path, detail: 'is lms running? (systemctl status lms)' };
  if (e.code === 'EACCES' || e.code === 'EPERM') {
    const group = groupOf(path);
    const detail = group
      ? `permission denied: only root and members of group ${group} may ask the daemon (usermod -aG ${group} <user>, then log in again)`
      : `permission denied: this user may not reach ${path} (its folder forbids it); ask as root`;
    return { kind: 'denied', path, detail };
  }
  return { kind: 'failed', path, detail: e.message };
};

/** Asks the daemon on `path` (default: this user's own daemon's socket, else the system daemon's). */
export const askDaemon = async (path = controlSocketToAsk(), timeoutMs = 3000): Promise<DaemonAnswer> => {
  try {
    return { kind: 'status', path, status: (await queryControl(path, { command: 'status' }, timeoutMs)) as DaemonStatus };
  } catch (err) {
    return unanswered(err, path);
  }
};
