/* format.h - the dump format's encodings (docs/FORMAT.md), in one place for
 * the runtime that writes them and the CLI that reads them. */
#ifndef SP_FORMAT_H
#define SP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* Header (64 bytes): the offsets the writer patches after writing, and
 * the byte-order marker. */
#define SP_DUMP_HEADER_SIZE 64u
#define SP_DUMP_BYTE_ORDER 0x01020304u
#define SP_DUMP_SIZE_AT 24u     /* u64 total file size */
#define SP_DUMP_FLAGS_AT 36u    /* u32 flags */
#define SP_DUMP_CHECKSUM_AT 48u /* u64 checksum */
#define SP_DUMP_FLAG_CHECKSUM 1u
_Static_assert(SP_DUMP_CHECKSUM_AT + 16 == SP_DUMP_HEADER_SIZE, "the checksum and the reserved u64 end the header");

/* Sections: a 16-byte header (u32 kind, u32 flags, u64 length), then the
 * payload. A reader skips kinds it does not know. */
#define SP_SECTION_HEADER_SIZE 16u
enum sp__section_kind {
	SP_SECTION_INFO = 1,    /* exactly one, first */
	SP_SECTION_MODULES = 2, /* exactly one, before any TRACE */
	SP_SECTION_SITES = 3,   /* exactly one, before any TRACE */
	SP_SECTION_TRACE = 4,   /* one per stored trace, oldest first */
	SP_SECTION_STATS = 5,   /* at most one: statistics over all traces ended (SP_HIST_*) */
};

/* STATS, and the flight file's statistics area: per trace name (its root
 * span's site), every trace that ended, stored or not, in a log-linear
 * histogram of its duration in ticks: values below 64 exact, then 64
 * buckets per power of two up to 2^48, so a bucket's midpoint is within
 * 0.8% of any value in it. In the flight file: SP_HIST_NAMES entries
 * (struct sp__hist_entry), site 0: unused. The STATS payload, sparse:
 * u32 entries, u32 SP_HIST_BUCKETS, then per entry u64 site, seen, sum,
 * min, max, filtered, evicted, u32 k, u32 0, then k pairs of u32 bucket
 * (increasing, < SP_HIST_BUCKETS) and u32 count (not 0). */
#define SP_HIST_BUCKETS 2752u
#define SP_HIST_NAMES 64u
struct sp__hist_entry {
	uint64_t site;             /* 0: unused */
	uint64_t seen, sum, min, max; /* ticks */
	uint64_t filtered, evicted; /* not stored (SPANPROF_MIN_MS), stored then evicted */
	uint64_t reserved;
	uint32_t counts[SP_HIST_BUCKETS];
};
#define SP_HIST_ENTRY_SIZE 11072u
_Static_assert(sizeof(struct sp__hist_entry) == SP_HIST_ENTRY_SIZE, "histogram entry size (docs/FORMAT.md)");

static inline __attribute__((no_instrument_function, unused)) uint32_t sp__hist_bucket(uint64_t v)
{
	if (v < 64)
		return (uint32_t)v;
	int e = 63 - __builtin_clzll(v);
	if (e > 47)
		return SP_HIST_BUCKETS - 1;
	return (uint32_t)(e - 5) * 64 + (uint32_t)((v >> (e - 6)) & 63);
}

/* The lowest value of bucket b, and its width. */
static inline __attribute__((no_instrument_function, unused)) uint64_t sp__hist_low(uint32_t b, uint64_t *width)
{
	if (b < 64) {
		*width = 1;
		return b;
	}
	int e = (int)(b / 64) + 5;
	*width = 1ull << (e - 6);
	return (64ull + b % 64) << (e - 6);
}

/* What a span record names (SITES). */
enum sp__site_kind {
	SP_SITE_FUNC = 1,  /* an instrumented function */
	SP_SITE_PROBE = 2, /* SP_SPAN and friends in the source */
	SP_SITE_NAME = 3,  /* a name given at run time (sp_trace_begin) */
};

/* MODULES: a module's flags, and the longest build-id. */
#define SP_MOD_MAIN 1u
#define SP_MOD_UNLOADED 2u
#define SP_BUILD_ID_MAX 64u
/* SITES: a function in no known module. */
#define SP_NO_MODULE 0xffffffffu

