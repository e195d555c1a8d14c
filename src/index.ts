/** lms-rx: the library's public face. */
export { decodeApf } from './codecs/decode.js';
export { encodeApf, encodedLength, encodeInto } from './codecs/encode.js';
export * from './codecs/index.js';
export { decodeMessages, encodeMessages, type Decoded } from './streams/codecOperators.js';
export { runSession, type RunSessionOptions } from './streams/runSession.js';
export { createSession, type Session, type SessionSnapshot } from './streams/session.js';
export * from './streams/sessionTypes.js';
export { nextChunkSize, addCredit, shouldReturnCredit, MIN_TAIL, CHANNEL_DATA_HEADER } from './streams/flowControl.js';
export { DeviceError, type DeviceErrorCode, type MeConnection, type MeDevice } from './device/transport.js';
export { SimulatedMe, type SimulatedMeOptions } from './device/simulator/simulatedMe.js';
export { createMeEngine, PROFILE_PORTS, type MeStats, type MeEngineOptions, type PortProfile } from './device/simulator/meEngine.js';
export { patternBytes } from './device/simulator/patternBytes.js';
export { startLms, type LmsOptions, type LmsService, type LmsStatus, type ChannelHandle, type ChannelActivity } from './service/lmsService.js';
export type { Logger } from './service/logger.js';
export { runMe } from './device/simulator/runMe.js';
export { parseAmtAlert, type AmtAlert } from './service/amtAlert.js';
