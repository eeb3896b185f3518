/* flight.c - the flight recorder: the store lives in a file mapping.
 *
 * With SPANPROF_OUTPUT set (the default, "spanprof.out"), the constructor
 * creates the output file at once and maps it MAP_SHARED: committed
 * traces, each thread's record (with its trace in progress), the ring of
 * stored traces, the table of sites, the module map and the counters are
 * all written in place, in the file (docs/FORMAT.md, "The flight file").
 * Whatever ends the process - exit, _exit, abort, SIGKILL, a crash - the
 * kernel's page cache keeps what was written, and the CLI reads it; a
 * normal exit only marks the file closed (no encoding, no copy).
 *
 * Creating it: a temporary name next to it (NAME.tmp.PID.live, O_EXCL |
 * O_NOFOLLOW | O_CLOEXEC, mode 0600), its whole size reserved with
 * posix_fallocate - so that writing into the mapping can never raise
 * SIGBUS for want of space - then renamed to NAME. A symlink, something
 * other than a regular file, or a file of another user at NAME is refused
 * (one `spanprof:` line); so is a full disk: the store then stays in
 * anonymous memory, written at exit as before. The fd is closed once
 * mapped; exec drops the mapping, and no descriptor survives it.
 *
 * Memory in the file: one buddy allocator over the data area, blocks of
 * 512 bytes up to the whole area, powers of two. Its bookkeeping (free
 * lists and the order of each free block) is in private memory, never in
 * the file: a fork child maps the parent's file MAP_PRIVATE at the same
 * address (its writes are its own, copy-on-write) and goes on with the
 * bookkeeping it inherited, recording in memory from then on and writing
 * its own dump at exit, as before.
 *
 * What the hooks do does not change: they write a thread's records in its
 * buffer, which is now in the file. Commit, eviction and the start of a
 * trace publish the rest (store.c, sp__flight_sync).
 *
 * Control through the file (`spanprof ctl PID enable|disable|clear|dump`):
 * a writer reserves command number n (atomic add on cmd_tail), writes
 * entry n % SP_FLIGHT_CMDQ as (n + 1) << 8 | command, bumps cmd_wake and
 * wakes it (a futex on the shared mapping). A thread of ours,
 * "spanprof-fl" (started with every signal blocked), waits on that word
 * (1 s at most), runs the commands in order and acknowledges each by
 * advancing cmd_done. Nothing on the hooks' path reads the queue. Commands
 * are never lost or merged: a stopped process finds them queued when it
 * resumes. Who may write the file - its owner, mode 0600 - may control.
 */
#include "stack.h"
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MIN_ORDER 9 /* 512 bytes: the smallest block */
#define NTHREADS 512u
#define SLOT_SIZE 2048u
#define SITES_AREA (8u << 20)
#define MODS_AREA (512u << 10)

_Static_assert(SP_FLIGHT_SLOT_HDR + sizeof(struct sp__thread) <= SLOT_SIZE, "a thread record fits its slot");
_Static_assert(SP_TRACE_HDR <= 4096 && SP_TRACE_HDR % 64 == 0, "sp__flight_checksum covers a trace's header area");
_Static_assert(sizeof(struct sp__cpu_use) == SP_TRACE_CPU_SIZE, "SP_FT_CPU: a dump's CPU fields");

struct sp__flight sp__fl;

static struct sp__lock buddy_lock = SP_LOCK_INIT(1u << 6);
static struct sp__lock meta_lock = SP_LOCK_INIT(1u << 7);
static unsigned max_order;
static uint32_t *next_free, *prev_free; /* per min-block: free-list links (index + 1) */
static uint8_t *free_order;             /* per min-block: order + 1 when a free block starts there */
static uint32_t head_free[64];          /* per order: first free block (index + 1), 0: none */
static _Atomic uint8_t slot_used[NTHREADS];
static uint32_t synced_sites, synced_mods;

static struct sp__flight_header *H(void)
{
	return (struct sp__flight_header *)sp__fl.base;
}

/* ------------------------------------------------------------------------
 * The buddy allocator (buddy_lock held)
 */
