/*
 * An emulated Linux watchdog device, as the kernel's watchdog core and mei_wdt (AMT's watchdog)
 * present it, on FUSE: one file, MOUNTPOINT/NAME, that answers the watchdog ioctls and the write
 * of the magic close character. Each thing a client does is one line on stdout, for the test to
 * check:
 *   open                        the device was opened (the watchdog starts)
 *   busy                        a second open was refused with EBUSY, as the watchdog core does
 *   getsupport                  WDIOC_GETSUPPORT answered with IDENTITY and OPTIONS
 *   settimeout N                WDIOC_SETTIMEOUT to N seconds (refused with EINVAL outside MIN..MAX)
 *   gettimeout                  WDIOC_GETTIMEOUT
 *   keepalive MS                WDIOC_KEEPALIVE, MS milliseconds after the previous ping (or open)
 *   expired MS                  a ping came MS ms after the previous one, later than the timeout:
 *                               the real watchdog would have fired
 *   write V | write X           the client wrote (V: the magic close character)
 *   release stopped | release still-armed
 *                               the client closed: the watchdog stops on close unless the device
 *                               has WDIOF_MAGICCLOSE and no V was written (then it would fire)
 *   ioctl 0xCMD                 an ioctl this device does not know (answered ENOTTY)
 * usage: wdt_emu MOUNTPOINT NAME IDENTITY OPTIONS MIN MAX
 */
#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* <linux/watchdog.h>: the ioctl numbers and struct watchdog_info, written out as the kernel's UAPI has them. */
struct watchdog_info {
  uint32_t options;
  uint32_t firmware_version;
  uint8_t identity[32];
};
#define WDIOC_GETSUPPORT 0x80285700u /* _IOR('W', 0, struct watchdog_info) */
#define WDIOC_KEEPALIVE 0x80045705u  /* _IOR('W', 5, int) */
#define WDIOC_SETTIMEOUT 0xc0045706u /* _IOWR('W', 6, int) */
#define WDIOC_GETTIMEOUT 0x80045707u /* _IOR('W', 7, int) */
#define WDIOF_MAGICCLOSE 0x0100u

#define INO_DEV 2
static const char *name;
static const char *identity;
static uint32_t options;
static int min_timeout, max_timeout;
static int timeout_s = 120;
static int opened;
static int magic;
static long long last_ms;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fill_attr(fuse_ino_t ino, struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_ino = ino;
  st->st_nlink = ino == FUSE_ROOT_ID ? 2 : 1;
  st->st_mode = ino == FUSE_ROOT_ID ? (S_IFDIR | 0755) : (S_IFREG | 0600);
}

static void wd_lookup(fuse_req_t req, fuse_ino_t parent, const char *n) {
  struct fuse_entry_param e;
  memset(&e, 0, sizeof e);
  if (parent != FUSE_ROOT_ID || strcmp(n, name) != 0) return (void)fuse_reply_err(req, ENOENT);
  e.ino = INO_DEV;
  fill_attr(e.ino, &e.attr);
  fuse_reply_entry(req, &e);
}

static void wd_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)fi;
  struct stat st;
  if (ino != FUSE_ROOT_ID && ino != INO_DEV) return (void)fuse_reply_err(req, ENOENT);
  fill_attr(ino, &st);
  fuse_reply_attr(req, &st, 0);
}

static void wd_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  if (ino != INO_DEV) return (void)fuse_reply_err(req, EISDIR);
  if (opened) {
    printf("busy\n");
    return (void)fuse_reply_err(req, EBUSY);
  }
  opened = 1;
  magic = 0;
  last_ms = now_ms();
  fi->direct_io = 1;
  fi->nonseekable = 1;
  printf("open\n");
  fuse_reply_open(req, fi);
}

static void wd_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  (void)fi;
  opened = 0;
  printf("release %s\n", (options & WDIOF_MAGICCLOSE) && !magic ? "still-armed" : "stopped");
  fuse_reply_err(req, 0);
}

