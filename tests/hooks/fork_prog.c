/* fork_prog.c - a trace before fork, one in the child, one in the parent
 * after it. With SPANPROF_OUTPUT=NAME (no %p) the parent writes NAME and
 * the child NAME.<its pid>, each holding only its own traces.
 * With the argument "hold", the child prints "child PID" and waits for
 * standard input to close before it exits (live control of a fork child). */
#include <spanprof.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int hold = argc > 1 && argv[1][0] == 'h';
	SP_TRACE("before_fork", NULL) {
	}
	pid_t pid = fork();
	if (pid == 0) {
		SP_TRACE("in_child", NULL) {
		}
		if (hold) {
			printf("child %ld\n", (long)getpid());
			fflush(stdout);
			while (getchar() != EOF)
				;
		}
		return 0; /* a normal exit: the child writes its dump */
	}
	SP_TRACE("in_parent", NULL) {
	}
	int st;
	waitpid(pid, &st, 0);
	printf("%ld\n", (long)pid);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
