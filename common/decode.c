/* decode.c - record stream -> tree. See decode.h. Shared by the runtime
 * (snapshots) and the CLI (dumps).
 *
 * In passes: build_nodes checks every entry and fills the nodes (a parent
 * is always an earlier record; records are not in pre-order, see
 * docs/FORMAT.md), copy_data copies the data entries once their number and
 * size are known, and self_times runs last, children before parents
 * (reverse record order).
 */
#include "decode.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

#define KIND(h) SP_REC_KIND(h)
#define K_SPAN SP_REC_SPAN
#define K_CUMUL SP_REC_CUMUL
#define K_DATA SP_REC_DATA
#define ABANDONED SP_REC_ABANDONED
#define SITE(h) ((h)&SP_REC_SITE_MASK)
#define D_TRUNC SP_DATA_TRUNC
#define D_TRACE SP_DATA_TRACE
#define D_TYPE(h) SP_DATA_TYPE(h)
#define D_KEYLEN(h) SP_DATA_KEYLEN(h)
#define D_STRLEN(h) SP_DATA_STRLEN(h)
#define NO_PARENT SP_NO_PARENT
#define SPAN_SIZE SP_SPAN_REC_SIZE
#define CUMUL_SIZE SP_CUMUL_REC_SIZE
#define DATA_SIZE SP_DATA_REC_SIZE

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static uint64_t to_ns(uint64_t ticks, double tpn)
{
	double ns = (double)ticks / tpn + 0.5;
	return ns >= 1.8e19 ? UINT64_MAX : (uint64_t)ns;
}

void sp__decoded_free(struct sp__decoded *d)
{
	if (!d)
		return;
	free(d->nodes);
	free(d->kvs);
	free(d->strings);
	memset(d, 0, sizeof *d);
}

/* The decoder's state across its passes. */
struct dec {
	const struct sp__decode_in *in;
	char *err;
	size_t errlen;
	sp_node *nodes;
	uint32_t *last; /* per node: its last child + 1 (pass 1), then the next free kv (pass 2) */
	uint32_t n;     /* records seen */
	size_t ndata, strbytes;
	uint64_t t0, t1, iterations;
	sp_kv *kvs;
	char *strings;
	size_t ktrace; /* the first trace-level kv */
};

static size_t data_size(uint32_t head)
{
	return DATA_SIZE + ((D_KEYLEN(head) + D_STRLEN(head) + 7u) & ~(size_t)7u);
}

/* Pass 1, a data entry at off: checked and counted (copied in pass 2). */
static int check_data(struct dec *s, size_t off, size_t left, size_t *size)
{
	const uint8_t *p = s->in->p;
	uint32_t head = rd32(p + off), owner = rd32(p + off + 4);
	uint32_t type = D_TYPE(head);
	size_t slen = D_STRLEN(head);
	*size = data_size(head);
	if (*size > left)
		return fail(s->err, s->errlen, "data entry at byte %zu overruns the trace", off);
	if (type < SP_VALUE_I64 || type > SP_VALUE_BOOL || (type != SP_VALUE_STR && slen))
		return fail(s->err, s->errlen, "bad data entry at byte %zu", off);
	bool span_level = !(head & D_TRACE);
	if (span_level && (owner >= s->n || s->nodes[owner].kind != SP_NODE_SPAN))
		return fail(s->err, s->errlen, "data entry at byte %zu belongs to no earlier span", off);
	if (span_level)
		s->nodes[owner].ndata++;
	s->ndata++;
	s->strbytes += D_KEYLEN(head) + 1 + (type == SP_VALUE_STR ? slen + 1 : 0);
	return 0;
}

