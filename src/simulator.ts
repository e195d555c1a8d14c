/**
 * `lms-rx/simulator`: an ME to run the LMS against where there is none. `SimulatedMe` is a device
 * (AMT's HTTP service behind its forwarded ports, AMTHI and MKHI clients, injectable faults);
 * `createMeEngine` is its APF side as a pure step function; `runMe` the engine as an RxJS operator.
 */
export { SimulatedMe, type SimulatedMeOptions } from './device/simulator/simulatedMe.js';
export { createMeEngine, type MeEngine } from './device/simulator/meEngine.js';
export {
  defaultMeEngineOptions,
  emptyStats,
  PROFILE_PORTS,
  type MeEngineOptions,
  type MeEffect,
  type MeInput,
  type MeStats,
  type PortProfile,
} from './device/simulator/meTypes.js';
export { runMe } from './device/simulator/runMe.js';
export type { AmthiProfile } from './device/simulator/amthiService.js';
