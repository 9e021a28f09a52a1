/*
 * Lets the worker start ffmpeg before it knows a job's arguments
 * (worker/src/launcher/prestart.ts). Loaded with LD_PRELOAD, it wraps
 * __libc_start_main: the dynamic linker has loaded and bound ffmpeg's
 * libraries by then (Debian's build: 215 of them, every symbol bound at start,
 * about 60 ms), so that cost is paid while the worker waits for work.
 *
 * Only a process whose whole command line is `<program> WAIT_MARK` waits; any
 * other program started with the variable set (prlimit in front of ffmpeg, a
 * wrapper script) runs as usual. The waiting process says so on stdout
 * (READY_LINE), reads its arguments from stdin as a 4-byte big-endian length
 * and that many bytes of arguments, each ended by a NUL, puts /dev/null in place of
 * stdin, and calls ffmpeg's main with them. Stdin closed first: it exits.
 *
 * Each process is its own exec, so its address-space layout is its own: what
 * a fork server would share across jobs (docs/SECURITY.md) is not.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MARK "--media-foundry-wait-for-argv"
#define READY_LINE "media-foundry-ready\n"
/* more than any command line the worker builds; a larger length is a broken request */
#define MAX_ARGV_BYTES (1u << 20)
/* the exit code of a waiting process that got no usable arguments */
#define NO_ARGV 125

typedef int (*main_fn)(int, char **, char **);
typedef int (*start_fn)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void), void *);

static main_fn program_main;

static int read_fully(int fd, void *buffer, size_t size) {
  char *at = buffer;
  while (size > 0) {
    ssize_t got = read(fd, at, size);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return -1;
    at += got;
    size -= (size_t)got;
  }
  return 0;
}

static int write_fully(int fd, const char *text, size_t size) {
  while (size > 0) {
    ssize_t put = write(fd, text, size);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return -1;
    text += put;
    size -= (size_t)put;
  }
  return 0;
}

/* a waiting process that cannot go on says why (the job's stderr tail) and exits */
static void give_up(const char *why) {
  static const char prefix[] = "media-foundry wait-for-argv: ";
  if (write_fully(STDERR_FILENO, prefix, sizeof prefix - 1) == 0 && write_fully(STDERR_FILENO, why, strlen(why)) == 0)
    (void)write_fully(STDERR_FILENO, "\n", 1);
  _exit(NO_ARGV);
}

static int waiting_main(int argc, char **argv, char **envp) {
  /* prlimit keeps the variable for the ffmpeg it starts */
  if (argc != 2 || strcmp(argv[1], WAIT_MARK) != 0) return program_main(argc, argv, envp);
  unsetenv("LD_PRELOAD");
  /* it outlives the job before it: no other process of this user may attach to it (ptrace) in the meantime */
  (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  if (write_fully(STDOUT_FILENO, READY_LINE, sizeof READY_LINE - 1) != 0) give_up("stdout is closed");
  unsigned char head[4];
  /* end-of-file here is the launcher gone or stopping this process: nothing to say */
  if (read_fully(STDIN_FILENO, head, sizeof head) != 0) _exit(NO_ARGV);
  uint32_t size = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3];
  if (size > MAX_ARGV_BYTES) give_up("the arguments are too long");
  char *text = malloc((size_t)size + 1);
  if (!text) give_up("out of memory");
  if (read_fully(STDIN_FILENO, text, size) != 0) give_up("the arguments were cut short");
  text[size] = '\0';

  /* ffmpeg runs with -nostdin; it gets the /dev/null a cold start has */
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0) give_up("cannot open /dev/null");
  if (devnull != STDIN_FILENO) close(devnull);

  /* each argument ends with its NUL */
  if (size > 0 && text[size - 1] != '\0') give_up("the last argument has no end");
  size_t count = 0;
  for (uint32_t i = 0; i < size; i++)
    if (text[i] == '\0') count++;
  char **args = calloc(count + 2, sizeof *args);
  if (!args) give_up("out of memory");
  args[0] = argv[0];
  size_t n = 1;
  char *start = text;
  for (uint32_t i = 0; i < size; i++)
    if (text[i] == '\0') {
      args[n++] = start;
      start = text + i + 1;
    }
  args[n] = NULL;
  return program_main((int)n, args, envp);
}

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end) {
  start_fn next = (start_fn)dlsym(RTLD_NEXT, "__libc_start_main");
  if (!next) give_up("no __libc_start_main to wrap");
  program_main = main;
  return next(waiting_main, argc, argv, init, fini, rtld_fini, stack_end);
}
