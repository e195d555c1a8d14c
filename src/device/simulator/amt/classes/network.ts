/**
 * AMT's network settings: the wired port (AMT_EthernetPortSettings 0: DHCP, or static, shared with
 * the host or not) and the wireless one (1, DHCP only), IPv6, Wi-Fi and 802.1x. A fresh AMT has no
 * Wi-Fi profile and no 802.1x settings: those lists are empty.
 */
import type { AmtModel } from '../model.js';
import type { Fault, Instance } from '../wsmanEnvelope.js';
import type { ClassDef } from '../wsmanService.js';
import { bool, field, service } from './common.js';

const PORT = 'Intel(r) AMT Ethernet Port Settings';
/** The simulated network's DHCP lease. */
const DHCP_LEASE = { mask: '255.255.255.0', gateway: '192.168.0.1', dns: '192.168.0.1' } as const;
const dashed = (mac: string): string => mac.replace(/:/g, '-').toLowerCase();
const isIpv4 = (s: string): boolean => /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s) && s.split('.').every((o) => Number(o) <= 255);

const wired = (m: AmtModel): Instance => {
  const w = m.persisted.wired;
  // With DHCP, AMT reports the lease's mask, gateway and DNS (but no address of its own).
  const addressing: Instance = w.dhcpEnabled
    ? { SubnetMask: DHCP_LEASE.mask, DefaultGateway: DHCP_LEASE.gateway, PrimaryDNS: DHCP_LEASE.dns }
    : {
        IPAddress: w.ipAddress,
        SubnetMask: w.subnetMask,
        DefaultGateway: w.defaultGateway,
        PrimaryDNS: w.primaryDns,
        ...(w.secondaryDns ? { SecondaryDNS: w.secondaryDns } : {}),
      };
  return {
    DHCPEnabled: w.dhcpEnabled,
    ElementName: PORT,
    InstanceID: `${PORT} 0`,
    IpSyncEnabled: w.ipSyncEnabled,
    LinkIsUp: w.linkUp,
    LinkPolicy: [1, 14],
    MACAddress: dashed(w.mac),
    PhysicalConnectionType: 0,
    SharedDynamicIP: w.dhcpEnabled,
    SharedMAC: true,
    SharedStaticIp: w.sharedStaticIp,
    ...addressing,
  };
};

const wireless = (): Instance => ({
  ConsoleTcpMaxRetransmissions: 5,
  DHCPEnabled: true,
  ElementName: PORT,
  InstanceID: `${PORT} 1`,
  LinkControl: 2,
  LinkIsUp: false,
  LinkPreference: 2,
  MACAddress: '00-00-00-00-00-00',
  PhysicalConnectionType: 3,
  SharedMAC: true,
  WLANLinkProtectionLevel: 1,
});

/** A Put on the wired port, with AMT's rules: static settings whole and valid; a shared static IP only without DHCP. */
const putEthernet = (m: AmtModel, given: Readonly<Record<string, unknown>>): Fault | undefined => {
  const id = field(given, 'InstanceID');
  if (id === `${PORT} 1`) return { fault: 'InvalidRepresentation', detail: 'the wireless port takes its settings from DHCP' };
  if (id !== undefined && id !== `${PORT} 0`) return { fault: 'InvalidSelectors' };
  const w = m.persisted.wired;
  const dhcp = bool(given, 'DHCPEnabled') ?? w.dhcpEnabled;
  const sync = bool(given, 'IpSyncEnabled') ?? w.ipSyncEnabled;
  const shared = bool(given, 'SharedStaticIp') ?? w.sharedStaticIp;
  if (dhcp && shared) return { fault: 'InvalidRepresentation', detail: 'SharedStaticIp needs DHCPEnabled false' };
  const next = {
    ipAddress: field(given, 'IPAddress') ?? w.ipAddress,
    subnetMask: field(given, 'SubnetMask') ?? w.subnetMask,
    defaultGateway: field(given, 'DefaultGateway') ?? w.defaultGateway,
    primaryDns: field(given, 'PrimaryDNS') ?? w.primaryDns,
    secondaryDns: field(given, 'SecondaryDNS') ?? w.secondaryDns,
  };
  // Static and not synchronised from the host: AMT needs its own address, mask, gateway and DNS.
  if (!dhcp && !sync) {
    for (const [name, v] of [
      ['IPAddress', next.ipAddress],
      ['SubnetMask', next.subnetMask],
      ['DefaultGateway', next.defaultGateway],
      ['PrimaryDNS', next.primaryDns],
    ] as const)
      if (!isIpv4(v)) return { fault: 'InvalidRepresentation', detail: `${name} ${v || '(missing)'}` };
  }
  if (next.secondaryDns && !isIpv4(next.secondaryDns)) return { fault: 'InvalidRepresentation', detail: 'SecondaryDNS' };
  const syncChanged = sync !== w.ipSyncEnabled;
  Object.assign(w, next, { dhcpEnabled: dhcp, ipSyncEnabled: sync, sharedStaticIp: shared });
  // AMT tells the host's agent that IP sync was switched (iAMT0062: 0 off, 1 on).
  if (syncChanged) m.alert('iAMT0062', [sync ? '1' : '0']);
  return undefined;
};

