/* perfetto.c - `spanprof export --format perfetto`: Perfetto's own
 * protobuf trace (a `Trace`: repeated TracePacket), which its UI and trace
 * processor read far faster than JSON and without JSON's size cap.
 *
 * One sequence of packets (trusted_packet_sequence_id 1): first a track
 * per process and per thread (TrackDescriptor; traces of one thread that
 * overlap in time get extra "lane" tracks, see place.h), then, trace by
 * trace, a TYPE_SLICE_BEGIN and a TYPE_SLICE_END TrackEvent per node, in
 * time order. Event names are interned: a name's first use carries it in
 * InternedData.event_names, later ones its iid only. Data, function
 * details and a cumulative node's count/total/min/avg/max are debug
 * annotations of the begin event. Packets are written as the walk goes,
 * each encoded in one reused buffer: memory does not grow with the trace,
 * only with the number of distinct names. The field numbers used are in
 * docs/EXPORTS.md.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "export.h"
#include "export/pb.h"
#include "export/place.h"
#include "hashmap.h"
#include "msg.h"

/* Field numbers, from Perfetto's public schema (protos/perfetto/trace). */
enum {
	TRACE_PACKET = 1,
	PKT_TIMESTAMP = 8,
	PKT_SEQUENCE_ID = 10, /* trusted_packet_sequence_id */
	PKT_TRACK_EVENT = 11,
	PKT_INTERNED_DATA = 12,
	PKT_SEQUENCE_FLAGS = 13,
	PKT_TRACK_DESCRIPTOR = 60,
	SEQ_INCREMENTAL_STATE_CLEARED = 1,
	SEQ_NEEDS_INCREMENTAL_STATE = 2,
	TD_UUID = 1,
	TD_NAME = 2,
	TD_PROCESS = 3,
	TD_THREAD = 4,
	TD_PARENT_UUID = 5,
	PD_PID = 1,
	PD_PROCESS_NAME = 6,
	THD_PID = 1,
	THD_TID = 2,
	THD_THREAD_NAME = 5,
	TE_DEBUG_ANNOTATIONS = 4,
	TE_TYPE = 9,
	TE_NAME_IID = 10,
	TE_TRACK_UUID = 11,
	TE_NAME = 23,
	TYPE_SLICE_BEGIN = 1,
	TYPE_SLICE_END = 2,
	ID_EVENT_NAMES = 2,
	EN_IID = 1,
	EN_NAME = 2,
	DA_BOOL = 2,
	DA_UINT = 3,
	DA_INT = 4,
	DA_DOUBLE = 5,
	DA_STRING = 6,
	DA_NAME = 10,
};

#define SEQUENCE_ID 1

struct perfetto {
	FILE *out;
	struct pb pb;
	struct sp_dump *d;
	struct hashmap names; /* hash of a name -> its iid */
	const char **iids;    /* iids[iid] is the name (iid 0 unused) */
	size_t niids, capiids;
	/* the trace being written */
	const struct sp_tree *t;
	uint64_t t0_ns, track;
	bool unfinished;
};

static int flush_packet(struct perfetto *P)
{
	if (P->pb.oom) {
		sp_errorf("out of memory");
		return 1;
	}
	if (fwrite(P->pb.buf, 1, P->pb.len, P->out) != P->pb.len)
		return 1; /* the caller's fclose/ferror reports it */
	pb_reset(&P->pb);
	return 0;
}

static uint64_t track_uuid(uint64_t pid, uint64_t tid, unsigned lane, bool process)
{
	return place_mix(place_mix(place_mix(pid) ^ tid) ^ (lane + (process ? 0x10000ull : 0)));
}

