/**
 * WS-Management as AMT speaks it: requests parsed (fast-xml-parser), answers laid out as AMT's own
 * (the same namespace prefixes, a: SOAP to f: CIM binding; properties in ASCII order, arrays in
 * their own; a uuid MessageID of 8086s and a counter; RelatesTo the request's MessageID), and
 * AMT's faults with its wording.
 */
import { XMLParser } from 'fast-xml-parser';

const SOAP = 'http://www.w3.org/2003/05/soap-envelope';
const ADDRESSING = 'http://schemas.xmlsoap.org/ws/2004/08/addressing';
const WSMAN = 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd';
export const ENUMERATION = 'http://schemas.xmlsoap.org/ws/2004/09/enumeration';
export const TRANSFER = 'http://schemas.xmlsoap.org/ws/2004/09/transfer';
const COMMON = 'http://schemas.dmtf.org/wbem/wscim/1/common';
const ANONYMOUS = `${ADDRESSING}/role/anonymous`;
const NAMESPACES =
  `xmlns:a="${SOAP}" xmlns:b="${ADDRESSING}" xmlns:c="${WSMAN}" xmlns:d="http://schemas.xmlsoap.org/ws/2005/02/trust" ` +
  'xmlns:e="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:f="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"';
const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';

/** An endpoint reference (a CIM REF property): the class's resource URI and its selectors. */
export interface Ref {
  readonly ref: string;
  readonly selectors: Readonly<Record<string, string>>;
}
/** A CIM datetime, as `<Datetime>` of the common namespace. */
export interface DateTime {
  readonly datetime: string;
}
export type Value = string | number | boolean | readonly (string | number | boolean)[] | Ref | DateTime;
/** One instance of a class: its properties by name (AMT sends them in ASCII order). */
export type Instance = Readonly<Record<string, Value>>;

/** What a request says: its action, class, selectors and body (namespace prefixes dropped). */
export interface WsmanRequest {
  readonly action: string;
  readonly resourceUri: string;
  readonly messageId: string;
  readonly selectors: Readonly<Record<string, string>>;
  readonly body: Readonly<Record<string, unknown>>;
}

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => name === 'Selector',
});

/** A text value, whether the parser made it a string or an element with attributes. */
export const text = (v: unknown): string =>
  typeof v === 'string' ? v : v && typeof v === 'object' && '#text' in v ? String((v as Record<string, unknown>)['#text']) : v === undefined ? '' : String(v);

export const parseRequest = (xml: string): WsmanRequest | undefined => {
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(xml) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const env = doc['Envelope'] as Record<string, unknown> | undefined;
  const header = env?.['Header'] as Record<string, unknown> | undefined;
  if (!header) return undefined;
  const selectors: Record<string, string> = {};
  const set = header['SelectorSet'] as { Selector?: unknown[] } | undefined;
  for (const s of set?.Selector ?? []) {
    const name = (s as Record<string, unknown>)['@Name'];
    if (typeof name === 'string') selectors[name] = text(s);
  }
  const body = env?.['Body'];
  return {
    action: text(header['Action']),
    resourceUri: text(header['ResourceURI']),
    messageId: text(header['MessageID']),
    selectors,
    body: body && typeof body === 'object' ? (body as Record<string, unknown>) : {},
  };
};

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const isRef = (v: Value): v is Ref => typeof v === 'object' && 'ref' in v;
const isDateTime = (v: Value): v is DateTime => typeof v === 'object' && 'datetime' in v;

/** An endpoint reference's content, as AMT writes it inside a REF property. */
const renderRef = (r: Ref): string =>
  `<b:Address>${ANONYMOUS}</b:Address><b:ReferenceParameters><c:ResourceURI>${r.ref}</c:ResourceURI><c:SelectorSet>` +
  Object.entries(r.selectors)
    .map(([k, v]) => `<c:Selector Name="${k}">${escapeXml(v)}</c:Selector>`)
    .join('') +
  '</c:SelectorSet></b:ReferenceParameters>';

const ascii = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);

/**
 * Properties in ASCII order, as AMT sends them, but for the few a class sends after the rest
 * (`last`: IPS_PowerManagementService's OSPowerSavingState); an array as repeated elements in its
 * own order.
 */
