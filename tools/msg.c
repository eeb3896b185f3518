/* msg.c - the CLI's messages. Each is one line: the helpers add the
 * prefix and the newline, and refuse a newline inside (a message that
 * needs two lines is two messages). */
#include "msg.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void vline(const char *prefix, const char *fmt, va_list ap)
{
	assert(!strchr(fmt, '\n'));
	msg_progress_done();
	fflush(stdout);
	fprintf(stderr, "spanprof: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
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
