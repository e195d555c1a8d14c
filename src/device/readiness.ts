/**
 * Readiness of a file descriptor, from the kernel: the npm package `epoll` (the binding `onoff`
 * uses for GPIO interrupts). Node cannot watch a character device's fd itself (net.Socket takes
 * sockets, pipes and TTYs only). The binding's one thread sleeps in epoll_wait and wakes the event
 * loop through a uv_async handle only when a watched fd is ready: an idle fd costs nothing, and
 * the handle holds the loop open only while an fd is watched.
 */
import { createRequire } from 'node:module';

interface EpollInstance {
  add(fd: number, events: number): void;
  modify(fd: number, events: number): void;
  remove(fd: number): void;
  close(): void;
}
interface EpollModule {
  Epoll: {
    new (callback: (err: Error | null, fd: number, events: number) => void): EpollInstance;
    readonly EPOLLIN: number;
    readonly EPOLLOUT: number;
    readonly EPOLLERR: number;
    readonly EPOLLHUP: number;
    readonly EPOLLET: number;
  };
}

export interface Readiness {
  readonly readable: boolean;
  readonly writable: boolean;
  /** EPOLLERR or EPOLLHUP: for the MEI driver, the client is no longer connected (an ME reset). */
  readonly broken: boolean;
}

export interface FdWatch {
  /** Also report writability (while a write waits for room), or stop doing so. */
  wantWritable(on: boolean): void;
  close(): void;
}

// Loaded on first use: the simulated ME never needs the native binding.
let epoll: EpollModule | undefined;
const load = (): EpollModule => (epoll ??= createRequire(import.meta.url)('epoll') as EpollModule);

/**
 * Calls `onReady` each time `fd` becomes readable, writable (when asked) or broken. Edge-triggered:
 * the caller reads (and writes) until EAGAIN before it expects another call. Level-triggered
 * epoll re-polls a ready fd after every event, and each poll of an emulated device is a FUSE round
 * trip; a real driver's poll is cheap, but there is nothing to gain from the extra one there either.
 */
export const watchFd = (fd: number, onReady: (r: Readiness, err?: Error) => void): FdWatch => {
  const { Epoll } = load();
  const WATCH = Epoll.EPOLLIN | Epoll.EPOLLET;
  let closed = false;
  const poller = new Epoll((err, _fd, events) => {
    if (closed) return;
    if (err) return onReady({ readable: false, writable: false, broken: true }, err);
    onReady({
      readable: (events & Epoll.EPOLLIN) !== 0,
      writable: (events & Epoll.EPOLLOUT) !== 0,
      broken: (events & (Epoll.EPOLLERR | Epoll.EPOLLHUP)) !== 0,
    });
  });
  poller.add(fd, WATCH);
  let writable = false;
  return {
    wantWritable(on) {
      if (closed || on === writable) return;
      writable = on;
      poller.modify(fd, on ? WATCH | Epoll.EPOLLOUT : WATCH);
    },
    close() {
      if (closed) return;
      closed = true;
      poller.remove(fd);
      poller.close();
    },
  };
};
