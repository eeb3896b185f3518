/* read/live.c - see live.h. The signal and the dump's path are read from
 * /proc/PID/environ, so the user names only the process; the command goes
 * as sigqueue(3)'s value. Nothing is sent unless the runtime's handler is
 * in place (ready()): the variable alone says nothing, as children inherit
 * it, and a signal the process does not expect kills it. */
#include "read/live.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "control.h"
#include "format.h"
#include "spanprof_constants.h"
#include "msg.h"

/* A variable of another process's environment (at its start), or NULL. */
static char *env_of(long pid, const char *name, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/environ", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	static char env[1 << 20];
	size_t n = 0;
	for (ssize_t r; n < sizeof env - 1 && (r = read(fd, env + n, sizeof env - 1 - n)) > 0;)
		n += (size_t)r; /* procfs may return it a page at a time */
	close(fd);
	if (n == 0)
		return NULL;
	env[n] = '\0';
	size_t len = strlen(name);
	for (char *p = env; p < env + n; p += strlen(p) + 1)
		if (!strncmp(p, name, len) && p[len] == '=') {
			snprintf(buf, size, "%s", p + len + 1);
			return buf;
		}
	return NULL;
}

/* Where a dump of process `pid` lands: its SPANPROF_OUTPUT, expanded as
 * the runtime does, relative to its working directory. A fork child adds
 * ".PID" when the pattern has no %p, and nothing here tells whether `pid`
 * is one: both names are given (`alt` empty when they are the same). */
static void dump_paths(long pid, char *path, char *alt, size_t size)
{
	char outbuf[PATH_MAX];
	const char *out = env_of(pid, "SPANPROF_OUTPUT", outbuf, sizeof outbuf);
	if (!out || !*out)
		out = "spanprof.out";
	char dir[PATH_MAX] = "", name[PATH_MAX], forked[PATH_MAX];
	if (out[0] != '/') {
		char link[64];
		snprintf(link, sizeof link, "/proc/%ld/cwd", pid);
		ssize_t k = readlink(link, dir, sizeof dir - 2);
		if (k > 0) {
			dir[k] = '/';
			dir[k + 1] = '\0';
		}
	}
	if (sp__output_name(out, (unsigned long)pid, false, name, sizeof name))
		snprintf(name, sizeof name, "%s", out);
	if (sp__output_name(out, (unsigned long)pid, true, forked, sizeof forked))
		snprintf(forked, sizeof forked, "%s", name);
	snprintf(path, size, "%s%s", dir, name);
	if (strcmp(name, forked))
		snprintf(alt, size, "%s%s", dir, forked);
	else
		alt[0] = '\0';
}

/* Has `path` been written since `before` (taken when it existed: `had`)?
 * The runtime writes a new file and renames it: a new inode. */
static bool changed(const char *path, bool had, const struct stat *before)
{
	struct stat now;
	if (stat(path, &now) != 0)
		return false;
	return !had || now.st_ino != before->st_ino || now.st_mtim.tv_sec != before->st_mtim.tv_sec ||
	       now.st_mtim.tv_nsec != before->st_mtim.tv_nsec;
}

/* Is `sig` in the mask `field` ("SigCgt:", "ShdPnd:") of /proc/PID/status? */
static bool status_has(long pid, const char *field, int sig)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool yes = false;
	size_t len = strlen(field);
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, len)) {
			unsigned long long mask = strtoull(line + len, NULL, 16);
			yes = sig >= 1 && sig <= 64 && (mask >> (sig - 1) & 1);
			break;
		}
	fclose(f);
	return yes;
}

/* A signal below SIGRTMIN sent while the same one is still pending is
 * merged with it: one command would be lost. Wait (10 s at most) until the
 * process has taken the previous one. */
static bool wait_delivered(long pid, int sig)
{
	for (int i = 0; i < 1000 && status_has(pid, "ShdPnd:", sig); i++) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	return !status_has(pid, "ShdPnd:", sig);
}

/* The state of the runtime's control thread (runtime/control.c), by its
 * name: 1 "spanprof-ctl" (serving), -1 "spanprof-off" (the program took
 * the signal), 0 none (no runtime, or not started yet). */
static int control_thread(long pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int state = 0;
	for (struct dirent *e; !state && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char comm[PATH_MAX], name[32] = "";
		snprintf(comm, sizeof comm, "%s/%s/comm", path, e->d_name);
		int fd = open(comm, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, name, sizeof name - 1);
		close(fd);
		name[n > 0 ? n : 0] = '\0';
		if (!strcmp(name, "spanprof-ctl\n"))
			state = 1;
		else if (!strcmp(name, "spanprof-off\n"))
			state = -1;
	}
	closedir(d);
	return state;
}

/* 0 when the runtime of `pid` is listening to `sig`; else 1 after saying
 * why nothing is sent. */
static int ready(long pid, int sig, const char *signame)
{
	int state = control_thread(pid);
	if (state < 0) {
		msg_errorf("process %ld handles %s itself, so spanprof's live control is off; nothing sent", pid,
			  signame);
		return 1;
	}
	if (state == 0 || !status_has(pid, "SigCgt:", sig)) {
		msg_errorf("process %ld has no spanprof runtime listening to %s (not linked with spanprof, or "
			  "not started yet); nothing sent",
			  pid, signame);
		return 1;
	}
	return 0;
}

int live_pid(const char *cmd, const char *s, long *pid)
{
	char *end;
	errno = 0;
	*pid = strtol(s, &end, 10);
	if (!*s || *end || *pid <= 0 || errno)
		return msg_usagef(cmd, "'%s' is not a process id", s);
	return 0;
}

