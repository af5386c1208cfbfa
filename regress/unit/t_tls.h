/*
 * Helpers shared by the TLS unit tests (defined in t_tlsconf.c): paths of
 * the test certificates in regress/unit/data (see its README) and libtls
 * contexts made from them with common/tlsconf.c.
 */
#ifndef T_TLS_H
#define T_TLS_H

#include <stddef.h>
#include <stdint.h>

struct tls;
struct tls_config;

/*
 * The path of data file name in buf: found from the repository root (the
 * working directory of "make check-unit"), from a directory below it, or
 * next to this source file.  Returns 0, or -1 when the data directory
 * cannot be found.
 */
int	 t_tls_path(const char *name, char *buf, size_t len);

/*
 * Load data file name whole into a malloc'd buffer (*len bytes).  Returns
 * NULL on failure.
 */
char	*t_tls_slurp(const char *name, size_t *len);

/*
 * A server context with the key and certificate <base>.key, <base>.pem,
 * verifying clients with data file ca when not NULL.  NULL on failure.
 */
struct tls *t_tls_server(const char *base, const char *ca,
	    uint32_t protocols, int flags);

/*
 * A client configuration, presenting <base>.key, <base>.pem when base is
 * not NULL, verifying the server with data file ca when not NULL; *chain
 * as tlsconf_client().  NULL on failure.
 */
struct tls_config *t_tls_client(const char *base, const char *ca,
	    uint32_t protocols, int *chain);

#endif /* T_TLS_H */