/* TRACE: a trace's flags. */
#define SP_TRACE_CLOSED 1u /* closed by spanprof (open at exit or thread end) */
#define SP_TRACE_UNFINISHED 2u /* still open when the program died (flight file) */
#define SP_TRACE_KEPT 4u /* kept as one of the slowest of its name (SPANPROF_KEEP_SLOWEST) */
/* TRACE, after the record stream (absent in older dumps): CPU use. */
#define SP_TRACE_CPU_SIZE 24u
#define SP_TRACE_CPU_MEASURED 1u /* its cpu flags: the fields were read */

/* Record stream: the kind in a head's two top bits. */
#define SP_REC_KIND(head) ((head) >> 30)
#define SP_REC_SPAN 1u
#define SP_REC_CUMUL 2u
#define SP_REC_DATA 3u
#define SP_REC_ABANDONED (1u << 29)
#define SP_REC_SITE_MASK 0x0fffffffu
#define SP_SPAN_RESERVED (1u << 28)  /* zero in a span head */
#define SP_CUMUL_RESERVED (3u << 28) /* zero in a cumulative head */
#define SP_DATA_TRUNC (1u << 29)
#define SP_DATA_TRACE (1u << 28)
#define SP_DATA_TYPE(head) (((head) >> 24) & 0xfu)
#define SP_DATA_KEYLEN(head) (((head) >> 16) & 0xffu)
#define SP_DATA_STRLEN(head) ((head)&0xffffu)
#define SP_NO_PARENT 0xffffffffu
#define SP_SPAN_REC_SIZE 24u
#define SP_CUMUL_REC_SIZE 56u
#define SP_DATA_REC_SIZE 16u /* then key and string bytes, padded to 8 */
#define SP_DATA_STR_MARKER 1u /* a string's value field: "<optimized out>" and such, not a value */

/* The records as the runtime builds them in place; a reader decodes the
 * bytes (decode.c) and never casts. */
struct sp__span_rec {
	uint32_t head;
	uint32_t parent; /* ordinal */
	uint64_t t0, t1; /* ticks */
};

struct sp__cumul_rec {
	uint32_t head;
	uint32_t parent;
	uint64_t count;
	uint64_t total, min, max; /* ticks */
	/* used while recording, ignored by readers: */
	uint32_t child_head; /* slot + 1 of the first cumulative child, 0: none */
	uint32_t next;       /* slot + 1 of the next sibling cumulative node, 0: none */
	uint32_t ord;        /* this node's ordinal */
	uint32_t reserved;
};

struct sp__data_rec { /* then key and string bytes, padded to 8 */
	uint32_t head;
	uint32_t owner;
	uint64_t value;
};

_Static_assert(sizeof(struct sp__span_rec) == SP_SPAN_REC_SIZE, "span record size (docs/FORMAT.md)");
_Static_assert(sizeof(struct sp__cumul_rec) == SP_CUMUL_REC_SIZE, "cumulative record size (docs/FORMAT.md)");
_Static_assert(sizeof(struct sp__data_rec) == SP_DATA_REC_SIZE, "data record size (docs/FORMAT.md)");
_Static_assert(SP_SPAN_REC_SIZE % 8 == 0 && SP_CUMUL_REC_SIZE % 8 == 0 && SP_DATA_REC_SIZE % 8 == 0,
	       "records keep the stream 8-byte aligned");

/* ------------------------------------------------------------------------
 * The flight file (format 2, docs/FORMAT.md "The flight file"): the live
 * store, one MAP_SHARED file mapping at SPANPROF_OUTPUT. Its first page is
 * this header; the areas it names follow. Pointers the runtime keeps in
 * the file (the ring, a thread's buffer) are its own addresses: offset =
 * pointer - `base`. Layout-dependent structs (a stored trace's header, a
 * thread record) are described by the offset tables below, so that fields
 * can be added to them without a new format.
 */
#define SP_FLIGHT_VERSION 2u
#define SP_FLIGHT_HEADER_SIZE 8192u
#define SP_FLIGHT_RUNNING 1u /* state: the program runs, or died */
#define SP_FLIGHT_CLOSED 2u  /* state: it exited normally (finalized) */
#define SP_FLIGHT_SLOT_USED 1u
#define SP_FLIGHT_SLOT_HDR 64u /* a thread slot: u64 state, then its record */
#define SP_FLIGHT_CMDQ 64u     /* control queue entries */
#define SP_FLIGHT_STR_MAX 2040u

/* Offsets of a stored trace's header fields (struct sp__trace). SP_FT_CPU:
 * its CPU use, SP_TRACE_CPU_SIZE bytes laid out as in a dump's TRACE
 * section; 0 (files of older writers): not recorded. */
