/* hist.c - statistics over all traffic (issue 11): every trace that ends,
 * stored or not, adds to a fixed-size log-linear histogram of its name
 * (its root span's site; format.h SP_HIST_*), so that percentiles cover
 * what the store evicted or never stored.
 *
 * One table of SP_HIST_NAMES entries, open addressing on the site id; an
 * entry is claimed with one compare-and-swap and then only counted into
 * with relaxed atomic adds: no lock, one add per bucket per trace end
 * (a trace's end, never a span's). With a flight file the table is in the
 * file (a reader after a crash, or of a live process, reads it as it is);
 * else it is mapped at start. Names past the table's size are not counted
 * (sp__g.hist_full says how many traces).
 */
#include "stack.h"

#include <string.h>

static struct sp__hist_entry *table;

void sp__hist_init(void)
{
	table = sp__fl.hist ? sp__fl.hist : sp__map((size_t)SP_HIST_NAMES * sizeof *table);
}

struct sp__hist_entry *sp__hist_table(void)
{
	return table;
}

static struct sp__hist_entry *find(uint32_t site, bool add)
{
	if (!table || !site)
		return NULL;
	uint32_t i = (site * 2654435761u) % SP_HIST_NAMES;
	for (uint32_t n = 0; n < SP_HIST_NAMES; n++, i = (i + 1) % SP_HIST_NAMES) {
		struct sp__hist_entry *e = &table[i];
		uint64_t k = __atomic_load_n(&e->site, __ATOMIC_ACQUIRE);
		if (k == site)
			return e;
		if (k)
			continue;
		if (!add)
			return NULL;
		uint64_t zero = 0;
		if (__atomic_compare_exchange_n(&e->site, &zero, site, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ||
		    zero == site)
			return e;
	}
	return NULL;
}

void sp__hist_add(uint32_t site, uint64_t ticks)
{
	struct sp__hist_entry *e = find(site, true);
	if (!e)
		return;
	__atomic_fetch_add(&e->counts[sp__hist_bucket(ticks)], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&e->sum, ticks, __ATOMIC_RELAXED);
	uint64_t m = __atomic_load_n(&e->min, __ATOMIC_RELAXED);
	while ((m == 0 || ticks < m) &&
	       !__atomic_compare_exchange_n(&e->min, &m, ticks ? ticks : 1, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	m = __atomic_load_n(&e->max, __ATOMIC_RELAXED);
	while (ticks > m && !__atomic_compare_exchange_n(&e->max, &m, ticks, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	/* seen last: a reader taking seen as the count finds the buckets at least as full */
	__atomic_fetch_add(&e->seen, 1, __ATOMIC_RELEASE);
}

void sp__hist_note(uint32_t site, bool filtered)
{
	struct sp__hist_entry *e = find(site, false);
	if (e)
		__atomic_fetch_add(filtered ? &e->filtered : &e->evicted, 1, __ATOMIC_RELAXED);
}

void sp__hist_fork_child(void)
{
	if (table) /* the file's area too: it is a private copy in the child */
		memset(table, 0, (size_t)SP_HIST_NAMES * sizeof *table);
}
