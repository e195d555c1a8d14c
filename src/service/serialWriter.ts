/**
 * Messages to the ME, one write at a time and in order: the MEI driver takes whole messages, and
 * two device writes in flight at once could reach the ME swapped. A write that finds nothing in
 * flight starts at once, so the common case (one message per turn, as under a small ME window)
 * costs one device call and no promise hops of its own; on a transport that offers `writeNow`
 * (it completes writes before returning) no promise at all.
 */
import type { MeConnection } from '../device/transport.js';

export interface SerialWriter {
  write(connection: MeConnection, message: Buffer): void;
  /** Resolves once every message written so far has been handed to its device. */
  flushed(): Promise<void>;
}

export const serialWriter = (onError: (err: unknown, connection: MeConnection, message: Buffer) => void): SerialWriter => {
  const queue: { readonly connection: MeConnection; readonly message: Buffer }[] = [];
  let busy = false;
  let waiters: (() => void)[] = [];

  const next = (): void => {
    const item = queue.shift();
    if (!item) {
      busy = false;
      const done = waiters;
      waiters = [];
      for (const w of done) w();
      return;
    }
    busy = true;
    item.connection.write(item.message).then(next, (err: unknown) => {
      onError(err, item.connection, item.message);
      next();
    });
  };

  return {
    write(connection, message) {
      if (!busy && connection.writeNow) {
        try {
          connection.writeNow(message);
        } catch (err) {
          onError(err, connection, message);
        }
        return;
      }
      queue.push({ connection, message });
      if (!busy) next();
    },
    flushed: () => (busy ? new Promise((resolve) => waiters.push(resolve)) : Promise.resolve()),
  };
};