/* Pass 1, the times of a span or cumulative record: checked, in ns. */
static int fill_times(struct dec *s, sp_node *nd, uint32_t kind, const uint8_t *r)
{
	uint32_t head = rd32(r);
	double tpn = s->in->ticks_per_ns;
	if (kind == K_SPAN) {
		uint64_t a = rd64(r + 8), b = rd64(r + 16);
		if ((head & SP_SPAN_RESERVED) || b < a)
			return fail(s->err, s->errlen, "bad span record %u", s->n);
		if (s->n == 0) {
			s->t0 = a;
			s->t1 = b;
		}
		nd->kind = SP_NODE_SPAN;
		nd->start_ns = a > s->t0 ? to_ns(a - s->t0, tpn) : 0;
		nd->duration_ns = to_ns(b - a, tpn);
		nd->abandoned = (head & ABANDONED) != 0;
		return 0;
	}
	uint64_t count = rd64(r + 8), total = rd64(r + 16);
	uint64_t mn = rd64(r + 24), mx = rd64(r + 32);
	if ((head & SP_CUMUL_RESERVED) || count == 0 || mn > mx || mx > total)
		return fail(s->err, s->errlen, "bad cumulative record %u", s->n);
	nd->kind = SP_NODE_CUMULATIVE;
	nd->count = count;
	nd->total_ns = to_ns(total, tpn);
	nd->min_ns = to_ns(mn, tpn);
	nd->max_ns = to_ns(mx, tpn);
	nd->avg_ns = nd->total_ns / count;
	nd->duration_ns = nd->total_ns;
	s->iterations += count;
	return 0;
}

/* Pass 1, a span or cumulative record at off: checked, made node n and
 * linked under its parent (a parent is an earlier node). */
static int add_record(struct dec *s, size_t off, size_t left, size_t *size)
{
	const uint8_t *p = s->in->p;
	uint32_t head = rd32(p + off), parent = rd32(p + off + 4);
	uint32_t kind = KIND(head), n = s->n;
	if (kind != K_SPAN && kind != K_CUMUL)
		return fail(s->err, s->errlen, "unknown entry kind %u at byte %zu", kind, off);
	*size = kind == K_SPAN ? SPAN_SIZE : CUMUL_SIZE;
	if (*size > left)
		return fail(s->err, s->errlen, "record at byte %zu overruns the trace", off);
	if (n >= s->in->nrec)
		return fail(s->err, s->errlen, "more records than the %u announced", s->in->nrec);
	uint32_t site = SITE(head);
	if (site == 0 || site > s->in->nsites)
		return fail(s->err, s->errlen, "record %u names site %u of %u", n, site, s->in->nsites);
	sp_node *nd = &s->nodes[n];
	nd->index = n;
	nd->site = site;
	if (n == 0) {
		if (kind != K_SPAN || parent != NO_PARENT)
			return fail(s->err, s->errlen, "the first record is not a root span");
	} else if (parent >= n) {
		return fail(s->err, s->errlen, "record %u has parent %u, not an earlier record", n, parent);
	} else if (kind == K_SPAN && s->nodes[parent].kind != SP_NODE_SPAN) {
		return fail(s->err, s->errlen, "span %u is inside cumulative node %u", n, parent);
	}
	if (fill_times(s, nd, kind, p + off))
		return -1;
	if (n > 0) {
		sp_node *pa = &s->nodes[parent];
		nd->parent = pa;
		if (s->last[parent])
			s->nodes[s->last[parent] - 1].next_sibling = nd;
		else
			pa->first_child = nd;
		s->last[parent] = n + 1;
		pa->nchildren++;
	}
	s->n++;
	return 0;
}

/* Pass 1: check every entry, build the nodes, count the data. */
static int build_nodes(struct dec *s)
{
	size_t len = s->in->len;
	for (size_t off = 0, size = 0; off < len; off += size) {
		size_t left = len - off;
		if (left < 8)
			return fail(s->err, s->errlen, "truncated entry at byte %zu", off);
		int rc = KIND(rd32(s->in->p + off)) == K_DATA ? check_data(s, off, left, &size)
							       : add_record(s, off, left, &size);
		if (rc)
			return rc;
	}
	if (s->n != s->in->nrec)
		return fail(s->err, s->errlen, "%u records where %u were announced", s->n, s->in->nrec);
	return 0;
}

/* Pass 2: copy the data entries, their number and size known; span-level
 * ones first, grouped by owner, trace-level ones last. */
