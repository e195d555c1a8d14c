/** Loopback addresses: the only peers and bind addresses an LMS may use (docs/apf.md §6). */
import { isIPv4, isIPv6 } from 'node:net';

const isIPv6Loopback = (a: string): boolean => {
  const lower = a.toLowerCase();
  return lower === '::1' || lower === '0:0:0:0:0:0:0:1';
};

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), if it is one. */
const mappedIPv4 = (a: string): string | undefined => /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a)?.[1];

/**
 * A peer or a destination on this host: 127.0.0.0/8, ::1, or 127.x mapped into IPv6 (an IPv6
 * socket may name an IPv4 peer so). Literal addresses only: a name would go to the resolver,
 * whose answer a tampered hosts file decides.
 */
export const isLoopbackAddress = (address: string): boolean => {
  if (isIPv4(address)) return address.startsWith('127.');
  if (!isIPv6(address)) return false;
  return isIPv6Loopback(address) || (mappedIPv4(address)?.startsWith('127.') ?? false);
};

/**
 * Why `address` cannot be listened on, or undefined when it can: a literal 127.x.x.x or ::1.
 * An IPv4-mapped address fails at listen (EINVAL) on the ipv6Only sockets lms binds, so it is
 * refused here with the address to use instead.
 */
export const bindAddressProblem = (address: string): string | undefined => {
  if (isIPv4(address)) return address.startsWith('127.') ? undefined : 'not a loopback address';
  if (isIPv6(address)) {
    if (isIPv6Loopback(address)) return undefined;
    const v4 = mappedIPv4(address);
    return v4?.startsWith('127.') ? `an IPv4-mapped address; use ${v4} instead` : 'not a loopback address';
  }
  return 'not a literal address (names go through the resolver; use 127.0.0.1 or ::1)';
};
