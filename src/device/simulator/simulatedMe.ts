/**
 * The simulated Management Engine, as a MeDevice: the LMS uses it exactly as it uses /dev/mei0.
 * This file is the device and the fault API that tests and the CLI use; the engine's real-time
 * driver (engineDriver.ts), the connection (simulatedConnection.ts) and the AMTHI and MKHI
 * clients (requestReplyClient.ts) are parts of their own.
 */
import { randomBytes } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { decodeApf } from '../../codecs/decode.js';
import { describeDecodeError } from '../../codecs/errors.js';
import { DisconnectReason } from '../../codecs/opcodes.js';
import { DeviceError, type MeConnection, type MeDevice } from '../transport.js';
import { answerAmthi, answerMkhi, defaultAmthiProfile, type AmthiProfile, type AmthiState } from './amthiService.js';
import { md5 } from '../../wsman/digest.js';
import { CIRA_ALERT, createAmtModel, newRealm, type AmtModel } from './amt/model.js';
import { loadAmtState, saveAmtState } from './amt/stateFile.js';
import { EngineDriver } from './engineDriver.js';
import { createMeEngine, type MeEngine } from './meEngine.js';
import { defaultMeEngineOptions, emptyStats, type MeEngineOptions, type MeStats } from './meTypes.js';
import { requestReplyClient } from './requestReplyClient.js';
import { SimulatedConnection, type ConnectionPeer } from './simulatedConnection.js';
import { alertRequest } from './wsman.js';

/** The engine's options, and AMT's identity, version and quirks. */
export interface SimulatedMeOptions extends Partial<MeEngineOptions> {
  readonly amtVersion?: string;
  readonly user?: string;
  readonly password?: string;
  /** The LME client's protocol version reported at connect (4 or more serves APF). */
  readonly clientVersion?: number;
  /** Hold each WINDOW_ADJUST this long (a slow ME). */
  readonly adjustDelayMs?: number;
  /** Ports that serve HTTP; the other forwarded ports echo. Default 16992 and 16993. */
  readonly httpPorts?: readonly number[];
  /** What the AMTHI client answers (`lms info`); `false`: no AMTHI client, as on a platform without AMT. */
  readonly amthi?: Partial<AmthiProfile> | false;
  /** Ports whose HTTP service speaks TLS, with a self-signed certificate made at start (default 16993 in the tls and both profiles). */
  readonly tlsPorts?: readonly number[];
  /** AMT's clock ahead of the host's by this many seconds (behind when negative). */
  readonly clockSkewS?: number;
  /** AMT_TimeSynchronizationService.LocalTimeSyncEnabled: 2 forbids the OS to set AMT's clock. */
  readonly localTimeSyncEnabled?: 0 | 1 | 2;
  /** Where the simulated AMT keeps its realm and what tools changed (an activation), across restarts. */
  readonly stateFile?: string;
  /** SHA-256 fingerprints (hex) of the root certificates AMT trusts for admin control mode. */
  readonly trustedRootHashes?: readonly string[];
  /** AMT set up for CIRA: an MPS, a periodic and a user-initiated policy, outside the enterprise and connected. */
  readonly cira?: boolean;
}

/** A self-signed certificate as AMT makes its own, for the TLS port. */
const selfSignedContext = async (amtVersion: string): Promise<SecureContext> => {
  // A CommonJS module: its functions are named exports under Node, and `default` in the bundle.
  const mod = (await import('selfsigned')) as typeof import('selfsigned') & { default?: typeof import('selfsigned') };
  const generate = mod.generate ?? mod.default!.generate;
  const pems = await generate([{ name: 'commonName', value: `Intel(R) AMT ${amtVersion}` }], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + 365 * 86_400_000),
  });
  return createSecureContext({ key: pems.private, cert: pems.cert });
};

