/* cmd/list.c - `spanprof list`: the traces of a dump, one line each (the
 * design's ProfilerList). Reads only the trace headers and each root's
 * name, so 500 traces list in milliseconds; --json decodes the traces for
 * their data. */
#include <fnmatch.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "format.h"
#include "msg.h"
#include "render/fmt.h"
#include "render/json.h"
#include "render/model_json.h"
#include "render/page.h"

enum { O_JSON = 'j', O_SORT = 's', O_NAME = 'n', O_MIN = 'm', O_LIMIT = 'l', O_COLOR = 'c', O_COUNTS = 'C',
       O_WIDE = 'w' };

const struct cli_opt list_opts[] = {
	CMD_OPT_FILE,
	CMD_OPT_PID,
	{ 's', "sort", "KEY", "order by duration (longest first), start, or name (default: start)", O_SORT },
	{ 'n', "name", "GLOB", "only traces whose name matches", O_NAME },
	{ 0, "min-ms", "X", "only traces that took at least X ms", O_MIN },
	{ 0, "limit", "N", "at most N lines (after sorting)", O_LIMIT },
	{ 0, "json", NULL, "print the traces as a JSON array (without their trees)", O_JSON },
	{ 0, "counts", NULL, "with --json: an object, {\"counts\": {...}, \"traces\": [...]}", O_COUNTS },
	{ 0, "color", "WHEN", "auto, always or never (default: auto)", O_COLOR },
	{ 'w', "wide", NULL, "show whole ids (else cut to the terminal's width)", O_WIDE },
	{ 0 },
};

struct row {
	struct rd_dump *d;
	size_t index; /* in d */
	size_t order; /* in the whole list: ties keep it */
	const char *name;
	uint64_t dur_ns;
};

static const char *root_name(struct rd_dump *d, const struct rd_dump_trace *t)
{
	uint32_t head;
	memcpy(&head, t->stream, 4);
	uint32_t site = head & SP_REC_SITE_MASK;
	return site && site <= d->nsites ? rd_site_name(d, site) : "?";
}

/* Columns of the output: the terminal's, $COLUMNS, or 80. */
static int terminal_width(void)
{
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	const char *c = getenv("COLUMNS");
	int v = c ? atoi(c) : 0;
	return v > 0 && v < 100000 ? v : 80;
}

static bool is_kept(const struct row *r)
{
	return r->d->traces[r->index].flags & SP_TRACE_KEPT;
}

/* Longest first, the kept slowest traces before the recent ones. */
static int by_duration(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (is_kept(x) != is_kept(y))
		return is_kept(x) ? -1 : 1;
	return x->dur_ns < y->dur_ns ? 1 : x->dur_ns > y->dur_ns ? -1 : (x->order > y->order) - (x->order < y->order);
}

