/**
 * Power and boot: the host's power state (CIM_AssociatedPowerManagementService, listed by
 * CIM_ServiceAvailableToElement), power changes (CIM_PowerManagementService.RequestPowerStateChange:
 * a graceful one becomes alert iAMT0067 for the host's agent, lms, to carry out), IPS's OS power
 * saving, and the boot classes.
 */
import type { AmtModel } from '../model.js';
import type { Instance } from '../wsmanEnvelope.js';
import { CIM_SCHEMA, type ClassDef } from '../wsmanService.js';
import { field, service } from './common.js';

const ON = 2;
const OFF = 8;
/** The graceful states an OS agent carries out, and the argument AMT's iAMT0067 gives each: 0 shutdown, 1 reboot, 2 sleep, 3 hibernate. */
const GRACEFUL: ReadonlyMap<number, string> = new Map([
  [12, '0'],
  [14, '1'],
  [4, '2'],
  [7, '3'],
]);
/** What the other requests leave the host in: 5 power cycle and 10 reset come back on, 8 and 6 are off. */
const AFTER: ReadonlyMap<number, number> = new Map([
  [2, ON],
  [5, ON],
  [6, OFF],
  [8, OFF],
  [10, ON],
  [11, ON],
]);
/** The event log's record of a remote power action: sensor type 0x1D (system boot initiated), sensor-specific, offset 7 (a remote request). */
const REMOTE_POWER_EVENT = { sensorType: 0x1d, eventType: 0x6f, offset: 0x07 } as const;

const associated = (m: AmtModel): Instance => ({
  AvailableRequestedPowerStates: [...new Set([...[...AFTER.keys()], ...m.powerStatesSupported.filter((s) => GRACEFUL.has(s))])].filter(
    (s) => s !== m.hostPowerState,
  ),
  PowerState: m.hostPowerState,
  ServiceProvided: {
    ref: `${CIM_SCHEMA}CIM_PowerManagementService`,
    selectors: {
      CreationClassName: 'CIM_PowerManagementService',
      Name: 'Intel(r) AMT Power Management Service',
      SystemCreationClassName: 'CIM_ComputerSystem',
      SystemName: 'Intel(r) AMT',
    },
  },
  UserOfService: { ref: `${CIM_SCHEMA}CIM_ComputerSystem`, selectors: { CreationClassName: 'CIM_ComputerSystem', Name: 'ManagedSystem' } },
});

const bootSettings = (m: AmtModel): Instance => ({
  BIOSLastStatus: [2, 0],
  BIOSPause: false,
  BIOSSetup: false,
  BootMediaIndex: 0,
  BootguardStatus: 127,
  PlatformErase: false,
  RPEEnabled: false,
  RSEPassword: '',
  SecureBootControlEnabled: true,
  UEFIHTTPSBootEnabled: true,
  UEFILocalPBABootEnabled: true,
  UefiBootNumberOfParams: 0,
  WinREBootEnabled: true,
  ConfigurationDataReset: false,
  ElementName: 'Intel(r) AMT Boot Configuration Settings',
  EnforceSecureBoot: false,
  FirmwareVerbosity: 0,
  ForcedProgressEvents: false,
  IDERBootDevice: 0,
  InstanceID: 'Intel(r) AMT:BootSettingData 0',
  LockKeyboard: false,
  LockPowerButton: false,
  LockResetButton: false,
  LockSleepButton: false,
  OptionsCleared: true,
  OwningEntity: 'Intel(r) AMT',
  ReflashBIOS: false,
  SecureErase: false,
  UseIDER: false,
  UseSOL: false,
  UseSafeMode: false,
  UserPasswordBypass: false,
  ...m.persisted.boot,
});
/** The fields of AMT_BootSettingData a Put may change. */
const BOOT_WRITABLE = new Set([
  'BIOSPause',
  'BIOSSetup',
  'BootMediaIndex',
  'ConfigurationDataReset',
  'FirmwareVerbosity',
  'ForcedProgressEvents',
  'IDERBootDevice',
  'LockKeyboard',
  'LockPowerButton',
  'LockResetButton',
  'LockSleepButton',
  'ReflashBIOS',
  'SecureErase',
  'UseIDER',
  'UseSOL',
  'UseSafeMode',
  'UserPasswordBypass',
]);

