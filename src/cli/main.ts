#!/usr/bin/env node
/** The `lms` command. */
import { Exit, UsageError } from './exitCodes.js';
import { doctorCommand } from './doctorCommand.js';
import { eventsCommand } from './eventsCommand.js';
import { infoCommand } from './infoCommand.js';
import { probeCommand } from './probeCommand.js';
import { runCommand } from './runCommand.js';
import { statusCommand } from './statusCommand.js';

const HELP = `Usage: lms <command> [options]

Commands:
  run       run the Local Manageability Service (lms run --help)
  status    show the running daemon's state (lms status --help)
  events    follow AMT's events as the daemon receives them (lms events --help)
  probe     ask a host for its AMT version over HEAD / (lms probe --help)
  info      AMT versions, provisioning state, UUID, network settings from the ME (lms info --help)
  doctor    check the driver, device, permissions, daemon, ports and AMT, and say what to do (lms doctor --help)

Exit codes: 0 ok, 1 internal error, 2 usage error, 3 no usable ME device,
            4 daemon not running (status, events), 5 no AMT answered (probe), 6 a finding (doctor),
            7 not permitted to ask the daemon (status, events).`;

const commands: Record<string, (argv: readonly string[]) => Promise<number>> = {
  run: runCommand,
  status: statusCommand,
  events: eventsCommand,
  probe: probeCommand,
  info: infoCommand,
  doctor: doctorCommand,
};

const main = async (argv: readonly string[]): Promise<number> => {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(`${HELP}\n`);
    return name === undefined ? Exit.Usage : Exit.Ok;
  }
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}\n\n${HELP}`);
  return command(rest);
};

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // The daemon's handles are closed by now; exit also ends a reader thread stuck elsewhere.
    if (process.argv[2] === 'run') setImmediate(() => process.exit(code));
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`lms: ${err.message}\n`);
      process.exitCode = Exit.Usage;
    } else {
      process.stderr.write(`lms: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = Exit.Failure;
    }
    // A daemon refused at start may already hold a device or a timer: it must not linger.
    if (process.argv[2] === 'run') setImmediate(() => process.exit());
  },
);
