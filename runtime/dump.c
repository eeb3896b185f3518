/* dump.c - write the store to a file in the format of docs/FORMAT.md.
 *
 * The file is written next to its final name (NAME.tmp.PID.N, N counting
 * this process's dumps), created with O_EXCL | O_NOFOLLOW, mode 0600, then
 * renamed, so a reader never sees half a dump. A name that exists already
 * (a symlink planted there, a crashed run's leftover) is never followed
 * nor removed: the next N is tried. Traces are referenced for the duration
 * of the write (store.c), so recording goes on meanwhile. Plain write(2)
 * through a buffer: no stdio, no malloc.
 *
 * One dump at a time per process (the exit dump, sp_dump from any thread,
 * the live-control thread): the others wait for it. A thread that already
 * holds one of the runtime's locks (a signal handler that interrupted the
 * runtime) gets -EBUSY instead of waiting, as the dump may need that lock.
 */
#include "stack.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct writer {
	int fd;
	int err;        /* first errno seen */
	uint64_t off;   /* file offset of buf[0] */
	size_t n;
	uint8_t buf[1 << 16];
};

static void w_flush(struct writer *w)
{
	size_t done = 0;
	while (done < w->n && !w->err) {
		ssize_t r = write(w->fd, w->buf + done, w->n - done);
		if (r < 0) {
			if (errno != EINTR)
				w->err = errno;
			continue;
		}
		done += (size_t)r;
	}
	w->off += w->n;
	w->n = 0;
}

static void w_bytes(struct writer *w, const void *p, size_t len)
{
	const uint8_t *b = p;
	while (len) {
		if (w->n == sizeof w->buf)
			w_flush(w);
		size_t k = sizeof w->buf - w->n;
		if (k > len)
			k = len;
		memcpy(w->buf + w->n, b, k);
		w->n += k;
		b += k;
		len -= k;
	}
}

static void w_u8(struct writer *w, uint8_t v) { w_bytes(w, &v, 1); }
static void w_u16(struct writer *w, uint16_t v) { w_bytes(w, &v, 2); }
static void w_u32(struct writer *w, uint32_t v) { w_bytes(w, &v, 4); }
static void w_u64(struct writer *w, uint64_t v) { w_bytes(w, &v, 8); }
static void w_f64(struct writer *w, double v) { w_bytes(w, &v, 8); }

static uint64_t w_pos(const struct writer *w)
{
	return w->off + w->n;
}

static void w_pad8(struct writer *w)
{
	static const uint8_t zero[8];
	w_bytes(w, zero, (8 - (w_pos(w) & 7)) & 7);
}

static void w_str(struct writer *w, const char *s)
{
	size_t len = s ? strlen(s) : 0;
	if (len > 65535)
		len = 65535;
	w_u16(w, (uint16_t)len);
	w_bytes(w, s, len);
}

/* Write a u64 at an earlier offset (a length known only at the end). */
static void w_patch64(struct writer *w, uint64_t at, uint64_t v)
{
	w_flush(w);
	if (!w->err && pwrite(w->fd, &v, 8, (off_t)at) != 8)
		w->err = errno ? errno : EIO;
}

/* Section header; returns the offset where its length goes. */
static uint64_t w_section(struct writer *w, enum sp__section_kind type)
{
	w_u32(w, type);
	w_u32(w, 0);
	uint64_t at = w_pos(w);
	w_u64(w, 0);
	return at;
}

static void w_section_end(struct writer *w, uint64_t len_at)
{
	w_pad8(w);
	w_patch64(w, len_at, w_pos(w) - (len_at + 8));
}

