/* dump.c - write the store to a file in the format of docs/FORMAT.md.
 *
 * The file is written next to its final name (NAME.tmp.PID), mode 0600,
 * then renamed, so a reader never sees half a dump. Traces are referenced
 * for the duration of the write (store.c), so recording goes on meanwhile.
 * Plain write(2) through a buffer: no stdio, no malloc.
 */
#include "stack.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

static void write_info(struct writer *w, size_t ntraces, struct sp__trace **v)
{
	sp_ticks_t tick;
	uint64_t wall, mono;
	sp__clock_ref(&tick, &wall, &mono);
	uint64_t spans = 0, iters = 0;
	for (size_t i = 0; i < ntraces; i++) {
		spans += v[i]->nrec;
		iters += v[i]->iterations;
	}
	struct sp__store_stats st;
	sp__store_stats(&st);
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
			w_u64(w, m ? s->addr - m->bias : s->addr);
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
	w_section_end(w, at);
}

static int write_all(int fd, struct sp__trace **v, size_t n)
{
	static struct writer wbuf; /* 64 KiB: not on the stack */
	static struct sp__lock dump_lock = SP_LOCK_INIT(1u << 4);
	if (!sp__lock(&dump_lock))
		return -EBUSY;
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
	w_u32(w, (uint32_t)(3 + n));
	w_u32(w, 0);
	w_u64(w, (uint64_t)getpid());
	w_u64(w, 0);
	w_u64(w, 0);
	write_info(w, n, v);
	write_modules(w);
	write_sites(w);
	for (size_t i = 0; i < n; i++)
		write_trace(w, v[i]);
	uint64_t end = w_pos(w);
	w_patch64(w, SP_DUMP_SIZE_AT, end);
	int err = w->err;
	sp__unlock(&dump_lock);
	return err ? -err : 0;
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

int sp__dump_write(const char *path)
{
	if (!path || !*path)
		return -EINVAL;
	/* NAME.tmp.PID, built by hand: this may run in a signal handler. */
	char tmp[PATH_MAX];
	size_t len = strlen(path);
	if (len + 32 >= sizeof tmp)
		return -ENAMETOOLONG;
	memcpy(tmp, path, len);
	memcpy(tmp + len, ".tmp.", 5);
	len += 5;
	char digits[24];
	size_t nd = 0;
	for (unsigned long v = (unsigned long)getpid(); nd == 0 || v; v /= 10)
		digits[nd++] = (char)('0' + v % 10);
	while (nd)
		tmp[len++] = digits[--nd];
	tmp[len] = '\0';
	if (!sp__in_control_handler)
		sp__modules_scan(); /* libraries loaded since the last look */
	size_t n;
	struct sp__trace **v = sp__store_grab(&n);
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0) /* left by a crashed run */
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = errno;
		sp__store_release(v, n);
		return -e;
	}
	int rc = write_all(fd, v, n);
	sp__store_release(v, n);
	if (!rc)
		rc = seal(fd);
	if (close(fd) != 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) != 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}
