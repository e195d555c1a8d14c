/** The WS-Management documents the simulated AMT speaks: Identify and the alert it posts. */

const SOAP = 'http://www.w3.org/2003/05/soap-envelope';
const IDENTITY = 'http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd';

/** A SOAP envelope whose body is a (normally empty) wsmid:Identify element. */
export const isIdentifyRequest = (body: string): boolean => body.includes(IDENTITY) && /<(?:[\w-]+:)?Identify[\s/>]/.test(body);

export const identifyResponse = (amtVersion: string): string =>
  '<?xml version="1.0" encoding="UTF-8"?>' +
  `<a:Envelope xmlns:a="${SOAP}" xmlns:b="${IDENTITY}">` +
  '<a:Header></a:Header><a:Body><b:IdentifyResponse>' +
  '<b:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</b:ProtocolVersion>' +
  '<b:ProductVendor>Intel Corporation</b:ProductVendor>' +
  `<b:ProductVersion>AMT ${amtVersion.split('.').slice(0, 2).join('.')}</b:ProductVersion>` +
  '<c:DASHVersion xmlns:c="http://schemas.dmtf.org/wbem/dash/1/dash.xsd">1.0.0</c:DASHVersion>' +
  '<b:SecurityProfiles>' +
  '<b:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/digest</b:SecurityProfileName>' +
  '<b:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/digest</b:SecurityProfileName>' +
  '</b:SecurityProfiles>' +
  '</b:IdentifyResponse></a:Body></a:Envelope>';

export const soapFault = (reason: string): string =>
  '<?xml version="1.0" encoding="UTF-8"?>' +
  `<a:Envelope xmlns:a="${SOAP}"><a:Header></a:Header><a:Body><a:Fault>` +
  '<a:Code><a:Value>a:Sender</a:Value><a:Subcode><a:Value>ActionNotSupported</a:Value></a:Subcode></a:Code>' +
  `<a:Reason><a:Text xml:lang="en-US">${reason}</a:Text></a:Reason>` +
  '</a:Fault></a:Body></a:Envelope>';

/**
 * The HTTP request AMT posts on its notification channel: a WS-Eventing delivery of a
 * CIM_AlertIndication with a message id (e.g. iAMT0005) and its arguments.
 */
export const alertRequest = (messageId: string, args: readonly string[], time: Date): Buffer => {
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<a:Envelope xmlns:a="${SOAP}" xmlns:b="http://schemas.xmlsoap.org/ws/2004/08/addressing" ` +
    'xmlns:c="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_AlertIndication">' +
    '<a:Header><b:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/Event</b:Action></a:Header>' +
    '<a:Body><c:CIM_AlertIndication>' +
    `<c:MessageID>${messageId}</c:MessageID>` +
    args.map((a) => `<c:MessageArguments>${a}</c:MessageArguments>`).join('') +
    `<c:IndicationTime><c:Datetime>${time.toISOString()}</c:Datetime></c:IndicationTime>` +
    '</c:CIM_AlertIndication></a:Body></a:Envelope>';
  const bytes = Buffer.from(body);
  return Buffer.concat([
    Buffer.from(`POST /wsman HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/soap+xml; charset=utf-8\r\nContent-Length: ${bytes.length}\r\n\r\n`),
    bytes,
  ]);
};
