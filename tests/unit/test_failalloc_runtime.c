/* The runtime's snapshot (runtime/snapshot.c, with the record decoder of
 * common/decode.c) and dump writer (runtime/dump.c) with every allocation
 * made to fail once in turn: malloc for the snapshot, mmap for the
 * runtime's own memory (mem.c) and for the writer's checksum pass
 * (failalloc.h, linked with the static runtime so that --wrap reaches
 * it). Each run ends in a clear error or in the right result, holds no
 * memory afterwards, and leaves no file behind when it fails. */
#define FA_WRAP_MMAP
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <spanprof.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "failalloc.h"

/* Three traces: spans, data, a cumulative node. */
static void record(void)
{
	sp_set_enabled(true);
	for (int i = 0; i < 3; i++) {
		SP_TRACE("request", "id-1") {
			sp_trace_set_i64("n", i);
			SP_SPAN("parse") {
				sp_span_set_str(sp_current_span(), "what", "header");
			}
			for (int k = 0; k < 10; k++)
				SP_CUMULATIVE("step") {
				}
		}
	}
}

static void check_snapshot(const sp_snapshot *s)
{
	cr_assert_eq(sp_snapshot_count(s), 3);
	for (size_t i = 0; i < 3; i++) {
		const sp_trace_info *t = sp_snapshot_trace(s, i);
		cr_assert_str_eq(t->name, "request");
		cr_assert_str_eq(t->id, "id-1");
		cr_assert_eq(t->nspans, 3);
		cr_assert_not_null(sp_node_data(sp_node_child(t->root, "parse"), "what"));
		cr_assert_eq(sp_node_child(t->root, "step")->count, 10);
	}
}

Test(failalloc, snapshot)
{
	record();
	sp_snapshot *s = sp_snapshot_take(); /* warm-up: what is made once */
	check_snapshot(s);
	sp_snapshot_free(s);
	unsigned long k;
	for (k = 1;; k++) {
		fa_arm(k);
		s = sp_snapshot_take();
		if (s)
			check_snapshot(s); /* whole, or NULL */
		sp_snapshot_free(s);
		fa_disarm();
		cr_assert_eq(fa_live(), 0, "allocation %lu failed: %ld blocks still held", k, fa_live());
		cr_assert_eq(fa_mapped(), 0, "allocation %lu failed: %ld bytes still mapped", k, fa_mapped());
		/* A failure is NULL, or absorbed with the snapshot whole
		 * (check_snapshot above). */
		if (k > fa_calls()) {
			cr_assert_not_null(s);
			break;
		}
	}
	cr_assert_gt(k, 3, "the snapshot allocates (%lu calls)", k - 1);
}

/* Files in dir. */
static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	cr_assert_not_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static bool same_file(const char *a, const char *b)
{
	static char x[1 << 16], y[1 << 16];
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	cr_assert(fa && fb);
	size_t na = fread(x, 1, sizeof x, fa), nb = fread(y, 1, sizeof y, fb);
	fclose(fa);
	fclose(fb);
	return na == nb && na < sizeof x && !memcmp(x, y, na);
}

Test(failalloc, dump_writer)
{
	record();
	char dir[] = "/tmp/sp-failalloc-XXXXXX", path[64], first[64];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(first, sizeof first, "%s/first.out", dir);
	snprintf(path, sizeof path, "%s/k.out", dir);
	cr_assert_eq(sp_dump(first), 0); /* warm-up, and the dump to compare with */
	unsigned long k;
	for (k = 1;; k++) {
		fa_arm(k);
		int rc = sp_dump(path);
		fa_disarm();
		cr_assert_eq(fa_live(), 0, "allocation %lu failed: %ld blocks still held", k, fa_live());
		cr_assert_eq(fa_mapped(), 0, "allocation %lu failed: %ld bytes still mapped", k, fa_mapped());
		/* A failure is an error and no file, or absorbed with the
		 * dump whole: the same bytes as the reference. */
		if (rc == 0) {
			cr_assert(same_file(path, first), "allocation %lu of %lu failed: a different dump", k,
				  fa_calls());
			cr_assert_eq(unlink(path), 0);
		} else {
			struct stat st;
			cr_assert_lt(rc, 0);
			cr_assert_str_neq(sp_strerror(rc), "", "an error that says what");
			cr_assert_neq(stat(path, &st), 0, "no dump after a failure");
		}
		cr_assert_eq(count_files(dir), 1, "no temporary file left behind (allocation %lu)", k);
		if (k > fa_calls()) {
			cr_assert_eq(rc, 0, "%s", sp_strerror(rc));
			break;
		}
	}
	cr_assert_gt(k, 1, "the writer allocates (%lu calls)", k - 1);
	unlink(path);
	unlink(first);
	rmdir(dir);
}
