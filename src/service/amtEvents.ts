/**
 * AMT's alerts as a person reads them. AMT names an event by its registry id (iAMT0052) and, for
 * most, its first argument (iAMT0052 argument 1: a KVM session started); Intel LMS's
 * CimToEventTranslator keys its events the same way. The sentences are ours, written from Intel's
 * AMT alert registry; an id missing here is still reported, with its id and arguments.
 */
import type { AmtAlert } from './amtAlert.js';

/** What an event is about, for whoever filters them (a desktop tool shows remote-control ones). */
export type AmtEventCategory =
  | 'remote-control'
  | 'user-consent'
  | 'provisioning'
  | 'remote-access'
  | 'network'
  | 'wireless'
  | 'system-defense'
  | 'power'
  | 'clock'
  | 'agent'
  | 'security'
  | 'firmware'
  | 'other';

/** An AMT alert with its sentence: what the log says, `lms events` streams and status counts. */
export interface AmtEvent {
  /** The registry key: the id, and the first argument where the id needs it (`iAMT0052-1`). */
  readonly key: string;
  readonly messageId: string;
  readonly arguments: readonly string[];
  readonly category: AmtEventCategory;
  readonly text: string;
  /** False for an id lms has no sentence for: the text then names the id and its arguments. */
  readonly known: boolean;
  /** AMT's time stamp (ISO 8601), else the time lms received it. */
  readonly time: string;
}

type Entry = readonly [AmtEventCategory, string | ((args: readonly string[]) => string)];

/** The agent's id is the first argument; AMT's last is the managed system's reference, the only one when no id is given. */
const agent = (what: string) => (args: readonly string[]) => {
  const id = args[0] !== undefined && args[0] !== '' && !/^https?:\/\//.test(args[0]) ? `${args[0]} ` : '';
  return `the local agent ${id}${what}, as AMT's agent presence watch saw`;
};

/** Keyed `id-argument` where the first argument tells events apart, else by the id alone. */
const REGISTRY: Readonly<Record<string, Entry>> = {
  iAMT0001: ['system-defense', 'a System Defense policy was triggered'],
  iAMT0002: ['agent', agent('has not started')],
  iAMT0003: ['agent', agent('has stopped')],
  iAMT0004: ['agent', agent('is running')],
  iAMT0005: ['agent', agent('has expired')],
  iAMT0006: ['agent', agent('is suspended')],
  iAMT0007: ['security', "host software tried to disable AMT's network link"],
  iAMT0008: ['security', "host software tried to disable AMT's network link; the host's link was blocked"],
  iAMT0029: ['security', "AMT's audit log is 50% full"],
  iAMT0030: ['security', "AMT's audit log is 75% full"],
  iAMT0031: ['security', "AMT's audit log is 85% full"],
  iAMT0032: ['security', "AMT's audit log is 95% full"],
  iAMT0033: ['security', "AMT's audit log is full"],
  iAMT0034: ['firmware', 'a firmware update was applied in part'],
  iAMT0035: ['firmware', 'a firmware update failed'],
  iAMT0036: ['remote-access', 'a remote access connection was initiated'],
  'iAMT0038-0': ['provisioning', 'AMT is being unprovisioned from the BIOS'],
  'iAMT0038-1': ['provisioning', 'AMT is being unprovisioned by a local MEI command'],
  'iAMT0038-2': ['provisioning', 'AMT is being unprovisioned by a local WS-Man command'],
  'iAMT0038-3': ['provisioning', 'AMT is being unprovisioned by a remote WS-Man command'],
  'iAMT0049-0': ['wireless', 'wireless profile synchronisation was disabled'],
  'iAMT0049-1': ['wireless', 'wireless profile synchronisation was enabled'],
  'iAMT0050-0': ['provisioning', 'manageability (AMT) was enabled'],
  'iAMT0050-16': ['system-defense', "System Defense stopped this host's outgoing traffic"],
  'iAMT0050-17': ['system-defense', "System Defense limited this host's outgoing traffic"],
  'iAMT0050-18': ['system-defense', "System Defense stopped this host's incoming traffic"],
  'iAMT0050-19': ['system-defense', "System Defense limited this host's incoming traffic"],
  'iAMT0050-32': ['network', 'an endpoint access control (EAC) notification'],
  'iAMT0050-33': ['network', 'endpoint access control (EAC) was enabled'],
  'iAMT0050-34': ['network', 'endpoint access control (EAC) was disabled'],
  'iAMT0050-48': ['remote-control', 'a remote console started a Serial-over-LAN session: it sees and types on this text console'],
  'iAMT0050-49': ['remote-control', 'the Serial-over-LAN session ended'],
  'iAMT0050-50': ['remote-control', 'a remote console started a storage redirection (IDE-R/USB-R) session: it attached a disk to this host'],
  'iAMT0050-51': ['remote-control', 'the storage redirection session ended'],
  'iAMT0050-66': ['wireless', "the host's wireless profile does not match AMT's: AMT's wireless interface is ignored"],
  'iAMT0050-67': ['wireless', 'the wireless link preference was set to the ME: AMT overrides the host radio'],
  'iAMT0050-68': ['wireless', "the host's wireless profile security does not match AMT's"],
  'iAMT0050-69': ['wireless', 'the wireless link preference was set to the host: AMT gives the radio back'],
  'iAMT0052-0': ['remote-control', 'a remote console requested a KVM session'],
  'iAMT0052-1': ['remote-control', 'a remote console started a KVM session: it sees this screen and controls keyboard and mouse'],
  'iAMT0052-2': ['remote-control', 'the KVM session ended'],
  'iAMT0052-3': ['remote-control', "the KVM session's data channel opened"],
  'iAMT0053-50': ['remote-access', 'the remote assistance button was pressed: a connection was initiated'],
  'iAMT0053-52': ['remote-access', 'the remote assistance button was pressed: no connection was initiated'],
  'iAMT0054-70': ['wireless', 'wireless profile synchronisation was switched on or off'],
  'iAMT0055-0': ['provisioning', "AMT's provisioning state changed to pre-provisioning (not provisioned)"],
  'iAMT0055-1': ['provisioning', "AMT's provisioning state changed to in provisioning"],
  'iAMT0055-2': ['provisioning', "AMT's provisioning state changed to provisioned"],
  'iAMT0055-3': ['provisioning', "AMT's unprovisioning started"],
  'iAMT0055-4': ['provisioning', "AMT's control mode changed"],
  'iAMT0056-0': ['system-defense', "AMT's System Defense state changed"],
  'iAMT0057-0': ['network', "AMT's network state changed"],
  'iAMT0058-0': ['remote-access', "AMT's connection to its management server (CIRA) closed"],
  'iAMT0058-1': ['remote-access', "AMT's connection to its management server (CIRA) opened"],
  'iAMT0059-0': ['remote-control', 'KVM was disabled'],
  'iAMT0059-1': ['remote-control', 'KVM was enabled'],
  'iAMT0060-0': ['security', 'a secure I/O (Sprite) configuration change was requested'],
  iAMT0061: ['firmware', 'the ME firmware was reset'],
  'iAMT0062-0': ['network', 'IP synchronisation with the host was disabled'],
  'iAMT0062-1': ['network', 'IP synchronisation with the host was enabled'],
  'iAMT0063-0': ['network', 'HTTP proxy synchronisation with the host was disabled'],
  'iAMT0063-1': ['network', 'HTTP proxy synchronisation with the host was enabled'],
  'iAMT0064-1': ['user-consent', 'user consent was granted: the code shown on this screen was entered'],
  'iAMT0064-2': ['user-consent', 'user consent ended'],
  'iAMT0064-3': ['user-consent', 'a remote console asked for user consent: AMT shows a code on this screen'],
  'iAMT0064-4': ['user-consent', "AMT's user consent settings changed"],
  'iAMT0065-0': ['network', 'AMT asked the host to refresh its wired IP address'],
  'iAMT0065-1': ['network', 'AMT asked the host to refresh its wireless IP address'],
  'iAMT0066-0': ['wireless', 'wireless link control was given to the host'],
  'iAMT0066-1': ['wireless', 'wireless link control was given to the ME'],
  'iAMT0067-0': ['power', 'a remote administrator asked for a graceful shutdown'],
  'iAMT0067-1': ['power', 'a remote administrator asked for a graceful reboot'],
  'iAMT0067-2': ['power', 'a remote administrator asked for sleep'],
  'iAMT0067-3': ['power', 'a remote administrator asked for hibernation'],
  'iAMT0068-0': ['wireless', "the ME's wireless link protection is off"],
  'iAMT0068-1': ['wireless', "the ME's wireless link protection is on (passive)"],
  'iAMT0068-2': ['wireless', "the ME's wireless link protection is on (high)"],
  'iAMT0069-0': ['clock', 'AMT no longer lets the host set its clock (local time synchronisation disabled)'],
  'iAMT0069-1': ['clock', 'AMT lets the host set its clock (local time synchronisation enabled)'],
  iAMT0071: ['security', 'an attempt to disable AMT was detected'],
};

