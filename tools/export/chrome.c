/* export/chrome.c - `spanprof export --format chrome`: Trace Event JSON for
 * Perfetto, speedscope and chrome://tracing.
 *
 * Every node is one complete event ("ph":"X"), data and function details as
 * args, on one track per thread (pid = the recorded process, tid = the
 * thread). Viewers build their stacks from the times alone, so the events
 * of a track must nest exactly: a child inside its parent, siblings apart.
 * Spans have real times and nest by construction. Two things need placing:
 *
 *  - A cumulative node has no time of its own, only a total: its
 *    iterations ran somewhere in its parent's time that no span child
 *    covers. It is put in the first such gap that holds its total (the
 *    common case: the loop ran in one stretch), 1 ns clear of its
 *    neighbours; when none does (its
 *    iterations were spread between span siblings), in the largest gap,
 *    cut to fit, with "clipped" in its args. Its count, total, min, avg
 *    and max are always in args. Its own cumulative children are laid end
 *    to end inside it, scaled down with it when it was cut.
 *  - Traces of one thread that overlap in time (requests interleaved on
 *    one thread with sp_context_save/restore) go to extra tracks,
 *    "thread N (lane K)", as one track cannot hold them.
 *
 * Times are written in microseconds with three decimals, from integer
 * nanoseconds, so what nests in nanoseconds nests in the file.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "export/export.h"
#include "msg.h"
#include "read/hashmap.h"
#include "render/json.h"

/* Placed events keep 1 ns from their neighbours and their parent's ends:
 * viewers add ts and dur in floating point, and 3515.697 + 0.03 is a hair
 * above 3515.727, which would make two events that touch overlap. */
#define MARGIN 1
#define MAX_LANES 64
#define LANE_TID (1u << 22) /* above any Linux thread id (pid_max <= 2^22) */

/* ------------------------------------------------------------------------
 * Placement of the nodes of one trace, in ns from the trace's start
 */
struct gap {
	uint64_t lo, hi;
};

struct layout {
	uint64_t *ts, *dur;
	bool *clipped;
	struct gap *gaps; /* scratch, one more than the most children */
};

/* The parts of [lo, hi) that no span child of `p` covers, in time order. */
static size_t gaps_of(const sp_node *p, const struct layout *L, uint64_t lo, uint64_t hi)
{
	size_t n = 0;
	uint64_t at = lo;
	for (const sp_node *c = p->first_child; c; c = c->next_sibling) {
		if (c->kind != SP_NODE_SPAN)
			continue;
		uint64_t s = L->ts[c->index], e = s + L->dur[c->index];
		if (s > at)
			L->gaps[n++] = (struct gap){ at, s };
		if (e > at)
			at = e;
	}
	if (hi > at)
		L->gaps[n++] = (struct gap){ at, hi };
	return n;
}

static void place_children(const sp_node *p, struct layout *L)
{
	uint64_t lo = L->ts[p->index], hi = lo + L->dur[p->index];
	/* Spans: their own times, kept inside the parent (they are, unless
	 * the clock misbehaved). */
	for (const sp_node *c = p->first_child; c; c = c->next_sibling) {
		if (c->kind != SP_NODE_SPAN)
			continue;
		uint64_t s = c->start_ns < lo ? lo : c->start_ns > hi ? hi : c->start_ns;
		uint64_t e = c->start_ns + c->duration_ns;
		e = e < s ? s : e > hi ? hi : e;
		L->ts[c->index] = s;
		L->dur[c->index] = e - s;
	}
	if (p->kind == SP_NODE_CUMULATIVE) {
		/* Only cumulative children: one after the other, scaled with
		 * the parent. */
		double scale = p->total_ns && L->dur[p->index] < p->total_ns
				       ? (double)L->dur[p->index] / (double)p->total_ns
				       : 1.0;
		uint64_t at = lo + MARGIN < hi ? lo + MARGIN : lo;
		for (const sp_node *c = p->first_child; c; c = c->next_sibling) {
			uint64_t d = (uint64_t)((double)c->total_ns * scale);
			uint64_t room = hi - at > MARGIN ? hi - at - MARGIN : 0;
			d = d < room ? d : room;
			L->ts[c->index] = at;
			L->dur[c->index] = d;
			L->clipped[c->index] = d < c->total_ns;
			at = at + d + MARGIN < hi ? at + d + MARGIN : at + d;
		}
		return;
	}
	size_t ng = 0;
	bool have_gaps = false;
	for (const sp_node *c = p->first_child; c; c = c->next_sibling) {
		if (c->kind != SP_NODE_CUMULATIVE)
			continue;
		if (!have_gaps) {
			ng = gaps_of(p, L, lo, hi);
			have_gaps = true;
		}
		struct gap *g = NULL, *largest = NULL;
		for (size_t i = 0; i < ng && !g; i++) {
			uint64_t room = L->gaps[i].hi - L->gaps[i].lo;
			if (room >= c->total_ns)
				g = &L->gaps[i];
			else if (!largest || room > largest->hi - largest->lo)
				largest = &L->gaps[i];
		}
		if (!g)
			g = largest;
		uint64_t room = g && g->hi - g->lo > 2 * MARGIN ? g->hi - g->lo - 2 * MARGIN : 0;
		uint64_t d = c->total_ns < room ? c->total_ns : room;
		L->ts[c->index] = g ? g->lo + (room ? MARGIN : 0) : lo;
		L->dur[c->index] = d;
		L->clipped[c->index] = d < c->total_ns;
		if (g && room)
			g->lo += MARGIN + d;
	}
}

