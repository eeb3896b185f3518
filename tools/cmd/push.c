/* cmd_push.c - `spanprof push --otlp URL`: send traces to an OpenTelemetry
 * collector (or Jaeger, Tempo, ...) with OTLP/HTTP, JSON encoding.
 *
 * The traces of dumps (-f, repeatable) or of a running program (-p) go as
 * OTLP/JSON (export/otlp.c) in POST requests to URL/v1/traces. Requests
 * are bounded: a request is cut after --batch-spans spans or 1 MB, so a
 * batch holds whole traces except when one trace alone is larger. A 429 or
 * 5xx answer, or a failed connection, is retried with exponential backoff
 * (a Retry-After in seconds is honoured), at most TRIES times in all; any
 * other status is an error that names it. --follow with -p polls the
 * program (the -p mechanism: a dump on request) and sends each trace it
 * has not sent yet, once; it ends when the program does.
 *
 * The profiled program never makes a network call: pushing is the CLI's.
 * libcurl does the HTTP; a spanprof built without it says so.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "read/live.h"
#include "msg.h"

enum { O_OTLP = 'U', O_HEADER = 'H', O_FOLLOW = 'F', O_INTERVAL = 'i', O_BATCH = 'b', O_TIMEOUT = 't' };

const struct cli_opt push_opts[] = {
	{ 'f', "file", "FILE", "a dump to send (may repeat; default: " CLI_DEFAULT_DUMP ")", 'f' },
	CMD_OPT_PID,
	{ 0, "otlp", "URL", "the collector's OTLP/HTTP endpoint, e.g. http://localhost:4318", O_OTLP },
	{ 0, "header", "K=V", "an HTTP header for every request (may repeat)", O_HEADER },
	{ 0, "follow", NULL, "with -p: keep polling, send each new trace once, until the program ends", O_FOLLOW },
	{ 0, "interval", "SEC", "with --follow: seconds between polls (default: 2)", O_INTERVAL },
	{ 0, "batch-spans", "N", "at most N spans per request (default: 2000; and at most 1 MB)", O_BATCH },
	{ 0, "timeout", "SEC", "per request (default: 30)", O_TIMEOUT },
	{ 0 },
};

#ifndef SP_HAVE_CURL

int cmd_push(int argc, char **argv)
{
	struct cli_parser p;
	cli_init(&p, "push", argc, argv);
	for (int o; (o = cli_next(&p)) != CLI_END;) {
		if (o == CLI_HELP)
			return 0;
		if (o == CLI_ERROR)
			return 2;
	}
	msg_errorf("push is unavailable: this spanprof was built without libcurl (libcurl4-openssl-dev)");
	return 1;
}

#else

#include <curl/curl.h>

#include "export/otlp.h"
#include "render/json.h"

#define TRIES 6
#define MAX_BYTES (1u << 20)
#define FIRST_BACKOFF_MS 250
#define MAX_BACKOFF_MS 8000
#define MAX_RETRY_AFTER_S 60

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* Sleep ms, or less if asked to stop. */
static void nap(unsigned long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (!stop && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

struct pusher {
	CURL *curl;
	struct curl_slist *headers;
	char *url;
	unsigned long batch_spans;
	long timeout_s;
	/* the request being built */
	FILE *f;
	char *buf;
	size_t len;
	struct json j;
	struct rd_dump *d;
	size_t spans; /* in this request */
	size_t sent_spans, requests;
	char reply[512]; /* the start of the last answer's body */
	size_t reply_len;
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct pusher *P = ctx;
	size_t len = size * n, room = sizeof P->reply - 1 - P->reply_len;
	memcpy(P->reply + P->reply_len, data, len < room ? len : room);
	P->reply_len += len < room ? len : room;
	P->reply[P->reply_len] = '\0';
	return len;
}

/* One POST, retried on 429, 5xx and failed connections. 0, or 1 after
 * printing why. */
static int post(struct pusher *P, const char *body, size_t len)
{
	unsigned long backoff = FIRST_BACKOFF_MS;
	for (int try = 1;; try++) {
		P->reply_len = 0;
		P->reply[0] = '\0';
		curl_easy_setopt(P->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(P->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		CURLcode res = curl_easy_perform(P->curl);
		long status = 0;
		curl_off_t retry_after = 0;
		char why[600];
		if (res == CURLE_OK) {
			curl_easy_getinfo(P->curl, CURLINFO_RESPONSE_CODE, &status);
			if (status >= 200 && status < 300) {
				/* A partial success still answers 200: say what was
				 * refused. */
				if (strstr(P->reply, "rejectedSpans"))
					msg_warnf("%s accepted only part of a request: %s", P->url, P->reply);
				P->requests++;
				return 0;
			}
			curl_easy_getinfo(P->curl, CURLINFO_RETRY_AFTER, &retry_after);
			snprintf(why, sizeof why, "%s answered HTTP %ld%s%.400s", P->url, status, P->reply[0] ? ": " : "",
				 P->reply);
			for (char *c = why; *c; c++)
				if (*c == '\n' || *c == '\r')
					*c = ' ';
			if (status != 429 && status < 500) {
				msg_errorf("%s", why);
				return 1;
			}
		} else {
			snprintf(why, sizeof why, "cannot send to %s: %s", P->url, curl_easy_strerror(res));
		}
		if (try == TRIES || stop) {
			msg_errorf("%s (gave up after %d tries)", why, try);
			return 1;
		}
		unsigned long ms = backoff;
		if (retry_after > 0)
			ms = (unsigned long)(retry_after < MAX_RETRY_AFTER_S ? retry_after : MAX_RETRY_AFTER_S) * 1000;
		msg_warnf("%s; retrying in %.2g s", why, ms / 1000.0);
		nap(ms);
		backoff = backoff * 2 < MAX_BACKOFF_MS ? backoff * 2 : MAX_BACKOFF_MS;
	}
}

static int batch_start(struct pusher *P)
{
	P->buf = NULL;
	P->len = 0;
	P->f = open_memstream(&P->buf, &P->len);
	if (!P->f) {
		msg_errorf("out of memory");
		return 1;
	}
	json_init(&P->j, P->f);
	otlp_open(&P->j, P->d);
	P->spans = 0;
	return 0;
}

/* Close the request and send it if it holds spans. */
static int batch_end(struct pusher *P)
{
	otlp_close(&P->j);
	bool oom = P->j.oom;
	json_free(&P->j);
	int rc = fclose(P->f) != 0 || oom;
	P->f = NULL;
	if (rc)
		msg_errorf("out of memory");
	else if (P->spans)
		rc = post(P, P->buf, P->len);
	if (!rc)
		P->sent_spans += P->spans;
	free(P->buf);
	P->buf = NULL;
	return rc;
}

static int after_span(void *ctx)
{
	struct pusher *P = ctx;
	if (++P->spans < P->batch_spans && (fflush(P->f), P->len < MAX_BYTES))
		return 0;
	int rc = batch_end(P);
	return rc ? rc : batch_start(P);
}

/* Send the traces which[0..n) of d. */
static int push_traces(struct pusher *P, struct rd_dump *d, const size_t *which, size_t n)
{
	P->d = d;
	if (batch_start(P))
		return 1;
	int rc = 0;
	size_t written = 0;
	for (size_t k = 0; k < n && !rc && !stop; k++)
		rc = otlp_trace(&P->j, d, which[k], after_span, P, &written);
	int end = batch_end(P);
	return rc ? rc : end;
}

static int push_dump(struct pusher *P, struct rd_dump *d)
{
	size_t *which = calloc(d->ntraces ? d->ntraces : 1, sizeof *which);
	if (!which) {
		msg_errorf("out of memory");
		return 1;
	}
	for (size_t i = 0; i < d->ntraces; i++)
		which[i] = i;
	int rc = push_traces(P, d, which, d->ntraces);
	free(which);
	return rc;
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool alive(long pid)
{
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* --follow: poll, send what is new, remember what was sent. The sent set
 * keeps only the seqs still in the program's store (an evicted trace never
 * comes back), so it stays as small as the store. */
static int follow(struct pusher *P, long pid, double interval)
{
	uint64_t *sent = NULL;
	size_t nsent = 0;
	int rc = 0;
	while (!stop) {
		if (!alive(pid))
			break;
		struct rd_dump d;
		if (cmd_open(NULL, pid, &d)) {
			if (!alive(pid))
				break; /* it ended while asked: not an error */
			rc = 1;
			break;
		}
		size_t *which = calloc(d.ntraces + 1, sizeof *which), n = 0;
		uint64_t *keep = calloc(d.ntraces + 1, sizeof *keep);
		if (!which || !keep) {
			free(which);
			free(keep);
			cmd_close(&d);
			msg_errorf("out of memory");
			rc = 1;
			break;
		}
		size_t nkeep = 0;
		for (size_t i = 0; i < d.ntraces; i++) {
			uint64_t seq = d.traces[i].seq;
			if (!nsent || !bsearch(&seq, sent, nsent, sizeof *sent, by_u64))
				which[n++] = i;
			keep[nkeep++] = seq;
		}
		rc = n ? push_traces(P, &d, which, n) : 0;
		cmd_close(&d);
		free(which);
		free(sent);
		sent = keep;
		nsent = nkeep;
		qsort(sent, nsent, sizeof *sent, by_u64);
		if (rc)
			break;
		nap((unsigned long)(interval * 1000));
	}
	free(sent);
	return rc;
}

int cmd_push(int argc, char **argv)
{
	const char **files = calloc((size_t)argc + 1, sizeof *files);
	size_t nfiles = 0;
	long pid = 0;
	const char *url = NULL;
	bool follow_mode = false;
	double interval = 2;
	unsigned long long batch = 2000, timeout = 30;
	struct pusher P = { 0 };
	int rc = 2;
	if (!files) {
		msg_errorf("out of memory");
		return 1;
	}
	struct cli_parser p;
	cli_init(&p, "push", argc, argv);
	for (int o; (o = cli_next(&p)) != CLI_END;) {
		switch (o) {
		case CLI_HELP: rc = 0; goto out;
		case CLI_ERROR: goto out;
		case 'f': files[nfiles++] = p.arg; break;
		case 'p':
			if (live_pid("push", p.arg, &pid))
				goto out;
			break;
		case O_OTLP: url = p.arg; break;
		case O_FOLLOW: follow_mode = true; break;
		case O_INTERVAL:
			if (cli_double(&p, "--interval", p.arg, &interval))
				goto out;
			break;
		case O_BATCH:
			if (cli_uint(&p, "--batch-spans", p.arg, 1000000, &batch))
				goto out;
			break;
		case O_TIMEOUT:
			if (cli_uint(&p, "--timeout", p.arg, 3600, &timeout))
				goto out;
			break;
		case O_HEADER: {
			const char *eq = strchr(p.arg, '=');
			if (!eq || eq == p.arg || strpbrk(p.arg, "\r\n:")) {
				rc = msg_usagef("push", "--header takes K=V, not '%s'", p.arg);
				goto out;
			}
			char h[1024];
			snprintf(h, sizeof h, "%.*s: %s", (int)(eq - p.arg), p.arg, eq + 1);
			struct curl_slist *l = curl_slist_append(P.headers, h);
			if (!l) {
				msg_errorf("out of memory");
				rc = 1;
				goto out;
			}
			P.headers = l;
			break;
		}
		}
	}
	if (p.ind < argc) {
		rc = msg_usagef("push", "unexpected argument '%s'", argv[p.ind]);
		goto out;
	}
	if (!url) {
		rc = msg_usagef("push", "--otlp URL is required (e.g. --otlp http://localhost:4318)");
		goto out;
	}
	if (pid && nfiles) {
		rc = msg_usagef("push", "-f and -p do not go together");
		goto out;
	}
	if (follow_mode && !pid) {
		rc = msg_usagef("push", "--follow needs -p PID");
		goto out;
	}
	if (!batch) {
		rc = msg_usagef("push", "--batch-spans must be at least 1");
		goto out;
	}
	if (!pid && !nfiles)
		files[nfiles++] = CLI_DEFAULT_DUMP;
	rc = 1;
	/* The OTLP/HTTP path of traces, after the base URL a collector is
	 * known by, unless it is there already. */
	size_t ul = strlen(url);
	while (ul && url[ul - 1] == '/')
		ul--;
	const char *path = ul >= 10 && !strncmp(url + ul - 10, "/v1/traces", 10) ? "" : "/v1/traces";
	P.url = malloc(ul + strlen(path) + 1);
	if (!P.url || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(P.curl = curl_easy_init())) {
		msg_errorf("cannot start libcurl");
		goto out;
	}
	memcpy(P.url, url, ul);
	strcpy(P.url + ul, path);
	struct curl_slist *l = curl_slist_append(P.headers, "Content-Type: application/json");
	if (!l) {
		msg_errorf("out of memory");
		goto out;
	}
	P.headers = l;
	P.batch_spans = (unsigned long)batch;
	curl_easy_setopt(P.curl, CURLOPT_URL, P.url);
	curl_easy_setopt(P.curl, CURLOPT_HTTPHEADER, P.headers);
	curl_easy_setopt(P.curl, CURLOPT_TIMEOUT, (long)timeout);
	curl_easy_setopt(P.curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(P.curl, CURLOPT_WRITEDATA, &P);
	curl_easy_setopt(P.curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(P.curl, CURLOPT_USERAGENT, "spanprof-push");
	struct sigaction sa = { .sa_handler = on_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (follow_mode) {
		rc = follow(&P, pid, interval);
	} else if (pid) {
		struct rd_dump d;
		if (!cmd_open(NULL, pid, &d)) {
			rc = push_dump(&P, &d);
			cmd_close(&d);
		}
	} else {
		/* Globs the shell left (-f 'spanprof.out.*') expand here. */
		struct cmd_source src = { files[nfiles - 1], files, nfiles, 0 };
		struct cmd_set set;
		rc = cmd_open_set(&src, &set);
		for (size_t i = 0; i < set.n && !rc; i++)
			rc = push_dump(&P, &set.d[i]);
		if (set.d)
			cmd_close_set(&set);
	}
	if (!rc)
		printf("sent %zu spans in %zu requests to %s\n", P.sent_spans, P.requests, P.url);
out:
	if (P.curl) {
		curl_easy_cleanup(P.curl);
		curl_global_cleanup();
	}
	curl_slist_free_all(P.headers);
	free(P.url);
	free(files);
	return rc;
}

#endif
