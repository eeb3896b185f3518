/* common.c - see common.h. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
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

int cmd_source_opt(const char *cmd, struct cmd_source *s, int o, const char *arg)
{
	if (o == 'f') {
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

int cmd_one_trace(const char *cmd, const char *file, long pid, int argc, char **argv, int ind, const char *zoom,
		  struct rd_dump *d, struct rd_tree *t, const sp_node **node)
{
	if (ind >= argc)
		return msg_usagef(cmd, "which trace? give its number from 'spanprof list' (or slowest)");
	if (ind + 1 < argc)
		return msg_usagef(cmd, "one trace at a time ('%s' is extra)", argv[ind + 1]);
	if (cmd_open(file, pid, d))
		return 1;
	long i = cmd_pick(cmd, d, argv[ind]);
	if (i < 0) {
		cmd_close(d);
		return i == -2 ? 2 : 1;
	}
	if (cmd_tree(d, (size_t)i, t)) {
		cmd_close(d);
		return 1;
	}
	*node = cmd_zoom(t, zoom);
	if (!*node) {
		rd_tree_free(t);
		cmd_close(d);
		return 1;
	}
	return 0;
}