const bootSource = (id: string, name: string): Instance => ({
  BIOSBootString: '',
  BootString: '',
  ElementName: name,
  FailThroughSupported: 2,
  InstanceID: id,
  StructuredBootString: `CIM:${id.split(': ')[1]}:1`,
});

export const powerClasses: readonly ClassDef[] = [
  { name: 'CIM_AssociatedPowerManagementService', instances: (m) => [associated(m)] },
  { name: 'CIM_ServiceAvailableToElement', members: ['CIM_AssociatedPowerManagementService'], instances: () => [] },
  {
    name: 'CIM_PowerManagementService',
    instances: () => [service('CIM_PowerManagementService', 'Intel(r) AMT Power Management Service', { EnabledState: 5, RequestedState: 12 })],
    methods: {
      RequestPowerStateChange: (m, input) => {
        const state = Number(field(input, 'PowerState'));
        const graceful = GRACEFUL.get(state);
        if (graceful !== undefined) {
          // Only what the host's agent said it can do (PowerStatesSupported), and only while the host runs.
          if (!m.powerStatesSupported.includes(state) || m.hostPowerState !== ON) return { returnValue: 2 };
          m.alert('iAMT0067', [graceful, '']);
        } else {
          const after = AFTER.get(state);
          if (after === undefined) return { returnValue: 2 };
          m.hostPowerState = after;
        }
        m.log.push({ time: new Date(), ...REMOTE_POWER_EVENT, data: [state] });
        return { returnValue: 0 };
      },
    },
  },
  {
    name: 'IPS_PowerManagementService',
    last: ['OSPowerSavingState'],
    instances: () => [
      service('IPS_PowerManagementService', 'Intel(r) AMT Power Management Service', { EnabledState: 5, OSPowerSavingState: 2, RequestedState: 12 }),
    ],
    methods: { RequestOSPowerSavingStateChange: () => ({ returnValue: 0 }) },
  },
  {
    name: 'AMT_BootCapabilities',
    instances: () => [
      {
        BIOSPause: false,
        BIOSReflash: true,
        BIOSSecureBoot: true,
        BIOSSetup: true,
        ConfigurationDataReset: false,
        ElementName: 'Intel(r) AMT: Boot Capabilities',
        ForceCDorDVDBoot: true,
        ForceDiagnosticBoot: false,
        ForceHardDriveBoot: true,
        ForceHardDriveSafeModeBoot: false,
        ForcePXEBoot: true,
        ForcedProgressEvents: true,
        IDER: true,
        InstanceID: 'Intel(r) AMT:BootCapabilities 0',
        KeyboardLock: true,
        PowerButtonLock: false,
        ResetButtonLock: false,
        SOL: true,
        SecureErase: false,
        SleepButtonLock: false,
        UserPasswordBypass: true,
        VerbosityQuiet: false,
        VerbosityScreenBlank: false,
        VerbosityVerbose: false,
      },
    ],
  },
  {
    name: 'AMT_BootSettingData',
    instances: (m) => [bootSettings(m)],
    put: (m, given) => {
      for (const [name, v] of Object.entries(given)) {
        if (!BOOT_WRITABLE.has(name)) continue;
        const t = typeof v === 'string' ? v : String(v);
        m.persisted.boot[name] = t === 'true' ? true : t === 'false' ? false : /^\d+$/.test(t) ? Number(t) : t;
      }
      return undefined;
    },
  },
  {
    name: 'CIM_BootService',
    instances: () => [service('CIM_BootService', 'Intel(r) AMT Boot Service', { EnabledState: 2, OperationalStatus: [0], RequestedState: 12 })],
    methods: { SetBootConfigRole: () => ({ returnValue: 0 }) },
  },
  {
    name: 'CIM_BootConfigSetting',
    instances: () => [{ ElementName: 'Intel(r) AMT: Boot Configuration', InstanceID: 'Intel(r) AMT: Boot Configuration 0' }],
    methods: { ChangeBootOrder: () => ({ returnValue: 0 }) },
  },
  {
    name: 'CIM_BootSourceSetting',
    instances: () => [
      bootSource('Intel(r) AMT: Force Hard-drive Boot', 'Intel(r) AMT: Force Hard-drive Boot'),
      bootSource('Intel(r) AMT: Force PXE Boot', 'Intel(r) AMT: Force PXE Boot'),
      bootSource('Intel(r) AMT: Force CD/DVD Boot', 'Intel(r) AMT: Force CD/DVD Boot'),
    ],
  },
];
