import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { addressBytes, createSocketOwners, ownerRequest, parseOwnerReply, REQUEST_BYTES } from '../../src/service/socketOwners.js';
import { createUserNames, parsePasswd } from '../../src/service/userNames.js';
import { localUsers, removeLocalUsers, type LocalUser } from '../support/localUsers.js';

// The request for the client socket 127.0.0.1:40000 -> 127.0.0.1:16992, laid out by hand from
// linux/netlink.h (struct nlmsghdr) and linux/inet_diag.h (struct inet_diag_req_v2), little-endian host.
const REQUEST = [
  '48000000', // nlmsg_len 72
  '1400', // nlmsg_type SOCK_DIAG_BY_FAMILY (20)
  '0100', // nlmsg_flags NLM_F_REQUEST
  '07000000', // nlmsg_seq 7
  '00000000', // nlmsg_pid
  '02', // sdiag_family AF_INET
  '06', // sdiag_protocol IPPROTO_TCP
  '00', // idiag_ext
  '00', // pad
  'ffffffff', // idiag_states: all
  '9c40', // idiag_sport 40000, network order
  '4260', // idiag_dport 16992
  `7f000001${'0'.repeat(24)}`, // idiag_src
  `7f000001${'0'.repeat(24)}`, // idiag_dst
  '00000000', // idiag_if
  'ffffffffffffffff', // idiag_cookie INET_DIAG_NOCOOKIE
].join('');

/** A reply as the kernel lays it out: nlmsghdr, then struct inet_diag_msg with the uid at byte 64 of it. */
const reply = (type: number, seq: number, tail: (b: Buffer) => void, size = 16 + 72): Buffer => {
  const b = Buffer.alloc(size);
  b.writeUInt32LE(size, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt32LE(seq, 8);
  tail(b);
  return b;
};

describe('finding the local user behind a loopback connection (issue #25)', () => {
  it('should ask sock_diag for the client end of the connection, laid out as the kernel headers say', () => {
    const req = ownerRequest({ address: '127.0.0.1', port: 16992 }, { address: '127.0.0.1', port: 40000 }, 7, true);
    assert.equal(req.length, REQUEST_BYTES);
    assert.equal(req.toString('hex'), REQUEST);
    const big = ownerRequest({ address: '127.0.0.1', port: 16992 }, { address: '127.0.0.1', port: 40000 }, 7, false);
    assert.equal(big.subarray(0, 4).toString('hex'), '00000048', "netlink's header follows the host's byte order");
    const v6 = ownerRequest({ address: '::1', port: 16992 }, { address: '::1', port: 40001 }, 8, true);
    assert.equal(v6[16], 10, 'AF_INET6');
    assert.equal(v6.subarray(28, 44).toString('hex'), `${'0'.repeat(31)}1`);
  });

  it('should lay out a request in a buffer used before as in a fresh one: an IPv4 request after an IPv6 one keeps no stale byte', () => {
    const into = Buffer.alloc(REQUEST_BYTES, 0xa5);
    ownerRequest({ address: '::1', port: 16992 }, { address: '::ffff:127.0.0.1', port: 40001 }, 8, true, into);
    const again = ownerRequest({ address: '127.0.0.1', port: 16992 }, { address: '127.0.0.1', port: 40000 }, 7, true, into);
    assert.equal(again, into, 'no new buffer');
    assert.equal(again.toString('hex'), REQUEST);
  });

  it('should write addresses in network order, an embedded IPv4 one too', () => {
    assert.equal(addressBytes('127.0.0.1').toString('hex'), '7f000001');
    assert.equal(addressBytes('::1').toString('hex'), `${'0'.repeat(31)}1`);
    assert.equal(addressBytes('::ffff:127.0.0.1').toString('hex'), '00000000000000000000ffff7f000001');
    assert.equal(addressBytes('fe80::1:2').toString('hex'), 'fe800000000000000000000000010002');
  });

  it("should read the uid from the kernel's answer, and tell no socket from an answer to another request", () => {
    const found = reply(20, 7, (b) => b.writeUInt32LE(1001, 16 + 64));
    assert.deepStrictEqual(parseOwnerReply(found, found.length, 7, true), { uid: 1001 });
    const enoent = reply(2, 7, (b) => b.writeInt32LE(-2, 16), 36);
    assert.deepStrictEqual(parseOwnerReply(enoent, enoent.length, 7, true), { missing: 2 });
    assert.equal(parseOwnerReply(found, found.length, 6, true), 'other', 'a late answer to an earlier request');
    assert.equal(parseOwnerReply(found, 40, 7, true), 'other', 'a truncated answer');
  });

  it('should name users from passwd, and show a uid it cannot name as a number', () => {
    assert.deepStrictEqual(
      [...parsePasswd('root:x:0:0:root:/root:/bin/bash\nlms:x:998:998::/nonexistent:/usr/sbin/nologin\n')],
      [
        [0, 'root'],
        [998, 'lms'],
      ],
    );
    let reads = 0;
    const names = createUserNames(
      () => {
        reads++;
        return 'lms:x:998:998::/:/bin/false\n';
      },
      () => 0,
    );
    assert.equal(names.describe(998), 'lms (uid 998)');
    assert.equal(names.describe(4242), 'uid 4242');
    assert.equal(names.describe(-1), 'unknown user');
    assert.equal(names.describe(4243), 'uid 4243');
    assert.equal(reads, 1, 'an unknown uid re-reads passwd at most once per interval');
  });

  describe('on this machine', () => {
    let server: net.Server;
    let port: number;
    const accepted: net.Socket[] = [];
    before(async () => {
      server = net.createServer((s) => accepted.push(s));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as net.AddressInfo).port;
    });
    after(() => {
      for (const s of accepted) s.destroy();
      server.close();
    });
    const nextAccept = () => new Promise<net.Socket>((r) => server.once('connection', r));

    it("should find this process's own uid for a connection it made, and nothing for one that is gone", async () => {
      const got = nextAccept();
      const c = net.connect(port, '127.0.0.1');
      const s = await got;
      const owners = createSocketOwners();
      const owner = owners.ownerOf({ address: '127.0.0.1', port }, { address: s.remoteAddress!, port: s.remotePort! });
      c.destroy();
      assert.equal(owners.unavailable, undefined);
      assert.equal(owner, process.getuid!());
      assert.equal(owners.ownerOf({ address: '127.0.0.1', port }, { address: '127.0.0.1', port: 1 }), undefined);
    });

    describe('with a connection made by another user', () => {
      let users: LocalUser[] | string;
      before(function () {
        users = localUsers('lmsrx-owner');
        if (typeof users === 'string') this.skip();
      });
      after(() => {
        if (typeof users !== 'string') removeLocalUsers(users);
      });

      it("should find that user's uid", async () => {
        const [u] = users as LocalUser[];
        const got = nextAccept();
        const child = spawn(process.execPath, ['-e', `require('net').connect(${port}, '127.0.0.1'); setTimeout(() => {}, 10000)`], {
          uid: u!.uid,
          gid: u!.gid,
          stdio: 'ignore',
        });
        try {
          const s = await got;
          const owner = createSocketOwners().ownerOf({ address: '127.0.0.1', port }, { address: s.remoteAddress!, port: s.remotePort! });
          assert.equal(owner, u!.uid);
        } finally {
          child.kill();
        }
      });
    });
  });
});
