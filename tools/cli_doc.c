/* cli_doc.c - man pages and shell completion, generated from the tables
 * that print --help (cli_cmds in main.c, each command's struct cli_opt
 * array, the environment table of cmd_help.c), so that the three cannot
 * disagree. Hidden modes of the binary, run by the build:
 *
 *   spanprof --gen-man spanprof|CMD|env    roff on standard output
 *   spanprof --gen-completion bash
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "msg.h"
#include "spanprof_constants.h"

/* Text for roff: a backslash is \e, a dash \- (options stay copyable),
 * and a line that would start with a control character is guarded. */
static void roff(const char *s)
{
	bool bol = true;
	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", stdout);
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else
			putchar(*s);
		bol = *s == '\n';
	}
}

static void man_head(const char *name, int section)
{
	char up[64];
	size_t i = 0;
	for (; name[i] && i < sizeof up - 1; i++)
		up[i] = (char)toupper((unsigned char)name[i]);
	up[i] = '\0';
	/* No date: the page must not change from one build to the next. */
	printf(".TH %s %d \"\" \"spanprof %s\" \"spanprof manual\"\n", up, section, SP_VERSION_STRING);
	/* Option names and globs must not be hyphenated or stretched. */
	printf(".nh\n.ad l\n");
}

static void man_opt(const struct cli_opt *o)
{
	printf(".TP\n");
	if (o->short_name)
		printf("\\fB\\-%c\\fR, ", o->short_name);
	printf("\\fB\\-\\-");
	roff(o->long_name);
	printf("\\fR");
	if (o->arg) {
		printf(" \\fI");
		roff(o->arg);
		printf("\\fR");
	}
	printf("\n");
	roff(o->help);
	printf("\n");
}

static void man_see_also(const char *self)
{
	printf(".SH SEE ALSO\n");
	bool first = true;
	if (strcmp(self, "spanprof")) {
		printf("\\fBspanprof\\fR(1)");
		first = false;
	}
	for (const struct cli_cmd *c = cli_cmds; c->name; c++) {
		if (!strcmp(c->name, self))
			continue;
		printf("%s\\fBspanprof\\-%s\\fR(1)", first ? "" : ",\n", c->name);
		first = false;
	}
	if (strcmp(self, "env"))
		printf(",\n\\fBspanprof\\-env\\fR(7)");
	printf("\n");
}

static void man_main(void)
{
	man_head("spanprof", 1);
	printf(".SH NAME\nspanprof \\- read the dumps of the span profiler: traces, trees, rankings, exports\n");
	printf(".SH SYNOPSIS\n\\fBspanprof\\fR [\\fB\\-\\-version\\fR] [\\fB\\-\\-help\\fR] \\fICOMMAND\\fR "
	       "[\\fIARGS\\fR]\n");
	printf(".SH DESCRIPTION\n"
	       "A program compiled with \\fB\\-finstrument\\-functions\\fR and/or the probes of\n"
	       "\\fB<spanprof.h>\\fR, linked with \\fBlibspanprof\\fR and run with the variables of\n"
	       "\\fBspanprof\\-env\\fR(7), writes a dump at exit; \\fBspanprof\\fR reads it.\n"
	       "\\fBspanprof \\fICOMMAND \\fB\\-\\-help\\fR is the same as \\fBspanprof help \\fICOMMAND\\fR.\n");
	printf(".SH COMMANDS\n");
	for (const struct cli_cmd *c = cli_cmds; c->name; c++) {
		printf(".TP\n\\fB");
		roff(c->name);
		printf("\\fR\n");
		roff(c->summary);
		printf(" See \\fBspanprof\\-%s\\fR(1).\n", c->name);
	}
	printf(".SH OPTIONS\n.TP\n\\fB\\-V\\fR, \\fB\\-\\-version\\fR\nprint the version and the dump format\n");
	man_opt(&cli_help_opt);
	printf(".SH EXIT STATUS\n");
	roff(cli_exit_status);
	printf("\n");
	man_see_also("spanprof");
}

