/* store.c - the last SPANPROF_MAX_TRACES traces, within SPANPROF_BUFFER_MB.
 *
 * A ring of pointers to stored traces, oldest evicted first (the design's
 * deque of PROFILER_MAX_TRACES). A stored trace is one block: a struct
 * sp__trace header, then its record stream. A small trace is copied into a
 * block of its own size class at commit, so the thread keeps its warm
 * buffer; a big one (over 256 KiB) is handed over as it is, without a copy.
 *
 * The byte budget covers stored traces and the buffers of traces being
 * built. A thread that needs more room evicts stored traces, oldest first;
 * when nothing is left to evict, its trace stops growing and counts the
 * spans it drops.
 *
 * Readers (sp_dump, snapshots) take references to the traces under the lock
 * and read them without it; a trace is unmapped when its last reference
 * goes. The lock is held only for pointer moves: no thread holds it while
 * it builds a trace, and none waits on anything while holding it.
 *
 * Tail-based retention (SPANPROF_KEEP_SLOWEST): the trace the ring would
 * evict is first weighed against the slowest traces kept of its name (its
 * root span's site). One of the slowest is flagged SP_TRACE_KEPT and moved
 * from the tail to the head of the ring instead of being evicted, so that
 * a slow command survives any number of fast ones after it, eviction takes
 * the recent traces first, and the ring (thus the flight file) keeps its
 * layout: a kept trace is an entry like any other, only its position no
 * longer follows its seq (readers order by seq). The kept ones are also
 * indexed in `kept` (memory, lock held), at most half the ring, so the
 * recent traces always have room. A kept trace that a slower one of its
 * name displaces loses its flag and ages out as a recent one.
 *
 * With a flight file (flight.c), the ring and every block are in the file:
 * blocks come from its buddy allocator (all sizes, no free-list cache), a
 * handed-over buffer is kept whole, and the counters are mirrored into
 * the file's header under the lock. A stored trace's `seq` is its commit
 * word: written last when it is stored (release), reset to 0 before its
 * block is freed, so a reader of the file copies a block and checks that
 * its seq did not change meanwhile (docs/FORMAT.md).
 */
#include "stack.h"

#include <errno.h>
#include <string.h>


struct sp__lock sp__store_lock = SP_LOCK_INIT(1u << 3);

static struct sp__trace **ring;
static uint32_t cap;
static uint64_t head, tail; /* free-running: count = head - tail */
static uint64_t next_seq, evicted, cleared; /* stored = next_seq - evicted - cleared */
static uint64_t spans, iterations; /* in the traces now stored */
static atomic_size_t used;
static size_t limit;
/* The traces flagged SP_TRACE_KEPT, with their name and duration at hand:
 * an eviction compares against them without touching their blocks. */
struct kept_ent {
	struct sp__trace *tr;
	uint32_t name;
	uint64_t ticks;
};
static struct kept_ent *kept; /* lock held */
static uint32_t nkept, kept_max;
static atomic_uint_fast64_t filtered; /* faster than SPANPROF_MIN_MS: not stored */

void sp__store_init(void)
{
	cap = sp__cfg.max_traces;
	ring = sp__fl.ring ? (struct sp__trace **)sp__fl.ring : sp__map((size_t)cap * sizeof *ring);
	if (!ring)
		cap = 0;
	limit = (size_t)sp__cfg.buffer_mb << 20;
	sp__hist_init();
	kept_max = cap / 2;
	if (sp__cfg.keep_slowest && kept_max) {
		kept = sp__map((size_t)kept_max * sizeof *kept);
		if (!kept)
			kept_max = 0;
	} else {
		kept_max = 0;
	}
}

uint64_t sp__store_filtered(void)
{
	return atomic_load(&filtered);
}

/* ------------------------------------------------------------------------
 * Blocks come in power-of-two classes from 512 bytes to 256 KiB and are
 * recycled through one free list per class: a fresh mapping costs page
 * faults on first touch and its unmapping a TLB flush, which measured
 * (tests/bench) cost more than everything else a stored span costs. Classes
 * up to 2 KiB are carved out of 64 KiB chunks, never returned; bigger ones
 * are mapped one by one, and their free lists keep at most CACHE_MAX bytes
 * (not counted in the budget: the budget counts traces). Bigger blocks are
 * mapped and unmapped as they come.
 */
#define CLASS_MIN 512u
#define CARVE_MAX 2048u
#define CLASS_MAX (256u << 10)
#define NCLASSES 10
#define CHUNK (64u << 10)
#define CACHE_MAX (16u << 20)

