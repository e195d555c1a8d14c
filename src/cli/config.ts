/**
 * The configuration file (JSON) and the run options it shares with the command line,
 * validated with io-ts: a wrong field is named in the error, never silently ignored.
 */
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { isLoopbackAddress } from '../streams/loopback.js';
import { UsageError } from './exitCodes.js';

const PositiveInt = t.brand(t.number, (n): n is t.Branded<number, { readonly PositiveInt: unique symbol }> => Number.isInteger(n) && n > 0, 'PositiveInt');
const Port = t.brand(t.number, (n): n is t.Branded<number, { readonly Port: unique symbol }> => Number.isInteger(n) && n > 0 && n < 65536, 'Port');
const LoopbackAddress = t.brand(t.string, (s): s is t.Branded<string, { readonly LoopbackAddress: unique symbol }> => isLoopbackAddress(s), 'LoopbackAddress');
export const LogLevel = t.keyof({ fatal: null, error: null, warn: null, info: null, debug: null, trace: null, silent: null });
export type LogLevel = t.TypeOf<typeof LogLevel>;

export const RunConfig = t.exact(
  t.partial({
    device: t.string,
    simulate: t.boolean,
    reservePorts: t.boolean,
    bind: t.array(LoopbackAddress),
    window: PositiveInt,
    maxChannels: PositiveInt,
    logLevel: LogLevel,
    controlSocket: t.string,
    user: t.string,
    group: t.string,
    metricsPort: Port,
    simProfile: t.keyof({ plain: null, tls: null, both: null }),
  }),
);
export type RunConfig = t.TypeOf<typeof RunConfig>;

const describeErrors = (errors: t.Errors): string =>
  errors
    .map((e) => {
      const path = e.context.map((c) => c.key).filter(Boolean).join('.');
      const expected = e.context[e.context.length - 1]?.type.name ?? 'a valid value';
      return `${path || '(root)'}: ${JSON.stringify(e.value)} is not ${expected}`;
    })
    .join('; ');

export const parseConfig = (json: unknown, source: string): RunConfig => {
  if (typeof json === 'object' && json !== null) {
    const known = new Set(Object.keys(RunConfig.type.props));
    const unknown = Object.keys(json).filter((k) => !known.has(k));
    if (unknown.length > 0) throw new UsageError(`${source}: unknown setting(s) ${unknown.join(', ')}`);
  }
  const r = RunConfig.decode(json);
  if (E.isLeft(r)) throw new UsageError(`${source}: ${describeErrors(r.left)}`);
  return r.right;
};

export const loadConfigFile = (path: string): RunConfig => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the configuration file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path} is not JSON: ${(err as Error).message}`);
  }
  return parseConfig(json, path);
};
