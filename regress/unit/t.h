/*
 * Minimal unit-test harness: TEST(name) { ... } registers a test; the
 * T_* macros record a failure and return from the test.  t_main.c runs
 * them all and ends with "N passed, N failed".
 */
#ifndef T_H
#define T_H

#include <stdio.h>
#include <string.h>

void	 t_register(const char *name, void (*fn)(void), const char *file);
void	 t_fail(const char *file, int line, const char *what);

#define TEST(name)							\
	static void name(void);						\
	__attribute__((constructor)) static void name##_reg(void)	\
	{ t_register(#name, name, __FILE__); }				\
	static void name(void)

#define T_ASSERT(c) do {						\
	if (!(c)) { t_fail(__FILE__, __LINE__, #c); return; }		\
} while (0)

#define T_EQ_INT(a, b) do {						\
	long long t_a_ = (long long)(a), t_b_ = (long long)(b);		\
	if (t_a_ != t_b_) {						\
		char t_m_[256];						\
		snprintf(t_m_, sizeof(t_m_), "%s == %s (%lld != %lld)",	\
		    #a, #b, t_a_, t_b_);				\
		t_fail(__FILE__, __LINE__, t_m_);			\
		return;							\
	}								\
} while (0)

#define T_EQ_STR(a, b) do {						\
	const char *t_a_ = (a), *t_b_ = (b);				\
	if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0) {	\
		char t_m_[1024];					\
		snprintf(t_m_, sizeof(t_m_),				\
		    "%s == %s (\"%.400s\" != \"%.400s\")",		\
		    #a, #b, t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");\
		t_fail(__FILE__, __LINE__, t_m_);			\
		return;							\
	}								\
} while (0)

#endif /* T_H */
