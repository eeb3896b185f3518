/* place.c - see place.h. */
#include "place.h"

#include <stdlib.h>

/* Placed nodes keep 1 ns from their neighbours and their parent's ends:
 * viewers add ts and dur in floating point, and 3515.697 + 0.03 is a hair
 * above 3515.727, which would make two nodes that touch overlap. */
#define MARGIN 1
#define MAX_LANES 64

struct frame {
	struct place_ev ev;
	size_t gap0, ngaps; /* a span's gaps, in the pool, once computed */
	bool have_gaps;
	struct place_seq seq; /* a cumulative node: where its children go */
	const sp_node *next;  /* the next child to visit */
};

struct walker {
	struct frame *st;
	size_t depth, cap;
	struct place_gap *pool;
	size_t npool, poolcap;
};

void place_span(const sp_node *c, uint64_t lo, uint64_t hi, uint64_t *ts, uint64_t *dur)
{
	uint64_t s = c->start_ns < lo ? lo : c->start_ns > hi ? hi : c->start_ns;
	uint64_t e = c->start_ns + c->duration_ns;
	e = e < s ? s : e > hi ? hi : e;
	*ts = s;
	*dur = e - s;
}

size_t place_gaps(const sp_node *p, uint64_t lo, uint64_t hi, struct place_gap *gaps)
{
	size_t n = 0;
	uint64_t at = lo;
	for (const sp_node *c = p->first_child; c; c = c->next_sibling) {
		if (c->kind != SP_NODE_SPAN)
			continue;
		uint64_t s, d;
		place_span(c, lo, hi, &s, &d);
		if (s > at)
			gaps[n++] = (struct place_gap){ at, s };
		if (s + d > at)
			at = s + d;
	}
	if (hi > at)
		gaps[n++] = (struct place_gap){ at, hi };
	return n;
}

bool place_in_gap(struct place_gap *gaps, size_t ngaps, uint64_t total, uint64_t lo, uint64_t *ts,
		  uint64_t *dur)
{
	struct place_gap *g = NULL, *largest = NULL;
	for (size_t i = 0; i < ngaps && !g; i++) {
		uint64_t room = gaps[i].hi - gaps[i].lo;
		if (room >= total)
			g = &gaps[i];
		else if (!largest || room > largest->hi - largest->lo)
			largest = &gaps[i];
	}
	if (!g)
		g = largest;
	uint64_t room = g && g->hi - g->lo > 2 * MARGIN ? g->hi - g->lo - 2 * MARGIN : 0;
	uint64_t d = total < room ? total : room;
	*ts = g ? g->lo + (room ? MARGIN : 0) : lo;
	*dur = d;
	if (g && room)
		g->lo += MARGIN + d;
	return d < total;
}

void place_seq_init(struct place_seq *q, uint64_t total, uint64_t lo, uint64_t dur)
{
	uint64_t hi = lo + dur;
	q->scale = total && dur < total ? (double)dur / (double)total : 1.0;
	q->at = lo + MARGIN < hi ? lo + MARGIN : lo;
	q->hi = hi;
}

bool place_seq_next(struct place_seq *q, uint64_t total, uint64_t *ts, uint64_t *dur)
{
	uint64_t d = (uint64_t)((double)total * q->scale);
	uint64_t room = q->hi - q->at > MARGIN ? q->hi - q->at - MARGIN : 0;
	d = d < room ? d : room;
	*ts = q->at;
	*dur = d;
	q->at = q->at + d + MARGIN < q->hi ? q->at + d + MARGIN : q->at + d;
	return d < total;
}

/* The span frame's gaps, appended to the pool (the frame is the innermost
 * one: the pool's end is its own). */
static int compute_gaps(struct walker *w, struct frame *f)
{
	const sp_node *p = f->ev.n;
	size_t need = w->npool + p->nchildren + 1;
	if (need > w->poolcap) {
		size_t cap = need * 2;
		struct place_gap *g = realloc(w->pool, cap * sizeof *g);
		if (!g)
			return -1;
		w->pool = g;
		w->poolcap = cap;
	}
	f->gap0 = w->npool;
	f->ngaps = place_gaps(p, f->ev.ts, f->ev.ts + f->ev.dur, w->pool + w->npool);
	w->npool += f->ngaps;
	f->have_gaps = true;
	return 0;
}

