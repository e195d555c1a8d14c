/**
 * The ME side of APF, as the public implementations show it (docs/apf.md §2-§5): a step function
 * with its state in the closure of `createMeEngine`. It speaks first, asks for the pfwd service,
 * forwards its ports one at a time, accepts forwarded-tcpip opens into a small pool of slots,
 * enforces the host's window, credits data once its service consumed it, and counts every
 * breach. It does no I/O; the real-time driver (engineDriver.ts) and marble specs drive it.
 */

import {
  channelClose,
  channelOpen,
  disconnect,
  openConfirmation,
  openFailure,
  protocolVersion,
  serviceRequest,
  tcpipForward,
  type ApfMessage,
} from '../../codecs/messages.js';
import { OpenFailureReason, Service } from '../../codecs/opcodes.js';
import { ByteQueue } from '../../streams/byteQueue.js';
import { emptyStats, PROFILE_PORTS, type MeEffect, type MeEngineOptions, type MeInput, type MeStats } from './meTypes.js';
import {
  closeSendWindow,
  creditSendWindow,
  oweCredit,
  receiveWindow,
  sendWindow,
  sendWithinWindow,
  takeFromReceiveWindow,
  type ReceiveWindow,
  type SendWindow,
} from '../../streams/channelWindow.js';

type Phase = 'idle' | 'awaiting-version' | 'awaiting-accept' | 'forwarding' | 'ready';

/** What every open slot has: our window towards the host and the host's towards us. */
interface OpenSlot {
  readonly meId: number;
  readonly hostId: number;
  /** Bytes for the host, waiting for its window. */
  readonly out: ByteQueue;
  readonly tx: SendWindow;
  readonly rx: ReceiveWindow;
  closeReceived: boolean;
}

/** A forwarded-tcpip channel the host opened, with the AMT service behind it. */
interface HostChannel extends OpenSlot {
  readonly origin: 'host';
  readonly port: number;
  serviceClosed: boolean;
  /** The last bytes of the previous CHANNEL_DATA, to spot a split chunk terminator. */
  tail: Buffer;
}

/** The ME's own direct-tcpip notification channel, offered and not yet confirmed by the host. */
interface OfferedEvent {
  readonly origin: 'offered';
  readonly meId: number;
  readonly request: Buffer;
}

/** A notification channel the host confirmed: the ME posts its request, the host answers and closes. */
interface EventChannel extends OpenSlot {
  readonly origin: 'event';
  response: Buffer[];
  acknowledged: boolean;
}

type MeChannel = HostChannel | OfferedEvent | EventChannel;

const TERMINATOR = Buffer.from('0\r\n\r\n');

/** Does `data`, following `tail`, complete a chunk terminator that began in the previous message? */
export const splitsTerminator = (tail: Buffer, data: Buffer): boolean => {
  if (data.length >= TERMINATOR.length || tail.length === 0) return false;
  const joined = Buffer.concat([tail, data]);
  return joined.length >= TERMINATOR.length && joined.subarray(joined.length - TERMINATOR.length).equals(TERMINATOR);
};

/** The ME's APF side as a step function, with what tests read of its state. */
export interface MeEngine {
  step(input: MeInput): MeEffect[];
  readonly stats: MeStats;
  /** Ports forwarded (and acknowledged) in this session. */
  forwardedPorts(): number[];
  openChannels(): number;
  txBuffered(id: number): number;
  phase(): Phase;
}