static int write_tracks(struct perfetto *P, const size_t *which, const unsigned *lane, size_t n)
{
	struct sp_dump *d = P->d;
	uint64_t proc = track_uuid(d->pid, 0, 0, true);
	struct pb *b = &P->pb;
	pb_open(b, TRACE_PACKET);
	pb_uint(b, PKT_SEQUENCE_ID, SEQUENCE_ID);
	pb_uint(b, PKT_SEQUENCE_FLAGS, SEQ_INCREMENTAL_STATE_CLEARED);
	pb_open(b, PKT_TRACK_DESCRIPTOR);
	pb_uint(b, TD_UUID, proc);
	pb_open(b, TD_PROCESS);
	pb_int(b, PD_PID, (int64_t)d->pid);
	const char *prog = d->program ? d->program : "", *base = strrchr(prog, '/');
	pb_str(b, PD_PROCESS_NAME, base ? base + 1 : prog);
	pb_close(b);
	pb_close(b);
	pb_close(b);
	if (flush_packet(P))
		return 1;
	for (size_t k = 0; k < n; k++) {
		uint64_t tid = d->traces[which[k]].tid;
		bool seen = false;
		for (size_t m = 0; m < k && !seen; m++)
			seen = d->traces[which[m]].tid == tid && lane[m] == lane[k];
		if (seen)
			continue;
		char name[64];
		pb_open(b, TRACE_PACKET);
		pb_uint(b, PKT_SEQUENCE_ID, SEQUENCE_ID);
		pb_open(b, PKT_TRACK_DESCRIPTOR);
		pb_uint(b, TD_UUID, track_uuid(d->pid, tid, lane[k], false));
		pb_uint(b, TD_PARENT_UUID, proc);
		if (!lane[k]) {
			snprintf(name, sizeof name, "thread %llu", (unsigned long long)tid);
			pb_open(b, TD_THREAD);
			pb_int(b, THD_PID, (int64_t)d->pid);
			pb_int(b, THD_TID, (int64_t)tid);
			pb_str(b, THD_THREAD_NAME, name);
			pb_close(b);
		} else {
			/* Not a thread's track: a thread descriptor would merge
			 * it into the thread's own. */
			snprintf(name, sizeof name, "thread %llu (lane %u)", (unsigned long long)tid, lane[k]);
			pb_str(b, TD_NAME, name);
		}
		pb_close(b);
		pb_close(b);
		if (flush_packet(P))
			return 1;
	}
	return 0;
}

/* The iid of `name`, 0 with *fresh set when it is new (the caller adds it
 * to the packet's InternedData), or 0 without when a hash collision means
 * the name must go inline. -1 when out of memory. */
static long intern(struct perfetto *P, const char *name, bool *fresh)
{
	*fresh = false;
	if (P->niids + 1 >= P->capiids) {
		size_t cap = P->capiids ? P->capiids * 2 : 256;
		const char **a = realloc(P->iids, cap * sizeof *a);
		if (!a)
			return -1;
		P->iids = a;
		P->capiids = cap;
	}
	long next = (long)P->niids + 1;
	long iid = hashmap_get_or_put(&P->names, sp_hash(0, name), (uint32_t)next);
	if (iid < 0)
		return -1;
	if (iid == next) {
		P->iids[++P->niids] = name;
		*fresh = true;
		return iid;
	}
	return strcmp(P->iids[iid], name) ? 0 : iid;
}

static void ann_str(struct pb *b, const char *name, const char *v)
{
	pb_open(b, TE_DEBUG_ANNOTATIONS);
	pb_str(b, DA_NAME, name);
	pb_str(b, DA_STRING, v);
	pb_close(b);
}

static void ann_uint(struct pb *b, const char *name, uint64_t v)
{
	pb_open(b, TE_DEBUG_ANNOTATIONS);
	pb_str(b, DA_NAME, name);
	pb_uint(b, DA_UINT, v);
	pb_close(b);
}

static void ann_bool(struct pb *b, const char *name, bool v)
{
	pb_open(b, TE_DEBUG_ANNOTATIONS);
	pb_str(b, DA_NAME, name);
	pb_uint(b, DA_BOOL, v);
	pb_close(b);
}

static void ann_kv(struct pb *b, const sp_kv *kv)
{
	pb_open(b, TE_DEBUG_ANNOTATIONS);
	pb_str(b, DA_NAME, kv->key);
	switch (kv->type) {
	case SP_VALUE_I64: pb_int(b, DA_INT, kv->v.i64); break;
	case SP_VALUE_U64: pb_uint(b, DA_UINT, kv->v.u64); break;
	case SP_VALUE_F64: pb_double(b, DA_DOUBLE, kv->v.f64); break;
	case SP_VALUE_BOOL: pb_uint(b, DA_BOOL, kv->v.b); break;
	case SP_VALUE_STR: pb_str(b, DA_STRING, kv->v.str); break;
	}
	pb_close(b);
}

