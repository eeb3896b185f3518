/* cmd/top.c - `spanprof top`: across every trace of a dump, per span name
 * (or per function), how many, how long in total and on their own, and the
 * distribution (avg, p50, p95, p99, max): "which phase is slow across
 * commands". Percentiles are exact over spans; a cumulative node brings
 * its iterations in at their average (its count as the weight), since only
 * count/total/min/max of them are recorded.
 *
 * Totals are honest under recursion: a key's total, average, percentiles
 * and max count only its outermost activations in each trace (a call not
 * nested in another call of the same key). The nested ones add to its
 * count and self time but not to its total, or `deep` recursing 7 levels
 * would show 7x its caller's time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "msg.h"
#include "read/hashmap.h"
#include "render/fmt.h"
#include "render/json.h"

enum { O_BY = 'b', O_SORT = 's', O_LIMIT = 'l', O_JSON = 'j', O_WIDE = 'W', O_WIDTH = 'X' };

const struct cli_opt top_opts[] = {
	CMD_OPT_FILE,
	CMD_OPT_PID,
	{ 0, "by", "KEY", "name (every span, default) or function (function spans, with file:line)", O_BY },
	{ 's', "sort", "KEY", "total, self, count, avg, p95 or max (default: total)", O_SORT },
	{ 0, "limit", "N", "at most N lines (default: all)", O_LIMIT },
	{ 0, "json", NULL, "print the table as JSON", O_JSON },
	CMD_OPT_WIDE,
	CMD_OPT_WIDTH,
	{ 0 },
};

struct sample {
	uint64_t v, w;
};

struct agg {
	char *key;
	uint64_t count, total, self, max;
	uint64_t outer; /* outermost activations: what total, avg and the percentiles cover */
	/* The samples: a span's weighs 1 and is its duration alone (8 bytes
	 * a span, not 16: on a 10M-span trace that is 80 MB); a cumulative
	 * node's is its average, weighing its count. */
	uint64_t *v;
	size_t nv, capv;
	struct sample *s;
	size_t ns, cap;
	uint64_t p50, p95, p99;
};

/* Room for one more of *v's n elements of `size` bytes (capacity *cap,
 * doubled from `first`); -1 on no memory, *v kept. */
static int grow(void *v, size_t *cap, size_t n, size_t size, size_t first)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : first;
	void *nv = realloc(*(void **)v, c * size);
	if (!nv)
		return -1;
	*(void **)v = nv;
	*cap = c;
	return 0;
}

static int add(struct agg *a, uint64_t v, uint64_t w)
{
	if (w == 1) {
		if (grow(&a->v, &a->capv, a->nv, sizeof *a->v, 8))
			return -1;
		a->v[a->nv++] = v;
		return 0;
	}
	if (grow(&a->s, &a->cap, a->ns, sizeof *a->s, 8))
		return -1;
	a->s[a->ns++] = (struct sample){ v, w };
	return 0;
}

static int by_value(const void *x, const void *y)
{
	const struct sample *a = x, *b = y;
	return a->v < b->v ? -1 : a->v > b->v;
}

static int by_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* Weighted percentile: the smallest value whose cumulative weight reaches
 * q of the total. The two sorted sample lists are walked as one (at equal
 * values the order does not change the answer). */
static void percentiles(struct agg *a)
{
	if (a->nv) /* one of the two lists is often empty (NULL) */
		qsort(a->v, a->nv, sizeof *a->v, by_u64);
	if (a->ns)
		qsort(a->s, a->ns, sizeof *a->s, by_value);
	uint64_t total = a->nv;
	for (size_t i = 0; i < a->ns; i++)
		total += a->s[i].w;
	uint64_t last = a->nv ? a->v[a->nv - 1] : 0;
	if (a->ns && a->s[a->ns - 1].v > last)
		last = a->s[a->ns - 1].v;
	double qs[3] = { 0.50, 0.95, 0.99 };
	uint64_t *out[3] = { &a->p50, &a->p95, &a->p99 };
	for (int k = 0; k < 3; k++) {
		double need = ceil(qs[k] * (double)total);
		uint64_t acc = 0;
		*out[k] = last;
		for (size_t i = 0, m = 0; i < a->nv || m < a->ns;) {
			uint64_t v;
			if (m == a->ns || (i < a->nv && a->v[i] <= a->s[m].v)) {
				v = a->v[i++];
				acc++;
			} else {
				v = a->s[m].v;
				acc += a->s[m++].w;
			}
			if ((double)acc >= need) {
				*out[k] = v;
				break;
			}
		}
	}
}

