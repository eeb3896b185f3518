/* cmd_ctl.c - `spanprof ctl PID enable|disable|clear|dump`: control a
 * running program that set SPANPROF_SIGNAL (runtime/control.c). The
 * signal and the dump's path are read from /proc/PID/environ, so the
 * user names only the process; the command goes as sigqueue(3)'s value. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "control.h"
#include "msg.h"

const struct cli_opt ctl_opts[] = { { 0 } };

/* A variable of another process's environment (at its start), or NULL. */
static char *env_of(long pid, const char *name, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/environ", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	static char env[1 << 20];
	ssize_t n = read(fd, env, sizeof env - 1);
	close(fd);
	if (n <= 0)
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

int cmd_ctl(int argc, char **argv)
{
	struct cli_parser p;
	cli_init(&p, "ctl", argc, argv);
	for (int o; (o = cli_next(&p)) != CLI_END;)
		if (o == CLI_HELP)
			return 0;
		else if (o == CLI_ERROR)
			return 2;
	if (argc - p.ind != 2)
		return sp_usagef("ctl", "give a process id and a command (enable, disable, clear, dump)");
	char *end;
	long pid = strtol(argv[p.ind], &end, 10);
	if (!*argv[p.ind] || *end || pid <= 0)
		return sp_usagef("ctl", "'%s' is not a process id", argv[p.ind]);
	const char *what = argv[p.ind + 1];
	static const char *cmds[] = { NULL, "enable", "disable", "clear", "dump" };
	int cmd = 0;
	for (int i = 1; i <= 4; i++)
		if (!strcmp(what, cmds[i]))
			cmd = i;
	if (!cmd)
		return sp_usagef("ctl", "'%s' is not enable, disable, clear or dump", what);
	char sigbuf[64], outbuf[PATH_MAX];
	if (kill((pid_t)pid, 0) != 0) {
		sp_errorf("process %ld: %s", pid, strerror(errno));
		return 1;
	}
	const char *sv = env_of(pid, "SPANPROF_SIGNAL", sigbuf, sizeof sigbuf);
	int sig = sv ? sp__control_signal(sv) : 0;
	if (!sig) {
		sp_errorf("process %ld was not started with SPANPROF_SIGNAL (e.g. SPANPROF_SIGNAL=SIGUSR2); it cannot be "
			  "controlled",
			  pid);
		return 1;
	}
	/* Where a dump will land: SPANPROF_OUTPUT, %p expanded, from its cwd. */
	char path[PATH_MAX * 2] = "";
	struct stat before;
	bool had = false;
	if (cmd == SP_CTL_DUMP) {
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
			snprintf(path, sizeof path, "%s", name);
		} else {
			char link[64], cwd[PATH_MAX];
			snprintf(link, sizeof link, "/proc/%ld/cwd", pid);
			ssize_t k = readlink(link, cwd, sizeof cwd - 1);
			cwd[k > 0 ? k : 0] = '\0';
			snprintf(path, sizeof path, "%s/%s", cwd, name);
		}
		had = stat(path, &before) == 0;
	}
	union sigval val = { .sival_int = cmd };
	if (sigqueue((pid_t)pid, sig, val) != 0) {
		sp_errorf("cannot signal process %ld: %s", pid, strerror(errno));
		return 1;
	}
	if (cmd != SP_CTL_DUMP) {
		printf("sent '%s' to process %ld\n", what, pid);
		return 0;
	}
	for (int i = 0; i < 1000; i++) { /* 10 s */
		struct stat now;
		if (stat(path, &now) == 0 &&
		    (!had || now.st_mtim.tv_sec != before.st_mtim.tv_sec || now.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
		     now.st_ino != before.st_ino)) {
			printf("%s\n", path);
			return 0;
		}
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	sp_errorf("process %ld did not write %s within 10 s", pid, path);
	return 1;
}