/** A simulated ME as a device: APF with AMT's HTTP service behind its ports, AMTHI and MKHI, and faults to inject. */
export class SimulatedMe implements MeDevice {
  readonly description = 'simulated ME';
  readonly stats: MeStats = emptyStats();
  /** The engine's options at start (`slowWindow` changes the window of later channels). */
  readonly options: MeEngineOptions;
  readonly amtVersion: string;
  readonly user: string;
  readonly password: string;
  /** The last lines the engine logged, newest last (for tests and `--log-level debug`). */
  readonly log: string[] = [];
  /** What the AMTHI client was told (the host's FQDN, each time), and the model it reports. */
  readonly amthiState: AmthiState;
  /** The simulated AMT: provisioning, settings, clock, power, the WS-Man calls it took (amt/model.ts). */
  readonly amt: AmtModel;
  /** AMT's local system account, which its WS-Man service accepts besides the admin account. */
  readonly localAccount = { user: '$$OsAdmin', password: randomBytes(12).toString('base64url') };
  private readonly engine: MeEngine;
  private readonly driver: EngineDriver;
  private readonly clientVersion: number;
  private readonly amthiProfile: AmthiProfile | undefined;
  private downUntil = 0;
  /** AMT's self-signed certificate, made when its TLS port is first used. */
  private certificate: Promise<SecureContext> | undefined;
  /** What the host's connection reports back. */
  private readonly peer: ConnectionPeer = {
    receive: (bytes) => {
      const decoded = decodeApf(bytes);
      this.driver.run(
        decoded._tag === 'Left' ? { kind: 'host-malformed', detail: describeDecodeError(decoded.left) } : { kind: 'host', message: decoded.right },
      );
    },
    mtuViolation: (size) => {
      this.stats.mtuViolations++;
      this.note(`host wrote ${size} bytes, over max_msg_length ${this.options.maxMsgLength} (EFBIG)`);
    },
    closed: (connection) => {
      if (this.driver.connection !== connection) return;
      this.driver.connection = undefined;
      this.driver.detachServices();
    },
  };

  constructor(options: SimulatedMeOptions = {}) {
    const {
      amtVersion,
      user,
      password,
      clientVersion,
      adjustDelayMs,
      httpPorts,
      amthi,
      clockSkewS,
      localTimeSyncEnabled,
      tlsPorts,
      stateFile,
      trustedRootHashes,
      cira,
      ...engine
    } = options;
    this.options = { ...defaultMeEngineOptions, ...engine };
    this.amtVersion = amtVersion ?? '16.1.30';
    this.user = user ?? 'admin';
    this.password = password ?? 'P@ssw0rd';
    this.clientVersion = clientVersion ?? 4;
    this.engine = createMeEngine(this.options, this.stats);
    const profile = { ...defaultAmthiProfile(this.amtVersion, this.options.uuid), localAccount: this.localAccount, ...(amthi || {}) };
    this.amthiProfile = amthi === false ? undefined : profile;
    // One model behind AMTHI and WS-Man: an activation over WS-Man is what AMTHI reports next.
    const saved = stateFile ? loadAmtState(stateFile) : undefined;
    const realm = saved?.realm ?? newRealm();
    this.amt = createAmtModel(
      {
        version: this.amtVersion,
        uuid: this.options.uuid,
        bios: profile.bios,
        dnsSuffix: profile.dnsSuffix,
        provisioningState: profile.provisioningState,
        controlMode: profile.controlMode,
        mac: profile.wired.mac,
        clockSkewMs: (clockSkewS ?? 0) * 1000,
        localTimeSyncEnabled: localTimeSyncEnabled ?? 0,
        realm,
        adminUser: this.user,
        adminHa1: profile.provisioningState === 2 ? md5(`${this.user}:${realm}:${this.password}`) : undefined,
        ...(cira ? { cira } : {}),
      },
      saved?.persisted,
    );
    for (const h of trustedRootHashes ?? []) this.amt.trustedRootHashes.add(h.replace(/:/g, '').toLowerCase());
    this.amt.alert = (id, args) => this.notify(id, args);
    if (stateFile) this.amt.changed = () => saveAmtState(stateFile, this.amt);
    this.amthiState = { hostFqdns: [], amt: this.amt };
    this.driver = new EngineDriver(this.engine, {
      web: { model: this.amt, localAccount: this.localAccount },
      httpPorts: new Set(httpPorts ?? [16992, 16993]),
      tlsPorts: new Set(tlsPorts ?? (engine.ports === undefined && engine.profile !== undefined && engine.profile !== 'plain' ? [16993] : [])),
      tlsContext: () => (this.certificate ??= selfSignedContext(this.amtVersion)),
      note: (line) => this.note(line),
    });
    this.driver.adjustDelayMs = adjustDelayMs ?? 0;
  }

