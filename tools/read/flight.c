/* read/flight.c - read a flight file (format 2, docs/FORMAT.md "The flight
 * file"): the live store of a program, running or ended however it ended.
 *
 * It is turned into the bytes of a format-1 dump (INFO, MODULES, SITES,
 * one TRACE per trace, oldest first) which dump.c then parses as any dump,
 * so that everything after the container is shared. Nothing in the file is
 * trusted: every offset is checked against the file, and what does not
 * check out is left out (a trace) or refused with one line (the header).
 *
 * Committed traces: the ring's entries, each a block whose `seq` is its
 * commit word. When the file may be changing (its program runs), the
 * whole file is read once and each block's seq read again afterwards: a
 * block freed or reused meanwhile has another seq (0, then a new one:
 * sequence numbers are never reused), and is left out. Traces in progress
 * (the thread slots) are shown only when the program is gone: as
 * unfinished, cut at the first record that does not check out, their
 * open spans ending at the last time recorded in them.
 */
#include "read/flight.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spanprof_constants.h"

struct out {
	uint8_t *p;
	size_t n, cap;
	bool oom;
};

static void put(struct out *o, const void *b, size_t len)
{
	if (o->oom)
		return;
	if (len > o->cap - o->n) {
		size_t cap = o->cap ? o->cap : 4096;
		while (cap - o->n < len)
			cap *= 2;
		uint8_t *p = realloc(o->p, cap);
		if (!p) {
			o->oom = true;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->n, b, len);
	o->n += len;
}
static void put32(struct out *o, uint32_t v) { put(o, &v, 4); }
static void put64(struct out *o, uint64_t v) { put(o, &v, 8); }
static void putf(struct out *o, double v) { put(o, &v, 8); }
static void pad8(struct out *o)
{
	static const uint8_t z[8];
	put(o, z, (8 - (o->n & 7)) & 7);
}
static void putstr(struct out *o, const char *s, size_t max)
{
	uint16_t len = (uint16_t)strnlen(s, max);
	put(o, &len, 2);
	put(o, s, len);
}
static size_t section(struct out *o, uint32_t type)
{
	put32(o, type);
	put32(o, 0);
	size_t at = o->n;
	put64(o, 0);
	return at;
}
static void section_end(struct out *o, size_t at)
{
	pad8(o);
	if (!o->oom) {
		uint64_t len = o->n - at - 8;
		memcpy(o->p + at, &len, 8);
	}
}

static uint64_t get(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	memcpy(&v, p, n);
	return v;
}

struct tr {
	uint64_t seq, tid, t0, t1, dropped, iterations;
	uint32_t nrec, flags;
	const char *id;
	size_t idlen;
	uint8_t *stream; /* NULL: `src` */
	uint8_t *own;    /* a copy of the block, read on its own (live) */
	const uint8_t *src;
	uint64_t len;
	uint8_t cpu[SP_TRACE_CPU_SIZE]; /* as in a dump; zeros: not measured */
};

static int by_seq(const void *a, const void *b)
{
	const struct tr *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Is `off`..`off + len` inside the file? */
static bool inside(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

/* An unfinished trace's records: copied, cut at the first that does not
 * check out, open spans and iterations closed at the last time seen. */
static bool cut_unfinished(struct tr *t, const uint8_t *src, uint64_t len, uint32_t nsites)
{
	uint8_t *p = malloc(len ? len : 1);
	if (!p)
		return false;
	memcpy(p, src, len);
	uint8_t *kinds = malloc(len / 16 + 1);
	if (!kinds) {
		free(p);
		return false;
	}
	size_t off = 0;
	uint32_t n = 0;
	uint64_t root_t0 = 0, last = 0;
	while (off + 8 <= len) {
		uint32_t head = (uint32_t)get(p + off, 4), parent = (uint32_t)get(p + off + 4, 4);
		uint32_t kind = SP_REC_KIND(head);
		if (kind == SP_REC_DATA) {
			uint32_t type = SP_DATA_TYPE(head), slen = SP_DATA_STRLEN(head);
			size_t size = SP_DATA_REC_SIZE + ((SP_DATA_KEYLEN(head) + slen + 7u) & ~7u);
			if (size > len - off || type < 1 || type > 5 || (type != 4 && slen))
				break;
			if (!(head & SP_DATA_TRACE) && (parent >= n || kinds[parent] != SP_REC_SPAN))
				break;
			off += size;
			continue;
		}
		size_t size = kind == SP_REC_SPAN ? SP_SPAN_REC_SIZE : SP_CUMUL_REC_SIZE;
		uint32_t site = head & SP_REC_SITE_MASK;
		if ((kind != SP_REC_SPAN && kind != SP_REC_CUMUL) || size > len - off || site == 0 || site > nsites)
			break;
		if (n == 0 ? (kind != SP_REC_SPAN || parent != SP_NO_PARENT) : parent >= n)
			break;
		if (n > 0 && kind == SP_REC_SPAN && kinds[parent] != SP_REC_SPAN)
			break;
		if (kind == SP_REC_SPAN) {
			if (head & SP_SPAN_RESERVED)
				break;
			uint64_t a = get(p + off + 8, 8), b = get(p + off + 16, 8);
			if (n == 0)
				root_t0 = a;
			else if (a < root_t0)
				break; /* a stale record of an earlier trace */
			if (a > last)
				last = a;
			if (b >= a && b > last)
				last = b;
		} else {
			if (head & SP_CUMUL_RESERVED)
				break;
			uint64_t count = get(p + off + 8, 8), total = get(p + off + 16, 8);
			uint64_t mn = get(p + off + 24, 8), mx = get(p + off + 32, 8);
			if (count == 0) { /* its first iteration was open */
				uint64_t z = 0, one = 1;
				memcpy(p + off + 8, &one, 8);
				memcpy(p + off + 16, &z, 8);
				memcpy(p + off + 24, &z, 8);
				memcpy(p + off + 32, &z, 8);
			} else if (mn > mx || mx > total) {
				break;
			}
		}
		kinds[n++] = (uint8_t)kind;
		off += size;
	}
	/* Close what was open: a span whose end is not written yet. */
	for (size_t o = 0, k = 0; o < off && k < n;) {
		uint32_t head = (uint32_t)get(p + o, 4);
		uint32_t kind = SP_REC_KIND(head);
		if (kind == SP_REC_DATA) {
			o += SP_DATA_REC_SIZE + ((SP_DATA_KEYLEN(head) + SP_DATA_STRLEN(head) + 7u) & ~7u);
			continue;
		}
		if (kind == SP_REC_SPAN) {
			uint64_t a = get(p + o + 8, 8), b = get(p + o + 16, 8);
			if (b < a || b == 0) {
				head |= SP_REC_ABANDONED;
				memcpy(p + o, &head, 4);
				memcpy(p + o + 16, &last, 8);
			}
			o += SP_SPAN_REC_SIZE;
		} else {
			o += SP_CUMUL_REC_SIZE;
		}
		k++;
	}
	free(kinds);
	if (n == 0) {
		free(p);
		return false;
	}
	t->stream = p;
	t->len = off;
	t->nrec = n;
	t->t0 = root_t0;
	t->t1 = last;
	return true;
}

static bool alive(uint64_t pid)
{
	return pid > 0 && pid < (1u << 22) && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

int rd_flight_convert(const char *path, const uint8_t *f, size_t size, struct rd_flight *res, char *err,
		      size_t errlen)
{
	memset(res, 0, sizeof *res);
	struct sp__flight_header h;
	if (size < sizeof h) {
		snprintf(err, errlen, "truncated at byte %zu (in the header)", size);
		return -1;
	}
	memcpy(&h, f, sizeof h);
	if (h.min_reader > SP_FLIGHT_VERSION) {
		snprintf(err, errlen, "written by a newer spanprof (format %u, this reads %u)", h.version,
			 SP_FLIGHT_VERSION);
		return -1;
	}
	if (h.byte_order != SP_DUMP_BYTE_ORDER) {
		snprintf(err, errlen, "written with another byte order; not readable here");
		return -1;
	}
	if (h.file_size != size) {
		if (h.file_size > size)
			snprintf(err, errlen, "truncated at byte %zu of %llu", size, (unsigned long long)h.file_size);
		else
			snprintf(err, errlen, "corrupt: %zu bytes, the header says %llu", size,
				 (unsigned long long)h.file_size);
		return -1;
	}
	if (h.header_size < sizeof h || !inside(size, h.data_off, h.data_size) ||
	    !inside(size, h.ring_off, (uint64_t)h.ring_cap * 8) ||
	    !inside(size, h.threads_off, (uint64_t)h.nthreads * h.thread_slot) ||
	    !inside(size, h.sites_off, h.sites_size) || h.sites_len > h.sites_size ||
	    !inside(size, h.mods_off, 2 * h.mods_size) || h.mods_len > h.mods_size || h.mods_slot > 2 ||
	    h.trace_off[SP_FT_HDR] < 64 || h.trace_off[SP_FT_HDR] > 4096 || h.thread_slot < SP_FLIGHT_SLOT_HDR) {
		snprintf(err, errlen, "corrupt: the flight file's header does not describe it");
		return -1;
	}
	for (int i = 0; i < SP_FT_HDR; i++)
		if (h.trace_off[i] + 8 > h.trace_off[SP_FT_HDR] && i != SP_FT_ID) {
			snprintf(err, errlen, "corrupt: trace header layout");
			return -1;
		}
	if (h.state == SP_FLIGHT_CLOSED && (h.flags & SP_DUMP_FLAG_CHECKSUM) &&
	    sp__flight_checksum(f, size) != h.checksum) {
		snprintf(err, errlen, "corrupt: the checksum does not match (damaged or altered file)");
		return -1;
	}
	bool running = alive(h.pid) && h.state != SP_FLIGHT_CLOSED;
	res->unclean = !running && h.state != SP_FLIGHT_CLOSED;
	res->live = running;
	double tpn = h.ticks_per_ns;
	if (!(tpn > 1e-6 && tpn < 1e6)) {
		tpn = 1.0;
		if (h.last_mono_ns > h.ref_mono_ns && h.last_tick > h.ref_tick)
			tpn = (double)(h.last_tick - h.ref_tick) / (double)(h.last_mono_ns - h.ref_mono_ns);
		if (!(tpn > 1e-6 && tpn < 1e6))
			tpn = 1.0;
	}

	/* The traces: committed ones from the ring, then unfinished ones. */
	uint64_t hdr = h.trace_off[SP_FT_HDR];
	size_t cap = h.ring_cap;
	uint64_t tail = h.ring_tail, head = h.ring_head;
	if (head < tail || head - tail > cap)
		tail = head > cap ? head - cap : 0;
	struct tr *v = calloc((size_t)(head - tail) + h.nthreads + 1, sizeof *v);
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t nt = 0;
	const uint8_t *f_sites = f + h.sites_off, *f_mods = f + h.mods_off;
	int fd = running ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	uint8_t *ring = NULL;
	if (fd >= 0) { /* live: the ring as it is now, each block read on its own */
		ring = malloc(cap * 8);
		struct sp__flight_header now;
		if (!ring || pread(fd, &now, sizeof now, 0) != (ssize_t)sizeof now ||
		    pread(fd, ring, cap * 8, (off_t)h.ring_off) != (ssize_t)(cap * 8)) {
			close(fd);
			free(ring);
			free(v);
			snprintf(err, errlen, "cannot read the running program's store");
			return -1;
		}
		tail = now.ring_tail;
		head = now.ring_head;
		if (head < tail || head - tail > cap)
			tail = head > cap ? head - cap : 0;
		struct tr *nv = realloc(v, ((size_t)(head - tail) + h.nthreads + 1) * sizeof *v);
		if (!nv) {
			close(fd);
			free(ring);
			free(v);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		v = nv;
	}
	for (uint64_t i = tail; i < head; i++) {
		uint64_t ptr = get((ring ? ring : f + h.ring_off) + (i % cap) * 8, 8);
		uint64_t off = ptr - h.base;
		if (ptr < h.base || off < h.data_off || off - h.data_off >= h.data_size ||
		    !inside(h.data_off + h.data_size, off, hdr))
			continue;
		const uint8_t *b = f + off;
		uint8_t *own = NULL;
		if (fd >= 0) { /* seqlock: the block, then its commit word again */
			uint64_t bl = get(f + off + h.trace_off[SP_FT_LEN], 8);
			own = malloc(hdr + 8);
			if (!own || pread(fd, own, hdr, (off_t)off) != (ssize_t)hdr) {
				free(own);
				continue;
			}
			bl = get(own + h.trace_off[SP_FT_LEN], 8);
			if (bl % 8 || !inside(h.data_off + h.data_size, off + hdr, bl)) {
				free(own);
				continue;
			}
			uint8_t *bigger = realloc(own, hdr + bl + 8);
			if (!bigger) {
				free(own);
				continue;
			}
			own = bigger;
			uint64_t again = 0;
			if (pread(fd, own + hdr, bl, (off_t)(off + hdr)) != (ssize_t)bl ||
			    pread(fd, &again, 8, (off_t)(off + h.trace_off[SP_FT_SEQ])) != 8 ||
			    again != get(own + h.trace_off[SP_FT_SEQ], 8)) {
				free(own);
				continue;
			}
			b = own;
		}
		struct tr *t = &v[nt];
		t->seq = get(b + h.trace_off[SP_FT_SEQ], 8);
		t->tid = get(b + h.trace_off[SP_FT_TID], 8);
		t->t0 = get(b + h.trace_off[SP_FT_T0], 8);
		t->t1 = get(b + h.trace_off[SP_FT_T1], 8);
		t->dropped = get(b + h.trace_off[SP_FT_DROPPED], 8);
		t->iterations = get(b + h.trace_off[SP_FT_ITERATIONS], 8);
		t->nrec = (uint32_t)get(b + h.trace_off[SP_FT_NREC], 4);
		t->flags = (uint32_t)get(b + h.trace_off[SP_FT_FLAGS], 4) & (SP_TRACE_CLOSED | SP_TRACE_KEPT);
		t->idlen = (size_t)get(b + h.trace_off[SP_FT_IDLEN], 2);
		t->id = (const char *)b + h.trace_off[SP_FT_ID];
		t->len = get(b + h.trace_off[SP_FT_LEN], 8);
		uint64_t bsize = get(b + h.trace_off[SP_FT_SIZE], 8);
		uint64_t cpu_at = h.trace_off[SP_FT_CPU];
		if (cpu_at && cpu_at + SP_TRACE_CPU_SIZE <= hdr)
			memcpy(t->cpu, b + cpu_at, SP_TRACE_CPU_SIZE);
		else
			memset(t->cpu, 0, SP_TRACE_CPU_SIZE);
		if (t->seq == 0 || (!own && t->seq > h.committed) || t->idlen > SP_STR_MAX_LIMIT || t->len % 8 ||
		    bsize < hdr || t->len > bsize - hdr || !inside(h.data_off + h.data_size, off, bsize) ||
		    h.trace_off[SP_FT_ID] + t->idlen > hdr) {
			free(own);
			continue;
		}
		t->src = b + hdr;
		t->own = own;
		nt++;
	}
	free(ring);
	/* Live: the sites and modules as they are now, which name everything
	 * the traces just read name (sites are only ever appended). */
	uint8_t *meta = NULL;
	if (fd >= 0) {
		struct sp__flight_header now;
		meta = malloc(h.sites_size + 2 * h.mods_size);
		if (meta && pread(fd, &now, sizeof now, 0) == (ssize_t)sizeof now && now.sites_len <= h.sites_size &&
		    now.mods_len <= h.mods_size && now.mods_slot <= 2 &&
		    pread(fd, meta, now.sites_len, (off_t)h.sites_off) == (ssize_t)now.sites_len &&
		    pread(fd, meta + h.sites_size, 2 * h.mods_size, (off_t)h.mods_off) == (ssize_t)(2 * h.mods_size)) {
			h.nsites = now.nsites;
			h.sites_len = now.sites_len;
			h.mods_slot = now.mods_slot;
			h.mods_len = now.mods_len;
			h.committed = now.committed;
			h.evicted = now.evicted;
			h.cleared = now.cleared;
			h.spans_dropped = now.spans_dropped;
			h.traces_lost = now.traces_lost;
			h.filtered = now.filtered;
			f_sites = meta;
			f_mods = meta + h.sites_size;
		}
		close(fd);
	}
	qsort(v, nt, sizeof *v, by_seq);
	size_t k = 0; /* one per seq */
	for (size_t i = 0; i < nt; i++)
		if (!k || v[k - 1].seq != v[i].seq)
			v[k++] = v[i];
	nt = k;
	uint64_t next = h.committed;
	uint32_t nsites = h.nsites;
	for (uint32_t i = 0; !running && h.state != SP_FLIGHT_CLOSED && i < h.nthreads; i++) {
		const uint8_t *s = f + h.threads_off + (uint64_t)i * h.thread_slot;
		const uint8_t *r = s + SP_FLIGHT_SLOT_HDR;
		if (get(s, 8) != SP_FLIGHT_SLOT_USED)
			continue;
		bool fits = true;
		for (int j = 0; j <= SP_FTH_BUFSIZE; j++)
			if (h.thread_off[j] + 8u > h.thread_slot - SP_FLIGHT_SLOT_HDR)
				fits = false;
		if (!fits)
			break;
		uint32_t depth = (uint32_t)get(r + h.thread_off[SP_FTH_DEPTH], 4);
		uint64_t buf = get(r + h.thread_off[SP_FTH_BUF], 8);
		uint64_t pos = get(r + h.thread_off[SP_FTH_POS], 8);
		uint64_t bufsize = get(r + h.thread_off[SP_FTH_BUFSIZE], 8);
		uint64_t off = buf - h.base;
		if (!depth || !buf || buf < h.base || off < h.data_off || bufsize < hdr ||
		    !inside(h.data_off + h.data_size, off, bufsize) || off - h.data_off >= h.data_size)
			continue;
		if (pos > bufsize - hdr)
			pos = bufsize - hdr;
		struct tr *t = &v[nt];
		memset(t, 0, sizeof *t);
		if (!cut_unfinished(t, f + off + hdr, pos & ~(uint64_t)7, nsites))
			continue;
		t->seq = ++next;
		t->tid = get(r + h.thread_off[SP_FTH_TRACE_TID], 8);
		t->dropped = get(r + h.thread_off[SP_FTH_DROPPED], 8);
		t->flags = SP_TRACE_UNFINISHED | SP_TRACE_CLOSED;
		t->idlen = (size_t)get(r + h.thread_off[SP_FTH_IDLEN], 2);
		t->id = (const char *)r + h.thread_off[SP_FTH_ID];
		if (t->idlen > SP_STR_MAX_LIMIT || h.thread_off[SP_FTH_ID] + t->idlen > h.thread_slot - SP_FLIGHT_SLOT_HDR)
			t->idlen = 0;
		res->unfinished++;
		nt++;
	}

	struct out o = { 0 };
	put(&o, SP_DUMP_MAGIC, 8);
	put32(&o, SP_DUMP_VERSION);
	put32(&o, SP_DUMP_VERSION_MIN);
	put32(&o, SP_DUMP_HEADER_SIZE);
	put32(&o, SP_DUMP_BYTE_ORDER);
	put64(&o, 0); /* size: below */
	put32(&o, (uint32_t)(3 + nt));
	put32(&o, 0);
	put64(&o, h.pid);
	put64(&o, 0);
	put64(&o, 0);
	uint64_t spans = 0, iters = 0;
	for (size_t i = 0; i < nt; i++) {
		spans += v[i].nrec;
		iters += v[i].iterations;
	}
	size_t at = section(&o, SP_SECTION_INFO);
	put64(&o, h.pid);
	putf(&o, tpn);
	put64(&o, h.ref_tick);
	put64(&o, h.ref_wall_ns);
	put64(&o, h.ref_mono_ns);
	double per = h.overhead_per_span_ns >= 0 && h.overhead_per_span_ns < 1e9 ? h.overhead_per_span_ns : 0;
	putf(&o, per);
	putf(&o, per * (double)(spans + iters) / 1e6);
	put64(&o, spans);
	put64(&o, iters);
	put64(&o, h.committed);
	put64(&o, h.evicted);
	put64(&o, h.spans_dropped);
	put32(&o, h.max_traces);
	put32(&o, h.buffer_mb);
	put32(&o, h.clock_source);
	put32(&o, 0);
	putstr(&o, h.exe, sizeof h.exe);
	putstr(&o, h.cmdline, sizeof h.cmdline);
	pad8(&o);
	put64(&o, h.traces_lost);
	put64(&o, h.cleared);
	put64(&o, h.filtered);
	put32(&o, h.keep_slowest);
	put32(&o, h.min_ms);
	section_end(&o, at);
	at = section(&o, SP_SECTION_MODULES);
	if (h.mods_slot)
		put(&o, f_mods + (h.mods_slot - 1) * h.mods_size, h.mods_len);
	else
		put64(&o, 0);
	section_end(&o, at);
	at = section(&o, SP_SECTION_SITES);
	put32(&o, nsites);
	put32(&o, 0);
	put(&o, f_sites, h.sites_len);
	section_end(&o, at);
	for (size_t i = 0; i < nt; i++) {
		struct tr *t = &v[i];
		at = section(&o, SP_SECTION_TRACE);
		put64(&o, t->seq);
		put64(&o, t->tid);
		put64(&o, t->t0);
		put64(&o, t->t1);
		put64(&o, t->dropped);
		put64(&o, t->iterations);
		put32(&o, t->nrec);
		put32(&o, t->flags);
		uint16_t il = (uint16_t)t->idlen;
		put(&o, &il, 2);
		put(&o, t->id, t->idlen);
		pad8(&o);
		put64(&o, t->len);
		put(&o, t->stream ? t->stream : t->src, t->len);
		put(&o, t->cpu, SP_TRACE_CPU_SIZE);
		section_end(&o, at);
		free(t->stream);
		free(t->own);
	}
	free(v);
	free(meta);
	/* The statistics of every trace ended (files of older writers: none),
	 * as they are now: counters a live program moves, read as numbers. */
	if (h.hist_off && h.hist_names <= 4096 && h.hist_off <= size &&
	    (uint64_t)h.hist_names * SP_HIST_ENTRY_SIZE <= size - h.hist_off) {
		uint32_t n = 0;
		for (uint32_t i = 0; i < h.hist_names; i++)
			n += get(f + h.hist_off + (size_t)i * SP_HIST_ENTRY_SIZE, 8) != 0;
		size_t at = section(&o, SP_SECTION_STATS);
		put32(&o, n);
		put32(&o, SP_HIST_BUCKETS);
		for (uint32_t i = 0; i < h.hist_names; i++) {
			struct sp__hist_entry e;
			memcpy(&e, f + h.hist_off + (size_t)i * SP_HIST_ENTRY_SIZE, sizeof e);
			if (!e.site)
				continue;
			uint32_t nz = 0;
			for (uint32_t b = 0; b < SP_HIST_BUCKETS; b++)
				nz += e.counts[b] != 0;
			put64(&o, e.site);
			put64(&o, e.seen);
			put64(&o, e.sum);
			put64(&o, e.min);
			put64(&o, e.max);
			put64(&o, e.filtered);
			put64(&o, e.evicted);
			put32(&o, nz);
			put32(&o, 0);
			for (uint32_t b = 0; b < SP_HIST_BUCKETS; b++)
				if (e.counts[b]) {
					put32(&o, b);
					put32(&o, e.counts[b]);
				}
		}
		section_end(&o, at);
		uint32_t nsect = (uint32_t)(3 + nt + 1);
		if (!o.oom)
			memcpy(o.p + SP_DUMP_SIZE_AT + 8, &nsect, 4);
	}
	if (o.oom) {
		free(o.p);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	uint64_t total = o.n;
	memcpy(o.p + SP_DUMP_SIZE_AT, &total, 8);
	res->data = o.p;
	res->size = o.n;
	return 0;
}
