/**
 * Whose is an accepted loopback connection (issue #25). TCP has no SO_PEERCRED, but on loopback
 * the client's own socket is in this host's socket table with the uid of the user that made it:
 * its source is the peer we see, its destination our listener. The kernel's sock_diag netlink
 * interface (man 7 sock_diag) finds that one row by its address pair.
 *
 * Why not /proc/net/tcp, which lists the same rows: it is read whole, and the kernel formats every
 * row of the namespace for each read. Measured here with 5,000 connections open (2.1 MB), one read
 * took 54 ms, so a flood of connections, the very attack that sharing must withstand, would make
 * each accept cost that much. A sock_diag lookup costs ~18 µs whatever the table holds: the socket
 * is made once through the FFI, and each lookup is a write and a read on it with Node's own fs
 * calls (send and recv through the FFI cost ~300 µs a lookup under load).
 */
import { readSync, writeSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { endianness } from 'node:os';
import { NETLINK_SOCK_DIAG, openNetlinkSocket } from '../device/netlinkSocket.js';
import type { Endpoint, SocketOwner } from '../streams/sessionTypes.js';

// linux/netlink.h, linux/sock_diag.h, linux/inet_diag.h
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DIAG_BY_FAMILY = 20;
const NLMSG_ERROR = 2;
const NLM_F_REQUEST = 1;
const IPPROTO_TCP = 6;
const HOST_LE = endianness() === 'LE';
/** nlmsghdr (16) + inet_diag_req_v2 (56). */
export const REQUEST_BYTES = 72;
/** Where the uid lies in a reply: nlmsghdr (16), then inet_diag_msg's family..retrans (4), id (48), expires, rqueue, wqueue (12). */
const UID_AT = 16 + 4 + 48 + 12;

/** The 16 (or 4) bytes of an address in network order. */
export const addressBytes = (address: string): Buffer => {
  if (!isIPv6(address)) return Buffer.from(address.split('.').map(Number));
  const [head = '', tail = ''] = address.includes('::') ? address.split('::') : [address, ''];
  const words = (s: string): string[] => (s === '' ? [] : s.split(':'));
  // An embedded IPv4 address (::ffff:127.0.0.1) is the last two words.
  const v4 = (ws: string[]): string[] => {
    const last = ws.at(-1);
    if (!last?.includes('.')) return ws;
    const b = last.split('.').map(Number);
    return [...ws.slice(0, -1), ((b[0]! << 8) | b[1]!).toString(16), ((b[2]! << 8) | b[3]!).toString(16)];
  };
  let h = words(head);
  let t = words(tail);
  if (t.length > 0) t = v4(t);
  else h = v4(h);
  const all = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  for (const [i, w] of all.entries()) out.writeUInt16BE(Number.parseInt(w, 16), i * 2);
  return out;
};

/**
 * A SOCK_DIAG_BY_FAMILY request for the one TCP socket whose source is `peer` and destination
 * `local`: the client's end of a connection we accepted.
 */
export const ownerRequest = (
  local: Endpoint,
  peer: Endpoint,
  seq: number,
  le = HOST_LE,
  into?: Buffer,
  bytesOf: (address: string) => Buffer = addressBytes,
): Buffer => {
  // A buffer used again is cleared: an IPv4 address fills 4 of the 16 bytes an IPv6 one did.
  const b = into === undefined ? Buffer.alloc(REQUEST_BYTES) : into.fill(0, 0, REQUEST_BYTES);
  const src = bytesOf(peer.address);
  // Netlink's own fields are in the host's byte order; ports and addresses in network order.
  const u32 = (v: number, at: number) => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const u16 = (v: number, at: number) => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  u32(REQUEST_BYTES, 0); // nlmsg_len
  u16(SOCK_DIAG_BY_FAMILY, 4);
  u16(NLM_F_REQUEST, 6);
  u32(seq, 8);
  b[16] = src.length === 16 ? AF_INET6 : AF_INET; // sdiag_family
  b[17] = IPPROTO_TCP;
  u32(0xffffffff, 20); // idiag_states: any
  b.writeUInt16BE(peer.port, 24); // idiag_sport
  b.writeUInt16BE(local.port, 26); // idiag_dport
  src.copy(b, 28); // idiag_src
  bytesOf(local.address).copy(b, 44); // idiag_dst
  u32(0xffffffff, 64); // idiag_cookie: INET_DIAG_NOCOOKIE
  u32(0xffffffff, 68);
  return b;
};

/** addressBytes, kept for the few addresses loopback clients use; bounded, since a client may pick any 127.x.x.x. */
const keptAddressBytes = (): ((address: string) => Buffer) => {
  const kept = new Map<string, Buffer>();
  return (address) => {
    let b = kept.get(address);
    if (b === undefined) {
      if (kept.size >= 16) kept.clear();
      b = addressBytes(address);
      kept.set(address, b);
    }
    return b;
  };
};

/** What a reply says: the uid, that there is no such socket, or that it answers another request. */
export type OwnerReply = { readonly uid: SocketOwner } | { readonly missing: number } | 'other';

export const parseOwnerReply = (reply: Buffer, length: number, seq: number, le = HOST_LE): OwnerReply => {
  const u32 = (at: number) => (le ? reply.readUInt32LE(at) : reply.readUInt32BE(at));
  if (length < 16 || u32(8) !== seq) return 'other';
  const type = le ? reply.readUInt16LE(4) : reply.readUInt16BE(4);
  if (type === NLMSG_ERROR) return { missing: length >= 20 ? -(u32(16) | 0) : 0 };
  if (type !== SOCK_DIAG_BY_FAMILY || length < UID_AT + 4) return 'other';
  return { uid: u32(UID_AT) };
};

export interface SocketOwners {
  /** The uid owning the client socket of a connection from `peer` to our `local`, when it can be found. */
  ownerOf(local: Endpoint, peer: Endpoint): SocketOwner | undefined;
  /** Why owners cannot be found here, once it is known. */
  readonly unavailable: string | undefined;
}

/** One netlink socket for the daemon's life, opened on the first accept. */
export const createSocketOwners = (): SocketOwners => {
  let fd = -1;
  let unavailable: string | undefined;
  let seq = 0;
  const reply = Buffer.alloc(1024);
  // One request buffer and the address bytes kept: an accept then allocates nothing here.
  const request = Buffer.alloc(REQUEST_BYTES);
  const bytesOf = keptAddressBytes();

  const open = (): boolean => {
    if (fd >= 0) return true;
    if (unavailable) return false;
    try {
      fd = openNetlinkSocket(NETLINK_SOCK_DIAG);
    } catch (err) {
      unavailable = (err as Error).message.startsWith('the kernel')
        ? 'the kernel refused a sock_diag netlink socket'
        : `no FFI to ask the kernel (${(err as Error).message})`;
    }
    return fd >= 0;
  };

  return {
    ownerOf(local, peer) {
      if (!open()) return undefined;
      seq = (seq + 1) >>> 0;
      try {
        // The kernel answers within the write; a reply left over from an earlier request is skipped,
        // and an empty queue (EAGAIN: the socket never blocks) means no answer.
        writeSync(fd, ownerRequest(local, peer, seq, HOST_LE, request, bytesOf));
        for (;;) {
          const r = parseOwnerReply(reply, readSync(fd, reply, 0, reply.length, null), seq);
          if (r !== 'other') return 'uid' in r ? r.uid : undefined;
        }
      } catch {
        return undefined;
      }
    },
    get unavailable() {
      return unavailable;
    },
  };
};