static const char *sort_key;

static uint64_t avg(const struct agg *a)
{
	return a->outer ? a->total / a->outer : 0;
}

static uint64_t metric(const struct agg *a)
{
	if (!strcmp(sort_key, "self"))
		return a->self;
	if (!strcmp(sort_key, "count"))
		return a->count;
	if (!strcmp(sort_key, "avg"))
		return avg(a);
	if (!strcmp(sort_key, "p95"))
		return a->p95;
	if (!strcmp(sort_key, "max"))
		return a->max;
	return a->total;
}

static int by_metric(const void *x, const void *y)
{
	const struct agg *a = x, *b = y;
	uint64_t ma = metric(a), mb = metric(b);
	return ma < mb ? 1 : ma > mb ? -1 : strcmp(a->key, b->key);
}

/* The aggregates of one dump, by key. */
struct table {
	bool fn; /* --by function */
	struct hashmap map;
	struct agg *aggs;
	size_t n, cap;
	size_t ntraces;
	/* A node's key depends on its site alone: per site of the dump being
	 * collected, its aggregate (AGG_UNKNOWN until seen), so that the key
	 * is formatted and hashed once per site, not once per span. */
	long *site_agg;
	uint32_t nsites;
	uint64_t seen; /* traces that ended, stored or not (evicted, filtered, dropped) */
};

#define AGG_UNKNOWN (-3L)

/* The key of a node: its name, or its function with file:line; false for
 * a node that has no function with --by function. */
static bool node_key(const struct table *tb, const sp_node *nd, char *key, size_t size)
{
	if (!tb->fn) {
		snprintf(key, size, "%s", nd->name);
		return true;
	}
	if (!nd->function)
		return false;
	const char *base = nd->file ? strrchr(nd->file, '/') : NULL;
	if (nd->file)
		snprintf(key, size, "%s  %s:%u", nd->function, base ? base + 1 : nd->file, nd->line);
	else
		snprintf(key, size, "%s", nd->function);
	return true;
}

/* The aggregate of a node's key, made when new: its index, -1 when the
 * node has no key (--by function, no function), -2 on no memory. */
static long agg_of(struct table *tb, const sp_node *nd)
{
	char key[600];
	if (!node_key(tb, nd, key, sizeof key))
		return -1;
	if (grow(&tb->aggs, &tb->cap, tb->n, sizeof *tb->aggs, 64))
		return -2;
	long k = hashmap_get_or_put(&tb->map, hashmap_hash(0, key), (uint32_t)tb->n);
	if (k < 0)
		return -2;
	if ((size_t)k == tb->n) {
		tb->aggs[tb->n] = (struct agg){ .key = strdup(key) };
		if (!tb->aggs[tb->n].key)
			return -2;
		tb->n++;
	}
	return k;
}

/* Collect, one node into aggregate k; `outermost` when no ancestor has
 * its key. -1 on no memory. */
static int collect_node(struct table *tb, long k, const sp_node *nd, bool outermost)
{
	struct agg *a = &tb->aggs[k];
	bool cumul = nd->kind == SP_NODE_CUMULATIVE;
	a->count += cumul ? nd->count : 1;
	a->self += nd->self_ns;
	if (!outermost)
		return 0;
	a->outer += cumul ? nd->count : 1;
	a->total += nd->duration_ns;
	uint64_t mx = cumul ? nd->max_ns : nd->duration_ns;
	a->max = mx > a->max ? mx : a->max;
	return add(a, cumul ? nd->avg_ns : nd->duration_ns, cumul ? nd->count : 1);
}

/* Collect, one trace. Nodes are visited in pre-order of the tree (not in
 * record order: see docs/FORMAT.md), so the path from the root is a
 * stack, and open[k] counts the nodes of key k on it: a node is outermost
 * when open[its key] is 0. -1 on no memory. */