enum { SP_FT_SEQ, SP_FT_TID, SP_FT_T0, SP_FT_T1, SP_FT_DROPPED, SP_FT_ITERATIONS, SP_FT_NREC, SP_FT_FLAGS,
       SP_FT_IDLEN, SP_FT_ID, SP_FT_LEN, SP_FT_SIZE, SP_FT_HDR, SP_FT_REFS, SP_FT_CPU, SP_FT_COUNT = 16 };
/* Offsets of a thread record's fields (struct sp__thread). */
enum { SP_FTH_DEPTH, SP_FTH_BUF, SP_FTH_POS, SP_FTH_NREC, SP_FTH_TRACE_TID, SP_FTH_TRACE_FLAGS, SP_FTH_IDLEN,
       SP_FTH_ID, SP_FTH_DROPPED, SP_FTH_ITERATIONS, SP_FTH_BUFSIZE, SP_FTH_COUNT = 16 };

struct sp__flight_header {
	char magic[8];            /* SP_DUMP_MAGIC */
	uint32_t version;         /* SP_FLIGHT_VERSION */
	uint32_t min_reader;      /* SP_FLIGHT_VERSION */
	uint32_t header_size;     /* SP_FLIGHT_HEADER_SIZE */
	uint32_t byte_order;      /* SP_DUMP_BYTE_ORDER */
	uint64_t file_size;
	uint32_t state;           /* SP_FLIGHT_RUNNING, SP_FLIGHT_CLOSED; written last at exit */
	uint32_t flags;           /* SP_DUMP_FLAG_CHECKSUM: `checksum` is set (at exit) */
	uint64_t pid;
	uint64_t base;            /* the writer's address of file offset 0 */
	uint64_t checksum;        /* sp__flight_checksum, set at a normal exit */
	uint64_t data_off, data_size;       /* trace blocks and thread buffers */
	uint64_t ring_off;                  /* u64[ring_cap]: stored traces, pointers */
	uint32_t ring_cap, reserved1;
	uint64_t threads_off;               /* thread slots */
	uint32_t nthreads, thread_slot;     /* count, bytes each */
	uint64_t sites_off, sites_size;     /* SITES entries, appended */
	uint64_t mods_off, mods_size;       /* two MODULES payloads, alternating */
	/* written as the program runs */
	uint64_t ring_head, ring_tail;      /* free-running; entries [tail, head) */
	uint64_t committed, evicted, cleared, spans, iterations, spans_dropped, traces_lost;
	uint32_t nsites;                    /* SITES entries published */
	uint32_t mods_slot;                 /* 1 + which MODULES payload is current, 0: none */
	uint64_t sites_len;                 /* bytes of them */
	uint64_t mods_len;                  /* bytes of the current MODULES payload */
	double ticks_per_ns;                /* 0 until measured: then see last_tick */
	uint64_t ref_tick, ref_wall_ns, ref_mono_ns;
	uint64_t last_tick, last_mono_ns;   /* a later pair, for the rate */
	double overhead_per_span_ns;        /* 0 until measured (at exit) */
	uint32_t max_traces, buffer_mb, clock_source, reserved2;
	uint16_t trace_off[SP_FT_COUNT];    /* struct sp__trace, SP_FT_* */
	uint16_t thread_off[SP_FTH_COUNT];  /* struct sp__thread, SP_FTH_* */
	/* control (docs/FORMAT.md "Control through the file") */
	uint64_t cmd_tail;                  /* commands queued, by writers (atomic add) */
	uint64_t cmd_done;                  /* commands executed, by the runtime */
	uint32_t cmd_wake;                  /* futex word: bumped by a writer */
	uint32_t reserved3;
	uint64_t cmdq[SP_FLIGHT_CMDQ];      /* entry n % QUEUE: (n + 1) << 8 | command */
	char exe[SP_FLIGHT_STR_MAX];        /* NUL-terminated */
	char cmdline[SP_FLIGHT_STR_MAX];
	/* Added later: 0 in the files of older writers, unread by older readers. */
	uint64_t filtered;                  /* traces faster than SPANPROF_MIN_MS: not stored */
	uint32_t keep_slowest, min_ms;      /* the settings, for a reader's hints */
	uint64_t hist_off;                  /* SP_HIST_NAMES struct sp__hist_entry; 0: none */
	uint32_t hist_names, reserved4;
};
_Static_assert(sizeof(struct sp__flight_header) <= SP_FLIGHT_HEADER_SIZE, "flight header fits its two pages");