static void write_info(struct writer *w, size_t ntraces, struct sp__trace **v, const struct sp__store_stats *stp)
{
	sp_ticks_t tick;
	uint64_t wall, mono;
	sp__clock_ref(&tick, &wall, &mono);
	uint64_t spans = 0, iters = 0;
	for (size_t i = 0; i < ntraces; i++) {
		spans += v[i]->nrec;
		iters += v[i]->iterations;
	}
	const struct sp__store_stats st = *stp;
	double per_span = sp_overhead_per_span_ns();
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = '\0';
	char cmd[4096];
	size_t clen = 0;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t r = read(fd, cmd, sizeof cmd - 1);
		close(fd);
		clen = r > 0 ? (size_t)r : 0;
		while (clen && cmd[clen - 1] == '\0')
			clen--;
		for (size_t i = 0; i < clen; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
	}
	cmd[clen] = '\0';

	uint64_t at = w_section(w, SP_SECTION_INFO);
	w_u64(w, (uint64_t)getpid());
	w_f64(w, sp__ticks_per_ns());
	w_u64(w, tick);
	w_u64(w, wall);
	w_u64(w, mono);
	w_f64(w, per_span);
	w_f64(w, per_span * (double)(spans + iters) / 1e6);
	w_u64(w, spans);
	w_u64(w, iters);
	w_u64(w, st.committed);
	w_u64(w, st.evicted);
	w_u64(w, atomic_load(&sp__g.spans_dropped));
	w_u32(w, sp__cfg.max_traces);
	w_u32(w, sp__cfg.buffer_mb);
	w_u32(w, (uint32_t)sp__clock_source());
	w_u32(w, 0);
	w_str(w, exe);
	w_str(w, cmd);
	/* Added after the strings, where a reader of an earlier version
	 * does not look (it goes by the section's length). */
	w_pad8(w);
	w_u64(w, atomic_load(&sp__g.traces_lost));
	w_u64(w, st.cleared);
	w_u64(w, sp__store_filtered());
	w_u32(w, sp__cfg.keep_slowest);
	w_u32(w, sp__cfg.min_ms);
	w_section_end(w, at);
}

static void write_modules(struct writer *w)
{
	uint32_t n = sp__module_count();
	uint64_t at = w_section(w, SP_SECTION_MODULES);
	w_u32(w, n);
	w_u32(w, 0);
	for (uint32_t i = 0; i < n; i++) {
		const struct sp__module *m = sp__module_get((int)i);
		w_u64(w, m->bias);
		w_u64(w, m->start);
		w_u64(w, m->end);
		w_u32(w, m->flags);
		w_u8(w, m->build_id_len);
		w_bytes(w, "\0\0", 3);
		w_bytes(w, m->build_id, m->build_id_len);
		w_pad8(w);
		w_str(w, m->path);
		w_pad8(w);
	}
	w_section_end(w, at);
}

static void write_sites(struct writer *w)
{
	uint32_t n = sp__site_count();
	uint64_t at = w_section(w, SP_SECTION_SITES);
	w_u32(w, n);
	w_u32(w, 0);
	for (uint32_t id = 1; id <= n; id++) {
		const struct sp__site *s = sp__site_get(id);
		const struct sp__module *m = s->kind == SP_SITE_FUNC ? sp__module_get((int)s->module) : NULL;
		w_u8(w, s->kind);
		w_bytes(w, "\0\0", 3);
		if (s->kind == SP_SITE_FUNC) {
			w_u32(w, m ? s->module : SP_NO_MODULE);
			w_u64(w, m ? s->offset : s->addr);
			w_u64(w, s->addr);
			w_u32(w, s->size);
			w_u32(w, 0);
			w_str(w, s->name);
			w_str(w, "");
			w_str(w, "");
		} else {
			w_u32(w, s->kind == SP_SITE_PROBE ? s->loc->line : 0);
			w_u64(w, 0);
			w_u64(w, 0);
			w_u32(w, 0);
			w_u32(w, 0);
			w_str(w, s->name);
			w_str(w, s->kind == SP_SITE_PROBE ? s->loc->func : "");
			w_str(w, s->kind == SP_SITE_PROBE ? s->loc->file : "");
		}
		w_pad8(w);
	}
	w_section_end(w, at);
}

