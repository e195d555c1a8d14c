/**
 * A channel the ME opens to the LMS itself (direct-tcpip to port 0): AMT posts an event as one
 * HTTP request (a WS-Man alert). The LMS reads the request, answers 200 and closes, as Intel
 * LMS's SoapChannel does. Returns the APF messages each step sends.
 */
import { channelClose, channelData, windowAdjust, type ApfMessage } from '../codecs/messages.js';
import { CHANNEL_DATA_HEADER } from './flowControl.js';

/** An event request larger than this is cut off and closed. */
export const MAX_NOTIFICATION_BYTES = 64 * 1024;

const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

export interface NotificationChannel {
  data(bytes: Buffer): ApfMessage[];
  adjust(bytes: number): ApfMessage[];
  close(): ApfMessage[];
}

export interface NotificationOptions {
  readonly id: number;
  readonly meId: number;
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

export const createNotificationChannel = (o: NotificationOptions): NotificationChannel => {
  let received: Buffer[] = [];
  let size = 0;
  let credit = 0;
  let txWindow = o.meWindow;
  let pendingResponse: Buffer | undefined;
  let delivered = false;
  let closeSent = false;

  const deliver = (): void => {
    if (delivered) return;
    delivered = true;
    o.onRequest(Buffer.concat(received));
    received = [];
    pendingResponse = RESPONSE;
  };

  /** Send the response within the ME's window, then CLOSE. */
  const respond = (): ApfMessage[] => {
    const out: ApfMessage[] = [];
    while (pendingResponse && pendingResponse.length > 0 && txWindow > 0) {
      const n = Math.min(txWindow, o.maxMsgLength - CHANNEL_DATA_HEADER, pendingResponse.length);
      out.push(channelData(o.meId, pendingResponse.subarray(0, n)));
      pendingResponse = pendingResponse.subarray(n);
      txWindow -= n;
    }
    if (pendingResponse && pendingResponse.length === 0 && !closeSent) {
      closeSent = true;
      out.push(channelClose(o.meId));
    }
    return out;
  };

  return {
    data(bytes) {
      if (delivered) return [];
      const out: ApfMessage[] = [];
      received.push(bytes);
      size += bytes.length;
      credit += bytes.length;
      // The bytes are consumed as they arrive, so credit goes back at once (coalesced).
      if (credit >= o.window / 2) {
        out.push(windowAdjust(o.meId, credit));
        credit = 0;
      }
      const whole = Buffer.concat(received);
      received = [whole];
      const need = requestLength(whole);
      if ((need !== undefined && size >= need) || size >= MAX_NOTIFICATION_BYTES) {
        deliver();
        out.push(...respond());
      }
      return out;
    },
    adjust(bytes) {
      txWindow += bytes;
      return respond();
    },
    close() {
      if (!delivered && size > 0) deliver();
      if (closeSent) return [];
      closeSent = true;
      return [channelClose(o.meId)];
    },
  };
};
