/* render/json.h - a streaming JSON writer: commas and escaping handled, any
 * nesting depth (the depth stack grows), compact output. */
#ifndef CLI_JSON_H
#define CLI_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "spanprof.h"

struct json {
	FILE *f;
	uint8_t *first; /* per level: nothing written at it yet */
	size_t depth, cap;
	bool oom;
	bool keyed; /* json_key wrote a key: the next value follows it */
};

void json_init(struct json *j, FILE *f);
void json_free(struct json *j);
/* `key` is NULL inside arrays (and for the top value). */
void json_object(struct json *j, const char *key);
void json_array(struct json *j, const char *key);
void json_end(struct json *j); /* closes the innermost object or array */
/* Write a key alone; the next value (with key NULL) is its value. */
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *key, const char *v);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_f64(struct json *j, const char *key, double v); /* NaN, inf: null */
void json_bool(struct json *j, const char *key, bool v);
/* A number already formatted (digits, '.', '-' only: not checked). */
void json_raw(struct json *j, const char *key, const char *number);
void json_null(struct json *j, const char *key);
/* Text already in JSON, written as is where the next item goes (the comma
 * before it handled): members `"k":v,"k2":v2` inside an object, or items
 * `v1,v2` inside an array. For exporters that write the same pieces
 * millions of times; the text is not checked. */
void json_fragment(struct json *j, const char *text, size_t len);
void json_newline(struct json *j); /* whitespace between array items */
/* One key/value with its type. */
void json_kv(struct json *j, const sp_kv *kv);
/* A data object {key: value, ...}; a key set twice keeps its last value. */
void json_data(struct json *j, const char *key, const sp_kv *kv, uint32_t n);

#endif