/** The alert's sentence and category: the entry for id and first argument, else for the id alone. */
export const describeAmtAlert = (alert: AmtAlert): AmtEvent => {
  const withArgument = alert.arguments[0] !== undefined && alert.arguments[0] !== '' ? `${alert.messageId}-${alert.arguments[0]}` : undefined;
  const key = withArgument !== undefined && REGISTRY[withArgument] ? withArgument : alert.messageId;
  const entry = REGISTRY[key];
  const time = alert.time.toISOString();
  const base = { key, messageId: alert.messageId, arguments: alert.arguments, time };
  if (!entry) {
    const args = alert.arguments.length ? ` (arguments ${alert.arguments.map((a) => JSON.stringify(a)).join(', ')})` : '';
    return { ...base, category: 'other', text: `AMT event ${alert.messageId}${args}, which lms has no sentence for`, known: false };
  }
  const [category, text] = entry;
  return { ...base, category, text: typeof text === 'string' ? text : text(alert.arguments), known: true };
};

/** The registry's keys, for tests that hold it against Intel's list. */
export const amtEventKeys = (): readonly string[] => Object.keys(REGISTRY);

/** How many events AMT posted, by category, and the last few: what `lms status` shows of them. */
export interface AmtEventTally {
  readonly count: number;
  readonly byCategory: Readonly<Partial<Record<AmtEventCategory, number>>>;
  /** The newest last. */
  readonly recent: readonly AmtEvent[];
}

const RECENT = 10;

export const createAmtEventTally = (): { add(e: AmtEvent): void; snapshot(): AmtEventTally } => {
  let count = 0;
  const byCategory: Partial<Record<AmtEventCategory, number>> = {};
  const recent: AmtEvent[] = [];
  return {
    add(e) {
      count++;
      byCategory[e.category] = (byCategory[e.category] ?? 0) + 1;
      recent.push(e);
      if (recent.length > RECENT) recent.shift();
    },
    snapshot: () => ({ count, byCategory: { ...byCategory }, recent: [...recent] }),
  };
};