static int collect_trace(struct table *tb, const struct rd_tree *t, uint32_t **open, size_t *nopen)
{
	/* The path from the root: each node on it with its key (as deep as
	 * the tree, not as big: a per-node array was 16 bytes a span). */
	struct step {
		const sp_node *nd;
		long k;
	} *path = NULL;
	size_t depth = 0, cap = 0;
	uint32_t n = t->dec.nnodes;
	int rc = -1;
	for (const sp_node *nd = n ? t->root : NULL; nd; nd = rd_tree_next(nd)) {
		while (depth && path[depth - 1].nd != nd->parent) {
			long pk = path[--depth].k;
			if (pk >= 0)
				(*open)[pk]--;
		}
		long k = nd->site <= tb->nsites ? tb->site_agg[nd->site] : AGG_UNKNOWN;
		if (k == AGG_UNKNOWN) {
			k = agg_of(tb, nd);
			if (nd->site <= tb->nsites && k != -2)
				tb->site_agg[nd->site] = k;
		}
		if (k == -2)
			goto out;
		if (k >= 0) {
			if ((size_t)k >= *nopen) {
				size_t c = *nopen ? *nopen : 64;
				while (c <= (size_t)k)
					c *= 2;
				uint32_t *no = realloc(*open, c * sizeof *no);
				if (!no)
					goto out;
				memset(no + *nopen, 0, (c - *nopen) * sizeof *no);
				*open = no;
				*nopen = c;
			}
			if (collect_node(tb, k, nd, (*open)[k] == 0))
				goto out;
			(*open)[k]++;
		}
		if (grow(&path, &cap, depth, sizeof *path, 64))
			goto out;
		path[depth++] = (struct step){ nd, k };
	}
	rc = 0;
out:
	while (depth) {
		long pk = path[--depth].k;
		if (pk >= 0)
			(*open)[pk]--;
	}
	free(path);
	return rc;
}

/* Collect: every node of every trace. 0, or 1 after saying why. */
static int collect(struct table *tb, struct rd_dump *d)
{
	tb->ntraces += d->ntraces;
	uint32_t *open = NULL;
	size_t nopen = 0;
	int rc = 0;
	free(tb->site_agg);
	tb->nsites = d->nsites;
	tb->site_agg = malloc(((size_t)d->nsites + 1) * sizeof *tb->site_agg);
	if (!tb->site_agg) {
		msg_errorf("out of memory");
		return 1;
	}
	for (size_t i = 0; i <= d->nsites; i++)
		tb->site_agg[i] = AGG_UNKNOWN;
	for (size_t ti = 0; ti < d->ntraces && !rc; ti++) {
		struct rd_tree t;
		if (cmd_tree(d, ti, &t)) {
			rc = 1;
			break;
		}
		msg_progress("top: trace %zu of %zu", ti + 1, d->ntraces);
		if (collect_trace(tb, &t, &open, &nopen)) {
			msg_errorf("out of memory");
			rc = 1;
		}
		rd_tree_free(&t);
	}
	free(open);
	return rc;
}

/* Rank: percentiles, then the order of --sort. */
static void rank(struct table *tb)
{
	for (size_t i = 0; i < tb->n; i++)
		percentiles(&tb->aggs[i]);
	qsort(tb->aggs, tb->n, sizeof *tb->aggs, by_metric);
}

static void print_json(const struct table *tb, size_t shown)
{
	struct json j;
	json_init(&j, stdout);
	json_array(&j, NULL);
	for (size_t i = 0; i < shown; i++) {
		const struct agg *a = &tb->aggs[i];
		json_object(&j, NULL);
		json_str(&j, tb->fn ? "function" : "name", a->key);
		json_u64(&j, "count", a->count);
		json_u64(&j, "total_ns", a->total);
		json_u64(&j, "self_ns", a->self);
		json_u64(&j, "outermost", a->outer);
		json_u64(&j, "avg_ns", avg(a));
		json_u64(&j, "p50_ns", a->p50);
		json_u64(&j, "p95_ns", a->p95);
		json_u64(&j, "p99_ns", a->p99);
		json_u64(&j, "max_ns", a->max);
		json_end(&j);
	}
	json_newline(&j);
	json_end(&j);
	json_newline(&j);
	json_free(&j);
}

