/**
 * TLS, the certificate store and remote access (CIRA), as a freshly provisioned AMT has them: TLS
 * off on both interfaces, no certificates or keys, no MPS, no policy. The lists are empty, as AMT's
 * are, rather than missing: a console enumerates each of them on connect.
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
  none('AMT_ManagementPresenceRemoteSAP'),
  none('AMT_RemoteAccessPolicyRule'),
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
