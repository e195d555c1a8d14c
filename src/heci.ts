/**
 * `lms-rx/heci`: the ME's other clients, host side, as pure codecs: the MEI driver's connect ioctl
 * (`IOCTL_MEI_CONNECT_CLIENT`), AMTHI (AMT's host interface: versions, provisioning, UUID, LAN
 * settings, the host's FQDN, the local system account, remote access status) and MKHI (the firmware
 * version).
 */
export {
  CONNECT_CLIENT_DATA_SIZE,
  decodeConnectClientResponse,
  encodeConnectClientRequest,
  IOCTL_MEI_CONNECT_CLIENT,
  MeClient,
  MIN_LME_PROTOCOL_VERSION,
  type ConnectedClient,
} from './codecs/mei.js';
export {
  AmthiCommand,
  amthiStatusName,
  ControlMode,
  decodeAmthiResponse,
  decodeAnsiString,
  decodeCodeVersions,
  decodeLanSettings,
  decodeLocalSystemAccount,
  decodeRemoteAccessStatus,
  decodeU32,
  decodeUuid,
  describeAmthiError,
  encodeAmthiRequest,
  hostFqdnRequest,
  lanInterfaceRequest,
  localSystemAccountRequest,
  ProvisioningState,
  type AmthiError,
  type CodeVersions,
  type LanSettings,
  type LocalSystemAccount,
  type RemoteAccessStatus,
} from './codecs/amthi.js';
export { decodeMkhiFwVersion, encodeMkhiFwVersionRequest, formatFwVersion, type FwVersion } from './codecs/mkhi.js';
/** One request and its answer over a device's AMTHI connection, within a bound. */
export { askAmthi, callAmthi } from './device/amthiClient.js';
