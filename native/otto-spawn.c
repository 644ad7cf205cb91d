/* otto-spawn: starts the agent's step processes and relays their output (src/agent/spawner.ts).
 *
 * Why: Node's child_process.spawn forks the agent itself, and fork() costs time in proportion to
 * the agent's memory (about 1.2-1.6 ms at 55 MB RSS, 8 ms at 270 MB) while blocking its event loop.
 * This process is about 1 MB, so vfork() + execvp() here is cheap and the agent only writes a frame.
 * Build: cc -O2 -Wall -Wextra -o dist/native/otto-spawn native/otto-spawn.c (scripts/build-native.mjs).
 *
 * Protocol 1. The agent starts `otto-spawn --protocol=1` with requests on stdin and events on
 * stdout. Every frame in both directions is
 *     u32 length (little-endian: the number of bytes after this field), u8 type, u32 step id, payload
 * Requests:
 *   'S' start   u32 argc, u32 envc, then 1 + argc + envc NUL-terminated strings: cwd, argv, env
 *               ("NAME=value"). The step gets exactly that environment (nothing is inherited), stdin
 *               from /dev/null, stdout and stderr on two pipes, and a new session: its process group
 *               id is its pid. argv[0] without a '/' is looked up in the step's own PATH (execvp),
 *               as Node does. Every signal has its default action and none is blocked.
 *   'P' pause   u8 stream (1 stdout, 2 stderr): stop reading that pipe; the step blocks once it is full
 *   'R' resume  u8 stream
 *   'C' close   close the step's pipes and send no more 'O'/'E' for it (a process that left the group
 *               holds them open); its 'X' still comes if the leader has not been reaped yet
 * Events:
 *   'B' begun   u32 pid (== the step's process group id)
 *   'F' failed  u8 what (1 the working directory, 2 the program, 3 the helper: pipe/vfork), u32 errno.
 *               Nothing else is sent for that id.
 *   'O' output  u8 stream, then the bytes (at most CHUNK), in the order they were read
 *   'E' eof     u8 stream: the pipe is closed; every 'O' of that stream came before it
 *   'X' exited  u8 how (0 exit status, 1 killed by a signal), u32 status or signal number, u8 1 when
 *               the process group has no member left (else 0). Sent when the leader is reaped;
 *               output of the rest of its group may still follow. A step is over
 *               (and its id forgotten) once 'X' and both 'E' are sent, or after 'C' and 'X'.
 * Signals: the agent signals a step's group itself with kill(-pid, sig); no request is needed.
 * Backpressure: a paused stream is not read; and when the agent does not read this process's stdout,
 * writes to it block, no step is read and every step blocks on its full pipes.
 * End: on EOF of stdin (the agent exited, or closed it) or a failed write to stdout, the group of
 * every step still known gets SIGKILL, so no step outlives the agent, and the helper exits 0.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define HDR 9                      /* u32 length, u8 type, u32 id */
#define CHUNK (65536 - HDR - 1)    /* an 'O' frame fills one of Node's 64 KiB socket reads */
#define MAX_REQUEST (256u << 20)

struct step {
  uint32_t id;
  pid_t pid;
  int fd[2];      /* read ends of stdout and stderr; -1 once closed */
  int paused[2];
  int reaped;
};

static struct step *steps;
static size_t nsteps, capsteps;
static unsigned char *out, *in;
static size_t outlen, outcap, inlen, incap;
static int wake[2]; /* SIGCHLD self-pipe */
static int devnull = -1;