static struct sp__lock block_lock = SP_LOCK_INIT(1u << 5);
static void *free_list[NCLASSES];
static size_t cached; /* bytes in the free lists of mapped classes */

static int class_of(size_t size)
{
	int c = 0;
	for (size_t s = CLASS_MIN; s < size; s <<= 1)
		c++;
	return c;
}

static size_t block_size(size_t need)
{
	if (sp__fl.data)
		return sp__flight_block_size(need);
	return need <= CLASS_MAX ? (size_t)CLASS_MIN << class_of(need) : sp__page_round(need);
}

/* A block of block_size(need) bytes. */
static void *block_alloc(size_t need)
{
	if (sp__fl.data)
		return sp__store_block(need);
	size_t size = block_size(need);
	if (size > CLASS_MAX)
		return sp__map(size);
	int c = class_of(size);
	if (!sp__lock(&block_lock))
		return NULL;
	void *b = free_list[c];
	if (b) {
		free_list[c] = *(void **)b;
		if (size > CARVE_MAX)
			cached -= size;
	} else if (size <= CARVE_MAX) {
		uint8_t *chunk = sp__map(CHUNK);
		if (chunk) {
			for (size_t off = size; off + size <= CHUNK; off += size) {
				*(void **)(chunk + off) = free_list[c];
				free_list[c] = chunk + off;
			}
			b = chunk;
		}
	}
	sp__unlock(&block_lock);
	if (!b && size > CARVE_MAX)
		b = sp__map(size);
	return b;
}

static void block_free(void *b, size_t size)
{
	if (sp__flight_owns(b)) {
		sp__flight_free(b, size);
		return;
	}
	/* Only a block of exactly a class's size may go on its free list: a
	 * handed-over buffer trimmed to whole pages is not one. */
	bool exact = size <= CLASS_MAX && size == (size_t)CLASS_MIN << class_of(size);
	if (exact && sp__lock(&block_lock)) {
		if (size <= CARVE_MAX || cached + size <= CACHE_MAX) {
			int c = class_of(size);
			*(void **)b = free_list[c];
			free_list[c] = b;
			if (size > CARVE_MAX)
				cached += size;
			sp__unlock(&block_lock);
			return;
		}
		sp__unlock(&block_lock);
	}
	if (size > CARVE_MAX)
		sp__unmap(b, size);
	/* a carved block freed from a signal handler holding the lock: lost */
}

void sp__trace_put(struct sp__trace *tr)
{
	if (atomic_fetch_sub(&tr->refs, 1) == 1) {
		size_t size = tr->size;
		__atomic_store_n(&tr->seq, 0, __ATOMIC_RELEASE); /* no longer a trace */
		block_free(tr, size);
		sp__budget_release(size);
	}
}

/* Take the oldest trace out of the ring (lock held). */
static struct sp__trace *take_oldest(void)
{
	if (head == tail)
		return NULL;
	struct sp__trace *tr = ring[tail % cap];
	ring[tail % cap] = NULL;
	tail++;
	spans -= tr->nrec;
	iterations -= tr->iterations;
	return tr;
}

/* A trace's name: its root span's site. */
static uint32_t trace_name(const struct sp__trace *tr)
{
	uint32_t head;
	memcpy(&head, (const uint8_t *)tr + SP_TRACE_HDR, sizeof head);
	return head & SP_REC_SITE_MASK;
}

static uint64_t trace_ticks(const struct sp__trace *tr)
{
	return tr->t1 - tr->t0;
}

static void unkeep(uint32_t i)
{
	kept[i].tr->flags &= ~SP_TRACE_KEPT;
	kept[i] = kept[--nkept];
}

/* Is `tr`, about to be evicted, one of the slowest of its name? Flags and
 * indexes it when it is (lock held). */
static bool keep(struct sp__trace *tr)
{
	if (tr->flags & SP_TRACE_KEPT)
		return true;
	if (!kept_max || !tr->nrec)
		return false;
	uint32_t name = trace_name(tr), n = 0, fastest = UINT32_MAX;
	for (uint32_t i = 0; i < nkept; i++) {
		if (kept[i].name != name)
			continue;
		n++;
		if (fastest == UINT32_MAX || kept[i].ticks < kept[fastest].ticks)
			fastest = i;
	}
	uint64_t ticks = trace_ticks(tr);
	if (n >= sp__cfg.keep_slowest || nkept == kept_max) {
		if (fastest == UINT32_MAX || ticks <= kept[fastest].ticks)
			return false;
		unkeep(fastest); /* stays in the ring, as a recent trace */
	}
	tr->flags |= SP_TRACE_KEPT;
	kept[nkept++] = (struct kept_ent){ tr, name, ticks };
	return true;
}

