/* cmd/diff.c - `spanprof diff A B`: two traces compared span by span.
 * A span is identified by its path of names from the root
 * ("navigate_cell/oob_swap/render_row"); repeated paths add up. Each side
 * is a trace number of -f FILE, or FILE:SEQ for another file, so a run
 * before a change can be compared with one after it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "msg.h"
#include "read/hashmap.h"
#include "render/fmt.h"
#include "render/json.h"

enum { O_FILE = 'f', O_JSON = 'j', O_MIN = 'm', O_LIMIT = 'l' };

const struct cli_opt diff_opts[] = {
	CMD_OPT_FILE,
	{ 0, "min-ms", "X", "hide spans whose time changed by less than X ms", O_MIN },
	{ 0, "limit", "N", "at most N lines (largest changes first)", O_LIMIT },
	{ 0, "json", NULL, "print the rows as JSON", O_JSON },
	{ 0 },
};

struct side {
	struct rd_dump d;
	bool own; /* opened here (not the -f dump) */
	struct rd_tree t;
	uint64_t *hash; /* path hash per node */
};

struct row {
	uint64_t before, after;
	uint32_t nb, na;
	const sp_node *node; /* to print the path */
};

/* PID:SEQ (a trace of the -f dumps), not FILE:SEQ: digits, and no file of
 * that name. */
static bool pid_ref(const char *spec, const char *colon)
{
	if (colon == spec || strspn(spec, "0123456789") != (size_t)(colon - spec))
		return false;
	char *path = strndup(spec, (size_t)(colon - spec));
	bool file = path && access(path, F_OK) == 0;
	free(path);
	return !file;
}

static int open_side(const char *spec, const struct cmd_source *src, struct cmd_set *shared, bool *shared_open,
		     struct side *s)
{
	const char *colon = strrchr(spec, ':');
	struct rd_dump *d = NULL;
	size_t index = 0;
	s->own = false;
	if (colon && !pid_ref(spec, colon)) {
		char *path = strndup(spec, (size_t)(colon - spec));
		if (!path) {
			msg_errorf("out of memory");
			return 1;
		}
		int r = cmd_open(path, 0, &s->d);
		free(path);
		if (r)
			return 1;
		d = &s->d;
		s->own = true;
		spec = colon + 1;
		long i = cmd_pick("diff", d, spec);
		if (i < 0)
			return i == -2 ? 2 : 1;
		index = (size_t)i;
	} else {
		if (!*shared_open) {
			if (cmd_open_set(src, shared))
				return 1;
			*shared_open = true;
		}
		struct cmd_ref r;
		int i = cmd_pick_set("diff", shared, spec, &r);
		if (i < 0)
			return i == -2 ? 2 : 1;
		d = r.d;
		index = r.index;
	}
	if (cmd_tree(d, index, &s->t))
		return 1;
	s->hash = malloc(s->t.dec.nnodes * sizeof *s->hash);
	if (!s->hash) {
		rd_tree_free(&s->t); /* the caller frees the sides that opened */
		msg_errorf("out of memory");
		return 1;
	}
	for (uint32_t k = 0; k < s->t.dec.nnodes; k++) {
		const sp_node *n = &s->t.dec.nodes[k];
		s->hash[k] = hashmap_hash(n->parent ? s->hash[n->parent->index] : 0, n->name);
	}
	return 0;
}

static void print_path(FILE *f, const sp_node *n)
{
	if (n->parent) {
		print_path(f, n->parent);
		fputc('/', f);
	}
	fputs(n->name, f);
}

static int by_change(const void *x, const void *y)
{
	const struct row *a = x, *b = y;
	double ca = fabs((double)a->after - (double)a->before), cb = fabs((double)b->after - (double)b->before);
	return ca < cb ? 1 : ca > cb ? -1 : 0;
}

/* Match: one row per path, summed over its nodes on each side (rows[0]
 * is the root's). -1 on no memory. */
static int match(const struct side s[2], struct hashmap *map, struct row *rows, size_t *n)
{
	for (int side = 0; side < 2; side++)
		for (uint32_t k = 0; k < s[side].t.dec.nnodes; k++) {
			const sp_node *nd = &s[side].t.dec.nodes[k];
			long i = hashmap_get_or_put(map, s[side].hash[k], (uint32_t)*n);
			if (i < 0)
				return -1;
			if ((size_t)i == *n)
				rows[(*n)++].node = nd;
			if (side == 0) {
				rows[i].before += nd->duration_ns;
				rows[i].nb++;
			} else {
				rows[i].after += nd->duration_ns;
				rows[i].na++;
			}
		}
	return 0;
}

