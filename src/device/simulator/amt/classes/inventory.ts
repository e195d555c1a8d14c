/**
 * The hardware and firmware inventory consoles read: CIM_SoftwareIdentity (AMT's version entries),
 * the BIOS, the chassis, board, processor, memory and disks, and how they are packaged, with the
 * field names and layouts of AMT's own answers. One simulated platform: a small desktop.
 */
import { guidToBytes } from '../../../../codecs/guid.js';
import type { AmtModel } from '../model.js';
import type { Instance } from '../wsmanEnvelope.js';
import { CIM_SCHEMA, type ClassDef } from '../wsmanService.js';

const MANAGED_SYSTEM = { ref: `${CIM_SCHEMA}CIM_ComputerSystem`, selectors: { CreationClassName: 'CIM_ComputerSystem', Name: 'ManagedSystem' } };
const ON_SYSTEM = { SystemCreationClassName: 'CIM_ComputerSystem', SystemName: 'ManagedSystem' };

/** AMT's version entries, as its firmware lists them (the ones `lms info` reads over AMTHI, and more). */
const softwareIdentity = (m: AmtModel): Instance[] => {
  const entry = (id: string, version: string): Instance => ({ InstanceID: id, IsEntity: true, VersionString: version });
  return [
    entry('Flash', m.version),
    entry('Netstack', m.version),
    entry('AMTApps', m.version),
    entry('AMT', m.version),
    entry('Sku', '16392'),
    entry('VendorID', '8086'),
    entry('Build Number', m.build),
    entry('Recovery Version', m.version),
    entry('Recovery Build Num', m.build),
    entry('Legacy Mode', 'False'),
    entry('AMT FW Core Version', m.version),
  ];
};

/** The platform's UUID as AMT stores it (the bytes of AMTHI's GET_UUID), in hex. */
const platformGuid = (m: AmtModel): string => {
  const u = guidToBytes(m.uuid);
  return u._tag === 'Right' ? u.right.toString('hex').toUpperCase() : '';
};

const chassis = (): Instance => ({
  ChassisPackageType: 0,
  CreationClassName: 'CIM_Chassis',
  ElementName: 'Managed System Chassis',
  Manufacturer: 'lms-rx',
  Model: 'Simulated Desktop',
  OperationalStatus: 0,
  PackageType: 3,
  SerialNumber: 'LMSRX0000001',
  Tag: 'CIM_Chassis',
  Version: '1.0',
});

const card = (): Instance => ({
  CanBeFRUed: true,
  CreationClassName: 'CIM_Card',
  ElementName: 'Managed System Base Board',
  Manufacturer: 'lms-rx',
  Model: 'Simulated Board',
  OperationalStatus: 0,
  PackageType: 9,
  SerialNumber: 'LMSRXBOARD01',
  Tag: 'CIM_Card',
  Version: '1.0',
});

const memory = (bank: number): Instance => ({
  BankLabel: `BANK ${bank}`,
  Capacity: 17179869184,
  ConfiguredMemoryClockSpeed: 3200,
  CreationClassName: 'CIM_PhysicalMemory',
  ElementName: 'Managed System Memory Chip',
  FormFactor: 13,
  IsSpeedInMhz: true,
  Manufacturer: '859B',
  MaxMemorySpeed: 3200,
  MemoryType: 26,
  PartNumber: 'SIM16G3200',
  SerialNumber: `0000000${bank}`,
  Speed: 0,
  Tag: bank === 0 ? '9876543210' : `9876543210 (#${bank})`,
});

const mediaAccess = (n: number, size: number): Instance => ({
  Capabilities: [4],
  CreationClassName: 'CIM_MediaAccessDevice',
  DeviceID: `MEDIA DEV ${n}`,
  ElementName: 'Managed System Media Access Device',
  EnabledDefault: 2,
  EnabledState: 0,
  MaxMediaSize: size,
  OperationalStatus: [0],
  RequestedState: 12,
  Security: 2,
  ...ON_SYSTEM,
});

export const inventoryClasses: readonly ClassDef[] = [
  // Consoles read the versions before activation too.
  { name: 'CIM_SoftwareIdentity', setup: true, instances: softwareIdentity },
  {
    name: 'CIM_BIOSElement',
    instances: (m) => [
      {
        ElementName: 'Primary BIOS',
        Manufacturer: 'lms-rx',
        Name: 'Primary BIOS',
        OperationalStatus: [0],
        PrimaryBIOS: true,
        ReleaseDate: { datetime: '2026-11-25T00:00:00Z' },
        SoftwareElementID: m.bios,
        SoftwareElementState: 2,
        TargetOperatingSystem: 66,
        Version: m.bios,
      },
    ],
  },
  {
    name: 'CIM_ComputerSystemPackage',
    instances: (m) => [
      {
        Antecedent: { ref: `${CIM_SCHEMA}CIM_Chassis`, selectors: { CreationClassName: 'CIM_Chassis', Tag: 'CIM_Chassis' } },
        Dependent: MANAGED_SYSTEM,
        PlatformGUID: platformGuid(m),
      },
    ],
  },
  { name: 'CIM_SystemPackaging', members: ['CIM_ComputerSystemPackage'], instances: () => [] },
  { name: 'CIM_Chassis', instances: () => [chassis()] },
  { name: 'CIM_Card', instances: () => [card()] },
  { name: 'CIM_PhysicalPackage', members: ['CIM_Card', 'CIM_Chassis'], instances: () => [] },
  {
    name: 'CIM_Chip',
    instances: () => [
      {
        CanBeFRUed: true,
        CreationClassName: 'CIM_Chip',
        ElementName: 'Managed System Processor Chip',
        Manufacturer: 'Intel(R) Corporation',
        OperationalStatus: [0],
        Tag: 'CPU 0',
        Version: 'Intel(R) Core(TM) i5 simulated CPU @ 2.60GHz',
      },
    ],
  },
  {
    name: 'CIM_Processor',
    instances: () => [
      {
        CPUStatus: 1,
        CreationClassName: 'CIM_Processor',
        CurrentClockSpeed: 2600,
        DeviceID: 'CPU 0',
        ElementName: 'Managed System CPU',
        EnabledState: 2,
        ExternalBusClockSpeed: 100,
        Family: 205,
        HealthState: 0,
        MaxClockSpeed: 4400,
        OperationalStatus: [0],
        OtherFamilyDescription: '',
        RequestedState: 12,
        Role: 'Central',
        Stepping: 3,
        UpgradeMethod: 52,
        ...ON_SYSTEM,
      },
    ],
  },
  { name: 'CIM_PhysicalMemory', instances: () => [memory(0), memory(2)] },
  { name: 'CIM_MediaAccessDevice', instances: () => [mediaAccess(0, 500107862)] },
];