/* Take the trace to evict out of the ring: the oldest that is not kept,
 * the kept ones met on the way moved to the head (lock held). */
static struct sp__trace *take_victim(void)
{
	for (uint64_t n = head - tail; n > 0; n--) {
		struct sp__trace *tr = take_oldest();
		if (!keep(tr)) {
			sp__hist_note(trace_name(tr), false);
			return tr;
		}
		ring[head % cap] = tr;
		head++;
		spans += tr->nrec;
		iterations += tr->iterations;
	}
	struct sp__trace *tr = take_oldest(); /* all kept (a tiny ring) */
	if (tr)
		sp__hist_note(trace_name(tr), false);
	if (tr && (tr->flags & SP_TRACE_KEPT))
		for (uint32_t i = 0; i < nkept; i++)
			if (kept[i].tr == tr) {
				unkeep(i);
				break;
			}
	return tr;
}

/* Mirror the counters into the flight file (lock held). */
static bool store_closed; /* lock held */

static void mirror(void)
{
	if (!sp__fl.base || store_closed)
		return;
	struct sp__store_stats st = { next_seq, evicted, cleared, spans, iterations };
	sp__flight_counters(head, tail, &st);
}

bool sp__store_close(void)
{
	if (!sp__lock(&sp__store_lock))
		return false; /* exit from a handler that interrupted the store */
	store_closed = true;
	sp__unlock(&sp__store_lock);
	return true;
}

static bool evict_one(void)
{
	if (!sp__lock(&sp__store_lock))
		return false;
	if (store_closed) {
		sp__unlock(&sp__store_lock);
		return false;
	}
	struct sp__trace *tr = take_victim();
	if (tr)
		evicted++;
	mirror();
	sp__unlock(&sp__store_lock);
	if (!tr)
		return false;
	sp__trace_put(tr);
	return true;
}

bool sp__budget_reserve(size_t n)
{
	for (;;) {
		size_t cur = atomic_load(&used);
		if (cur + n <= limit && cur + n >= cur) {
			if (atomic_compare_exchange_weak(&used, &cur, cur + n))
				return true;
			continue;
		}
		if (!evict_one())
			return false;
	}
}

size_t sp__budget_limit(void)
{
	return limit;
}

void sp__budget_release(size_t n)
{
	atomic_fetch_sub(&used, n);
}

void *sp__store_block(size_t size)
{
	for (;;) {
		void *b = sp__flight_alloc(size);
		if (b || !evict_one())
			return b;
	}
}

void sp__store_commit(struct sp__thread *t)
{
	struct sp__trace *h = (struct sp__trace *)t->buf;
	if (sp__cfg.min_ms && sp__ticks_to_ns(h->t1 - h->t0) < (uint64_t)sp__cfg.min_ms * 1000000u) {
		/* counted, not stored: the buffer stays */
		sp__hist_note(trace_name(h), true);
		sp__flight_filtered(atomic_fetch_add(&filtered, 1) + 1);
		return;
	}
	size_t need = SP_TRACE_HDR + h->len;
	size_t size = block_size(need);
	struct sp__trace *tr = NULL;
	if (need <= CLASS_MAX && sp__budget_reserve(size)) {
		tr = block_alloc(need);
		if (tr)
			memcpy(tr, h, need);
		else
			sp__budget_release(size);
	}
	if (!tr) {
		size = sp__page_round(need);
		/* Hand the buffer over, trimmed to what it holds. */
		tr = h;
		if (size < t->bufsize && !sp__flight_owns(h)) {
			struct sp__trace *p = sp__remap(t->buf, t->bufsize, size);
			if (p) {
				tr = p;
				sp__budget_release(t->bufsize - size);
			} else {
				size = t->bufsize;
			}
		} else {
			size = t->bufsize;
		}
		t->buf = NULL;
		t->bufsize = 0;
		t->room = 0;
	}
	tr->size = size;
	atomic_store(&tr->refs, 1);
	struct sp__trace *old = NULL;
	if (!cap || !sp__lock(&sp__store_lock)) {
		/* A signal handler committing while this thread holds the lock. */
		atomic_fetch_add(&sp__g.traces_lost, 1);
		sp__trace_put(tr);
		return;
	}
	if (store_closed) { /* after the exit: not stored, as after a dump */
		sp__unlock(&sp__store_lock);
		sp__trace_put(tr);
		return;
	}
	if (head - tail == cap) {
		old = take_victim();
		evicted++;
	}
	__atomic_store_n(&tr->seq, ++next_seq, __ATOMIC_RELEASE); /* the commit word, last */
	ring[head % cap] = tr;
	head++;
	spans += tr->nrec;
	iterations += tr->iterations;
	mirror();
	sp__unlock(&sp__store_lock);
	sp__flight_sync(false); /* sites and modules the trace names */
	if (old)
		sp__trace_put(old);
}