static int copy_data(struct dec *s)
{
	const uint8_t *p = s->in->p;
	s->kvs = s->ndata ? calloc(s->ndata, sizeof *s->kvs) : NULL;
	s->strings = s->strbytes ? malloc(s->strbytes) : NULL;
	if ((s->ndata && !s->kvs) || (s->strbytes && !s->strings)) {
		free(s->kvs);
		free(s->strings);
		return -2;
	}
	uint32_t *fill = s->last; /* reuse: next free kv index per node */
	size_t k = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		fill[i] = (uint32_t)k;
		s->nodes[i].data = s->nodes[i].ndata ? s->kvs + k : NULL;
		k += s->nodes[i].ndata;
	}
	s->ktrace = k;
	size_t ktrace = k, sp = 0;
	for (size_t off = 0; off < s->in->len;) {
		uint32_t head = rd32(p + off);
		if (KIND(head) != K_DATA) {
			off += KIND(head) == K_SPAN ? SPAN_SIZE : CUMUL_SIZE;
			continue;
		}
		size_t klen = D_KEYLEN(head), slen = D_STRLEN(head);
		sp_kv *kv = (head & D_TRACE) ? &s->kvs[ktrace++] : &s->kvs[fill[rd32(p + off + 4)]++];
		const uint8_t *bytes = p + off + DATA_SIZE;
		memcpy(s->strings + sp, bytes, klen);
		s->strings[sp + klen] = '\0';
		kv->key = s->strings + sp;
		sp += klen + 1;
		kv->type = (sp_value_type)D_TYPE(head);
		kv->truncated = (head & D_TRUNC) != 0;
		uint64_t v = rd64(p + off + 8);
		kv->marker = kv->type == SP_VALUE_STR && v == SP_DATA_STR_MARKER;
		switch (kv->type) {
		case SP_VALUE_I64: kv->v.i64 = (int64_t)v; break;
		case SP_VALUE_U64: kv->v.u64 = v; break;
		case SP_VALUE_F64: memcpy(&kv->v.f64, &v, 8); break;
		case SP_VALUE_BOOL: kv->v.b = v != 0; break;
		case SP_VALUE_STR:
			memcpy(s->strings + sp, bytes + klen, slen);
			s->strings[sp + slen] = '\0';
			kv->v.str = s->strings + sp;
			sp += slen + 1;
			break;
		}
		off += data_size(head);
	}
	return 0;
}

/* Pass 3, self time: what a node's children do not account for. */
static void self_times(sp_node *nodes, uint32_t n)
{
	for (uint32_t i = n; i-- > 0;) {
		sp_node *nd = &nodes[i];
		uint64_t kids = 0;
		for (const sp_node *c = nd->first_child; c; c = c->next_sibling)
			kids += c->duration_ns;
		nd->self_ns = nd->duration_ns > kids ? nd->duration_ns - kids : 0;
	}
}

int sp__decode(const struct sp__decode_in *in, struct sp__decoded *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	double tpn = in->ticks_per_ns;
	if (!(tpn > 0) || tpn > 1e6)
		return fail(err, errlen, "bad clock rate");
	if (in->len % 8)
		return fail(err, errlen, "record stream length %zu is not a multiple of 8", in->len);
	if (in->nrec == 0)
		return fail(err, errlen, "trace has no records");
	if (in->nrec > in->len / SPAN_SIZE)
		return fail(err, errlen, "trace claims %u records in %zu bytes", in->nrec, in->len);

	struct dec s = { .in = in, .err = err, .errlen = errlen };
	s.nodes = calloc(in->nrec, sizeof *s.nodes);
	s.last = calloc(in->nrec, sizeof *s.last);
	int rc = !s.nodes || !s.last ? -2 : build_nodes(&s);
	if (!rc)
		rc = copy_data(&s);
	free(s.last);
	if (rc) {
		free(s.nodes);
		return rc;
	}
	self_times(s.nodes, s.n);

	out->nodes = s.nodes;
	out->nnodes = s.n;
	out->kvs = s.kvs;
	out->nkvs = (uint32_t)s.ndata;
	out->trace_kvs = s.kvs ? s.kvs + s.ktrace : NULL;
	out->ntrace_kvs = (uint32_t)(s.ndata - s.ktrace);
	out->strings = s.strings;
	out->iterations = s.iterations;
	out->t0 = s.t0;
	out->t1 = s.t1;
	return 0;
}