static int layout_trace(const struct rd_tree *t, struct layout *L)
{
	uint32_t n = t->dec.nnodes, most = 0;
	for (uint32_t i = 0; i < n; i++)
		most = t->dec.nodes[i].nchildren > most ? t->dec.nodes[i].nchildren : most;
	L->ts = calloc(n, sizeof *L->ts);
	L->dur = calloc(n, sizeof *L->dur);
	L->clipped = calloc(n, sizeof *L->clipped);
	L->gaps = calloc((size_t)most + 1, sizeof *L->gaps);
	if (!L->ts || !L->dur || !L->clipped || !L->gaps)
		return -1;
	L->ts[0] = t->root->start_ns;
	L->dur[0] = t->root->duration_ns;
	/* Pre-order: a parent is placed before its children. */
	for (uint32_t i = 0; i < n; i++)
		if (t->dec.nodes[i].first_child)
			place_children(&t->dec.nodes[i], L);
	return 0;
}

/* What a viewer reads back from "%llu.%03u": the nearest double to ns /
 * 1000, which is also what this division gives. */
static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

/* Viewers add ts and dur in floating point: two events that touch in
 * nanoseconds (a child ending with its parent, the same tick converted)
 * may overlap by a hair once added, and the child then ends "after" its
 * parent. Shorten such an event by the nanoseconds it takes for its end
 * to read at or before its parent's end and its next sibling's start.
 * Pre-order: a parent's duration is final before its children's. `t0`:
 * the trace's offset in the file, as written. */
static void fit_floats(const struct rd_tree *t, struct layout *L, uint64_t t0)
{
	for (uint32_t i = 1; i < t->dec.nnodes; i++) {
		const sp_node *nd = &t->dec.nodes[i];
		double ts = us(t0 + L->ts[i]);
		double lim = us(t0 + L->ts[nd->parent->index]) + us(L->dur[nd->parent->index]);
		/* a sibling that starts where this one ends (cumulative nodes
		 * are placed in gaps, so the next in time need not be the next
		 * sibling) */
		if (nd->next_sibling && L->ts[nd->next_sibling->index] >= L->ts[i] + L->dur[i]) {
			double next = us(t0 + L->ts[nd->next_sibling->index]);
			lim = next < lim ? next : lim;
		}
		while (L->dur[i] && ts + us(L->dur[i]) > lim)
			L->dur[i]--;
	}
}

static void layout_free(struct layout *L)
{
	free(L->ts);
	free(L->dur);
	free(L->clipped);
	free(L->gaps);
}

/* ------------------------------------------------------------------------
 * Tracks: a lane per set of traces of one thread that do not overlap
 */
struct lane {
	uint64_t tid, end_ns;
	unsigned no;
};

struct order {
	size_t index;
	uint64_t start_ns, end_ns;
};

