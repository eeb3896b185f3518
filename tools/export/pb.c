/* pb.c - see pb.h. Wire types: 0 varint, 1 fixed64, 2 length-delimited. */
#include "pb.h"

#include <stdlib.h>
#include <string.h>

static bool reserve(struct pb *b, size_t more)
{
	if (b->oom)
		return false;
	if (b->len + more <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more)
		cap *= 2;
	uint8_t *p = realloc(b->buf, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->buf = p;
	b->cap = cap;
	return true;
}

static size_t varint_to(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static void varint(struct pb *b, uint64_t v)
{
	if (reserve(b, 10))
		b->len += varint_to(b->buf + b->len, v);
}

static void tag(struct pb *b, uint32_t field, unsigned wire)
{
	varint(b, (uint64_t)field << 3 | wire);
}

void pb_reset(struct pb *b)
{
	b->len = 0;
	b->depth = 0;
}

void pb_free(struct pb *b)
{
	free(b->buf);
	*b = (struct pb){ 0 };
}

void pb_uint(struct pb *b, uint32_t field, uint64_t v)
{
	tag(b, field, 0);
	varint(b, v);
}

void pb_int(struct pb *b, uint32_t field, int64_t v)
{
	tag(b, field, 0);
	varint(b, (uint64_t)v); /* negative: ten bytes, as protobuf has it */
}

void pb_double(struct pb *b, uint32_t field, double v)
{
	tag(b, field, 1);
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	if (!reserve(b, 8))
		return;
	for (int i = 0; i < 8; i++)
		b->buf[b->len++] = (uint8_t)(bits >> (8 * i)); /* little-endian */
}

void pb_bytes(struct pb *b, uint32_t field, const uint8_t *p, size_t n)
{
	tag(b, field, 2);
	varint(b, n);
	if (n && reserve(b, n)) {
		memcpy(b->buf + b->len, p, n);
		b->len += n;
	}
}

void pb_str(struct pb *b, uint32_t field, const char *s)
{
	pb_bytes(b, field, (const uint8_t *)s, strlen(s));
}

void pb_open(struct pb *b, uint32_t field)
{
	tag(b, field, 2);
	if (b->depth == PB_MAX_DEPTH) {
		b->oom = true; /* a programming error: callers nest 4 deep */
		return;
	}
	b->open[b->depth++] = b->len;
}

void pb_close(struct pb *b)
{
	if (!b->depth || b->oom)
		return;
	size_t start = b->open[--b->depth], n = b->len - start;
	uint8_t len[10];
	size_t ll = varint_to(len, n);
	if (!reserve(b, ll))
		return;
	memmove(b->buf + start + ll, b->buf + start, n);
	memcpy(b->buf + start, len, ll);
	b->len += ll;
}