static void man_cmd(const struct cli_cmd *c)
{
	char name[64];
	snprintf(name, sizeof name, "spanprof-%s", c->name);
	man_head(name, 1);
	printf(".SH NAME\n");
	roff(name);
	printf(" \\- ");
	roff(c->summary);
	printf("\n.SH SYNOPSIS\n\\fBspanprof %s\\fR ", c->name);
	roff(c->usage);
	printf("\n.SH DESCRIPTION\n");
	roff(c->summary);
	printf("\n");
	if (c->description && *c->description) {
		printf(".PP\n");
		roff(c->description);
		printf("\n");
	}
	printf(".SH OPTIONS\n");
	for (const struct cli_opt *o = c->opts; o && o->long_name; o++)
		man_opt(o);
	man_opt(&cli_help_opt);
	printf(".SH EXIT STATUS\n");
	roff(cli_exit_status);
	printf("\n");
	man_see_also(c->name);
}

static void man_env(void)
{
	man_head("spanprof-env", 7);
	printf(".SH NAME\nspanprof\\-env \\- the environment variables of a program profiled by spanprof\n");
	printf(".SH DESCRIPTION\n");
	roff(cli_env_intro);
	printf("\n.SH VARIABLES\n");
	for (const struct cli_env *e = cli_env_vars; e->name; e++) {
		printf(".TP\n\\fB");
		roff(e->name);
		printf("\\fR");
		if (*e->def) {
			printf(" (default: \\fB");
			roff(e->def);
			printf("\\fR)");
		}
		printf("\n");
		roff(e->help);
		printf("\n");
	}
	printf(".SH NOTES\n");
	roff(cli_env_notes);
	printf("\n");
	man_see_also("env");
}

int cli_gen_man(const char *page)
{
	if (!strcmp(page, "spanprof")) {
		man_main();
		return 0;
	}
	if (!strcmp(page, "env")) {
		man_env();
		return 0;
	}
	const struct cli_cmd *c = cli_find(page);
	if (!c)
		return msg_usagef(NULL, "no man page for '%s'", page);
	man_cmd(c);
	return 0;
}

/* The alternatives written after an option in a usage line, such as
 * "duration start name" for "--sort duration|start|name"; "" when the
 * value is a placeholder (KEY, PATH|NODE). */
static void usage_values(const char *usage, const char *long_name, char *out, size_t cap)
{
	char key[64];
	snprintf(key, sizeof key, "--%s ", long_name);
	out[0] = '\0';
	const char *s = strstr(usage, key);
	if (!s)
		return;
	s += strlen(key);
	size_t n = strcspn(s, " ]");
	if (n >= cap || !memchr(s, '|', n) || !islower((unsigned char)s[0]))
		return;
	for (size_t i = 0; i < n; i++)
		out[i] = s[i] == '|' ? ' ' : s[i];
	out[n] = '\0';
}

/* The options of a command as words, and the ones taking a value as a
 * case pattern ("-f|--file|--min-ms"). */
static void opt_words(const struct cli_cmd *c, bool with_value, const char *sep)
{
	const char *pre = "";
	for (const struct cli_opt *o = c->opts; o && o->long_name; o++) {
		if (with_value != !!o->arg)
			continue;
		if (o->short_name)
			printf("%s-%c", pre, o->short_name), pre = sep;
		printf("%s--%s", pre, o->long_name);
		pre = sep;
	}
	if (!with_value)
		printf("%s-%c%s--%s", pre, cli_help_opt.short_name, sep, cli_help_opt.long_name);
}

static void completion_cmd(const struct cli_cmd *c)
{
	printf("\t%s)\n\t\topts=\"", c->name);
	opt_words(c, false, " ");
	printf(" ");
	opt_words(c, true, " ");
	printf("\"\n\t\tvopts=\"");
	opt_words(c, true, " ");
	printf("\"\n");
	bool any = false;
	for (const struct cli_opt *o = c->opts; o && o->long_name; o++)
		any |= o->arg != NULL;
	if (any) {
		printf("\t\tcase $prev in\n");
		for (const struct cli_opt *o = c->opts; o && o->long_name; o++) {
			if (!o->arg)
				continue;
			char values[256];
			usage_values(c->usage, o->long_name, values, sizeof values);
			printf("\t\t");
			if (o->short_name)
				printf("-%c|", o->short_name);
			printf("--%s) ", o->long_name);
			if (*values)
				printf("COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")) ;;\n", values);
			else if (!strcmp(o->arg, "FILE") || !strcmp(o->arg, "OUT"))
				printf("_spanprof_files ;;\n");
			else if (!strcmp(o->arg, "PID"))
				printf("_spanprof_pids ;;\n");
			else
				printf(";; # %s\n", o->arg);
		}
		printf("\t\t*) false ;;\n\t\tesac && return\n");
	}
	printf("\t\t;;\n");
}