static void list_push(unsigned k, uint32_t i)
{
	next_free[i] = head_free[k];
	prev_free[i] = 0;
	if (head_free[k])
		prev_free[head_free[k] - 1] = i + 1;
	head_free[k] = i + 1;
	free_order[i] = (uint8_t)(k + 1);
}

static void list_del(unsigned k, uint32_t i)
{
	if (prev_free[i])
		next_free[prev_free[i] - 1] = next_free[i];
	else
		head_free[k] = next_free[i];
	if (next_free[i])
		prev_free[next_free[i] - 1] = prev_free[i];
	free_order[i] = 0;
}

static unsigned order_of(size_t size)
{
	unsigned k = MIN_ORDER;
	while (((size_t)1 << k) < size)
		k++;
	return k;
}

size_t sp__flight_block_size(size_t size)
{
	return (size_t)1 << order_of(size);
}

void *sp__flight_alloc(size_t size)
{
	unsigned k = order_of(size);
	if (k > max_order || !sp__lock(&buddy_lock))
		return NULL;
	unsigned j = k;
	while (j <= max_order && !head_free[j])
		j++;
	if (j > max_order) {
		sp__unlock(&buddy_lock);
		return NULL;
	}
	uint32_t i = head_free[j] - 1;
	list_del(j, i);
	while (j > k) { /* split: the upper half goes free */
		j--;
		list_push(j, i + (1u << (j - MIN_ORDER)));
	}
	sp__unlock(&buddy_lock);
	return sp__fl.data + ((size_t)i << MIN_ORDER);
}

bool sp__flight_owns(const void *p)
{
	return sp__fl.data && (const uint8_t *)p >= sp__fl.data && (const uint8_t *)p < sp__fl.data + sp__fl.data_size;
}

void sp__flight_free(void *p, size_t size)
{
	unsigned k = order_of(size);
	uint32_t i = (uint32_t)(((uint8_t *)p - sp__fl.data) >> MIN_ORDER);
	if (!sp__lock(&buddy_lock))
		return; /* a signal handler inside the allocator: the block is lost */
	while (k < max_order) {
		uint32_t b = i ^ (1u << (k - MIN_ORDER));
		if (free_order[b] != k + 1)
			break;
		list_del(k, b);
		if (b < i)
			i = b;
		k++;
	}
	list_push(k, i);
	sp__unlock(&buddy_lock);
}

/* Memory for a thread's trace buffer or a stored block: from the file
 * when there is one. */
void *sp__buf_alloc(size_t size)
{
	return sp__fl.data ? sp__flight_alloc(size) : sp__map(size);
}

void sp__buf_free(void *p, size_t size)
{
	if (!p)
		return;
	if (sp__flight_owns(p))
		sp__flight_free(p, size);
	else
		sp__unmap(p, size);
}

void *sp__buf_resize(void *p, size_t old_size, size_t new_size)
{
	if (!sp__fl.data)
		return p ? sp__remap(p, old_size, new_size) : sp__map(new_size);
	void *q = sp__store_block(new_size);
	if (q && p) {
		memcpy(q, p, old_size < new_size ? old_size : new_size);
		sp__buf_free(p, old_size);
	}
	return q;
}

/* ------------------------------------------------------------------------
 * Thread records
 */
struct sp__thread *sp__flight_thread_alloc(void)
{
	if (sp__fl.threads && !sp__fl.detached)
		for (uint32_t i = 0; i < NTHREADS; i++) {
			uint8_t z = 0;
			if (atomic_compare_exchange_strong(&slot_used[i], &z, 1)) {
				uint8_t *s = sp__fl.threads + (size_t)i * SLOT_SIZE;
				memset(s, 0, SLOT_SIZE);
				__atomic_store_n((uint64_t *)s, SP_FLIGHT_SLOT_USED, __ATOMIC_RELEASE);
				return (struct sp__thread *)(s + SP_FLIGHT_SLOT_HDR);
			}
		}
	return sp__map(sizeof(struct sp__thread));
}

void sp__flight_thread_free(struct sp__thread *t)
{
	uint8_t *s = (uint8_t *)t - SP_FLIGHT_SLOT_HDR;
	if (sp__fl.threads && s >= sp__fl.threads && s < sp__fl.threads + (size_t)NTHREADS * SLOT_SIZE) {
		__atomic_store_n((uint64_t *)s, 0, __ATOMIC_RELEASE);
		atomic_store(&slot_used[(s - sp__fl.threads) / SLOT_SIZE], 0);
		return;
	}
	sp__unmap(t, sizeof *t);
}

