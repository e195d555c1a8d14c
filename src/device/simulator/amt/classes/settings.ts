/** AMT_GeneralSettings, the clock (AMT_TimeSynchronizationService) and CIM_PowerManagementCapabilities. */
import type { ClassDef } from '../wsmanService.js';
import { bool, field, list, service } from './common.js';

const generalSettings: ClassDef = {
  name: 'AMT_GeneralSettings',
  // A tool reads the realm before activation, to hash the admin password with it.
  setup: true,
  instances: (m) => {
    const g = m.persisted.general;
    return [
      {
        AMTNetworkEnabled: g.amtNetworkEnabled,
        DDNSPeriodicUpdateInterval: 1440,
        DDNSTTL: 900,
        DDNSUpdateByDHCPServerEnabled: true,
        DDNSUpdateEnabled: false,
        DHCPSyncRequiresHostname: 1,
        DHCPv6ConfigurationTimeout: 0,
        DigestRealm: m.realm,
        DomainName: g.domainName,
        ElementName: 'Intel(r) AMT: General Settings',
        HostName: g.hostName,
        HostOSFQDN: g.hostName && g.domainName ? `${g.hostName}.${g.domainName}` : '',
        IdleWakeTimeout: 65535,
        InstanceID: 'Intel(r) AMT: General Settings',
        NetworkInterfaceEnabled: true,
        PingResponseEnabled: g.pingResponseEnabled,
        PowerSource: 0,
        PreferredAddressFamily: 0,
        PresenceNotificationInterval: 0,
        PrivacyLevel: 0,
        RmcpPingResponseEnabled: g.rmcpPingResponseEnabled,
        SharedFQDN: g.sharedFqdn,
        ThunderboltDockEnabled: 0,
        WsmanOnlyMode: false,
      },
    ];
  },
  put: (m, given) => {
    const g = m.persisted.general;
    const host = field(given, 'HostName');
    const domain = field(given, 'DomainName');
    if (host !== undefined && !/^[A-Za-z0-9-]{0,63}$/.test(host)) return { fault: 'InvalidRepresentation', detail: 'HostName' };
    if (host !== undefined) g.hostName = host;
    if (domain !== undefined) g.domainName = domain;
    g.sharedFqdn = bool(given, 'SharedFQDN') ?? g.sharedFqdn;
    g.pingResponseEnabled = bool(given, 'PingResponseEnabled') ?? g.pingResponseEnabled;
    g.rmcpPingResponseEnabled = bool(given, 'RmcpPingResponseEnabled') ?? g.rmcpPingResponseEnabled;
    const network = field(given, 'AMTNetworkEnabled');
    if (network === '0' || network === '1') g.amtNetworkEnabled = Number(network) as 0 | 1;
    return undefined;
  },
};

const timeSynchronization: ClassDef = {
  name: 'AMT_TimeSynchronizationService',
  // A console may allow or forbid the OS to set the clock; AMT tells the host's agent with
  // iAMT0069 (argument 1 allowed, 0 forbidden), as Intel LMS reads it.
  put: (m, given) => {
    const setting = field(given, 'LocalTimeSyncEnabled');
    if (setting === undefined) return undefined;
    if (setting !== '0' && setting !== '1' && setting !== '2') return { fault: 'InvalidRepresentation', detail: 'LocalTimeSyncEnabled' };
    const allowed = (s: number): boolean => s !== 2;
    const before = m.localTimeSyncEnabled;
    m.localTimeSyncEnabled = Number(setting) as 0 | 1 | 2;
    if (allowed(before) !== allowed(m.localTimeSyncEnabled)) m.alert('iAMT0069', [allowed(m.localTimeSyncEnabled) ? '1' : '0']);
    return undefined;
  },
  instances: (m) => [
    service('AMT_TimeSynchronizationService', 'Intel(r) AMT Time Synchronization Service', {
      EnabledState: 5,
      LocalTimeSyncEnabled: m.localTimeSyncEnabled,
      RequestedState: 12,
      TimeSource: 1,
    }),
  ],
  methods: {
    GetLowAccuracyTimeSynch: (m) => ({ returnValue: 0, out: { Ta0: Math.floor((Date.now() + m.clockSkewMs) / 1000) } }),
    // AMT refuses when the OS may not set its clock (LocalTimeSyncEnabled 2); otherwise it follows the host's Tm1.
    SetHighAccuracyTimeSynch: (m, input) => {
      const tm1 = Number(field(input, 'Tm1'));
      if (m.localTimeSyncEnabled === 2) return { returnValue: 1 };
      if (!Number.isFinite(tm1)) return { returnValue: 36 };
      m.clockSkewMs = tm1 * 1000 - Date.now();
      return { returnValue: 0 };
    },
  },
};

const powerCapabilities: ClassDef = {
  name: 'CIM_PowerManagementCapabilities',
  instances: (m) => [
    {
      ElementName: 'Power Management Capabilities',
      InstanceID: 'Intel(r) AMT:PowerManagementCapabilities 0',
      PowerChangeCapabilities: [3],
      PowerStatesSupported: m.powerStatesSupported,
    },
  ],
  put: (m, given) => {
    const states = list(given, 'PowerStatesSupported').map(Number);
    if (states.length === 0 || states.some((s) => !Number.isInteger(s))) return { fault: 'InvalidRepresentation', detail: 'PowerStatesSupported' };
    m.powerStatesSupported = states;
    return undefined;
  },
};

export const settingsClasses: readonly ClassDef[] = [generalSettings, timeSynchronization, powerCapabilities];
