/**
 * The host's IPv4 settings on one NIC, found by its MAC (the one AMT shares): address and mask
 * (os.networkInterfaces), static or leased (the address's permanent flag over rtnetlink, as Intel
 * LMS reads it), the default gateway (/proc/net/route), the DNS servers (resolv.conf; behind
 * systemd-resolved's stub, the servers it uses) and whether the link is up.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { Ipv4Address } from '../codecs/rtnetlink.js';

export interface HostIpv4 {
  readonly interface: string;
  /** Leased (DHCP) rather than configured for good. */
  readonly dhcp: boolean;
  readonly address: string;
  readonly subnetMask: string;
  /** '' when the NIC has no default route. */
  readonly gateway: string;
  /** Up to two, in resolv.conf's order. */
  readonly dns: readonly string[];
  readonly linkUp: boolean;
}

/** Where the reads go: the host's own by default, a test's for the parsing. */
export interface HostNetworkSources {
  readonly interfaces: () => NodeJS.Dict<import('node:os').NetworkInterfaceInfo[]>;
  readonly read: (path: string) => string | undefined;
  readonly addresses: () => readonly Ipv4Address[];
}

const readOrUndefined = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** The default route's gateway for `iface` from /proc/net/route (addresses in hex, host order: x86 and arm64 are little-endian). */
export const defaultGateway = (procNetRoute: string, iface: string): string => {
  for (const line of procNetRoute.split('\n').slice(1)) {
    const [name, destination, gateway, flags] = line.trim().split(/\s+/);
    // RTF_UP (1) and RTF_GATEWAY (2), to 0.0.0.0.
    if (name !== iface || destination !== '00000000' || !gateway || (Number.parseInt(flags ?? '0', 16) & 3) !== 3) continue;
    const n = Number.parseInt(gateway, 16);
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.');
  }
  return '';
};

/** The IPv4 name servers of a resolv.conf, in order. */
export const nameservers = (resolvConf: string): string[] =>
  resolvConf
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(l)?.[1])
    .filter((a): a is string => a !== undefined);

const isLoopback = (a: string): boolean => a.startsWith('127.');

/** The DNS servers AMT should use: resolv.conf's, or behind a local stub (systemd-resolved's 127.0.0.53) the ones it forwards to. */
const dnsServers = (read: HostNetworkSources['read']): string[] => {
  const own = nameservers(read('/etc/resolv.conf') ?? '');
  const usable = own.filter((a) => !isLoopback(a));
  if (usable.length > 0 || own.length === 0) return usable.slice(0, 2);
  return nameservers(read('/run/systemd/resolve/resolv.conf') ?? '')
    .filter((a) => !isLoopback(a))
    .slice(0, 2);
};

const hostSources = (dump: () => readonly Ipv4Address[]): HostNetworkSources => ({ interfaces: networkInterfaces, read: readOrUndefined, addresses: dump });

/** The IPv4 settings of the NIC whose MAC is `mac`, or why there are none. */
export const hostIpv4ByMac = (mac: string, sources: HostNetworkSources | (() => readonly Ipv4Address[])): HostIpv4 | string => {
  const s = typeof sources === 'function' ? hostSources(sources) : sources;
  const want = mac.toLowerCase();
  for (const [name, infos] of Object.entries(s.interfaces())) {
    const v4 = infos?.find((i) => i.family === 'IPv4' && !i.internal && i.mac.toLowerCase() === want);
    if (!name || !v4) continue;
    const index = Number(s.read(`/sys/class/net/${name}/ifindex`)?.trim());
    const flags = s.addresses().find((a) => a.index === index && a.address === v4.address);
    return {
      interface: name,
      dhcp: flags ? !flags.permanent : false,
      address: v4.address,
      subnetMask: v4.netmask,
      gateway: defaultGateway(s.read('/proc/net/route') ?? '', name),
      dns: dnsServers(s.read),
      linkUp: s.read(`/sys/class/net/${name}/operstate`)?.trim() === 'up',
    };
  }
  const named = Object.entries(s.interfaces()).find(([, infos]) => infos?.some((i) => i.mac.toLowerCase() === want));
  return named ? `${named[0]}, the NIC with AMT's MAC ${mac}, has no IPv4 address` : `no NIC of this host has AMT's MAC ${mac}`;
};
