/* test_reader.c - the CLI's dump reader against real dumps from the
 * runtime: a round trip with exact values, then every truncation, bit
 * flips (caught by the checksum), and 1,000 variants with absurd lengths,
 * counts and bits read with the checksum skipped, so that the structural
 * checks are what must hold. Nothing may crash, hang, or allocate wildly
 * (the sanitizer build fails a huge allocation). */
#include <criterion/criterion.h>
#include <spanprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "read/dump.h"
#include "read/tree.h"
#include "test_util.h"

static uint8_t *dump_bytes(size_t *size)
{
	sp_set_enabled(true);
	for (int i = 0; i < 3; i++) {
		char id[8];
		snprintf(id, sizeof id, "c%d", i);
		SP_TRACE("cmd", id) {
			sp_trace_set_str("user", "bob");
			SP_SPAN("phase") {
				sp_span_set_i64(sp_current_span(), "rows", 40 + i);
				for (int k = 0; k < 5; k++)
					SP_CUMULATIVE("row") {
						burn(50);
					}
			}
			SP_SPAN("other") {
			}
		}
	}
	char path[64];
	snprintf(path, sizeof path, "/tmp/sp-reader-%ld.out", (long)getpid());
	cr_assert_eq(sp_dump(path), 0);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	struct stat st;
	fstat(fileno(f), &st);
	*size = (size_t)st.st_size;
	uint8_t *b = malloc(*size);
	cr_assert_eq(fread(b, 1, *size, f), *size);
	fclose(f);
	unlink(path);
	return b;
}

/* Open and decode everything; returns true if all of it was valid. */
static bool read_all(const uint8_t *b, size_t n, bool unchecked, char *err, size_t errlen)
{
	struct rd_dump d;
	bool ok = rd_dump_parse("t.out", b, n, unchecked, &d, err, errlen) == 0;
	for (size_t i = 0; ok && i < d.ntraces; i++) {
		struct rd_tree t;
		ok = rd_tree_load(&d, i, &t, err, errlen) == 0;
		if (ok)
			rd_tree_free(&t);
	}
	rd_names_free(&d);
	rd_dump_close(&d);
	return ok;
}

Test(reader, a_dump_reads_back_exactly)
{
	size_t n;
	uint8_t *b = dump_bytes(&n);
	sp_snapshot *s = sp_snapshot_take();
	struct rd_dump d;
	char err[512];
	cr_assert_eq(rd_dump_parse("t.out", b, n, false, &d, err, sizeof err), 0, "%s", err);
	cr_assert_eq(d.ntraces, 3);
	cr_assert_eq(d.pid, (uint64_t)getpid());
	for (size_t i = 0; i < 3; i++) {
		const sp_trace_info *want = sp_snapshot_trace(s, i);
		struct rd_tree t;
		cr_assert_eq(rd_tree_load(&d, i, &t, err, sizeof err), 0, "%s", err);
		cr_assert_eq(t.tr->seq, want->seq);
		cr_assert_str_eq(t.tr->id, want->id);
		cr_assert_str_eq(t.name, "cmd");
		cr_assert_eq(t.tr->tid, want->thread);
		assert_shape(t.root, "cmd(phase(*row),other)");
		cr_assert_eq(t.dec.ntrace_kvs, 1);
		cr_assert_str_eq(t.dec.trace_kvs[0].v.str, "bob");
		const sp_node *ph = t.root->first_child, *wph = want->root->first_child;
		cr_assert_eq(ph->data[0].v.i64, 40 + (int64_t)i);
		cr_assert_eq(ph->first_child->count, 5);
		/* the same ticks and the same rate give the same ns */
		cr_assert_eq(ph->duration_ns, wph->duration_ns);
		cr_assert_eq(ph->first_child->total_ns, wph->first_child->total_ns);
		cr_assert_eq(rd_dump_wall_ns(&d, t.tr->t0) / 1000, want->start_ns / 1000);
		rd_tree_free(&t);
	}
	rd_names_free(&d);
	rd_dump_close(&d);
	sp_snapshot_free(s);
	free(b);
}

Test(reader, every_truncation_is_an_error, .timeout = 60)
{
	size_t n;
	uint8_t *b = dump_bytes(&n);
	char err[512];
	for (size_t len = 0; len < n; len++) {
		err[0] = '\0';
		cr_assert_not(read_all(b, len, false, err, sizeof err), "a %zu-byte prefix was accepted", len);
		cr_assert_neq(err[0], '\0', "a message for length %zu", len);
		cr_assert_not(read_all(b, len, true, err, sizeof err), "unchecked: %zu-byte prefix accepted", len);
	}
	cr_assert(read_all(b, n, false, err, sizeof err), "%s", err);
	free(b);
}

Test(reader, every_flipped_bit_is_an_error, .timeout = 60)
{
	size_t n;
	uint8_t *b = dump_bytes(&n);
	char err[512];
	for (size_t bit = 0; bit < n * 8; bit += 7) {
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		err[0] = '\0';
		cr_assert_not(read_all(b, n, false, err, sizeof err), "bit %zu flipped was accepted", bit);
		cr_assert_neq(err[0], '\0');
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	free(b);
}

Test(reader, a_thousand_hostile_variants_never_crash, .timeout = 120)
{
	size_t n;
	uint8_t *orig = dump_bytes(&n);
	uint8_t *b = malloc(n);
	char err[512];
	unsigned long seed = 42, rejected = 0;
	static const uint64_t absurd[] = { 0, 1, 0x7fffffff, 0xffffffff, 0x80000000, 0xffffffffffffffffull,
					   1ull << 40, 23, 24, 56 };
	for (int v = 0; v < 1000; v++) {
		memcpy(b, orig, n);
		int edits = 1 + v % 4;
		for (int e = 0; e < edits; e++) {
			seed = seed * 6364136223846793005ul + 1442695040888963407ul;
			size_t at = (size_t)(seed >> 33) % n;
			switch ((seed >> 20) % 3) {
			case 0: /* a bit */
				b[at] ^= (uint8_t)(1u << ((seed >> 8) % 8));
				break;
			case 1: /* an absurd 32-bit field */
				at &= ~(size_t)3;
				if (at + 4 <= n) {
					uint32_t x = (uint32_t)absurd[(seed >> 10) % 10];
					memcpy(b + at, &x, 4);
				}
				break;
			default: /* an absurd 64-bit field */
				at &= ~(size_t)7;
				if (at + 8 <= n)
					memcpy(b + at, &absurd[(seed >> 10) % 10], 8);
				break;
			}
		}
		err[0] = '\0';
		if (!read_all(b, n, true, err, sizeof err)) {
			rejected++;
			cr_assert_neq(err[0], '\0', "variant %d: rejected without a message", v);
		}
		cr_assert_not(read_all(b, n, false, err, sizeof err) && memcmp(b, orig, n),
			      "variant %d: changed, yet the checksum passed", v);
	}
	/* About a third break the structure (tick values and string bytes stay
	 * well-formed); every changed one fails the checked read, above. */
	cr_assert_gt(rejected, 250, "structural rejections: %lu", rejected);
	free(b);
	free(orig);
}
