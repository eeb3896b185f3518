/* cmd/show.c - `spanprof show SEQ`: one trace as a tree (the design's
 * ProfilerDetail), or its data model as JSON.
 *
 * Text: one line per node - node number (for --zoom), total ms, self ms,
 * % of the parent, then the tree guides, the name and what it carries. The
 * walk is iterative (explicit stack), so a 10,000-deep recursion prints;
 * guides stop growing past MAX_GUIDES levels and show the depth instead.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "msg.h"
#include "read/hashmap.h"
#include "render/fmt.h"
#include "render/json.h"
#include "render/model_json.h"

enum { O_JSON = 'j', O_ZOOM = 'z', O_DEPTH = 'd', O_MINPCT = 'm', O_COLOR = 'c', O_MERGE = 'M', O_WIDE = 'W',
       O_WIDTH = 'X' };

/* A node with more children than this shows them merged by name. Wide
 * enough that ordinary nodes (phases, a few dozen calls) read as they
 * ran; a loop's 800,000 calls read as their few distinct callees. */
#define DEFAULT_MERGE 20

const struct cli_opt show_opts[] = {
	CMD_OPT_FILE,
	CMD_OPT_PID,
	{ 'z', "zoom", "PATH|NODE", "show this span as the root: a path of names (navigate_cell/callback) or a node number", O_ZOOM },
	{ 'd', "depth", "D", "show D levels below the root (default: all)", O_DEPTH },
	{ 0, "min-pct", "X", "fold children under X% of their parent into one line (default: 0)", O_MINPCT },
	{ 0, "merge", "N", "merge same-name children into one line (×count) where a node has more than N (default: 20; 0: never)", O_MERGE },
	{ 0, "json", NULL, "print the trace's data model as JSON", O_JSON },
	{ 0, "color", "WHEN", "auto, always or never (default: auto)", O_COLOR },
	CMD_OPT_WIDE,
	CMD_OPT_WIDTH,
	{ 0 },
};

#define MAX_GUIDES 48

/* Same-name children of a wide node, merged: one line each. */
struct group {
	const sp_node *first;
	uint32_t nodes;  /* children in it */
	uint64_t count;  /* calls: a cumulative child brings its count */
	uint64_t total_ns, self_ns, max_ns;
};

struct level {
	const sp_node *node;   /* whose children are being shown */
	const sp_node *next;   /* next child to consider */
	uint32_t fold_n;       /* children folded at this level */
	uint64_t fold_ns;
	bool fold_done;
	struct group *g;       /* merged (a wide node): its groups, else NULL */
	size_t ng, gi;         /* how many, the next one */
};

struct show {
	const struct rd_tree *t;
	double min_pct;
	unsigned long long max_depth;
	unsigned long long merge;
	unsigned char *hot; /* per node index: on the hottest path */
	struct level *stack;
	size_t cap;
	char *more; /* per depth: that ancestor has siblings below (draws │) */
	bool tty;   /* stdout is a terminal: no progress line over the output */
	unsigned width; /* columns for a line, 0: no limit */
};

static bool shown_ns(const struct show *s, const sp_node *parent, uint64_t ns)
{
	if (s->min_pct <= 0 || !parent->duration_ns)
		return true;
	return (double)ns * 100.0 >= s->min_pct * (double)parent->duration_ns;
}

static bool shown(const struct show *s, const sp_node *parent, const sp_node *c)
{
	return shown_ns(s, parent, c->duration_ns);
}

/* Is there another line after `c` among its parent's children? */
static bool more_after(const struct show *s, const sp_node *parent, const sp_node *c, bool folded_any)
{
	for (const sp_node *n = c->next_sibling; n; n = n->next_sibling)
		if (shown(s, parent, n))
			return true;
		else
			folded_any = true;
	return folded_any;
}

