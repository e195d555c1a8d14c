/**
 * Where the daemon's log lines go and how they look. pino makes one JSON object a line; this
 * destination writes it as it is (`json`: for a collector), or as a line a person reads (`text`:
 * time, level, message, then the fields as key=value). Under systemd, with stdout connected to the
 * journal, each line starts with its syslog priority (`<4>` for a warning, sd-daemon(3)), so that
 * `journalctl -p warning` filters; the journal stamps the time, so text lines leave it out there.
 */
import { fstatSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';

export type LogFormat = 'text' | 'json';

/** pino's numeric levels to syslog priorities: fatal crit, error err, warn warning, notice (lms's own, 35), info, debug and trace debug. */
const priority = (level: number): number => (level >= 60 ? 2 : level >= 50 ? 3 : level >= 40 ? 4 : level >= 35 ? 5 : level >= 30 ? 6 : 7);
const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 35: 'NOTICE', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** pino's own fields, shown in their place in a text line or not at all. */
const OWN = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

/** True when `fd` is the stream systemd connected to the journal ($JOURNAL_STREAM is its device:inode). */
const isJournalStream = (fd: number, env: NodeJS.ProcessEnv = process.env): boolean => {
  const want = env['JOURNAL_STREAM'];
  if (!want) return false;
  try {
    const st = fstatSync(fd);
    return want === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
};

const show = (v: unknown): string => {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
};

const time = (ms: number): string => {
  const d = new Date(ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
};

/** One pino JSON line as a line a person reads: `2026-12-01 10:15:34.123 WARN  message key=value …`. */
const textLine = (json: string, withTime: boolean): string => {
  let line: Record<string, unknown>;
  try {
    line = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd(); // not pino's: pass it through
  }
  const level = typeof line['level'] === 'number' ? line['level'] : 30;
  const fields = Object.entries(line)
    .filter(([k, v]) => !OWN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${show(v)}`);
  const head = `${(LEVEL_NAMES[level] ?? String(level)).padEnd(5)} ${String(line['msg'] ?? '')}`;
  return [withTime && typeof line['time'] === 'number' ? time(line['time']) : undefined, head, ...fields].filter((x) => x !== undefined).join(' ');
};

/**
 * A pino destination on `fd` (synchronous writes: a line is out before the process can exit).
 * `auto`: text for a person (a terminal, or the journal), JSON lines for anything else (a pipe, a
 * file, a collector).
 */
export const logDestination = (asked: LogFormat | 'auto' | undefined, fd = 1): { write(line: string): void } => {
  const journal = isJournalStream(fd);
  const format: LogFormat = asked === 'text' || asked === 'json' ? asked : isatty(fd) || journal ? 'text' : 'json';
  return {
    write(line: string) {
      const level = journal ? Number(/"level":(\d+)/.exec(line)?.[1] ?? 30) : 0;
      const body = format === 'json' ? line.trimEnd() : textLine(line, !journal);
      writeSync(fd, `${journal ? `<${priority(level)}>` : ''}${body}\n`);
    },
  };
};
