/* config.c - the SPANPROF_* environment, read once at start.
 *
 * Every variable is read with secure_getenv (ignored in set-uid programs)
 * and parsed strictly: a bad value gets one "spanprof:" line on stderr and
 * the default, never an exit. Unknown SPANPROF_* names are reported too, as
 * they are almost always typos.
 */
#include "internal.h"

#include "cxxname.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sp__config sp__cfg = {
	.output = SP_DEFAULT_OUTPUT,
	.max_traces = PROFILER_MAX_TRACES,
	.buffer_mb = SP_DEFAULT_BUFFER_MB,
	.cpu = true,
	.str_max = SP_MAX_STR_LEN,
	.keep_slowest = SP_DEFAULT_KEEP_SLOWEST,
};

/* How many bytes byte `c` takes in a message: control characters are
 * quoted (\n, \r, \t, \xHH), since messages echo values from the
 * environment, paths and names, and a newline in one must not start a line
 * that is not spanprof's, nor an escape sequence drive the terminal. */
static size_t quoted_len(unsigned char c)
{
	if (c == '\n' || c == '\r' || c == '\t')
		return 2;
	return c < 0x20 || c == 0x7f ? 4 : 1;
}

/* Quote the first `len` bytes of `buf` in place, keeping at most `cap`
 * bytes; returns the new length. Done backwards, from where each byte
 * lands, which is never before where it was: no second buffer (this runs
 * in signal handlers, maybe on a small alternate stack). */