static void print_text(const struct table *tb, size_t shown, unsigned width)
{
	/* the name comes last, after 98 columns of numbers: long (C++)
	 * names are shortened to what the width leaves, 32 at least */
	unsigned left = width ? (width > 98 + 32 ? width - 98 : 32) : 0;
	char nbuf[4096];
	printf("%10s  %11s  %11s  %10s  %10s  %10s  %10s  %10s  %s\n", "count", "total ms", "self ms", "avg ms",
	       "p50 ms", "p95 ms", "p99 ms", "max ms", tb->fn ? "function" : "name");
	printf("----------  -----------  -----------  ----------  ----------  ----------  ----------  ----------  "
	       "--------------------\n");
	for (size_t i = 0; i < shown; i++) {
		const struct agg *a = &tb->aggs[i];
		char b[8][32];
		printf("%10llu  %11s  %11s  %10s  %10s  %10s  %10s  %10s  %s\n", (unsigned long long)a->count,
		       fmt_ms(b[0], 32, a->total), fmt_ms(b[1], 32, a->self),
		       fmt_ms(b[2], 32, avg(a)), fmt_ms(b[3], 32, a->p50),
		       fmt_ms(b[4], 32, a->p95), fmt_ms(b[5], 32, a->p99), fmt_ms(b[6], 32, a->max),
		       fmt_shorten(a->key, left, nbuf, sizeof nbuf));
	}
	printf("\n%zu %s in %zu traces%s\n", tb->n, tb->fn ? "functions" : "names", tb->ntraces,
	       shown < tb->n ? " (some not shown: --limit)" : "");
	/* The ranking covers the stored traces only: say of how many. */
	if (tb->seen > tb->ntraces)
		printf("ranked over %zu stored traces of %llu seen; 'spanprof stats' has percentiles over all of them\n",
		       tb->ntraces, (unsigned long long)tb->seen);
}

static void table_free(struct table *tb)
{
	for (size_t i = 0; i < tb->n; i++) {
		free(tb->aggs[i].key);
		free(tb->aggs[i].v);
		free(tb->aggs[i].s);
	}
	free(tb->aggs);
	free(tb->site_agg);
	hashmap_free(&tb->map);
}

int cmd_top(int argc, char **argv)
{
	struct cmd_source src = CMD_SOURCE_DEFAULT;
	const char *by = "name";
	unsigned long long limit = ~0ull;
	bool json = false;
	unsigned long long width = ~0ull;
	sort_key = "total";
	struct cli_parser p;
	cli_init(&p, "top", argc, argv);
	for (int o; (o = cli_next(&p)) != CLI_END;) {
		switch (o) {
		case CLI_HELP: return 0;
		case CLI_ERROR: return 2;
		case O_JSON: json = true; break;
		case O_BY: by = p.arg; break;
		case O_WIDE: width = 0; break;
		case O_WIDTH:
			if (cli_uint(&p, "--width", p.arg, 1u << 16, &width) || !width)
				return 2;
			break;
		case O_SORT: sort_key = p.arg; break;
		case O_LIMIT:
			if (cmd_bound_opt(&p, o, NULL, &limit) < 0)
				return 2;
			break;
		default:
			if (cmd_source_opt("top", &src, o, p.arg) < 0)
				return 2;
			break;
		}
	}
	if (strcmp(by, "name") && strcmp(by, "function"))
		return msg_usagef("top", "--by takes name or function, not '%s'", by);
	const char *sorts[] = { "total", "self", "count", "avg", "p95", "max" };
	bool ok = false;
	for (size_t i = 0; i < 6; i++)
		ok |= !strcmp(sort_key, sorts[i]);
	if (!ok)
		return msg_usagef("top", "--sort takes total, self, count, avg, p95 or max");
	if (p.ind < argc)
		return msg_usagef("top", "unexpected argument '%s'", argv[p.ind]);
	struct cmd_set set;
	if (cmd_open_set(&src, &set))
		return 1;
	struct table tb = { .fn = !strcmp(by, "function") };
	int rc = 0;
	for (size_t i = 0; i < set.n && !rc; i++) { /* many dumps: one table */
		const struct rd_dump *d = &set.d[i];
		tb.seen += d->committed + d->traces_dropped + d->filtered;
		rc = collect(&tb, &set.d[i]);
	}
	if (!rc) {
		rank(&tb);
		size_t shown = tb.n < limit ? tb.n : (size_t)limit;
		fmt_big_stdout();
		if (json)
			print_json(&tb, shown);
		else
			print_text(&tb, shown, fmt_width(width == ~0ull ? -1 : (long)width));
	}
	table_free(&tb);
	cmd_close_set(&set);
	return rc;
}
