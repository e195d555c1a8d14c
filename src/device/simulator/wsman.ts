/** The WS-Management documents the simulated AMT speaks outside its classes: Identify and the alert it posts. */

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

const ADDRESSING = 'http://schemas.xmlsoap.org/ws/2004/08/addressing';
const ANONYMOUS = `${ADDRESSING}/role/anonymous`;
const ALERT_CLASS = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_AlertIndication';
const MANAGED_SYSTEM =
  'http://Interop/(instance)CIM_ComputerSystem.CreationClassName=(string)&quot;CIM_ComputerSystem&quot;,Name=(string)&quot;ManagedSystem&quot;';
let deliveries = 0;

/**
 * The HTTP request AMT posts on its notification channel, laid out as the firmware's: a
 * WS-Eventing Event whose WS-Addressing header (To, ReplyTo, Action, a `uuid:` MessageID of the
 * delivery, ResourceURI) comes before a body with the CIM_AlertIndication's fields in AMT's order,
 * the alert's own MessageID (e.g. iAMT0067) among them, and the managed system as a last argument.
 */
export const alertRequest = (messageId: string, args: readonly string[], time: Date): Buffer => {
  const delivery = (++deliveries).toString(16).toUpperCase().padStart(12, '0');
  const g = (name: string, value: string): string => `<g:${name}>${value}</g:${name}>`;
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<a:Envelope xmlns:a="${SOAP}" xmlns:b="${ADDRESSING}" xmlns:c="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" ` +
    `xmlns:g="${ALERT_CLASS}" xmlns:h="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
    `<a:Header><b:To>${ANONYMOUS}</b:To><b:ReplyTo><b:Address>${ANONYMOUS}</b:Address></b:ReplyTo>` +
    '<b:Action a:mustUnderstand="true">http://schemas.dmtf.org/wbem/wsman/1/wsman/Event</b:Action>' +
    `<b:MessageID>uuid:00000000-8086-8086-8086-${delivery}</b:MessageID><c:ResourceURI>${ALERT_CLASS}</c:ResourceURI></a:Header>` +
    '<a:Body><g:CIM_AlertIndication>' +
    g('AlertType', '6') +
    g('AlertingElementFormat', '2') +
    g('AlertingManagedElement', MANAGED_SYSTEM) +
    g('IndicationFilterName', 'Intel(r) AMT:User Notification') +
    g('IndicationIdentifier', `Intel(r):${deliveries}`) +
    `<g:IndicationTime><h:Datetime>${time.toISOString()}</h:Datetime></g:IndicationTime>` +
    g('Message', '') +
    [...args, MANAGED_SYSTEM].map((a) => g('MessageArguments', a)).join('') +
    g('MessageID', messageId) +
    g('OtherAlertingElementFormat', '') +
    g('OtherSeverity', '') +
    g('OwningEntity', 'Intel(r) AMT') +
    g('PerceivedSeverity', '2') +
    g('ProbableCause', '0') +
    g('SystemName', 'Intel(r) AMT') +
    '</g:CIM_AlertIndication></a:Body></a:Envelope>';
  const bytes = Buffer.from(body);
  return Buffer.concat([
    Buffer.from(`POST / HTTP/1.1\r\nHost: localhost:0\r\nUser-Agent: Intel(R) AMT Agent\r\nConnection: Keep-Alive\r\nContent-Length: ${bytes.length}\r\n\r\n`),
    bytes,
  ]);
};
