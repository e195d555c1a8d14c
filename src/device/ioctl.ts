/**
 * libc ioctl through @2060.io/ffi-napi: used once per connect, never per message (an FFI call
 * costs ~60 µs here). errno is read at once after the call: any later call may change it.
 * FFI is loaded lazily, so the simulated path never needs the native addon.
 */
import { createRequire } from 'node:module';

interface Ffi {
  Library(name: null, functions: Record<string, [string, string[]]>): Record<string, (...args: unknown[]) => number>;
  errno(): number;
}

let libc: { ioctl: (fd: number, request: number, arg: Buffer) => number; errno: () => number } | undefined;

const load = (): NonNullable<typeof libc> => {
  if (libc) return libc;
  const require = createRequire(import.meta.url);
  const ffi = require('@2060.io/ffi-napi') as Ffi;
  const lib = ffi.Library(null, { ioctl: ['int', ['int', 'ulong', 'pointer']] });
  libc = { ioctl: lib['ioctl'] as never, errno: () => ffi.errno() };
  return libc;
};

/** ioctl(fd, request, arg) -> 0, or the errno of the failure. `arg` is read and written in place. */
export const ioctl = (fd: number, request: number, arg: Buffer): { ok: true } | { ok: false; errno: number } => {
  const c = load();
  const r = c.ioctl(fd, request, arg);
  if (r >= 0) return { ok: true };
  return { ok: false, errno: c.errno() };
};
