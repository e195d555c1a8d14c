/** fast-check arbitraries for every APF message, for round-trip and fuzz tests. */
import fc from 'fast-check';
import type { ApfMessage, Uint32 } from 'lms-rx/apf';

const KNOWN_REQUESTS = ['tcpip-forward', 'cancel-tcpip-forward', 'udp-send-to@amt.intel.com'];
const u32 = fc.nat({ max: 0xffffffff }).map((n) => n as Uint32);
const name = fc.string({ maxLength: 40 }).map((s) => Buffer.from(s, 'utf8').subarray(0, 60).toString('latin1'));
const bytes = (maxLength = 64) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));
const address = fc.oneof(fc.constantFrom('127.0.0.1', '::1', '', '0.0.0.0', '::'), name);

const anyMessage: fc.Arbitrary<ApfMessage> = fc.oneof(
  fc.record({ type: fc.constant('disconnect' as const), reason: u32, reserved: fc.nat({ max: 0xffff }) }),
  fc.record({ type: fc.constant('service-request' as const), service: name }),
  fc.record({ type: fc.constant('service-accept' as const), service: name }),
  fc.record({ type: fc.constant('userauth-request' as const), user: name, service: name, method: fc.constant('none' as const) }),
  fc.record({
    type: fc.constant('userauth-request' as const),
    user: name,
    service: name,
    method: fc.constant('password' as const),
    password: name,
  }),
  fc.record({
    type: fc.constant('userauth-request' as const),
    user: name,
    service: name,
    method: fc.constant('unknown' as const),
    name: name.filter((n) => n !== 'none' && n !== 'password'),
    data: bytes(),
  }),
  fc.record({ type: fc.constant('userauth-failure' as const), methods: name, partialSuccess: fc.boolean() }),
  fc.constant({ type: 'userauth-success' as const }),
  fc.record({
    type: fc.constant('global-request' as const),
    request: fc.constantFrom('tcpip-forward' as const, 'cancel-tcpip-forward' as const),
    wantReply: fc.boolean(),
    address,
    port: u32,
  }),
  fc.record({
    type: fc.constant('global-request' as const),
    request: fc.constant('udp-send-to@amt.intel.com' as const),
    wantReply: fc.boolean(),
    address,
    port: u32,
    originatorAddress: address,
    originatorPort: u32,
    data: bytes(),
  }),
  fc.record({
    type: fc.constant('global-request' as const),
    request: fc.constant('unknown' as const),
    name: name.filter((n) => !KNOWN_REQUESTS.includes(n)),
    wantReply: fc.boolean(),
    data: bytes(),
  }),
  fc.constant({ type: 'request-success' as const }),
  fc.record({ type: fc.constant('request-success' as const), port: u32 }),
  fc.constant({ type: 'request-failure' as const }),
  fc.record({
    type: fc.constant('channel-open' as const),
    channelType: fc.constantFrom('forwarded-tcpip' as const, 'direct-tcpip' as const),
    sender: u32,
    window: u32,
    reserved: u32,
    address,
    port: u32,
    originatorAddress: address,
    originatorPort: u32,
  }),
  fc.record({
    type: fc.constant('channel-open' as const),
    channelType: fc.constant('unknown' as const),
    name: name.filter((n) => n !== 'forwarded-tcpip' && n !== 'direct-tcpip'),
    sender: u32,
    window: u32,
    reserved: u32,
    data: bytes(),
  }),
  fc.record({ type: fc.constant('channel-open-confirmation' as const), recipient: u32, sender: u32, window: u32, reserved: u32 }),
  fc.record({ type: fc.constant('channel-open-failure' as const), recipient: u32, reason: u32, reserved1: u32, reserved2: u32 }),
  fc.record({ type: fc.constant('channel-window-adjust' as const), recipient: u32, bytesToAdd: u32 }),
  fc.record({ type: fc.constant('channel-data' as const), recipient: u32, data: bytes(5000) }),
  fc.record({ type: fc.constant('channel-close' as const), recipient: u32 }),
  fc.record({
    type: fc.constant('protocol-version' as const),
    major: u32,
    minor: u32,
    triggerReason: u32,
    uuid: fc.uuid(),
    reserved: fc.uint8Array({ minLength: 64, maxLength: 64 }).map((a) => Buffer.from(a)),
  }),
  fc.record({ type: fc.constant('keepalive-request' as const), cookie: u32 }),
  fc.record({ type: fc.constant('keepalive-reply' as const), cookie: u32 }),
  fc.record({ type: fc.constant('keepalive-options-request' as const), interval: u32, timeout: u32 }),
  fc.record({ type: fc.constant('keepalive-options-reply' as const), interval: u32, timeout: u32 }),
);

// fc.record builds null-prototype objects; the decoder builds plain ones.
export const apfMessage: fc.Arbitrary<ApfMessage> = anyMessage.map((m) => ({ ...m }));
