/**
 * Names for the uids that own local connections, for log lines and `lms status`. Read from
 * /etc/passwd (users from a directory service show as their uid); read again for an unknown uid
 * at most once every `rereadMs`, so a flood of connections costs no more reads.
 */
import { readFileSync } from 'node:fs';
import { UNKNOWN_OWNER, type SocketOwner } from '../streams/sessionTypes.js';

export interface UserNames {
  /** `name (uid N)`, `uid N` when no name is known, or `unknown user`. */
  describe(owner: SocketOwner): string;
  /** The login name, when known. */
  nameOf(owner: SocketOwner): string | undefined;
}

/** How a user is shown: `name (uid N)`, `uid N` when no name is known, or `unknown user`. */
export const describeUser = (owner: SocketOwner, name: string | undefined): string =>
  owner === UNKNOWN_OWNER ? 'unknown user' : name === undefined ? `uid ${owner}` : `${name} (uid ${owner})`;

/** Login names by uid from a passwd text (name:password:uid:...). */
export const parsePasswd = (text: string): Map<number, string> => {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name && uid !== undefined && /^\d+$/.test(uid) && !names.has(Number(uid))) names.set(Number(uid), name);
  }
  return names;
};

export const createUserNames = (read = () => readFileSync('/etc/passwd', 'utf8'), now = Date.now, rereadMs = 10_000): UserNames => {
  let names: Map<number, string> | undefined;
  let readAt = Number.NEGATIVE_INFINITY;
  const nameOf = (owner: SocketOwner): string | undefined => {
    if (owner === UNKNOWN_OWNER) return undefined;
    if (!names?.has(owner) && now() - readAt >= rereadMs) {
      readAt = now();
      try {
        names = parsePasswd(read());
      } catch {
        names ??= new Map();
      }
    }
    return names?.get(owner);
  };
  return {
    nameOf,
    describe: (owner) => describeUser(owner, nameOf(owner)),
  };
};