/** A fresh engine, counting into `stats`. */
export const createMeEngine = (options: MeEngineOptions, stats: MeStats = emptyStats()): MeEngine => {
  let phase: Phase = 'idle';
  let hostVersion = false;
  let toForward: number[] = [];
  let awaiting: number | undefined;
  let forwarded = new Set<number>();
  let slots: (MeChannel | undefined)[] = new Array(options.slots).fill(undefined);
  let failOpens: { reason: number; count: number } | undefined;
  /** The window advertised on new channels (`set-window` changes it). */
  let window = options.window;

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
    for (const ch of slots) if (ch?.origin === 'host') out.push({ kind: 'service-close', id: ch.meId });
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

  /** After both CLOSEs the slot, and so the id, is reusable at once (mps #741). */
  const free = (ch: OpenSlot): void => {
    if (!(ch.tx.closed && ch.closeReceived)) return;
    slots[ch.meId] = undefined;
    stats.channelsClosed++;
  };

  const sendClose = (ch: OpenSlot): void => {
    if (closeSendWindow(ch.tx, send)) free(ch);
  };

  const flush = (ch: HostChannel | EventChannel): void => {
    if (ch.tx.closed) return;
    stats.bytesToHost += sendWithinWindow(ch.tx, ch.out, options.maxMsgLength, send);
    if (ch.out.length === 0) {
      out.push({ kind: 'service-flushed', id: ch.meId });
      if (ch.origin === 'host' && ch.serviceClosed) sendClose(ch);
    }
  };

  const freeSlot = (): number => slots.indexOf(undefined);

  /** The slot `id` as an open channel, or undefined (counted as unknown) when there is none. */
  const openSlot = (id: number, what: string): HostChannel | EventChannel | undefined => {
    const ch = slots[id];
    if (ch && ch.origin !== 'offered') return ch;
    stats.unknownChannel++;
    error(`${what} for unknown channel ${id}`);
    return undefined;
  };

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
        const offered = slots[m.recipient];
        if (offered?.origin !== 'offered') {
          stats.unknownChannel++;
          return error(`${m.type} for ${m.recipient}, which the ME did not open`);
        }
        if (m.type === 'channel-open-failure') {
          slots[offered.meId] = undefined;
          return log(`host refused the notification channel (reason ${m.reason})`);
        }
        const ch: EventChannel = {
          origin: 'event',
          meId: offered.meId,
          hostId: m.sender,
          out: new ByteQueue(),
          tx: sendWindow(m.window, m.sender),
          rx: receiveWindow(window, m.sender, 1),
          closeReceived: false,
          response: [],
          acknowledged: false,
        };
        ch.out.push(offered.request);
        slots[ch.meId] = ch;
        return flush(ch);
      }
      case 'channel-data':
        return onData(m.recipient, m.data);
      case 'channel-window-adjust': {
        const ch = openSlot(m.recipient, 'WINDOW_ADJUST');
        if (!ch) return;
        creditSendWindow(ch.tx, m.bytesToAdd);
        return flush(ch);
      }
      case 'channel-close': {
        const ch = slots[m.recipient];
        if (!ch || ch.origin === 'offered') {
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
        if (!ch.tx.closed) sendClose(ch);
        else free(ch);
        return;
      }
      case 'disconnect':
        log(`host sent DISCONNECT ${m.reason}`);
        return resetState();
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
      origin: 'host',
      meId: id,
      hostId: m.sender,
      port: m.port,
      out: new ByteQueue(),
      tx: sendWindow(m.window, m.sender),
      // The ME credits each consumed byte at once: the service reports consumption in its own batches.
      rx: receiveWindow(window, m.sender, 1),
      closeReceived: false,
      serviceClosed: false,
      tail: Buffer.alloc(0),
    };
    stats.channelsOpened++;
    send(openConfirmation(m.sender, id, window));
    out.push({ kind: 'service-open', id, port: m.port });
  };

  const onData = (recipient: number, data: Buffer): void => {
    const ch = openSlot(recipient, 'CHANNEL_DATA');
    if (!ch) return;
    if (ch.closeReceived || ch.tx.closed) {
      stats.dataAfterClose++;
      return error(`CHANNEL_DATA for channel ${recipient} after CLOSE`);
    }
    const before = ch.rx.window;
    if (takeFromReceiveWindow(ch.rx, data.length) > 0) {
      stats.windowViolations++;
      error(`host sent ${data.length} bytes into a window of ${before} on channel ${recipient}`);
    }
    stats.bytesFromHost += data.length;
    if (ch.origin === 'event') {
      // The host's answer to our notification: once its headers are in, the event is delivered.
      ch.response.push(data);
      if (!ch.acknowledged && Buffer.concat(ch.response).includes('\r\n\r\n')) {
        ch.acknowledged = true;
        stats.notificationsAcknowledged++;
      }
      const adjust = oweCredit(ch.rx, data.length);
      if (adjust) send(adjust);
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

  /** The service side of a host channel, or undefined once it is closed. */
  const hostChannel = (id: number): HostChannel | undefined => {
    const ch = slots[id];
    return ch?.origin === 'host' && !ch.tx.closed ? ch : undefined;
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
        const ch = hostChannel(input.id);
        if (!ch) return;
        ch.out.push(input.data);
        return flush(ch);
      }
      case 'service-consumed': {
        const ch = hostChannel(input.id);
        if (!ch || ch.closeReceived) return;
        const adjust = oweCredit(ch.rx, input.bytes);
        if (adjust) send(adjust);
        return;
      }
      case 'service-closed': {
        const ch = slots[input.id];
        if (ch?.origin !== 'host' || ch.serviceClosed) return;
        ch.serviceClosed = true;
        if (ch.out.length === 0) sendClose(ch);
        return;
      }
      case 'stale-close':
        return send(channelClose(input.id));
      case 'fail-opens':
        failOpens = input.count > 0 ? { reason: input.reason, count: input.count } : undefined;
        return;
      case 'set-window':
        window = input.window;
        return;
      case 'notify': {
        if (phase !== 'ready') return log('notification dropped: session not ready');
        const id = freeSlot();
        if (id < 0) return log('notification dropped: no free slot');
        slots[id] = { origin: 'offered', meId: id, request: input.request };
        return send(
          channelOpen({ channelType: 'direct-tcpip', sender: id, window, address: '127.0.0.1', port: 0, originatorAddress: '127.0.0.1', originatorPort: 0 }),
        );
      }
      case 'disconnect':
        send(disconnect(input.reason));
        return resetState();
      case 'reset':
        stats.resets++;
        return resetState();
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
    txBuffered: (id) => {
      const ch = slots[id];
      return ch && ch.origin !== 'offered' ? ch.out.length : 0;
    },
    phase: () => phase,
  };
};
