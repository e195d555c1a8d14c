/**
 * `lms info` as a library call: asks the AMTHI client, one request at a time, for the code
 * versions, provisioning state, control mode, platform UUID, DNS suffix and wired LAN settings.
 * A query that fails is reported with the others, not thrown: a half-configured AMT still says
 * what it can. Credentials (the local system account) are never requested.
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  AmthiCommand,
  ControlMode,
  decodeAnsiString,
  decodeCodeVersions,
  decodeLanSettings,
  decodeU32,
  decodeUuid,
  encodeAmthiRequest,
  lanInterfaceRequest,
  ProvisioningState,
  type AmthiError,
  type CodeVersions,
  type LanSettings,
} from '../codecs/amthi.js';
import { askAmthi, readFirmwareVersion } from '../device/amthiClient.js';
import type { MeDevice } from '../device/transport.js';

/** What AMT reports over AMTHI: versions, provisioning, control mode, UUID, network settings. */
export interface AmtInfo {
  readonly amtVersion?: string;
  readonly firmwareVersion?: string;
  readonly biosVersion?: string;
  readonly codeVersions?: CodeVersions['versions'];
  readonly provisioningState?: { readonly code: number; readonly name: string };
  readonly controlMode?: { readonly code: number; readonly name: string };
  readonly uuid?: string;
  readonly dnsSuffix?: string;
  readonly wiredLan?: LanSettings;
  /** Queries that did not answer, with why. */
  readonly errors: readonly { readonly query: string; readonly error: string }[];
}

/** Asks AMTHI (and MKHI) on `device` for everything `lms info` shows. */
export const readAmtInfo = async (device: MeDevice, options: { readonly mkhi?: MeDevice; readonly timeoutMs?: number } = {}): Promise<AmtInfo> => {
  const timeoutMs = options.timeoutMs ?? 3000;
  const c = await device.connect();
  const errors: { query: string; error: string }[] = [];
  const known = <A>(query: string, r: E.Either<string, A>): A | undefined => {
    if (E.isRight(r)) return r.right;
    errors.push({ query, error: r.left });
    return undefined;
  };
  try {
    const askOnce = <A>(command: AmthiCommand, decode: (b: Buffer) => E.Either<AmthiError, A>) =>
      askAmthi(c, encodeAmthiRequest(command), command, decode, timeoutMs);
    const versions = known('code versions', await askOnce(AmthiCommand.GetCodeVersions, decodeCodeVersions));
    const state = known('provisioning state', await askOnce(AmthiCommand.GetProvisioningState, decodeU32));
    const mode = known('control mode', await askOnce(AmthiCommand.GetControlMode, decodeU32));
    const uuid = known('UUID', await askOnce(AmthiCommand.GetUuid, decodeUuid));
    const dnsSuffix = known('DNS suffix', await askOnce(AmthiCommand.GetDnsSuffix, decodeAnsiString));
    const wiredLan = known('wired LAN settings', await askAmthi(c, lanInterfaceRequest(0), AmthiCommand.GetLanInterfaceSettings, decodeLanSettings, timeoutMs));
    const find = (name: string) => versions?.versions.find((v) => v.description === name)?.version;
    const amtVersion = find('AMT');
    let firmwareVersion = find('Flash');
    if (firmwareVersion === undefined && options.mkhi) firmwareVersion = known('firmware version (MKHI)', await readFirmwareVersion(options.mkhi, timeoutMs));
    return {
      ...(amtVersion !== undefined ? { amtVersion } : {}),
      ...(firmwareVersion !== undefined ? { firmwareVersion } : {}),
      ...(versions ? { biosVersion: versions.bios, codeVersions: versions.versions } : {}),
      ...(state !== undefined ? { provisioningState: { code: state, name: ProvisioningState[state as 0 | 1 | 2] ?? `unknown (${state})` } } : {}),
      ...(mode !== undefined ? { controlMode: { code: mode, name: ControlMode[mode as 0 | 1 | 2] ?? `unknown (${mode})` } } : {}),
      ...(uuid !== undefined ? { uuid } : {}),
      ...(dnsSuffix !== undefined ? { dnsSuffix } : {}),
      ...(wiredLan !== undefined ? { wiredLan } : {}),
      errors,
    };
  } finally {
    c.close();
  }
};
