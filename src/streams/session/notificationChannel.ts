/**
 * A channel the ME opens to the LMS itself (direct-tcpip to port 0): AMT posts an event as one
 * HTTP request (a WS-Man alert). The LMS reads the request, answers 200 and closes, as Intel
 * LMS's SoapChannel does. Returns the APF messages each step sends.
 */
import type { ApfMessage } from '../../codecs/messages.js';
import { ByteQueue } from '../byteQueue.js';
import { closeSendWindow, creditSendWindow, oweCredit, receiveWindow, sendWindow, sendWithinWindow } from '../channelWindow.js';
import type { HostChannelId, MeChannelId } from '../sessionTypes.js';

/** An event request larger than this is cut off and closed. */
const MAX_NOTIFICATION_BYTES = 64 * 1024;

const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

export interface NotificationChannel {
  data(bytes: Buffer): ApfMessage[];
  adjust(bytes: number): ApfMessage[];
  close(): ApfMessage[];
}

export interface NotificationOptions {
  readonly id: HostChannelId;
  readonly meId: MeChannelId;
  readonly meWindow: number;
  readonly window: number;
  readonly maxMsgLength: number;
  readonly onRequest: (request: Buffer) => void;
}

/** The request is complete when its headers have ended and Content-Length bytes followed. */
const requestLength = (buf: Buffer): number | undefined => {
  const end = buf.indexOf(HEADER_END);
  if (end < 0) return undefined;
  const head = buf.subarray(0, end).toString('latin1');
  const m = /^content-length:\s*(\d+)\s*$/im.exec(head);
  return end + HEADER_END.length + (m ? Number(m[1]) : 0);
};

export const createNotificationChannel = (options: NotificationOptions): NotificationChannel => {
  let received: Buffer[] = [];
  let size = 0;
  const toMe = sendWindow(options.meWindow, options.meId);
  const rx = receiveWindow(options.window, options.meId);
  const response = new ByteQueue();
  let delivered = false;

  const deliver = (): void => {
    if (delivered) return;
    delivered = true;
    options.onRequest(Buffer.concat(received));
    received = [];
    response.push(RESPONSE);
  };

  /** Send the response within the ME's window, then CLOSE. */
  const respond = (out: ApfMessage[] = []): ApfMessage[] => {
    const send = (m: ApfMessage): void => void out.push(m);
    sendWithinWindow(toMe, response, options.maxMsgLength, send);
    if (delivered && response.length === 0) closeSendWindow(toMe, send);
    return out;
  };

  return {
    data(bytes) {
      if (delivered) return [];
      const out: ApfMessage[] = [];
      received.push(bytes);
      size += bytes.length;
      // The bytes are consumed as they arrive, so credit goes back at once (in batches).
      const adjust = oweCredit(rx, bytes.length);
      if (adjust) out.push(adjust);
      const whole = Buffer.concat(received);
      received = [whole];
      const need = requestLength(whole);
      if ((need !== undefined && size >= need) || size >= MAX_NOTIFICATION_BYTES) {
        deliver();
        respond(out);
      }
      return out;
    },
    adjust(bytes) {
      creditSendWindow(toMe, bytes); // capped at 2^32-1, as on every channel
      return respond();
    },
    close() {
      if (!delivered && size > 0) deliver();
      const out: ApfMessage[] = [];
      closeSendWindow(toMe, (m) => void out.push(m));
      return out;
    },
  };
};
