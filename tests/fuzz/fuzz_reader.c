/* fuzz_reader.c - libFuzzer target for the dump reader: parse the input
 * with the checksum skipped (so mutations reach the structural checks),
 * then decode and name every trace. Functions are named only from the
 * dump (no file a mutated module path points at is read).
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true && ninja -C build-fuzz tests/fuzz/fuzz_reader
 *   build-fuzz/tests/fuzz/fuzz_reader -max_total_time=60 CORPUS_DIR
 */
#include <stddef.h>
#include <stdint.h>

#include "read/dump.h"
#include "read/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd_dump d;
	char err[512];
	if (rd_dump_parse("fuzz", data, size, true, &d, err, sizeof err) == 0) {
		d.no_symbols = true;
		for (size_t i = 0; i < d.ntraces; i++) {
			struct rd_tree t;
			if (rd_tree_load(&d, i, &t, err, sizeof err) == 0)
				rd_tree_free(&t);
		}
	}
	rd_names_free(&d);
	rd_dump_close(&d);
	return 0;
}