/* Where child `c` of the innermost frame goes. */
static int place_child(struct walker *w, struct frame *pf, const sp_node *c, struct place_ev *ev)
{
	uint64_t lo = pf->ev.ts, hi = lo + pf->ev.dur;
	ev->n = c;
	ev->depth = pf->ev.depth + 1;
	ev->clipped = false;
	if (c->kind == SP_NODE_SPAN) {
		place_span(c, lo, hi, &ev->ts, &ev->dur);
		return 0;
	}
	if (pf->ev.n->kind == SP_NODE_CUMULATIVE) {
		ev->clipped = place_seq_next(&pf->seq, c->total_ns, &ev->ts, &ev->dur);
		return 0;
	}
	if (!pf->have_gaps && compute_gaps(w, pf))
		return -1;
	ev->clipped = place_in_gap(w->pool + pf->gap0, pf->ngaps, c->total_ns, lo, &ev->ts, &ev->dur);
	return 0;
}

static int push(struct walker *w, const struct place_ev *ev)
{
	if (w->depth == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct frame *s = realloc(w->st, cap * sizeof *s);
		if (!s)
			return -1;
		w->st = s;
		w->cap = cap;
	}
	struct frame *f = &w->st[w->depth++];
	*f = (struct frame){ .ev = *ev, .gap0 = w->npool, .next = ev->n->first_child };
	if (ev->n->kind == SP_NODE_CUMULATIVE)
		place_seq_init(&f->seq, ev->n->total_ns, ev->ts, ev->dur);
	return 0;
}

static int pop(struct walker *w, place_fn fn, void *ctx)
{
	struct frame *f = &w->st[--w->depth];
	w->npool = f->gap0;
	return fn(ctx, &f->ev, false);
}

/* Children are visited through the tree's links, not in record order: the
 * records only promise that a parent comes before its child. A cumulative
 * node that gains a child in a later iteration gets that child's record
 * after its later siblings' (and their subtrees'), so a subtree's records
 * need not sit together. The path is an explicit stack: traces can be
 * 100,000 deep. */
int place_walk(const struct rd_tree *t, place_fn fn, void *ctx)
{
	struct walker w = { 0 };
	int rc = 0;
	const sp_node *root = t->dec.nnodes ? t->root : NULL;
	if (!root)
		return 0;
	struct place_ev ev = { root, root->start_ns, root->duration_ns, false, 0 };
	if (push(&w, &ev))
		rc = -1;
	else
		rc = fn(ctx, &ev, true);
	while (w.depth && !rc) {
		struct frame *f = &w.st[w.depth - 1];
		const sp_node *c = f->next;
		if (!c) {
			rc = pop(&w, fn, ctx);
			continue;
		}
		f->next = c->next_sibling;
		if (place_child(&w, f, c, &ev) || push(&w, &ev)) {
			rc = -1;
			break;
		}
		rc = fn(ctx, &ev, true);
	}
	while (w.depth && !rc)
		rc = pop(&w, fn, ctx);
	free(w.st);
	free(w.pool);
	return rc;
}

struct order {
	size_t k;
	uint64_t start, end;
};

static int by_start(const void *a, const void *b)
{
	const struct order *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

unsigned *place_lanes(const struct rd_dump *d, const size_t *which, size_t n)
{
	struct lane {
		uint64_t tid, end;
		unsigned no;
	};
	unsigned *lane = calloc(n ? n : 1, sizeof *lane);
	struct order *o = calloc(n ? n : 1, sizeof *o);
	struct lane *lanes = calloc(n ? n : 1, sizeof *lanes);
	if (!lane || !o || !lanes) {
		free(lane);
		lane = NULL;
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		const struct rd_dump_trace *tr = &d->traces[which[k]];
		o[k] = (struct order){ k, rd_dump_wall_ns(d, tr->t0), rd_dump_wall_ns(d, tr->t1) };
	}
	qsort(o, n, sizeof *o, by_start);
	size_t nl = 0;
	for (size_t k = 0; k < n; k++) {
		uint64_t tid = d->traces[which[o[k].k]].tid;
		struct lane *hit = NULL, *last = NULL;
		unsigned used = 0;
		for (size_t l = 0; l < nl && !hit; l++) {
			if (lanes[l].tid != tid)
				continue;
			used++;
			last = &lanes[l];
			if (lanes[l].end <= o[k].start)
				hit = &lanes[l];
		}
		if (!hit && used >= MAX_LANES)
			hit = last; /* give up on nesting rather than on the trace */
		if (!hit) {
			hit = &lanes[nl++];
			*hit = (struct lane){ tid, 0, used };
		}
		if (o[k].end > hit->end)
			hit->end = o[k].end;
		lane[o[k].k] = hit->no;
	}
out:
	free(o);
	free(lanes);
	return lane;
}

bool place_trace_unfinished(const struct rd_dump_trace *tr)
{
	/* Flag 1: closed by spanprof, open at exit or at its thread's end.
	 * Traces still open when a live process is dumped are not written
	 * by the runtime today; when they are, their flag goes here too. */
	return tr->flags & 1;
}

uint64_t place_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}
