/** The benchmark's rows: ratios per pair, the table printed, the JSON written to bench/results/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { median, percentile } from './procStats.js';

export interface Row {
  readonly name: string;
  readonly lms: number;
  readonly baseline?: number;
  readonly unit: string;
  /** lms / baseline: for paired throughput runs, the median of the per-pair ratios. */
  readonly ratio?: number;
  /** The quartiles of the per-pair ratios. */
  readonly spread?: [number, number];
  readonly target?: string;
  readonly met?: boolean;
  /** Missed, and out of reach for any LMS on this test bed (the `upload bound` rows say why). */
  readonly unreachable?: boolean;
}

// Each lms transfer runs right after its baseline transfer, so the ratio is taken per pair and
// the median of those is judged: the host's speed drifts by tens of percent between pairs. The
// quartiles of the per-pair ratios show how far a verdict can be trusted.
const perPair = (xs: number[], base: number[]): number[] => xs.map((x, i) => x / base[i]!);
export const pairedRatio = (xs: number[], base: number[]): number => median(perPair(xs, base));
export const quartiles = (xs: number[], base: number[]): [number, number] => {
  const r = perPair(xs, base);
  return [percentile(r, 25), percentile(r, 75)];
};

const fmt = (n: number | undefined): string => (n === undefined ? '' : n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toPrecision(3));

export const printRows = (title: string, rows: readonly Row[]): void => {
  console.log(`\n${title}\n`);
  console.log(`${'measure'.padEnd(30)} ${'lms'.padStart(10)} ${'baseline'.padStart(10)} ${'ratio'.padStart(7)} ${'quartiles'.padEnd(11)} unit   target`);
  for (const r of rows) {
    const ratio = r.ratio !== undefined ? r.ratio.toFixed(2) : r.baseline ? (r.lms / r.baseline).toFixed(2) : '';
    const verdict = r.met === undefined ? '' : r.met ? 'met' : r.unreachable ? 'MISSED (out of reach here: see upload bound)' : 'MISSED';
    const spread = r.spread ? `[${r.spread[0].toFixed(2)}-${r.spread[1].toFixed(2)}]` : '';
    console.log(
      `${r.name.padEnd(30)} ${fmt(r.lms).padStart(10)} ${fmt(r.baseline).padStart(10)} ${ratio.padStart(7)} ${spread.padEnd(11)} ${r.unit.padEnd(6)} ${r.target ?? ''} ${verdict}`,
    );
  }
};

export const writeResults = (results: Record<string, unknown>): string => {
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), ...results }, null, 2));
  return file;
};
