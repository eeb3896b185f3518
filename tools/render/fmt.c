/* render/fmt.c - see fmt.h. */
#include "render/fmt.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *fmt_ms(char *buf, size_t size, uint64_t ns)
{
	/* ms everywhere; under 1 ms a fourth decimal (0.1 us) keeps short
	 * spans from all reading 0.000. Integer arithmetic: printf's floating
	 * point was a quarter of `show` on a million spans. */
	unsigned decimals = ns < 999950 ? 4 : 3; /* what rounds to 1 ms is 1.000, not 1.0000 */
	uint64_t unit = decimals == 4 ? 100 : 1000; /* ns per last digit */
	uint64_t v = ns / unit + (ns % unit >= unit / 2); /* rounded; ns + unit / 2 could wrap */
	uint64_t scale = decimals == 4 ? 10000 : 1000;
	char tmp[32];
	int n = 0;
	uint64_t frac = v % scale, whole = v / scale;
	for (unsigned i = 0; i < decimals; i++, frac /= 10)
		tmp[sizeof tmp - 1 - n++] = (char)('0' + frac % 10);
	tmp[sizeof tmp - 1 - n++] = '.';
	do {
		tmp[sizeof tmp - 1 - n++] = (char)('0' + whole % 10);
		whole /= 10;
	} while (whole);
	size_t len = (size_t)n + 1 > size ? size - 1 : (size_t)n; /* cut at the end, as snprintf */
	memcpy(buf, tmp + sizeof tmp - n, len);
	buf[len] = '\0';
	return buf;
}

const char *fmt_wall(char *buf, size_t size, uint64_t epoch_ns)
{
	time_t secs = (time_t)(epoch_ns / 1000000000u);
	struct tm tm;
	if (!localtime_r(&secs, &tm)) {
		snprintf(buf, size, "?");
		return buf;
	}
	size_t n = strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03u", (unsigned)(epoch_ns / 1000000u % 1000u));
	return buf;
}

void fmt_data(FILE *f, const sp_kv *kv, uint32_t n)
{
	bool first = true;
	for (uint32_t i = 0; i < n; i++) {
		bool later = false;
		for (uint32_t k = i + 1; k < n && !later; k++)
			later = !strcmp(kv[k].key, kv[i].key);
		if (later)
			continue;
		const sp_kv *x = &kv[i];
		fprintf(f, "%s%s=", first ? "" : " ", x->key);
		first = false;
		switch (x->type) {
		case SP_VALUE_I64: fprintf(f, "%lld", (long long)x->v.i64); break;
		case SP_VALUE_U64: fprintf(f, "%llu", (unsigned long long)x->v.u64); break;
		case SP_VALUE_F64: fprintf(f, "%g", x->v.f64); break;
		case SP_VALUE_BOOL: fputs(x->v.b ? "true" : "false", f); break;
		case SP_VALUE_STR:
			if (strpbrk(x->v.str, " \t\"") || !*x->v.str) {
				fputc('"', f);
				for (const char *p = x->v.str; *p; p++) {
					if (*p == '"' || *p == '\\')
						fputc('\\', f);
					fputc(*p, f);
				}
				fputc('"', f);
			} else {
				fputs(x->v.str, f);
			}
			if (x->truncated)
				fputs("…", f);
			break;
		}
	}
}

static bool colors;

bool fmt_color_setup(const char *mode)
{
	if (!mode || !strcmp(mode, "auto"))
		colors = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && getenv("TERM") && strcmp(getenv("TERM"), "dumb");
	else
		colors = !strcmp(mode, "always");
	return colors;
}

const char *fmt_c(enum fmt_color c)
{
	static const char *codes[] = { "\033[0m", "\033[2m", "\033[1m", "\033[31m", "\033[33m", "\033[36m", "\033[32m" };
	return colors ? codes[c] : "";
}

void fmt_big_stdout(void)
{
	static char buf[1 << 20];
	setvbuf(stdout, buf, _IOFBF, sizeof buf);
}
