/** What many of AMT's classes share: a service's keys, and reading a Put's or a method's fields. */
import { text, type Instance } from '../wsmanEnvelope.js';

/** The keys and names of one of AMT's services (`Intel(r) AMT <what>`). */
export const service = (cls: string, name: string, extra: Instance = {}): Instance => ({
  CreationClassName: cls,
  ElementName: name,
  Name: name,
  SystemCreationClassName: 'CIM_ComputerSystem',
  SystemName: 'Intel(r) AMT',
  ...extra,
});

/** A field of a request's body as text, or undefined when absent. */
export const field = (o: Readonly<Record<string, unknown>>, name: string): string | undefined => (name in o ? text(o[name]) : undefined);

/** A field that must be a boolean, as XML Schema writes one. */
export const bool = (o: Readonly<Record<string, unknown>>, name: string): boolean | undefined => {
  const v = field(o, name);
  return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : undefined;
};

/** Every value of a repeated field, in order. */
export const list = (o: Readonly<Record<string, unknown>>, name: string): string[] => {
  const v = o[name];
  return v === undefined ? [] : Array.isArray(v) ? v.map(text) : [text(v)];
};