static void die(const char *what) {
  fprintf(stderr, "otto-spawn: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void *grow(void *p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return p;
  size_t n = *cap ? *cap : 16;
  while (n < need) n *= 2;
  p = realloc(p, n * size);
  if (!p) die("out of memory");
  *cap = n;
  return p;
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = v & 0xff, p[1] = (v >> 8) & 0xff, p[2] = (v >> 16) & 0xff, p[3] = v >> 24;
}

static uint32_t get32(const unsigned char *p) {
  return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Room for a frame of n payload bytes at out + outlen; header() then commits it. */
static unsigned char *reserve(size_t n) {
  out = grow(out, &outcap, outlen + HDR + n, 1);
  return out + outlen;
}

static void header(char type, uint32_t id, size_t n) {
  unsigned char *p = out + outlen;
  put32(p, (uint32_t)(5 + n));
  p[4] = (unsigned char)type;
  put32(p + 5, id);
  outlen += HDR + n;
}

static void frame(char type, uint32_t id, const unsigned char *payload, size_t n) {
  memcpy(reserve(n) + HDR, payload, n);
  header(type, id, n);
}

/* The agent is gone: take every step's group with us. */
static void finish(void) {
  for (size_t i = 0; i < nsteps; i++) kill(-steps[i].pid, SIGKILL);
  exit(0);
}

/* Writes everything buffered; blocks while the agent is not reading (that is the backpressure). */
static void flush(void) {
  size_t done = 0;
  while (done < outlen) {
    ssize_t n = write(1, out + done, outlen - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) finish();
    done += (size_t)n;
  }
  outlen = 0;
}

static void on_sigchld(int sig) {
  int saved = errno;
  (void)sig;
  ssize_t ignored = write(wake[1], "", 1);
  (void)ignored;
  errno = saved;
}

static int cloexec_pipe(int p[2]) {
  if (pipe(p) < 0) return -1;
  fcntl(p[0], F_SETFD, FD_CLOEXEC);
  fcntl(p[1], F_SETFD, FD_CLOEXEC);
  return 0;
}

static void closefd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static struct step *find(uint32_t id) {
  for (size_t i = 0; i < nsteps; i++)
    if (steps[i].id == id) return &steps[i];
  return NULL;
}

/* Runs in the vfork()ed child, on the parent's memory: system calls only, and never returns. */
static void child(int o, int e, int report, const char *cwd, char **argv, char **envp) {
  int what = 1;
  setsid();
  if (chdir(cwd) == 0) {
    what = 3;
    if (dup2(devnull, 0) >= 0 && dup2(o, 1) >= 0 && dup2(e, 2) >= 0) {
      sigset_t none;
      signal(SIGCHLD, SIG_DFL);
      signal(SIGPIPE, SIG_DFL);
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, NULL);
      what = 2;
      environ = envp; /* execvp searches the PATH the step will see, as Node (libuv) does */
      execvp(argv[0], argv);
    }
  }
  int msg[2] = {what, errno};
  ssize_t ignored = write(report, msg, sizeof msg);
  (void)ignored;
  _exit(127);
}

/* Starts one step; on failure returns its errno and sets *what (see 'F'). */
static int spawn_step(struct step *s, const char *cwd, char **argv, char **envp, int *what) {
  int o[2] = {-1, -1}, e[2] = {-1, -1}, r[2] = {-1, -1}, msg[2] = {3, 0};
  char **saved_environ = environ;
  sigset_t all, old;
  if (cloexec_pipe(o) < 0 || cloexec_pipe(e) < 0 || cloexec_pipe(r) < 0) {
    msg[1] = errno;
    goto fail;
  }
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old); /* no handler may run in the child on our stack */
  pid_t pid = vfork();
  if (pid == 0) child(o[1], e[1], r[1], cwd, argv, envp);
  msg[1] = errno;
  environ = saved_environ;
  sigprocmask(SIG_SETMASK, &old, NULL);
  closefd(&o[1]), closefd(&e[1]), closefd(&r[1]);
  if (pid < 0) goto fail;
  /* The child has exec'd (the pipe closed: EOF) or written why it could not and exited. */
  ssize_t n;
  do n = read(r[0], msg, sizeof msg);
  while (n < 0 && errno == EINTR);
  closefd(&r[0]);
  if (n == (ssize_t)sizeof msg) {
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    goto fail;
  }
  fcntl(o[0], F_SETFL, O_NONBLOCK);
  fcntl(e[0], F_SETFL, O_NONBLOCK);
  s->pid = pid;
  s->fd[0] = o[0], s->fd[1] = e[0];
  return 0;
fail:
  closefd(&o[0]), closefd(&o[1]), closefd(&e[0]), closefd(&e[1]), closefd(&r[0]), closefd(&r[1]);
  *what = msg[0];
  return msg[1] ? msg[1] : EIO;
}

/* 'S': the payload's strings are NUL-terminated in place in the input buffer. */
static void start(uint32_t id, unsigned char *p, size_t n) {
  if (n < 8) return;
  uint32_t argc = get32(p), envc = get32(p + 4);
  size_t count = 1 + (size_t)argc + envc, k = 0;
  if (argc < 1 || count > n) return;
  char **strs = malloc((count + 2) * sizeof *strs);
  if (!strs) die("out of memory");
  for (size_t at = 8; at < n && k < count; k++) {
    unsigned char *end = memchr(p + at, 0, n - at);
    if (!end) break;
    strs[k] = (char *)p + at;
    at = (size_t)(end - p) + 1;
  }
  if (k < count) { /* malformed: not that many strings */
    free(strs);
    return;
  }
  /* cwd, argv..., NULL, env..., NULL */
  memmove(strs + 2 + argc, strs + 1 + argc, envc * sizeof *strs);
  strs[1 + argc] = NULL;
  strs[count + 1] = NULL;
  steps = grow(steps, &capsteps, nsteps + 1, sizeof *steps);
  struct step *s = &steps[nsteps];
  memset(s, 0, sizeof *s);
  s->id = id;
  int what = 0, err = spawn_step(s, strs[0], strs + 1, strs + 2 + argc, &what);
  free(strs);
  unsigned char *q = reserve(5) + HDR;
  if (err) {
    q[0] = (unsigned char)what;
    put32(q + 1, (uint32_t)err);
    header('F', id, 5);
    return;
  }
  put32(q, (uint32_t)s->pid);
  header('B', id, 4);
  nsteps++;
}

