/* msg.h - the CLI's messages: one line on stderr, prefixed "spanprof:". */
#ifndef SP_CLI_MSG_H
#define SP_CLI_MSG_H

#define SP_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* "spanprof: <message>" */
void sp_errorf(const char *fmt, ...) SP_PRINTF(1, 2);
/* "spanprof: warning: <message>" */
void sp_warnf(const char *fmt, ...) SP_PRINTF(1, 2);
/* A usage error: the message, then "spanprof: try 'spanprof CMD --help'".
 * Returns 2, the usage-error exit status. */
int sp_usagef(const char *cmd, const char *fmt, ...) SP_PRINTF(2, 3);
/* Progress on stderr, only when it is a terminal and the command has
 * run for more than a second; sp_progress_done() clears the line. */
void sp_progress(const char *fmt, ...) SP_PRINTF(1, 2);
void sp_progress_done(void);

#endif