void sp__store_clear(void)
{
	for (;;) {
		if (!sp__lock(&sp__store_lock))
			return;
		struct sp__trace *tr = store_closed ? NULL : take_oldest();
		if (tr)
			cleared++;
		if (!tr)
			nkept = 0;
		else if (tr->flags & SP_TRACE_KEPT)
			for (uint32_t i = 0; i < nkept; i++)
				if (kept[i].tr == tr) {
					unkeep(i);
					break;
				}
		mirror();
		sp__unlock(&sp__store_lock);
		if (!tr)
			return;
		sp__trace_put(tr);
	}
}

/* Order v by seq (kept traces move in the ring): a heap sort, in place,
 * without malloc. */
static void sift(struct sp__trace **v, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && v[c + 1]->seq > v[c]->seq)
			c++;
		if (v[i]->seq >= v[c]->seq)
			return;
		struct sp__trace *x = v[i];
		v[i] = v[c];
		v[c] = x;
		i = c;
	}
}

static void sort_by_seq(struct sp__trace **v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift(v, i, n);
	for (size_t e = n; e > 1; e--) {
		struct sp__trace *x = v[0];
		v[0] = v[e - 1];
		v[e - 1] = x;
		sift(v, 0, e - 1);
	}
}

struct sp__trace **sp__store_grab(size_t *n, int *err)
{
	return sp__store_grab_stats(n, NULL, err);
}

/* The counters taken under the same lock as the references, so that they
 * add up: committed = the traces grabbed + evicted + cleared. */
struct sp__trace **sp__store_grab_stats(size_t *n, struct sp__store_stats *st, int *err)
{
	*n = 0;
	*err = 0;
	if (st)
		memset(st, 0, sizeof *st);
	if (!cap)
		return NULL;
	struct sp__trace **v = sp__map((size_t)cap * sizeof *v);
	if (!v) {
		*err = -ENOMEM;
		return NULL;
	}
	if (!sp__lock(&sp__store_lock)) {
		sp__unmap(v, (size_t)cap * sizeof *v);
		*err = -EAGAIN;
		return NULL;
	}
	size_t k = 0;
	for (uint64_t i = tail; i != head; i++) {
		v[k] = ring[i % cap];
		atomic_fetch_add(&v[k]->refs, 1);
		k++;
	}
	if (st) {
		st->committed = next_seq;
		st->evicted = evicted;
		st->cleared = cleared;
		st->spans = spans;
		st->iterations = iterations;
	}
	sp__unlock(&sp__store_lock);
	if (nkept || kept_max)
		sort_by_seq(v, k);
	*n = k;
	return v;
}

void sp__store_release(struct sp__trace **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		sp__trace_put(v[i]);
	sp__unmap(v, (size_t)cap * sizeof *v);
}

void sp__store_stats(struct sp__store_stats *st)
{
	memset(st, 0, sizeof *st);
	if (!sp__lock(&sp__store_lock))
		return;
	st->committed = next_seq;
	st->evicted = evicted;
	st->cleared = cleared;
	st->spans = spans;
	st->iterations = iterations;
	sp__unlock(&sp__store_lock);
}

/* The child of a fork starts with an empty store, its own sequence
 * numbers, and a budget holding only the forking thread's buffer. */
void sp__store_fork_child(void)
{
	sp__lock_reset(&block_lock);
	while (head != tail) {
		struct sp__trace *tr = take_oldest();
		block_free(tr, tr->size);
	}
	head = tail = 0;
	nkept = 0;
	atomic_store(&filtered, 0);
	next_seq = evicted = cleared = spans = iterations = 0;
	atomic_store(&sp__g.spans_dropped, 0); /* the parent's losses are its own */
	atomic_store(&sp__g.traces_lost, 0);
	struct sp__thread *t = sp__tls;
	atomic_store(&used, t && !t->dead ? t->bufsize : 0);
}

void sp__store_atfork_prepare(void)
{
	sp__lock(&block_lock);
}

void sp__store_atfork_parent(void)
{
	sp__unlock(&block_lock);
}
