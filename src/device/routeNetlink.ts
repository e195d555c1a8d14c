/**
 * The host's network as the kernel tells it over rtnetlink: a stream that ticks when a link, an
 * IPv4 address or an IPv4 route changes (the kernel's multicast groups, read on epoll readiness:
 * nothing wakes while nothing changes), and a dump of the IPv4 addresses with their flags.
 */
import { closeSync, readSync, writeSync } from 'node:fs';
import { Observable } from 'rxjs';
import { decodeAddressDump, ipv4AddressDumpRequest, RTMGRP_IPV4_IFADDR, RTMGRP_IPV4_ROUTE, RTMGRP_LINK, type Ipv4Address } from '../codecs/rtnetlink.js';
import { NETLINK_ROUTE, openNetlinkSocket } from './netlinkSocket.js';
import { watchFd } from './readiness.js';

const BUFFER = 32 * 1024;

/** Reads `fd` until it has nothing more (EAGAIN), each read into `buffer`; false when the socket failed. */
const drain = (fd: number, buffer: Buffer, each: (n: number) => boolean): boolean => {
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buffer, 0, buffer.length, null);
    } catch (err) {
      // EAGAIN: drained. ENOBUFS: the kernel dropped messages for us; a change happened all the same.
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'EAGAIN' || code === 'ENOBUFS';
    }
    if (n === 0 || !each(n)) return true;
  }
};

/** One value per burst of changes to the host's links, IPv4 addresses and IPv4 routes, while subscribed. */
export const routeChanges = (): Observable<void> =>
  new Observable<void>((subscriber) => {
    let fd: number;
    try {
      fd = openNetlinkSocket(NETLINK_ROUTE, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE);
    } catch (err) {
      subscriber.error(err);
      return;
    }
    const buffer = Buffer.alloc(BUFFER);
    const watch = watchFd(fd, (r, err) => {
      if (err || r.broken) return subscriber.error(err ?? new Error('the rtnetlink socket failed'));
      if (!r.readable) return;
      // What changed is read again from the host whole: the messages only say that something did.
      if (!drain(fd, buffer, () => true)) return subscriber.error(new Error('the rtnetlink socket failed'));
      subscriber.next();
    });
    return () => {
      watch.close();
      closeSync(fd);
    };
  });

let seq = 0;

/** The host's IPv4 addresses with their flags (RTM_GETADDR dump). Throws when the kernel cannot be asked. */
export const dumpIpv4Addresses = (): Ipv4Address[] => {
  const fd = openNetlinkSocket(NETLINK_ROUTE);
  try {
    seq = (seq + 1) >>> 0;
    writeSync(fd, ipv4AddressDumpRequest(seq));
    const buffer = Buffer.alloc(BUFFER);
    const found: Ipv4Address[] = [];
    let done = false;
    let failed: number | undefined;
    drain(fd, buffer, (n) => {
      const part = decodeAddressDump(buffer.subarray(0, n), seq);
      if (part.kind === 'error') failed = part.errno;
      else {
        found.push(...part.addresses);
        done = part.done;
      }
      return !done && failed === undefined;
    });
    if (failed !== undefined) throw new Error(`the kernel refused the address dump (errno ${failed})`);
    return found;
  } finally {
    closeSync(fd);
  }
};
