/*
 * mei_emu: an emulated /dev/mei0 on FUSE (libfuse3 low-level API), for tests and benchmarks.
 *
 * It behaves like the kernel's mei driver as far as a client can see: IOCTL_MEI_CONNECT_CLIENT by
 * GUID (16 bytes in, max_msg_length u32 LE + protocol_version u8 out), one message per read and
 * per write, EFBIG over the MTU, ENOTTY for an unknown client or ioctl, EBUSY for a second connect
 * on one handle, ENODEV on every handle after an ME reset, EAGAIN for an O_NONBLOCK read with
 * nothing queued, EINTR when a blocked reader is interrupted, and poll (POLLIN, POLLOUT, POLLERR).
 *
 * The ME itself is not here: each handle's connect, writes and close go over a Unix socket to a
 * Node process that runs the project's simulated ME, and its messages come back the same way.
 * The connect ioctl is answered here, without a round trip, because the client may be the same
 * Node process, blocked in that ioctl. Frames: u32 LE length (of type + payload), u8 type,
 * handle u32, payload.
 *   to Node:   'C' handle, client u8         a handle connected to that client (its index in 'S')
 *              'W' handle, bytes             a message written by the client
 *              'X' handle                    the handle was released
 *   from Node: 'S' 0, count u8, count x {guid[16], max_msg_length u32, protocol_version u8,
 *                                            connect errno u32}: the ME clients (first frame)
 *              'M' handle, bytes             a message for the client to read
 *              'D' handle                    that handle's ME connection is gone (reset): ENODEV
 *
 * Files: MNT/mei0 (the device) and MNT/control (write "reset" to reset every handle; "tx-full" and
 * "tx-room" to take the driver's room for writes away and give it back).
 * Usage: mei_emu MOUNTPOINT SOCKET. SIGTERM or SIGINT: every handle reset, then unmount.
 *
 * FOPEN_STREAM: the node is a regular file, and Linux serialises read() and write() on a shared
 * regular-file fd; the stream flag (FOPEN_STREAM: the value 16, bit 4) lifts that. libfuse 3.14 has
 * no field for it, so the server's replies go through fuse_session_custom_io(), whose writev sets
 * the flag in OPEN replies.
 */
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define INO_DEV 2
#define INO_CONTROL 3
#define IOCTL_MEI_CONNECT_CLIENT 0xC0104801u
#define FOPEN_STREAM_BIT (1u << 4) /* FOPEN_STREAM in <linux/fuse.h>: the value 16 */

struct msg {
  struct msg *next;
  size_t len, off;
  unsigned char data[];
};

struct handle {
  uint32_t id;
  int connected, dead, flags;
  uint32_t max_msg;
  struct msg *head, *tail;
  fuse_req_t reader; /* a blocked read waiting for a message */
  size_t reader_size;
  struct fuse_pollhandle *ph;
  struct handle *next;
};

static struct handle *handles;
static uint32_t next_id = 1;
/* "tx-full" on the control file: the driver has no room for writes (O_NONBLOCK writes get EAGAIN,
 * poll reports no POLLOUT) until "tx-room", which wakes the pollers, as the driver does when the
 * ME's flow control lets writes go again. */
static int tx_full;
static int me_fd = -1;
static struct fuse_session *session;
static uint64_t opening_fh; /* the fh of the OPEN reply being written, for FOPEN_STREAM */
/* The ME clients this device serves, as the 'S' frame sets them. */
#define MAX_CLIENTS 4
struct client {
  unsigned char guid[16];
  uint32_t max_msg, connect_errno;
  unsigned char version;
};
static struct client clients[MAX_CLIENTS];
static int client_count;
static int configured;

