/* cli.c - parse a subcommand's options from its table, and print its help
 * from the same table: getopt_long underneath, help in aligned columns. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

#define HELP_COLUMN 28

const struct cli_opt cli_help_opt = { 'h', "help", NULL, "show this help", 0 };
const char cli_exit_status[] = "0 success, 1 error (unreadable file, no such trace), 2 usage error";

const struct cli_cmd *cli_find(const char *name)
{
	for (const struct cli_cmd *c = cli_cmds; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

void cli_help(const struct cli_cmd *cmd)
{
	printf("usage: spanprof %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
	if (cmd->description && *cmd->description)
		printf("\n%s\n", cmd->description);
	printf("\noptions:\n");
	const struct cli_opt none[] = { { 0 } };
	const struct cli_opt *opts = cmd->opts ? cmd->opts : none;
	for (const struct cli_opt *o = opts;; o++) {
		char left[80];
		int n;
		const struct cli_opt *x = o->long_name ? o : &cli_help_opt;
		if (x->short_name)
			n = snprintf(left, sizeof left, "  -%c, --%s%s%s", x->short_name, x->long_name,
				     x->arg ? " " : "", x->arg ? x->arg : "");
		else
			n = snprintf(left, sizeof left, "      --%s%s%s", x->long_name, x->arg ? " " : "",
				     x->arg ? x->arg : "");
		if (n < HELP_COLUMN)
			printf("%-*s%s\n", HELP_COLUMN, left, x->help);
		else
			printf("%s\n%*s%s\n", left, HELP_COLUMN, "", x->help);
		if (!o->long_name)
			break;
	}
	printf("\nexit status: %s\n", cli_exit_status);
}

struct state {
	struct option *longs;
	char shorts[128];
};

void cli_init(struct cli_parser *p, const char *cmd, int argc, char **argv)
{
	static struct state st;
	static struct option longs[64];
	memset(p, 0, sizeof *p);
	p->cmd = cli_find(cmd);
	p->argc = argc;
	p->argv = argv;
	p->state = &st;
	size_t n = 0, k = 0;
	if (p->cmd->stop_at_operand)
		st.shorts[k++] = '+';
	st.shorts[k++] = ':';
	for (const struct cli_opt *o = p->cmd->opts; o && o->long_name && n < 62; o++, n++) {
		longs[n] = (struct option){ o->long_name, o->arg ? required_argument : no_argument, NULL,
					    1000 + (int)n };
		if (o->short_name && k < sizeof st.shorts - 3) {
			st.shorts[k++] = (char)o->short_name;
			if (o->arg)
				st.shorts[k++] = ':';
		}
	}
	longs[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longs[n] = (struct option){ 0 };
	st.shorts[k++] = 'h';
	st.shorts[k] = '\0';
	st.longs = longs;
	optind = 1; /* the subcommand's argv starts with its name */
	opterr = 0;
}

int cli_next(struct cli_parser *p)
{
	struct state *st = p->state;
	int li = -1;
	int c = getopt_long(p->argc, p->argv, st->shorts, st->longs, &li);
	p->arg = optarg;
	if (c == -1) {
		p->ind = optind;
		return CLI_END;
	}
	if (c == 'h') {
		cli_help(p->cmd);
		return CLI_HELP;
	}
	const char *bad = p->argv[optind - 1];
	if (c == '?') {
		if (optopt)
			msg_usagef(p->cmd->name, "unknown option '-%c'", optopt);
		else
			msg_usagef(p->cmd->name, "unknown option '%s'", bad);
		return CLI_ERROR;
	}
	if (c == ':') {
		msg_usagef(p->cmd->name, "option '%s' needs a value", bad);
		return CLI_ERROR;
	}
	if (c >= 1000)
		return p->cmd->opts[c - 1000].id;
	for (const struct cli_opt *o = p->cmd->opts; o && o->long_name; o++)
		if (o->short_name == c)
			return o->id;
	return CLI_ERROR;
}

int cli_uint(const struct cli_parser *p, const char *what, const char *s, unsigned long long max,
	     unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	/* A digit first: strtoull would also take " 5", "+5" and "-5" (as
	 * 2^64 - 5). */
	if (!isdigit((unsigned char)*s) || *end || errno || v > max) {
		msg_usagef(p->cmd->name, "%s '%s' is not a whole number in 0..%llu", what, s, max);
		return -1;
	}
	*out = v;
	return 0;
}

int cli_double(const struct cli_parser *p, const char *what, const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!(isdigit((unsigned char)*s) || *s == '.') || *end || errno || !isfinite(v) || v < 0) {
		msg_usagef(p->cmd->name, "%s '%s' is not a number >= 0", what, s);
		return -1;
	}
	*out = v;
	return 0;
}