static void row_json(struct json *j, const struct row *r)
{
	json_object(j, NULL);
	char *path = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&path, &len);
	if (m) {
		print_path(m, r->node);
		fclose(m);
	}
	json_str(j, "path", path ? path : "");
	free(path);
	if (r->nb)
		json_u64(j, "before_ns", r->before);
	else
		json_null(j, "before_ns");
	if (r->na)
		json_u64(j, "after_ns", r->after);
	else
		json_null(j, "after_ns");
	json_i64(j, "change_ns", (int64_t)r->after - (int64_t)r->before);
	json_end(j);
}

static void row_text(const struct row *r, double change)
{
	char a[32], b[32];
	printf("%11s  %11s  %+11.3f  ", r->nb ? fmt_ms(a, sizeof a, r->before) : "-",
	       r->na ? fmt_ms(b, sizeof b, r->after) : "-", change);
	if (r->nb && r->na && r->before)
		printf("%+7.1f%%  ", 100.0 * change * 1e6 / (double)r->before);
	else
		printf("%8s  ", r->nb ? "gone" : "new");
	print_path(stdout, r->node);
	putchar('\n');
}

int cmd_diff(int argc, char **argv)
{
	struct cmd_source src = CMD_SOURCE_DEFAULT;
	bool json = false;
	double min_ms = 0;
	unsigned long long limit = ~0ull;
	struct cli_parser p;
	cli_init(&p, "diff", argc, argv);
	for (int o; (o = cli_next(&p)) != CLI_END;) {
		switch (o) {
		case CLI_HELP: return 0;
		case CLI_ERROR: return 2;
		case O_FILE:
			if (cmd_source_opt("diff", &src, o, p.arg) < 0)
				return 2;
			break;
		case O_JSON: json = true; break;
		case O_MIN:
			if (cli_double(&p, "--min-ms", p.arg, &min_ms))
				return 2;
			break;
		case O_LIMIT:
			if (cli_uint(&p, "--limit", p.arg, 1ull << 40, &limit))
				return 2;
			break;
		}
	}
	if (argc - p.ind != 2)
		return msg_usagef("diff", "give two traces: SEQ_A SEQ_B (or FILE:SEQ, PID:SEQ)");
	struct cmd_set shared;
	bool shared_open = false;
	struct side s[2];
	memset(s, 0, sizeof s);
	int rc = 1, opened = 0;
	struct hashmap map = { 0 };
	struct row *rows = NULL;
	size_t n = 0;
	for (; opened < 2; opened++) {
		int r = open_side(argv[p.ind + opened], &src, &shared, &shared_open, &s[opened]);
		if (r) {
			rc = r;
			goto out;
		}
	}
	rows = calloc((size_t)s[0].t.dec.nnodes + s[1].t.dec.nnodes, sizeof *rows);
	if (!rows || match(s, &map, rows, &n)) {
		msg_errorf("out of memory");
		goto out;
	}
	qsort(rows + 1, n ? n - 1 : 0, sizeof *rows, by_change); /* the root stays first */
	fmt_big_stdout();
	struct json j;
	if (json) {
		json_init(&j, stdout);
		json_array(&j, NULL);
	} else {
		printf("%s (#%llu) -> %s (#%llu)\n\n", s[0].t.name, (unsigned long long)s[0].t.tr->seq, s[1].t.name,
		       (unsigned long long)s[1].t.tr->seq);
		printf("%11s  %11s  %11s  %8s  %s\n", "before ms", "after ms", "change ms", "change", "span");
		printf("-----------  -----------  -----------  --------  ------------------------------\n");
	}
	size_t shown = 0;
	for (size_t i = 0; i < n && shown < limit; i++) {
		const struct row *r = &rows[i];
		double change = ((double)r->after - (double)r->before) / 1e6;
		if (i > 0 && fabs(change) < min_ms)
			continue;
		shown++;
		if (json)
			row_json(&j, r);
		else
			row_text(r, change);
	}
	if (json) {
		json_newline(&j);
		json_end(&j);
		json_newline(&j);
		json_free(&j);
	}
	rc = 0;
out:
	free(rows);
	hashmap_free(&map);
	for (int i = 0; i < opened && i < 2; i++) {
		rd_tree_free(&s[i].t);
		free(s[i].hash);
	}
	for (int i = 0; i < 2; i++)
		if (s[i].own)
			cmd_close(&s[i].d);
	if (shared_open)
		cmd_close_set(&shared);
	return rc;
}