/* ---- the socket to the simulated ME -------------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t len) {
  const unsigned char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int read_all(int fd, void *buf, size_t len) {
  unsigned char *p = buf;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static void send_frame(char type, uint32_t id, const void *payload, size_t len) {
  unsigned char head[9];
  uint32_t total = (uint32_t)(1 + 4 + len);
  memcpy(head, &total, 4);
  head[4] = (unsigned char)type;
  memcpy(head + 5, &id, 4);
  if (write_all(me_fd, head, 9) < 0 || (len > 0 && write_all(me_fd, payload, len) < 0)) {
    fprintf(stderr, "mei_emu: lost the simulated ME\n");
    exit(2);
  }
}

static struct handle *find(uint32_t id) {
  for (struct handle *h = handles; h; h = h->next)
    if (h->id == id) return h;
  return NULL;
}

static void wake_poll(struct handle *h) {
  if (h->ph) {
    fuse_lowlevel_notify_poll(h->ph);
    fuse_pollhandle_destroy(h->ph);
    h->ph = NULL;
  }
}

static void free_queue(struct handle *h) {
  while (h->head) {
    struct msg *m = h->head;
    h->head = m->next;
    free(m);
  }
  h->tail = NULL;
}

/* Answers a read with the head message (the rest of it if it is longer than the read). */
static void answer_read(struct handle *h, fuse_req_t req, size_t size) {
  struct msg *m = h->head;
  size_t n = m->len - m->off;
  if (n > size) n = size;
  fuse_reply_buf(req, (const char *)m->data + m->off, n);
  m->off += n;
  if (m->off == m->len) {
    h->head = m->next;
    if (!h->head) h->tail = NULL;
    free(m);
  }
}

static void kill_handle(struct handle *h) {
  h->dead = 1;
  h->connected = 0;
  free_queue(h);
  if (h->reader) {
    fuse_reply_err(h->reader, ENODEV);
    h->reader = NULL;
  }
  wake_poll(h);
}

static void reset_all(void) {
  for (struct handle *h = handles; h; h = h->next)
    if (h->connected) kill_handle(h);
}

/* Reads one frame from the ME socket and acts on it. Returns the type, or -1 when the socket closed. */
static int handle_frame(void) {
  uint32_t total;
  if (read_all(me_fd, &total, 4) < 0 || total < 5) return -1;
  unsigned char *buf = malloc(total);
  if (!buf || read_all(me_fd, buf, total) < 0) return -1;
  char type = (char)buf[0];
  uint32_t id;
  memcpy(&id, buf + 1, 4);
  struct handle *h = find(id);
  size_t len = total - 5;
  if (type == 'M' && h && h->connected && !h->dead) {
    struct msg *m = malloc(sizeof *m + len);
    m->next = NULL;
    m->len = len;
    m->off = 0;
    memcpy(m->data, buf + 5, len);
    if (h->tail) h->tail->next = m; else h->head = m;
    h->tail = m;
    if (h->reader) {
      fuse_req_t r = h->reader;
      h->reader = NULL;
      answer_read(h, r, h->reader_size);
    }
    wake_poll(h);
  } else if (type == 'D' && h) {
    kill_handle(h);
  } else if (type == 'S' && len >= 1) {
    int count = buf[5];
    if (count > MAX_CLIENTS || len < 1 + (size_t)count * 25) count = 0;
    for (int i = 0; i < count; i++) {
      const unsigned char *e = buf + 6 + i * 25;
      memcpy(clients[i].guid, e, 16);
      memcpy(&clients[i].max_msg, e + 16, 4);
      clients[i].version = e[20];
      memcpy(&clients[i].connect_errno, e + 21, 4);
    }
    client_count = count;
    configured = 1;
  }
  free(buf);
  return type;
}

/* ---- the file system ------------------------------------------------------------------------ */

static void fill_attr(fuse_ino_t ino, struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_ino = ino;
  st->st_nlink = 1;
  if (ino == FUSE_ROOT_ID) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
  } else {
    st->st_mode = S_IFREG | (ino == INO_DEV ? 0666 : 0600);
  }
}

static void emu_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  struct fuse_entry_param e;
  memset(&e, 0, sizeof e);
  if (parent != FUSE_ROOT_ID) return (void)fuse_reply_err(req, ENOENT);
  if (strcmp(name, "mei0") == 0) e.ino = INO_DEV;
  else if (strcmp(name, "control") == 0) e.ino = INO_CONTROL;
  else return (void)fuse_reply_err(req, ENOENT);
  fill_attr(e.ino, &e.attr);
  fuse_reply_entry(req, &e);
}

static void emu_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)fi;
  struct stat st;
  if (ino != FUSE_ROOT_ID && ino != INO_DEV && ino != INO_CONTROL) return (void)fuse_reply_err(req, ENOENT);
  fill_attr(ino, &st);
  fuse_reply_attr(req, &st, 0);
}

