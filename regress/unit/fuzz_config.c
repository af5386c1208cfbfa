/*
 * libFuzzer target for the configuration parsers: the input is read as
 * configuration-file lines (config_line() on a fresh config, then
 * config_finish()); a configuration that finishes must survive the
 * parent-to-child hand-over (config_foreach() into config_set()).  The
 * first line also goes through every option's value check and the
 * netaddr parsers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"
#include "options.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 copy_one(void *, size_t, enum opt_id, const char *);

struct copyarg {
	const struct config	*src;
	struct config		*dst;
};

static void
copy_one(void *arg, size_t inst, enum opt_id id, const char *value)
{
	struct copyarg	*ca = arg;
	char		 err[1024];

	if (config_set(ca->dst, inst, ca->src->inst[inst].name, id, value,
	    err, sizeof(err)) != CONF_OK)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config		 c, d;
	struct copyarg		 ca;
	struct iface_item	 items[8];
	struct hostport		 hp;
	const char		*e;
	char			*buf, *line, *next, err[1024];
	size_t			 n;
	int			 lineno = 0, r = CONF_OK, id;

	if (size > 65536)
		return (0);
	if ((buf = malloc(size + 1)) == NULL)
		return (0);
	memcpy(buf, data, size);
	buf[size] = '\0';

	/* The first line (up to NUL or LF) through the value parsers. */
	n = strcspn(buf, "\n");
	line = strndup(buf, n);
	if (line != NULL) {
		(void)netaddr_parse_iface_list(line, items, 8, &n, &e);
		(void)netaddr_parse_hostport(line, 0, &hp, &e);
		(void)netaddr_parse_hostport(line, 1, &hp, &e);
		(void)netaddr_parse_period(line);
		config_init(&c, NULL);
		for (id = 0; id < OPT__COUNT; id++) {
			(void)config_set(&c, 0, "", id, line, err,
			    sizeof(err));
			(void)config_set(&c, 0, "", id, NULL, err,
			    sizeof(err));
		}
		config_free(&c);
		free(line);
	}

	/* The whole input as a configuration file. */
	config_init(&c, NULL);
	for (line = buf; line != NULL && r == CONF_OK; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		r = config_line(&c, line, "fuzz.conf", ++lineno, err,
		    sizeof(err));
	}
	if (r == CONF_OK && config_resolve(&c, err, sizeof(err)) == CONF_OK) {
		(void)config_pending(&c, err, sizeof(err));
		config_init(&d, NULL);
		ca.src = &c;
		ca.dst = &d;
		config_foreach(&c, copy_one, &ca);
		if (d.ninst != c.ninst)
			abort();
		config_free(&d);
	}
	config_free(&c);
	free(buf);
	return (0);
}
