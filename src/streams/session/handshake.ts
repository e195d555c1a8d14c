/**
 * The session's handshake (docs/apf.md §2.1): PROTOCOLVERSION both ways, exactly once each, then the
 * ME's SERVICE_REQUEST for pfwd (and auth, which is accepted as AMT asks). It owns the session's
 * phase; the other parts read it.
 */
import { protocolVersion, serviceAccept, userauthSuccess, type ApfMessage } from '../../codecs/messages.js';
import { DisconnectReason, Service, TriggerReason } from '../../codecs/opcodes.js';
import type { SessionPhase } from '../sessionTypes.js';
import type { SessionContext } from './context.js';

const OUR_VERSION = protocolVersion(TriggerReason.LmeRequest);
const VERSION = { kind: 'version' } as const;

/**
 * What a handshake step leaves for the session: nothing; the pfwd service was accepted (`ready`:
 * waiting sockets may go); or the session ends with DISCONNECT `reason` (`fatal`: a message the
 * handshake does not allow yet, a protocol violation).
 */
export type HandshakeOutcome =
  | undefined
  | { readonly kind: 'ready' }
  | { readonly kind: 'end'; readonly reason: number; readonly detail: string; readonly fatal: boolean };

const READY = { kind: 'ready' } as const;
const end = (reason: number, detail: string, fatal = false): HandshakeOutcome => ({ kind: 'end', reason, detail, fatal });

export interface Handshake {
  phase(): SessionPhase;
  setPhase(phase: SessionPhase, detail?: string): void;
  connected(): void;
  onProtocolVersion(m: Extract<ApfMessage, { type: 'protocol-version' }>): HandshakeOutcome;
  onServiceRequest(service: string): HandshakeOutcome;
  onUserauthRequest(): HandshakeOutcome;
  /** The ME stayed silent for `versionTimeoutMs`. */
  versionTimeout(): void;
  /** The link is gone: both versions are owed again. */
  reset(): void;
}

export const createHandshake = (ctx: SessionContext): Handshake => {
  let phase: SessionPhase = 'disconnected';
  let versionSent = false;
  let versionReceived = false;

  const setPhase = (p: SessionPhase, detail?: string): void => {
    phase = p;
    ctx.event(detail === undefined ? { type: 'session', phase: p } : { type: 'session', phase: p, detail });
  };

  /** Our version goes out once per link, whoever speaks first. */
  const sendVersion = (): void => {
    if (versionSent) return;
    versionSent = true;
    ctx.send(OUR_VERSION);
  };

  return {
    phase: () => phase,
    setPhase,
    connected() {
      setPhase('awaiting-version');
      ctx.emit({ kind: 'start-timer', key: VERSION, ms: ctx.options.versionTimeoutMs });
    },
    onProtocolVersion(m) {
      ctx.event({ type: 'me-version', major: m.major, minor: m.minor, triggerReason: m.triggerReason, uuid: m.uuid });
      if (versionReceived) {
        ctx.violation('unexpected-message', 'a second PROTOCOLVERSION in one session (ignored)');
        return undefined;
      }
      versionReceived = true;
      if (m.major < 1) return end(DisconnectReason.ProtocolVersionNotSupported, `ME speaks APF ${m.major}.${m.minor}; 1.0 is the oldest supported`);
      ctx.emit({ kind: 'cancel-timer', key: VERSION });
      sendVersion();
      if (phase === 'awaiting-version') setPhase('awaiting-service');
      return undefined;
    },
    onServiceRequest(service) {
      if (!versionReceived) return end(DisconnectReason.ProtocolError, `SERVICE_REQUEST ${service} before PROTOCOLVERSION`, true);
      if (service !== Service.Pfwd && service !== Service.Auth) return end(DisconnectReason.ServiceNotAvailable, `ME asked for unknown service ${service}`);
      ctx.send(serviceAccept(service));
      if (service !== Service.Pfwd || phase === 'ready') return undefined;
      setPhase('ready');
      return READY;
    },
    onUserauthRequest() {
      if (!versionReceived) return end(DisconnectReason.ProtocolError, 'USERAUTH_REQUEST before PROTOCOLVERSION', true);
      ctx.send(userauthSuccess);
      return undefined;
    },
    versionTimeout() {
      // The ME stays silent: speak first (rpc-go does; the ME tolerates it), exactly once.
      if (phase === 'awaiting-version') sendVersion();
    },
    reset() {
      versionSent = false;
      versionReceived = false;
      ctx.emit({ kind: 'cancel-timer', key: VERSION });
    },
  };
};
