/* read/dump.c - read and check a dump file. See dump.h and docs/FORMAT.md.
 *
 * A cursor walks the bytes; every read checks what is left and records
 * where it failed, so one check per section reports "truncated at byte N".
 */
#include "read/dump.h"
#include "read/flight.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "spanprof_constants.h"

#define MAX_FILE ((size_t)1 << 36) /* 64 GiB: larger is not a dump */

struct cur {
	const uint8_t *base;
	size_t pos, end;
	bool bad;
};

static bool need(struct cur *c, size_t n)
{
	if (c->bad || n > c->end - c->pos) {
		c->bad = true;
		return false;
	}
	return true;
}

static uint64_t rd(struct cur *c, size_t n)
{
	uint64_t v = 0;
	if (!need(c, n))
		return 0;
	memcpy(&v, c->base + c->pos, n);
	c->pos += n;
	return v;
}

#define U8(c) ((uint8_t)rd(c, 1))
#define U16(c) ((uint16_t)rd(c, 2))
#define U32(c) ((uint32_t)rd(c, 4))
#define U64(c) (rd(c, 8))

static double f64(struct cur *c)
{
	uint64_t v = U64(c);
	double d;
	memcpy(&d, &v, 8);
	return d;
}

/* A str: u16 length and bytes, copied and NUL-terminated. */
static char *str(struct cur *c)
{
	uint16_t len = U16(c);
	if (!need(c, len))
		return NULL;
	char *s = malloc((size_t)len + 1);
	if (!s) {
		c->bad = true;
		return NULL;
	}
	memcpy(s, c->base + c->pos, len);
	s[len] = '\0';
	c->pos += len;
	return s;
}

static void pad8(struct cur *c)
{
	size_t p = (8 - (c->pos & 7)) & 7;
	if (need(c, p))
		c->pos += p;
}

