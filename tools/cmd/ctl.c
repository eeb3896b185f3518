/* cmd/ctl.c - `spanprof ctl PID enable|disable|clear|dump`: control a
 * running program that set SPANPROF_SIGNAL (live.c does the talking). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "control.h"
#include "msg.h"
#include "read/live.h"

const struct cli_opt ctl_opts[] = { { 0 } };

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
		return msg_usagef("ctl", "give a process id and a command (enable, disable, clear, dump)");
	long pid;
	if (live_pid("ctl", argv[p.ind], &pid))
		return 2;
	const char *what = argv[p.ind + 1];
	int cmd = sp__control_command(what);
	if (!cmd)
		return msg_usagef("ctl", "'%s' is not enable, disable, clear or dump", what);
	char path[PATH_MAX * 2] = "";
	if (live_command(pid, cmd, path, sizeof path))
		return 1;
	if (cmd == SP_CTL_DUMP)
		printf("%s\n", path);
	else
		printf("sent '%s' to process %ld\n", what, pid);
	return 0;
}
