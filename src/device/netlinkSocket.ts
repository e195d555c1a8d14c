/**
 * A netlink socket (man 7 netlink), the one kind of socket Node cannot make: socket(2), and bind(2)
 * to multicast groups, through the FFI, once per socket. The reads and writes that follow are
 * Node's own fs calls on the descriptor (a netlink write goes to the kernel).
 */
import { endianness } from 'node:os';
import { libc } from './libc.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const SOCK_NONBLOCK = 0o4000;
export const NETLINK_ROUTE = 0;
export const NETLINK_SOCK_DIAG = 4;

/** struct sockaddr_nl: family u16, pad u16, pid u32 (0: the kernel picks), groups u32; host order. */
const sockaddrNl = (groups: number): Buffer => {
  const b = Buffer.alloc(12);
  const le = endianness() === 'LE';
  if (le) {
    b.writeUInt16LE(AF_NETLINK, 0);
    b.writeUInt32LE(groups >>> 0, 8);
  } else {
    b.writeUInt16BE(AF_NETLINK, 0);
    b.writeUInt32BE(groups >>> 0, 8);
  }
  return b;
};

/** A non-blocking netlink socket for `protocol`, joined to the multicast `groups` (a bitmask) when given. Throws when the kernel refuses. */
export const openNetlinkSocket = (protocol: number, groups = 0): number => {
  const c = libc();
  const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
  if (fd < 0) throw new Error(`the kernel refused a netlink socket (protocol ${protocol})`);
  if (groups !== 0 && c.bind(fd, sockaddrNl(groups), 12) < 0) {
    c.close(fd);
    throw new Error(`the kernel refused to join netlink groups 0x${groups.toString(16)}`);
  }
  return fd;
};
