/**
 * Throwaway local users for tests that need connections made by users other than the test's own
 * (fair sharing, socket owners). Created with useradd when the tests run as root, as CI does;
 * elsewhere `localUsers` says why they cannot be, and the test skips with that reason.
 */
import { execFileSync } from 'node:child_process';

export interface LocalUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

const lookup = (name: string): LocalUser | undefined => {
  try {
    const [, , uid, gid] = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
    return { name, uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined;
  }
};

/** The users named, made if missing (system users, no home, no login); or why they cannot be. */
export const localUsers = (...names: string[]): LocalUser[] | string => {
  if (process.getuid?.() !== 0) return 'making local users needs root (CI runs the tests as root)';
  const users: LocalUser[] = [];
  for (const name of names) {
    let u = lookup(name);
    if (!u) {
      try {
        execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', name], { stdio: 'ignore' });
      } catch (err) {
        return `useradd ${name} failed: ${(err as Error).message}`;
      }
      u = lookup(name);
    }
    if (!u) return `user ${name} could not be made`;
    users.push(u);
  }
  return users;
};

/** Removes the users `localUsers` made (a test's last step). */
export const removeLocalUsers = (users: readonly LocalUser[]): void => {
  for (const u of users) {
    try {
      execFileSync('userdel', [u.name], { stdio: 'ignore' });
    } catch {
      // already gone, or still in use by a process the test left: nothing more to do here
    }
  }
};
