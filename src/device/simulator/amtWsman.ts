/**
 * The WS-Man classes of the simulated AMT that the host duties use, as AMT answers them:
 *   AMT_TimeSynchronizationService  Get (LocalTimeSyncEnabled), GetLowAccuracyTimeSynch (Ta0, the
 *                                   AMT clock in seconds), SetHighAccuracyTimeSynch(Ta0, Tm1, Tm2)
 *   CIM_PowerManagementCapabilities Get and Put (PowerStatesSupported)
 * Requests are parsed as XML (fast-xml-parser); answers are SOAP envelopes.
 */
import { XMLParser } from 'fast-xml-parser';
import { soapFault } from './wsman.js';

const SOAP = 'http://www.w3.org/2003/05/soap-envelope';
const AMT_SCHEMA = 'http://intel.com/wbem/wscim/1/amt-schema/1/';
const CIM_SCHEMA = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/';
const GET = 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Get';
const PUT = 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Put';

/** What the simulated AMT's WS-Man side holds, and what it was asked (for tests and status). */
export interface AmtWsmanState {
  /** AMT's clock minus the host's, in milliseconds (`--sim-clock-skew`). */
  clockSkewMs: number;
  /** 0 DEFAULT_TRUE, 1 CONFIGURED_TRUE, 2 FALSE: the OS may not set AMT's clock. */
  localTimeSyncEnabled: 0 | 1 | 2;
  powerStatesSupported: number[];
  /** Each call, as `<class>.<method>`, oldest first. */
  readonly calls: string[];
}

export const defaultWsmanState = (): AmtWsmanState => ({ clockSkewMs: 0, localTimeSyncEnabled: 0, powerStatesSupported: [2, 8, 10], calls: [] });

const parser = new XMLParser({ removeNSPrefix: true, ignoreAttributes: true, parseTagValue: false, isArray: (name) => name === 'PowerStatesSupported' });

const envelope = (action: string, body: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?><a:Envelope xmlns:a="${SOAP}" xmlns:b="http://schemas.xmlsoap.org/ws/2004/08/addressing">` +
  `<a:Header><b:Action>${action}</b:Action></a:Header><a:Body>${body}</a:Body></a:Envelope>`;

const timeSync = (state: AmtWsmanState, action: string, input: Record<string, unknown> | undefined): string => {
  const cls = 'AMT_TimeSynchronizationService';
  const ns = `xmlns:g="${AMT_SCHEMA}${cls}"`;
  const amtSeconds = (): number => Math.floor((Date.now() + state.clockSkewMs) / 1000);
  if (action === GET) {
    state.calls.push(`${cls}.Get`);
    return envelope(
      `${GET}Response`,
      `<g:${cls} ${ns}><g:CreationClassName>${cls}</g:CreationClassName><g:ElementName>Intel(r) AMT Time Synchronization Service</g:ElementName><g:LocalTimeSyncEnabled>${state.localTimeSyncEnabled}</g:LocalTimeSyncEnabled><g:Name>Intel(r) AMT Time Synchronization Service</g:Name><g:TimeSource>1</g:TimeSource></g:${cls}>`,
    );
  }
  if (action.endsWith('/GetLowAccuracyTimeSynch')) {
    state.calls.push(`${cls}.GetLowAccuracyTimeSynch`);
    return envelope(
      `${action}Response`,
      `<g:GetLowAccuracyTimeSynch_OUTPUT ${ns}><g:Ta0>${amtSeconds()}</g:Ta0><g:ReturnValue>0</g:ReturnValue></g:GetLowAccuracyTimeSynch_OUTPUT>`,
    );
  }
  if (action.endsWith('/SetHighAccuracyTimeSynch')) {
    state.calls.push(`${cls}.SetHighAccuracyTimeSynch`);
    const args = (input?.['SetHighAccuracyTimeSynch_INPUT'] ?? {}) as Record<string, string>;
    const tm1 = Number(args['Tm1']);
    // AMT refuses when the OS may not set its clock; otherwise its clock follows the host's Tm1.
    const ok = state.localTimeSyncEnabled !== 2 && Number.isFinite(tm1);
    if (ok) state.clockSkewMs = tm1 * 1000 - Date.now();
    return envelope(
      `${action}Response`,
      `<g:SetHighAccuracyTimeSynch_OUTPUT ${ns}><g:ReturnValue>${ok ? 0 : 1}</g:ReturnValue></g:SetHighAccuracyTimeSynch_OUTPUT>`,
    );
  }
  return soapFault(`${cls} has no action ${action}`);
};

const powerCapabilities = (state: AmtWsmanState, action: string, input: Record<string, unknown> | undefined): string => {
  const cls = 'CIM_PowerManagementCapabilities';
  const body = (): string =>
    `<h:${cls} xmlns:h="${CIM_SCHEMA}${cls}"><h:ElementName>Power Management Capabilities</h:ElementName><h:InstanceID>Intel(r) AMT:PowerManagementCapabilities 0</h:InstanceID><h:PowerChangeCapabilities>3</h:PowerChangeCapabilities>` +
    state.powerStatesSupported.map((s) => `<h:PowerStatesSupported>${s}</h:PowerStatesSupported>`).join('') +
    `</h:${cls}>`;
  if (action === GET) {
    state.calls.push(`${cls}.Get`);
    return envelope(`${GET}Response`, body());
  }
  if (action === PUT) {
    state.calls.push(`${cls}.Put`);
    const given = ((input?.[cls] ?? {}) as Record<string, unknown>)['PowerStatesSupported'];
    if (!Array.isArray(given)) return soapFault('Put without PowerStatesSupported');
    state.powerStatesSupported = given.map(Number);
    return envelope(`${PUT}Response`, body());
  }
  return soapFault(`${cls} has no action ${action}`);
};

/** The answer to a WS-Man request the simulated AMT understands, or undefined for one it does not. */
export const answerWsman = (state: AmtWsmanState, xml: string): string | undefined => {
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(xml) as Record<string, unknown>;
  } catch {
    return soapFault('malformed XML');
  }
  const env = (doc['Envelope'] ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const action = String(env['Header']?.['Action'] ?? '');
  const resource = String(env['Header']?.['ResourceURI'] ?? '');
  const body = (env['Body'] || undefined) as Record<string, unknown> | undefined;
  if (resource.endsWith('/AMT_TimeSynchronizationService')) return timeSync(state, action, body);
  if (resource.endsWith('/CIM_PowerManagementCapabilities')) return powerCapabilities(state, action, body);
  return undefined;
};
