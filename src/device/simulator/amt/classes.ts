/** Every class the simulated AMT answers, one family per file. */
import { eventLogClasses } from './classes/eventLog.js';
import { inventoryClasses } from './classes/inventory.js';
import { networkClasses } from './classes/network.js';
import { powerClasses } from './classes/power.js';
import { provisioningClasses } from './classes/provisioning.js';
import { redirectionClasses } from './classes/redirection.js';
import { remoteAccessClasses } from './classes/remoteAccess.js';
import { settingsClasses } from './classes/settings.js';
import type { ClassDef } from './wsmanService.js';

export const amtClasses: readonly ClassDef[] = [
  ...settingsClasses,
  ...provisioningClasses,
  ...inventoryClasses,
  ...networkClasses,
  ...remoteAccessClasses,
  ...redirectionClasses,
  ...powerClasses,
  ...eventLogClasses,
];
