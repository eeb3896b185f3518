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
};

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
