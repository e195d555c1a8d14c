/**
 * lms-rx: the library's public face, for programs that run the LMS or talk to the ME.
 * Protocol engineers find the pieces under their own subpaths:
 * - `lms-rx/apf`: the APF codecs (bytes <-> typed messages) and their RxJS operators;
 * - `lms-rx/session`: the session as a step function and as an RxJS operator, with its window rules;
 * - `lms-rx/simulator`: the simulated ME, as a device and as a pure engine;
 * - `lms-rx/heci`: the ME's other clients' codecs (AMTHI, MKHI) and the MEI connect ioctl's.
 */

/** Run the LMS on a device: forwarding, its events, its status. */
export {
  startLms,
  type LmsOptions,
  type LmsService,
  type LmsStatus,
  type LmsCounters,
  type ChannelHandle,
  type ChannelActivity,
} from './service/lmsService.js';
/** What `startLms` reports: session events and the types they carry. */
export type { LmsEvent, SessionPhase, Endpoint, SocketId, ChannelCloseReason, ProtocolViolation } from './streams/sessionTypes.js';
/** The session's tunables (each range-checked by `startLms`), and their defaults. */
export { defaultSessionOptions, defaultReclaimPolicy, optionRanges, type SessionOptions, type ReclaimPolicy } from './streams/sessionTypes.js';
/** Where `startLms` logs: a pino logger fits. */
export type { Logger } from './service/logger.js';
/** A device is anything that connects to the ME's LME client: /dev/mei0, or the simulated ME. */
export { DeviceError, type DeviceErrorCode, type MeConnection, type MeDevice } from './device/transport.js';
export { MeiDevice, type MeiDeviceOptions } from './device/meiDevice.js';
/** What AMT says about itself over AMTHI (`lms info`). */
export { readAmtInfo, type AmtInfo } from './service/amtInfo.js';
/** `lms doctor` as a library call: findings about the driver, device, daemon, ports and AMT. */
export { runDoctor, healthy, type DoctorOptions, type Finding, type FindingLevel, type UnitState } from './doctor/doctor.js';
/** The host duties (the FQDN, AMT's clock, graceful power operations) beside a running LMS, as `lms run` starts them. */
export { startHostDuties, type HostDuties, type HostDutiesOptions, type HostDutiesStatus } from './duties/hostDuties.js';
export type { DutyReport } from './duties/duty.js';
/** An AMT alert posted on a notification channel, parsed. */
export { parseAmtAlert, type AmtAlert } from './service/amtAlert.js';
/** The same alert as a person reads it (`LmsService.amtEvents$`, `lms events`): category and sentence. */
export { describeAmtAlert, type AmtEvent, type AmtEventCategory, type AmtEventTally } from './service/amtEvents.js';
