/* The CLI's pure helpers: number formatting (render/fmt.c) and option
 * parsing (cli.c), on values and argument vectors. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "render/fmt.h"

static const char *ms(uint64_t ns)
{
	static char buf[32];
	return fmt_ms(buf, sizeof buf, ns);
}

Test(fmt, ms_three_decimals_from_one_ms)
{
	cr_assert_str_eq(ms(1000000), "1.000");
	cr_assert_str_eq(ms(12345678), "12.346"); /* rounded to the nearest us */
	cr_assert_str_eq(ms(12345499), "12.345");
	cr_assert_str_eq(ms(999999999), "1000.000");
	cr_assert_str_eq(ms(UINT64_C(18446744073709551615)), "18446744073709.552");
}

Test(fmt, ms_four_decimals_under_one_ms)
{
	cr_assert_str_eq(ms(0), "0.0000");
	cr_assert_str_eq(ms(49), "0.0000");
	cr_assert_str_eq(ms(50), "0.0001");
	cr_assert_str_eq(ms(400000), "0.4000");
	cr_assert_str_eq(ms(999949), "0.9999");
	/* What rounds up to 1 ms reads as 1 ms does. */
	cr_assert_str_eq(ms(999950), "1.000");
	cr_assert_str_eq(ms(999999), "1.000");
}

Test(fmt, ms_cut_at_the_end_to_fit)
{
	char buf[5];
	cr_assert_str_eq(fmt_ms(buf, sizeof buf, 12345678000), "1234");
	cr_assert_str_eq(fmt_ms(buf, 1, 5), "");
}

Test(fmt, wall_clock)
{
	setenv("TZ", "UTC", 1);
	char buf[64];
	cr_assert_str_eq(fmt_wall(buf, sizeof buf, UINT64_C(1767225600050000000)), "2026-01-01 00:00:00.050");
	cr_assert_str_eq(fmt_wall(buf, sizeof buf, UINT64_C(1767225661999999999)), "2026-01-01 00:01:01.999");
}

Test(fmt, data_quotes_strings_that_need_it)
{
	sp_kv kv[] = {
		{ .key = "n", .type = SP_VALUE_I64, .v.i64 = -3 },
		{ .key = "u", .type = SP_VALUE_U64, .v.u64 = 18446744073709551615ull },
		{ .key = "f", .type = SP_VALUE_F64, .v.f64 = 0.25 },
		{ .key = "b", .type = SP_VALUE_BOOL, .v.b = true },
		{ .key = "s", .type = SP_VALUE_STR, .v.str = "plain" },
		{ .key = "q", .type = SP_VALUE_STR, .v.str = "a \"b\"" },
		{ .key = "e", .type = SP_VALUE_STR, .v.str = "" },
		{ .key = "t", .type = SP_VALUE_STR, .v.str = "cut", .truncated = true },
		{ .key = "n", .type = SP_VALUE_I64, .v.i64 = 4 }, /* set twice: the last one */
	};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	fmt_data(f, kv, sizeof kv / sizeof kv[0]);
	fclose(f);
	cr_assert_str_eq(out, "u=18446744073709551615 f=0.25 b=true s=plain q=\"a \\\"b\\\"\" e=\"\" t=cut… n=4");
	free(out);
}

Test(fmt, colors_as_asked)
{
	cr_assert(fmt_color_setup("always"));
	cr_assert_str_eq(fmt_c(C_RED), "\033[31m");
	cr_assert_not(fmt_color_setup("never"));
	cr_assert_str_eq(fmt_c(C_RED), "");
}

/* Option parsing, on `diff`'s options: -f FILE, --min-ms X, --limit N,
 * --json (ids 'f', 'm', 'l', 'j'). */
static struct cli_parser parser(char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	struct cli_parser p;
	cli_init(&p, "diff", argc, argv);
	return p;
}

