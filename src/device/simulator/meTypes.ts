/**
 * What the simulated ME's engine takes and gives: its options and port profiles, the inputs and
 * effects of its step function, and the counters tests and `lms status` read.
 */
import type { ApfMessage } from '../../codecs/messages.js';
import { TriggerReason } from '../../codecs/opcodes.js';

/** Which of AMT's ports the simulated ME forwards. */
export type PortProfile = 'plain' | 'tls' | 'both';

/** The ports the ME forwards in each profile (16992/623, or 16993/664 where AMT enforces TLS). */
export const PROFILE_PORTS: Record<PortProfile, readonly number[]> = {
  plain: [16992, 623],
  tls: [16993, 664],
  both: [16992, 623, 16993, 664],
};

/** How the simulated ME behaves: its ports, identity, window, slots and MTU, and AMT's quirks. */
export interface MeEngineOptions {
  readonly profile: PortProfile;
  /** Ports to forward instead of the profile's (tests use free high ports). */
  readonly ports?: readonly number[];
  readonly uuid: string;
  readonly triggerReason: number;
  /** The window the ME advertises on each channel. */
  readonly window: number;
  readonly slots: number;
  readonly maxMsgLength: number;
  /** Answer a chunked request whose terminator was split across messages with 400, as AMT does. */
  readonly strictChunkedTerminator: boolean;
}

/** An ME with 8 slots, a 4 KiB window and MTU, that rejects split chunk terminators as AMT does. */
export const defaultMeEngineOptions: MeEngineOptions = {
  profile: 'plain',
  uuid: '4c4c4544-0042-3510-8052-b3c04f4a4d32',
  triggerReason: TriggerReason.UserInitiatedRequest,
  window: 4096,
  slots: 8,
  maxMsgLength: 4096,
  strictChunkedTerminator: true,
};

/** What the simulator counts. Tests assert on these; `lms status` of the simulator shows them. */
export interface MeStats {
  sessions: number;
  resets: number;
  protocolErrors: number;
  malformed: number;
  windowViolations: number;
  mtuViolations: number;
  unknownChannel: number;
  doubleClose: number;
  dataAfterClose: number;
  splitTerminators: number;
  channelsOpened: number;
  channelsClosed: number;
  openFailures: number;
  bytesFromHost: number;
  bytesToHost: number;
  notificationsAcknowledged: number;
}

/** Counters at zero. */
export const emptyStats = (): MeStats => ({
  sessions: 0,
  resets: 0,
  protocolErrors: 0,
  malformed: 0,
  windowViolations: 0,
  mtuViolations: 0,
  unknownChannel: 0,
  doubleClose: 0,
  dataAfterClose: 0,
  splitTerminators: 0,
  channelsOpened: 0,
  channelsClosed: 0,
  openFailures: 0,
  bytesFromHost: 0,
  bytesToHost: 0,
  notificationsAcknowledged: 0,
});

/** What the engine steps on: the link, the host's messages, its services' output, and injected faults. */
export type MeInput =
  | { readonly kind: 'connect' }
  | { readonly kind: 'host'; readonly message: ApfMessage }
  | { readonly kind: 'host-malformed'; readonly detail: string }
  | { readonly kind: 'service-output'; readonly id: number; readonly data: Buffer }
  | { readonly kind: 'service-consumed'; readonly id: number; readonly bytes: number }
  | { readonly kind: 'service-closed'; readonly id: number }
  /** Faults a test or the CLI injects. */
  | { readonly kind: 'stale-close'; readonly id: number }
  | { readonly kind: 'fail-opens'; readonly reason: number; readonly count: number }
  | { readonly kind: 'notify'; readonly request: Buffer }
  | { readonly kind: 'disconnect'; readonly reason: number }
  /** New channels get this window (a slow ME). */
  | { readonly kind: 'set-window'; readonly window: number }
  | { readonly kind: 'reset' };

/** What one step of the engine causes: messages to the host, and what its services do. */
export type MeEffect =
  | { readonly kind: 'send'; readonly message: ApfMessage }
  | { readonly kind: 'service-open'; readonly id: number; readonly port: number }
  | { readonly kind: 'service-data'; readonly id: number; readonly data: Buffer }
  /** The host closed the channel: the service connection goes away. */
  | { readonly kind: 'service-close'; readonly id: number }
  /** The service's output has all gone out (its writer may continue). */
  | { readonly kind: 'service-flushed'; readonly id: number }
  /** AMT rejects this request (split chunk terminator): answer 400 and close. */
  | { readonly kind: 'service-reject'; readonly id: number }
  | { readonly kind: 'log'; readonly message: string };
