/* cmd/stats.c - `spanprof stats`: per trace name, every trace that ended,
 * stored or not (issue 11): how many were seen, stored, evicted and
 * filtered, and the percentiles of their durations from the runtime's
 * log-linear histograms (format.h SP_HIST_*: within 0.8%), then the
 * store's totals. Reads a dump, a flight file (after a crash too) or a
 * live process (-p). */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "format.h"
#include "msg.h"
#include "render/fmt.h"
#include "render/json.h"

enum { O_JSON = 'j' };

const struct cli_opt stats_opts[] = {
	CMD_OPT_FILE,
	CMD_OPT_PID,
	{ 0, "json", NULL, "print the figures as a JSON object", O_JSON },
	{ 0 },
};

struct name_stats {
	const char *name;
	struct sp__hist_entry h; /* merged over the dumps, in the first one's ticks */
	const struct rd_dump *d; /* whose clock converts the ticks */
	uint64_t stored;
};

static const char *site_name(struct rd_dump *d, uint64_t site)
{
	return site && site <= d->nsites ? rd_site_name(d, (uint32_t)site) : "?";
}

/* The value at quantile q, in ticks: the midpoint of the bucket holding
 * the rank-th smallest, within [min, max]. */
static uint64_t quantile(const struct sp__hist_entry *h, double q)
{
	uint64_t total = 0;
	for (uint32_t b = 0; b < SP_HIST_BUCKETS; b++)
		total += h->counts[b];
	if (!total)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)total + 0.999999);
	rank = rank < 1 ? 1 : rank > total ? total : rank;
	uint64_t acc = 0;
	for (uint32_t b = 0; b < SP_HIST_BUCKETS; b++) {
		acc += h->counts[b];
		if (acc >= rank) {
			uint64_t w, lo = sp__hist_low(b, &w);
			uint64_t v = lo + w / 2;
			return v < h->min ? h->min : v > h->max ? h->max : v;
		}
	}
	return h->max;
}

static const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
static const char *const qnames[] = { "p50_ns", "p90_ns", "p99_ns", "p999_ns" };

/* Every name's statistics over the dumps (*n of them), or NULL when out
 * of memory; the caller frees. */
static struct name_stats *stats_gather(struct rd_dump *ds, size_t nd, size_t *np)
{
	size_t cap = 0;
	for (size_t k = 0; k < nd; k++)
		cap += ds[k].nstats;
	struct name_stats *v = calloc(cap ? cap : 1, sizeof *v);
	if (!v)
		return NULL;
	size_t n = 0;
	for (size_t k = 0; k < nd; k++) {
		struct rd_dump *d = &ds[k];
		for (uint32_t i = 0; i < d->nstats; i++) {
			const struct sp__hist_entry *e = &d->stats[i];
			const char *nm = site_name(d, e->site);
			size_t j = 0;
			while (j < n && strcmp(v[j].name, nm))
				j++;
			if (j == n) {
				v[n].name = nm;
				v[n].d = d;
				v[n].h.min = e->min;
				n++;
			}
			struct sp__hist_entry *h = &v[j].h;
			h->seen += e->seen;
			h->sum += e->sum;
			h->filtered += e->filtered;
			h->evicted += e->evicted;
			h->min = e->min && e->min < h->min ? e->min : h->min ? h->min : e->min;
			h->max = e->max > h->max ? e->max : h->max;
			for (uint32_t b = 0; b < SP_HIST_BUCKETS; b++)
				h->counts[b] += e->counts[b];
		}
	}
	/* stored: the traces of the name in the store now */
	for (size_t k = 0; k < nd; k++) {
		struct rd_dump *d = &ds[k];
		for (size_t i = 0; i < d->ntraces; i++) {
			uint32_t head;
			memcpy(&head, d->traces[i].stream, 4);
			const char *nm = site_name(d, head & SP_REC_SITE_MASK);
			for (size_t j = 0; j < n; j++)
				if (!strcmp(v[j].name, nm)) {
					v[j].stored++;
					break;
				}
		}
	}
	*np = n;
	return v;
}

void stats_json_names(struct json *j, const char *key, struct rd_dump *ds, size_t nd)
{
	size_t n;
	struct name_stats *v = stats_gather(ds, nd, &n);
	json_array(j, key);
	for (size_t i = 0; v && i < n; i++) {
		const struct name_stats *s = &v[i];
		json_object(j, NULL);
		json_str(j, "name", s->name);
		json_u64(j, "seen", s->h.seen);
		json_u64(j, "stored", s->stored);
		json_u64(j, "evicted", s->h.evicted);
		json_u64(j, "filtered", s->h.filtered);
		json_u64(j, "min_ns", rd_dump_ns(s->d, s->h.min));
		for (int q = 0; q < 4; q++)
			json_u64(j, qnames[q], rd_dump_ns(s->d, quantile(&s->h, qs[q])));
		json_u64(j, "max_ns", rd_dump_ns(s->d, s->h.max));
		json_u64(j, "mean_ns", s->h.seen ? rd_dump_ns(s->d, s->h.sum / s->h.seen) : 0);
		json_end(j);
	}
	json_end(j);
	free(v);
}

