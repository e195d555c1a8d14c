/**
 * ME events: AMT posts a WS-Management CIM_AlertIndication on a notification channel (a
 * direct-tcpip channel to port 0). This reads the parts an administrator acts on: the message id
 * (iAMT0005 and friends, from the AMT event registry), its arguments and the time AMT gives.
 */
import { XMLParser } from 'fast-xml-parser';

export interface AmtAlert {
  readonly messageId: string;
  readonly arguments: readonly string[];
  /** AMT's own time stamp when it sent one, else when the LMS received the alert. */
  readonly time: Date;
  readonly receivedAt: Date;
}

// Namespace prefixes removed, text as written (a MessageID is never a number), entities decoded.
const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => name === 'MessageArguments',
});

const record = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const textOf = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

/**
 * The alert in an HTTP request AMT posted, or undefined when the request carries none. The fields
 * are read from the body's CIM_AlertIndication only: the WS-Addressing header has a MessageID of
 * its own (the delivery's `uuid:…`), which is not the alert's.
 */
export const parseAmtAlert = (request: Buffer, receivedAt = new Date()): AmtAlert | undefined => {
  const raw = request.toString('utf8');
  const bodyAt = raw.indexOf('\r\n\r\n');
  let doc: unknown;
  try {
    doc = parser.parse(bodyAt >= 0 ? raw.slice(bodyAt + 4) : raw);
  } catch {
    return undefined;
  }
  const indication = record(record(record(record(doc)?.['Envelope'])?.['Body'])?.['CIM_AlertIndication']);
  const messageId = textOf(indication?.['MessageID']);
  if (!indication || !messageId) return undefined;
  const when = indication['IndicationTime'];
  const stamp = textOf(record(when)?.['Datetime']) ?? textOf(when);
  const time = stamp && !Number.isNaN(Date.parse(stamp)) ? new Date(stamp) : receivedAt;
  const args = (indication['MessageArguments'] as unknown[] | undefined) ?? [];
  return { messageId, arguments: args.map((a) => textOf(a) ?? ''), time, receivedAt };
};