/* Is `path` the flight file (docs/FORMAT.md) of the running process
 * `pid`? Then its store is read there directly: no signal, no dump. */
static bool flight_of(const char *path, long pid)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return false;
	struct sp__flight_header h;
	struct stat st;
	bool yes = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h &&
		   !memcmp(h.magic, SP_DUMP_MAGIC, 8) && h.version == SP_FLIGHT_VERSION && h.pid == (uint64_t)pid &&
		   h.state == SP_FLIGHT_RUNNING;
	close(fd);
	return yes;
}

/* Send `cmd` through the flight file at `path` (runtime/flight.c, "Control
 * through the file") and wait for its acknowledgement: 0, or 1 after
 * saying why. */
static int flight_command(long pid, const char *path, int cmd)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		msg_errorf("cannot open %s to control process %ld: %s", path, pid, strerror(errno));
		return 1;
	}
	struct sp__flight_header *h = mmap(NULL, SP_FLIGHT_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (h == MAP_FAILED) {
		msg_errorf("cannot map %s: %s", path, strerror(errno));
		return 1;
	}
	int rc = 1;
	uint64_t n = __atomic_fetch_add(&h->cmd_tail, 1, __ATOMIC_ACQ_REL);
	/* 10 s for room in the queue, then 10 s for the acknowledgement */
	for (int i = 0; i < 1000 && n - __atomic_load_n(&h->cmd_done, __ATOMIC_ACQUIRE) >= SP_FLIGHT_CMDQ; i++) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	if (n - __atomic_load_n(&h->cmd_done, __ATOMIC_ACQUIRE) >= SP_FLIGHT_CMDQ) {
		msg_errorf("process %ld has not taken its queued commands for 10 s (stopped?); command %llu is "
			   "queued, not acknowledged",
			   pid, (unsigned long long)n + 1);
		goto out;
	}
	__atomic_store_n(&h->cmdq[n % SP_FLIGHT_CMDQ], (n + 1) << 8 | (uint64_t)cmd, __ATOMIC_RELEASE);
	__atomic_fetch_add(&h->cmd_wake, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &h->cmd_wake, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
	for (int i = 0; i < 1000; i++) {
		uint64_t done = __atomic_load_n(&h->cmd_done, __ATOMIC_ACQUIRE);
		if (done > n) {
			rc = 0;
			goto out;
		}
		struct timespec ts = { 0, 10000000 };
		syscall(SYS_futex, &h->cmd_done, FUTEX_WAIT, (uint32_t)done, &ts, NULL, 0);
	}
	msg_errorf("process %ld did not acknowledge the command within 10 s (stopped, or its runtime is not "
		   "serving the file); it stays queued",
		   pid);
out:
	munmap(h, SP_FLIGHT_HEADER_SIZE);
	return rc;
}

int live_command(long pid, int cmd, char *path, size_t size)
{
	if (kill((pid_t)pid, 0) != 0) {
		msg_errorf("process %ld: %s", pid, strerror(errno));
		return 1;
	}
	{
		/* A flight file: read there (dump), or commands through it. */
		char alt[PATH_MAX * 2], fpath[PATH_MAX * 2];
		dump_paths(pid, fpath, alt, sizeof alt);
		const char *f = flight_of(fpath, pid) ? fpath : alt[0] && flight_of(alt, pid) ? alt : NULL;
		if (f && cmd == SP_CTL_DUMP) {
			snprintf(path, size, "%s", f);
			return 0;
		}
		if (f)
			return flight_command(pid, f, cmd);
	}
	char sigbuf[64];
	const char *sv = env_of(pid, "SPANPROF_SIGNAL", sigbuf, sizeof sigbuf);
	int sig = sv ? sp__control_signal(sv) : 0;
	if (!sig) {
		msg_errorf("process %ld was not started with SPANPROF_SIGNAL (e.g. SPANPROF_SIGNAL=SIGUSR2); it cannot be "
			  "controlled",
			  pid);
		return 1;
	}
	if (ready(pid, sig, sv))
		return 1;
	char alt[PATH_MAX * 2];
	struct stat before[2];
	bool had[2] = { false, false };
	if (cmd == SP_CTL_DUMP) {
		dump_paths(pid, path, alt, size < sizeof alt ? size : sizeof alt);
		had[0] = stat(path, &before[0]) == 0;
		had[1] = alt[0] && stat(alt, &before[1]) == 0;
	}
	union sigval val = { .sival_int = cmd };
	if (!wait_delivered(pid, sig)) {
		msg_errorf("process %ld has not taken the previous command for 10 s; nothing sent", pid);
		return 1;
	}
	if (sigqueue((pid_t)pid, sig, val) != 0) {
		msg_errorf("cannot signal process %ld: %s", pid, strerror(errno));
		return 1;
	}
	/* Taken before we return: a command sent next is not merged. */
	if (!wait_delivered(pid, sig)) {
		msg_errorf("process %ld has not taken the command within 10 s", pid);
		return 1;
	}
	if (cmd != SP_CTL_DUMP)
		return 0;
	for (int i = 0; i < 1000; i++) { /* 10 s */
		if (changed(path, had[0], &before[0]))
			return 0;
		if (alt[0] && changed(alt, had[1], &before[1])) {
			snprintf(path, size, "%s", alt);
			return 0;
		}
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	msg_errorf("process %ld did not write %s within 10 s", pid, path);
	return 1;
}