export const renderProperties = (p: string, props: Instance, last: readonly string[] = []): string => {
  let out = '';
  const names = Object.keys(props);
  for (const name of [...names.filter((n) => !last.includes(n)).sort(ascii), ...last.filter((n) => n in props)]) {
    const v = props[name]!;
    if (Array.isArray(v)) for (const item of v) out += `<${p}:${name}>${escapeXml(String(item))}</${p}:${name}>`;
    else if (isRef(v as Value)) out += `<${p}:${name}>${renderRef(v as Ref)}</${p}:${name}>`;
    else if (isDateTime(v as Value)) out += `<${p}:${name}><i:Datetime xmlns:i="${COMMON}">${(v as DateTime).datetime}</i:Datetime></${p}:${name}>`;
    else out += `<${p}:${name}>${escapeXml(String(v))}</${p}:${name}>`;
  }
  return out;
};

/** The simulated AMT's messages are numbered from 1, as the firmware numbers its own. */
let sent = 0;
const messageId = (): string => `uuid:00000000-8086-8086-8086-${(++sent).toString(16).toUpperCase().padStart(12, '0')}`;

/** An answer: `ns` adds prefixes g, h, ... (the class's namespace, enumeration's) before xsi. */
export const envelope = (request: Pick<WsmanRequest, 'messageId' | 'resourceUri'>, action: string, ns: readonly string[], body: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?><a:Envelope ${NAMESPACES} ${ns.map((uri, i) => `xmlns:${String.fromCharCode(103 + i)}="${uri}"`).join(' ')} ${XSI}>` +
  `<a:Header><b:To>${ANONYMOUS}</b:To><b:RelatesTo>${escapeXml(request.messageId)}</b:RelatesTo><b:Action a:mustUnderstand="true">${action}</b:Action>` +
  `<b:MessageID>${messageId()}</b:MessageID>${request.resourceUri ? `<c:ResourceURI>${escapeXml(request.resourceUri)}</c:ResourceURI>` : ''}</a:Header>` +
  `<a:Body>${body}</a:Body></a:Envelope>`;

/** AMT's faults: a SOAP 1.2 Sender fault (Receiver for an internal error) with a WS-Addressing, WS-Management or WS-Enumeration subcode. */
export type FaultKind =
  | 'DestinationUnreachable'
  | 'ActionNotSupported'
  | 'InvalidSelectors'
  | 'InvalidEnumerationContext'
  | 'AccessDenied'
  | 'InvalidRepresentation'
  | 'SchemaValidationError'
  | 'InternalError';
/** Each fault's subcode and reason as AMT words them; an internal error is the Receiver's, the rest the Sender's. */
const FAULTS: Record<FaultKind, { readonly code: string; readonly reason: string; readonly receiver?: true }> = {
  DestinationUnreachable: {
    code: 'b:DestinationUnreachable',
    reason: 'No route can be determined to reach the destination role defined by the WS-Addressing To.',
  },
  ActionNotSupported: { code: 'b:ActionNotSupported', reason: 'The action is not supported by the service.' },
  InvalidSelectors: { code: 'c:InvalidSelectors', reason: 'The Selectors for the resource were not valid.' },
  InvalidEnumerationContext: { code: 'g:InvalidEnumerationContext', reason: 'The supplied enumeration context is invalid.' },
  AccessDenied: { code: 'c:AccessDenied', reason: 'The sender was not authorized to access the resource.' },
  InvalidRepresentation: { code: 'c:InvalidRepresentation', reason: 'The XML content was invalid.' },
  SchemaValidationError: { code: 'c:SchemaValidationError', reason: 'The supplied SOAP violates the corresponding XML Schema definition.' },
  InternalError: { code: 'c:InternalError', reason: 'The service cannot comply with the request due to internal processing errors.', receiver: true },
};

export interface Fault {
  readonly fault: FaultKind;
  readonly detail?: string;
}
export const isFault = (v: unknown): v is Fault => typeof v === 'object' && v !== null && 'fault' in v;

/** A fault's HTTP status: 400 for the Sender's, 500 for the Receiver's (SOAP 1.2's HTTP binding). */
export const faultStatus = (f: Fault): 400 | 500 => (FAULTS[f.fault].receiver ? 500 : 400);

export const faultEnvelope = (request: Pick<WsmanRequest, 'messageId'>, f: Fault): string => {
  const { code, reason, receiver } = FAULTS[f.fault];
  return envelope(
    { messageId: request.messageId, resourceUri: '' },
    `${ADDRESSING}/fault`,
    [ENUMERATION],
    `<a:Fault><a:Code><a:Value>${receiver ? 'a:Receiver' : 'a:Sender'}</a:Value><a:Subcode><a:Value>${code}</a:Value></a:Subcode></a:Code>` +
      `<a:Reason><a:Text xml:lang="en-US">${reason}</a:Text></a:Reason><a:Detail>${f.detail ? escapeXml(f.detail) : ''}</a:Detail></a:Fault>`,
  );
};
