/* render/json.c - see json.h. Strings are escaped per RFC 8259; bytes that are not
 * valid UTF-8 become U+FFFD, so the output always parses. */
#define _GNU_SOURCE /* fwrite_unlocked */
#include "render/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof *j);
	j->f = f;
}

void json_free(struct json *j)
{
	free(j->first);
}

/* Per level: bit 0 "nothing written yet", bit 1 "an array". */
static void push(struct json *j, bool array)
{
	if (j->depth + 1 >= j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 64;
		uint8_t *v = realloc(j->first, cap);
		if (!v) {
			j->oom = true;
			return;
		}
		j->first = v;
		j->cap = cap;
	}
	j->first[++j->depth] = (uint8_t)(1 | (array ? 2 : 0));
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static int utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	int n = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (!n || (n == 2 && s[0] < 0xc2) || (n == 4 && s[0] > 0xf4))
		return 0;
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static void put_string(FILE *f, const char *s)
{
	fputc_unlocked('"', f);
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		/* a run of bytes that need nothing: one write */
		const unsigned char *q = p;
		while (*q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\')
			q++;
		if (q > p) {
			fwrite_unlocked(p, 1, (size_t)(q - p), f);
			p = q;
			continue;
		}
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			fputc_unlocked('\\', f);
			fputc_unlocked(c, f);
			p++;
		} else if (c < 0x20) {
			switch (c) {
			case '\n': fputs("\\n", f); break;
			case '\t': fputs("\\t", f); break;
			case '\r': fputs("\\r", f); break;
			default: fprintf(f, "\\u%04x", c);
			}
			p++;
		} else {
			int n = utf8_len(p);
			if (n == 0) {
				fputs("\\ufffd", f);
				p++;
			} else {
				fwrite_unlocked(p, 1, (size_t)n, f);
				p += n;
			}
		}
	}
	fputc_unlocked('"', f);
}

/* Unsigned decimal without printf: numbers are most of the output. */
static void put_u64(FILE *f, uint64_t v)
{
	char buf[24];
	int n = 0;
	do {
		buf[sizeof buf - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	fwrite_unlocked(buf + sizeof buf - n, 1, (size_t)n, f);
}

static void pre(struct json *j, const char *key)
{
	if (j->keyed) {
		j->keyed = false;
		return;
	}
	if (j->depth) {
		if (!(j->first[j->depth] & 1))
			fputc_unlocked(',', j->f);
		if (j->depth == 1 && (j->first[1] & 2))
			fputc('\n', j->f); /* a top-level array: one item per line */
		j->first[j->depth] &= (uint8_t)~1u;
	}
	if (key) {
		put_string(j->f, key);
		fputc_unlocked(':', j->f);
	}
}

void json_object(struct json *j, const char *key)
{
	pre(j, key);
	fputc('{', j->f);
	push(j, false);
}

void json_array(struct json *j, const char *key)
{
	pre(j, key);
	fputc('[', j->f);
	push(j, true);
}

void json_key(struct json *j, const char *key)
{
	pre(j, key);
	j->keyed = true;
}

void json_end(struct json *j)
{
	if (!j->depth)
		return;
	fputc(j->oom || !(j->first[j->depth] & 2) ? '}' : ']', j->f);
	j->depth--;
}

void json_str(struct json *j, const char *key, const char *v)
{
	pre(j, key);
	put_string(j->f, v ? v : "");
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
	pre(j, key);
	put_u64(j->f, v);
}

void json_i64(struct json *j, const char *key, int64_t v)
{
	pre(j, key);
	fprintf(j->f, "%lld", (long long)v);
}

void json_f64(struct json *j, const char *key, double v)
{
	pre(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.17g", v);
	else
		fputs("null", j->f);
}

void json_raw(struct json *j, const char *key, const char *number)
{
	pre(j, key);
	fputs(number, j->f);
}

void json_bool(struct json *j, const char *key, bool v)
{
	pre(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	pre(j, key);
	fputs("null", j->f);
}

void json_newline(struct json *j)
{
	fputc('\n', j->f);
}

void json_data(struct json *j, const char *key, const sp_kv *kv, uint32_t n)
{
	json_object(j, key);
	for (uint32_t i = 0; i < n; i++) {
		bool later = false; /* the last value of a key wins */
		for (uint32_t k = i + 1; k < n && !later; k++)
			later = !strcmp(kv[k].key, kv[i].key);
		if (later)
			continue;
		json_kv(j, &kv[i]);
	}
	json_end(j);
}

void json_kv(struct json *j, const sp_kv *x)
{
	switch (x->type) {
	case SP_VALUE_I64: json_i64(j, x->key, x->v.i64); break;
	case SP_VALUE_U64: json_u64(j, x->key, x->v.u64); break;
	case SP_VALUE_F64: json_f64(j, x->key, x->v.f64); break;
	case SP_VALUE_BOOL: json_bool(j, x->key, x->v.b); break;
	case SP_VALUE_STR:
		if (x->marker) {
			/* {"marker": "optimized out"}: never confused with a string */
			char m[64];
			size_t n = strlen(x->v.str);
			if (n >= 2 && x->v.str[0] == '<' && x->v.str[n - 1] == '>' && n - 2 < sizeof m) {
				memcpy(m, x->v.str + 1, n - 2);
				m[n - 2] = '\0';
			} else {
				snprintf(m, sizeof m, "%s", x->v.str);
			}
			json_object(j, x->key);
			json_str(j, "marker", m);
			json_end(j);
		} else {
			json_str(j, x->key, x->v.str);
		}
		break;
	}
}
