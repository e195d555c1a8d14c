/** `lms events`: follows AMT's events as the running daemon receives them, over its control socket. */
import { controlSocketToAsk, followControl } from '../service/controlSocket.js';
import { unanswered } from '../service/controlClient.js';
import type { AmtEvent } from '../service/amtEvents.js';
import { Exit } from './exitCodes.js';
import { parseDaemonQueryArgs } from './statusCommand.js';

export const EVENTS_HELP = `Usage: lms events [--json] [--control-socket <path>]

Follows AMT's events as the running daemon receives them, one line each, until interrupted or
the daemon stops: a remote console starting or ending a KVM, Serial-over-LAN or storage
redirection session, asking for user consent, changing provisioning, asking for a graceful
power action, and the rest of AMT's alert registry. Each line gives AMT's time, the category,
the sentence and the registry key (iAMT0052-1). With --json each event is a JSON line with
key, messageId, arguments, category, text, known and time. Asks the same daemon lms status asks.

Exit codes: 0 interrupted, 2 usage error, 4 the daemon is not running or stopped, 7 this user may not ask it.`;

const line = (e: AmtEvent): string => `${e.time}  ${e.category.padEnd(14)} ${e.text} (${e.key})`;

export const eventsCommand = async (argv: readonly string[]): Promise<number> => {
  const v = parseDaemonQueryArgs(argv, EVENTS_HELP);
  if (v === 'help') return Exit.Ok;
  const path = v.controlSocket ?? controlSocketToAsk();
  return new Promise<number>((resolve) => {
    const sub = followControl(path).subscribe({
      next: (e) => process.stdout.write(`${v.json ? JSON.stringify(e) : line(e as AmtEvent)}\n`),
      error: (err: unknown) => {
        const why = unanswered(err, path);
        process.stderr.write(`lms events: no events from ${path}: ${why.detail}\n`);
        resolve(why.kind === 'denied' ? Exit.NotPermitted : why.kind === 'not-running' ? Exit.NotRunning : Exit.Failure);
      },
      complete: () => {
        process.stderr.write(`lms events: the daemon on ${path} stopped\n`);
        resolve(Exit.NotRunning);
      },
    });
    const interrupted = (): void => {
      sub.unsubscribe();
      resolve(Exit.Ok);
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
  });
};