int cli_gen_completion(const char *shell)
{
	if (strcmp(shell, "bash"))
		return msg_usagef(NULL, "no completion for the shell '%s' (bash only)", shell);
	printf("# bash completion for spanprof. Generated by `spanprof --gen-completion bash`\n"
	       "# from the tables that print --help: edit those, not this file.\n\n");
	printf("_spanprof_files() { compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")); }\n");
	printf("_spanprof_pids() { COMPREPLY=($(compgen -W \"$(cd /proc && printf '%%s ' [0-9]*)\" -- \"$cur\")); "
	       "}\n\n");
	printf("_spanprof()\n{\n"
	       "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	       "\tlocal cmd= at=0 i w opts vopts\n"
	       "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	       "\t\tcase ${COMP_WORDS[i]} in\n"
	       "\t\t-*) ;;\n"
	       "\t\t*) cmd=${COMP_WORDS[i]} at=$i; break ;;\n"
	       "\t\tesac\n"
	       "\tdone\n"
	       "\tif [[ -z $cmd ]]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W \"");
	for (const struct cli_cmd *c = cli_cmds; c->name; c++)
		printf("%s ", c->name);
	printf("--help --version\" -- \"$cur\"))\n\t\treturn\n\tfi\n");
	printf("\tcase $cmd in\n");
	for (const struct cli_cmd *c = cli_cmds; c->name; c++)
		completion_cmd(c);
	printf("\t*) return ;;\n\tesac\n");
	/* Operands. `run` stops at its first operand: the program, then its
	 * own arguments. */
	printf("\tif [[ $cmd == run ]]; then\n"
	       "\t\tfor ((i = at + 1; i <= COMP_CWORD; i++)); do\n"
	       "\t\t\tw=${COMP_WORDS[i]}\n"
	       "\t\t\tif ((i < COMP_CWORD)); then\n"
	       "\t\t\t\tcase \" $vopts \" in *\" $w \"*) ((i++)); continue ;; esac\n"
	       "\t\t\t\t[[ $w == -- ]] && { ((i++)); break; }\n"
	       "\t\t\tfi\n"
	       "\t\t\t[[ $w == -* ]] || break\n"
	       "\t\tdone\n"
	       "\t\tif ((i <= COMP_CWORD)); then # the program, then its arguments\n"
	       "\t\t\tif declare -F _command_offset >/dev/null; then\n"
	       "\t\t\t\t_command_offset $i\n"
	       "\t\t\telif ((i == COMP_CWORD)); then\n"
	       "\t\t\t\tCOMPREPLY=($(compgen -c -- \"$cur\" | sort -u))\n"
	       "\t\t\telse\n"
	       "\t\t\t\t_spanprof_files\n"
	       "\t\t\tfi\n"
	       "\t\t\treturn\n"
	       "\t\tfi\n"
	       "\tfi\n");
	printf("\tif [[ $cur == -* ]]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	       "\telif [[ $cmd == help ]]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W \"");
	for (const struct cli_cmd *c = cli_cmds; c->name; c++)
		printf("%s ", c->name);
	printf("env\" -- \"$cur\"))\n");
	/* ctl: PID, then one of the words of its usage line. */
	const struct cli_cmd *ctl = cli_find("ctl");
	const char *verbs = ctl ? strchr(ctl->usage, ' ') : NULL;
	if (verbs) {
		printf("\telif [[ $cmd == ctl ]]; then\n"
		       "\t\tif ((COMP_CWORD == at + 1)); then _spanprof_pids\n"
		       "\t\telse COMPREPLY=($(compgen -W \"");
		for (const char *s = verbs + 1; *s; s++)
			putchar(*s == '|' ? ' ' : *s);
		printf("\" -- \"$cur\")); fi\n");
	}
	printf("\telse\n\t\t_spanprof_files\n\tfi\n}\n");
	printf("complete -F _spanprof spanprof\n");
	return 0;
}
