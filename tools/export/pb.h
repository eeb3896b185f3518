/* pb.h - a small protobuf writer for the perfetto export: varints, fixed
 * 64-bit doubles, length-delimited strings and nested messages.
 *
 * A message is encoded into one growing buffer, reused from packet to
 * packet. A nested message is opened with pb_open (its tag written, its
 * place remembered) and closed with pb_close, which inserts its length in
 * front of it: lengths are varints, so they are known only at the end. The
 * buffers are small (one packet), so the move is cheap.
 */
#ifndef SP_CLI_EXPORT_PB_H
#define SP_CLI_EXPORT_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PB_MAX_DEPTH 8

struct pb {
	uint8_t *buf;
	size_t len, cap;
	size_t open[PB_MAX_DEPTH]; /* where each open message's body starts */
	unsigned depth;
	bool oom; /* sticky: a failed allocation loses the rest */
};

void pb_reset(struct pb *b);
void pb_free(struct pb *b);
void pb_uint(struct pb *b, uint32_t field, uint64_t v);  /* uint32/64, enum, bool */
void pb_int(struct pb *b, uint32_t field, int64_t v);    /* int32/64 (not sint) */
void pb_double(struct pb *b, uint32_t field, double v);
void pb_str(struct pb *b, uint32_t field, const char *s);
/* A length-delimited field from bytes: a message encoded apart. */
void pb_bytes(struct pb *b, uint32_t field, const uint8_t *p, size_t n);
void pb_open(struct pb *b, uint32_t field);
void pb_close(struct pb *b);

#endif