/* A 64-bit hash of whole words (docs/FORMAT.md): four independent lanes
 * of 8-byte words (32 bytes a step, so that the multiplies overlap), then
 * the lanes and the tail folded in. Fast enough to cover a store at exit:
 * a read of memory that is resident anyway. */
static inline __attribute__((no_instrument_function, unused)) uint64_t sp__hash_words(uint64_t h, const uint8_t *p,
										       size_t n)
{
	const uint64_t k = 0x9e3779b97f4a7c15ull;
	uint64_t l[4] = { h, h ^ 0x243f6a8885a308d3ull, h ^ 0x13198a2e03707344ull, h ^ 0xa4093822299f31d0ull };
	size_t i = 0;
	for (; i + 32 <= n; i += 32)
		for (int j = 0; j < 4; j++) {
			uint64_t w;
			__builtin_memcpy(&w, p + i + 8 * j, 8);
			l[j] = (l[j] ^ w) * k;
			l[j] ^= l[j] >> 29;
		}
	for (int j = 0; j < 4; j++) {
		h = (h ^ l[j]) * k;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return (h ^ n) * k;
}

/* The checksum of a closed flight file `f` of `size` bytes: the header
 * (state and checksum taken as 0), the ring, the sites, the current
 * module map and every stored trace the ring names (header area and
 * records). Thread slots are not covered: a closed file's are not read.
 * 0 when the header does not describe the file (a reader then refuses). */
static inline __attribute__((no_instrument_function, unused)) uint64_t sp__flight_checksum(const uint8_t *f,
											    size_t size)
{
	struct sp__flight_header h;
	if (size < sizeof h)
		return 0;
	__builtin_memcpy(&h, f, sizeof h);
	h.state = 0;
	h.checksum = 0;
	uint64_t hdr = h.trace_off[SP_FT_HDR];
	uint64_t refs = h.trace_off[SP_FT_REFS];
	if (hdr > 4096 || refs + 4 > hdr || h.header_size < sizeof h || h.header_size > size || h.ring_off > size ||
	    (uint64_t)h.ring_cap * 8 > size - h.ring_off || h.sites_off > size || h.sites_len > size - h.sites_off ||
	    h.mods_slot > 2 || h.mods_off > size || 2 * h.mods_size > size - h.mods_off || h.mods_len > h.mods_size ||
	    h.data_off > size || h.data_size > size - h.data_off || !h.ring_cap || hdr < 64 ||
	    h.ring_head < h.ring_tail || h.ring_head - h.ring_tail > h.ring_cap)
		return 0;
	uint64_t x = sp__hash_words(0x6a09e667f3bcc908ull, (const uint8_t *)&h, sizeof h);
	x = sp__hash_words(x, f + sizeof h, h.header_size - sizeof h);
	x = sp__hash_words(x, f + h.ring_off, (size_t)h.ring_cap * 8);
	x = sp__hash_words(x, f + h.sites_off, h.sites_len);
	if (h.mods_slot)
		x = sp__hash_words(x, f + h.mods_off + (h.mods_slot - 1) * h.mods_size, h.mods_len);
	for (uint64_t i = h.ring_tail; i < h.ring_head; i++) {
		uint64_t ptr;
		__builtin_memcpy(&ptr, f + h.ring_off + (i % h.ring_cap) * 8, 8);
		uint64_t off = ptr - h.base, len;
		if (ptr < h.base || off < h.data_off || off - h.data_off > h.data_size - hdr)
			return 0;
		__builtin_memcpy(&len, f + off + h.trace_off[SP_FT_LEN], 8);
		if (len > h.data_off + h.data_size - off - hdr)
			return 0;
		/* the header area with its reference count (which readers in
		 * the process move) taken as 0, then the records */
		uint8_t area[4096];
		__builtin_memcpy(area, f + off, hdr);
		__builtin_memset(area + refs, 0, 4);
		x = sp__hash_words(x, area, hdr);
		x = sp__hash_words(x, f + off + hdr, len);
	}
	return x ? x : 1;
}

/* FNV-1a 64 of a whole file but the 8 checksum bytes at offset 48. */
static inline __attribute__((no_instrument_function, unused)) uint64_t sp__dump_checksum(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		if (i == SP_DUMP_CHECKSUM_AT) {
			i += 7;
			continue;
		}
		h = (h ^ p[i]) * 0x100000001b3ull;
	}
	return h;
}

#endif
