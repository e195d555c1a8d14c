/** libc ioctl, for the MEI connect and the watchdog: once per connect, never per message. */
import { libc } from './libc.js';

/** ioctl(fd, request, arg) -> 0, or the errno of the failure. `arg` is read and written in place. */
export const ioctl = (fd: number, request: number, arg: Buffer): { ok: true } | { ok: false; errno: number } => {
  const c = libc();
  const r = c.ioctl(fd, request, arg);
  if (r >= 0) return { ok: true };
  return { ok: false, errno: c.errno() };
};
