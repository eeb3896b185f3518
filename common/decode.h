/* decode.h - a trace's record stream (docs/FORMAT.md) -> a tree of sp_node.
 *
 * Shared by the runtime (snapshots of the store) and the CLI (dump files),
 * so the two cannot disagree on the format. The input is not trusted:
 * every kind, length, ordinal, site id and tick is checked, allocations are
 * bounded by the input's size, and a failure leaves a one-line reason.
 *
 *   struct sp__decode_in in = { stream, len, nrec, nsites, ticks_per_ns };
 *   struct sp__decoded d;
 *   if (sp__decode(&in, &d, err, sizeof err) == 0) { walk d.nodes[0]; sp__decoded_free(&d); }
 *
 * Node names are left NULL: the caller names them from their site ids.
 */
#ifndef SP_DECODE_H
#define SP_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "spanprof.h"

struct sp__decode_in {
	const uint8_t *p;    /* the record stream, 8-byte aligned */
	size_t len;          /* its length in bytes */
	uint32_t nrec;       /* span and cumulative records it must hold */
	uint32_t nsites;     /* valid site ids are 1..nsites */
	double ticks_per_ns;
};

struct sp__decoded {
	sp_node *nodes;      /* nodes[0] is the root; index = ordinal */
	uint32_t nnodes;
	sp_kv *kvs;          /* every key/value; nodes point into it */
	uint32_t nkvs;
	const sp_kv *trace_kvs; /* the trace-level ones */
	uint32_t ntrace_kvs;
	char *strings;       /* keys and string values, NUL-terminated */
	uint64_t iterations; /* cumulative iterations, summed */
	uint64_t t0, t1;     /* the root's ticks */
};

/* 0 on success; -1 with a reason in err on invalid input, -2 on no memory. */
int sp__decode(const struct sp__decode_in *in, struct sp__decoded *out, char *err, size_t errlen);
void sp__decoded_free(struct sp__decoded *d);

#endif