/* STATS: the histograms of every trace ended, per name (hist.c). */
static void write_stats(struct writer *w)
{
	const struct sp__hist_entry *t = sp__hist_table();
	if (!t)
		return;
	uint32_t n = 0;
	for (uint32_t i = 0; i < SP_HIST_NAMES; i++)
		n += __atomic_load_n(&t[i].site, __ATOMIC_ACQUIRE) != 0;
	uint64_t at = w_section(w, SP_SECTION_STATS);
	w_u32(w, n);
	w_u32(w, SP_HIST_BUCKETS);
	for (uint32_t i = 0, k = 0; i < SP_HIST_NAMES && k < n; i++) {
		const struct sp__hist_entry *e = &t[i];
		if (!__atomic_load_n(&e->site, __ATOMIC_ACQUIRE))
			continue;
		k++;
		/* one reading of the counts; not on the stack (a signal's may be
		 * small): the writer runs under dump_lock, as wbuf */
		static uint32_t c[SP_HIST_BUCKETS];
		uint32_t nz = 0;
		for (uint32_t b = 0; b < SP_HIST_BUCKETS; b++)
			nz += (c[b] = __atomic_load_n(&e->counts[b], __ATOMIC_RELAXED)) != 0;
		/* threads add to these while the dump runs */
		w_u64(w, __atomic_load_n(&e->site, __ATOMIC_RELAXED));
		w_u64(w, __atomic_load_n(&e->seen, __ATOMIC_ACQUIRE));
		w_u64(w, __atomic_load_n(&e->sum, __ATOMIC_RELAXED));
		w_u64(w, __atomic_load_n(&e->min, __ATOMIC_RELAXED));
		w_u64(w, __atomic_load_n(&e->max, __ATOMIC_RELAXED));
		w_u64(w, __atomic_load_n(&e->filtered, __ATOMIC_RELAXED));
		w_u64(w, __atomic_load_n(&e->evicted, __ATOMIC_RELAXED));
		w_u32(w, nz);
		w_u32(w, 0);
		for (uint32_t b = 0; b < SP_HIST_BUCKETS; b++)
			if (c[b]) {
				w_u32(w, b);
				w_u32(w, c[b]);
			}
	}
	w_section_end(w, at);
}

static void write_trace(struct writer *w, const struct sp__trace *tr)
{
	uint64_t at = w_section(w, SP_SECTION_TRACE);
	w_u64(w, tr->seq);
	w_u64(w, tr->tid);
	w_u64(w, tr->t0);
	w_u64(w, tr->t1);
	w_u64(w, tr->dropped);
	w_u64(w, tr->iterations);
	w_u32(w, tr->nrec);
	w_u32(w, tr->flags);
	w_u16(w, tr->idlen);
	w_bytes(w, tr->id, tr->idlen);
	w_pad8(w);
	w_u64(w, tr->len);
	w_bytes(w, (const uint8_t *)tr + SP_TRACE_HDR, tr->len);
	/* After the stream, where older readers skip it (docs/FORMAT.md). */
	w_u64(w, tr->cpu.cpu_ns);
	w_u32(w, tr->cpu.nvcsw);
	w_u32(w, tr->cpu.nivcsw);
	w_u32(w, tr->cpu.flags);
	w_u32(w, 0);
	w_section_end(w, at);
}

static int write_all(int fd, struct sp__trace **v, size_t n, const struct sp__store_stats *st)
{
	static struct writer wbuf; /* 64 KiB: not on the stack; dump_lock */
	struct writer *w = &wbuf;
	w->fd = fd;
	w->err = 0;
	w->off = 0;
	w->n = 0;
	w_bytes(w, SP_DUMP_MAGIC, 8);
	w_u32(w, SP_DUMP_VERSION);
	w_u32(w, SP_DUMP_VERSION_MIN);
	w_u32(w, SP_DUMP_HEADER_SIZE);
	w_u32(w, SP_DUMP_BYTE_ORDER);
	w_u64(w, 0); /* the file size, at SP_DUMP_SIZE_AT: patched at the end */
	w_u32(w, (uint32_t)(3 + n + (sp__hist_table() ? 1 : 0))); /* + STATS */
	w_u32(w, 0);
	w_u64(w, (uint64_t)getpid());
	w_u64(w, 0);
	w_u64(w, 0);
	write_info(w, n, v, st);
	write_modules(w);
	write_sites(w);
	for (size_t i = 0; i < n; i++)
		write_trace(w, v[i]);
	write_stats(w);
	uint64_t end = w_pos(w);
	w_patch64(w, SP_DUMP_SIZE_AT, end);
	return w->err ? -w->err : 0;
}