static void wd_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)ino;
  (void)off;
  (void)fi;
  /* The watchdog core: a write is a ping, and a V among its bytes allows the next close to stop it. */
  magic = memchr(buf, 'V', size) != NULL;
  printf("write %s\n", magic ? "V" : "X");
  last_ms = now_ms();
  fuse_reply_write(req, size);
}

static void ping(void) {
  long long t = now_ms();
  long long gap = t - last_ms;
  if (gap > (long long)timeout_s * 1000) printf("expired %lld\n", gap);
  printf("keepalive %lld\n", gap);
  last_ms = t;
}

static void wd_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg, struct fuse_file_info *fi, unsigned flags, const void *in_buf,
                     size_t in_bufsz, size_t out_bufsz) {
  (void)ino;
  (void)arg;
  (void)fi;
  (void)flags;
  (void)out_bufsz;
  int value = 0;
  switch (cmd) {
  case WDIOC_GETSUPPORT: {
    struct watchdog_info info;
    memset(&info, 0, sizeof info);
    info.options = options;
    strncpy((char *)info.identity, identity, sizeof info.identity - 1);
    printf("getsupport\n");
    return (void)fuse_reply_ioctl(req, 0, &info, sizeof info);
  }
  case WDIOC_KEEPALIVE:
    ping();
    return (void)fuse_reply_ioctl(req, 0, &value, sizeof value);
  case WDIOC_SETTIMEOUT:
    if (in_bufsz < sizeof value) return (void)fuse_reply_err(req, EFAULT);
    memcpy(&value, in_buf, sizeof value);
    printf("settimeout %d\n", value);
    if (value < min_timeout || value > max_timeout) return (void)fuse_reply_err(req, EINVAL);
    timeout_s = value;
    ping(); /* the core pings when the timeout is set */
    return (void)fuse_reply_ioctl(req, 0, &timeout_s, sizeof timeout_s);
  case WDIOC_GETTIMEOUT:
    printf("gettimeout\n");
    return (void)fuse_reply_ioctl(req, 0, &timeout_s, sizeof timeout_s);
  default:
    printf("ioctl 0x%x\n", cmd);
    return (void)fuse_reply_err(req, ENOTTY);
  }
}

static void wd_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)fi;
  if (ino != FUSE_ROOT_ID) return (void)fuse_reply_err(req, ENOTDIR);
  char buf[512];
  size_t used = 0;
  struct stat st;
  const char *names[] = {".", "..", name};
  const fuse_ino_t inos[] = {FUSE_ROOT_ID, FUSE_ROOT_ID, INO_DEV};
  for (off_t i = off; i < 3; i++) {
    fill_attr(inos[i], &st);
    size_t n = fuse_add_direntry(req, buf + used, sizeof buf - used, names[i], &st, i + 1);
    if (used + n > sizeof buf || used + n > size) break;
    used += n;
  }
  fuse_reply_buf(req, buf, used);
}

static const struct fuse_lowlevel_ops ops = {
    .lookup = wd_lookup,
    .getattr = wd_getattr,
    .open = wd_open,
    .release = wd_release,
    .write = wd_write,
    .ioctl = wd_ioctl,
    .readdir = wd_readdir,
};

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: wdt_emu MOUNTPOINT NAME IDENTITY OPTIONS MIN MAX\n");
    return 2;
  }
  name = argv[2];
  identity = argv[3];
  options = (uint32_t)strtoul(argv[4], NULL, 0);
  min_timeout = atoi(argv[5]);
  max_timeout = atoi(argv[6]);
  setvbuf(stdout, NULL, _IOLBF, 0);
  char *fargv[] = {argv[0], "-o", "allow_other", NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
  struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, NULL);
  if (!se || fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, argv[1]) != 0) {
    fprintf(stderr, "wdt_emu: cannot mount on %s\n", argv[1]);
    return 2;
  }
  fprintf(stderr, "wdt_emu: ready on %s/%s\n", argv[1], name);
  int status = fuse_session_loop(se);
  fuse_remove_signal_handlers(se);
  fuse_session_unmount(se);
  fuse_session_destroy(se);
  return status < 0 ? 1 : 0;
}
