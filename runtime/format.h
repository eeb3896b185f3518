/* format.h - the dump format's encodings (docs/FORMAT.md), in one place for
 * the runtime that writes them and the CLI that reads them. */
#ifndef SP_FORMAT_H
#define SP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* Record stream: the kind in a head's two top bits. */
#define SP_REC_KIND(head) ((head) >> 30)
#define SP_REC_SPAN 1u
#define SP_REC_CUMUL 2u
#define SP_REC_DATA 3u
#define SP_REC_ABANDONED (1u << 29)
#define SP_REC_SITE_MASK 0x0fffffffu
#define SP_DATA_TRUNC (1u << 29)
#define SP_DATA_TRACE (1u << 28)
#define SP_DATA_TYPE(head) (((head) >> 24) & 0xfu)
#define SP_DATA_KEYLEN(head) (((head) >> 16) & 0xffu)
#define SP_DATA_STRLEN(head) ((head)&0xffffu)
#define SP_NO_PARENT 0xffffffffu
#define SP_SPAN_REC_SIZE 24u
#define SP_CUMUL_REC_SIZE 56u
#define SP_DATA_REC_SIZE 16u /* then key and string bytes, padded to 8 */

/* Header fields. */
#define SP_DUMP_HEADER_SIZE 64u
#define SP_DUMP_FLAG_CHECKSUM 1u
#define SP_DUMP_CHECKSUM_AT 48u

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
