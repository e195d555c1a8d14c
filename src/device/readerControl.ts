/** The shared Int32 cells between an MEI connection and its reader thread (meiReader.ts). */
export const ReaderControl = {
  /** 1: stop reading and exit. */
  Stop: 0,
  /** Bumped by every write and by stop; the reader sleeps on it, so a bump ends its sleep. */
  Wake: 1,
  /** 1 while the reader sleeps longer than a few hundred µs: only then does a write also notify (a syscall). */
  Sleeping: 2,
  cells: 3,
} as const;

/** The poll reader's idle regime: after `afterMs` without a message or a write, sleeps grow to `sleepMs`. */
export interface ReaderIdle {
  readonly afterMs: number;
  readonly sleepMs: number;
}
