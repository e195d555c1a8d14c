/**
 * The profiles a simulated AMT starts in, as the CLI names them (`--sim-provisioning`,
 * `--sim-amt-version`). No other import, so that a command can check its flags without loading
 * the simulator.
 */

/** The provisioning a simulated AMT starts in: AMTHI's state and control mode. */
export const SIM_PROVISIONING = {
  pre: { provisioningState: 0, controlMode: 0 },
  ccm: { provisioningState: 2, controlMode: 1 },
  acm: { provisioningState: 2, controlMode: 2 },
} as const;
export type SimProvisioning = keyof typeof SIM_PROVISIONING;
export const isSimProvisioning = (v: string): v is SimProvisioning => v in SIM_PROVISIONING;

/** A version as AMT writes it (major.minor.hotfix) from `16.1` or `16.1.30`, or undefined for one that is not. */
export const simAmtVersion = (v: string): string | undefined =>
  /^\d{1,2}\.\d{1,2}(\.\d{1,5})?$/.test(v) ? (v.split('.').length === 2 ? `${v}.0` : v) : undefined;

/** Since AMT 19 the ME forwards only the TLS ports (TLS is enforced locally too). */
export const forwardsTlsOnly = (version: string): boolean => Number(version.split('.')[0]) >= 19;
