/* live.c - see live.h. The signal and the dump's path are read from
 * /proc/PID/environ, so the user names only the process; the command goes
 * as sigqueue(3)'s value. */
#include "live.h"

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
#include <unistd.h>

#include "control.h"
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

/* Where a dump of process `pid` lands: its SPANPROF_OUTPUT, %p expanded,
 * relative to its working directory. */
static void dump_path(long pid, char *path, size_t size)
{
	char outbuf[PATH_MAX];
	const char *out = env_of(pid, "SPANPROF_OUTPUT", outbuf, sizeof outbuf);
	if (!out || !*out)
		out = "spanprof.out";
	char name[PATH_MAX];
	size_t n = 0;
	for (const char *q = out; *q && n < sizeof name - 24; q++) {
		if (q[0] == '%' && q[1] == 'p') {
			n += (size_t)snprintf(name + n, sizeof name - n, "%ld", pid);
			q++;
		} else if (q[0] == '%' && q[1] == '%') {
			name[n++] = '%';
			q++;
		} else {
			name[n++] = *q;
		}
	}
	name[n] = '\0';
	if (name[0] == '/') {
		snprintf(path, size, "%s", name);
		return;
	}
	char link[64], cwd[PATH_MAX];
	snprintf(link, sizeof link, "/proc/%ld/cwd", pid);
	ssize_t k = readlink(link, cwd, sizeof cwd - 1);
	cwd[k > 0 ? k : 0] = '\0';
	snprintf(path, size, "%s/%s", cwd, name);
}

int live_pid(const char *cmd, const char *s, long *pid)
{
	char *end;
	errno = 0;
	*pid = strtol(s, &end, 10);
	if (!*s || *end || *pid <= 0 || errno)
		return sp_usagef(cmd, "'%s' is not a process id", s);
	return 0;
}

int live_command(long pid, int cmd, char *path, size_t size)
{
	if (kill((pid_t)pid, 0) != 0) {
		sp_errorf("process %ld: %s", pid, strerror(errno));
		return 1;
	}
	char sigbuf[64];
	const char *sv = env_of(pid, "SPANPROF_SIGNAL", sigbuf, sizeof sigbuf);
	int sig = sv ? sp__control_signal(sv) : 0;
	if (!sig) {
		sp_errorf("process %ld was not started with SPANPROF_SIGNAL (e.g. SPANPROF_SIGNAL=SIGUSR2); it cannot be "
			  "controlled",
			  pid);
		return 1;
	}
	struct stat before;
	bool had = false;
	if (cmd == SP_CTL_DUMP) {
		dump_path(pid, path, size);
		had = stat(path, &before) == 0;
	}
	union sigval val = { .sival_int = cmd };
	if (sigqueue((pid_t)pid, sig, val) != 0) {
		sp_errorf("cannot signal process %ld: %s", pid, strerror(errno));
		return 1;
	}
	if (cmd != SP_CTL_DUMP)
		return 0;
	for (int i = 0; i < 1000; i++) { /* 10 s */
		struct stat now;
		if (stat(path, &now) == 0 &&
		    (!had || now.st_mtim.tv_sec != before.st_mtim.tv_sec || now.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
		     now.st_ino != before.st_ino))
			return 0;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	sp_errorf("process %ld did not write %s within 10 s", pid, path);
	return 1;
}