/* ------------------------------------------------------------------------
 * Metadata: sites appended, modules rewritten into the other slot.
 */
struct enc {
	uint8_t *p;
	size_t n, cap;
	bool full;
};

static void e_bytes(struct enc *e, const void *b, size_t len)
{
	if (e->full || len > e->cap - e->n) {
		e->full = true;
		return;
	}
	if (len)
		memcpy(e->p + e->n, b, len);
	e->n += len;
}
static void e_u8(struct enc *e, uint8_t v) { e_bytes(e, &v, 1); }
static void e_u16(struct enc *e, uint16_t v) { e_bytes(e, &v, 2); }
static void e_u32(struct enc *e, uint32_t v) { e_bytes(e, &v, 4); }
static void e_u64(struct enc *e, uint64_t v) { e_bytes(e, &v, 8); }
static void e_pad8(struct enc *e)
{
	static const uint8_t zero[8];
	e_bytes(e, zero, (8 - (e->n & 7)) & 7);
}
static void e_str(struct enc *e, const char *s)
{
	size_t len = s ? strlen(s) : 0;
	if (len > 65535)
		len = 65535;
	e_u16(e, (uint16_t)len);
	e_bytes(e, s, len);
}

/* One SITES entry, as in a dump (docs/FORMAT.md, SITES). */
static void enc_site(struct enc *e, const struct sp__site *s)
{
	const struct sp__module *m = s->kind == SP_SITE_FUNC ? sp__module_get((int)s->module) : NULL;
	e_u8(e, s->kind);
	e_bytes(e, "\0\0", 3);
	if (s->kind == SP_SITE_FUNC) {
		e_u32(e, m ? s->module : SP_NO_MODULE);
		e_u64(e, m ? s->offset : s->addr);
		e_u64(e, s->addr);
		e_u32(e, s->size);
		e_u32(e, 0);
		e_str(e, s->name);
		e_str(e, "");
		e_str(e, "");
	} else {
		e_u32(e, s->kind == SP_SITE_PROBE ? s->loc->line : 0);
		e_u64(e, 0);
		e_u64(e, 0);
		e_u32(e, 0);
		e_u32(e, 0);
		e_str(e, s->name);
		e_str(e, s->kind == SP_SITE_PROBE ? s->loc->func : "");
		e_str(e, s->kind == SP_SITE_PROBE ? s->loc->file : "");
	}
	e_pad8(e);
}

static void enc_modules(struct enc *e)
{
	uint32_t n = sp__module_count();
	e_u32(e, n);
	e_u32(e, 0);
	for (uint32_t i = 0; i < n; i++) {
		const struct sp__module *m = sp__module_get((int)i);
		e_u64(e, m->bias);
		e_u64(e, m->start);
		e_u64(e, m->end);
		e_u32(e, m->flags);
		e_u8(e, m->build_id_len);
		e_bytes(e, "\0\0", 3);
		e_bytes(e, m->build_id, m->build_id_len);
		e_pad8(e);
		e_str(e, m->path);
		e_pad8(e);
	}
}

static void sync_modules(struct sp__flight_header *h)
{
	uint32_t cur = h->mods_slot;
	uint32_t next = cur == 1 ? 2 : 1;
	struct enc e = { sp__fl.base + h->mods_off + (next - 1) * h->mods_size, 0, h->mods_size, false };
	enc_modules(&e);
	if (e.full)
		return; /* more modules than the area holds: keep the last picture */
	h->mods_len = e.n;
	__atomic_store_n(&h->mods_slot, next, __ATOMIC_RELEASE);
	synced_mods = sp__module_count();
}