static int fail(struct rd_dump *d, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s: ", d->path);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int read_file(struct rd_dump *d, char *err, size_t errlen)
{
	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	 * writer, for ever. It is refused below with every other non-regular
	 * file (a device would be read without end, a directory not at all),
	 * and cleared before reading. */
	int fd = open(d->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fail(d, err, errlen, "cannot open: %s", strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(d, err, errlen, "not a regular file");
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
		int e = errno;
		close(fd);
		return fail(d, err, errlen, "cannot open: %s", strerror(e));
	}
	if (st.st_size == 0) {
		close(fd);
		return fail(d, err, errlen, "empty file (not a spanprof dump)");
	}
	if ((size_t)st.st_size > MAX_FILE) {
		close(fd);
		return fail(d, err, errlen, "too large to be a spanprof dump");
	}
	d->size = (size_t)st.st_size;
	d->data = malloc(d->size);
	if (!d->data) {
		close(fd);
		return fail(d, err, errlen, "out of memory reading %zu bytes", d->size);
	}
	size_t got = 0;
	while (got < d->size) {
		ssize_t r = read(fd, d->data + got, d->size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			close(fd);
			return fail(d, err, errlen, "read error: %s", r < 0 ? strerror(errno) : "file shrank");
		}
		got += (size_t)r;
	}
	close(fd);
	return 0;
}

static int read_info(struct rd_dump *d, struct cur *c, char *err, size_t errlen)
{
	size_t at = c->pos;
	d->pid = U64(c);
	d->ticks_per_ns = f64(c);
	d->ref_tick = U64(c);
	d->ref_wall_ns = U64(c);
	d->ref_mono_ns = U64(c);
	d->overhead_per_span_ns = f64(c);
	d->total_overhead_ms = f64(c);
	d->spans = U64(c);
	d->iterations = U64(c);
	d->committed = U64(c);
	d->evicted = U64(c);
	d->dropped = U64(c);
	d->max_traces = U32(c);
	d->buffer_mb = U32(c);
	d->clock_source = U32(c);
	rd(c, 4); /* reserved */
	d->program = str(c);
	d->cmdline = str(c);
	if (c->bad)
		return fail(d, err, errlen, "INFO section truncated (at byte %zu)", at);
	/* Counters added later: absent (0) in older dumps. */
	pad8(c);
	if (!c->bad && c->end - c->pos >= 16) {
		d->traces_dropped = U64(c);
		d->cleared = U64(c);
	}
	if (!c->bad && c->end - c->pos >= 16) {
		d->filtered = U64(c);
		d->keep_slowest = U32(c);
		d->min_ms = U32(c);
	} else {
		d->keep_slowest = SP_DEFAULT_KEEP_SLOWEST; /* older dumps: unknown */
	}
	if (!(d->ticks_per_ns > 1e-6 && d->ticks_per_ns < 1e6))
		return fail(d, err, errlen, "corrupt: clock rate %g ticks/ns (byte %zu)", d->ticks_per_ns, at + 8);
	if (!(d->overhead_per_span_ns >= 0 && d->overhead_per_span_ns < 1e9))
		d->overhead_per_span_ns = 0; /* a figure, not structure: show 0 */
	return 0;
}

static int read_modules(struct rd_dump *d, struct cur *c, char *err, size_t errlen)
{
	size_t at = c->pos;
	uint32_t n = U32(c);
	rd(c, 4); /* reserved */
	/* each module takes at least 40 bytes */
	if (c->bad || n > (c->end - c->pos) / 40)
		return fail(d, err, errlen, "corrupt: %u modules in a section of %zu bytes (byte %zu)", n,
			    c->end - at, at);
	d->modules = calloc(n ? n : 1, sizeof *d->modules);
	if (!d->modules)
		return fail(d, err, errlen, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		struct rd_dump_module *m = &d->modules[i];
		m->bias = U64(c);
		m->start = U64(c);
		m->end = U64(c);
		m->flags = U32(c);
		m->build_id_len = U8(c);
		rd(c, 3);
		if (m->build_id_len > SP_BUILD_ID_MAX || !need(c, m->build_id_len))
			return fail(d, err, errlen, "corrupt module %u (byte %zu)", i, c->pos);
		m->build_id = c->base + c->pos;
		c->pos += m->build_id_len;
		pad8(c);
		d->nmodules = i + 1; /* from here on, close frees its path */
		m->path = str(c);
		pad8(c);
		if (c->bad)
			return fail(d, err, errlen, "module %u truncated (byte %zu)", i, c->pos);
	}
	return 0;
}

static int read_sites(struct rd_dump *d, struct cur *c, char *err, size_t errlen)
{
	size_t at = c->pos;
	uint32_t n = U32(c);
	rd(c, 4); /* reserved */
	if (c->bad || n > (c->end - c->pos) / 40)
		return fail(d, err, errlen, "corrupt: %u sites in a section of %zu bytes (byte %zu)", n,
			    c->end - at, at);
	d->sites = calloc((size_t)n + 1, sizeof *d->sites);
	if (!d->sites)
		return fail(d, err, errlen, "out of memory");
	for (uint32_t i = 1; i <= n; i++) {
		struct rd_dump_site *s = &d->sites[i];
		size_t sat = c->pos;
		s->kind = U8(c);
		rd(c, 3);
		uint32_t x = U32(c);
		s->offset = U64(c);
		s->address = U64(c);
		s->size = U32(c);
		rd(c, 4); /* reserved */
		d->nsites = i; /* from here on, close frees its strings */
		s->name = str(c);
		s->func = str(c);
		s->file = str(c);
		pad8(c);
		if (c->bad)
			return fail(d, err, errlen, "site %u truncated (byte %zu)", i, sat);
		if (s->kind < SP_SITE_FUNC || s->kind > SP_SITE_NAME)
			return fail(d, err, errlen, "corrupt: site %u has kind %u (byte %zu)", i, s->kind, sat);
		if (s->kind == SP_SITE_FUNC) {
			s->module = x;
			if (x != SP_NO_MODULE && x >= d->nmodules)
				return fail(d, err, errlen, "corrupt: site %u names module %u of %u (byte %zu)", i, x,
					    d->nmodules, sat);
		} else {
			s->module = SP_NO_MODULE;
			s->line = x;
		}
	}
	return 0;
}

static int read_trace(struct rd_dump *d, struct cur *c, size_t sect, char *err, size_t errlen)
{
	struct rd_dump_trace *t = &d->traces[d->ntraces];
	memset(t, 0, sizeof *t);
	t->offset = sect;
	t->seq = U64(c);
	t->tid = U64(c);
	t->t0 = U64(c);
	t->t1 = U64(c);
	t->dropped = U64(c);
	t->iterations = U64(c);
	t->nrec = U32(c);
	t->flags = U32(c);
	t->id = str(c);
	pad8(c);
	t->stream_len = U64(c);
	size_t n = d->ntraces + 1;
	if (c->bad)
		return fail(d, err, errlen, "truncated at byte %zu (trace %zu)", c->pos, n);
	if (t->stream_len > c->end - c->pos || t->stream_len % 8)
		return fail(d, err, errlen, "corrupt: trace %zu claims %llu bytes of records (byte %zu)", n,
			    (unsigned long long)t->stream_len, c->pos - 8);
	if (t->t1 < t->t0 || t->nrec == 0 || t->nrec > t->stream_len / 24)
		return fail(d, err, errlen, "corrupt: trace %zu header (byte %zu)", n, sect);
	t->stream = c->base + c->pos;
	c->pos += t->stream_len;
	if (c->end - c->pos >= SP_TRACE_CPU_SIZE) { /* newer dumps: CPU use */
		t->cpu_ns = U64(c);
		t->voluntary_switches = U32(c);
		t->involuntary_switches = U32(c);
		t->cpu_measured = U32(c) & SP_TRACE_CPU_MEASURED;
		(void)U32(c);
	}
	d->ntraces++;
	return 0;
}

static int read_stats(struct rd_dump *d, struct cur *c, size_t at, char *err, size_t errlen)
{
	uint32_t n = U32(c), nb = U32(c);
	if (c->bad || nb != SP_HIST_BUCKETS || n > SP_HIST_NAMES * 64u || n > (c->end - c->pos) / 64)
		return fail(d, err, errlen, "corrupt: STATS header (byte %zu)", at);
	d->stats = calloc(n ? n : 1, sizeof *d->stats);
	if (!d->stats)
		return fail(d, err, errlen, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		struct sp__hist_entry *e = &d->stats[i];
		e->site = U64(c);
		e->seen = U64(c);
		e->sum = U64(c);
		e->min = U64(c);
		e->max = U64(c);
		e->filtered = U64(c);
		e->evicted = U64(c);
		uint32_t k = U32(c);
		(void)U32(c);
		if (c->bad || !e->site || k > SP_HIST_BUCKETS || k > (c->end - c->pos) / 8)
			return fail(d, err, errlen, "corrupt: STATS entry %u (byte %zu)", i + 1, c->pos);
		for (uint32_t j = 0, last = 0; j < k; j++) {
			uint32_t b = U32(c), cnt = U32(c);
			if (b >= SP_HIST_BUCKETS || (j && b <= last) || !cnt)
				return fail(d, err, errlen, "corrupt: STATS entry %u bucket %u (byte %zu)", i + 1, b,
					    c->pos - 8);
			e->counts[b] = cnt;
			last = b;
		}
	}
	d->nstats = n;
	return 0;
}

static int parse(struct rd_dump *d, bool unchecked, char *err, size_t errlen);

int rd_dump_open(const char *path, struct rd_dump *d, char *err, size_t errlen)
{
	memset(d, 0, sizeof *d);
	d->path = strdup(path);
	if (!d->path) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (read_file(d, err, errlen))
		return -1;
	return parse(d, false, err, errlen);
}

int rd_dump_parse(const char *name, const uint8_t *data, size_t size, bool unchecked, struct rd_dump *d, char *err,
		  size_t errlen)
{
	memset(d, 0, sizeof *d);
	d->path = strdup(name);
	d->data = malloc(size ? size : 1);
	if (!d->path || !d->data) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	memcpy(d->data, data, size);
	d->size = size;
	if (size == 0)
		return fail(d, err, errlen, "empty file (not a spanprof dump)");
	return parse(d, unchecked, err, errlen);
}

static int parse(struct rd_dump *d, bool unchecked, char *err, size_t errlen)
{
	struct cur c = { d->data, 0, d->size, false };
	if (d->size < 8 || memcmp(d->data, SP_DUMP_MAGIC, 8))
		return fail(d, err, errlen, "not a spanprof dump (bad magic)");
	if (d->size < SP_DUMP_HEADER_SIZE)
		return fail(d, err, errlen, "truncated at byte %zu (in the header)", d->size);
	uint32_t version;
	memcpy(&version, d->data + 8, 4);
	if (version == SP_FLIGHT_VERSION) {
		/* A flight file: turned into a dump's bytes (flight.c). */
		struct rd_flight fl;
		char why[256];
		if (rd_flight_convert(d->path, d->data, d->size, &fl, why, sizeof why))
			return fail(d, err, errlen, "%s", why);
		free(d->data);
		d->data = fl.data;
		d->size = fl.size;
		d->flight = true;
		d->unclean = fl.unclean;
		d->live = fl.live;
		d->unfinished = fl.unfinished;
		unchecked = true; /* built here, not read: no checksum */
		c = (struct cur){ d->data, 0, d->size, false };
	}
	c.pos = 8;
	d->version = U32(&c);
	uint32_t min_reader = U32(&c), hdr = U32(&c), marker = U32(&c);
	uint64_t fsize = U64(&c);
	uint32_t nsections = U32(&c), flags = U32(&c);
	rd(&c, 8); /* pid */
	uint64_t sum = U64(&c);
	if (marker != SP_DUMP_BYTE_ORDER)
		return fail(d, err, errlen, "written with another byte order; not readable here");
	if (d->flight)
		d->version = SP_FLIGHT_VERSION;
	if (min_reader > SP_DUMP_VERSION)
		return fail(d, err, errlen, "written by a newer spanprof (format %u, this reads %u)", d->version,
			    SP_DUMP_VERSION);
	if (hdr < SP_DUMP_HEADER_SIZE || hdr % 8 || hdr > d->size)
		return fail(d, err, errlen, "corrupt header (size %u)", hdr);
	if (fsize != d->size)
		return fsize > d->size ? fail(d, err, errlen, "truncated at byte %zu of %llu", d->size,
					      (unsigned long long)fsize)
				       : fail(d, err, errlen, "corrupt: %zu bytes, the header says %llu", d->size,
					      (unsigned long long)fsize);
	if (!unchecked && (!(flags & SP_DUMP_FLAG_CHECKSUM) || sp__dump_checksum(d->data, d->size) != sum))
		return fail(d, err, errlen, "corrupt: the checksum does not match (damaged or altered file)");
	c.pos = hdr;
	if (nsections > (d->size - hdr) / SP_SECTION_HEADER_SIZE)
		return fail(d, err, errlen, "corrupt: %u sections in %zu bytes", nsections, d->size - hdr);
	d->traces = calloc((size_t)nsections + 1, sizeof *d->traces); /* + a partial one */
	if (!d->traces)
		return fail(d, err, errlen, "out of memory");
	bool info = false, mods = false, sites = false;
	for (uint32_t i = 0; i < nsections; i++) {
		size_t at = c.pos;
		uint32_t type = U32(&c);
		rd(&c, 4); /* reserved */
		uint64_t len = U64(&c);
		if (c.bad)
			return fail(d, err, errlen, "truncated at byte %zu (section %u of %u)", at, i + 1,
				    nsections);
		if (len > d->size - c.pos || len % 8)
			return fail(d, err, errlen, "%s at byte %zu (section %u of %u is %llu bytes)",
				    len > d->size - c.pos ? "truncated" : "corrupt", at, i + 1, nsections,
				    (unsigned long long)len);
		struct cur s = { d->data, c.pos, c.pos + (size_t)len, false };
		int rc = 0;
		if (type == SP_SECTION_INFO && !info) {
			if (i != 0)
				return fail(d, err, errlen, "corrupt: INFO is not the first section");
			rc = read_info(d, &s, err, errlen);
			info = true;
		} else if (type == SP_SECTION_MODULES && !mods) {
			rc = read_modules(d, &s, err, errlen);
			mods = true;
		} else if (type == SP_SECTION_SITES && !sites) {
			if (!mods)
				return fail(d, err, errlen, "corrupt: SITES before MODULES (byte %zu)", at);
			rc = read_sites(d, &s, err, errlen);
			sites = true;
		} else if (type == SP_SECTION_TRACE) {
			if (!info || !mods || !sites)
				return fail(d, err, errlen, "corrupt: a trace before INFO, MODULES and SITES (byte %zu)",
					    at);
			rc = read_trace(d, &s, at, err, errlen);
		} else if (type == SP_SECTION_STATS && !d->stats) {
			rc = read_stats(d, &s, at, err, errlen);
		} else if (type >= SP_SECTION_INFO && type <= SP_SECTION_SITES) {
			return fail(d, err, errlen, "corrupt: section type %u twice (byte %zu)", type, at);
		} /* else: a section of a later version, skipped */
		if (rc)
			return rc;
		c.pos += (size_t)len;
	}
	if (!info || !mods || !sites)
		return fail(d, err, errlen, "corrupt: missing %s section", !info ? "INFO" : !mods ? "MODULES" : "SITES");
	return 0;
}

void rd_dump_close(struct rd_dump *d)
{
	if (!d)
		return;
	for (uint32_t i = 0; i < d->nmodules; i++)
		free(d->modules[i].path);
	for (uint32_t i = 1; d->sites && i <= d->nsites; i++) {
		free(d->sites[i].name);
		free(d->sites[i].func);
		free(d->sites[i].file);
	}
	for (size_t i = 0; i < d->ntraces; i++)
		free(d->traces[i].id);
	free(d->stats);
	if (d->traces) /* a partial entry, left by a failed read */
		free(d->traces[d->ntraces].id);
	free(d->modules);
	free(d->sites);
	free(d->traces);
	free(d->program);
	free(d->cmdline);
	free(d->data);
	free(d->path);
	memset(d, 0, sizeof *d);
}

long rd_dump_find(const struct rd_dump *d, uint64_t seq)
{
	size_t lo = 0, hi = d->ntraces;
	while (lo < hi) { /* stored oldest first: seq increases */
		size_t mid = lo + (hi - lo) / 2;
		if (d->traces[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < d->ntraces && d->traces[lo].seq == seq)
		return (long)lo;
	for (size_t i = 0; i < d->ntraces; i++) /* not sorted after all */
		if (d->traces[i].seq == seq)
			return (long)i;
	return -1;
}

uint64_t rd_dump_ns(const struct rd_dump *d, uint64_t ticks)
{
	return (uint64_t)((double)ticks / d->ticks_per_ns + 0.5);
}

uint64_t rd_dump_wall_ns(const struct rd_dump *d, uint64_t tick)
{
	/* The offset in double (ticks per ns is one), the sum in integers: a
	 * wall time near 2^61 ns has a double step of 256 ns, which showed
	 * a start 50 ms after the reference as .049. */
	double off = ((double)tick - (double)d->ref_tick) / d->ticks_per_ns;
	off = off < 0 ? off - 0.5 : off + 0.5;
	if (off < 0 && -off >= (double)d->ref_wall_ns)
		return 0;
	if (off >= (double)(UINT64_MAX - d->ref_wall_ns))
		return UINT64_MAX;
	return off < 0 ? d->ref_wall_ns - (uint64_t)-off : d->ref_wall_ns + (uint64_t)off;
}