static size_t quote_in_place(char *buf, size_t len, size_t cap)
{
	size_t n = 0, out = 0;
	while (n < len && out + quoted_len((unsigned char)buf[n]) <= cap)
		out += quoted_len((unsigned char)buf[n++]);
	size_t w = out;
	while (n > 0) {
		unsigned char c = (unsigned char)buf[--n];
		size_t k = quoted_len(c);
		w -= k;
		if (k == 1) {
			buf[w] = (char)c;
		} else if (k == 2) {
			buf[w] = '\\';
			buf[w + 1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else {
			buf[w] = '\\';
			buf[w + 1] = 'x';
			buf[w + 2] = "0123456789abcdef"[c >> 4];
			buf[w + 3] = "0123456789abcdef"[c & 15];
		}
	}
	return out;
}

/* One line on stderr, written with a single write(2) so that lines from
 * several threads do not interleave, and so that it works in a handler. */
static void vwarn(const char *fmt, va_list ap)
{
	char buf[512];
	static const char prefix[] = "spanprof: ";
	size_t n = sizeof prefix - 1;
	memcpy(buf, prefix, n);
	size_t room = sizeof buf - n - 1; /* the newline */
	int m = vsnprintf(buf + n, room, fmt, ap);
	if (m < 0)
		m = 0;
	size_t len = (size_t)m < room ? (size_t)m : room - 1;
	len = n + quote_in_place(buf + n, len, room - 1);
	buf[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, buf, len);
	(void)w;
}

void sp__warn(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	errno = e;
}

void sp__warn_once(atomic_int *flag, const char *fmt, ...)
{
	if (atomic_exchange(flag, 1))
		return;
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	errno = e;
}

/* ------------------------------------------------------------------------
 * Glob matching: '*', '?', and '[...]' classes with ranges and '!' or '^'
 * negation, over bytes. Written here rather than using fnmatch(3), which may
 * allocate (multibyte locales) and so cannot run in a hook.
 */
static bool class_match(const char **pp, unsigned char c)
{
	const char *p = *pp + 1; /* after '[' */
	bool neg = false, hit = false;
	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	bool first = true;
	while (*p && (*p != ']' || first)) {
		unsigned char lo = (unsigned char)*p, hi = lo;
		if (p[1] == '-' && p[2] && p[2] != ']') {
			hi = (unsigned char)p[2];
			p += 2;
		}
		if (c >= lo && c <= hi)
			hit = true;
		p++;
		first = false;
	}
	if (*p != ']') /* unterminated: treat '[' as a literal */
		return false;
	*pp = p + 1;
	return hit != neg;
}

bool sp__glob_match(const char *pat, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;
	while (*s) {
		if (*pat == '*') {
			star_p = ++pat;
			star_s = s;
			continue;
		}
		if (*pat == '?') {
			pat++;
			s++;
			continue;
		}
		if (*pat == '[') {
			const char *q = pat;
			if (class_match(&q, (unsigned char)*s)) {
				pat = q;
				s++;
				continue;
			}
			if (strchr(pat + 1, ']')) /* a real class that did not match */
				goto backtrack;
		}
		if (*pat == *s) {
			pat++;
			s++;
			continue;
		}
	backtrack:
		if (!star_p)
			return false;
		pat = star_p;
		s = ++star_s;
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

int sp__globs_find_name(const struct sp__globs *g, const char *name)
{
	if (!name || !*name)
		return -1;
	/* gcc's clones and split parts ("foo.constprop.0", "foo.cold") are the
	 * function "foo" for the user. */
	char base[256];
	const char *dot = strchr(name, '.');
	const char *alt = NULL;
	if (dot && dot != name && (size_t)(dot - name) < sizeof base) {
		memcpy(base, name, (size_t)(dot - name));
		base[dot - name] = '\0';
		alt = base;
	}
	for (uint32_t i = 0; i < g->nnames; i++) {
		if (sp__glob_match(g->names[i], name))
			return (int)i;
		if (alt && sp__glob_match(g->names[i], alt))
			return (int)i;
		/* A qualified name also matches from the right, on a "::"
		 * boundary: "Grid::*" is every method of every class Grid,
		 * "app::Grid::*" only app's. */
		size_t n = strlen(name);
		for (size_t at = sp__cxx_next_scope(name, n, 0); at < n; at = sp__cxx_next_scope(name, n, at))
			if (sp__glob_match(g->names[i], name + at))
				return (int)i;
	}
	return -1;
}

bool sp__globs_match_name(const struct sp__globs *g, const char *name)
{
	return sp__globs_find_name(g, name) >= 0;
}

/* A file: pattern matches the file's base name, or, when it has a '/', the
 * end of its path ("file:src/grid.c"). */
bool sp__globs_match_file(const struct sp__globs *g, const char *path)
{
	if (!path)
		return false;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (uint32_t i = 0; i < g->nfiles; i++) {
		const char *pat = g->files[i];
		if (!strchr(pat, '/')) {
			if (sp__glob_match(pat, base))
				return true;
			continue;
		}
		/* Try every suffix of the path that starts after a '/'. */
		for (const char *p = path; p; p = strchr(p, '/')) {
			if (*p == '/')
				p++;
			if (sp__glob_match(pat, p))
				return true;
			if (!*p)
				break;
		}
	}
	return false;
}

/* ------------------------------------------------------------------------
 * Parsing
 */
static const char *env(const char *name)
{
	return secure_getenv(name);
}

static bool parse_bool(const char *name, const char *v, bool def)
{
	if (!v)
		return def;
	static const char *yes[] = { "1", "true", "yes", "on" };
	static const char *no[] = { "0", "false", "no", "off", "" };
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
		if (!strcasecmp(v, yes[i]))
			return true;
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		if (!strcasecmp(v, no[i]))
			return false;
	sp__warn("%s='%s' is not 0/1/true/false/yes/no/on/off; using %s", name, v, def ? "1" : "0");
	return def;
}

static uint32_t parse_uint(const char *name, const char *v, uint32_t lo, uint32_t hi, uint32_t def)
{
	if (!v)
		return def;
	const char *p = v;
	uint64_t n = 0;
	bool ok = *p != '\0';
	for (; *p && ok; p++) {
		if (*p < '0' || *p > '9' || n > hi)
			ok = false;
		else
			n = n * 10 + (uint64_t)(*p - '0');
	}
	if (!ok || n < lo || n > hi) {
		sp__warn("%s='%s' is not an integer in %u..%u; using %u", name, v, lo, hi, def);
		return def;
	}
	return (uint32_t)n;
}

static bool is_identifier(const char *s, size_t len)
{
	if (!len || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/* Split a comma-separated list into name globs and file: globs. Items are
 * trimmed; empty items are ignored. With `params` (SPANPROF_TRACE), a name
 * may end in "@PARAM": the parameter whose value is the trace's id. '@'
 * is in no C or C++ function name, so it cannot be mistaken for part of
 * a glob. Memory comes from the arena. */
static void parse_globs(const char *name, const char *v, struct sp__globs *g, bool params)
{
	if (!v || !*v)
		return;
	size_t n = 1;
	for (const char *p = v; *p; p++)
		n += *p == ',';
	const char **names = sp__arena_alloc(n * sizeof *names);
	const char **files = sp__arena_alloc(n * sizeof *files);
	const char **pars = sp__arena_alloc(n * sizeof *pars);
	if (!names || !files || !pars) {
		sp__warn("%s: out of memory; ignored", name);
		return;
	}
	const char *p = v;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		const char *s = p;
		while (len && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len > 5 && !strncmp(s, "file:", 5)) {
			char *item = sp__arena_strndup(s + 5, len - 5);
			if (item)
				files[g->nfiles++] = item;
		} else if (len == 5 && !strncmp(s, "file:", 5)) {
			sp__warn("%s: 'file:' needs a file name (file:grid.c); ignored", name);
		} else if (len) {
			const char *at = memchr(s, '@', len);
			size_t glen = at ? (size_t)(at - s) : len;
			const char *par = NULL;
			if (at && !params) {
				sp__warn("%s: '%.*s': only SPANPROF_TRACE takes NAME@PARAM; ignored", name, (int)len, s);
				glen = 0;
			} else if (at && (!glen || !is_identifier(at + 1, len - glen - 1))) {
				sp__warn("%s: '%.*s' is not NAME@PARAM (PARAM a parameter's name); ignored", name,
					 (int)len, s);
				glen = 0;
			} else if (at) {
				par = sp__arena_strndup(at + 1, len - glen - 1);
			}
			char *item = glen ? sp__arena_strndup(s, glen) : NULL;
			if (item) {
				pars[g->nnames] = par;
				names[g->nnames++] = item;
			}
		}
		if (!e)
			break;
		p = e + 1;
	}
	g->names = names;
	g->params = pars;
	g->files = files;
}

/* Every variable spanprof reads; anything else starting SPANPROF_ is a typo. */
static const char *const known[] = {
	"SPANPROF_ENABLED", "SPANPROF_OUTPUT", "SPANPROF_MAX_TRACES", "SPANPROF_BUFFER_MB",
	"SPANPROF_TRACE_CALLS", "SPANPROF_TRACE_ALL", "SPANPROF_EXCLUDE", "SPANPROF_CUMULATIVE",
	"SPANPROF_TRACE", "SPANPROF_ARGS", "SPANPROF_DEBUG", "SPANPROF_SIGNAL",
	"SPANPROF_FLIGHT", "SPANPROF_CPU", "SPANPROF_SPAN_CPU", "SPANPROF_STR_MAX",
	"SPANPROF_KEEP_SLOWEST", "SPANPROF_MIN_MS",
};

extern char **environ;

static void check_unknown(void)
{
	for (char **e = environ; e && *e; e++) {
		if (strncmp(*e, "SPANPROF_", 9))
			continue;
		size_t len = strcspn(*e, "=");
		bool ok = false;
		for (size_t i = 0; i < sizeof known / sizeof *known; i++)
			if (strlen(known[i]) == len && !strncmp(*e, known[i], len))
				ok = true;
		if (!ok)
			sp__warn("unknown variable %.*s ignored (see 'spanprof help env')", (int)len, *e);
	}
}

static void output_path(void)
{
	const char *v = env("SPANPROF_OUTPUT");
	if (!v)
		return;
	if (!*v) { /* set but empty: no dump at exit */
		sp__cfg.output = NULL;
		return;
	}
	/* '%' may only introduce %p or %%. */
	for (const char *p = v; *p; p++) {
		if (*p != '%')
			continue;
		if (p[1] == 'p' || p[1] == '%') {
			p++;
			continue;
		}
		sp__warn("SPANPROF_OUTPUT='%s': only %%p (pid) and %%%% may follow '%%'; using %s", v,
			 SP_DEFAULT_OUTPUT);
		return;
	}
	char *copy = sp__arena_strdup(v);
	if (copy)
		sp__cfg.output = copy;
}

static void show(const char *name, const struct sp__globs *g)
{
	if (!g->nnames && !g->nfiles)
		return;
	char buf[400];
	size_t n = 0;
	for (uint32_t i = 0; i < g->nnames && n < sizeof buf - 1; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s%s%s", n ? "," : "", g->names[i],
				      g->params[i] ? "@" : "", g->params[i] ? g->params[i] : "");
	for (uint32_t i = 0; i < g->nfiles && n < sizeof buf - 1; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%sfile:%s", n ? "," : "", g->files[i]);
	sp__warn("  %s=%s", name, buf);
}

void sp__config_load(void)
{
	check_unknown();
	struct sp__config *c = &sp__cfg;
	c->debug = parse_bool("SPANPROF_DEBUG", env("SPANPROF_DEBUG"), false);
	c->max_traces = parse_uint("SPANPROF_MAX_TRACES", env("SPANPROF_MAX_TRACES"), 1,
				   SP_MAX_TRACES_LIMIT, PROFILER_MAX_TRACES);
	c->buffer_mb = parse_uint("SPANPROF_BUFFER_MB", env("SPANPROF_BUFFER_MB"), 1, SP_BUFFER_MB_LIMIT,
				  SP_DEFAULT_BUFFER_MB);
	output_path();
	c->cpu = parse_bool("SPANPROF_CPU", env("SPANPROF_CPU"), true);
	c->str_max = parse_uint("SPANPROF_STR_MAX", env("SPANPROF_STR_MAX"), 16, SP_STR_MAX_LIMIT, SP_MAX_STR_LEN);
	c->keep_slowest = parse_uint("SPANPROF_KEEP_SLOWEST", env("SPANPROF_KEEP_SLOWEST"), 0, SP_KEEP_SLOWEST_LIMIT,
				     SP_DEFAULT_KEEP_SLOWEST);
	c->min_ms = parse_uint("SPANPROF_MIN_MS", env("SPANPROF_MIN_MS"), 0, 86400000u, 0);
	c->span_cpu = parse_bool("SPANPROF_SPAN_CPU", env("SPANPROF_SPAN_CPU"), false);
	parse_globs("SPANPROF_TRACE_CALLS", env("SPANPROF_TRACE_CALLS"), &c->trace_calls, false);
	parse_globs("SPANPROF_TRACE_ALL", env("SPANPROF_TRACE_ALL"), &c->trace_all, false);
	parse_globs("SPANPROF_EXCLUDE", env("SPANPROF_EXCLUDE"), &c->exclude, false);
	parse_globs("SPANPROF_CUMULATIVE", env("SPANPROF_CUMULATIVE"), &c->cumulative, false);
	parse_globs("SPANPROF_TRACE", env("SPANPROF_TRACE"), &c->trace, true);
	parse_globs("SPANPROF_ARGS", env("SPANPROF_ARGS"), &c->args, false);
	const struct sp__globs *all[] = { &c->trace_calls, &c->trace_all, &c->cumulative, &c->trace,
					  &c->args };
	for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
		if (all[i]->nnames || all[i]->nfiles)
			c->any_globs = true;
		if (all[i]->nfiles)
			c->any_files = true;
	}
	if (c->exclude.nfiles)
		c->any_files = true;
	/* Setting a pattern implies recording, as SPANPROF_ENABLED=1 does. */
	c->enabled = parse_bool("SPANPROF_ENABLED", env("SPANPROF_ENABLED"), c->any_globs);
	if (c->debug) {
		sp__warn("settings: enabled=%d output=%s max_traces=%u buffer_mb=%u", c->enabled,
			 c->output ? c->output : "(none)", c->max_traces, c->buffer_mb);
		show("SPANPROF_TRACE_CALLS", &c->trace_calls);
		show("SPANPROF_TRACE_ALL", &c->trace_all);
		show("SPANPROF_EXCLUDE", &c->exclude);
		show("SPANPROF_CUMULATIVE", &c->cumulative);
		show("SPANPROF_TRACE", &c->trace);
		show("SPANPROF_ARGS", &c->args);
	}
}
