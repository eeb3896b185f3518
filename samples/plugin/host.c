/* host.c - loads an instrumented plugin with dlopen, runs requests through
 * it (each a trace), closes it, loads it again, and runs more.
 *
 *   SPANPROF_TRACE_CALLS=run_request ./plugin_host && spanprof show last
 *   usage: plugin_host [PLUGIN.so]   (default: libplugin_filter.so next to it)
 */
#include <dlfcn.h>
#include <limits.h>
#include <spanprof.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef int (*filter_fn)(const char **rows, int n, const char *needle);

static const char *rows[] = { "alpha beta", "gamma delta", "beta epsilon", "zeta beta eta", "theta" };

static int run_request(filter_fn f, int i)
{
	return f(rows, 5, i % 2 ? "beta" : "eta");
}

static int session(const char *path, int first, int n, long *sum)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "plugin_host: %s\n", dlerror());
		return -1;
	}
	filter_fn f = (filter_fn)dlsym(h, "filter_rows");
	if (!f) {
		fprintf(stderr, "plugin_host: no filter_rows in %s\n", path);
		dlclose(h);
		return -1;
	}
	for (int i = first; i < first + n; i++) {
		char id[16];
		snprintf(id, sizeof id, "req-%d", i);
		SP_TRACE("plugin_request", id) {
			*sum += run_request(f, i);
		}
	}
	return dlclose(h);
}

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	if (argc > 1) {
		snprintf(path, sizeof path, "%s", argv[1]);
	} else {
		ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
		if (n <= 0)
			return 1;
		path[n] = '\0';
		char *slash = strrchr(path, '/');
		strcpy(slash ? slash + 1 : path, "libplugin_filter.so");
	}
	long sum = 0;
	if (session(path, 0, 5, &sum) || session(path, 5, 5, &sum))
		return 1;
	printf("plugin_host: 10 requests in 2 sessions, checksum %ld\n", sum);
	return 0;
}
