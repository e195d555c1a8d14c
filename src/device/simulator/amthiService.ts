/**
 * The simulated ME's AMTHI client: answers the informational requests of `lms info` from a
 * configurable profile, in the AMTHI wire format (codecs/amthi.ts). Pure: request in, response out.
 */
import {
  AmthiCommand,
  decodeHostFqdnBody,
  encodeAmthiResponse,
  encodeLocalSystemAccount,
  encodeAnsiString,
  encodeCodeVersions,
  encodeLanSettings,
  encodeRemoteAccessStatus,
  encodeU32,
  AMT_STATUS_DATA_MISSING,
  type LanSettings,
  type LocalSystemAccount,
} from '../../codecs/amthi.js';
import { guidToBytes } from '../../codecs/guid.js';
import {
  BRAND_AMT,
  encodeMkhiFwVersionResponse,
  encodeMkhiRuleResponse,
  FwFeature,
  ME_FULL_8MB,
  mkhiGetRuleId,
  MkhiRule,
  platformType,
} from '../../codecs/mkhi.js';
import { CIRA_ALERT, type AmtModel } from './amt/model.js';

/** What the simulated AMTHI and MKHI clients answer: versions, provisioning, UUID, LAN settings. */
export interface AmthiProfile {
  readonly amtVersion: string;
  /** The ME firmware version (major.minor.hotfix.build): AMTHI's "Flash" entry and MKHI's answer. */
  readonly flashVersion: string;
  /** Some firmware leaves "Flash" out of the code versions; `lms info` then asks MKHI. */
  readonly codeVersionsIncludeFlash: boolean;
  readonly bios: string;
  /** 0 pre-provisioning, 1 in provisioning, 2 post-provisioning: at start (then the model's). */
  readonly provisioningState: 0 | 1 | 2;
  /** 0 none, 1 client control, 2 admin control: at start (then the model's). */
  readonly controlMode: 0 | 1 | 2;
  readonly uuid: string;
  readonly dnsSuffix: string;
  readonly wired: LanSettings;
  /** What GET_LOCAL_SYSTEM_ACCOUNT answers, before provisioning too (tools activate AMT with it); WS-Man accepts it. */
  readonly localAccount?: LocalSystemAccount;
}

/** What the simulated AMTHI client was told (the host's FQDN, each time it was sent), and the AMT it reports on. */
export interface AmthiState {
  readonly hostFqdns: string[];
  /** The simulated AMT whose provisioning AMTHI reports; without it, the profile's. */
  readonly amt?: Pick<AmtModel, 'persisted' | 'remoteAccess' | 'alert'>;
}

export const defaultAmthiProfile = (amtVersion: string, uuid: string): AmthiProfile => ({
  amtVersion,
  flashVersion: `${amtVersion}.2225`,
  codeVersionsIncludeFlash: true,
  bios: 'LMSRX.SIM.0001.2026.1125',
  provisioningState: 2,
  controlMode: 1,
  uuid,
  dnsSuffix: 'example.internal',
  wired: { enabled: true, ipv4: '0.0.0.0', dhcpEnabled: true, dhcpMode: 1, linkUp: true, mac: '02:00:5e:10:00:01' },
});

const INVALID_AMT_MODE = 3;
const INVALID_MESSAGE_LENGTH = 4;
const INTERNAL_ERROR = 1;