static int by_name(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* Several processes by start: their traces interleaved by wall clock. */
static int by_start(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	uint64_t p = rd_dump_wall_ns(x->d, x->d->traces[x->index].t0);
	uint64_t q = rd_dump_wall_ns(y->d, y->d->traces[y->index].t0);
	return p < q ? -1 : p > q ? 1 : (x->order > y->order) - (x->order < y->order);
}

/* What became of the traces the program ended: stored (in this dump),
 * evicted, cleared, or dropped (never stored); the first three add up to
 * the traces stored since start. */
struct totals {
	uint64_t committed, evicted, cleared, traces_dropped, dropped, filtered;
	size_t ntraces;
	uint32_t keep_slowest, min_ms;
};

static struct totals sum(const struct cmd_set *set)
{
	struct totals t = { 0 };
	for (size_t i = 0; i < set->n; i++) {
		const struct rd_dump *d = &set->d[i];
		t.committed += d->committed;
		t.evicted += d->evicted;
		t.cleared += d->cleared;
		t.traces_dropped += d->traces_dropped;
		t.dropped += d->dropped;
		t.filtered += d->filtered;
		t.keep_slowest = d->keep_slowest;
		t.min_ms = d->min_ms > t.min_ms ? d->min_ms : t.min_ms;
		t.ntraces += d->ntraces;
	}
	return t;
}

static uint64_t traces_ended(const struct totals *d)
{
	return d->committed + d->traces_dropped;
}

static bool any_loss(const struct totals *d)
{
	return d->evicted || d->cleared || d->traces_dropped || d->dropped || d->filtered;
}

static void print_footer(const struct totals *d)
{
	printf("%llu traces ended: %zu stored, %llu evicted, %llu cleared, %llu dropped",
	       (unsigned long long)(traces_ended(d) + d->filtered), d->ntraces, (unsigned long long)d->evicted,
	       (unsigned long long)d->cleared, (unsigned long long)d->traces_dropped);
	if (d->filtered)
		printf(", %llu filtered", (unsigned long long)d->filtered);
	printf("; %llu spans dropped\n", (unsigned long long)d->dropped);
	/* What to change to keep more: one line, so that a loss is never silent. */
	if (d->evicted)
		printf("%llu trace%s evicted: SPANPROF_MAX_TRACES and SPANPROF_BUFFER_MB keep more recent ones, "
		       "SPANPROF_KEEP_SLOWEST (now %u) more of the slowest of each name\n",
		       (unsigned long long)d->evicted, d->evicted == 1 ? " was" : "s were", d->keep_slowest);
	if (d->filtered)
		printf("%llu trace%s faster than SPANPROF_MIN_MS=%u not stored: a lower SPANPROF_MIN_MS keeps more\n",
		       (unsigned long long)d->filtered, d->filtered == 1 ? " was" : "s were", d->min_ms);
}

static void json_counts(struct json *j, const struct totals *d)
{
	page_counts_json(j, d->committed, d->ntraces, d->evicted, d->cleared, d->traces_dropped, d->dropped, d->filtered);
}

static void print_json(const struct totals *tot, const struct row *rows, size_t n, bool counts, bool pids)
{
	struct json j;
	json_init(&j, stdout);
	if (counts) {
		json_object(&j, NULL);
		json_counts(&j, tot);
	}
	json_array(&j, counts ? "traces" : NULL);
	for (size_t i = 0; i < n; i++) {
		struct rd_dump *d = rows[i].d;
		const struct rd_dump_trace *t = &d->traces[rows[i].index];
		struct rd_tree tree;
		char err[512];
		bool have = rd_tree_load(d, rows[i].index, &tree, err, sizeof err) == 0;
		if (!have)
			msg_warnf("%s", err);
		json_object(&j, NULL);
		json_u64(&j, "seq", t->seq);
		json_str(&j, "name", rows[i].name);
		json_str(&j, "id", t->id);
		json_data(&j, "data", have ? tree.dec.trace_kvs : NULL, have ? tree.dec.ntrace_kvs : 0);
		json_u64(&j, "start_ns", rd_dump_wall_ns(d, t->t0));
		json_u64(&j, "duration_ns", rows[i].dur_ns);
		json_u64(&j, "thread", t->tid);
		json_u64(&j, "dropped_spans", t->dropped);
		if (t->flags & SP_TRACE_UNFINISHED)
			json_bool(&j, "unfinished", true);
		if (t->flags & SP_TRACE_KEPT)
			json_str(&j, "kept", "slowest");
		if (pids)
			json_u64(&j, "pid", d->pid);
		model_json_cpu(&j, t);
		json_end(&j);
		if (have)
			rd_tree_free(&tree);
	}
	json_newline(&j);
	json_end(&j);
	if (counts)
		json_end(&j);
	json_newline(&j);
	json_free(&j);
}

int cmd_list(int argc, char **argv)
{
	struct cmd_source src = CMD_SOURCE_DEFAULT;
	const char *sort = "start", *glob = NULL, *color = "auto";
	double min_ms = 0;
	unsigned long long limit = ~0ull;
	bool json = false, counts = false, wide = false;
	struct cli_parser p;
	cli_init(&p, "list", argc, argv);
	for (int o; (o = cli_next(&p)) != CLI_END;) {
		switch (o) {
		case CLI_HELP: return 0;
		case CLI_ERROR: return 2;
		case O_JSON: json = true; break;
		case O_COUNTS: counts = true; break;
		case O_WIDE: wide = true; break;
		case O_NAME: glob = p.arg; break;
		case O_COLOR: color = p.arg; break;
		case O_SORT:
			sort = p.arg;
			if (strcmp(sort, "duration") && strcmp(sort, "start") && strcmp(sort, "name"))
				return msg_usagef("list", "--sort takes duration, start or name, not '%s'", sort);
			break;
		case O_MIN:
		case O_LIMIT:
			if (cmd_bound_opt(&p, o, &min_ms, &limit) < 0)
				return 2;
			break;
		default:
			if (cmd_source_opt("list", &src, o, p.arg) < 0)
				return 2;
			break;
		}
	}
	if (cmd_color_ok("list", color))
		return 2;
	if (p.ind < argc)
		return msg_usagef("list", "unexpected argument '%s'", argv[p.ind]);
	struct cmd_set set;
	if (cmd_open_set(&src, &set))
		return 1;
	fmt_color_setup(color);
	struct totals tot = sum(&set);
	struct row *rows = calloc(tot.ntraces ? tot.ntraces : 1, sizeof *rows);
	if (!rows) {
		msg_errorf("out of memory");
		cmd_close_set(&set);
		return 1;
	}
	size_t n = 0, order = 0;
	for (size_t k = 0; k < set.n; k++) {
		struct rd_dump *d = &set.d[k];
		for (size_t i = 0; i < d->ntraces; i++) {
			const struct rd_dump_trace *t = &d->traces[i];
			struct row r = { d, i, order++, root_name(d, t), rd_dump_ns(d, t->t1 - t->t0) };
			if (glob && fnmatch(glob, r.name, 0))
				continue;
			if ((double)r.dur_ns < min_ms * 1e6)
				continue;
			rows[n++] = r;
		}
	}
	if (!strcmp(sort, "duration"))
		qsort(rows, n, sizeof *rows, by_duration);
	else if (!strcmp(sort, "name"))
		qsort(rows, n, sizeof *rows, by_name);
	else if (set.n > 1)
		qsort(rows, n, sizeof *rows, by_start);
	if (n > limit)
		n = (size_t)limit;
	/* A pid column only when the traces come from several processes, so
	 * that one dump lists as it always has. */
	bool pids = set.many_pids;
	if (json) {
		print_json(&tot, rows, n, counts, pids);
	} else if (tot.ntraces == 0) {
		if (set.n == 1)
			msg_errorf("no traces in %s; run the program with SPANPROF_ENABLED=1 (see 'spanprof help env')",
				  set.d[0].path);
		else
			msg_errorf("no traces in %zu dumps; run the program with SPANPROF_ENABLED=1 (see 'spanprof help env')",
				  set.n);
	} else {
		/* Ids that differ late (SQL statements) must be told apart: the
		 * id column takes what the terminal leaves, at least 24, and
		 * --wide the whole ids. */
		int nw = 4, iw = 2, room = 24;
		for (size_t i = 0; i < n; i++) {
			int a = (int)strlen(rows[i].name);
			nw = a > nw ? (a > 40 ? 40 : a) : nw;
		}
		int left = terminal_width() - 78 - nw - (pids ? 10 : 0);
		room = left > room ? left : room;
		for (size_t i = 0; i < n; i++) {
			int b = (int)strlen(rows[i].d->traces[rows[i].index].id);
			iw = b > iw ? (wide || b <= room ? b : room) : iw;
		}
		printf("%s", fmt_c(C_BOLD));
		if (pids)
			printf("%8s  ", "pid");
		printf("%6s  %-*s  %-*s  %10s  %10s  %-23s  %8s  %7s%s\n", "#", nw, "name", iw, "id", "total ms", "cpu ms",
		       "start", "thread", "spans", fmt_c(C_RESET));
		if (pids)
			printf("--------  ");
		printf("------  %.*s  ", nw, "----------------------------------------");
		for (int k = 0; k < iw; k++)
			putchar('-');
		printf("  ----------  ----------  -----------------------  --------  -------\n");
		for (size_t i = 0; i < n; i++) {
			struct rd_dump *d = rows[i].d;
			const struct rd_dump_trace *t = &d->traces[rows[i].index];
			char ms[32], cpu[32], wall[64];
			const char *id = t->id;
			char *idb = NULL;
			if ((int)strlen(id) > iw && (idb = malloc((size_t)iw + 1))) { /* cut, and say so */
				snprintf(idb, (size_t)iw + 1, "%.*s...", iw - 3, id);
				id = idb;
			}
			if (pids)
				printf("%8llu  ", (unsigned long long)d->pid);
			printf("%6llu  %-*.*s  %-*.*s  %10s  %10s  %-23s  %8llu  %7u%s\n", (unsigned long long)t->seq, nw,
			       nw, rows[i].name, iw, iw, id, fmt_ms(ms, sizeof ms, rows[i].dur_ns),
			       t->cpu_measured ? fmt_ms(cpu, sizeof cpu, t->cpu_ns) : "-",
			       fmt_wall(wall, sizeof wall, rd_dump_wall_ns(d, t->t0)), (unsigned long long)t->tid,
			       t->nrec,
			       t->flags & SP_TRACE_UNFINISHED ? "  (unfinished)"
			       : t->dropped		      ? "  (truncated)"
			       : t->flags & SP_TRACE_KEPT     ? "  (kept: slowest)"
							      : "");
			free(idb);
		}
		if (n < tot.ntraces)
			printf("(%zu of %zu traces)\n", n, tot.ntraces);
	}
	if (!json && any_loss(&tot))
		print_footer(&tot);
	for (size_t k = 0; !json && k < set.n; k++)
		if (set.d[k].unclean)
			printf("the program (pid %llu) did not exit cleanly: %zu trace%s still open when it ended, shown as unfinished\n",
			       (unsigned long long)set.d[k].pid, set.d[k].unfinished,
			       set.d[k].unfinished == 1 ? " was" : "s were");
	free(rows);
	cmd_close_set(&set);
	return 0;
}