const HOST_IP = 'Intel(r) Host IP Settings';

/** The host's settings as its agent writes them: DHCP alone, or a static address whole and valid. */
const putHostIp = (m: AmtModel, given: Readonly<Record<string, unknown>>): Fault | undefined => {
  const dhcp = bool(given, 'DHCPEnabled');
  if (dhcp === undefined) return { fault: 'InvalidRepresentation', detail: 'DHCPEnabled' };
  const h = m.hostIpSettings;
  if (dhcp) {
    Object.assign(h, { dhcpEnabled: true, ipAddress: '', subnetMask: '', defaultGateway: '', primaryDns: '', secondaryDns: '' });
  } else {
    const next = {
      ipAddress: field(given, 'IpAddress') ?? '',
      subnetMask: field(given, 'SubnetMask') ?? '',
      defaultGateway: field(given, 'DefaultGateway') ?? '',
      primaryDns: field(given, 'PrimaryDNS') ?? '',
      secondaryDns: field(given, 'SecondaryDNS') ?? '',
    };
    for (const [name, v] of Object.entries(next)) if (!isIpv4(v)) return { fault: 'InvalidRepresentation', detail: `${name} ${v || '(missing)'}` };
    Object.assign(h, next, { dhcpEnabled: false });
  }
  h.puts++;
  return undefined;
};

export const networkClasses: readonly ClassDef[] = [
  {
    // The host's IP settings, which its agent keeps up to date where AMT shares the host's static IP (IpSyncEnabled).
    name: 'IPS_HostIPSettings',
    instances: (m) => {
      const h = m.hostIpSettings;
      return [
        {
          DHCPEnabled: h.dhcpEnabled,
          ...(h.dhcpEnabled ? {} : { DefaultGateway: h.defaultGateway }),
          ElementName: HOST_IP,
          InstanceID: HOST_IP,
          ...(h.dhcpEnabled ? {} : { IpAddress: h.ipAddress, PrimaryDNS: h.primaryDns, SecondaryDNS: h.secondaryDns, SubnetMask: h.subnetMask }),
        },
      ];
    },
    put: putHostIp,
  },
  { name: 'AMT_EthernetPortSettings', instances: (m) => [wired(m), wireless()], put: putEthernet },
  {
    name: 'IPS_IPv6PortSettings',
    instances: () =>
      [0, 1].map((n) => ({
        CurrentAddressInfo: [],
        DefaultRouter: '::',
        ElementName: 'Intel(r) IPS IPv6 Settings',
        InstanceID: `Intel(r) IPS IPv6 Port Settings ${n}`,
        InterfaceIDType: 0,
        ManualInterfaceID: '::',
        PrimaryDNS: '::',
        SecondaryDNS: '::',
      })),
  },
  {
    name: 'AMT_WiFiPortConfigurationService',
    instances: () => [
      service('AMT_WiFiPortConfigurationService', 'Intel(r) AMT WiFi Port Configuration Service', {
        ElementName: 'Intel(r) AMT WiFiPort Configuration Service',
        EnabledState: 5,
        HealthState: 5,
        LastConnectedSsidUnderMeControl: '',
        NoHostCsmeSoftwarePolicy: 0,
        RequestedState: 12,
        localProfileSynchronizationEnabled: 0,
      }),
    ],
  },
  { name: 'CIM_WiFiEndpointSettings', instances: () => [] },
  {
    name: 'CIM_WiFiPort',
    instances: () => [
      {
        CreationClassName: 'CIM_WiFiPort',
        DeviceID: 'WiFi Port 0',
        ElementName: 'WiFi Port 0',
        EnabledState: 3,
        HealthState: 5,
        LinkTechnology: 11,
        PermanentAddress: '000000000000',
        PortType: 0,
        RequestedState: 3,
        SystemCreationClassName: 'CIM_ComputerSystem',
        SystemName: 'Intel(r) AMT',
      },
    ],
  },
  { name: 'CIM_IEEE8021xSettings', instances: () => [] },
  {
    name: 'AMT_8021XProfile',
    instances: () => [
      { ActiveInS0: true, ElementName: 'Intel(r) AMT 802.1x Profile', Enabled: false, InstanceID: 'Intel(r) AMT 802.1x Profile 0', PxeTimeout: 0 },
    ],
  },
];
