/**
 * The ME side of APF, as the public implementations show it (apf.md §2-§6): a step function
 * with its state in the closure of `createMeEngine`. It speaks first, asks for the pfwd service,
 * forwards its ports one at a time, accepts forwarded-tcpip opens into a small pool of slots,
 * enforces the host's window, credits data once its service consumed it, and counts every
 * breach. It does no I/O; the real-time shell (simulatedMe.ts) and marble specs drive it.
 */
import {
  channelClose,
  channelData,
  channelOpen,
  disconnect,
  openConfirmation,
  openFailure,
  protocolVersion,
  serviceRequest,
  tcpipForward,
  windowAdjust,
  type ApfMessage,
} from '../../codecs/messages.js';
import { OpenFailureReason, Service, TriggerReason } from '../../codecs/opcodes.js';
import { ByteQueue } from '../../streams/byteQueue.js';
import { CHANNEL_DATA_HEADER } from '../../streams/flowControl.js';

export type PortProfile = 'plain' | 'tls' | 'both';

export const PROFILE_PORTS: Record<PortProfile, readonly number[]> = {
  plain: [16992, 623],
  tls: [16993, 664],
  both: [16992, 623, 16993, 664],
};

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
  | { readonly kind: 'reset' };

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
  /** The ME ended the link (after DISCONNECT). */
  | { readonly kind: 'link-down' }
  | { readonly kind: 'log'; readonly message: string };

type Phase = 'idle' | 'awaiting-version' | 'awaiting-accept' | 'forwarding' | 'ready';

interface MeChannel {
  readonly meId: number;
  /** 'host': a forwarded-tcpip the host opened; 'event': the ME's own direct-tcpip notification. */
  readonly origin: 'host' | 'event';
  hostId: number; // -1 until an ME-opened channel is confirmed
  readonly port: number;
  confirmed: boolean;
  /** Bytes the host still accepts from us. */
  txWindow: number;
  readonly tx: ByteQueue;
  /** Bytes the host may still send us. */
  rxWindow: number;
  closeSent: boolean;
  closeReceived: boolean;
  serviceClosed: boolean;
  /** The last bytes of the previous CHANNEL_DATA, to spot a split chunk terminator. */
  tail: Buffer;
  response: Buffer[];
}

const TERMINATOR = Buffer.from('0\r\n\r\n');

/** Does `data`, following `tail`, complete a chunk terminator that began in the previous message? */
export const splitsTerminator = (tail: Buffer, data: Buffer): boolean => {
  if (data.length >= TERMINATOR.length || tail.length === 0) return false;
  const joined = Buffer.concat([tail, data]);
  return joined.length >= TERMINATOR.length && joined.subarray(joined.length - TERMINATOR.length).equals(TERMINATOR);
};

export interface MeEngine {
  step(input: MeInput): MeEffect[];
  readonly stats: MeStats;
  /** Ports forwarded (and acknowledged) in this session. */
  forwardedPorts(): number[];
  openChannels(): number;
  txBuffered(id: number): number;
  phase(): Phase;
}

