/* perfetto.c - `spanprof export --format perfetto`: Perfetto's own
 * protobuf trace (a `Trace`: repeated TracePacket), which its UI and trace
 * processor read far faster than JSON and without JSON's size cap.
 *
 * One sequence of packets (trusted_packet_sequence_id 1): first a track
 * per process and per thread (TrackDescriptor; traces of one thread that
 * overlap in time get extra "lane" tracks, see place.h), then, trace by
 * trace, a TYPE_SLICE_BEGIN and a TYPE_SLICE_END TrackEvent per node, in
 * time order. Event names, annotation names and source files are interned:
 * a string's first use carries it in the packet's InternedData, later ones
 * its iid only (a file path is written once, not per event). Data,
 * function details and a cumulative node's count/total/min/avg/max are
 * debug annotations of the begin event. Packets are written as the walk
 * goes, each encoded in reused buffers: memory does not grow with the
 * trace, only with the number of distinct names, keys and files. The field
 * numbers used are in docs/EXPORTS.md.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "export/export.h"
#include "export/pb.h"
#include "export/place.h"
#include "read/hashmap.h"
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
	ID_DEBUG_ANNOTATION_NAMES = 3,
	ID_DEBUG_ANNOTATION_STRING_VALUES = 29,
	/* EventName, DebugAnnotationName, InternedString: iid 1, the string 2 */
	IN_IID = 1,
	IN_STRING = 2,
	DA_NAME_IID = 1,
	DA_BOOL = 2,
	DA_UINT = 3,
	DA_INT = 4,
	DA_DOUBLE = 5,
	DA_STRING = 6,
	DA_NAME = 10,
	DA_STRING_IID = 17,
};

#define SEQUENCE_ID 1

/* One kind of interned string (its InternedData field). */
struct interner {
	uint32_t field;
	struct hashmap map; /* hash of the string -> its iid */
	char **strs;        /* strs[iid], copies (iid 0 unused) */
	size_t n, cap;
};

/* A string interned while encoding an event, for the packet's
 * InternedData. */
struct fresh {
	uint32_t field;
	uint64_t iid;
	const char *str;
};

struct perfetto {
	FILE *out;
	struct pb pb, ev; /* the packet; its TrackEvent, encoded apart */
	struct rd_dump *d;
	struct interner names, keys, files;
	struct fresh *fresh;
	size_t nfresh, capfresh;
	bool oom;
	/* the trace being written */
	const struct rd_tree *t;
	uint64_t t0_ns, track;
	bool unfinished;
};

static int flush_packet(struct perfetto *P)
{
	if (P->pb.oom) {
		msg_errorf("out of memory");
		return 1;
	}
	if (fwrite(P->pb.buf, 1, P->pb.len, P->out) != P->pb.len)
		return 1; /* the caller's fclose/ferror reports it */
	pb_reset(&P->pb);
	return 0;
}

/* Track uuids: 1 the first process, 2, 3, ... its thread and lane tracks
 * in the order they first appear, then the next process and its tracks
 * (small varints; the same on every export; unique across the dumps of
 * one export, which share a file). */

/* Write the track descriptors of P->d's process and set track[k], the
 * uuid of the track of trace which[k]; *next is the next free uuid. The
 * first process clears the sequence's incremental state, the others keep
 * the names interned so far. */
