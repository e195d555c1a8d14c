/** Loopback addresses: the only peers and bind addresses an LMS may use (apf.md §8.4). */
import { isIPv4, isIPv6 } from 'node:net';

export const isLoopbackAddress = (address: string): boolean => {
  if (address === 'localhost') return true;
  if (isIPv4(address)) return address.startsWith('127.');
  if (!isIPv6(address)) return false;
  const a = address.toLowerCase();
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped !== null && mapped[1]!.startsWith('127.');
};