export const createMeEngine = (options: MeEngineOptions, stats: MeStats = emptyStats()): MeEngine => {
  let phase: Phase = 'idle';
  let hostVersion = false;
  let toForward: number[] = [];
  let awaiting: number | undefined;
  let forwarded = new Set<number>();
  let slots: (MeChannel | undefined)[] = new Array(options.slots).fill(undefined);
  let failOpens: { reason: number; count: number } | undefined;

  let out: MeEffect[] = [];
  const send = (message: ApfMessage): void => void out.push({ kind: 'send', message });
  const log = (message: string): void => void out.push({ kind: 'log', message });
  const error = (message: string): void => {
    stats.protocolErrors++;
    log(message);
  };

  const resetState = (): void => {
    phase = 'idle';
    hostVersion = false;
    toForward = [];
    awaiting = undefined;
    forwarded = new Set();
    for (const ch of slots) if (ch && ch.origin === 'host') out.push({ kind: 'service-close', id: ch.meId });
    slots = new Array(options.slots).fill(undefined);
  };

  const forwardNext = (): void => {
    const port = toForward.shift();
    if (port === undefined) {
      awaiting = undefined;
      phase = 'ready';
      return;
    }
    awaiting = port;
    send(tcpipForward(port, '127.0.0.1'));
  };

  const free = (ch: MeChannel): void => {
    if (!(ch.closeSent && ch.closeReceived)) return;
    slots[ch.meId] = undefined; // the slot, and so the id, is reusable at once (mps #741)
    stats.channelsClosed++;
  };

  const sendClose = (ch: MeChannel): void => {
    if (ch.closeSent) return;
    ch.closeSent = true;
    send(channelClose(ch.hostId));
    free(ch);
  };

  const flush = (ch: MeChannel): void => {
    if (!ch.confirmed || ch.closeSent) return;
    while (ch.tx.length > 0 && ch.txWindow > 0) {
      const n = Math.min(ch.txWindow, options.maxMsgLength - CHANNEL_DATA_HEADER, ch.tx.length);
      ch.txWindow -= n;
      stats.bytesToHost += n;
      send(channelData(ch.hostId, ch.tx.take(n)));
    }
    if (ch.tx.length === 0) {
      out.push({ kind: 'service-flushed', id: ch.meId });
      if (ch.serviceClosed) sendClose(ch);
    }
  };

  const freeSlot = (): number => slots.findIndex((s) => s === undefined);

  const onHost = (m: ApfMessage): void => {
    switch (m.type) {
      case 'protocol-version':
        if (hostVersion) return error('host sent PROTOCOLVERSION twice');
        hostVersion = true;
        if (m.major !== 1) return error(`host speaks APF ${m.major}.${m.minor}`);
        if (phase === 'awaiting-version') {
          phase = 'awaiting-accept';
          send(serviceRequest(Service.Pfwd));
        }
        return;
      case 'service-accept':
        if (phase !== 'awaiting-accept' || m.service !== Service.Pfwd) return error(`unexpected SERVICE_ACCEPT ${m.service}`);
        phase = 'forwarding';
        toForward = [...(options.ports ?? PROFILE_PORTS[options.profile])];
        return forwardNext();
      case 'request-success':
      case 'request-failure':
        if (phase !== 'forwarding' || awaiting === undefined) return error(`unexpected ${m.type}`);
        if (m.type === 'request-success') {
          if (m.port !== awaiting) error(`REQUEST_SUCCESS names port ${m.port ?? 'none'}, expected ${awaiting}`);
          forwarded.add(awaiting);
        } else log(`host refused to forward port ${awaiting}`);
        return forwardNext();
      case 'channel-open':
        return onOpen(m);
      case 'channel-open-confirmation':
      case 'channel-open-failure': {
        const ch = slots[m.recipient];
        if (!ch || ch.origin !== 'event' || ch.confirmed) {
          stats.unknownChannel++;
          return error(`${m.type} for ${m.recipient}, which the ME did not open`);
        }
        if (m.type === 'channel-open-failure') {
          slots[ch.meId] = undefined;
          return log(`host refused the notification channel (reason ${m.reason})`);
        }
        ch.confirmed = true;
        ch.hostId = m.sender;
        ch.txWindow = m.window;
        return flush(ch);
      }
      case 'channel-data':
        return onData(m.recipient, m.data);
      case 'channel-window-adjust': {
        const ch = slots[m.recipient];
        if (!ch || !ch.confirmed) {
          stats.unknownChannel++;
          return error(`WINDOW_ADJUST for unknown channel ${m.recipient}`);
        }
        ch.txWindow = Math.min(0xffff_ffff, ch.txWindow + m.bytesToAdd);
        return flush(ch);
      }
      case 'channel-close': {
        const ch = slots[m.recipient];
        if (!ch || !ch.confirmed) {
          // After both CLOSEs the slot is free: a CLOSE now is a second one (or aimed at nothing).
          stats.doubleClose++;
          return error(`CHANNEL_CLOSE for ${m.recipient}, which is not open`);
        }
        if (ch.closeReceived) {
          stats.doubleClose++;
          return error(`second CHANNEL_CLOSE for ${m.recipient}`);
        }
        ch.closeReceived = true;
        if (ch.origin === 'host') out.push({ kind: 'service-close', id: ch.meId });
        if (!ch.closeSent) sendClose(ch);
        else free(ch);
        return;
      }
      case 'disconnect':
        log(`host sent DISCONNECT ${m.reason}`);
        resetState();
        out.push({ kind: 'link-down' });
        return;
      case 'userauth-success':
      case 'keepalive-reply':
        return;
      default:
        return error(`unexpected ${m.type} from the host`);
    }
  };

  const onOpen = (m: Extract<ApfMessage, { type: 'channel-open' }>): void => {
    const refuse = (reason: number, why: string): void => {
      stats.openFailures++;
      log(`OPEN_FAILURE(${reason}) to host channel ${m.sender}: ${why}`);
      send(openFailure(m.sender, reason));
    };
    if (phase !== 'ready' && phase !== 'forwarding') return refuse(OpenFailureReason.AdministrativelyProhibited, 'session not set up');
    if (m.channelType !== 'forwarded-tcpip') return refuse(OpenFailureReason.UnknownChannelType, `channel type ${m.channelType}`);
    if (!forwarded.has(m.port)) return refuse(OpenFailureReason.ConnectFailed, `port ${m.port} is not forwarded`);
    if (failOpens) {
      const { reason } = failOpens;
      if (--failOpens.count <= 0) failOpens = undefined;
      return refuse(reason, 'injected');
    }
    const id = freeSlot();
    if (id < 0) return refuse(OpenFailureReason.ResourceShortage, `all ${options.slots} slots in use`);
    slots[id] = {
      meId: id,
      origin: 'host',
      hostId: m.sender,
      port: m.port,
      confirmed: true,
      txWindow: m.window,
      tx: new ByteQueue(),
      rxWindow: options.window,
      closeSent: false,
      closeReceived: false,
      serviceClosed: false,
      tail: Buffer.alloc(0),
      response: [],
    };
    stats.channelsOpened++;
    send(openConfirmation(m.sender, id, options.window));
    out.push({ kind: 'service-open', id, port: m.port });
  };

  const onData = (recipient: number, data: Buffer): void => {
    const ch = slots[recipient];
    if (!ch || !ch.confirmed) {
      stats.unknownChannel++;
      return error(`CHANNEL_DATA for unknown channel ${recipient}`);
    }
    if (ch.closeReceived || ch.closeSent) {
      stats.dataAfterClose++;
      return error(`CHANNEL_DATA for channel ${recipient} after CLOSE`);
    }
    if (data.length > ch.rxWindow) {
      stats.windowViolations++;
      error(`host sent ${data.length} bytes into a window of ${ch.rxWindow} on channel ${recipient}`);
      ch.rxWindow = 0;
    } else ch.rxWindow -= data.length;
    stats.bytesFromHost += data.length;
    if (ch.origin === 'event') {
      // The host's answer to our notification: once its headers are in, the event is delivered.
      ch.response.push(data);
      if (Buffer.concat(ch.response).includes('\r\n\r\n')) stats.notificationsAcknowledged++;
      send(windowAdjust(ch.hostId, data.length));
      return;
    }
    if (splitsTerminator(ch.tail, data)) {
      stats.splitTerminators++;
      log(`chunk terminator split across two messages on channel ${recipient}`);
      if (options.strictChunkedTerminator) return void out.push({ kind: 'service-reject', id: ch.meId });
    }
    // A view, not a copy: it is read only against the next message, and a copy per message showed in profiles.
    ch.tail = data.subarray(Math.max(0, data.length - (TERMINATOR.length - 1)));
    out.push({ kind: 'service-data', id: ch.meId, data });
  };

  const dispatch = (input: MeInput): void => {
    switch (input.kind) {
      case 'connect':
        resetState();
        stats.sessions++;
        phase = 'awaiting-version';
        send(protocolVersion(options.triggerReason, options.uuid));
        // A host that spoke first (rpc-go style) has its version already counted on the next one.
        return;
      case 'host':
        if (phase === 'idle') return error(`${input.message.type} while the link is down`);
        return onHost(input.message);
      case 'host-malformed':
        stats.malformed++;
        return error(`malformed message from the host: ${input.detail}`);
      case 'service-output': {
        const ch = slots[input.id];
        if (!ch || ch.closeSent) return;
        ch.tx.push(input.data);
        return flush(ch);
      }
      case 'service-consumed': {
        const ch = slots[input.id];
        if (!ch || ch.closeSent || ch.closeReceived) return;
        ch.rxWindow += input.bytes;
        return send(windowAdjust(ch.hostId, input.bytes));
      }
      case 'service-closed': {
        const ch = slots[input.id];
        if (!ch || ch.serviceClosed) return;
        ch.serviceClosed = true;
        if (ch.tx.length === 0) sendClose(ch);
        return;
      }
      case 'stale-close':
        return send(channelClose(input.id));
      case 'fail-opens':
        failOpens = input.count > 0 ? { reason: input.reason, count: input.count } : undefined;
        return;
      case 'notify': {
        if (phase !== 'ready') return log('notification dropped: session not ready');
        const id = freeSlot();
        if (id < 0) return log('notification dropped: no free slot');
        const ch: MeChannel = {
          meId: id,
          origin: 'event',
          hostId: -1,
          port: 0,
          confirmed: false,
          txWindow: 0,
          tx: new ByteQueue(),
          rxWindow: options.window,
          closeSent: false,
          closeReceived: false,
          serviceClosed: false, // the host answers, then closes; the ME replies CLOSE
          tail: Buffer.alloc(0),
          response: [],
        };
        ch.tx.push(input.request);
        slots[id] = ch;
        return send(
          channelOpen({ channelType: 'direct-tcpip', sender: id, window: options.window, address: '127.0.0.1', port: 0, originatorAddress: '127.0.0.1', originatorPort: 0 }),
        );
      }
      case 'disconnect':
        send(disconnect(input.reason));
        resetState();
        out.push({ kind: 'link-down' });
        return;
      case 'reset':
        stats.resets++;
        resetState();
        return;
    }
  };

  return {
    step(input) {
      out = [];
      dispatch(input);
      return out;
    },
    stats,
    forwardedPorts: () => [...forwarded],
    openChannels: () => slots.filter((s) => s !== undefined).length,
    txBuffered: (id) => slots[id]?.tx.length ?? 0,
    phase: () => phase,
  };
};
