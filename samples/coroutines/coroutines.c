/* coroutines.c - one thread serving several requests by turns, as an event
 * loop with coroutines does: each request runs on its own stack
 * (ucontext) and gives the thread up while it "waits" for its database.
 * Before each switch it detaches its open spans with sp_context_save and
 * reattaches them with sp_context_restore when it is resumed, so each
 * request stays one tree although their times interleave on one thread.
 *
 *   SPANPROF_ENABLED=1 ./coroutines && spanprof list
 *   spanprof export --format chrome -o co.json   (overlapping traces: lanes)
 *   usage: coroutines [REQUESTS]   (default 6, served 3 at a time)
 */
#include <spanprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

#define AT_ONCE 3
#define STACK_SIZE (128 * 1024)

struct co {
	ucontext_t uc;
	sp_context *spans; /* detached while the request is not running */
	int id, done;
	unsigned long result;
	char stack[STACK_SIZE];
};

static ucontext_t loop_uc;
static struct co *running;

/* Give the thread back to the loop; carry this request's spans along. */
static void co_yield(void)
{
	struct co *me = running;
	me->spans = sp_context_save();
	swapcontext(&me->uc, &loop_uc);
	if (sp_context_restore(me->spans) != 0)
		fprintf(stderr, "coroutines: could not restore the spans of request %d\n", me->id);
	me->spans = NULL;
}

static unsigned long parse(int id)
{
	unsigned long h = 5381;
	for (int i = 0; i < 2000 + 300 * id; i++)
		h = h * 33 + (unsigned long)i;
	return h;
}

static unsigned long query(unsigned long key, int waits)
{
	for (int i = 0; i < waits; i++) {
		SP_CUMULATIVE("db_wait") {
			co_yield(); /* the other requests run meanwhile */
		}
		key = key * 6364136223846793005ul + 1442695040888963407ul;
	}
	return key;
}

static void serve(int id)
{
	struct co *me = running;
	char rid[16];
	snprintf(rid, sizeof rid, "req-%d", id);
	SP_TRACE("request", rid) {
		unsigned long v = 0;
		SP_SPAN("parse") {
			v = parse(id);
		}
		SP_SPAN("query") {
			sp_span_set_i64(sp_current_span(), "waits", 1 + id % 3);
			v = query(v, 1 + id % 3);
		}
		SP_SPAN("render") {
			v ^= parse(id + 1);
		}
		me->result = v;
	}
	me->done = 1;
}

static void co_main(void)
{
	serve(running->id);
}

/* A new request on a fresh stack (the ucontext calls live in small
 * functions of their own: they return twice, like setjmp). */
static void co_start(struct co *c, int id)
{
	c->id = id;
	c->done = 0;
	getcontext(&c->uc);
	c->uc.uc_stack.ss_sp = c->stack;
	c->uc.uc_stack.ss_size = sizeof c->stack;
	c->uc.uc_link = &loop_uc;
	makecontext(&c->uc, co_main, 0);
}

/* Run a request until it yields or ends. */
static void co_resume(struct co *c)
{
	running = c;
	swapcontext(&loop_uc, &c->uc);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 6;
	if (argc > 2 || n <= 0 || n > 1000) {
		fprintf(stderr, "usage: coroutines [REQUESTS]\n");
		return 2;
	}
	struct co *cos = calloc(AT_ONCE, sizeof *cos);
	if (!cos)
		return 1;
	unsigned long sum = 0;
	for (int first = 0; first < n; first += AT_ONCE) {
		int k = n - first < AT_ONCE ? n - first : AT_ONCE;
		for (int i = 0; i < k; i++)
			co_start(&cos[i], first + i + 1);
		/* Round-robin over the live requests until all are done. */
		for (int live = k; live;) {
			live = 0;
			for (int i = 0; i < k; i++) {
				if (cos[i].done)
					continue;
				co_resume(&cos[i]);
				if (!cos[i].done)
					live++;
				else
					sum += cos[i].result;
			}
		}
	}
	printf("coroutines: %d requests, %d at a time, checksum 0x%08lx\n", n, AT_ONCE, sum & 0xffffffffu);
	free(cos);
	return 0;
}
