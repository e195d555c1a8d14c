/**
 * Shared static IP (Intel LMS's SharedStaticIPService). Where AMT shares the host's IPv4 address
 * (AMT_EthernetPortSettings.IpSyncEnabled on a port, as Intel LMS checks it), the host's agent
 * writes the host's settings of the NIC AMT shares (the one with AMT's MAC) to IPS_HostIPSettings
 * whenever they change: DHCP alone, or a static address with its mask, gateway and DNS servers.
 *
 * Changes come from the kernel (rtnetlink: links, IPv4 addresses and routes), not from polling;
 * the subscription is held only while AMT syncs its IP, which is read again when forwarding comes
 * up and when AMT says IP sync was switched (alert iAMT0062).
 */
import * as E from 'fp-ts/lib/Either.js';
import { AMT } from '@device-management-toolkit/wsman-messages';
import { WSManMessageCreator } from '@device-management-toolkit/wsman-messages/WSMan.js';
import { AmthiCommand, decodeLanSettings, lanInterfaceRequest } from '../codecs/amthi.js';
import { callAmthi } from '../device/amthiClient.js';
import type { MeDevice } from '../device/transport.js';
import type { Logger } from '../service/logger.js';
import { enumerateAll, type AmtCall } from './amtWsman.js';
import { createWatchingDuty, type WatchingDuty } from './duty.js';
import type { HostIpv4 } from './hostNetwork.js';

export const SHARED_IP_DUTY = 'shared static IP';
/** AMT's alert that IP sync was switched off (argument 0) or on (1). */
export const IP_SYNC_ALERT = 'iAMT0062';
/** The occasions on which AMT's IpSyncEnabled is read again; on the others only the host changed. */
const POLICY_OCCASIONS = new Set(['forwarding up', 'IP sync switched']);

const CLASS = 'IPS_HostIPSettings';
const IPS = 'http://intel.com/wbem/wscim/1/ips-schema/1/';
const ACTION = { get: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Get', put: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Put' };
const NO_DNS = '0.0.0.0';

/** What IPS_HostIPSettings should hold for `host`, field by field as AMT names them. */
const wanted = (host: HostIpv4): Record<string, string> =>
  host.dhcp
    ? { DHCPEnabled: 'true' }
    : {
        DHCPEnabled: 'false',
        IpAddress: host.address,
        SubnetMask: host.subnetMask,
        DefaultGateway: host.gateway,
        // Intel LMS sends 0.0.0.0 for a DNS server the host does not have.
        PrimaryDNS: host.dns[0] ?? NO_DNS,
        SecondaryDNS: host.dns[1] ?? NO_DNS,
      };

const describe = (w: Record<string, string>): string =>
  w['DHCPEnabled'] === 'true' ? 'DHCP' : `${w['IpAddress']}/${w['SubnetMask']} via ${w['DefaultGateway']}, DNS ${w['PrimaryDNS']} ${w['SecondaryDNS']}`;

/** Watching while AMT syncs its IP with the host: `onWatching` starts or stops watching the host's network. */
export const sharedIpDuty = (
  amthi: MeDevice,
  connect: (signal: AbortSignal) => Promise<AmtCall>,
  host: (mac: string) => HostIpv4 | string,
  log: Logger,
  onWatching: (watching: boolean) => void,
): WatchingDuty => {
  const wsman = new WSManMessageCreator(IPS);
  return createWatchingDuty(SHARED_IP_DUTY, log, onWatching, async (occasion, signal, watch, watching) => {
    const call = await connect(signal);
    if (watching === undefined || POLICY_OCCASIONS.has(occasion)) {
      const ports = await enumerateAll(call, new AMT.Messages().EthernetPortSettings, 'AMT_EthernetPortSettings');
      const syncs = ports.some((p) => String(p['IpSyncEnabled']) === 'true');
      watch(syncs);
      if (!syncs)
        return { result: 'not needed: AMT does not sync its IP with the host (IpSyncEnabled false on every port)', details: { watching: false }, acted: false };
    }
    // The NIC AMT shares: the one with AMT's wired MAC (AMTHI, as Intel LMS asks it).
    const lan = await callAmthi(amthi, lanInterfaceRequest(0), AmthiCommand.GetLanInterfaceSettings, decodeLanSettings);
    if (E.isLeft(lan)) throw new Error(`GET_LAN_INTERFACE_SETTINGS: ${lan.left}`);
    const h = host(lan.right.mac);
    if (typeof h === 'string') return { result: `nothing to sync: ${h}`, details: { watching: true, mac: lan.right.mac }, acted: false };
    const details = { watching: true, interface: h.interface, mac: lan.right.mac };
    // As Intel LMS: a static address is sent only once it is usable (the link up, a gateway, an address).
    if (!h.dhcp && (!h.linkUp || !h.gateway))
      return { result: `not synced yet: ${h.interface} is static but ${!h.linkUp ? 'its link is down' : 'has no default gateway'}`, details, acted: false };
    const want = wanted(h);
    const current = ((await call(wsman.createXml(wsman.createHeader(ACTION.get, CLASS as never), wsman.createCommonBody.Get())))[CLASS] ?? {}) as Record<
      string,
      unknown
    >;
    const differs = Object.entries(want).some(([k, v]) => String(current[k] ?? '') !== v) || (h.dhcp && current['IpAddress'] !== undefined);
    if (!differs) return { result: `AMT has ${h.interface}'s settings: ${describe(want)}`, details, acted: false };
    // Put the instance whole (its key and name as AMT gave them), with the host's fields; DHCP drops the static ones.
    const keep = Object.fromEntries(Object.entries(current).filter(([k]) => k === 'InstanceID' || k === 'ElementName'));
    await call(wsman.createXml(wsman.createHeader(ACTION.put, CLASS as never), wsman.createCommonBody.CreateOrPut(CLASS as never, { ...keep, ...want })));
    return { result: `sent ${h.interface}'s settings to AMT: ${describe(want)}`, details, acted: true };
  });
};
