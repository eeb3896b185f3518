/* msg.h - the CLI's messages: one line on stderr, prefixed "spanprof:". */
#ifndef CLI_MSG_H
#define CLI_MSG_H

#define MSG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* "spanprof: <message>" */
void msg_errorf(const char *fmt, ...) MSG_PRINTF(1, 2);
/* "spanprof: warning: <message>" */
void msg_warnf(const char *fmt, ...) MSG_PRINTF(1, 2);
/* A usage error: the message, then "spanprof: try 'spanprof CMD --help'".
 * Returns 2, the usage-error exit status. */
int msg_usagef(const char *cmd, const char *fmt, ...) MSG_PRINTF(2, 3);
/* Progress on stderr, only when it is a terminal and the command has
 * run for more than a second; msg_progress_done() clears the line. */
void msg_progress(const char *fmt, ...) MSG_PRINTF(1, 2);
void msg_progress_done(void);

#endif
