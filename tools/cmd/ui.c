/* cmd/ui.c - `spanprof ui`: the page (render/page.h) served on loopback
 * by libmicrohttpd, with a JSON API:
 *   GET  /                    the page (everything inline: no other asset)
 *   GET  /api/traces          the list object (page.h); with -p, the
 *                             running program is asked for a dump first
 *   GET  /api/trace?key=F:SEQ one trace with its tree (show --json)
 *   POST /api/ctl?cmd=C       enable, disable or clear (-p only), as ctl
 * Every request needs ?token=T, the random token of the printed URL (403
 * without it), so that another local user or a web page cannot read the
 * traces or drive the program. No path of a URL reaches the file system.
 * One thread serves the requests one at a time (MHD's internal polling
 * thread), so the dumps need no lock; the main thread waits for SIGINT or
 * SIGTERM and stops the server. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "msg.h"

const struct cli_opt ui_opts[] = {
	CMD_OPT_FILE,
	CMD_OPT_PID,
	{ 0, "port", "N", "the TCP port (default: 0, a free one, printed)", 'P' },
	{ 0, "bind", "ADDR", "the address to listen on (default: 127.0.0.1, loopback only)", 'b' },
	{ 0 },
};

#ifndef SP_HAVE_MHD

int cmd_ui(int argc, char **argv)
{
	struct cli_parser p;
	cli_init(&p, "ui", argc, argv);
	for (int o; (o = cli_next(&p)) != CLI_END;) {
		if (o == CLI_HELP)
			return 0;
		if (o == CLI_ERROR)
			return 2;
	}
	msg_errorf("ui is unavailable: this spanprof was built without libmicrohttpd (libmicrohttpd-dev); "
		   "'spanprof report' writes the same page as a file");
	return 1;
}

#else

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <sys/random.h>

#include "control.h"
#include "read/live.h"
#include "render/json.h"
#include "render/page.h"

#define UI_MAX_BODY 4096 /* control requests carry no body: more is refused */

struct server {
	struct cmd_set set;
	struct rd_dump *d; /* set's */
	size_t nd;
	long pid;
	char token[33];
};

/* A request's state between MHD's calls for it. */
struct request {
	size_t body;
};

static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, const char *type, char *buf, size_t len,
				enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, buf, mode);
	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	/* The page is its own only resource; it may talk to this server. */
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
				"connect-src 'self'; img-src data:; frame-ancestors 'none'");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *what)
{
	char *buf;
	size_t len;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return MHD_NO;
	struct json j;
	json_init(&j, m);
	json_object(&j, NULL);
	json_str(&j, "error", what);
	json_end(&j);
	json_free(&j);
	if (fclose(m))
		return MHD_NO;
	return send_buf(c, status, "application/json", buf, len, MHD_RESPMEM_MUST_FREE);
}

/* Write a JSON answer with fn, then send it. */
static enum MHD_Result send_json(struct MHD_Connection *c, struct server *s, const char *key,
				 int (*fn)(struct json *j, struct server *s, const char *key))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	struct json j;
	json_init(&j, m);
	int rc = fn(&j, s, key);
	bool oom = j.oom;
	json_free(&j);
	if (fclose(m) || oom) {
		free(buf);
		return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	if (rc) {
		free(buf);
		return rc == -1   ? send_error(c, MHD_HTTP_BAD_REQUEST, "a trace key is FILE:SEQ")
		       : rc == 1  ? send_error(c, MHD_HTTP_NOT_FOUND, "no such trace")
				  : send_error(c, MHD_HTTP_BAD_GATEWAY, "the trace could not be read");
	}
	return send_buf(c, MHD_HTTP_OK, "application/json", buf, len, MHD_RESPMEM_MUST_FREE);
}

static int list_fn(struct json *j, struct server *s, const char *key)
{
	(void)key;
	page_list_json(j, s->d, s->nd, s->pid);
	return 0;
}

