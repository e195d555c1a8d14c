/**
 * The simulated AMT's state: one typed record that AMTHI, WS-Man and the web server all read and
 * change, so that an activation over WS-Man is what AMTHI reports next. What a tool may change is
 * kept in `persisted`, which `--sim-state FILE` writes back after each change.
 */
import { randomBytes } from 'node:crypto';
import * as t from 'io-ts';

/** 0 pre-provisioning, 1 in provisioning, 2 post-provisioning (AMTHI's and WS-Man's own numbers). */
export type ProvisioningState = 0 | 1 | 2;
/** 0 none, 1 client control mode, 2 admin control mode. */
export type ControlMode = 0 | 1 | 2;

const bit = t.union([t.literal(0), t.literal(1)]);
const EthernetPortCodec = t.type({
  instance: bit,
  dhcpEnabled: t.boolean,
  sharedStaticIp: t.boolean,
  ipSyncEnabled: t.boolean,
  ipAddress: t.string,
  subnetMask: t.string,
  defaultGateway: t.string,
  primaryDns: t.string,
  secondaryDns: t.string,
  mac: t.string,
  linkUp: t.boolean,
});

/** What a tool may change, and what survives a restart with --sim-state (its codec checks the file). */
export const PersistedAmtCodec = t.type({
  provisioning: t.type({
    state: t.union([t.literal(0), t.literal(1), t.literal(2)]),
    controlMode: t.union([t.literal(0), t.literal(1), t.literal(2)]),
    /** MD5(admin:realm:password), as Setup and AdminSetup hand it over (NetAdminPassEncryptionType 2). */
    adminHa1: t.union([t.string, t.undefined]),
    mebxPasswordSet: t.boolean,
  }),
  general: t.type({
    hostName: t.string,
    domainName: t.string,
    sharedFqdn: t.boolean,
    amtNetworkEnabled: bit,
    pingResponseEnabled: t.boolean,
    rmcpPingResponseEnabled: t.boolean,
  }),
  wired: EthernetPortCodec,
  redirection: t.type({
    enabledState: t.number,
    listenerEnabled: t.boolean,
    kvmEnabledState: t.number,
    optInRequired: t.number,
    optInPolicyModifiable: t.boolean,
  }),
  /** UserPasswordBypass and the rest of AMT_BootSettingData that Put may change, by name. */
  boot: t.record(t.string, t.union([t.string, t.number, t.boolean])),
});
export type PersistedAmt = t.TypeOf<typeof PersistedAmtCodec>;

/** A record of the event log (AMT_MessageLog), newest last. */
export interface LogRecord {
  readonly time: Date;
  /** The event's sensor and offset, as AMT's platform event records hold them. */
  readonly sensorType: number;
  readonly eventType: number;
  readonly offset: number;
  readonly data: readonly number[];
}

/**
 * Remote access (CIRA) as AMT holds it: the management presence server (MPS), the policy rules
 * that say when AMT connects to it, where AMT finds itself, and the connection it holds.
 */
export interface RemoteAccessModel {
  mps: { readonly host: string; readonly port: number } | undefined;
  /** AMT_RemoteAccessPolicyRule: Trigger 0 user initiated, 1 alert, 2 periodic, 3 provisioning; TunnelLifeTime 0 is for ever. */
  readonly policies: { readonly name: string; readonly trigger: 0 | 1 | 2 | 3; readonly tunnelLifeTime: number }[];
  /** 0 direct (inside the enterprise), 1 VPN, 2 outside the enterprise, 3 unknown. */
  network: 0 | 1 | 2 | 3;
  /** 0 not connected, 1 connecting, 2 connected. */
  connection: 0 | 1 | 2;
  /** What opened the connection: 0 user initiated, 1 alert, 2 provisioning, 3 periodic. */
  trigger: 0 | 1 | 2 | 3;
  /** User-initiated connections asked for over AMTHI (OPEN_USER_INITIATED_CONNECTION). */
  userInitiated: number;
}

/** AMT's alert that remote access changed: argument 0 the tunnel to the MPS closed, 1 it opened. */
export const CIRA_ALERT = 'iAMT0058';

/** No MPS, no policy, inside the enterprise: a freshly provisioned AMT. */
export const noRemoteAccess = (): RemoteAccessModel => ({ mps: undefined, policies: [], network: 0, connection: 0, trigger: 0, userInitiated: 0 });

/**
 * AMT set up for CIRA by a console (as Open AMT's RPS does): an MPS, a periodic rule that keeps the
 * tunnel for ever and a user-initiated rule; AMT is outside the enterprise and connected.
 */
export const ciraRemoteAccess = (): RemoteAccessModel => ({
  mps: { host: 'mps.example.internal', port: 4433 },
  policies: [
    { name: 'Periodic', trigger: 2, tunnelLifeTime: 0 },
    { name: 'User Initiated', trigger: 0, tunnelLifeTime: 0 },
  ],
  network: 2,
  connection: 2,
  trigger: 3,
  userInitiated: 0,
});

export interface HostIpSettings {
  dhcpEnabled: boolean;
  ipAddress: string;
  subnetMask: string;
  defaultGateway: string;
  primaryDns: string;
  secondaryDns: string;
  puts: number;
}