void sp__flight_sync(bool modules)
{
	if (!sp__fl.base || sp__fl.detached || atomic_load_explicit(&sp__fl.closed, memory_order_relaxed))
		return;
	struct sp__flight_header *h = H();
	uint32_t n = sp__site_count();
	uint32_t nm = sp__module_count();
	if (n == synced_sites && nm == synced_mods && !modules && h->ticks_per_ns > 0)
		return;
	if (!sp__lock(&meta_lock))
		return;
	if (n > synced_sites) {
		struct enc e = { sp__fl.base + h->sites_off, h->sites_len, h->sites_size, false };
		uint32_t done = synced_sites;
		for (uint32_t id = synced_sites + 1; id <= n; id++) {
			size_t before = e.n;
			enc_site(&e, sp__site_get(id));
			if (e.full) {
				e.n = before;
				break;
			}
			done = id;
		}
		h->sites_len = e.n;
		__atomic_store_n(&h->nsites, done, __ATOMIC_RELEASE);
		synced_sites = done;
	}
	if (nm != synced_mods || modules)
		sync_modules(h);
	if (!(h->ticks_per_ns > 0)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		h->last_tick = sp__now();
		h->last_mono_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		if (h->last_mono_ns - h->ref_mono_ns >= 20000000u)
			h->ticks_per_ns = sp__ticks_per_ns(); /* measured by now: no wait */
	}
	sp__unlock(&meta_lock);
}

/* The store's counters, mirrored (store lock held). */
void sp__flight_counters(uint64_t head, uint64_t tail, const struct sp__store_stats *st)
{
	if (!sp__fl.base || sp__fl.detached)
		return;
	struct sp__flight_header *h = H();
	h->committed = st->committed;
	h->evicted = st->evicted;
	h->cleared = st->cleared;
	h->spans = st->spans;
	h->iterations = st->iterations;
	h->spans_dropped = atomic_load(&sp__g.spans_dropped);
	h->traces_lost = atomic_load(&sp__g.traces_lost);
	h->filtered = sp__store_filtered();
	__atomic_store_n(&h->ring_tail, tail, __ATOMIC_RELEASE);
	__atomic_store_n(&h->ring_head, head, __ATOMIC_RELEASE);
}