Test(cli, options_values_and_operands)
{
	char *argv[] = { "diff", "1", "-f", "a.out", "--min-ms=0.5", "--limit", "7", "--json", "2", NULL };
	struct cli_parser p = parser(argv);
	cr_assert_eq(cli_next(&p), 'f');
	cr_assert_str_eq(p.arg, "a.out");
	cr_assert_eq(cli_next(&p), 'm');
	cr_assert_str_eq(p.arg, "0.5");
	cr_assert_eq(cli_next(&p), 'l');
	cr_assert_str_eq(p.arg, "7");
	cr_assert_eq(cli_next(&p), 'j');
	cr_assert_eq(cli_next(&p), CLI_END);
	/* Operands wherever they were, in their order, after the options. */
	cr_assert_eq(p.ind, 7);
	cr_assert_str_eq(argv[p.ind], "1");
	cr_assert_str_eq(argv[p.ind + 1], "2");
}

Test(cli, double_dash_ends_the_options)
{
	char *argv[] = { "diff", "--", "-f", "x", NULL };
	struct cli_parser p = parser(argv);
	cr_assert_eq(cli_next(&p), CLI_END);
	cr_assert_str_eq(argv[p.ind], "-f");
}

Test(cli, usage_errors, .init = cr_redirect_stderr)
{
	char *unknown[] = { "diff", "--nope", NULL };
	struct cli_parser p = parser(unknown);
	cr_assert_eq(cli_next(&p), CLI_ERROR);
	char *missing[] = { "diff", "--limit", NULL };
	p = parser(missing);
	cr_assert_eq(cli_next(&p), CLI_ERROR);
	char *shortopt[] = { "diff", "-x", NULL };
	p = parser(shortopt);
	cr_assert_eq(cli_next(&p), CLI_ERROR);
	fflush(stderr);
	cr_assert_stderr_eq_str("spanprof: unknown option '--nope'\n"
				"spanprof: try 'spanprof diff --help'\n"
				"spanprof: option '--limit' needs a value\n"
				"spanprof: try 'spanprof diff --help'\n"
				"spanprof: unknown option '-x'\n"
				"spanprof: try 'spanprof diff --help'\n");
}

static int uint_of(const char *s, unsigned long long max, unsigned long long *v)
{
	char *argv[] = { "diff", NULL };
	struct cli_parser p = parser(argv);
	return cli_uint(&p, "--limit", s, max, v);
}

Test(cli, whole_numbers, .init = cr_redirect_stderr)
{
	unsigned long long v = 99;
	cr_assert_eq(uint_of("0", 10, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(uint_of("10", 10, &v), 0);
	cr_assert_eq(v, 10);
	cr_assert_eq(uint_of("18446744073709551615", ~0ull, &v), 0);
	cr_assert_eq(v, ~0ull);
	v = 5;
	const char *bad[] = { "", "11", "-1", "1x", "x", "1.5", " 1", "+1", "18446744073709551616", NULL };
	for (const char **s = bad; *s; s++) {
		cr_assert_eq(uint_of(*s, 10, &v), -1, "'%s'", *s);
		cr_assert_eq(v, 5, "'%s' left the value alone", *s);
	}
}

static int double_of(const char *s, double *v)
{
	char *argv[] = { "diff", NULL };
	struct cli_parser p = parser(argv);
	return cli_double(&p, "--min-ms", s, v);
}

Test(cli, numbers, .init = cr_redirect_stderr)
{
	double v = -1;
	cr_assert_eq(double_of("0", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(double_of("2.5", &v), 0);
	cr_assert_eq(v, 2.5);
	cr_assert_eq(double_of(".5", &v), 0);
	cr_assert_eq(v, 0.5);
	cr_assert_eq(double_of("1e3", &v), 0);
	cr_assert_eq(v, 1000);
	v = 7;
	const char *bad[] = { "", "-1", "-0.5", "x", "1x", "nan", "inf", "1e999", " 1", "+1", NULL };
	for (const char **s = bad; *s; s++) {
		cr_assert_eq(double_of(*s, &v), -1, "'%s'", *s);
		cr_assert_eq(v, 7, "'%s' left the value alone", *s);
	}
}