static int on_node(void *ctx, const struct place_ev *ev, bool open)
{
	struct perfetto *P = ctx;
	struct pb *b = &P->pb;
	const sp_node *n = ev->n;
	pb_open(b, TRACE_PACKET);
	pb_uint(b, PKT_TIMESTAMP, P->t0_ns + ev->ts + (open ? 0 : ev->dur));
	pb_uint(b, PKT_SEQUENCE_ID, SEQUENCE_ID);
	pb_uint(b, PKT_SEQUENCE_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE);
	long iid = 0;
	if (open) {
		bool fresh;
		if ((iid = intern(P, n->name, &fresh)) < 0) {
			sp_errorf("out of memory");
			return 1;
		}
		if (fresh) {
			pb_open(b, PKT_INTERNED_DATA);
			pb_open(b, ID_EVENT_NAMES);
			pb_uint(b, EN_IID, (uint64_t)iid);
			pb_str(b, EN_NAME, n->name);
			pb_close(b);
			pb_close(b);
		}
	}
	pb_open(b, PKT_TRACK_EVENT);
	pb_uint(b, TE_TYPE, open ? TYPE_SLICE_BEGIN : TYPE_SLICE_END);
	pb_uint(b, TE_TRACK_UUID, P->track);
	if (open) {
		if (iid)
			pb_uint(b, TE_NAME_IID, (uint64_t)iid);
		else
			pb_str(b, TE_NAME, n->name);
		for (uint32_t i = 0; i < n->ndata; i++)
			ann_kv(b, &n->data[i]);
		if (n->file) {
			ann_str(b, "file", n->file);
			ann_uint(b, "line", n->line);
		}
		if (n->kind == SP_NODE_CUMULATIVE) {
			ann_uint(b, "count", n->count);
			ann_uint(b, "total_ns", n->total_ns);
			ann_uint(b, "min_ns", n->min_ns);
			ann_uint(b, "avg_ns", n->avg_ns);
			ann_uint(b, "max_ns", n->max_ns);
			if (ev->clipped)
				ann_bool(b, "clipped", true);
		}
		if (n->abandoned)
			ann_bool(b, "abandoned", true);
		if (!ev->depth) {
			const struct sp_tree *t = P->t;
			ann_uint(b, "trace.seq", t->tr->seq);
			if (t->tr->id && t->tr->id[0])
				ann_str(b, "trace.id", t->tr->id);
			for (uint32_t i = 0; i < t->dec.ntrace_kvs; i++)
				ann_kv(b, &t->dec.trace_kvs[i]);
			if (t->tr->dropped)
				ann_uint(b, "trace.dropped_spans", t->tr->dropped);
			if (P->unfinished)
				ann_bool(b, "trace.unfinished", true);
		}
	}
	pb_close(b);
	pb_close(b);
	return flush_packet(P);
}

int export_perfetto(FILE *out, struct sp_dump *d, size_t *which, size_t n)
{
	struct perfetto P = { .out = out, .d = d };
	unsigned *lane = place_lanes(d, which, n);
	int rc = 0;
	if (!lane) {
		sp_errorf("out of memory");
		return 1;
	}
	rc = write_tracks(&P, which, lane, n);
	for (size_t k = 0; k < n && !rc; k++) {
		struct sp_tree t;
		if (cmd_tree(d, which[k], &t)) {
			rc = 1;
			break;
		}
		P.t = &t;
		P.t0_ns = sp_dump_wall_ns(d, t.tr->t0);
		P.track = track_uuid(d->pid, t.tr->tid, lane[k], false);
		P.unfinished = place_trace_unfinished(t.tr);
		rc = place_walk(&t, on_node, &P);
		if (rc < 0) {
			sp_errorf("out of memory");
			rc = 1;
		}
		sp_tree_free(&t);
	}
	free(lane);
	free(P.iids);
	hashmap_free(&P.names);
	pb_free(&P.pb);
	return rc;
}