static void prefix(const struct show *s, unsigned depth, bool last)
{
	if (depth == 0)
		return;
	if (depth > MAX_GUIDES) {
		printf("%s[%u] %s", fmt_c(C_DIM), depth, fmt_c(C_RESET));
		return;
	}
	fputs(fmt_c(C_DIM), stdout);
	for (unsigned i = 1; i < depth; i++)
		fputs(s->more[i] ? "│  " : "   ", stdout);
	fputs(last ? "└─ " : "├─ ", stdout);
	fputs(fmt_c(C_RESET), stdout);
}

/* A long (C++) name shortened to what the line has left after the
 * columns, the guides, `extra` columns of its own and file:line. */
static const char *fit_name(const struct show *s, const sp_node *n, unsigned depth, size_t extra, char *nbuf,
			    size_t size)
{
	if (!s->width)
		return n->name;
	size_t used = 42 + (depth > MAX_GUIDES ? 8 : 3 * (size_t)depth) + extra;
	if (n->file) {
		const char *base = strrchr(n->file, '/');
		used += 2 + strlen(base ? base + 1 : n->file) + (n->line ? (size_t)snprintf(NULL, 0, ":%u", n->line) : 0);
	}
	/* the hot-path marker is not counted: a name must not depend on
	 * timing; at least 32 columns: a deep line may overflow, but a name
	 * cut to a few characters helps nobody */
	size_t left = s->width > used + 32 ? s->width - used : 32;
	return fmt_shorten(n->name, (unsigned)left, nbuf, size);
}

static void line(const struct show *s, const sp_node *n, unsigned depth, bool last)
{
	char a[32], b[32], c[32];
	double pct = 100.0;
	if (depth && n->parent && n->parent->duration_ns)
		pct = 100.0 * (double)n->duration_ns / (double)n->parent->duration_ns;
	bool hot = s->hot[n->index];
	unsigned tenths = (unsigned)(pct * 10 + 0.5); /* no floating-point printf: 1M lines */
	printf("%6u  %10s  %10s  %4u.%u%%  ", n->index, fmt_ms(a, sizeof a, n->duration_ns),
	       fmt_ms(b, sizeof b, n->self_ns), tenths / 10, tenths % 10);
	if ((n->index & 0xffff) == 0xffff && !s->tty)
		msg_progress("show: %u of %u spans", n->index + 1, s->t->dec.nnodes);
	prefix(s, depth, last);
	char nbuf[4096];
	const char *name = fit_name(s, n, depth, 0, nbuf, sizeof nbuf);
	printf("%s%s%s", hot ? fmt_c(C_RED) : fmt_c(C_BOLD), name, fmt_c(C_RESET));
	if (n->kind == SP_NODE_CUMULATIVE)
		printf("  %s×%llu%s  min/avg/max %s/%s/%s ms", fmt_c(C_CYAN), (unsigned long long)n->count,
		       fmt_c(C_RESET), fmt_ms(a, sizeof a, n->min_ns), fmt_ms(b, sizeof b, n->avg_ns),
		       fmt_ms(c, sizeof c, n->max_ns));
	if (n->file) {
		const char *base = strrchr(n->file, '/');
		/* no line: gcc gives a lambda's operator() none */
		if (n->line)
			printf("  %s%s:%u%s", fmt_c(C_DIM), base ? base + 1 : n->file, n->line, fmt_c(C_RESET));
		else
			printf("  %s%s%s", fmt_c(C_DIM), base ? base + 1 : n->file, fmt_c(C_RESET));
	}
	if (n->ndata) {
		printf("  %s", fmt_c(C_GREEN));
		fmt_data(stdout, n->data, n->ndata);
		fputs(fmt_c(C_RESET), stdout);
	}
	if (n->abandoned)
		printf("  %s(abandoned)%s", fmt_c(C_YELLOW), fmt_c(C_RESET));
	if (hot && depth)
		printf("  %s◀%s", fmt_c(C_RED), fmt_c(C_RESET));
	putchar('\n');
}

static void fold_line(const struct show *s, unsigned depth, uint32_t n, uint64_t ns)
{
	char a[32];
	printf("%6s  %10s  %10s  %7s  ", "", fmt_ms(a, sizeof a, ns), "", "");
	prefix(s, depth, true);
	printf("%s… %u more (%s ms)%s\n", fmt_c(C_DIM), n, a, fmt_c(C_RESET));
}

