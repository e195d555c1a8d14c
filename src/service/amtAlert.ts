/**
 * ME events: AMT posts a WS-Management CIM_AlertIndication on a notification channel (a
 * direct-tcpip channel to port 0). This reads the parts an administrator acts on: the message id
 * (iAMT0005 and friends, from the AMT event registry), its arguments and the time AMT gives.
 */
export interface AmtAlert {
  readonly messageId: string;
  readonly arguments: readonly string[];
  /** AMT's own time stamp when it sent one, else when the LMS received the alert. */
  readonly time: Date;
  readonly receivedAt: Date;
}

const tag = (name: string): RegExp => new RegExp(`<(?:[\\w-]+:)?${name}\\b[^>]*>([\\s\\S]*?)</(?:[\\w-]+:)?${name}>`, 'g');
const text = (xml: string, name: string): string[] => [...xml.matchAll(tag(name))].map((m) => unescapeXml(m[1]!.trim()));
const unescapeXml = (s: string): string =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

/** The alert in an HTTP request AMT posted, or undefined when the request carries none. */
export const parseAmtAlert = (request: Buffer, receivedAt = new Date()): AmtAlert | undefined => {
  const raw = request.toString('utf8');
  const bodyAt = raw.indexOf('\r\n\r\n');
  const xml = bodyAt >= 0 ? raw.slice(bodyAt + 4) : raw;
  const messageId = text(xml, 'MessageID')[0];
  if (!messageId) return undefined;
  const stamp = text(xml, 'Datetime')[0] ?? text(xml, 'IndicationTime')[0];
  const time = stamp && !Number.isNaN(Date.parse(stamp)) ? new Date(stamp) : receivedAt;
  return { messageId, arguments: text(xml, 'MessageArguments'), time, receivedAt };
};