static int by_start(const void *a, const void *b)
{
	const struct order *x = a, *y = b;
	return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

/* The track id of each trace (indexed like `which`). */
static uint64_t *assign_tracks(const struct rd_dump *d, const size_t *which, size_t n)
{
	uint64_t *track = calloc(n ? n : 1, sizeof *track);
	struct order *o = calloc(n ? n : 1, sizeof *o);
	struct lane *lanes = calloc(n ? n : 1, sizeof *lanes);
	if (!track || !o || !lanes) {
		free(track);
		track = NULL;
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		const struct rd_dump_trace *tr = &d->traces[which[k]];
		o[k] = (struct order){ k, rd_dump_wall_ns(d, tr->t0), rd_dump_wall_ns(d, tr->t1) };
	}
	qsort(o, n, sizeof *o, by_start);
	size_t nl = 0;
	for (size_t k = 0; k < n; k++) {
		uint64_t tid = d->traces[which[o[k].index]].tid;
		struct lane *hit = NULL, *last = NULL;
		unsigned used = 0;
		for (size_t l = 0; l < nl && !hit; l++) {
			if (lanes[l].tid != tid)
				continue;
			used++;
			last = &lanes[l];
			if (lanes[l].end_ns <= o[k].start_ns)
				hit = &lanes[l];
		}
		if (!hit && used >= MAX_LANES)
			hit = last; /* give up on nesting rather than on the trace */
		if (!hit) {
			hit = &lanes[nl++];
			*hit = (struct lane){ tid, 0, used };
		}
		if (o[k].end_ns > hit->end_ns)
			hit->end_ns = o[k].end_ns;
		track[o[k].index] = hit->no ? tid % LANE_TID + (uint64_t)hit->no * LANE_TID : tid;
	}
out:
	free(o);
	free(lanes);
	return track;
}

/* ------------------------------------------------------------------------
 * Writing
 */
static void json_us(struct json *j, const char *key, uint64_t ns)
{
	char num[32];
	snprintf(num, sizeof num, "%llu.%03u", (unsigned long long)(ns / 1000), (unsigned)(ns % 1000));
	json_raw(j, key, num);
}

/* Where functions are, each said once: a full path (and the line) in every
 * event made 168-byte events on a big trace. The first event of a source
 * file is preceded by a metadata event "spanprof_file" {"id": K, "path"},
 * the first of a function by "spanprof_function" {"function", "file_id":
 * K, "line"}; events carry only what differs between them. */
struct where {
	struct hashmap files, funcs;
	uint32_t nfiles, nfuncs;
};

static void meta(struct json *j, const char *name, uint64_t pid, uint64_t tid)
{
	json_object(j, NULL);
	json_str(j, "ph", "M");
	json_str(j, "name", name);
	json_u64(j, "pid", pid);
	json_u64(j, "tid", tid);
	json_object(j, "args");
}

/* -1 on no memory. */
static int name_where(struct json *j, struct where *W, const sp_node *n, uint64_t pid, uint64_t tid)
{
	char key[32];
	snprintf(key, sizeof key, "%u", n->line);
	uint64_t h = hashmap_hash(hashmap_hash(hashmap_hash(0, n->function ? n->function : n->name), n->file), key);
	long f = hashmap_get_or_put(&W->funcs, h, W->nfuncs);
	if (f < 0)
		return -1;
	if ((uint32_t)f != W->nfuncs)
		return 0;
	W->nfuncs++;
	long id = hashmap_get_or_put(&W->files, hashmap_hash(0, n->file), W->nfiles);
	if (id < 0)
		return -1;
	if ((uint32_t)id == W->nfiles) {
		W->nfiles++;
		meta(j, "spanprof_file", pid, tid);
		json_u64(j, "id", (uint64_t)id);
		json_str(j, "path", n->file);
		json_end(j);
		json_end(j);
	}
	meta(j, "spanprof_function", pid, tid);
	json_str(j, "function", n->function ? n->function : n->name);
	json_u64(j, "file_id", (uint64_t)id);
	json_u64(j, "line", n->line);
	json_end(j);
	json_end(j);
	return 0;
}

static void event_args(struct json *j, const sp_node *n, bool clipped)
{
	if (!n->ndata && n->kind != SP_NODE_CUMULATIVE && !n->abandoned)
		return; /* nothing: no "args" (most function spans) */
	json_object(j, "args");
	for (uint32_t i = 0; i < n->ndata; i++)
		json_kv(j, &n->data[i]);
	if (n->kind == SP_NODE_CUMULATIVE) {
		json_u64(j, "count", n->count);
		json_f64(j, "total_us", n->total_ns / 1000.0);
		json_f64(j, "min_us", n->min_ns / 1000.0);
		json_f64(j, "avg_us", n->avg_ns / 1000.0);
		json_f64(j, "max_us", n->max_ns / 1000.0);
		if (clipped)
			json_bool(j, "clipped", true);
	}
	if (n->abandoned)
		json_bool(j, "abandoned", true);
	json_end(j);
}

static void thread_name(struct json *j, uint64_t pid, uint64_t track, uint64_t tid)
{
	json_object(j, NULL);
	json_str(j, "ph", "M");
	json_str(j, "name", "thread_name");
	json_u64(j, "pid", pid);
	json_u64(j, "tid", track);
	json_object(j, "args");
	char name[64];
	if (track == tid)
		snprintf(name, sizeof name, "thread %llu", (unsigned long long)tid);
	else
		snprintf(name, sizeof name, "thread %llu (lane %llu)", (unsigned long long)tid,
			 (unsigned long long)(track / LANE_TID));
	json_str(j, "name", name);
	json_end(j);
	json_end(j);
}

/* Many dumps: one file, each process its own pid; times from the earliest
 * trace of all. */
int export_chrome(FILE *out, const struct export_part *parts, size_t nparts)
{
	uint64_t origin = UINT64_MAX;
	for (size_t p = 0; p < nparts; p++)
		for (size_t k = 0; k < parts[p].n; k++) {
			struct rd_dump *d = parts[p].d;
			uint64_t w = rd_dump_wall_ns(d, d->traces[parts[p].which[k]].t0);
			origin = w < origin ? w : origin;
		}
	struct json j;
	json_init(&j, out);
	json_object(&j, NULL);
	json_str(&j, "displayTimeUnit", "ms");
	json_array(&j, "traceEvents");
	struct where W = { 0 };
	int rc = 0;
	for (size_t p = 0; p < nparts && !rc; p++) {
		struct rd_dump *d = parts[p].d;
		const size_t *which = parts[p].which;
		size_t n = parts[p].n;
		uint64_t *track = assign_tracks(d, which, n);
		if (!track) {
			msg_errorf("out of memory");
			rc = 1;
			break;
		}
		for (size_t k = 0; k < n; k++) {
			bool seen = false;
			for (size_t m = 0; m < k && !seen; m++)
				seen = track[m] == track[k];
			if (!seen)
				thread_name(&j, d->pid, track[k], d->traces[which[k]].tid);
		}
		for (size_t k = 0; k < n && !rc; k++) {
			struct rd_tree t;
			if (cmd_tree(d, which[k], &t)) {
				rc = 1;
				break;
			}
			struct layout L = { 0 };
			if (layout_trace(&t, &L)) {
				msg_errorf("out of memory");
				rc = 1;
			}
			uint64_t t0 = rd_dump_wall_ns(d, t.tr->t0) - origin;
			if (!rc)
				fit_floats(&t, &L, t0);
			for (uint32_t i = 0; i < t.dec.nnodes && !rc; i++) {
				const sp_node *nd = &t.dec.nodes[i];
				if (nd->file && name_where(&j, &W, nd, d->pid, track[k])) {
					msg_errorf("out of memory");
					rc = 1;
					break;
				}
				json_object(&j, NULL);
				json_str(&j, "ph", "X");
				if (nd->kind == SP_NODE_CUMULATIVE) {
					char name[300];
					snprintf(name, sizeof name, "%s ×%llu", nd->name, (unsigned long long)nd->count);
					json_str(&j, "name", name);
					json_str(&j, "cat", "cumulative");
				} else {
					json_str(&j, "name", nd->name);
					json_str(&j, "cat", nd->function ? "function" : "span");
				}
				json_u64(&j, "pid", d->pid);
				json_u64(&j, "tid", track[k]);
				json_us(&j, "ts", t0 + L.ts[i]);
				json_us(&j, "dur", L.dur[i]);
				event_args(&j, nd, L.clipped[i]);
				json_end(&j);
			}
			layout_free(&L);
			rd_tree_free(&t);
		}
		free(track);
	}
	json_end(&j);
	json_end(&j);
	json_newline(&j);
	json_free(&j);
	hashmap_free(&W.files);
	hashmap_free(&W.funcs);
	return rc;
}
