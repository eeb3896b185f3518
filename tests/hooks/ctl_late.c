/* ctl_late.c - a program not linked with spanprof that loads an
 * instrumented library (and so the runtime) only when told: prints
 * "waiting", dlopens argv[1] after a line on standard input, prints
 * "loaded", and exits when standard input closes. Run with SPANPROF_SIGNAL
 * set, it is a process whose runtime is not there yet. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	puts("waiting");
	fflush(stdout);
	if (getchar() == EOF)
		return 0;
	if (!dlopen(argv[1], RTLD_NOW)) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	puts("loaded");
	fflush(stdout);
	while (getchar() != EOF)
		;
	return 0;
}
