/* test_pb.c - the perfetto export's protobuf writer (tools/export/pb.c)
 * against encodings worked out by hand from the protobuf wire format:
 * varints of every length, negative int64 (ten bytes), fixed64 doubles,
 * strings, and nested messages whose length needs one, two and three
 * bytes (the body is moved to make room). */
#include <criterion/criterion.h>
#include <string.h>

#include "export/pb.h"

static void expect(const struct pb *b, const uint8_t *want, size_t n)
{
	cr_assert(!b->oom);
	cr_assert_eq(b->len, n, "length %zu, want %zu", b->len, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(b->buf[i], want[i], "byte %zu: %02x, want %02x", i, b->buf[i], want[i]);
}

Test(pb, scalars)
{
	struct pb b = { 0 };
	pb_uint(&b, 1, 150); /* the protobuf documentation's example */
	pb_uint(&b, 8, 0);
	pb_uint(&b, 60, UINT64_MAX);
	pb_int(&b, 4, -1);
	pb_double(&b, 5, 1.0);
	pb_str(&b, 2, "testing");
	const uint8_t want[] = {
		0x08, 0x96, 0x01,                                                 /* 1: 150 */
		0x40, 0x00,                                                       /* 8: 0 */
		0xe0, 0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, /* 60: 2^64-1 */
		0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, /* 4: -1 */
		0x29, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f,                               /* 5: 1.0 */
		0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g',                    /* 2: "testing" */
	};
	expect(&b, want, sizeof want);
	pb_free(&b);
}

/* A nested message with a body of `body` bytes (one string field) inside
 * another: the lengths' varints grow with it. */
static void nested(size_t body)
{
	struct pb b = { 0 };
	size_t slen = body - 2; /* body = its tag, its length's varint, the bytes */
	while (1 + (slen < 128 ? 1 : slen < 16384 ? 2 : 3) + slen > body)
		slen--;
	char *s = malloc(slen + 1);
	memset(s, 'x', slen);
	s[slen] = '\0';
	pb_open(&b, 1);
	pb_open(&b, 11);
	pb_str(&b, 2, s);
	pb_close(&b);
	pb_uint(&b, 8, 5);
	pb_close(&b);
	cr_assert(!b.oom);
	/* Decode by hand: tag 1, len L1, [tag 11, len L2, [tag 2, len, s], tag 8, 5] */
	const uint8_t *p = b.buf, *end = b.buf + b.len;
	uint64_t v;
	int shift;
#define VARINT()                                              \
	do {                                                  \
		v = 0;                                        \
		shift = 0;                                    \
		do                                            \
			v |= (uint64_t)(*p & 0x7f) << shift, shift += 7; \
		while (*p++ & 0x80);                          \
	} while (0)
	cr_assert_eq(*p++, 0x0a);
	VARINT();
	cr_assert_eq(v, (uint64_t)(end - p), "outer length");
	cr_assert_eq(*p++, 0x5a);
	VARINT();
	cr_assert_eq(v, body, "inner length %llu, want %zu", (unsigned long long)v, body);
	cr_assert_eq(*p++, 0x12);
	VARINT();
	cr_assert_eq(v, slen);
	cr_assert(!memcmp(p, s, slen));
	p += slen;
	cr_assert_eq(*p++, 0x40);
	cr_assert_eq(*p++, 5);
	cr_assert_eq(p, end);
	free(s);
	pb_free(&b);
}

Test(pb, nested_lengths)
{
	nested(10);     /* one-byte lengths */
	nested(127);
	nested(200);    /* two bytes: the body moves by two */
	nested(20000);  /* three bytes */
}

Test(pb, reset_reuses_the_buffer)
{
	struct pb b = { 0 };
	pb_str(&b, 2, "a long enough string to make the buffer grow a little");
	pb_reset(&b);
	pb_uint(&b, 1, 1);
	const uint8_t want[] = { 0x08, 0x01 };
	expect(&b, want, sizeof want);
	pb_free(&b);
}
