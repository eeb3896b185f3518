/* otlp.c - see otlp.h. The protobuf JSON mapping, as OTLP/JSON requires:
 * lowerCamelCase field names, trace and span ids as hex strings (32 and 16
 * digits, not base64), 64-bit integers (times, intValue) as strings,
 * enums as integers (kind 1 = SPAN_KIND_INTERNAL), doubles as numbers or
 * "NaN" / "Infinity" / "-Infinity".
 *
 * Times: a span's start and end are the trace's wall-clock start plus the
 * node's place in it (place.h: spans their own, cumulative nodes placed
 * in their parent's free time, with count/total/min/avg/max attributes).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "export/export.h"
#include "export/otlp.h"
#include "export/place.h"
#include "msg.h"
#include "spanprof_constants.h"

enum { SPAN_KIND_INTERNAL = 1, STATUS_CODE_UNSET = 0, STATUS_CODE_ERROR = 2 };

static void attr_begin(struct json *j, const char *key)
{
	json_object(j, NULL);
	json_str(j, "key", key);
	json_object(j, "value");
}

static void attr_end(struct json *j)
{
	json_end(j);
	json_end(j);
}

static void attr_str(struct json *j, const char *key, const char *v)
{
	attr_begin(j, key);
	json_str(j, "stringValue", v);
	attr_end(j);
}

static void attr_int(struct json *j, const char *key, int64_t v)
{
	char s[32];
	snprintf(s, sizeof s, "%" PRId64, v);
	attr_begin(j, key);
	json_str(j, "intValue", s);
	attr_end(j);
}

/* OTLP has no unsigned integers: what int64 cannot hold goes as a string. */
static void attr_uint(struct json *j, const char *key, uint64_t v)
{
	if (v <= INT64_MAX) {
		attr_int(j, key, (int64_t)v);
		return;
	}
	char s[32];
	snprintf(s, sizeof s, "%" PRIu64, v);
	attr_str(j, key, s);
}

static void attr_bool(struct json *j, const char *key, bool v)
{
	attr_begin(j, key);
	json_bool(j, "boolValue", v);
	attr_end(j);
}

static void attr_double(struct json *j, const char *key, double v)
{
	attr_begin(j, key);
	if (isnan(v))
		json_str(j, "doubleValue", "NaN");
	else if (isinf(v))
		json_str(j, "doubleValue", v > 0 ? "Infinity" : "-Infinity");
	else
		json_f64(j, "doubleValue", v);
	attr_end(j);
}

static void attr_kv(struct json *j, const sp_kv *kv)
{
	switch (kv->type) {
	case SP_VALUE_I64: attr_int(j, kv->key, kv->v.i64); break;
	case SP_VALUE_U64: attr_uint(j, kv->key, kv->v.u64); break;
	case SP_VALUE_F64: attr_double(j, kv->key, kv->v.f64); break;
	case SP_VALUE_BOOL: attr_bool(j, kv->key, kv->v.b); break;
	case SP_VALUE_STR: attr_str(j, kv->key, kv->v.str); break;
	}
}

static void otlp_resource(struct json *j, const struct rd_dump *d, const char *host);

/* The dump records no host name (yet): the host that exports is named,
 * which is the recording one for -p and usually for files. */
static void otlp_host(char *host, size_t size)
{
	if (gethostname(host, size) != 0)
		host[0] = '\0';
	host[size - 1] = '\0';
}

void otlp_open(struct json *j, const struct rd_dump *d)
{
	char host[256] = "";
	otlp_host(host, sizeof host);
	json_object(j, NULL);
	json_array(j, "resourceSpans");
	otlp_resource(j, d, host);
}

/* One resourceSpans item, open at its spans: a process. */
static void otlp_resource(struct json *j, const struct rd_dump *d, const char *host)
{
	const char *prog = d->program ? d->program : "";
	const char *base = strrchr(prog, '/');
	base = base ? base + 1 : prog;
	json_object(j, NULL);
	json_object(j, "resource");
	json_array(j, "attributes");
	/* SPANPROF_SERVICE, once the runtime records it, goes first here. */
	attr_str(j, "service.name", base[0] ? base : "unknown_service");
	attr_uint(j, "process.pid", d->pid);
	if (prog[0])
		attr_str(j, "process.executable.path", prog);
	if (d->cmdline && d->cmdline[0])
		attr_str(j, "process.command_line", d->cmdline);
	if (host[0])
		attr_str(j, "host.name", host);
	json_end(j);
	json_end(j);
	json_array(j, "scopeSpans");
	json_object(j, NULL);
	json_object(j, "scope");
	json_str(j, "name", "spanprof");
	json_str(j, "version", SP_VERSION_STRING);
	json_end(j);
	json_array(j, "spans");
}

static void otlp_resource_end(struct json *j)
{
	json_end(j); /* spans */
	json_end(j); /* the scopeSpans item */
	json_end(j); /* scopeSpans */
	json_end(j); /* the resourceSpans item */
}

void otlp_close(struct json *j)
{
	json_end(j); /* spans */
	json_end(j); /* the scopeSpans item */
	json_end(j); /* scopeSpans */
	json_end(j); /* the resourceSpans item */
	json_end(j); /* resourceSpans */
	json_end(j); /* the request */
	json_newline(j);
}

struct otlp_trace {
	struct json *j;
	struct rd_dump *d;
	const struct rd_tree *t;
	uint64_t t0_ns, trace_hi, trace_lo;
	int (*after_span)(void *ctx);
	void *ctx;
	size_t *nspans;
};

static uint64_t span_id(const struct otlp_trace *o, uint32_t index)
{
	uint64_t id = place_mix(o->trace_lo ^ place_mix(o->trace_hi + index));
	return id ? id : 1; /* an all-zero id is invalid */
}