static void emu_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  fi->direct_io = 1;
  fi->nonseekable = 1;
  fi->noflush = 1;
  fi->keep_cache = 0;
  if (ino == INO_DEV) {
    struct handle *h = calloc(1, sizeof *h);
    h->id = next_id++;
    h->flags = fi->flags;
    h->next = handles;
    handles = h;
    fi->fh = (uint64_t)(uintptr_t)h;
  } else {
    fi->fh = 0;
  }
  opening_fh = fi->fh;
  fuse_reply_open(req, fi);
  opening_fh = 0;
}

static void emu_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  if (h) {
    if (h->connected) send_frame('X', h->id, NULL, 0);
    kill_handle(h);
    for (struct handle **p = &handles; *p; p = &(*p)->next)
      if (*p == h) {
        *p = h->next;
        break;
      }
    free(h);
  }
  fuse_reply_err(req, 0);
}

static void on_interrupt(fuse_req_t req, void *data) {
  struct handle *h = data;
  if (h->reader == req) {
    h->reader = NULL;
    fuse_reply_err(req, EINTR);
  }
}

static void emu_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)off;
  if (ino == INO_CONTROL) return (void)fuse_reply_buf(req, NULL, 0);
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  if (h->dead || !h->connected) return (void)fuse_reply_err(req, ENODEV);
  if (h->head) return answer_read(h, req, size);
  if ((fi->flags | h->flags) & O_NONBLOCK) return (void)fuse_reply_err(req, EAGAIN);
  if (h->reader) return (void)fuse_reply_err(req, EBUSY);
  h->reader = req;
  h->reader_size = size;
  fuse_req_interrupt_func(req, on_interrupt, h);
}

static void emu_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)off;
  if (ino == INO_CONTROL) {
    if (size >= 5 && strncmp(buf, "reset", 5) == 0) {
      for (struct handle *h = handles; h; h = h->next)
        if (h->connected) {
          send_frame('X', h->id, NULL, 0);
          kill_handle(h);
        }
    } else if (size >= 7 && strncmp(buf, "tx-full", 7) == 0) {
      tx_full = 1;
    } else if (size >= 7 && strncmp(buf, "tx-room", 7) == 0) {
      tx_full = 0;
      for (struct handle *h = handles; h; h = h->next) wake_poll(h);
    }
    return (void)fuse_reply_write(req, size);
  }
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  if (h->dead || !h->connected) return (void)fuse_reply_err(req, ENODEV);
  if (size > h->max_msg) return (void)fuse_reply_err(req, EFBIG);
  if (tx_full && ((fi->flags | h->flags) & O_NONBLOCK)) return (void)fuse_reply_err(req, EAGAIN);
  send_frame('W', h->id, buf, size);
  fuse_reply_write(req, size);
}

static void emu_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg, struct fuse_file_info *fi, unsigned flags,
                      const void *in_buf, size_t in_bufsz, size_t out_bufsz) {
  (void)arg;
  (void)flags;
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  if (ino != INO_DEV || cmd != IOCTL_MEI_CONNECT_CLIENT || in_bufsz < 16 || out_bufsz < 16) return (void)fuse_reply_err(req, ENOTTY);
  if (h->dead) return (void)fuse_reply_err(req, ENODEV);
  if (h->connected) return (void)fuse_reply_err(req, EBUSY);
  int c = 0;
  while (c < client_count && memcmp(in_buf, clients[c].guid, 16) != 0) c++;
  if (c == client_count) return (void)fuse_reply_err(req, ENOTTY); /* no such ME client */
  if (clients[c].connect_errno != 0) return (void)fuse_reply_err(req, (int)clients[c].connect_errno);
  h->connected = 1;
  h->max_msg = clients[c].max_msg;
  unsigned char index = (unsigned char)c;
  send_frame('C', h->id, &index, 1);
  unsigned char out[16] = {0};
  memcpy(out, &clients[c].max_msg, 4);
  out[4] = clients[c].version;
  fuse_reply_ioctl(req, 0, out, 16);
}

static void emu_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct fuse_pollhandle *ph) {
  if (ino != INO_DEV) {
    if (ph) fuse_pollhandle_destroy(ph);
    return (void)fuse_reply_poll(req, POLLIN | POLLOUT);
  }
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  unsigned revents = 0;
  if (h->dead || !h->connected) revents = POLLERR | POLLHUP;
  else {
    revents = tx_full ? 0 : POLLOUT | POLLWRNORM;
    if (h->head) revents |= POLLIN | POLLRDNORM;
  }
  if (ph) {
    if (h->ph) fuse_pollhandle_destroy(h->ph);
    h->ph = ph;
  }
  fuse_reply_poll(req, revents);
}