static void request(unsigned char type, uint32_t id, unsigned char *p, size_t n) {
  struct step *s = type == 'S' ? NULL : find(id);
  if (type == 'S') {
    start(id, p, n);
  } else if (!s) {
    return;
  } else if (type == 'C') {
    closefd(&s->fd[0]), closefd(&s->fd[1]);
  } else if ((type == 'P' || type == 'R') && n == 1 && (p[0] == 1 || p[0] == 2)) {
    s->paused[p[0] - 1] = type == 'P';
  }
}

static void read_requests(void) {
  in = grow(in, &incap, inlen + 65536, 1);
  ssize_t n = read(0, in + inlen, incap - inlen);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) finish();
  inlen += (size_t)n;
  size_t at = 0;
  while (inlen - at >= 4) {
    uint32_t len = get32(in + at);
    if (len < 5 || len > MAX_REQUEST) {
      fprintf(stderr, "otto-spawn: malformed request (length %u)\n", len);
      finish();
    }
    if (inlen - at - 4 < len) {
      in = grow(in, &incap, (size_t)len + 4, 1);
      break;
    }
    unsigned char *f = in + at + 4;
    request(f[0], get32(f + 1), f + 5, len - 5);
    at += 4 + (size_t)len;
  }
  memmove(in, in + at, inlen - at);
  inlen -= at;
}

static void read_output(struct step *s, int k) {
  unsigned char *p = reserve(1 + CHUNK) + HDR;
  ssize_t n = read(s->fd[k], p + 1, CHUNK);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  p[0] = (unsigned char)(k + 1);
  if (n > 0) {
    header('O', s->id, 1 + (size_t)n);
    if (outlen >= 65536) flush();
    return;
  }
  closefd(&s->fd[k]); /* EOF, or an error that ends the stream just the same */
  header('E', s->id, 1);
}

static void reap(void) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return;
    for (size_t i = 0; i < nsteps; i++) {
      struct step *s = &steps[i];
      if (s->pid != pid || s->reaped) continue;
      unsigned char p[6];
      s->reaped = 1;
      p[0] = WIFSIGNALED(status) ? 1 : 0;
      put32(p + 1, (uint32_t)(WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status)));
      /* 1: the group has no member left, so the agent need not look (a failing kill() there
       * costs an exception); 0: it may (zombies count here, so the agent checks /proc). */
      p[5] = kill(-pid, 0) < 0 && errno == ESRCH ? 1 : 0;
      frame('X', s->id, p, 6);
      break;
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 2 || strcmp(argv[1], "--protocol=1") != 0) {
    fprintf(stderr, "otto-spawn: this helper speaks protocol 1 (run as otto-spawn --protocol=1); "
                    "rebuild it with npm run build\n");
    return 2;
  }
  /* Steps start with every signal at its default, as Node gives them; only these two change here. */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  signal(SIGPIPE, SIG_IGN);
  if (cloexec_pipe(wake) < 0) die("pipe");
  fcntl(wake[0], F_SETFL, O_NONBLOCK);
  fcntl(wake[1], F_SETFL, O_NONBLOCK);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGCHLD, &sa, NULL) < 0) die("sigaction");
  devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) die("/dev/null");

  struct pollfd *fds = NULL;
  size_t capfds = 0;
  for (;;) {
    fds = grow(fds, &capfds, 2 + 2 * nsteps, sizeof *fds);
    size_t nfds = 2;
    fds[0] = (struct pollfd){.fd = 0, .events = POLLIN};
    fds[1] = (struct pollfd){.fd = wake[0], .events = POLLIN};
    for (size_t i = 0; i < nsteps; i++)
      for (int k = 0; k < 2; k++)
        if (steps[i].fd[k] >= 0 && !steps[i].paused[k])
          fds[nfds++] = (struct pollfd){.fd = steps[i].fd[k], .events = POLLIN};
    if (poll(fds, (nfds_t)nfds, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    /* Output first: fds[2..] follow the steps array, which requests below may change. */
    size_t f = 2;
    for (size_t i = 0; i < nsteps; i++)
      for (int k = 0; k < 2; k++)
        if (steps[i].fd[k] >= 0 && !steps[i].paused[k] && fds[f++].revents) read_output(&steps[i], k);
    if (fds[1].revents) {
      char buf[64];
      while (read(wake[0], buf, sizeof buf) > 0) {}
      reap();
    }
    if (fds[0].revents) read_requests();
    size_t kept = 0;
    for (size_t i = 0; i < nsteps; i++)
      if (!steps[i].reaped || steps[i].fd[0] >= 0 || steps[i].fd[1] >= 0) steps[kept++] = steps[i];
    nsteps = kept;
    flush();
  }
}
