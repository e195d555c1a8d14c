/**
 * The C library calls lms makes that Node has no API for, through @2060.io/ffi-napi, bound on
 * first use (the simulated path never loads the native addon). An FFI call costs ~60 µs here:
 * each is made once per connect, socket or idle spell, never per message. errno is read at once
 * after the call that failed: any later call may change it.
 */
import { createRequire } from 'node:module';

export interface Libc {
  /** ioctl(2) with a buffer read and written in place. */
  ioctl(fd: number, request: number, arg: Buffer): number;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, address: Buffer, length: number): number;
  close(fd: number): number;
  errno(): number;
}

interface Ffi {
  Library<T>(name: null, functions: Record<string, [string, string[]]>): T;
  errno(): number;
}

const ffi = (): Ffi => createRequire(import.meta.url)('@2060.io/ffi-napi') as Ffi;
let bound: Libc | undefined;

/** The bindings; throws when the FFI addon cannot be loaded. */
export const libc = (): Libc => {
  if (bound) return bound;
  const f = ffi();
  const lib = f.Library<Omit<Libc, 'errno'>>(null, {
    ioctl: ['int', ['int', 'ulong', 'pointer']],
    socket: ['int', ['int', 'int', 'int']],
    bind: ['int', ['int', 'pointer', 'uint']],
    close: ['int', ['int']],
  });
  bound = { ioctl: lib.ioctl, socket: lib.socket, bind: lib.bind, close: lib.close, errno: () => f.errno() };
  return bound;
};

let trim: ((pad: number) => number) | null | undefined;

/**
 * malloc_trim(3): gives the free pages of every malloc arena back to the kernel; true if any were.
 * undefined where it cannot be called: no FFI addon, or a C library without it (glibc has it, musl not).
 */
export const mallocTrim = (): boolean | undefined => {
  if (trim === undefined) {
    try {
      trim = ffi().Library<{ malloc_trim(pad: number): number }>(null, { malloc_trim: ['int', ['size_t']] }).malloc_trim;
    } catch {
      trim = null;
    }
  }
  return trim === null ? undefined : trim(0) === 1;
};