static int trace_fn(struct json *j, struct server *s, const char *key)
{
	return page_trace_json(j, s->d, s->nd, key);
}

/* -p: a new dump from the program, in place of the last one (kept if the
 * program does not answer). 0, or 1 after a message. */
static int refresh(struct server *s)
{
	struct rd_dump fresh;
	if (cmd_open(NULL, s->pid, &fresh))
		return 1;
	cmd_close(&s->d[0]);
	s->d[0] = fresh;
	return 0;
}

/* The token, compared in a time that does not depend on where it differs. */
static bool token_ok(const struct server *s, const char *t)
{
	if (!t || strlen(t) != sizeof s->token - 1)
		return false;
	unsigned diff = 0;
	for (size_t i = 0; i < sizeof s->token - 1; i++)
		diff |= (unsigned char)(t[i] ^ s->token[i]);
	return diff == 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **state)
{
	(void)version;
	(void)upload;
	struct server *s = cls;
	struct request *rq = *state;
	if (!rq) {
		/* First call: the headers only. Refuse at once what will
		 * never be answered, before any body is read. */
		if (!token_ok(s, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token")))
			return send_error(c, MHD_HTTP_FORBIDDEN, "no or wrong token: use the URL spanprof ui printed");
		if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_POST) &&
		    strcmp(method, MHD_HTTP_METHOD_HEAD))
			return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET for reading, POST for control");
		/* A body announced too large is refused before it is read. */
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > UI_MAX_BODY)
			return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
		rq = calloc(1, sizeof *rq);
		if (!rq)
			return MHD_NO;
		*state = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		rq->body += *upload_size;
		*upload_size = 0; /* read and dropped; too much is refused below */
		return MHD_YES;
	}
	if (rq->body > UI_MAX_BODY)
		return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
	bool get = strcmp(method, MHD_HTTP_METHOD_POST) != 0;
	if (!strcmp(url, "/") || !strcmp(url, "/index.html")) {
		if (!get)
			return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET the page");
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		if (!m)
			return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		page_html(m, NULL, 0);
		if (fclose(m)) {
			free(buf);
			return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		}
		return send_buf(c, MHD_HTTP_OK, "text/html; charset=utf-8", buf, len, MHD_RESPMEM_MUST_FREE);
	}
	if (!strcmp(url, "/api/traces")) {
		if (!get)
			return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET the traces");
		if (s->pid && refresh(s))
			return send_error(c, MHD_HTTP_BAD_GATEWAY, "the program did not answer (has it ended?)");
		return send_json(c, s, NULL, list_fn);
	}
	if (!strcmp(url, "/api/trace")) {
		if (!get)
			return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET a trace");
		const char *key = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "key");
		if (!key)
			return send_error(c, MHD_HTTP_BAD_REQUEST, "which trace? key=FILE:SEQ");
		return send_json(c, s, key, trace_fn);
	}
	if (!strcmp(url, "/api/ctl")) {
		if (get)
			return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "control is by POST");
		if (!s->pid)
			return send_error(c, MHD_HTTP_CONFLICT, "not a running program: start ui with -p PID");
		const char *what = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cmd");
		int cmd = what ? sp__control_command(what) : 0;
		if (cmd != SP_CTL_ENABLE && cmd != SP_CTL_DISABLE && cmd != SP_CTL_CLEAR)
			return send_error(c, MHD_HTTP_BAD_REQUEST, "cmd is enable, disable or clear");
		char path[PATH_MAX * 2];
		if (live_command(s->pid, cmd, path, sizeof path))
			return send_error(c, MHD_HTTP_BAD_GATEWAY, "the program did not take the command");
		static char ok[] = "{\"ok\":true}";
		return send_buf(c, MHD_HTTP_OK, "application/json", ok, sizeof ok - 1, MHD_RESPMEM_PERSISTENT);
	}
	return send_error(c, MHD_HTTP_NOT_FOUND, "no such page");
}

