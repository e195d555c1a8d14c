/** Marble-test helpers: a TestScheduler whose matcher compares Buffers by content. */
import { strict as assert } from 'node:assert';
import { filter, type OperatorFunction } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { encodeApf, type ApfMessage, type ChannelData } from 'lms-rx/apf';
import type { Endpoint } from 'lms-rx';
import type { SessionEffect, SessionInput } from 'lms-rx/session';
import type { HostChannelId } from '../../src/streams/sessionTypes.js';

export const newScheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

/** A message from the ME, as the transport delivers it. */
export const fromMe = (message: ApfMessage): SessionInput => ({ kind: 'message', message, size: encodeApf(message).length });
/** A message the session sends to the ME. */
export const toMe = (message: ApfMessage): SessionEffect => ({ kind: 'send', message });
/** A client's bytes the session sends to the ME on our channel `channel` (the ME's id is in the message). */
export const dataToMe = (channel: number, message: ChannelData): SessionEffect => ({ kind: 'send', message, channel: channel as HostChannelId });
/** The ME's bytes on our channel `channel`, written to `socket`. */
export const writeTo = (socket: number, data: Buffer, channel = socket): SessionEffect => ({ kind: 'write', socket, data, channel: channel as HostChannelId });

export const LOCAL: Endpoint = { address: '127.0.0.1', port: 16992 };
export const peer = (port: number): Endpoint => ({ address: '127.0.0.1', port });
export const accepted = (socket: number, local: Endpoint = LOCAL): SessionInput => ({ kind: 'accepted', socket, local, peer: peer(40000 + socket) });

/** Effects without the observer events, for specs about what goes on the wire and to sockets. */
export const withoutEvents = (): OperatorFunction<SessionEffect, SessionEffect> => filter((e) => e.kind !== 'event');
/** Only the observer events. */
export const eventsOnly = (): OperatorFunction<SessionEffect, SessionEffect> => filter((e) => e.kind === 'event');

export const bytesOf = (n: number, fill = 0x61): Buffer => Buffer.alloc(n, fill);