static int write_tracks(struct perfetto *P, const size_t *which, const unsigned *lane, size_t n, uint64_t *track,
			uint64_t *next, bool first)
{
	struct rd_dump *d = P->d;
	struct pb *b = &P->pb;
	const char *prog = d->program ? d->program : "", *base = strrchr(prog, '/');
	const uint64_t process_uuid = (*next)++;
	pb_open(b, TRACE_PACKET);
	pb_uint(b, PKT_SEQUENCE_ID, SEQUENCE_ID);
	if (first)
		pb_uint(b, PKT_SEQUENCE_FLAGS, SEQ_INCREMENTAL_STATE_CLEARED);
	pb_open(b, PKT_TRACK_DESCRIPTOR);
	pb_uint(b, TD_UUID, process_uuid);
	pb_open(b, TD_PROCESS);
	pb_int(b, PD_PID, (int64_t)d->pid);
	pb_str(b, PD_PROCESS_NAME, base ? base + 1 : prog);
	pb_close(b);
	pb_close(b);
	pb_close(b);
	if (flush_packet(P))
		return 1;
	for (size_t k = 0; k < n; k++) {
		uint64_t tid = d->traces[which[k]].tid;
		track[k] = 0;
		for (size_t m = 0; m < k && !track[k]; m++)
			if (d->traces[which[m]].tid == tid && lane[m] == lane[k])
				track[k] = track[m];
		if (track[k])
			continue;
		track[k] = (*next)++;
		char name[64];
		pb_open(b, TRACE_PACKET);
		pb_uint(b, PKT_SEQUENCE_ID, SEQUENCE_ID);
		pb_open(b, PKT_TRACK_DESCRIPTOR);
		pb_uint(b, TD_UUID, track[k]);
		pb_uint(b, TD_PARENT_UUID, process_uuid);
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

/* The iid of `str` in `I`; a new string is also added to P->fresh, for
 * the packet's InternedData. 0 when a hash collision means the string must
 * go inline; P->oom set when out of memory. */
static uint64_t intern(struct perfetto *P, struct interner *I, const char *str)
{
	if (P->oom)
		return 0;
	if (I->n + 1 >= I->cap) {
		size_t cap = I->cap ? I->cap * 2 : 64;
		char **a = realloc(I->strs, cap * sizeof *a);
		if (!a)
			goto oom;
		I->strs = a;
		I->cap = cap;
	}
	long next = (long)I->n + 1;
	long iid = hashmap_get_or_put(&I->map, hashmap_hash(0, str), (uint32_t)next);
	if (iid < 0)
		goto oom;
	if (iid != next)
		return strcmp(I->strs[iid], str) ? 0 : (uint64_t)iid;
	if (P->nfresh == P->capfresh) {
		size_t cap = P->capfresh ? P->capfresh * 2 : 16;
		struct fresh *f = realloc(P->fresh, cap * sizeof *f);
		if (!f)
			goto oom;
		P->fresh = f;
		P->capfresh = cap;
	}
	/* A copy: keys live in the trace's tree, freed before the next. */
	if (!(I->strs[next] = strdup(str)))
		goto oom;
	I->n++;
	P->fresh[P->nfresh++] = (struct fresh){ I->field, (uint64_t)next, I->strs[next] };
	return (uint64_t)next;
oom:
	P->oom = true;
	return 0;
}

static void interner_free(struct interner *I)
{
	for (size_t i = 1; i <= I->n; i++)
		free(I->strs[i]);
	free(I->strs);
	hashmap_free(&I->map);
}

static void ann_open(struct perfetto *P, const char *name)
{
	pb_open(&P->ev, TE_DEBUG_ANNOTATIONS);
	uint64_t iid = intern(P, &P->keys, name);
	if (iid)
		pb_uint(&P->ev, DA_NAME_IID, iid);
	else
		pb_str(&P->ev, DA_NAME, name);
}

static void ann_str(struct perfetto *P, const char *name, const char *v)
{
	ann_open(P, name);
	pb_str(&P->ev, DA_STRING, v);
	pb_close(&P->ev);
}

/* A source file: interned, as it repeats on every call of its functions. */
static void ann_file(struct perfetto *P, const char *file)
{
	ann_open(P, "file");
	uint64_t iid = intern(P, &P->files, file);
	if (iid)
		pb_uint(&P->ev, DA_STRING_IID, iid);
	else
		pb_str(&P->ev, DA_STRING, file);
	pb_close(&P->ev);
}

static void ann_uint(struct perfetto *P, const char *name, uint64_t v)
{
	ann_open(P, name);
	pb_uint(&P->ev, DA_UINT, v);
	pb_close(&P->ev);
}

static void ann_bool(struct perfetto *P, const char *name, bool v)
{
	ann_open(P, name);
	pb_uint(&P->ev, DA_BOOL, v);
	pb_close(&P->ev);
}

static void ann_kv(struct perfetto *P, const sp_kv *kv)
{
	struct pb *b = &P->ev;
	ann_open(P, kv->key);
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
	struct pb *e = &P->ev, *b = &P->pb;
	const sp_node *n = ev->n;
	/* The TrackEvent first, apart: it tells which strings are new. */
	pb_reset(e);
	P->nfresh = 0;
	pb_uint(e, TE_TYPE, open ? TYPE_SLICE_BEGIN : TYPE_SLICE_END);
	pb_uint(e, TE_TRACK_UUID, P->track);
	if (open) {
		uint64_t iid = intern(P, &P->names, n->name);
		if (iid)
			pb_uint(e, TE_NAME_IID, iid);
		else
			pb_str(e, TE_NAME, n->name);
		for (uint32_t i = 0; i < n->ndata; i++)
			ann_kv(P, &n->data[i]);
		if (n->file) {
			ann_file(P, n->file);
			ann_uint(P, "line", n->line);
		}
		if (n->kind == SP_NODE_CUMULATIVE) {
			ann_uint(P, "count", n->count);
			ann_uint(P, "total_ns", n->total_ns);
			ann_uint(P, "min_ns", n->min_ns);
			ann_uint(P, "avg_ns", n->avg_ns);
			ann_uint(P, "max_ns", n->max_ns);
			if (ev->clipped)
				ann_bool(P, "clipped", true);
		}
		if (n->abandoned)
			ann_bool(P, "abandoned", true);
		if (!ev->depth) {
			const struct rd_tree *t = P->t;
			ann_uint(P, "trace.seq", t->tr->seq);
			if (t->tr->id && t->tr->id[0])
				ann_str(P, "trace.id", t->tr->id);
			for (uint32_t i = 0; i < t->dec.ntrace_kvs; i++)
				ann_kv(P, &t->dec.trace_kvs[i]);
			if (t->tr->dropped)
				ann_uint(P, "trace.dropped_spans", t->tr->dropped);
			if (P->unfinished)
				ann_bool(P, "trace.unfinished", true);
		}
	}
	if (P->oom || e->oom) {
		msg_errorf("out of memory");
		return 1;
	}
	pb_open(b, TRACE_PACKET);
	pb_uint(b, PKT_TIMESTAMP, P->t0_ns + ev->ts + (open ? 0 : ev->dur));
	pb_uint(b, PKT_SEQUENCE_ID, SEQUENCE_ID);
	pb_uint(b, PKT_SEQUENCE_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE);
	if (P->nfresh) {
		pb_open(b, PKT_INTERNED_DATA);
		for (size_t i = 0; i < P->nfresh; i++) {
			pb_open(b, P->fresh[i].field);
			pb_uint(b, IN_IID, P->fresh[i].iid);
			pb_str(b, IN_STRING, P->fresh[i].str);
			pb_close(b);
		}
		pb_close(b);
	}
	pb_bytes(b, PKT_TRACK_EVENT, e->buf, e->len);
	pb_close(b);
	return flush_packet(P);
}

/* Trace `which[0..n)` of P->d. */
static int perfetto_dump(struct perfetto *P, const size_t *which, size_t n, uint64_t *next, bool first)
{
	struct rd_dump *d = P->d;
	unsigned *lane = place_lanes(d, which, n);
	uint64_t *track = calloc(n ? n : 1, sizeof *track);
	int rc = 0;
	if (!lane || !track) {
		free(lane);
		free(track);
		msg_errorf("out of memory");
		return 1;
	}
	rc = write_tracks(P, which, lane, n, track, next, first);
	for (size_t k = 0; k < n && !rc; k++) {
		struct rd_tree t;
		if (cmd_tree(d, which[k], &t)) {
			rc = 1;
			break;
		}
		P->t = &t;
		P->t0_ns = rd_dump_wall_ns(d, t.tr->t0);
		P->track = track[k];
		P->unfinished = place_trace_unfinished(t.tr);
		rc = place_walk(&t, on_node, P);
		if (rc < 0) {
			msg_errorf("out of memory");
			rc = 1;
		}
		rd_tree_free(&t);
	}
	free(lane);
	free(track);
	return rc;
}

/* Many dumps: one sequence, a process track (and its threads') per dump. */
int export_perfetto(FILE *out, const struct export_part *parts, size_t nparts)
{
	struct perfetto P = { .out = out };
	P.names.field = ID_EVENT_NAMES;
	P.keys.field = ID_DEBUG_ANNOTATION_NAMES;
	P.files.field = ID_DEBUG_ANNOTATION_STRING_VALUES;
	uint64_t next = 1;
	int rc = 0;
	for (size_t i = 0; i < nparts && !rc; i++) {
		P.d = parts[i].d;
		rc = perfetto_dump(&P, parts[i].which, parts[i].n, &next, i == 0);
	}
	free(P.fresh);
	interner_free(&P.names);
	interner_free(&P.keys);
	interner_free(&P.files);
	pb_free(&P.pb);
	pb_free(&P.ev);
	return rc;
}