export interface AmtModel {
  /** The firmware version, e.g. 16.1.30: Server header, Identify, SoftwareIdentity. */
  readonly version: string;
  readonly build: string;
  /** `Digest:` and 32 hex digits: the realm of the Digest challenge and AMT_GeneralSettings.DigestRealm. */
  readonly realm: string;
  /** AMT's admin account's name ("admin"). */
  readonly adminUser: string;
  readonly uuid: string;
  readonly bios: string;
  /** The domain AMT is in (DHCP option 15 or MEBx's PKI DNS suffix): a provisioning certificate must be for it. */
  readonly dnsSuffix: string;
  persisted: PersistedAmt;
  /** The nonce AMT makes for a signed AdminSetup (20 bytes), new after each use. */
  configurationNonce: Buffer;
  /** The provisioning certificate chain given with AddNextCertInChain, leaf first. */
  certChain: Buffer[];
  /** 0 not started, 1 in progress, 2 complete (IPS_HostBasedSetupService.CertChainStatus). */
  certChainStatus: 0 | 1 | 2;
  /** SHA-256 fingerprints (hex) of the roots AMT trusts for admin control mode. */
  readonly trustedRootHashes: Set<string>;
  /** The host's power state as CIM numbers it (2 on, 4 sleep, 7 hibernate, 8 off ...). */
  hostPowerState: number;
  optInState: number;
  optInCode: string | undefined;
  clockSkewMs: number;
  localTimeSyncEnabled: 0 | 1 | 2;
  powerStatesSupported: number[];
  readonly remoteAccess: RemoteAccessModel;
  /** IPS_HostIPSettings: the host's IPv4 settings as its agent last put them (shared static IP), and how many Puts. */
  readonly hostIpSettings: HostIpSettings;
  readonly log: LogRecord[];
  /** Each call, as `<class>.<method>`, oldest first (for tests and status). */
  readonly calls: string[];
  /** Why AMT refused a step of provisioning, newest last (what the firmware's audit log would hold). */
  readonly refusals: string[];
  /** AMT posts an alert (e.g. iAMT0067 for a graceful power request) to the host. */
  alert: (messageId: string, args: readonly string[]) => void;
  /** Called after each change to `persisted` (--sim-state writes it). */
  changed: () => void;
}

export interface AmtModelOptions {
  readonly version: string;
  readonly uuid: string;
  readonly bios: string;
  readonly dnsSuffix: string;
  readonly provisioningState: ProvisioningState;
  readonly controlMode: ControlMode;
  readonly mac: string;
  readonly clockSkewMs?: number;
  readonly localTimeSyncEnabled?: 0 | 1 | 2;
  readonly realm?: string;
  readonly adminUser?: string;
  readonly adminHa1?: string;
  /** Set up for CIRA (ciraRemoteAccess); default: no MPS, no policy. */
  readonly cira?: boolean;
}

/** AMT's realm: `Digest:` and 32 hex digits, made once per platform. */
export const newRealm = (): string => `Digest:${randomBytes(16).toString('hex').toUpperCase()}`;

const PRE: PersistedAmt['provisioning'] = { state: 0, controlMode: 0, adminHa1: undefined, mebxPasswordSet: false };

export const defaultPersisted = (o: AmtModelOptions): PersistedAmt => ({
  provisioning: { ...PRE, state: o.provisioningState, controlMode: o.controlMode, adminHa1: o.adminHa1 },
  general: { hostName: '', domainName: '', sharedFqdn: true, amtNetworkEnabled: 1, pingResponseEnabled: true, rmcpPingResponseEnabled: true },
  wired: {
    instance: 0,
    dhcpEnabled: true,
    sharedStaticIp: false,
    ipSyncEnabled: true,
    ipAddress: '',
    subnetMask: '',
    defaultGateway: '',
    primaryDns: '',
    secondaryDns: '',
    mac: o.mac,
    linkUp: true,
  },
  // 32771: IDE-R and SOL enabled (AMT's own bit values); KVM 2 enabled; OptInRequired 4294967295 (all).
  redirection: { enabledState: 32771, listenerEnabled: true, kvmEnabledState: 2, optInRequired: 4294967295, optInPolicyModifiable: true },
  boot: {},
});

export const createAmtModel = (o: AmtModelOptions, persisted?: PersistedAmt): AmtModel => ({
  version: o.version,
  build: '2225',
  realm: o.realm ?? newRealm(),
  adminUser: o.adminUser ?? 'admin',
  uuid: o.uuid,
  bios: o.bios,
  dnsSuffix: o.dnsSuffix,
  persisted: persisted ?? defaultPersisted(o),
  configurationNonce: randomBytes(20),
  certChain: [],
  certChainStatus: 0,
  trustedRootHashes: new Set(),
  hostPowerState: 2,
  optInState: 0,
  optInCode: undefined,
  clockSkewMs: o.clockSkewMs ?? 0,
  localTimeSyncEnabled: o.localTimeSyncEnabled ?? 0,
  powerStatesSupported: [2, 8, 10],
  remoteAccess: o.cira ? ciraRemoteAccess() : noRemoteAccess(),
  hostIpSettings: { dhcpEnabled: true, ipAddress: '', subnetMask: '', defaultGateway: '', primaryDns: '', secondaryDns: '', puts: 0 },
  log: [],
  calls: [],
  refusals: [],
  alert: () => {},
  changed: () => {},
});

/** Back to factory state (Unprovision): no admin, no control mode, settings as shipped. */
export const unprovision = (m: AmtModel): void => {
  const mac = m.persisted.wired.mac;
  m.persisted = defaultPersisted({ version: m.version, uuid: m.uuid, bios: m.bios, dnsSuffix: m.dnsSuffix, provisioningState: 0, controlMode: 0, mac });
  m.certChain = [];
  m.certChainStatus = 0;
  m.changed();
};