static void emu_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)fi;
  if (ino != FUSE_ROOT_ID) return (void)fuse_reply_err(req, ENOTDIR);
  char buf[512];
  size_t used = 0;
  const char *names[] = {".", "..", "mei0", "control"};
  fuse_ino_t inos[] = {FUSE_ROOT_ID, FUSE_ROOT_ID, INO_DEV, INO_CONTROL};
  for (off_t i = off; i < 4; i++) {
    struct stat st;
    fill_attr(inos[i], &st);
    size_t n = fuse_add_direntry(req, buf + used, sizeof buf - used, names[i], &st, i + 1);
    if (used + n > size || used + n > sizeof buf) break;
    used += n;
  }
  fuse_reply_buf(req, buf, used);
}

/* ---- replies: FOPEN_STREAM on OPEN -------------------------------------------------------- */

static ssize_t emu_writev(int fd, struct iovec *iov, int count, void *userdata) {
  (void)userdata;
  /* An OPEN reply is a 16-byte out header plus fuse_open_out {fh u64, open_flags u32, padding u32}. */
  if (opening_fh != 0 && count == 2 && iov[1].iov_len == 16) {
    unsigned char *body = iov[1].iov_base;
    uint64_t fh;
    memcpy(&fh, body, 8);
    if (fh == opening_fh) {
      uint32_t open_flags;
      memcpy(&open_flags, body + 8, 4);
      open_flags |= FOPEN_STREAM_BIT;
      memcpy(body + 8, &open_flags, 4);
    }
  }
  return writev(fd, iov, count);
}

static ssize_t emu_readfd(int fd, void *buf, size_t len, void *userdata) {
  (void)userdata;
  return read(fd, buf, len);
}

static const struct fuse_lowlevel_ops ops = {
    .lookup = emu_lookup,
    .getattr = emu_getattr,
    .open = emu_open,
    .release = emu_release,
    .read = emu_read,
    .write = emu_write,
    .ioctl = emu_ioctl,
    .poll = emu_poll,
    .readdir = emu_readdir,
};

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: mei_emu MOUNTPOINT SOCKET\n");
    return 2;
  }
  me_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strncpy(sa.sun_path, argv[2], sizeof sa.sun_path - 1);
  if (connect(me_fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    perror("mei_emu: connect to the simulated ME");
    return 2;
  }
  while (!configured) /* the client this device serves comes first */
    if (handle_frame() < 0) {
      fprintf(stderr, "mei_emu: the simulated ME sent no configuration\n");
      return 2;
    }

  char *fargv[] = {argv[0], "-o", "allow_other", NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
  session = fuse_session_new(&args, &ops, sizeof ops, NULL);
  if (!session || fuse_session_mount(session, argv[1]) != 0) {
    fprintf(stderr, "mei_emu: cannot mount on %s\n", argv[1]);
    return 2;
  }
  int fuse_fd = fuse_session_fd(session);
  const struct fuse_custom_io io = {.writev = emu_writev, .read = emu_readfd};
  if (fuse_session_custom_io(session, &io, fuse_fd) != 0) {
    fprintf(stderr, "mei_emu: custom io refused\n");
    return 2;
  }

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
  signal(SIGPIPE, SIG_IGN);

  fprintf(stderr, "mei_emu: ready on %s\n", argv[1]);
  struct fuse_buf fbuf = {.mem = NULL};
  int status = 0;
  for (;;) {
    struct pollfd p[3] = {{fuse_fd, POLLIN, 0}, {me_fd, POLLIN, 0}, {sig_fd, POLLIN, 0}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[2].revents) break; /* SIGTERM/SIGINT */
    if (p[1].revents) {
      if (handle_frame() < 0) {
        status = 1; /* the simulated ME went away: nothing left to emulate */
        break;
      }
    }
    if (p[0].revents) {
      int n = fuse_session_receive_buf(session, &fbuf);
      if (n == -EINTR || n == -EAGAIN) continue;
      if (n <= 0) break;
      fuse_session_process_buf(session, &fbuf);
    }
    if (fuse_session_exited(session)) break;
  }
  reset_all();
  fuse_session_unmount(session);
  fuse_session_destroy(session);
  free(fbuf.mem);
  return status;
}
