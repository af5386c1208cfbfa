/*
 * Runs every registered unit test; an optional argument selects the tests
 * whose name or file contains it.  The last line is "N passed, N failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"

#define T_MAX	2048

static struct t_case {
	const char	*name;
	const char	*file;
	void		(*fn)(void);
} cases[T_MAX];
static size_t	 ncases;
static int	 failed_now;

void
t_register(const char *name, void (*fn)(void), const char *file)
{
	if (ncases == T_MAX) {
		fprintf(stderr, "too many tests\n");
		exit(2);
	}
	cases[ncases].name = name;
	cases[ncases].file = file;
	cases[ncases].fn = fn;
	ncases++;
}

void
t_fail(const char *file, int line, const char *what)
{
	printf("FAIL %s:%d: %s\n", file, line, what);
	failed_now = 1;
}

int
main(int argc, char *argv[])
{
	size_t	 i, passed = 0, failed = 0;

	for (i = 0; i < ncases; i++) {
		if (argc > 1 && strstr(cases[i].name, argv[1]) == NULL &&
		    strstr(cases[i].file, argv[1]) == NULL)
			continue;
		failed_now = 0;
		cases[i].fn();
		if (failed_now) {
			printf("failed: %s (%s)\n", cases[i].name,
			    cases[i].file);
			failed++;
		} else
			passed++;
	}
	printf("%zu passed, %zu failed\n", passed, failed);
	return (failed != 0);
}