void sp__flight_filtered(uint64_t n)
{
	if (sp__fl.base && !sp__fl.detached)
		__atomic_store_n(&H()->filtered, n, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------
 * Creating the file
 */
static void read_str(const char *path, char *out, size_t size, bool args)
{
	out[0] = '\0';
	if (!args) {
		ssize_t n = readlink(path, out, size - 1);
		out[n > 0 ? n : 0] = '\0';
		return;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t r = read(fd, out, size - 1);
	close(fd);
	size_t len = r > 0 ? (size_t)r : 0;
	while (len && out[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++)
		if (out[i] == '\0')
			out[i] = ' ';
	out[len] = '\0';
}

static void fill_header(struct sp__flight_header *h, size_t size)
{
	memcpy(h->magic, SP_DUMP_MAGIC, 8);
	h->version = SP_FLIGHT_VERSION;
	h->min_reader = SP_FLIGHT_VERSION;
	h->header_size = SP_FLIGHT_HEADER_SIZE;
	h->byte_order = SP_DUMP_BYTE_ORDER;
	h->file_size = size;
	h->pid = (uint64_t)getpid();
	h->base = (uint64_t)(uintptr_t)h;
	sp_ticks_t tick;
	sp__clock_ref(&tick, &h->ref_wall_ns, &h->ref_mono_ns);
	h->ref_tick = tick;
	h->max_traces = sp__cfg.max_traces;
	h->keep_slowest = sp__cfg.keep_slowest;
	h->min_ms = sp__cfg.min_ms;
	h->buffer_mb = sp__cfg.buffer_mb;
	h->clock_source = (uint32_t)sp__clock_source();
	static const uint16_t toff[SP_FT_COUNT] = {
		[SP_FT_SEQ] = offsetof(struct sp__trace, seq), [SP_FT_TID] = offsetof(struct sp__trace, tid),
		[SP_FT_T0] = offsetof(struct sp__trace, t0), [SP_FT_T1] = offsetof(struct sp__trace, t1),
		[SP_FT_DROPPED] = offsetof(struct sp__trace, dropped),
		[SP_FT_ITERATIONS] = offsetof(struct sp__trace, iterations),
		[SP_FT_NREC] = offsetof(struct sp__trace, nrec), [SP_FT_FLAGS] = offsetof(struct sp__trace, flags),
		[SP_FT_IDLEN] = offsetof(struct sp__trace, idlen), [SP_FT_ID] = offsetof(struct sp__trace, id),
		[SP_FT_LEN] = offsetof(struct sp__trace, len), [SP_FT_SIZE] = offsetof(struct sp__trace, size),
		[SP_FT_HDR] = SP_TRACE_HDR, [SP_FT_REFS] = offsetof(struct sp__trace, refs),
		[SP_FT_CPU] = offsetof(struct sp__trace, cpu),
	};
	static const uint16_t hoff[SP_FTH_COUNT] = {
		[SP_FTH_DEPTH] = offsetof(struct sp__thread, depth), [SP_FTH_BUF] = offsetof(struct sp__thread, buf),
		[SP_FTH_POS] = offsetof(struct sp__thread, pos), [SP_FTH_NREC] = offsetof(struct sp__thread, nrec),
		[SP_FTH_TRACE_TID] = offsetof(struct sp__thread, trace_tid),
		[SP_FTH_TRACE_FLAGS] = offsetof(struct sp__thread, trace_flags),
		[SP_FTH_IDLEN] = offsetof(struct sp__thread, idlen), [SP_FTH_ID] = offsetof(struct sp__thread, id),
		[SP_FTH_DROPPED] = offsetof(struct sp__thread, dropped),
		[SP_FTH_ITERATIONS] = offsetof(struct sp__thread, iterations),
		[SP_FTH_BUFSIZE] = offsetof(struct sp__thread, bufsize),
	};
	memcpy(h->trace_off, toff, sizeof toff);
	memcpy(h->thread_off, hoff, sizeof hoff);
	read_str("/proc/self/exe", h->exe, sizeof h->exe, false);
	read_str("/proc/self/cmdline", h->cmdline, sizeof h->cmdline, true);
}

/* "NAME.tmp.PID.live" */
static int live_tmp_name(const char *path, char *tmp, size_t size)
{
	char num[24];
	size_t nl = 0;
	unsigned long pid = (unsigned long)getpid();
	do {
		num[sizeof num - 1 - nl++] = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid);
	size_t len = strlen(path);
	if (len + 5 + nl + 6 >= size)
		return -ENAMETOOLONG;
	memcpy(tmp, path, len);
	memcpy(tmp + len, ".tmp.", 5);
	memcpy(tmp + len + 5, num + sizeof num - nl, nl);
	memcpy(tmp + len + 5 + nl, ".live", 6);
	return 0;
}

static bool setup_private(void)
{
	size_t blocks = sp__fl.data_size >> MIN_ORDER;
	next_free = sp__map(blocks * 4);
	prev_free = sp__map(blocks * 4);
	free_order = sp__map(blocks);
	if (!next_free || !prev_free || !free_order)
		return false;
	list_push(max_order, 0);
	return true;
}

void sp__flight_init(void)
{
	if (!sp__cfg.output || !*sp__cfg.output)
		return;
	/* Only a program that records from its start gets a file (and the
	 * control thread): one merely linked with spanprof, or waiting for
	 * SPANPROF_SIGNAL, must see no file appear in its directory and no
	 * extra thread. Recording switched on later keeps the store in memory
	 * and writes a dump at exit, as without a flight file. */
	if (!sp__cfg.enabled)
		return;
	const char *v = secure_getenv("SPANPROF_FLIGHT");
	if (v && !strcmp(v, "0"))
		return; /* asked for the store in memory, written at exit */
	char path[PATH_MAX], tmp[PATH_MAX];
	if (sp__output_name(sp__cfg.output, (unsigned long)getpid(), false, path, sizeof path) ||
	    live_tmp_name(path, tmp, sizeof tmp)) {
		sp__warn("%s: name too long; traces kept in memory until exit", sp__cfg.output);
		return;
	}
	struct stat st;
	if (lstat(path, &st) == 0 && (!S_ISREG(st.st_mode) || st.st_uid != geteuid())) {
		sp__warn("%s is %s; not followed nor replaced: traces kept in memory%s", path,
			 S_ISLNK(st.st_mode) ? "a symbolic link" : !S_ISREG(st.st_mode) ? "not a regular file"
											: "another user's file",
			 " and not written");
		sp__cfg.output = NULL; /* never written, at exit either */
		return;
	}
	size_t limit = (size_t)sp__cfg.buffer_mb << 20;
	max_order = MIN_ORDER;
	while (((size_t)1 << max_order) < limit)
		max_order++;
	size_t data_size = (size_t)1 << max_order;
	size_t ring_bytes = sp__page_round((size_t)sp__cfg.max_traces * 8);
	size_t off = SP_FLIGHT_HEADER_SIZE;
	size_t threads_off = off;
	off += (size_t)NTHREADS * SLOT_SIZE;
	size_t ring_off = off;
	off += ring_bytes;
	size_t sites_off = off;
	off += SITES_AREA;
	size_t mods_off = off;
	off += 2 * (size_t)MODS_AREA;
	off = sp__page_round(off);
	size_t hist_off = off;
	off += sp__page_round((size_t)SP_HIST_NAMES * SP_HIST_ENTRY_SIZE);
	size_t data_off = off;
	size_t size = data_off + data_size;

	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		sp__warn("cannot create %s: %s; traces kept in memory until exit", tmp, strerror(errno));
		return;
	}
	int rc = posix_fallocate(fd, 0, (off_t)size);
	if (rc) {
		sp__warn("cannot reserve %zu MiB for %s: %s; traces kept in memory until exit", size >> 20, path,
			 strerror(rc));
		goto fail;
	}
	uint8_t *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		sp__warn("cannot map %s: %s; traces kept in memory until exit", path, strerror(errno));
		goto fail;
	}
	sp__fl.base = base;
	sp__fl.size = size;
	sp__fl.data = base + data_off;
	sp__fl.data_size = data_size;
	sp__fl.threads = base + threads_off;
	sp__fl.ring = (void **)(base + ring_off);
	sp__fl.hist = (struct sp__hist_entry *)(base + hist_off);
	if (!setup_private()) {
		sp__warn("out of memory for %s; traces kept in memory until exit", path);
		munmap(base, size);
		memset(&sp__fl, 0, sizeof sp__fl);
		goto fail;
	}
	struct sp__flight_header *h = H();
	fill_header(h, size);
	h->data_off = data_off;
	h->data_size = data_size;
	h->ring_off = ring_off;
	h->ring_cap = sp__cfg.max_traces;
	h->threads_off = threads_off;
	h->nthreads = NTHREADS;
	h->thread_slot = SLOT_SIZE;
	h->sites_off = sites_off;
	h->sites_size = SITES_AREA;
	h->mods_off = mods_off;
	h->mods_size = MODS_AREA;
	h->hist_off = hist_off;
	h->hist_names = SP_HIST_NAMES;
	__atomic_store_n(&h->state, SP_FLIGHT_RUNNING, __ATOMIC_RELEASE);
	if (fstat(fd, &st) == 0) {
		sp__fl.dev = st.st_dev;
		sp__fl.ino = st.st_ino;
	}
	if (rename(tmp, path) != 0) {
		sp__warn("cannot create %s: %s; traces kept in memory until exit", path, strerror(errno));
		munmap(base, size);
		memset(&sp__fl, 0, sizeof sp__fl);
		goto fail;
	}
	close(fd);
	memcpy(sp__fl.path, path, strlen(path) + 1);
	return;
fail:
	close(fd);
	unlink(tmp); /* ours: created above with O_EXCL */
}

/* Does `path` still name our live file? */
bool sp__flight_is(const char *path)
{
	struct stat st;
	return sp__fl.base && !sp__fl.detached && stat(path, &st) == 0 && st.st_dev == sp__fl.dev &&
	       st.st_ino == sp__fl.ino;
}

/* Normal exit: publish the last metadata and mark the file closed. No
 * encoding and no copy: the traces are in place. Nothing stored at all:
 * the file goes, as no dump was written before. */
void sp__flight_finalize(bool empty)
{
	if (!sp__fl.base || sp__fl.detached)
		return;
	sp__modules_scan();
	sp__flight_sync(true);
	struct sp__flight_header *h = H();
	h->overhead_per_span_ns = sp_overhead_per_span_ns();
	if (!(h->ticks_per_ns > 0))
		h->ticks_per_ns = sp__ticks_per_ns();
	if (empty && sp__flight_is(sp__fl.path)) {
		unlink(sp__fl.path);
		return;
	}
	/* From here on the ring, the counters and the metadata stay as they
	 * are: threads still running commit nothing more (store.c), as none
	 * did into a dump written at exit. */
	bool still = sp__store_close();
	if (still && sp__lock(&meta_lock)) {
		atomic_store(&sp__fl.closed, 1);
		sp__unlock(&meta_lock);
		h->flags |= SP_DUMP_FLAG_CHECKSUM;
		h->checksum = sp__flight_checksum(sp__fl.base, sp__fl.size);
	}
	__atomic_store_n(&h->state, SP_FLIGHT_CLOSED, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------------
 * Control through the file
 */
static long futex(void *addr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

static void run_command(int cmd)
{
	switch (cmd) {
	case SP_CTL_ENABLE:
		sp_set_enabled(true);
		break;
	case SP_CTL_DISABLE:
		sp_set_enabled(false);
		break;
	case SP_CTL_CLEAR:
		sp__store_clear();
		break;
	case SP_CTL_DUMP:
		sp__flight_sync(true); /* the file is the store: publish its metadata */
		break;
	default:
		break; /* unknown: acknowledged, ignored */
	}
}

static void *control_thread(void *arg)
{
	(void)arg;
	struct sp__flight_header *h = H();
	for (;;) {
		uint32_t seen = __atomic_load_n(&h->cmd_wake, __ATOMIC_ACQUIRE);
		uint64_t done = __atomic_load_n(&h->cmd_done, __ATOMIC_ACQUIRE);
		bool waiting = false; /* a reserved entry not written yet */
		while (done < __atomic_load_n(&h->cmd_tail, __ATOMIC_ACQUIRE)) {
			uint64_t e = __atomic_load_n(&h->cmdq[done % SP_FLIGHT_CMDQ], __ATOMIC_ACQUIRE);
			if (e >> 8 != done + 1) {
				waiting = true;
				break;
			}
			if (sp__fl.detached || atomic_load(&sp__g.exiting))
				return NULL;
			run_command((int)(e & 0xff));
			__atomic_store_n(&h->cmd_done, ++done, __ATOMIC_RELEASE);
			futex(&h->cmd_done, FUTEX_WAKE, INT32_MAX, NULL);
		}
		struct timespec ts = { waiting ? 0 : 1, waiting ? 1000000 : 0 };
		futex(&h->cmd_wake, FUTEX_WAIT, seen, &ts);
	}
}

void sp__flight_control_start(void)
{
	if (!sp__fl.base || sp__fl.detached)
		return;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t th;
	int rc = pthread_create(&th, NULL, control_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		sp__warn("cannot start the control thread: %s; `spanprof ctl` through %s will not answer",
			 strerror(rc), sp__fl.path);
		return;
	}
	pthread_detach(th);
	pthread_setname_np(th, "spanprof-fl");
}

/* The fork child: the parent's file becomes a private copy-on-write view
 * at the same address (every pointer stays valid), and the child records
 * in memory from here on, writing its own dump at exit. */
void sp__flight_fork_child(void)
{
	sp__lock_reset(&buddy_lock);
	sp__lock_reset(&meta_lock);
	if (!sp__fl.base)
		return;
	sp__fl.detached = true;
	int fd = open(sp__fl.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	void *p = MAP_FAILED;
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == sp__fl.ino && st.st_dev == sp__fl.dev)
		p = mmap(sp__fl.base, sp__fl.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
	if (fd >= 0)
		close(fd);
	if (p == MAP_FAILED) {
		/* The file is gone or replaced: an anonymous copy instead. */
		void *q = mmap(NULL, sp__fl.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (q != MAP_FAILED) {
			memcpy(q, sp__fl.base, sp__fl.size);
			mremap(q, sp__fl.size, sp__fl.size, MREMAP_MAYMOVE | MREMAP_FIXED, sp__fl.base);
		}
	}
}

void sp__flight_atfork_prepare(void)
{
	sp__lock(&meta_lock);
	sp__lock(&buddy_lock);
}

void sp__flight_atfork_parent(void)
{
	sp__unlock(&buddy_lock);
	sp__unlock(&meta_lock);
}
