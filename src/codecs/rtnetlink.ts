/**
 * The few rtnetlink messages lms needs (man 7 rtnetlink; linux/netlink.h, linux/rtnetlink.h,
 * linux/if_addr.h): a dump of the IPv4 addresses, and which of them are permanent (configured
 * statically) rather than leased. Netlink is in the host's byte order. Pure: bytes in, typed out.
 *   nlmsghdr (16): len u32, type u16, flags u16, seq u32, pid u32
 *   ifaddrmsg (8): family u8, prefixlen u8, flags u8, scope u8, index u32; then rtattrs
 *   rtattr (4 + data, padded to 4): len u16, type u16
 */
import { endianness } from 'node:os';

/** The multicast groups whose messages say the host's links, IPv4 addresses or IPv4 routes changed. */
export const RTMGRP_LINK = 0x1;
export const RTMGRP_IPV4_IFADDR = 0x10;
export const RTMGRP_IPV4_ROUTE = 0x40;

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const RTM_NEWADDR = 20;
const RTM_GETADDR = 22;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const AF_INET = 2;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_FLAGS = 8;
const IFA_F_PERMANENT = 0x80;

const LE = endianness() === 'LE';
const u16 = (b: Buffer, at: number): number => (LE ? b.readUInt16LE(at) : b.readUInt16BE(at));
const u32 = (b: Buffer, at: number): number => (LE ? b.readUInt32LE(at) : b.readUInt32BE(at));
const put16 = (b: Buffer, n: number, at: number): number => (LE ? b.writeUInt16LE(n, at) : b.writeUInt16BE(n, at));
const put32 = (b: Buffer, n: number, at: number): number => (LE ? b.writeUInt32LE(n >>> 0, at) : b.writeUInt32BE(n >>> 0, at));

/** RTM_GETADDR for every IPv4 address: a request the kernel answers with one RTM_NEWADDR each, then NLMSG_DONE. */
export const ipv4AddressDumpRequest = (seq: number): Buffer => {
  const b = Buffer.alloc(24);
  put32(b, 24, 0);
  put16(b, RTM_GETADDR, 4);
  put16(b, NLM_F_REQUEST | NLM_F_DUMP, 6);
  put32(b, seq, 8);
  b[16] = AF_INET;
  return b;
};

export interface Ipv4Address {
  readonly index: number;
  readonly address: string;
  readonly prefixLength: number;
  /** Configured for good (static); a leased one (DHCP) has a lifetime and is not. */
  readonly permanent: boolean;
}

export type AddressDumpPart =
  | { readonly kind: 'addresses'; readonly addresses: readonly Ipv4Address[]; readonly done: boolean }
  | { readonly kind: 'error'; readonly errno: number };

/** The IPv4 addresses in one read of a dump's answer, and whether the dump ended with it. */
export const decodeAddressDump = (b: Buffer, seq: number): AddressDumpPart => {
  const addresses: Ipv4Address[] = [];
  let done = false;
  for (let at = 0; at + 16 <= b.length; ) {
    const len = u32(b, at);
    if (len < 16 || at + len > b.length) break; // a truncated message ends the read
    const type = u16(b, at + 4);
    if (u32(b, at + 8) === seq) {
      if (type === NLMSG_DONE) done = true;
      else if (type === NLMSG_ERROR) {
        const errno = -(LE ? b.readInt32LE(at + 16) : b.readInt32BE(at + 16));
        if (errno !== 0) return { kind: 'error', errno };
      } else if (type === RTM_NEWADDR && len >= 24 && b[at + 16] === AF_INET) {
        let flags = b[at + 18]!;
        let address: string | undefined;
        let local: string | undefined;
        for (let a = at + 24; a + 4 <= at + len; ) {
          const alen = u16(b, a);
          if (alen < 4 || a + alen > at + len) break;
          const atype = u16(b, a + 2);
          if ((atype === IFA_ADDRESS || atype === IFA_LOCAL) && alen >= 8) {
            const text = [...b.subarray(a + 4, a + 8)].join('.');
            if (atype === IFA_LOCAL) local = text;
            else address = text;
          } else if (atype === IFA_FLAGS && alen >= 8) flags = u32(b, a + 4);
          a += (alen + 3) & ~3;
        }
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on a point-to-point link.
        const own = local ?? address;
        if (own) addresses.push({ index: u32(b, at + 20), address: own, prefixLength: b[at + 17]!, permanent: (flags & IFA_F_PERMANENT) !== 0 });
      }
    }
    at += (len + 3) & ~3;
  }
  return { kind: 'addresses', addresses, done };
};
