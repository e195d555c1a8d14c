/**
 * Redirection and user consent: AMT_RedirectionService (IDE-R and SOL, the listener), KVM
 * (CIM_KVMRedirectionSAP, IPS_KVMRedirectionSettingData), IPS_OptInService (consent codes) and
 * IPS_ScreenConfigurationService.
 */
import { randomInt } from 'node:crypto';
import type { ClassDef, Method } from '../wsmanService.js';
import { bool, field, service } from './common.js';

/** AMT_RedirectionService's EnabledState values: 32768 none, 32769 IDE-R, 32770 SOL, 32771 both. */
const REDIRECTION_STATES = new Set([32768, 32769, 32770, 32771]);
/** CIM_KVMRedirectionSAP.RequestStateChange: 2 enabled, 3 disabled, 6 enabled but offline (waiting for a session). */
const KVM_STATES = new Set([2, 3]);
/** OptInState: 0 not started, 1 requested, 2 displayed, 3 received, 4 in session. */
const OPT_IN_DISPLAYED = 2;
const OPT_IN_RECEIVED = 3;
/** AMT's user consent alert and its first argument: 1 granted, 2 ended, 3 requested (Intel LMS's CimToEventTranslator). */
const CONSENT_ALERT = 'iAMT0064';
/** AMT's KVM availability alert: 0 disabled, 1 enabled. */
const KVM_ALERT = 'iAMT0059';

/** CIM's RequestStateChange: one of `allowed` is kept in the model; another is refused with 5 (invalid parameter). */
const requestStateChange =
  (allowed: ReadonlySet<number>, key: 'enabledState' | 'kvmEnabledState'): Method =>
  (m, input) => {
    const state = Number(field(input, 'RequestedState'));
    if (!allowed.has(state)) return { returnValue: 5 };
    m.persisted.redirection[key] = state;
    m.changed();
    return { returnValue: 0 };
  };

export const redirectionClasses: readonly ClassDef[] = [
  {
    name: 'AMT_RedirectionService',
    instances: (m) => [
      service('AMT_RedirectionService', 'Intel(r) AMT Redirection Service', {
        EnabledState: m.persisted.redirection.enabledState,
        ListenerEnabled: m.persisted.redirection.listenerEnabled,
      }),
    ],
    put: (m, given) => {
      m.persisted.redirection.listenerEnabled = bool(given, 'ListenerEnabled') ?? m.persisted.redirection.listenerEnabled;
      return undefined;
    },
    methods: { RequestStateChange: requestStateChange(REDIRECTION_STATES, 'enabledState') },
  },
  {
    name: 'CIM_KVMRedirectionSAP',
    instances: (m) => [
      {
        CreationClassName: 'CIM_KVMRedirectionSAP',
        ElementName: 'KVM Redirection Service Access Point',
        // Enabled and no session yet is 6 (Enabled but Offline), as AMT reports it.
        EnabledState: m.persisted.redirection.kvmEnabledState === 2 ? 6 : 3,
        KVMProtocol: 4,
        Name: 'KVM Redirection Service Access Point',
        RequestedState: m.persisted.redirection.kvmEnabledState,
        SystemCreationClassName: 'CIM_ComputerSystem',
        SystemName: 'ManagedSystem',
      },
    ],
    methods: {
      RequestStateChange: (m, input) => {
        const before = m.persisted.redirection.kvmEnabledState;
        const answer = requestStateChange(KVM_STATES, 'kvmEnabledState')(m, input);
        const after = m.persisted.redirection.kvmEnabledState;
        if (after !== before) m.alert(KVM_ALERT, [after === 2 ? '1' : '0']);
        return answer;
      },
    },
  },
  {
    name: 'IPS_KVMRedirectionSettingData',
    instances: () => [
      {
        BackToBackFbMode: true,
        DefaultScreen: 0,
        ElementName: 'Intel(r) KVM Redirection Settings',
        EnabledByMEBx: true,
        GreyScale: false,
        InactivityTimeout: 15,
        InstanceID: 'Intel(r) KVM Redirection Settings',
        Is5900PortEnabled: false,
        OptInPolicy: false,
        OptInPolicyTimeout: 120,
        SessionTimeout: 15,
        ZlibControlSupported: true,
      },
    ],
  },
  {
    name: 'IPS_OptInService',
    instances: (m) => [
      service('IPS_OptInService', 'Intel(r) AMT OptIn Service', {
        CanModifyOptInPolicy: m.persisted.redirection.optInPolicyModifiable ? 1 : 0,
        OptInCodeTimeout: 120,
        OptInDisplayTimeout: 300,
        // Admin control mode may waive consent; client control mode always asks (AMT's rule).
        OptInRequired: m.persisted.provisioning.controlMode === 1 ? 4294967295 : m.persisted.redirection.optInRequired,
        OptInState: m.optInState,
      }),
    ],
    put: (m, given) => {
      const required = field(given, 'OptInRequired');
      if (required !== undefined) {
        if (m.persisted.provisioning.controlMode !== 2) return { fault: 'AccessDenied', detail: 'consent can be changed in admin control mode only' };
        if (!['0', '1', '4294967295'].includes(required)) return { fault: 'InvalidRepresentation', detail: 'OptInRequired' };
        m.persisted.redirection.optInRequired = Number(required);
      }
      return undefined;
    },
    methods: {
      // AMT shows the code on the host's screen (the model keeps it: SimulatedMe.amt.optInCode); the console reads it back from the user.
      StartOptIn: (m) => {
        if (m.optInState >= OPT_IN_DISPLAYED) return { returnValue: 2066 };
        m.optInCode = String(randomInt(0, 1_000_000)).padStart(6, '0');
        m.optInState = OPT_IN_DISPLAYED;
        m.alert(CONSENT_ALERT, ['3']);
        return { returnValue: 0 };
      },
      SendOptInCode: (m, input) => {
        if (m.optInState !== OPT_IN_DISPLAYED || m.optInCode === undefined) return { returnValue: 2066 };
        if (field(input, 'OptInCode') !== String(Number(m.optInCode))) return { returnValue: 2065 };
        m.optInState = OPT_IN_RECEIVED;
        m.alert(CONSENT_ALERT, ['1']);
        return { returnValue: 0 };
      },
      CancelOptIn: (m) => {
        if (m.optInState !== 0) m.alert(CONSENT_ALERT, ['2']);
        m.optInState = 0;
        m.optInCode = undefined;
        return { returnValue: 0 };
      },
    },
  },
  {
    name: 'IPS_ScreenConfigurationService',
    instances: () => [service('IPS_ScreenConfigurationService', 'Intel(r) AMT Screen Configuration Service', { EnabledState: 5, RequestedState: 12 })],
  },
];
