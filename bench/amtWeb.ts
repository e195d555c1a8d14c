/** The simulated AMT's web service as the benchmarks serve it: a provisioned AMT 16.1. */
import type { AmtWeb } from '../src/device/simulator/amtHttpService.js';
import { createAmtModel } from '../src/device/simulator/amt/model.js';

export const benchAmtWeb = (): AmtWeb => ({
  model: createAmtModel({
    version: '16.1.30',
    uuid: '00000000-0000-0000-0000-000000000000',
    bios: 'BENCH',
    dnsSuffix: '',
    provisioningState: 2,
    controlMode: 1,
    mac: '02:00:5e:10:00:01',
  }),
  localAccount: { user: '$$OsAdmin', password: 'bench' },
});
