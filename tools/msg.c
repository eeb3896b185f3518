/* msg.c - the CLI's messages. Each is one line: the helpers add the
 * prefix and the newline, and refuse a newline inside (a message that
 * needs two lines is two messages). */
#define _GNU_SOURCE /* vasprintf */
#include "msg.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Write `s` with its control characters quoted (\n, \r, \t, \xHH):
 * messages echo file names, arguments and the contents of dumps, and a
 * newline or an escape sequence in one must not start a line of its own
 * or drive the terminal. */
static void put_quoted(const char *s, FILE *f)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\r')
			fputs("\\r", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

static void vline(const char *prefix, const char *fmt, va_list ap)
{
	assert(!strchr(fmt, '\n'));
	msg_progress_done();
	fflush(stdout);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	fprintf(stderr, "spanprof: %s", prefix);
	put_quoted(msg ? msg : fmt, stderr);
	fputc('\n', stderr);
	free(msg);
}

void msg_errorf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline("", fmt, ap);
	va_end(ap);
}

void msg_warnf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline("warning: ", fmt, ap);
	va_end(ap);
}

int msg_usagef(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline("", fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "spanprof: try 'spanprof %s --help'\n", cmd);
	else
		fprintf(stderr, "spanprof: try 'spanprof --help'\n");
	return 2;
}

static double started = -1;
static bool shown;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void msg_progress(const char *fmt, ...)
{
	if (started < 0)
		started = now_s();
	if (now_s() - started < 1.0 || !isatty(STDERR_FILENO))
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("\rspanprof: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\033[K", stderr);
	va_end(ap);
	shown = true;
}

void msg_progress_done(void)
{
	if (shown) {
		fputs("\r\033[K", stderr);
		shown = false;
	}
}
