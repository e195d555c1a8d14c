/**
 * `--sim-state FILE`: the simulated AMT's realm and what tools changed (provisioning, settings),
 * kept across restarts, so that an activation survives one as it does on a real platform. The file
 * is read once at start (checked by its codec) and written whole after each change.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as t from 'io-ts';
import { describeValidationErrors } from '../../../codecs/errors.js';
import { PersistedAmtCodec, type AmtModel, type PersistedAmt } from './model.js';

const StateFileCodec = t.type({ realm: t.string, persisted: PersistedAmtCodec });
export type SavedAmt = { readonly realm: string; readonly persisted: PersistedAmt };

/** The saved state, undefined where there is none yet; a file that is not one is an error that says why. */
export const loadAmtState = (path: string): SavedAmt | undefined => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`--sim-state ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`--sim-state ${path}: not JSON (${(err as Error).message})`);
  }
  const decoded = StateFileCodec.decode(json);
  if (decoded._tag === 'Left') throw new Error(`--sim-state ${path}: not a simulated AMT's state: ${describeValidationErrors(decoded.left)}`);
  return decoded.right;
};

/** Writes the state through a temporary file, so that a crash leaves the old one or the new one. */
export const saveAmtState = (path: string, m: Pick<AmtModel, 'realm' | 'persisted'>): void => {
  writeFileSync(`${path}.tmp`, `${JSON.stringify({ realm: m.realm, persisted: m.persisted }, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
};
