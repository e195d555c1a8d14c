/**
 * The ME engine as an RxJS operator, for marble specs and for anyone who wants the simulated ME
 * in virtual time: MeInput in, MeEffect out, one engine per subscription.
 */
import { defer, mergeMap, type OperatorFunction } from 'rxjs';
import { createMeEngine } from './meEngine.js';
import { defaultMeEngineOptions, emptyStats, type MeEffect, type MeEngineOptions, type MeInput, type MeStats } from './meTypes.js';

/** The ME engine as an RxJS operator: MeInput in, MeEffect out, one engine per subscription. */
export const runMe =
  (options: Partial<MeEngineOptions> = {}, stats: MeStats = emptyStats()): OperatorFunction<MeInput, MeEffect> =>
  (source) =>
    defer(() => {
      const engine = createMeEngine({ ...defaultMeEngineOptions, ...options }, stats);
      return source.pipe(mergeMap((input) => engine.step(input)));
    });