/* One line for a group of more than one same-name children. */
static void group_line(const struct show *s, const struct group *g, unsigned depth, bool last)
{
	char a[32], b[32], c[32];
	const sp_node *p = g->first->parent;
	double pct = p && p->duration_ns ? 100.0 * (double)g->total_ns / (double)p->duration_ns : 100.0;
	unsigned tenths = (unsigned)(pct * 10 + 0.5);
	printf("%6s  %10s  %10s  %4u.%u%%  ", "", fmt_ms(a, sizeof a, g->total_ns), fmt_ms(b, sizeof b, g->self_ns),
	       tenths / 10, tenths % 10);
	prefix(s, depth, last);
	fmt_ms(a, sizeof a, g->total_ns / g->count);
	fmt_ms(c, sizeof c, g->max_ns);
	char nbuf[4096];
	size_t extra = (size_t)snprintf(NULL, 0, "  ×%llu  avg/max %s/%s ms", (unsigned long long)g->count, a, c) - 1;
	printf("%s%s%s  %s×%llu%s  avg/max %s/%s ms", fmt_c(C_BOLD), fit_name(s, g->first, depth, extra, nbuf, sizeof nbuf),
	       fmt_c(C_RESET), fmt_c(C_CYAN), (unsigned long long)g->count, fmt_c(C_RESET), a, c);
	if (g->first->file) {
		const char *base = strrchr(g->first->file, '/');
		printf("  %s%s:%u%s", fmt_c(C_DIM), base ? base + 1 : g->first->file, g->first->line, fmt_c(C_RESET));
	}
	putchar('\n');
}

/* The children of a wide node by name, in the order each name first
 * appears; NULL on no memory (then they are shown one by one). */
static struct group *merge_children(const sp_node *n, size_t *ng)
{
	struct group *g = calloc(n->nchildren, sizeof *g);
	struct hashmap map = { 0 };
	*ng = 0;
	if (!g)
		return NULL;
	for (const sp_node *c = n->first_child; c; c = c->next_sibling) {
		long k = hashmap_get_or_put(&map, hashmap_hash(0, c->name), (uint32_t)*ng);
		if (k < 0) {
			free(g);
			hashmap_free(&map);
			return NULL;
		}
		if ((size_t)k == *ng)
			g[(*ng)++].first = c;
		struct group *x = &g[k];
		uint64_t mx = c->kind == SP_NODE_CUMULATIVE ? c->max_ns : c->duration_ns;
		x->nodes++;
		x->count += c->kind == SP_NODE_CUMULATIVE ? c->count : 1;
		x->total_ns += c->duration_ns;
		x->self_ns += c->self_ns;
		x->max_ns = mx > x->max_ns ? mx : x->max_ns;
	}
	hashmap_free(&map);
	return g;
}

static bool push(struct show *s, size_t depth, const sp_node *n)
{
	if (depth >= s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct level *v = realloc(s->stack, cap * sizeof *v);
		if (!v)
			return false;
		s->stack = v;
		char *m = realloc(s->more, cap + 2);
		if (!m)
			return false;
		s->more = m;
		s->cap = cap;
	}
	s->stack[depth] = (struct level){ n, n->first_child, 0, 0, false, NULL, 0, 0 };
	if (s->merge && n->nchildren > s->merge)
		s->stack[depth].g = merge_children(n, &s->stack[depth].ng);
	return true;
}

/* A merged level: the next group to show, with its line printed and
 * true for a group of one (a node shown as usual, *c set); false at the
 * end. */
static bool next_group(struct show *s, struct level *L, size_t depth, const sp_node **c)
{
	for (;;) {
		if (L->gi >= L->ng)
			return false;
		struct group *g = &L->g[L->gi++];
		if (!shown_ns(s, L->node, g->total_ns)) {
			L->fold_n += g->nodes;
			L->fold_ns += g->total_ns;
			continue;
		}
		/* A later group is a line, or folds into the fold line. */
		bool last = L->gi >= L->ng && L->fold_n == 0;
		s->more[depth + 1] = !last;
		if (g->nodes == 1) {
			*c = g->first;
			line(s, g->first, (unsigned)depth + 1, last);
			return true;
		}
		group_line(s, g, (unsigned)depth + 1, last);
	}
}

