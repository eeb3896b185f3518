/* decode.c - record stream -> tree. See decode.h. Also built into the CLI.
 *
 * Two passes over the stream: the first checks every entry and fills the
 * nodes (records are in pre-order, so a parent is always an earlier
 * node), the second copies the data entries once their number and size
 * are known. Self times are computed last, children before parents
 * (reverse pre-order).
 */
#include "decode.h"

#include <stdarg.h>
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

int sp__decode(const struct sp__decode_in *in, struct sp__decoded *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	const uint8_t *p = in->p;
	size_t len = in->len;
	double tpn = in->ticks_per_ns;
	if (!(tpn > 0) || tpn > 1e6)
		return fail(err, errlen, "bad clock rate");
	if (len % 8)
		return fail(err, errlen, "record stream length %zu is not a multiple of 8", len);
	if (in->nrec == 0)
		return fail(err, errlen, "trace has no records");
	if (in->nrec > len / SPAN_SIZE)
		return fail(err, errlen, "trace claims %u records in %zu bytes", in->nrec, len);

	sp_node *nodes = calloc(in->nrec, sizeof *nodes);
	uint32_t *last = calloc(in->nrec, sizeof *last); /* last child + 1 */
	if (!nodes || !last) {
		free(nodes);
		free(last);
		return -2;
	}
	uint32_t n = 0;
	size_t ndata = 0, strbytes = 0;
	uint64_t t0 = 0, t1 = 0, iterations = 0;
	int rc = 0;
	for (size_t off = 0; off < len;) {
		size_t left = len - off;
		if (left < 8) {
			rc = fail(err, errlen, "truncated entry at byte %zu", off);
			goto out;
		}
		uint32_t head = rd32(p + off), parent = rd32(p + off + 4);
		uint32_t kind = KIND(head);
		if (kind == K_DATA) {
			uint32_t type = D_TYPE(head);
			size_t klen = D_KEYLEN(head), slen = D_STRLEN(head);
			size_t size = DATA_SIZE + ((klen + slen + 7u) & ~(size_t)7u);
			if (size > left) {
				rc = fail(err, errlen, "data entry at byte %zu overruns the trace", off);
				goto out;
			}
			if (type < SP_VALUE_I64 || type > SP_VALUE_BOOL || (type != SP_VALUE_STR && slen)) {
				rc = fail(err, errlen, "bad data entry at byte %zu", off);
				goto out;
			}
			if (!(head & D_TRACE) && (parent >= n || nodes[parent].kind != SP_NODE_SPAN)) {
				rc = fail(err, errlen, "data entry at byte %zu belongs to no earlier span", off);
				goto out;
			}
			if (!(head & D_TRACE))
				nodes[parent].ndata++;
			ndata++;
			strbytes += klen + 1 + (type == SP_VALUE_STR ? slen + 1 : 0);
			off += size;
			continue;
		}
		if (kind != K_SPAN && kind != K_CUMUL) {
			rc = fail(err, errlen, "unknown entry kind %u at byte %zu", kind, off);
			goto out;
		}
		size_t size = kind == K_SPAN ? SPAN_SIZE : CUMUL_SIZE;
		if (size > left) {
			rc = fail(err, errlen, "record at byte %zu overruns the trace", off);
			goto out;
		}
		if (n >= in->nrec) {
			rc = fail(err, errlen, "more records than the %u announced", in->nrec);
			goto out;
		}
		uint32_t site = SITE(head);
		if (site == 0 || site > in->nsites) {
			rc = fail(err, errlen, "record %u names site %u of %u", n, site, in->nsites);
			goto out;
		}
		sp_node *nd = &nodes[n];
		nd->index = n;
		nd->site = site;
		if (n == 0) {
			if (kind != K_SPAN || parent != NO_PARENT) {
				rc = fail(err, errlen, "the first record is not a root span");
				goto out;
			}
		} else if (parent >= n) {
			rc = fail(err, errlen, "record %u has parent %u, not an earlier record", n, parent);
			goto out;
		} else if (kind == K_SPAN && nodes[parent].kind != SP_NODE_SPAN) {
			rc = fail(err, errlen, "span %u is inside cumulative node %u", n, parent);
			goto out;
		}
		if (kind == K_SPAN) {
			uint64_t a = rd64(p + off + 8), b = rd64(p + off + 16);
			if ((head & (1u << 28)) || b < a) {
				rc = fail(err, errlen, "bad span record %u", n);
				goto out;
			}
			if (n == 0) {
				t0 = a;
				t1 = b;
			}
			nd->kind = SP_NODE_SPAN;
			nd->start_ns = a > t0 ? to_ns(a - t0, tpn) : 0;
			nd->duration_ns = to_ns(b - a, tpn);
			nd->abandoned = (head & ABANDONED) != 0;
		} else {
			uint64_t count = rd64(p + off + 8), total = rd64(p + off + 16);
			uint64_t mn = rd64(p + off + 24), mx = rd64(p + off + 32);
			if ((head & (3u << 28)) || count == 0 || mn > mx || mx > total) {
				rc = fail(err, errlen, "bad cumulative record %u", n);
				goto out;
			}
			nd->kind = SP_NODE_CUMULATIVE;
			nd->count = count;
			nd->total_ns = to_ns(total, tpn);
			nd->min_ns = to_ns(mn, tpn);
			nd->max_ns = to_ns(mx, tpn);
			nd->avg_ns = nd->total_ns / count;
			nd->duration_ns = nd->total_ns;
			iterations += count;
		}
		if (n > 0) {
			sp_node *pa = &nodes[parent];
			nd->parent = pa;
			if (last[parent])
				nodes[last[parent] - 1].next_sibling = nd;
			else
				pa->first_child = nd;
			last[parent] = n + 1;
			pa->nchildren++;
		}
		n++;
		off += size;
	}
	if (n != in->nrec) {
		rc = fail(err, errlen, "%u records where %u were announced", n, in->nrec);
		goto out;
	}

	/* Data entries: copy keys and strings. */
	sp_kv *kvs = ndata ? calloc(ndata, sizeof *kvs) : NULL;
	char *strings = strbytes ? malloc(strbytes) : NULL;
	if ((ndata && !kvs) || (strbytes && !strings)) {
		free(kvs);
		free(strings);
		rc = -2;
		goto out;
	}
	/* Span-level entries first, grouped by owner; trace-level ones last. */
	uint32_t *fill = last; /* reuse: next free kv index per node */
	size_t k = 0;
	for (uint32_t i = 0; i < n; i++) {
		fill[i] = (uint32_t)k;
		nodes[i].data = nodes[i].ndata ? kvs + k : NULL;
		k += nodes[i].ndata;
	}
	size_t ktrace = k, sp = 0;
	for (size_t off = 0; off < len;) {
		uint32_t head = rd32(p + off);
		if (KIND(head) != K_DATA) {
			off += KIND(head) == K_SPAN ? SPAN_SIZE : CUMUL_SIZE;
			continue;
		}
		size_t klen = D_KEYLEN(head), slen = D_STRLEN(head);
		sp_kv *kv = (head & D_TRACE) ? &kvs[ktrace++] : &kvs[fill[rd32(p + off + 4)]++];
		const uint8_t *bytes = p + off + DATA_SIZE;
		memcpy(strings + sp, bytes, klen);
		strings[sp + klen] = '\0';
		kv->key = strings + sp;
		sp += klen + 1;
		kv->type = (sp_value_type)D_TYPE(head);
		kv->truncated = (head & D_TRUNC) != 0;
		uint64_t v = rd64(p + off + 8);
		switch (kv->type) {
		case SP_VALUE_I64: kv->v.i64 = (int64_t)v; break;
		case SP_VALUE_U64: kv->v.u64 = v; break;
		case SP_VALUE_F64: memcpy(&kv->v.f64, &v, 8); break;
		case SP_VALUE_BOOL: kv->v.b = v != 0; break;
		case SP_VALUE_STR:
			memcpy(strings + sp, bytes + klen, slen);
			strings[sp + slen] = '\0';
			kv->v.str = strings + sp;
			sp += slen + 1;
			break;
		}
		off += DATA_SIZE + ((klen + slen + 7u) & ~(size_t)7u);
	}

	/* Self time: what a node's children do not account for. */
	for (uint32_t i = n; i-- > 0;) {
		sp_node *nd = &nodes[i];
		uint64_t kids = 0;
		for (const sp_node *c = nd->first_child; c; c = c->next_sibling)
			kids += c->duration_ns;
		nd->self_ns = nd->duration_ns > kids ? nd->duration_ns - kids : 0;
	}

	out->nodes = nodes;
	out->nnodes = n;
	out->kvs = kvs;
	out->nkvs = (uint32_t)ndata;
	out->trace_kvs = kvs ? kvs + k : NULL;
	out->ntrace_kvs = (uint32_t)(ndata - k);
	out->strings = strings;
	out->iterations = iterations;
	out->t0 = t0;
	out->t1 = t1;
	free(last);
	return 0;
out:
	free(nodes);
	free(last);
	return rc;
}
