/**
 * Provisioning as AMT does it: IPS_HostBasedSetupService (Setup to client control mode; a
 * certificate chain, then AdminSetup or UpgradeClientToAdmin to admin control mode, each checked
 * as AMT checks it), AMT_SetupAndConfigurationService (Unprovision and the rest) and
 * AMT_AuthorizationService. The state is the model's, which AMTHI reports too.
 */
import { createVerify, randomBytes, X509Certificate } from 'node:crypto';
import { guidToBytes } from '../../../../codecs/guid.js';
import { unprovision, type AmtModel } from '../model.js';
import type { ClassDef, MethodResult } from '../wsmanService.js';
import { bool, field, service } from './common.js';

/** IPS_HostBasedSetupService's return values (AMT SDK). */
const SUCCESS = 0;
const INVALID_STATE = 2;
const INVALID_PARAM = 3;
const AUTH_FAILED = 5;
/** AMT_SetupAndConfigurationService's PT_STATUS_NOT_PERMITTED. */
const NOT_PERMITTED = 16;
/** NetAdminPassEncryptionType 2: the password as MD5(admin:realm:password), hex (HTTP_DIGEST_MD5_A1). */
const DIGEST_MD5_A1 = '2';
/** SigningAlgorithm 2: RSA with SHA-256. */
const RSA_SHA256 = '2';
/** The extended key usage of an AMT provisioning certificate, and the OU older ones carry instead. */
const AMT_PROVISIONING_OID = '2.16.840.1.113741.1.2.3';
const CLIENT_SETUP_OU = 'Intel(R) Client Setup Certificate';

const pre = (m: AmtModel): boolean => m.persisted.provisioning.state === 0;
const ccm = (m: AmtModel): boolean => m.persisted.provisioning.state === 2 && m.persisted.provisioning.controlMode === 1;

/** The admin password as Setup and AdminSetup give it, or undefined when it is not one. */
const adminHa1 = (input: Readonly<Record<string, unknown>>): string | undefined => {
  const ha1 = field(input, 'NetworkAdminPassword');
  return field(input, 'NetAdminPassEncryptionType') === DIGEST_MD5_A1 && ha1 && /^[0-9a-fA-F]{32}$/.test(ha1) ? ha1.toLowerCase() : undefined;
};

/** Is the chain given with AddNextCertInChain whole: leaf first, each signed by the next, up to a root AMT trusts? */
const chainProblem = (m: AmtModel): string | undefined => {
  let certs: X509Certificate[];
  try {
    certs = m.certChain.map((der) => new X509Certificate(der));
  } catch {
    return 'a certificate that does not parse';
  }
  const leaf = certs[0]!;
  const root = certs[certs.length - 1]!;
  for (let i = 0; i + 1 < certs.length; i++)
    if (!certs[i]!.checkIssued(certs[i + 1]!) || !certs[i]!.verify(certs[i + 1]!.publicKey)) return `certificate ${i} is not signed by the next`;
  if (!root.checkIssued(root) || !root.verify(root.publicKey)) return 'the last certificate is not a root';
  const fingerprint = root.fingerprint256.replace(/:/g, '').toLowerCase();
  if (!m.trustedRootHashes.has(fingerprint)) return `the root ${fingerprint} is not among AMT's trusted roots`;
  if (!(leaf.keyUsage ?? []).includes(AMT_PROVISIONING_OID) && !leaf.subject.includes(`OU=${CLIENT_SETUP_OU}`))
    return 'the leaf is not an AMT provisioning certificate';
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(leaf.subject)?.[1] ?? '';
  if (m.dnsSuffix && cn !== m.dnsSuffix && !cn.endsWith(`.${m.dnsSuffix}`)) return `the leaf's name ${cn} is not in AMT's domain ${m.dnsSuffix}`;
  return undefined;
};

/** The console's signature over ConfigurationNonce and McNonce, with the leaf's key. */
const signedByLeaf = (m: AmtModel, input: Readonly<Record<string, unknown>>): boolean => {
  const mcNonce = Buffer.from(field(input, 'McNonce') ?? '', 'base64');
  const signature = Buffer.from(field(input, 'DigitalSignature') ?? '', 'base64');
  if (field(input, 'SigningAlgorithm') !== RSA_SHA256 || mcNonce.length !== 20 || m.certChainStatus !== 2) return false;
  const v = createVerify('sha256');
  v.update(Buffer.concat([m.configurationNonce, mcNonce]));
  try {
    return v.verify(new X509Certificate(m.certChain[0]!).publicKey, signature);
  } catch {
    return false;
  }
};

const provisioned = (m: AmtModel, controlMode: 1 | 2, ha1: string | undefined): MethodResult => {
  const p = m.persisted.provisioning;
  p.state = 2;
  p.controlMode = controlMode;
  if (ha1) p.adminHa1 = ha1;
  m.configurationNonce = randomBytes(20);
  m.changed();
  return { returnValue: SUCCESS };
};