int cmd_stats(int argc, char **argv)
{
	struct cmd_source src = CMD_SOURCE_DEFAULT;
	bool json = false;
	struct cli_parser p;
	cli_init(&p, "stats", argc, argv);
	for (int o; (o = cli_next(&p)) != CLI_END;) {
		switch (o) {
		case CLI_HELP: return 0;
		case CLI_ERROR: return 2;
		case O_JSON: json = true; break;
		default:
			if (cmd_source_opt("stats", &src, o, p.arg) < 0)
				return 2;
			break;
		}
	}
	if (p.ind < argc)
		return msg_usagef("stats", "unexpected argument '%s'", argv[p.ind]);
	struct cmd_set set;
	if (cmd_open_set(&src, &set))
		return 1;
	size_t n;
	struct name_stats *v = stats_gather(set.d, set.n, &n);
	if (!v) {
		msg_errorf("out of memory");
		cmd_close_set(&set);
		return 1;
	}
	uint64_t seen = 0, evicted = 0, filtered = 0, dropped_spans = 0, bytes = 0, budget = 0, stored = 0;
	for (size_t k = 0; k < set.n; k++) {
		const struct rd_dump *d = &set.d[k];
		seen += d->committed + d->traces_dropped + d->filtered;
		evicted += d->evicted;
		filtered += d->filtered;
		dropped_spans += d->dropped;
		budget += (uint64_t)d->buffer_mb << 20;
		stored += d->ntraces;
		for (size_t i = 0; i < d->ntraces; i++)
			bytes += d->traces[i].stream_len;
	}
	if (json) {
		struct json j;
		json_init(&j, stdout);
		json_object(&j, NULL);
		stats_json_names(&j, "names", set.d, set.n);
		json_object(&j, "totals");
		json_u64(&j, "seen", seen);
		json_u64(&j, "stored", stored);
		json_u64(&j, "evicted", evicted);
		json_u64(&j, "filtered", filtered);
		json_u64(&j, "dropped_spans", dropped_spans);
		json_u64(&j, "bytes_used", bytes);
		json_u64(&j, "budget_bytes", budget);
		json_end(&j);
		json_end(&j);
		json_newline(&j);
		json_free(&j);
	} else {
		if (!n)
			printf("no statistics (a dump of an older spanprof, or no trace ended)\n");
		else
			printf("%-24s  %8s  %7s  %8s  %8s  %10s  %10s  %10s  %10s  %10s  %10s  %10s\n", "name", "seen",
			       "stored", "evicted", "filtered", "min ms", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms",
			       "max ms", "mean ms");
		for (size_t i = 0; i < n; i++) {
			const struct name_stats *s = &v[i];
			char b[7][32];
			printf("%-24.24s  %8llu  %7llu  %8llu  %8llu  %10s  %10s  %10s  %10s  %10s  %10s  %10s\n", s->name,
			       (unsigned long long)s->h.seen, (unsigned long long)s->stored,
			       (unsigned long long)s->h.evicted, (unsigned long long)s->h.filtered,
			       fmt_ms(b[0], 32, rd_dump_ns(s->d, s->h.min)),
			       fmt_ms(b[1], 32, rd_dump_ns(s->d, quantile(&s->h, qs[0]))),
			       fmt_ms(b[2], 32, rd_dump_ns(s->d, quantile(&s->h, qs[1]))),
			       fmt_ms(b[3], 32, rd_dump_ns(s->d, quantile(&s->h, qs[2]))),
			       fmt_ms(b[4], 32, rd_dump_ns(s->d, quantile(&s->h, qs[3]))),
			       fmt_ms(b[5], 32, rd_dump_ns(s->d, s->h.max)),
			       fmt_ms(b[6], 32, s->h.seen ? rd_dump_ns(s->d, s->h.sum / s->h.seen) : 0));
		}
		printf("store: %llu traces seen, %llu stored, %llu evicted, %llu filtered; %llu spans dropped; "
		       "%.1f of %.0f MiB used\n",
		       (unsigned long long)seen, (unsigned long long)stored, (unsigned long long)evicted,
		       (unsigned long long)filtered, (unsigned long long)dropped_spans, (double)bytes / 1048576.0,
		       (double)budget / 1048576.0);
	}
	free(v);
	cmd_close_set(&set);
	return 0;
}
