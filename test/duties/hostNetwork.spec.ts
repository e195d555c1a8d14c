import { strict as assert } from 'node:assert';
import { decodeAddressDump, ipv4AddressDumpRequest } from '../../src/codecs/rtnetlink.js';
import { defaultGateway, hostIpv4ByMac, nameservers } from '../../src/duties/hostNetwork.js';
import { hex } from '../support/apfBytes.js';

// /proc/net/route as Linux writes it (captured on this machine: a veth with 192.0.2.10/24 and a default route via 192.0.2.1).
const PROC_NET_ROUTE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
amt0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
amt0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
`;

describe("the host's network, as the shared static IP reads it (issue #28, item 2)", () => {
  it('asks rtnetlink for every IPv4 address as rtnetlink(7) lays out RTM_GETADDR: nlmsghdr, then ifaddrmsg with AF_INET', () => {
    // len 24, RTM_GETADDR (22), NLM_F_REQUEST | NLM_F_DUMP (0x301), seq 7, pid 0; family 2, the rest 0 (little-endian host).
    assert.deepStrictEqual(ipv4AddressDumpRequest(7), hex('18000000 1600 0103 07000000 00000000 02 00 00 00 00000000'));
  });

  it('reads RTM_NEWADDR: the interface index, its own address (IFA_LOCAL), the prefix, and IFA_F_PERMANENT from IFA_FLAGS; NLMSG_DONE ends the dump', () => {
    const reply = hex(
      // RTM_NEWADDR, 48 bytes, NLM_F_MULTI, seq 7: AF_INET /24, ifa_flags 0x80, index 3;
      // IFA_ADDRESS 192.0.2.16 (a peer's), IFA_LOCAL 192.0.2.10, IFA_FLAGS 0x80 (permanent)
      '30000000 1400 0200 07000000 00000000 02 18 80 00 03000000 0800 0100 c0000210 0800 0200 c000020a 0800 0800 80000000' +
        // RTM_NEWADDR, a leased one: ifa_flags 0, IFA_LOCAL 198.51.100.7 /25, index 4, IFA_FLAGS 0 (no IFA_F_PERMANENT)
        '28000000 1400 0200 07000000 00000000 02 19 00 00 04000000 0800 0200 c6336407 0800 0800 00000000' +
        // an answer to another request (seq 9): skipped
        '28000000 1400 0200 09000000 00000000 02 19 00 00 05000000 0800 0200 0a000001 0800 0800 80000000' +
        // NLMSG_DONE
        '14000000 0300 0200 07000000 00000000 00000000',
    );
    assert.deepStrictEqual(decodeAddressDump(reply, 7), {
      kind: 'addresses',
      addresses: [
        { index: 3, address: '192.0.2.10', prefixLength: 24, permanent: true },
        { index: 4, address: '198.51.100.7', prefixLength: 25, permanent: false },
      ],
      done: true,
    });
    // NLMSG_ERROR with -EPERM (1).
    assert.deepStrictEqual(decodeAddressDump(hex('24000000 0200 0000 07000000 00000000 ffffffff 18000000 1600 0103 07000000 00000000'), 7), {
      kind: 'error',
      errno: 1,
    });
  });

  it('finds the default gateway of a NIC in /proc/net/route, and the IPv4 name servers of a resolv.conf', () => {
    assert.equal(defaultGateway(PROC_NET_ROUTE, 'amt0'), '192.0.2.1');
    assert.equal(defaultGateway(PROC_NET_ROUTE, 'eth9'), '');
    assert.deepStrictEqual(nameservers('# generated\nnameserver 192.0.2.53\nnameserver ::1\nsearch example.org\nnameserver 192.0.2.54\n'), [
      '192.0.2.53',
      '192.0.2.54',
    ]);
  });

  it("reads the settings of the NIC with AMT's MAC: static or leased from the address's flag, the stub resolver's upstream servers", () => {
    const files: Record<string, string> = {
      '/sys/class/net/amt0/ifindex': '3\n',
      '/sys/class/net/amt0/operstate': 'up\n',
      '/proc/net/route': PROC_NET_ROUTE,
      '/etc/resolv.conf': 'nameserver 127.0.0.53\n', // systemd-resolved's stub
      '/run/systemd/resolve/resolv.conf': 'nameserver 192.0.2.53\nnameserver 192.0.2.54\nnameserver 192.0.2.55\n',
    };
    const sources = (permanent: boolean) => ({
      interfaces: () => ({
        lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4' as const, mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
        amt0: [{ address: '192.0.2.10', netmask: '255.255.255.0', family: 'IPv4' as const, mac: '02:00:5E:10:00:01', internal: false, cidr: '192.0.2.10/24' }],
      }),
      read: (p: string) => files[p],
      addresses: () => [{ index: 3, address: '192.0.2.10', prefixLength: 24, permanent }],
    });
    assert.deepStrictEqual(hostIpv4ByMac('02:00:5e:10:00:01', sources(true)), {
      interface: 'amt0',
      dhcp: false,
      address: '192.0.2.10',
      subnetMask: '255.255.255.0',
      gateway: '192.0.2.1',
      dns: ['192.0.2.53', '192.0.2.54'],
      linkUp: true,
    });
    assert.equal((hostIpv4ByMac('02:00:5e:10:00:01', sources(false)) as { dhcp: boolean }).dhcp, true);
    assert.equal(hostIpv4ByMac('02:00:5e:10:00:99', sources(true)), "no NIC of this host has AMT's MAC 02:00:5e:10:00:99");
  });
});