static void hex_id(struct json *j, const char *key, const uint64_t *words, size_t n)
{
	char s[33];
	for (size_t i = 0; i < n; i++)
		snprintf(s + 16 * i, 17, "%016" PRIx64, words[i]);
	json_str(j, key, s);
}

static void u64_str(struct json *j, const char *key, uint64_t v)
{
	char s[32];
	snprintf(s, sizeof s, "%" PRIu64, v);
	json_str(j, key, s);
}

static int on_node(void *ctx, const struct place_ev *ev, bool open)
{
	struct otlp_trace *o = ctx;
	struct json *j = o->j;
	const sp_node *n = ev->n;
	if (!open)
		return 0;
	json_object(j, NULL);
	uint64_t tid[2] = { o->trace_hi, o->trace_lo };
	hex_id(j, "traceId", tid, 2);
	uint64_t sid = span_id(o, n->index);
	hex_id(j, "spanId", &sid, 1);
	if (n->parent) {
		uint64_t pid = span_id(o, n->parent->index);
		hex_id(j, "parentSpanId", &pid, 1);
	}
	json_str(j, "name", n->name);
	json_u64(j, "kind", SPAN_KIND_INTERNAL);
	u64_str(j, "startTimeUnixNano", o->t0_ns + ev->ts);
	u64_str(j, "endTimeUnixNano", o->t0_ns + ev->ts + ev->dur);
	json_array(j, "attributes");
	for (uint32_t i = 0; i < n->ndata; i++)
		attr_kv(j, &n->data[i]);
	if (n->function)
		attr_str(j, "code.function.name", n->function);
	if (n->file) {
		attr_str(j, "code.file.path", n->file);
		attr_uint(j, "code.line.number", n->line);
	}
	if (n->kind == SP_NODE_CUMULATIVE) {
		attr_bool(j, "spanprof.cumulative", true);
		attr_uint(j, "spanprof.count", n->count);
		attr_uint(j, "spanprof.total_ns", n->total_ns);
		attr_uint(j, "spanprof.min_ns", n->min_ns);
		attr_uint(j, "spanprof.avg_ns", n->avg_ns);
		attr_uint(j, "spanprof.max_ns", n->max_ns);
		if (ev->clipped)
			attr_bool(j, "spanprof.clipped", true);
	}
	if (!n->parent) {
		const struct rd_dump_trace *tr = o->t->tr;
		attr_uint(j, "spanprof.trace.seq", tr->seq);
		if (tr->id && tr->id[0])
			attr_str(j, "spanprof.trace.id", tr->id);
		attr_uint(j, "thread.id", tr->tid);
		for (uint32_t i = 0; i < o->t->dec.ntrace_kvs; i++)
			attr_kv(j, &o->t->dec.trace_kvs[i]);
		if (tr->dropped)
			attr_uint(j, "spanprof.trace.dropped_spans", tr->dropped);
		if (place_trace_unfinished(tr))
			attr_bool(j, "spanprof.trace.unfinished", true);
	}
	if (n->abandoned)
		attr_bool(j, "spanprof.abandoned", true);
	json_end(j);
	json_object(j, "status");
	if (n->abandoned) {
		/* It did not end by itself: longjmp, exit or its thread's end. */
		json_u64(j, "code", STATUS_CODE_ERROR);
		json_str(j, "message", "closed by spanprof (longjmp, exit or thread end)");
	} else {
		json_u64(j, "code", STATUS_CODE_UNSET);
	}
	json_end(j);
	json_end(j);
	(*o->nspans)++;
	return o->after_span ? o->after_span(o->ctx) : 0;
}

int otlp_trace(struct json *j, struct rd_dump *d, size_t index, int (*after_span)(void *ctx), void *ctx,
	       size_t *nspans)
{
	struct rd_tree t;
	if (cmd_tree(d, index, &t))
		return 1;
	const struct rd_dump_trace *tr = t.tr;
	struct otlp_trace o = { j, d, &t, rd_dump_wall_ns(d, tr->t0), 0, 0, after_span, ctx, nspans };
	uint64_t seed = place_mix(d->pid) ^ place_mix(o.t0_ns + 0x51ull) ^ place_mix(tr->seq * 3 + 1);
	o.trace_hi = place_mix(seed);
	o.trace_lo = place_mix(seed ^ 0x6f746c70ull); /* "otlp" */
	if (!o.trace_hi && !o.trace_lo)
		o.trace_lo = 1;
	int rc = place_walk(&t, on_node, &o);
	if (rc < 0) {
		msg_errorf("out of memory");
		rc = 1;
	}
	rd_tree_free(&t);
	return rc;
}

/* Many dumps: one request, a resourceSpans item per process. */
int export_otlp(FILE *out, const struct export_part *parts, size_t nparts)
{
	struct json j;
	json_init(&j, out);
	size_t spans = 0;
	int rc = 0;
	for (size_t i = 0; i < nparts && !rc; i++) {
		struct rd_dump *d = parts[i].d;
		if (i == 0) {
			otlp_open(&j, d);
		} else {
			char host[256];
			otlp_host(host, sizeof host);
			otlp_resource_end(&j);
			otlp_resource(&j, d, host);
		}
		for (size_t k = 0; k < parts[i].n && !rc; k++)
			rc = otlp_trace(&j, d, parts[i].which[k], NULL, NULL, &spans);
	}
	if (!nparts) {
		static struct rd_dump none;
		otlp_open(&j, &none);
	}
	otlp_close(&j);
	if (j.oom && !rc) {
		msg_errorf("out of memory");
		rc = 1;
	}
	json_free(&j);
	return rc;
}