/* Checksum the written file (docs/FORMAT.md) and store it at offset 48:
 * one pass over a read-only mapping, after all the length patches. */
static int seal(int fd)
{
	uint32_t flags = SP_DUMP_FLAG_CHECKSUM; /* checksummed: set first */
	struct stat st;
	if (pwrite(fd, &flags, 4, SP_DUMP_FLAGS_AT) != 4 || fstat(fd, &st) != 0)
		return -(errno ? errno : EIO);
	size_t size = (size_t)st.st_size;
	const uint8_t *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	uint64_t h = sp__dump_checksum(p, size);
	munmap((void *)p, size);
	if (pwrite(fd, &h, 8, SP_DUMP_CHECKSUM_AT) != 8)
		return -(errno ? errno : EIO);
	return 0;
}

/* The whole-dump lock: held across naming, writing and renaming. Waits
 * sleeping (a dump takes milliseconds to seconds), never on the hooks'
 * path. */
static atomic_flag dump_busy = ATOMIC_FLAG_INIT;
static __thread int dump_mine __attribute__((tls_model("initial-exec")));
static unsigned long dump_count; /* N of the temporary name; dump_lock */

static int dump_lock(void)
{
	if (dump_mine || sp__locks_held())
		return -EBUSY;
	while (atomic_flag_test_and_set_explicit(&dump_busy, memory_order_acquire)) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	dump_mine = 1;
	return 0;
}

static void dump_unlock(void)
{
	dump_mine = 0;
	atomic_flag_clear_explicit(&dump_busy, memory_order_release);
}

void sp__dump_fork_child(void)
{
	/* The parent's control thread may have been dumping: not here. */
	dump_mine = 0;
	atomic_flag_clear_explicit(&dump_busy, memory_order_relaxed);
}

void sp__dump_quiesce(void)
{
	if (dump_lock() == 0)
		dump_unlock();
}

/* Append ".tmp.PID.N" to `path` in `tmp`, by hand: no stdio. */
static int tmp_name(const char *path, unsigned long n, char *tmp, size_t size)
{
	size_t len = strlen(path);
	if (len + 48 >= size)
		return -ENAMETOOLONG;
	memcpy(tmp, path, len);
	memcpy(tmp + len, ".tmp.", 5);
	len += 5;
	unsigned long nums[2] = { (unsigned long)getpid(), n };
	for (int k = 0; k < 2; k++) {
		char digits[24];
		size_t nd = 0;
		for (unsigned long v = nums[k]; nd == 0 || v; v /= 10)
			digits[nd++] = (char)('0' + v % 10);
		if (k)
			tmp[len++] = '.';
		while (nd)
			tmp[len++] = digits[--nd];
	}
	tmp[len] = '\0';
	return 0;
}

static int write_locked(const char *path)
{
	char tmp[PATH_MAX];
	int fd = -1;
	for (int tries = 0; fd < 0 && tries < 64; tries++) {
		int rc = tmp_name(path, dump_count++, tmp, sizeof tmp);
		if (rc)
			return rc;
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 && errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EEXIST;
	sp__modules_scan(); /* libraries loaded since the last look */
	size_t n;
	struct sp__store_stats st;
	int rc;
	struct sp__trace **v = sp__store_grab_stats(&n, &st, &rc);
	if (!rc) /* else no dump: an empty one would say the store was empty */
		rc = write_all(fd, v, n, &st);
	sp__store_release(v, n);
	if (!rc)
		rc = seal(fd);
	if (close(fd) != 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) != 0)
		rc = -errno;
	if (rc)
		unlink(tmp); /* ours: created above with O_EXCL */
	return rc;
}

int sp__dump_write(const char *path)
{
	if (!path || !*path)
		return -EINVAL;
	int rc = dump_lock();
	if (rc)
		return rc;
	rc = write_locked(path);
	dump_unlock();
	return rc;
}

int sp__dump_write_live(const char *path)
{
	if (!path || !*path)
		return -EINVAL;
	int rc = dump_lock();
	if (rc)
		return rc;
	/* Once the exit dump is under way, it is the last word. */
	rc = atomic_load(&sp__g.exiting) ? -ECANCELED : write_locked(path);
	dump_unlock();
	return rc;
}
