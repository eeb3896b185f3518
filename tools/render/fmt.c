/* render/fmt.c - see fmt.h. */
#include "render/fmt.h"

#include <stdlib.h>
#include <sys/ioctl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cxxname.h"

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
			if (x->marker) {
				fputs(x->v.str, f); /* <optimized out>: no value, so no quotes */
			} else if (strpbrk(x->v.str, " \t\"") || !*x->v.str) {
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

unsigned fmt_width(long opt)
{
	if (opt >= 0)
		return (unsigned)opt;
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* Columns of UTF-8 text: one per code point (names are ASCII but for '…'). */
size_t fmt_cols(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* The longest top-level <...> or (...) group of s whose content is not
 * already "…": [*open, *close] are its brackets. */
static bool longest_group(const char *s, size_t *open, size_t *close)
{
	size_t n = strlen(s), best = 0, at = 0;
	int depth = 0;
	for (size_t i = 0; i < n; i++) {
		size_t op = depth == 0 ? sp__cxx_operator_len(s, n, i) : 0;
		if (op) {
			i += op - 1;
			continue;
		}
		char c = s[i];
		if (c == '<' || c == '(' || c == '[' || c == '{') {
			if (depth++ == 0)
				at = i;
		} else if ((c == '>' || c == ')' || c == ']' || c == '}') && depth > 0) {
			if (--depth == 0 && (s[at] == '<' || s[at] == '(') && i - at - 1 > best &&
			    strncmp(s + at + 1, "…", i - at - 1)) {
				best = i - at - 1;
				*open = at;
				*close = i;
			}
		}
	}
	return best > 0;
}

static char *skip_cols(char *p, size_t k)
{
	while (k && *p) {
		p++;
		while (((unsigned char)*p & 0xc0) == 0x80)
			p++;
		k--;
	}
	return p;
}

const char *fmt_shorten(const char *name, unsigned max, char *buf, size_t size)
{
	if (!max || fmt_cols(name) <= max || strlen(name) >= size)
		return name;
	strcpy(buf, name);
	/* Template arguments and parameter lists go first, longest first:
	 * "std::__introsort_loop<…>(…)" still says what it is. */
	size_t open, close;
	while (fmt_cols(buf) > max && longest_group(buf, &open, &close)) {
		memmove(buf + open + 1 + 3, buf + close, strlen(buf + close) + 1);
		memcpy(buf + open + 1, "…", 3);
	}
	size_t cols = fmt_cols(buf);
	if (cols > max && max >= 5) {
		/* still too long: keep its start and its end (the function) */
		size_t head = (max - 1) / 2, tail = max - 1 - head, skip = cols - head - tail;
		char *p = skip_cols(buf, head), *q = skip_cols(p, skip);
		memmove(p + 3, q, strlen(q) + 1);
		memcpy(p, "…", 3);
	}
	return buf;
}
