/**
 * TLS, the certificate store and remote access (CIRA), as a freshly provisioned AMT has them: TLS
 * off on both interfaces, no certificates or keys; the MPS and its policy rules from the model
 * (none unless set up for CIRA). The lists are empty, as AMT's are, rather than missing: a console
 * enumerates each of them on connect.
 */
import type { ClassDef } from '../wsmanService.js';
import { service } from './common.js';

const none = (name: string): ClassDef => ({ name, instances: () => [] });

export const remoteAccessClasses: readonly ClassDef[] = [
  {
    name: 'AMT_TLSSettingData',
    instances: () => [
      {
        AcceptNonSecureConnections: false,
        ElementName: 'Intel(r) AMT 802.3 TLS Settings',
        Enabled: false,
        InstanceID: 'Intel(r) AMT 802.3 TLS Settings',
        MutualAuthentication: false,
      },
      {
        AcceptNonSecureConnections: true,
        ElementName: 'Intel(r) AMT LMS TLS Settings',
        Enabled: false,
        InstanceID: 'Intel(r) AMT LMS TLS Settings',
        MutualAuthentication: false,
      },
    ],
  },
  none('AMT_TLSCredentialContext'),
  none('AMT_PublicKeyCertificate'),
  none('AMT_PublicPrivateKeyPair'),
  {
    name: 'AMT_PublicKeyManagementService',
    instances: () => [
      service('AMT_PublicKeyManagementService', 'Intel(r) AMT Public Key Management Service', {
        ElementName: 'Intel(r) AMT Certificate Store Service',
        EnabledDefault: 5,
        EnabledState: 5,
        RequestedState: 12,
      }),
    ],
  },
  {
    name: 'AMT_ManagementPresenceRemoteSAP',
    instances: (m) =>
      m.remoteAccess.mps
        ? [
            {
              AccessInfo: m.remoteAccess.mps.host,
              CN: m.remoteAccess.mps.host,
              CreationClassName: 'AMT_ManagementPresenceRemoteSAP',
              ElementName: 'Intel(r) AMT:Management Presence Server',
              InfoFormat: 3,
              Name: 'Intel(r) AMT:Management Presence Server 0',
              Port: m.remoteAccess.mps.port,
              SystemCreationClassName: 'CIM_ComputerSystem',
              SystemName: 'Intel(r) AMT',
            },
          ]
        : [],
  },
  {
    name: 'AMT_RemoteAccessPolicyRule',
    // AMT's own ElementName, its typo included; ExtendedData as AMT gives a periodic rule's.
    instances: (m) =>
      m.remoteAccess.policies.map((p) => ({
        CreationClassName: 'AMT_RemoteAccessPolicyRule',
        ElementName: 'Inte(r) AMT:Remote Access Policy',
        ...(p.trigger === 2 ? { ExtendedData: 'AAAAAAAAABk=' } : {}),
        PolicyRuleName: p.name,
        SystemCreationClassName: 'CIM_ComputerSystem',
        SystemName: 'Intel(r) AMT',
        Trigger: p.trigger,
        TunnelLifeTime: p.tunnelLifeTime,
      })),
  },
  none('AMT_RemoteAccessPolicyAppliesToMPS'),
  none('AMT_RemoteAccessCredentialContext'),
  none('AMT_MPSUsernamePassword'),
  { name: 'AMT_RemoteAccessService', instances: () => [service('AMT_RemoteAccessService', 'Intel(r) AMT Remote Access Service')] },
  {
    name: 'AMT_UserInitiatedConnectionService',
    instances: () => [service('AMT_UserInitiatedConnectionService', 'Intel(r) AMT User Initiated Connection Service', { EnabledState: 32771 })],
  },
  {
    name: 'AMT_EnvironmentDetectionSettingData',
    instances: () => [
      { DetectionAlgorithm: 0, ElementName: 'Intel(r) AMT Environment Detection Settings', InstanceID: 'Intel(r) AMT Environment Detection Settings' },
    ],
  },
  {
    name: 'IPS_HTTPProxyService',
    instances: () => [service('IPS_HTTPProxyService', 'Intel(r) AMT HTTP Proxy Service', { EnabledState: 5, RequestedState: 12 })],
  },
  none('IPS_HTTPProxyAccessPoint'),
];
