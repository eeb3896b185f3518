/* cli.h - subcommands and their options, as data.
 *
 * Each subcommand is one entry of the table in main.c and one file
 * (cmd/NAME.c) exporting `int cmd_NAME(int argc, char **argv)`. Its
 * options are an array of struct cli_opt, from which both parsing
 * (getopt_long) and --help are generated:
 *
 *   static const struct cli_opt opts[] = {
 *       { 'f', "file", "FILE", "dump to read (default: spanprof.out)", 'f' },
 *       { 0, "json", NULL, "print JSON", 'j' },
 *       { 0 },
 *   };
 *   struct cli_parser p;
 *   cli_init(&p, "show", argc, argv, opts);
 *   for (int o; (o = cli_next(&p)) != CLI_END;) {
 *       if (o == CLI_HELP) return 0;
 *       if (o == CLI_ERROR) return 2;
 *       ...
 *   }
 *   // operands: argv[p.ind .. argc)
 *
 * Names. The CLI is a program, not a library, and never uses the public
 * prefix sp_ (that is include/spanprof.h's, e.g. sp_dump() which writes a
 * dump) for its own names: each folder's files use the prefix of their
 * role, so a name says where it lives:
 *   cli_           option parsing (cli.c)
 *   cmd_           subcommands (cmd/) and what they share (common.c)
 *   msg_           messages on stderr (msg.c)
 *   rd_            reading a dump (read/): struct rd_dump, rd_tree, rd_symbolizer
 *   live_ hashmap_ the rest of read/
 *   fmt_ json_ model_json_ pie_  render/
 *   export_        export/
 * What the CLI shares with the runtime comes from common/ with the
 * runtime's internal prefix sp__ (sp__decode, format.h's SP_ constants).
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>

struct cli_opt {
	int short_name;        /* 'f', or 0 */
	const char *long_name; /* "file" */
	const char *arg;       /* "FILE"; NULL for a flag */
	const char *help;      /* one line, "(default: ...)" included */
	int id;                /* what cli_next returns for it */
};

struct cli_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;     /* one line, in the command list */
	const char *usage;       /* "[-f FILE] [--json] SEQ" */
	const char *description; /* a paragraph, '\n' separated */
	const struct cli_opt *opts;
	bool stop_at_operand; /* options end at the first operand (run PROG ARGS) */
};

#define CLI_END (-1)
#define CLI_HELP (-2)  /* --help was given and printed: exit 0 */
#define CLI_ERROR (-3) /* a usage error was printed: exit 2 */

struct cli_parser {
	const struct cli_cmd *cmd;
	int argc;
	char **argv;
	int ind;          /* first operand, after cli_next returned CLI_END */
	const char *arg;  /* the option's argument */
	void *state;
};

const struct cli_cmd *cli_find(const char *name);
void cli_init(struct cli_parser *p, const char *cmd, int argc, char **argv);
int cli_next(struct cli_parser *p);
void cli_help(const struct cli_cmd *cmd);

/* Strict number parsing for option values: 0 on success, else a usage
 * error is printed and -1 returned. */
int cli_uint(const struct cli_parser *p, const char *what, const char *s, unsigned long long max,
	     unsigned long long *out);
int cli_double(const struct cli_parser *p, const char *what, const char *s, double *out);

/* The subcommand table (main.c). */
extern const struct cli_cmd cli_cmds[];

/* What every command's help ends with: the implicit --help option and the
 * exit status line (cli.c), shared with the man pages (cli_doc.c). */
extern const struct cli_opt cli_help_opt;
extern const char cli_exit_status[];

/* The environment of the profiled program, as `spanprof help env` prints
 * it (cmd_help.c): rows up to one with a NULL name, an introduction and
 * closing notes. */
struct cli_env {
	const char *name;
	const char *def; /* "" when unset means off */
	const char *help;
};
extern const struct cli_env cli_env_vars[];
extern const char cli_env_intro[], cli_env_notes[];

/* Hidden modes run at build time (cli_doc.c): the man page of the program
 * ("spanprof"), of a command or of the environment ("env"), in roff; the
 * completion script for a shell ("bash"). 0, or 2 (a usage error
 * printed) for an unknown name. */
int cli_gen_man(const char *page);
int cli_gen_completion(const char *shell);

#endif