static void render(struct show *s, const sp_node *root)
{
	line(s, root, 0, true);
	if (!root->first_child)
		return;
	if (s->max_depth == 0) { /* --depth 0: just say what is below */
		uint64_t ns = 0;
		for (const sp_node *c = root->first_child; c; c = c->next_sibling)
			ns += c->duration_ns;
		fold_line(s, 1, root->nchildren, ns);
		return;
	}
	if (!push(s, 0, root))
		return;
	size_t depth = 0; /* the level whose children are listed: depth + 1 is theirs */
	for (;;) {
		struct level *L = &s->stack[depth];
		const sp_node *c = NULL;
		bool have;
		if (L->g) {
			have = next_group(s, L, depth, &c);
		} else {
			c = L->next;
			while (c && !shown(s, L->node, c)) {
				L->fold_n++;
				L->fold_ns += c->duration_ns;
				c = c->next_sibling;
			}
			have = c != NULL;
			if (c) {
				L->next = c->next_sibling;
				bool last = !more_after(s, L->node, c, L->fold_n > 0);
				s->more[depth + 1] = !last;
				line(s, c, (unsigned)depth + 1, last);
			}
		}
		if (have) {
			if (c->first_child) {
				if (depth + 1 < s->max_depth && push(s, depth + 1, c)) {
					depth++;
				} else { /* below --depth: one line for what is hidden */
					uint32_t k = 0;
					uint64_t ns = 0;
					for (const sp_node *g = c->first_child; g; g = g->next_sibling, k++)
						ns += g->duration_ns;
					fold_line(s, (unsigned)depth + 2, k, ns);
				}
			}
			continue;
		}
		if (L->fold_n && !L->fold_done) {
			L->fold_done = true;
			fold_line(s, (unsigned)depth + 1, L->fold_n, L->fold_ns);
		}
		free(L->g);
		L->g = NULL;
		if (depth == 0)
			break;
		depth--;
	}
}

static void mark_hot(struct show *s, const sp_node *root)
{
	for (const sp_node *n = root; n;) {
		s->hot[n->index] = 1;
		const sp_node *best = NULL;
		for (const sp_node *c = n->first_child; c; c = c->next_sibling)
			if (!best || c->duration_ns > best->duration_ns)
				best = c;
		n = best;
	}
}