const hostBasedSetup: ClassDef = {
  name: 'IPS_HostBasedSetupService',
  setup: true,
  instances: (m) => [
    service('IPS_HostBasedSetupService', 'Intel(r) AMT Host Based Setup Service', {
      // A provisioned AMT in admin control mode allows no other; before that both are allowed.
      AllowedControlModes: m.persisted.provisioning.controlMode === 2 ? [2] : [2, 1],
      CertChainStatus: m.certChainStatus,
      ConfigurationNonce: m.configurationNonce.toString('base64'),
      CurrentControlMode: m.persisted.provisioning.controlMode,
    }),
  ],
  methods: {
    Setup: (m, input) => {
      if (!pre(m)) return { returnValue: INVALID_STATE };
      const ha1 = adminHa1(input);
      return ha1 ? provisioned(m, 1, ha1) : { returnValue: INVALID_PARAM };
    },
    AddNextCertInChain: (m, input) => {
      if (!pre(m) && !ccm(m)) return { returnValue: INVALID_STATE };
      const der = Buffer.from(field(input, 'NextCertificate') ?? '', 'base64');
      const leaf = bool(input, 'IsLeafCertificate');
      const root = bool(input, 'IsRootCertificate');
      if (der.length === 0 || leaf === undefined || root === undefined) return { returnValue: INVALID_PARAM };
      if (leaf) m.certChain = [];
      else if (m.certChainStatus !== 1) return { returnValue: INVALID_STATE };
      m.certChain.push(der);
      m.certChainStatus = 1;
      if (!root) return { returnValue: SUCCESS };
      const problem = chainProblem(m);
      m.certChainStatus = problem ? 0 : 2;
      if (problem) m.refusals.push(`AddNextCertInChain: ${problem}`);
      return { returnValue: problem ? INVALID_PARAM : SUCCESS };
    },
    AdminSetup: (m, input) => {
      if (!pre(m)) return { returnValue: INVALID_STATE };
      const ha1 = adminHa1(input);
      if (!ha1) return { returnValue: INVALID_PARAM };
      if (!signedByLeaf(m, input)) {
        m.refusals.push('AdminSetup: the signature over ConfigurationNonce and McNonce does not verify with the leaf certificate');
        return { returnValue: AUTH_FAILED };
      }
      return provisioned(m, 2, ha1);
    },
    UpgradeClientToAdmin: (m, input) => {
      if (!ccm(m)) return { returnValue: INVALID_STATE };
      if (!signedByLeaf(m, input)) {
        m.refusals.push('UpgradeClientToAdmin: the signature over ConfigurationNonce and McNonce does not verify with the leaf certificate');
        return { returnValue: AUTH_FAILED };
      }
      return provisioned(m, 2, undefined);
    },
  },
};

const setupAndConfiguration: ClassDef = {
  name: 'AMT_SetupAndConfigurationService',
  setup: true,
  instances: (m) => [
    service('AMT_SetupAndConfigurationService', 'Intel(r) AMT Setup and Configuration Service', {
      EnabledState: 5,
      PasswordModel: 1,
      // 1 admin control mode, 4 client control mode (ProvisioningMode's own numbers); 1 before activation.
      ProvisioningMode: m.persisted.provisioning.controlMode === 1 ? 4 : 1,
      ProvisioningServerOTP: '',
      ProvisioningState: m.persisted.provisioning.state,
      RequestedState: 12,
      ZeroTouchConfigurationEnabled: true,
    }),
  ],
  methods: {
    Unprovision: (m, input) => {
      if (m.persisted.provisioning.state !== 2) return { returnValue: NOT_PERMITTED };
      if (field(input, 'ProvisioningMode') !== '1') return { returnValue: INVALID_PARAM };
      unprovision(m);
      return { returnValue: SUCCESS };
    },
    // Partial unprovisioning is for admin control mode, and leaves AMT as unprovisioned.
    PartialUnprovision: (m) => {
      if (m.persisted.provisioning.controlMode !== 2) return { returnValue: NOT_PERMITTED };
      unprovision(m);
      return { returnValue: SUCCESS };
    },
    CommitChanges: () => ({ returnValue: SUCCESS }),
    SetMEBxPassword: (m, input) => {
      if (m.persisted.provisioning.controlMode !== 2) return { returnValue: NOT_PERMITTED };
      const password = field(input, 'Password') ?? '';
      // MEBx's rule: 8 to 32 characters with a digit, a lower and an upper case letter and a symbol.
      if (
        password.length < 8 ||
        password.length > 32 ||
        !/\d/.test(password) ||
        !/[a-z]/.test(password) ||
        !/[A-Z]/.test(password) ||
        !/[^A-Za-z0-9]/.test(password)
      )
        return { returnValue: INVALID_PARAM };
      m.persisted.provisioning.mebxPasswordSet = true;
      m.changed();
      return { returnValue: SUCCESS };
    },
    GetUuid: (m) => {
      const u = guidToBytes(m.uuid);
      return u._tag === 'Right' ? { returnValue: SUCCESS, out: { UUID: u.right.toString('base64') } } : { returnValue: 1 };
    },
  },
};

const authorization: ClassDef = {
  name: 'AMT_AuthorizationService',
  instances: () => [
    service('AMT_AuthorizationService', 'Intel(r) AMT Authorization Service', { AllowHttpQopAuthOnly: 1, EnabledState: 5, RequestedState: 12 }),
  ],
};

export const provisioningClasses: readonly ClassDef[] = [hostBasedSetup, setupAndConfiguration, authorization];
