/**
 * The configuration file (JSON) and the run options it shares with the command line,
 * validated with io-ts: a wrong field is named in the error, never silently ignored. Every number
 * is range-checked here, so a value the session cannot carry never reaches it.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { describeValidationErrors } from '../codecs/errors.js';
import { bindAddressProblem } from '../streams/loopback.js';
import { optionRanges, type RangedOption } from '../streams/sessionTypes.js';
import { UsageError } from './exitCodes.js';

/** A configuration is a few hundred bytes; anything this large is not one. */
export const MAX_CONFIG_BYTES = 64 * 1024;

/** A whole number in [min, max]; the name is what an error says it expected. */
const intIn = (min: number, max: number): t.Type<number> => {
  const is = (u: unknown): u is number => typeof u === 'number' && Number.isInteger(u) && u >= min && u <= max;
  return new t.Type<number>(`a whole number from ${min} to ${max}`, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), t.identity);
};
const ranged = (name: RangedOption): t.Type<number> => intIn(optionRanges[name][0], optionRanges[name][1]);
const LoopbackAddress = t.brand(
  t.string,
  (s): s is t.Branded<string, { readonly LoopbackAddress: unique symbol }> => bindAddressProblem(s) === undefined,
  'LoopbackAddress',
);
export const LogLevel = t.keyof({ fatal: null, error: null, warn: null, info: null, debug: null, trace: null, silent: null });
export type LogLevel = t.TypeOf<typeof LogLevel>;
export const LogFormat = t.keyof({ text: null, json: null, auto: null });

export const RunConfig = t.exact(
  t.partial({
    device: t.string,
    simulate: t.boolean,
    reservePorts: t.boolean,
    bind: t.array(LoopbackAddress),
    window: ranged('window'),
    maxChannels: ranged('maxChannels'),
    reclaimIdleMs: ranged('reclaimIdleMs'),
    reclaimAnswerMs: ranged('reclaimAnswerMs'),
    logLevel: LogLevel,
    logFormat: LogFormat,
    controlSocket: t.string,
    controlGroup: t.string,
    user: t.string,
    group: t.string,
    metricsPort: ranged('port'),
    simProfile: t.keyof({ plain: null, tls: null, both: null }),
    /** The host duties, each on unless set to false. */
    hostFqdn: t.boolean,
    timeSync: t.boolean,
    powerOps: t.boolean,
    ciraReconnect: t.boolean,
    sharedStaticIp: t.boolean,
    watchdog: t.boolean,
    /** AMT's watchdog device, where it is not found by its identity. */
    watchdogDevice: t.string,
  }),
);
export type RunConfig = t.TypeOf<typeof RunConfig>;

export const parseConfig = (json: unknown, source: string): RunConfig => {
  if (typeof json === 'object' && json !== null) {
    const known = new Set(Object.keys(RunConfig.type.props));
    const unknown = Object.keys(json).filter((k) => !known.has(k));
    if (unknown.length > 0) throw new UsageError(`${source}: unknown setting(s) ${unknown.join(', ')}`);
  }
  const r = RunConfig.decode(json);
  if (E.isLeft(r)) throw new UsageError(`${source}: ${describeValidationErrors(r.left)}`);
  return r.right;
};

// A FIFO would block open() and read() (at start: forever; at SIGHUP: the whole daemon, SIGTERM
// included) and /dev/zero never ends: the file is opened without blocking and must be a regular
// file of at most MAX_CONFIG_BYTES before a byte is read.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

const checkKind = (path: string, st: Stats): void => {
  if (!st.isFile()) throw new UsageError(`the configuration file ${path} is not a regular file`);
  if (st.size > MAX_CONFIG_BYTES) throw new UsageError(`the configuration file ${path} is ${st.size} bytes; at most ${MAX_CONFIG_BYTES} are accepted`);
};

const parseText = (path: string, bytes: Buffer, n: number): RunConfig => {
  if (n > MAX_CONFIG_BYTES) throw new UsageError(`the configuration file ${path} grew past ${MAX_CONFIG_BYTES} bytes while being read`);
  let json: unknown;
  try {
    json = JSON.parse(bytes.subarray(0, n).toString('utf8'));
  } catch (err) {
    throw new UsageError(`${path} is not JSON: ${(err as Error).message}`);
  }
  return parseConfig(json, path);
};

const cannotRead = (path: string, err: unknown): never => {
  if (err instanceof UsageError) throw err;
  throw new UsageError(`cannot read the configuration file ${path}: ${(err as Error).message}`);
};

/** At start, before the event loop has anything to do. */
export const loadConfigFile = (path: string): RunConfig => {
  let fd: number | undefined;
  try {
    fd = openSync(path, OPEN_FLAGS);
    checkKind(path, fstatSync(fd));
    const bytes = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (let got = 1; got > 0 && n < bytes.length; n += got) got = readSync(fd, bytes, n, bytes.length - n, null);
    return parseText(path, bytes, n);
  } catch (err) {
    return cannotRead(path, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
};

/** On SIGHUP, while the daemon serves: nothing here waits in the event loop's thread. */
export const reloadConfigFile = async (path: string): Promise<RunConfig> => {
  const file = await open(path, OPEN_FLAGS).catch((err: unknown) => cannotRead(path, err));
  try {
    checkKind(path, await file.stat());
    const bytes = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (let got = 1; got > 0 && n < bytes.length; n += got) got = (await file.read(bytes, n, bytes.length - n, null)).bytesRead;
    return parseText(path, bytes, n);
  } catch (err) {
    return cannotRead(path, err);
  } finally {
    await file.close();
  }
};