static void request_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)c;
	(void)why;
	free(*state);
	*state = NULL;
}

/* MHD's own messages (a malformed request...) go to stderr, one line. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[512];
	vsnprintf(line, sizeof line, fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	msg_warnf("http: %s", line);
}

static int make_token(char *out, size_t size)
{
	unsigned char r[16];
	size_t got = 0;
	while (got < sizeof r) {
		ssize_t n = getrandom(r + got, sizeof r - got, 0);
		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0)
			got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof r && 2 * i + 2 < size; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

static int serve(struct server *s, const char *bind_addr, unsigned port)
{
	struct sockaddr_storage sa = { 0 };
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE, .ai_socktype = SOCK_STREAM }, *ai;
	char portstr[16];
	snprintf(portstr, sizeof portstr, "%u", port);
	int gai = getaddrinfo(bind_addr, portstr, &hints, &ai);
	if (gai) {
		msg_usagef("ui", "--bind takes a numeric address (127.0.0.1, ::1, 0.0.0.0), not '%s'", bind_addr);
		return 2;
	}
	memcpy(&sa, ai->ai_addr, ai->ai_addrlen);
	bool v6 = ai->ai_family == AF_INET6;
	freeaddrinfo(ai);
	if (make_token(s->token, sizeof s->token)) {
		msg_errorf("no random token: %s", strerror(errno));
		return 1;
	}
	/* SIGINT and SIGTERM for sigwait below: blocked before MHD's thread
	 * starts, which inherits the mask. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
	struct MHD_Daemon *daemon = MHD_start_daemon(
		flags, (uint16_t)port, NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
		/* headers and URL of a request: more is answered 431/414 */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_CONNECTION_LIMIT, 64u,
		MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	if (!daemon) {
		msg_errorf("cannot listen on %s port %u: %s", bind_addr, port, strerror(errno));
		return 1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
	unsigned actual = info ? info->port : port;
	const char *host = bind_addr;
	if (!strcmp(bind_addr, "0.0.0.0"))
		host = "127.0.0.1";
	else if (!strcmp(bind_addr, "::"))
		host = "::1";
	if (strchr(host, ':'))
		printf("http://[%s]:%u/?token=%s\n", host, actual, s->token);
	else
		printf("http://%s:%u/?token=%s\n", host, actual, s->token);
	fflush(stdout);
	int sig = 0;
	while (sigwait(&stop, &sig) != 0)
		;
	MHD_stop_daemon(daemon);
	return 0;
}

int cmd_ui(int argc, char **argv)
{
	const char *bind_addr = "127.0.0.1";
	unsigned long long port = 0;
	struct cmd_source src = CMD_SOURCE_DEFAULT;
	struct server s = { 0 };
	struct cli_parser p;
	cli_init(&p, "ui", argc, argv);
	for (int o; (o = cli_next(&p)) != CLI_END;) {
		switch (o) {
		case CLI_HELP: return 0;
		case CLI_ERROR: return 2;
		case 'P':
			if (cli_uint(&p, "--port", p.arg, 65535, &port))
				return 2;
			break;
		case 'b': bind_addr = p.arg; break;
		default:
			if (cmd_source_opt("ui", &src, o, p.arg) < 0)
				return 2;
			break;
		}
	}
	if (p.ind < argc)
		return msg_usagef("ui", "unexpected argument '%s'", argv[p.ind]);
	if (src.pid && src.nfiles)
		return msg_usagef("ui", "-f and -p: one or the other");
	/* Opened once (-p: a first dump), so that a wrong file or process is
	 * said now, not in the browser. */
	if (cmd_open_set(&src, &s.set))
		return 1;
	s.d = s.set.d;
	s.nd = s.set.n;
	s.pid = src.pid;
	int rc = serve(&s, bind_addr, (unsigned)port);
	cmd_close_set(&s.set);
	return rc;
}

#endif
