/**
 * The Linux watchdog API (<linux/watchdog.h>): the ioctl numbers, and struct watchdog_info as
 * WDIOC_GETSUPPORT fills it. Pure: bytes in, typed values out.
 *   struct watchdog_info { __u32 options; __u32 firmware_version; __u8 identity[32]; }  (40 bytes)
 */

/** _IOR('W', 0, struct watchdog_info) */
export const WDIOC_GETSUPPORT = 0x80285700;
/** _IOR('W', 5, int): a ping. */
export const WDIOC_KEEPALIVE = 0x80045705;
/** _IOWR('W', 6, int): the timeout in seconds; the driver writes back the one it took. */
export const WDIOC_SETTIMEOUT = 0xc0045706;
export const WATCHDOG_INFO_SIZE = 40;
/** The device stops on close only after the magic character 'V' was written. */
export const WDIOF_MAGICCLOSE = 0x0100;
/** AMT's watchdog as the kernel's mei_wdt driver names it. */
export const AMT_WATCHDOG_IDENTITY = 'iamt_wdt';

export interface WatchdogInfo {
  readonly options: number;
  readonly firmwareVersion: number;
  readonly identity: string;
}

export const decodeWatchdogInfo = (b: Buffer): WatchdogInfo => {
  if (b.length < WATCHDOG_INFO_SIZE) throw new RangeError(`struct watchdog_info is ${WATCHDOG_INFO_SIZE} bytes, got ${b.length}`);
  const id = b.subarray(8, 40);
  const end = id.indexOf(0);
  return { options: b.readUInt32LE(0), firmwareVersion: b.readUInt32LE(4), identity: id.subarray(0, end < 0 ? id.length : end).toString('latin1') };
};

/** An int argument (SETTIMEOUT, KEEPALIVE) as the ioctl reads and writes it. */
export const intArg = (n = 0): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n, 0);
  return b;
};
