/* plugin_filter.c - an instrumented shared library that the plugin host
 * loads with dlopen, unloads, and loads again. */
#include <string.h>

static int filter_match(const char *row, const char *needle)
{
	return strstr(row, needle) != NULL;
}

static int filter_score(const char *row)
{
	unsigned s = 0;
	for (const char *p = row; *p; p++)
		s = s * 31 + (unsigned char)*p;
	return (int)(s & 0xffff);
}

int filter_rows(const char **rows, int n, const char *needle)
{
	int total = 0;
	for (int i = 0; i < n; i++)
		if (filter_match(rows[i], needle))
			total += filter_score(rows[i]);
	return total;
}
