/* The runtime's glob matching (runtime/config.c): SPANPROF_TRACE_CALLS,
 * SPANPROF_TRACE_ALL, SPANPROF_EXCLUDE ... patterns. Its functions are
 * hidden in libspanprof.so; the static library links them in. */
#include <criterion/criterion.h>

#include "internal.h"

#define yes(p, s) cr_assert(sp__glob_match(p, s), "'%s' matches '%s'", p, s)
#define no(p, s) cr_assert_not(sp__glob_match(p, s), "'%s' does not match '%s'", p, s)

Test(glob, literals_and_wildcards)
{
	yes("", "");
	no("", "a");
	yes("main", "main");
	no("main", "mai");
	no("main", "mainx");
	yes("*", "");
	yes("*", "anything");
	yes("grid_*", "grid_");
	yes("grid_*", "grid_cell");
	no("grid_*", "grid");
	yes("*_cell", "render_cell");
	yes("a*b*c", "axxbyyc");
	yes("a*b*c", "abcbc");
	no("a*b*c", "axxbyy");
	yes("?", "x");
	no("?", "");
	no("?", "xy");
	yes("a?c", "abc");
	yes("**x", "x");
	yes("*a*", "banana");
	yes("*ab", "aab"); /* the star gives back what it took */
}

Test(glob, classes)
{
	yes("[abc]x", "bx");
	no("[abc]x", "dx");
	yes("[a-c]", "b");
	no("[a-c]", "d");
	yes("[!a-c]", "d");
	yes("[^a-c]", "d");
	no("[!a-c]", "a");
	yes("[]]", "]"); /* ']' first is a member */
	yes("[a-]", "-");
	yes("f[0-9][0-9]", "f42");
	no("f[0-9][0-9]", "f4x");
	yes("*[0-9]", "call7");
	/* An unterminated '[' is a literal. */
	yes("a[b", "a[b");
	no("a[b", "ab");
}

Test(glob, names_with_compiler_suffixes)
{
	const char *names[] = { "grid_*", "main" };
	struct sp__globs g = { .names = names, .nnames = 2 };
	cr_assert(sp__globs_match_name(&g, "grid_cell"));
	cr_assert(sp__globs_match_name(&g, "main.cold"));
	cr_assert(sp__globs_match_name(&g, "main.constprop.0"));
	cr_assert_not(sp__globs_match_name(&g, "mainly"));
	cr_assert_not(sp__globs_match_name(&g, ""));
	cr_assert_not(sp__globs_match_name(&g, NULL));
	cr_assert_eq(sp__globs_find_name(&g, "grid_x"), 0);
	cr_assert_eq(sp__globs_find_name(&g, "main"), 1);
	cr_assert_eq(sp__globs_find_name(&g, "other"), -1);
}

Test(glob, files_by_base_name_or_path_end)
{
	const char *files[] = { "grid.c", "src/ui/*.c" };
	struct sp__globs g = { .files = files, .nfiles = 2 };
	cr_assert(sp__globs_match_file(&g, "/home/me/app/grid.c"));
	cr_assert(sp__globs_match_file(&g, "grid.c"));
	cr_assert_not(sp__globs_match_file(&g, "/home/me/app/grid.cc"));
	cr_assert_not(sp__globs_match_file(&g, "/home/me/app/mygrid.c"));
	cr_assert(sp__globs_match_file(&g, "/home/me/app/src/ui/menu.c"));
	cr_assert_not(sp__globs_match_file(&g, "/home/me/app/src/core/menu.c"));
	cr_assert_not(sp__globs_match_file(&g, NULL));
}