int cmd_show(int argc, char **argv)
{
	struct cmd_source src = CMD_SOURCE_DEFAULT;
	const char *zoom = NULL, *color = "auto";
	bool json = false;
	struct show s = { .max_depth = ~0ull, .merge = DEFAULT_MERGE };
	unsigned long long width = ~0ull;
	struct cli_parser p;
	cli_init(&p, "show", argc, argv);
	for (int o; (o = cli_next(&p)) != CLI_END;) {
		switch (o) {
		case CLI_HELP: return 0;
		case CLI_ERROR: return 2;
		case O_JSON: json = true; break;
		case O_ZOOM: zoom = p.arg; break;
		case O_COLOR: color = p.arg; break;
		case O_WIDE: width = 0; break;
		case O_WIDTH:
			if (cli_uint(&p, "--width", p.arg, 1u << 16, &width) || !width)
				return 2;
			break;
		case O_DEPTH:
			if (cli_uint(&p, "--depth", p.arg, 1u << 30, &s.max_depth))
				return 2;
			break;
		case O_MINPCT:
			if (cli_double(&p, "--min-pct", p.arg, &s.min_pct))
				return 2;
			break;
		case O_MERGE:
			if (cli_uint(&p, "--merge", p.arg, 1u << 31, &s.merge))
				return 2;
			break;
		default:
			if (cmd_source_opt("show", &src, o, p.arg) < 0)
				return 2;
			break;
		}
	}
	if (cmd_color_ok("show", color))
		return 2;
	struct cmd_set set;
	struct rd_dump *d;
	struct rd_tree t;
	const sp_node *root;
	int rc = cmd_one_trace("show", &src, argc, argv, p.ind, zoom, &set, &d, &t, &root);
	if (rc)
		return rc;
	rc = 1;
	fmt_big_stdout();
	if (json) {
		struct json j;
		json_init(&j, stdout);
		model_json_trace(&j, d, &t, root, set.many_pids);
		json_newline(&j);
		json_free(&j);
		rc = 0;
		goto out_tree;
	}
	fmt_color_setup(color);
	s.t = &t;
	s.tty = isatty(STDOUT_FILENO);
	s.width = fmt_width(width == ~0ull ? -1 : (long)width);
	s.hot = calloc(t.dec.nnodes, 1);
	if (!s.hot) {
		msg_errorf("out of memory");
		goto out_tree;
	}
	char ms[32], wall[64], ref[48];
	/* Among several processes a trace is PID:SEQ. */
	if (set.many_pids)
		snprintf(ref, sizeof ref, "%llu:%llu", (unsigned long long)d->pid, (unsigned long long)t.tr->seq);
	else
		snprintf(ref, sizeof ref, "#%llu", (unsigned long long)t.tr->seq);
	printf("%s%s%s  id %s  trace %s  thread %llu  %s  %s ms%s\n", fmt_c(C_BOLD), t.name, fmt_c(C_RESET),
	       *t.tr->id ? t.tr->id : "-", ref, (unsigned long long)t.tr->tid,
	       fmt_wall(wall, sizeof wall, rd_dump_wall_ns(d, t.tr->t0)), fmt_ms(ms, sizeof ms, t.root->duration_ns),
	       t.tr->flags & SP_TRACE_UNFINISHED ? "  (unfinished: open when the program died)"
	       : t.tr->flags & SP_TRACE_CLOSED ? "  (closed at exit)" : "");
	if (t.tr->cpu_measured) {
		/* Off the CPU: waiting (I/O, a lock, sleep) or preempted, which the
		 * spans' wall-clock times alone show as slow code. */
		uint64_t dur = t.root->duration_ns, cpu = t.tr->cpu_ns;
		char c1[32], c2[32];
		printf("  cpu %s ms  off-cpu %s ms  %u voluntary / %u involuntary switches\n",
		       fmt_ms(c1, sizeof c1, cpu), fmt_ms(c2, sizeof c2, dur > cpu ? dur - cpu : 0),
		       t.tr->voluntary_switches, t.tr->involuntary_switches);
	}
	if (t.dec.ntrace_kvs) {
		fputs("  ", stdout);
		fmt_data(stdout, t.dec.trace_kvs, t.dec.ntrace_kvs);
		putchar('\n');
	}
	if (root != t.root)
		printf("  zoomed on node %u: %s\n", root->index, zoom);
	printf("\n%s%6s  %10s  %10s  %7s  %s%s\n", fmt_c(C_BOLD), "node", "total ms", "self ms", "parent", "span",
	       fmt_c(C_RESET));
	printf("------  ----------  ----------  -------  ----------------------------------------\n");
	mark_hot(&s, root);
	render(&s, root);
	double per = d->overhead_per_span_ns;
	double over_ms = per * (double)(t.dec.nnodes + t.dec.iterations) / 1e6;
	double dur_ms = (double)t.root->duration_ns / 1e6;
	printf("\ndropped spans: %llu   overhead: %.1f ns/span x %llu = %.3f ms (%.1f%% of the trace)\n",
	       (unsigned long long)t.tr->dropped, per, (unsigned long long)(t.dec.nnodes + t.dec.iterations), over_ms,
	       dur_ms > 0 ? 100.0 * over_ms / dur_ms : 0.0);
	msg_progress_done();
	free(s.hot);
	free(s.stack);
	free(s.more);
	rc = 0;
out_tree:
	rd_tree_free(&t);
	cmd_close_set(&set);
	return rc;
}
