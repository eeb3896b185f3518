/* read/hashmap.h - 64-bit keys to small integers (indexes into the caller's
 * array), open addressing, growing. Keys are hashes (FNV-1a 64), so 0 is
 * reserved: hashmap_hash never returns it. */
#ifndef CLI_HASHMAP_H
#define CLI_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

struct hashmap {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, n;
};

uint64_t hashmap_hash(uint64_t seed, const char *s); /* seed 0 for a fresh hash */
/* The value of `key`, or inserts `val` and returns it. -1 on no memory. */
long hashmap_get_or_put(struct hashmap *m, uint64_t key, uint32_t val);
void hashmap_free(struct hashmap *m);

#endif
