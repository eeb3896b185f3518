/* speedscope.c - `spanprof export --format speedscope`: speedscope's own
 * file format (https://www.speedscope.app/file-format-schema.json).
 *
 * One "evented" profile per trace (named by its seq, name and thread),
 * in nanoseconds from the trace's start, with an open ("O") and a close
 * ("C") event per node in time order (place.h: cumulative nodes placed in
 * their parent's free time). Frames live in one shared table and are named
 * by the span's or function's name only; data never goes into a name, and
 * a function's file and line go in the frame's own fields, so every call
 * of one function is one frame and speedscope's Left Heavy and Sandwich
 * views merge them. The table is written after the profiles (JSON objects
 * are unordered): it is complete only once every trace was walked.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "export/export.h"
#include "export/place.h"
#include "read/hashmap.h"
#include "render/json.h"
#include "msg.h"
#include "spanprof_constants.h"

struct frame {
	const char *name, *file; /* the dump's naming cache: live until it closes */
	uint32_t line;
};

struct speedscope {
	struct json *j;
	struct hashmap map; /* hash of (name, file, line) -> index + 1 */
	struct frame *frames;
	size_t nframes, cap;
	uint64_t base; /* the trace's start: at values are from it */
};

static bool same(const struct frame *f, const sp_node *n)
{
	return !strcmp(f->name, n->name) && (f->file == n->file || (f->file && n->file && !strcmp(f->file, n->file))) &&
	       f->line == (n->file ? n->line : 0);
}

/* The frame of node n, added on first use; -1 when out of memory. */
static long frame_of(struct speedscope *S, const sp_node *n)
{
	uint64_t key = hashmap_hash(n->file ? hashmap_hash(hashmap_hash(0, n->name), n->file) : hashmap_hash(0, n->name), "");
	key ^= n->file ? (uint64_t)n->line * 0x9e3779b97f4a7c15ull : 0;
	for (;;) {
		key = key ? key : 1;
		if (S->nframes == S->cap) {
			size_t cap = S->cap ? S->cap * 2 : 256;
			struct frame *f = realloc(S->frames, cap * sizeof *f);
			if (!f)
				return -1;
			S->frames = f;
			S->cap = cap;
		}
		long v = hashmap_get_or_put(&S->map, key, (uint32_t)S->nframes + 1);
		if (v < 0)
			return -1;
		if ((size_t)v == S->nframes + 1) {
			S->frames[S->nframes++] = (struct frame){ n->name, n->file, n->file ? n->line : 0 };
			return v - 1;
		}
		if (same(&S->frames[v - 1], n))
			return v - 1;
		key = place_mix(key); /* a collision: probe on */
	}
}

static int on_node(void *ctx, const struct place_ev *ev, bool open)
{
	struct speedscope *S = ctx;
	long f = frame_of(S, ev->n);
	if (f < 0)
		return -1;
	json_object(S->j, NULL);
	json_str(S->j, "type", open ? "O" : "C");
	json_u64(S->j, "frame", (uint64_t)f);
	json_u64(S->j, "at", ev->ts + (open ? 0 : ev->dur));
	json_end(S->j);
	return 0;
}

/* Many dumps: one file, the frame table shared by all; profiles named
 * PID:SEQ when there are several processes. */
int export_speedscope(FILE *out, const struct export_part *parts, size_t nparts)
{
	struct json j;
	struct speedscope S = { .j = &j };
	static struct rd_dump none;
	const struct rd_dump *d0 = nparts ? parts[0].d : &none;
	bool many = false;
	for (size_t i = 1; i < nparts; i++)
		many |= parts[i].d->pid != d0->pid;
	const char *prog = d0->program ? d0->program : "";
	const char *base = strrchr(prog, '/');
	json_init(&j, out);
	json_object(&j, NULL);
	json_str(&j, "$schema", "https://www.speedscope.app/file-format-schema.json");
	json_str(&j, "name", base ? base + 1 : prog);
	json_str(&j, "exporter", "spanprof " SP_VERSION_STRING);
	json_u64(&j, "activeProfileIndex", 0);
	json_array(&j, "profiles");
	int rc = 0;
	for (size_t p = 0; p < nparts && !rc; p++)
	for (size_t k = 0; k < parts[p].n && !rc; k++) {
		struct rd_dump *d = parts[p].d;
		struct rd_tree t;
		if (cmd_tree(d, parts[p].which[k], &t)) {
			rc = 1;
			break;
		}
		char name[512];
		if (many)
			snprintf(name, sizeof name, "%llu:%llu %s (thread %llu)", (unsigned long long)d->pid,
				 (unsigned long long)t.tr->seq, t.name, (unsigned long long)t.tr->tid);
		else
			snprintf(name, sizeof name, "#%llu %s (thread %llu)", (unsigned long long)t.tr->seq, t.name,
				 (unsigned long long)t.tr->tid);
		json_newline(&j);
		json_object(&j, NULL);
		json_str(&j, "type", "evented");
		json_str(&j, "name", name);
		json_str(&j, "unit", "nanoseconds");
		json_u64(&j, "startValue", t.root->start_ns);
		json_u64(&j, "endValue", t.root->start_ns + t.root->duration_ns);
		json_array(&j, "events");
		if (place_walk(&t, on_node, &S)) {
			msg_errorf("out of memory");
			rc = 1;
		}
		json_end(&j);
		json_end(&j);
		rd_tree_free(&t);
	}
	json_end(&j);
	json_newline(&j);
	json_object(&j, "shared");
	json_array(&j, "frames");
	for (size_t i = 0; i < S.nframes; i++) {
		json_object(&j, NULL);
		json_str(&j, "name", S.frames[i].name);
		if (S.frames[i].file) {
			json_str(&j, "file", S.frames[i].file);
			json_u64(&j, "line", S.frames[i].line);
		}
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
	json_end(&j);
	json_newline(&j);
	if (j.oom && !rc) {
		msg_errorf("out of memory");
		rc = 1;
	}
	json_free(&j);
	free(S.frames);
	hashmap_free(&S.map);
	return rc;
}