  connect(): Promise<MeConnection> {
    if (Date.now() < this.downUntil) return Promise.reject(new DeviceError('ENODEV', 'simulated ME is resetting'));
    const current = this.driver.connection;
    if (current && !current.closed) return Promise.reject(new DeviceError('EBUSY', 'the simulated LME client already has a connection'));
    const connection = new SimulatedConnection(this.peer, this.options.maxMsgLength, this.clientVersion);
    this.driver.connection = connection;
    // The ME speaks first, once the host can hear it.
    setImmediate(() => {
      if (this.driver.connection === connection && !connection.closed) this.driver.run({ kind: 'connect' });
    });
    return Promise.resolve(connection);
  }

  /** Does this simulated platform have an AMTHI client (AMT present)? */
  get hasAmthi(): boolean {
    return this.amthiProfile !== undefined;
  }

  /** The simulated AMTHI client, as a device of its own (what `lms info --simulate` opens). */
  amthi(): MeDevice {
    return requestReplyClient('AMTHI', this.amthiProfile, this.options.maxMsgLength, (request, profile) => answerAmthi(request, profile, this.amthiState));
  }

  /** The simulated MKHI client (the firmware version). */
  mkhi(): MeDevice {
    return requestReplyClient('MKHI', this.amthiProfile, this.options.maxMsgLength, answerMkhi);
  }

  // ---- faults --------------------------------------------------------------------------------

  /** An ME reset: reads and writes fail with ENODEV, connects too for `downMs`; the handshake replays after. */
  reset(downMs = 0): void {
    this.downUntil = Date.now() + downMs;
    this.driver.run({ kind: 'reset' });
    this.driver.connection?.fail(new DeviceError('ENODEV', 'ME reset'));
    this.driver.connection = undefined;
  }

  /** CHANNEL_CLOSE for an id that is not open (AMT sends CLOSE(0) after a reset). */
  staleClose(id = 0): void {
    this.driver.run({ kind: 'stale-close', id });
  }

  /** The next `count` CHANNEL_OPENs get OPEN_FAILURE(reason): 1, 2 or 4. */
  failNextOpens(reason: number, count = 1): void {
    this.driver.run({ kind: 'fail-opens', reason, count });
  }

  /** A small advertised window for new channels, and adjusts held back by `adjustDelayMs`. */
  slowWindow(window: number, adjustDelayMs: number): void {
    this.driver.run({ kind: 'set-window', window });
    this.driver.adjustDelayMs = adjustDelayMs;
  }

  /** A message no APF decoder accepts (a CHANNEL_DATA whose length points past its end). */
  sendMalformed(): void {
    this.inject(Buffer.from([94, 0, 0, 0, 1, 0, 0, 0x10, 0]));
  }

  /** Any bytes, delivered to the host as one message: the adversarial mode of hardening tests. */
  inject(bytes: Buffer): void {
    this.driver.connection?.deliver(bytes);
  }

  /** The ME ends the session with DISCONNECT. */
  disconnect(reason: number = DisconnectReason.ByApplication): void {
    this.driver.run({ kind: 'disconnect', reason });
  }

  /** AMT loses its connection to the MPS (the network dropped it, or the MPS went away), and says so (iAMT0058, argument 0). */
  dropCira(): void {
    const r = this.amt.remoteAccess;
    if (r.connection === 0) return;
    r.connection = 0;
    this.amt.alert(CIRA_ALERT, ['0']);
  }

  /** The ME opens a direct-tcpip channel to port 0 and posts an alert on it. */
  notify(messageId = 'iAMT0005', args: readonly string[] = []): void {
    this.postNotification(alertRequest(messageId, args, new Date()));
  }

  /** The ME opens a direct-tcpip channel to port 0 and posts `request` on it as given (a captured alert). */
  postNotification(request: Buffer): void {
    this.driver.run({ kind: 'notify', request });
  }

  // ---- state -----------------------------------------------------------------------------------

  /** Ports the ME forwarded (and the host acknowledged) in the current session. */
  forwardedPorts(): number[] {
    return this.engine.forwardedPorts();
  }

  openChannels(): number {
    return this.engine.openChannels();
  }

  get ready(): boolean {
    return this.engine.phase() === 'ready';
  }

  /** Ends every connection and service. */
  close(): void {
    this.driver.connection?.close();
    this.driver.connection = undefined;
    this.driver.detachServices();
  }

  private note(line: string): void {
    this.log.push(line);
    if (this.log.length > 200) this.log.shift();
  }
}