export const answerAmthi = (request: Buffer, p: AmthiProfile, state: AmthiState = { hostFqdns: [] }): Buffer => {
  if (request.length < 12) return encodeAmthiResponse(0, INVALID_MESSAGE_LENGTH);
  const command = request.readUInt32LE(4);
  const length = request.readUInt32LE(8);
  if (length !== request.length - 12) return encodeAmthiResponse(command, INVALID_MESSAGE_LENGTH);
  const ok = (body: Buffer): Buffer => encodeAmthiResponse(command, 0, body);
  switch (command) {
    case AmthiCommand.GetCodeVersions:
      return ok(
        encodeCodeVersions({
          bios: p.bios,
          versions: [
            { description: 'AMT', version: p.amtVersion },
            ...(p.codeVersionsIncludeFlash ? [{ description: 'Flash', version: p.flashVersion }] : []),
            { description: 'Netstack', version: p.amtVersion },
            { description: 'AMTApps', version: p.amtVersion },
            { description: 'Sku', version: '16392' },
            { description: 'VendorID', version: '8086' },
          ],
        }),
      );
    case AmthiCommand.GetProvisioningState:
      return ok(encodeU32(state.amt?.persisted.provisioning.state ?? p.provisioningState));
    case AmthiCommand.GetControlMode:
      return ok(encodeU32(state.amt?.persisted.provisioning.controlMode ?? p.controlMode));
    case AmthiCommand.GetUuid: {
      const u = guidToBytes(p.uuid);
      return u._tag === 'Right' ? ok(u.right) : encodeAmthiResponse(command, INTERNAL_ERROR);
    }
    case AmthiCommand.GetDnsSuffix:
      return ok(encodeAnsiString(p.dnsSuffix));
    case AmthiCommand.GetLanInterfaceSettings: {
      if (length !== 4) return encodeAmthiResponse(command, INVALID_MESSAGE_LENGTH);
      // Only the wired interface exists on this simulated platform.
      return request.readUInt32LE(12) === 0 ? ok(encodeLanSettings(p.wired)) : encodeAmthiResponse(command, INVALID_AMT_MODE);
    }
    case AmthiCommand.SetHostFqdn: {
      const name = decodeHostFqdnBody(request.subarray(12));
      if (name._tag === 'Left') return encodeAmthiResponse(command, INVALID_MESSAGE_LENGTH);
      state.hostFqdns.push(name.right);
      return ok(Buffer.alloc(0));
    }
    case AmthiCommand.GetLocalSystemAccount:
      if (length !== 40) return encodeAmthiResponse(command, INVALID_MESSAGE_LENGTH);
      // Before provisioning too: host-based activation (rpc-go's activate --local) authenticates with it.
      return p.localAccount ? ok(encodeLocalSystemAccount(p.localAccount)) : encodeAmthiResponse(command, INVALID_AMT_MODE);
    case AmthiCommand.GetRemoteAccessConnectionStatus: {
      const r = state.amt?.remoteAccess;
      return ok(
        encodeRemoteAccessStatus(
          r
            ? { network: r.network, connection: r.connection, trigger: r.trigger, mpsHostname: r.mps?.host ?? '' }
            : { network: 0, connection: 0, trigger: 0, mpsHostname: '' },
        ),
      );
    }
    case AmthiCommand.OpenUserInitiatedConnection: {
      const amt = state.amt;
      if (amt?.persisted.provisioning.state !== 2) return encodeAmthiResponse(command, INVALID_AMT_MODE);
      const r = amt.remoteAccess;
      // No MPS, or no rule that lets the user open a connection: nothing to connect to.
      if (!r.mps || !r.policies.some((p) => p.trigger === 0)) return encodeAmthiResponse(command, AMT_STATUS_DATA_MISSING);
      r.userInitiated++;
      if (r.connection !== 2) {
        r.connection = 2;
        r.trigger = 0;
        amt.alert(CIRA_ALERT, ['1']);
      }
      return ok(Buffer.alloc(0));
    }
    default:
      return encodeAmthiResponse(command, INTERNAL_ERROR);
  }
};

/** The simulated MKHI client: GET_FW_VERSION, and the FWCAPS rules that say AMT is there and on; anything else is answered with a failure. */
export const answerMkhi = (request: Buffer, p: AmthiProfile): Buffer => {
  const rule = mkhiGetRuleId(request);
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0, 0);
    return b;
  };
  if (rule === MkhiRule.FwSku || rule === MkhiRule.FeatureEnable || rule === MkhiRule.AvailableBitmap)
    return encodeMkhiRuleResponse(rule, u32(FwFeature.Amt | FwFeature.Ipv6 | FwFeature.Kvm | FwFeature.Tls));
  // A desktop with a full ME, branded AMT.
  if (rule === MkhiRule.PlatformType) return encodeMkhiRuleResponse(rule, u32(platformType({ desktop: true, imageType: ME_FULL_8MB, brand: BRAND_AMT })));
  if (request.length < 4 || request[0] !== 0xff || request[1] !== 0x02) return Buffer.from([request[0] ?? 0, (request[1] ?? 0) | 0x80, 0, 0x8d]);
  const [major = 0, minor = 0, hotfix = 0, build = 0] = p.flashVersion.split('.').map(Number);
  return encodeMkhiFwVersionResponse({ major, minor, hotfix, build });
};
