/**
 * One pass over the session's events: a log line for each that a person should see (warnings
 * within a budget), and the counters that `lms status` and the Prometheus metrics both report.
 */
import { triggerReasonName } from '../codecs/opcodes.js';
import type { LmsEvent } from '../streams/sessionTypes.js';
import { createLogBudget } from './logBudget.js';
import type { Logger } from './logger.js';
import type { UserNames } from './userNames.js';

export interface LmsCounters {
  readonly connects: number;
  readonly resets: number;
  readonly protocolErrors: number;
  readonly channelsOpened: number;
  readonly channelsClosed: number;
  readonly refused: number;
  /** Quiet channels taken back because other clients waited for a slot. */
  readonly reclaimed: number;
  readonly notifications: number;
  /** Times the session threw (a bug) and was started again. */
  readonly sessionFailures: number;
  /** Connections their client reset before lms could accept them: dropped, not refused. */
  readonly goneBeforeAccept: number;
  /** Bytes each way over the channels closed so far. */
  readonly bytesToMe: number;
  readonly bytesFromMe: number;
}

type EventCounter = Exclude<keyof LmsCounters, 'connects' | 'resets' | 'sessionFailures' | 'goneBeforeAccept'>;

/** A hostile ME, or a local flood of connections, can make events faster than a log should take them. */
const WARN_LINES_PER_SECOND = 20;

export interface EventLog {
  record(e: LmsEvent): void;
  counts(): Record<EventCounter, number>;
  readonly meVersion: { major: number; minor: number; uuid: string } | undefined;
}

/** Log lines and counters from the session's events alone: a channel whose open failed has no duration and is not counted closed. */
export const createEventLog = (log: Logger, users: UserNames): EventLog => {
  const counts: Record<EventCounter, number> = {
    protocolErrors: 0,
    channelsOpened: 0,
    channelsClosed: 0,
    refused: 0,
    reclaimed: 0,
    notifications: 0,
    bytesToMe: 0,
    bytesFromMe: 0,
  };
  let meVersion: EventLog['meVersion'];
  const enabled = (level: string): boolean => log.isLevelEnabled?.(level) ?? true;

  /** One warning line per event up to the budget; past it, one summary line a second says how many were left out. */
  const budgetedWarn = (what: string): ((fields: Record<string, unknown>, message: string) => void) => {
    const budget = createLogBudget(WARN_LINES_PER_SECOND);
    return (fields, message) => {
      const left = budget.suppressed();
      if (left > 0) log.warn({ suppressed: left }, `${left} more ${what} were not logged (over ${WARN_LINES_PER_SECOND} a second); lms status counts them all`);
      if (budget.take()) log.warn(fields, message);
    };
  };
  const warnProtocolError = budgetedWarn('protocol errors from the ME');
  const warnRefused = budgetedWarn('refused connections');
  const warnReclaimed = budgetedWarn('reclaimed channels');

  const record = (e: LmsEvent): void => {
    switch (e.type) {
      case 'session':
        return log.info({ phase: e.phase, detail: e.detail }, `session ${e.phase}`);
      case 'me-version':
        meVersion = { major: e.major, minor: e.minor, uuid: e.uuid };
        return log.info({ version: `${e.major}.${e.minor}`, uuid: e.uuid, trigger: triggerReasonName(e.triggerReason) }, 'ME protocol version');
      case 'channel-opened':
        counts.channelsOpened++;
        return log.info(
          {
            channel: e.id,
            meChannel: e.meId,
            port: e.local.port,
            peer: `${e.peer.address}:${e.peer.port}`,
            user: users.describe(e.owner),
            meWindow: e.meWindow,
          },
          'channel open',
        );
      case 'channel-stalled':
        if (enabled('debug')) log.debug({ channel: e.id, buffered: e.buffered }, 'channel waits for ME window');
        return;
      case 'channel-closed': {
        if (e.durationMs !== undefined) counts.channelsClosed++;
        counts.bytesToMe += e.bytesToMe;
        counts.bytesFromMe += e.bytesFromMe;
        return log.info(
          {
            channel: e.id,
            reason: e.reason,
            bytesToMe: e.bytesToMe,
            bytesFromMe: e.bytesFromMe,
            durationMs: e.durationMs ?? 0,
            detail: e.detail,
          },
          'channel closed',
        );
      }
      case 'connection-refused':
        counts.refused++;
        return warnRefused({ peer: `${e.peer.address}:${e.peer.port}`, user: users.describe(e.owner), reason: e.reason }, 'connection refused');
      case 'channel-reclaimed': {
        counts.reclaimed++;
        const user = users.describe(e.owner);
        const quiet = (text: string, quietMs: number) =>
          warnReclaimed({ channel: e.id, port: e.port, user, why: e.why, quietMs }, `channel ${e.id} of ${user} reclaimed: ${text}`);
        const shared = (text: string, forOwner: number) =>
          warnReclaimed({ channel: e.id, port: e.port, user, why: e.why, for: users.describe(forOwner) }, `channel ${e.id} of ${user} reclaimed: ${text}`);
        switch (e.why) {
          case 'idle':
            return quiet(`no byte either way for ${e.quietMs} ms while others wait`, e.quietMs);
          case 'no-answer':
            return quiet(`the client's request unanswered for ${e.quietMs} ms while others wait`, e.quietMs);
          case 'over-share':
            return shared(`it held two slots more than ${users.describe(e.for)}, who waits`, e.for);
          case 'port-share':
            return shared(`every slot carried a redirection port while ${users.describe(e.for)} waits for WS-Man`, e.for);
        }
        return;
      }
      case 'protocol-error':
        counts.protocolErrors++;
        return warnProtocolError({ violation: e.violation, channel: e.channel }, e.detail);
      case 'notification':
        counts.notifications++;
        return; // logged with its parsed alert (lmsService.ts)
      case 'forward':
        if (!e.ok) return log.warn({ port: e.port, error: e.error }, `cannot forward port ${e.port}: ${e.error}; the ME was answered REQUEST_FAILURE`);
        return log.info({ port: e.port, ok: e.ok, bound: e.bound, cancelled: e.cancelled }, e.cancelled ? 'forward cancelled' : 'forward');
      case 'udp-sent':
        return log.debug({ address: e.address, port: e.port, bytes: e.bytes }, 'udp-send-to');
      case 'ignored':
        return log.debug({}, e.detail);
    }
  };

  return {
    record,
    counts: () => ({ ...counts }),
    get meVersion() {
      return meVersion;
    },
  };
};
