/* common.c - see common.h. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "msg.h"
#include "read/live.h"

int cmd_open(const char *path, long pid, struct rd_dump *d)
{
	char live[PATH_MAX * 2];
	if (pid) {
		if (live_command(pid, SP_CTL_DUMP, live, sizeof live)) {
			memset(d, 0, sizeof *d);
			return 1;
		}
		path = live;
	}
	char err[1024];
	if (rd_dump_open(path, d, err, sizeof err) == 0)
		return 0;
	msg_errorf("%s", err);
	rd_dump_close(d);
	return 1;
}

FILE *cmd_create(const char *path)
{
	/* O_NONBLOCK so that open(2) on a FIFO nobody reads fails (ENXIO)
	 * instead of blocking; cleared before writing, so that a slow reader
	 * is waited for as usual. */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0666);
	if (fd < 0) {
		if (errno == ENXIO)
			msg_errorf("cannot write %s: a FIFO with no reader", path);
		else
			msg_errorf("cannot write %s: %s", path, strerror(errno));
		return NULL;
	}
	int fl = fcntl(fd, F_GETFL);
	FILE *f = NULL;
	if (fl != -1 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != -1)
		f = fdopen(fd, "w");
	if (!f) {
		msg_errorf("cannot write %s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

/* Every -f of the command line, in order: the strings are argv's; the
 * array lives as long as the command (one command per process). */
static const char **given_files;
static size_t given_cap;

int cmd_source_opt(const char *cmd, struct cmd_source *s, int o, const char *arg)
{
	if (o == 'f') {
		if (s->nfiles >= given_cap) {
			size_t cap = given_cap ? given_cap * 2 : 8;
			const char **v = realloc(given_files, cap * sizeof *v);
			if (!v) {
				msg_errorf("out of memory");
				return -1;
			}
			given_files = v;
			given_cap = cap;
		}
		s->files = given_files;
		s->files[s->nfiles++] = arg;
		s->file = arg;
		return 1;
	}
	if (o == 'p')
		return live_pid(cmd, arg, &s->pid) ? -1 : 1;
	return 0;
}

void cmd_close(struct rd_dump *d)
{
	rd_names_free(d);
	rd_dump_close(d);
}

long cmd_pick(const char *cmd, struct rd_dump *d, const char *spec)
{
	if (d->ntraces == 0) {
		msg_errorf("no traces in %s; run the program with SPANPROF_ENABLED=1", d->path);
		return -1;
	}
	if (!strcmp(spec, "first"))
		return 0;
	if (!strcmp(spec, "last"))
		return (long)d->ntraces - 1;
	if (!strcmp(spec, "slowest")) {
		size_t best = 0;
		for (size_t i = 1; i < d->ntraces; i++)
			if (d->traces[i].t1 - d->traces[i].t0 > d->traces[best].t1 - d->traces[best].t0)
				best = i;
		return (long)best;
	}
	const char *s = spec[0] == '#' ? spec + 1 : spec;
	char *end;
	unsigned long long seq = strtoull(s, &end, 10);
	if (!*s || *end || *s == '-') {
		msg_usagef(cmd, "'%s' is not a trace number (or first, last, slowest)", spec);
		return -2;
	}
	long i = rd_dump_find(d, seq);
	if (i < 0)
		msg_errorf("no trace #%llu in %s (traces #%llu..#%llu)", seq, d->path,
			  (unsigned long long)d->traces[0].seq, (unsigned long long)d->traces[d->ntraces - 1].seq);
	return i;
}

int cmd_tree(struct rd_dump *d, size_t index, struct rd_tree *t)
{
	char err[1024];
	if (rd_tree_load(d, index, t, err, sizeof err) == 0)
		return 0;
	msg_errorf("%s", err);
	return 1;
}

/* Follow a path of names separated by '/'. */
static const sp_node *find_path(const sp_node *node, const char *path)
{
	while (node && *path) {
		const char *slash = strchr(path, '/');
		size_t len = slash ? (size_t)(slash - path) : strlen(path);
		const sp_node *hit = NULL;
		for (const sp_node *c = node->first_child; c && !hit; c = c->next_sibling)
			if (strlen(c->name) == len && !memcmp(c->name, path, len))
				hit = c;
		node = hit;
		path = slash ? slash + 1 : path + len;
	}
	return node;
}

const sp_node *cmd_zoom(const struct rd_tree *t, const char *zoom)
{
	if (!zoom)
		return t->root;
	char *end;
	unsigned long n = strtoul(zoom, &end, 10);
	if (*zoom && !*end) {
		if (n >= t->dec.nnodes) {
			msg_errorf("no node %lu in trace #%llu (nodes 0..%u)", n, (unsigned long long)t->tr->seq,
				  t->dec.nnodes - 1);
			return NULL;
		}
		return &t->dec.nodes[n];
	}
	const char *p = zoom;
	size_t rl = strlen(t->root->name);
	if (!strncmp(p, t->root->name, rl) && (p[rl] == '/' || p[rl] == '\0'))
		p += rl + (p[rl] == '/');
	const sp_node *node = find_path(t->root, p);
	if (!node)
		msg_errorf("no span '%s' in trace #%llu (a path of names from the root, or a node number)", zoom,
			  (unsigned long long)t->tr->seq);
	return node;
}

int cmd_color_ok(const char *cmd, const char *when)
{
	if (!strcmp(when, "auto") || !strcmp(when, "always") || !strcmp(when, "never"))
		return 0;
	return msg_usagef(cmd, "--color takes auto, always or never, not '%s'", when);
}

int cmd_one_trace(const char *cmd, const struct cmd_source *src, int argc, char **argv, int ind, const char *zoom,
		  struct cmd_set *set, struct rd_dump **d, struct rd_tree *t, const sp_node **node)
{
	if (ind >= argc)
		return msg_usagef(cmd, "which trace? give its number from 'spanprof list' (or slowest)");
	if (ind + 1 < argc)
		return msg_usagef(cmd, "one trace at a time ('%s' is extra)", argv[ind + 1]);
	if (cmd_open_set(src, set))
		return 1;
	struct cmd_ref r;
	int i = cmd_pick_set(cmd, set, argv[ind], &r);
	if (i < 0) {
		cmd_close_set(set);
		return i == -2 ? 2 : 1;
	}
	*d = r.d;
	if (cmd_tree(r.d, r.index, t)) {
		cmd_close_set(set);
		return 1;
	}
	*node = cmd_zoom(t, zoom);
	if (!*node) {
		rd_tree_free(t);
		cmd_close_set(set);
		return 1;
	}
	return 0;
}

/* A pattern the shell left alone (quoted, or no match there): expanded
 * here, unless a file has that very name. */
static bool is_glob(const char *p)
{
	return strpbrk(p, "*?[") && access(p, F_OK) != 0;
}

static int add_path(char ***v, size_t *n, size_t *cap, const char *p)
{
	if (*n >= *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		char **nv = realloc(*v, c * sizeof *nv);
		if (!nv)
			return -1;
		*v = nv;
		*cap = c;
	}
	if (!((*v)[*n] = strdup(p)))
		return -1;
	(*n)++;
	return 0;
}

/* The paths the -f options name, globs expanded; NULL after saying why. */
static char **expand(const struct cmd_source *s, size_t *np)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	bool ok = true;
	for (size_t i = 0; i < s->nfiles && ok; i++) {
		const char *f = s->files[i];
		if (!is_glob(f)) {
			ok = add_path(&v, &n, &cap, f) == 0;
			if (!ok)
				msg_errorf("out of memory");
			continue;
		}
		glob_t g;
		int r = glob(f, 0, NULL, &g);
		if (r == GLOB_NOMATCH) {
			msg_errorf("no dump matches '%s'", f);
			ok = false;
		} else if (r) {
			msg_errorf("cannot expand '%s': %s", f, r == GLOB_NOSPACE ? "out of memory" : "read error");
			ok = false;
		}
		for (size_t k = 0; ok && k < g.gl_pathc; k++)
			if (add_path(&v, &n, &cap, g.gl_pathv[k])) {
				msg_errorf("out of memory");
				ok = false;
			}
		if (r != GLOB_NOMATCH)
			globfree(&g);
	}
	if (!ok) {
		for (size_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return NULL;
	}
	*np = n;
	return v;
}

int cmd_open_set(const struct cmd_source *s, struct cmd_set *set)
{
	memset(set, 0, sizeof *set);
	if (s->pid || s->nfiles == 0) {
		set->d = calloc(1, sizeof *set->d);
		if (!set->d) {
			msg_errorf("out of memory");
			return 1;
		}
		if (cmd_open(s->pid ? NULL : s->file, s->pid, set->d)) {
			free(set->d);
			set->d = NULL;
			return 1;
		}
		set->n = 1;
		return 0;
	}
	size_t np = 0;
	char **paths = expand(s, &np);
	if (!paths)
		return 1;
	int rc = 0;
	set->d = calloc(np, sizeof *set->d);
	if (!set->d) {
		msg_errorf("out of memory");
		rc = 1;
	}
	for (size_t i = 0; i < np && !rc; i++) {
		if (cmd_open(paths[i], 0, &set->d[i]))
			rc = 1;
		else
			set->n++;
	}
	for (size_t i = 0; i < np; i++)
		free(paths[i]);
	free(paths);
	if (rc) {
		cmd_close_set(set);
		return 1;
	}
	for (size_t i = 1; i < set->n; i++)
		if (set->d[i].pid != set->d[0].pid)
			set->many_pids = true;
	return 0;
}

void cmd_close_set(struct cmd_set *set)
{
	for (size_t i = 0; set->d && i < set->n; i++)
		cmd_close(&set->d[i]);
	free(set->d);
	memset(set, 0, sizeof *set);
}

struct cmd_ref *cmd_set_all(const struct cmd_set *set, size_t *n)
{
	size_t total = 0;
	for (size_t i = 0; i < set->n; i++)
		total += set->d[i].ntraces;
	struct cmd_ref *r = calloc(total ? total : 1, sizeof *r);
	*n = 0;
	if (!r) {
		msg_errorf("out of memory");
		return NULL;
	}
	for (size_t i = 0; i < set->n; i++)
		for (size_t k = 0; k < set->d[i].ntraces; k++)
			r[(*n)++] = (struct cmd_ref){ &set->d[i], k };
	return r;
}

int cmd_pick_set(const char *cmd, const struct cmd_set *set, const char *spec, struct cmd_ref *r)
{
	/* PID:SEQ narrows the dumps to that process's. */
	struct rd_dump *cand[set->n ? set->n : 1];
	size_t nc = 0;
	const char *colon = strchr(spec, ':');
	if (colon) {
		char *end;
		unsigned long long pid = strtoull(spec, &end, 10);
		if (end != colon || spec == colon) {
			msg_usagef(cmd, "'%s' is not PID:SEQ (a process id, ':', a trace number)", spec);
			return -2;
		}
		for (size_t i = 0; i < set->n; i++)
			if (set->d[i].pid == pid)
				cand[nc++] = &set->d[i];
		if (!nc) {
			msg_errorf("no dump of process %llu among the %zu read", pid, set->n);
			return -1;
		}
		spec = colon + 1;
	} else {
		for (size_t i = 0; i < set->n; i++)
			cand[nc++] = &set->d[i];
	}
	if (nc == 1) {
		long i = cmd_pick(cmd, cand[0], spec);
		if (i < 0)
			return (int)i;
		*r = (struct cmd_ref){ cand[0], (size_t)i };
		return 0;
	}
	size_t total = 0;
	for (size_t i = 0; i < nc; i++)
		total += cand[i]->ntraces;
	if (!total) {
		msg_errorf("no traces in %zu dumps; run the program with SPANPROF_ENABLED=1", nc);
		return -1;
	}
	bool first = !strcmp(spec, "first"), last = !strcmp(spec, "last"), slow = !strcmp(spec, "slowest");
	if (first || last || slow) {
		/* Across processes: by wall-clock start, or by duration. */
		bool have = false;
		uint64_t best = 0;
		for (size_t i = 0; i < nc; i++)
			for (size_t k = 0; k < cand[i]->ntraces; k++) {
				const struct rd_dump_trace *t = &cand[i]->traces[k];
				uint64_t v = slow ? rd_dump_ns(cand[i], t->t1 - t->t0) : rd_dump_wall_ns(cand[i], t->t0);
				if (!have || (first ? v < best : v > best)) {
					have = true;
					best = v;
					*r = (struct cmd_ref){ cand[i], k };
				}
			}
		return 0;
	}
	const char *s = spec[0] == '#' ? spec + 1 : spec;
	char *end;
	unsigned long long seq = strtoull(s, &end, 10);
	if (!*s || *end || *s == '-') {
		msg_usagef(cmd, "'%s' is not a trace number (or PID:SEQ, first, last, slowest)", spec);
		return -2;
	}
	size_t hits = 0;
	char pids[256] = "";
	size_t pl = 0;
	for (size_t i = 0; i < nc; i++) {
		long k = rd_dump_find(cand[i], seq);
		if (k < 0)
			continue;
		if (!hits++)
			*r = (struct cmd_ref){ cand[i], (size_t)k };
		if (pl < sizeof pids - 32)
			pl += (size_t)snprintf(pids + pl, sizeof pids - pl, "%s%llu", pl ? ", " : "",
					       (unsigned long long)cand[i]->pid);
	}
	if (hits == 1)
		return 0;
	if (!hits) {
		msg_errorf("no trace #%llu in the %zu dumps read", seq, nc);
		return -1;
	}
	if (colon) /* one process, several dumps: the first is as good as any */
		return 0;
	msg_errorf("trace #%llu is in %zu dumps (processes %s): say which as PID:SEQ, e.g. '%s %llu:%llu'", seq,
		  hits, pids, cmd, (unsigned long long)r->d->pid, seq);
	return -1;
}
