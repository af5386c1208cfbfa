/*
 * TLS configurations for io_tls_accept() and io_tls_connect(), built from
 * key, certificate and CA material already in memory: the processes that
 * use TLS load their files while still root and chroot before they read
 * any input, so no path exists when a configuration is made (STYLE.md
 * section 1).  Also the --tls-config list.
 */
#ifndef TLSCONF_H
#define TLSCONF_H

#include <stddef.h>
#include <stdint.h>

struct tls;
struct tls_config;

/* Largest CA file, or sum of a CA directory's certificate files. */
#define TLSCONF_CA_MAX		(8 * 1024 * 1024)

/* tlsconf_server() flags. */
#define TLSCONF_CLIENT_CERT_REQUIRED	0x01	/* not just requested */

/*
 * PEM material of one side (server or client): malloc'd buffers, NULL
 * with length 0 when absent.  Zero it before the first load; free it
 * with tlsconf_free() (the key bytes are cleared with freezero).
 */
struct tlsconf_pem {
	uint8_t		*cert;		/* certificate chain, own one first */
	size_t		 certlen;
	uint8_t		*key;		/* private key */
	size_t		 keylen;
	uint8_t		*ca;		/* certificates to verify the peer */
	size_t		 calen;
};

/*
 * Load a key and certificate as --server-tls-certificate or
 * --client-tls-certificate give them: nfiles 1, one file holding the
 * private key and the certificate chain; nfiles 2, the key file then the
 * certificate file.  The pair is checked to parse and to match.  Returns
 * 0, or -1 with a message naming the file in err (errlen bytes) and pem
 * unchanged.  Replaces what pem held before.
 */
int	 tlsconf_load_cert(struct tlsconf_pem *pem, const char *const *files,
	    size_t nfiles, char *err, size_t errlen);

/*
 * Load the CA certificates of --server-tls-verify or --client-tls-verify:
 * a file, a directory (every regular file in it that holds a PEM
 * certificate, concatenated; names starting with a dot are skipped), or
 * the literal "<default>", libtls's default CA file.  At most
 * TLSCONF_CA_MAX bytes.  Returns 0, or -1 with a message in err and pem
 * unchanged.  Replaces what pem held before.
 */
int	 tlsconf_load_ca(struct tlsconf_pem *pem, const char *spec, char *err,
	    size_t errlen);

/* Free and clear the buffers of pem (not pem itself); NULL is fine. */
void	 tlsconf_free(struct tlsconf_pem *pem);

/*
 * On reload a chrooted process cannot open its TLS files: the parent
 * sends them open (MSG_PARENT_TLS_FILE_NOTIFY).  While paths[0..n) and
 * fds[0..n) are set here, every file and CA directory is taken from
 * those descriptors by its configured path, never opened; NULL restores
 * opening.  A CA directory's files are opened relative to its
 * descriptor, so a symbolic link in it that leads outside the chroot
 * cannot be followed on reload.
 */
void	 tlsconf_files_use(const char *const *paths, const int *fds,
	    size_t n);

/*
 * Check a --tls-config value for the option parser: a comma-separated
 * list of "tlsv1.0" ... "tlsv1.3" (lowest version allowed), "-tlsv1.0"
 * ... "-tlsv1.3" (highest version allowed), and "openssl" or "mbedtls"
 * (library choices, meaningless here and ignored); empty items are
 * ignored.  Returns NULL, or static error text.
 */
const char *tlsconf_check_config(const char *value);

/*
 * The libtls protocols mask (TLS_PROTOCOL_*) for a --tls-config value
 * (NULL or "" for none): the versions between the lowest and the highest
 * given.  Without a lowest version libtls's default one, TLS 1.2, is the
 * lowest, unless the highest is below it (then TLS 1.0 is); the last of
 * several minima or maxima counts.  Returns 0, or -1 with *errstr set to
 * static text (also for a lowest version above the highest).
 */
int	 tlsconf_protocols(const char *value, uint32_t *protocols,
	    const char **errstr);

/*
 * A libtls server context for io_tls_accept(), from pem's key and
 * certificate (required) and the protocols mask.  With a CA in pem the
 * server asks every client for a certificate and a certificate presented
 * must verify against that CA or the handshake fails; a client without
 * one is still accepted (so that io_tls_peer_verified() can record the
 * ones that did), unless flags has TLSCONF_CLIENT_CERT_REQUIRED.  The
 * key bytes are cleared from libtls's copy of the configuration once
 * the context holds the parsed key; pem may be freed afterwards.
 * Returns the context (free with tls_free()), or NULL with a message in
 * err.
 */
struct tls *tlsconf_server(const struct tlsconf_pem *pem, uint32_t protocols,
	    int flags, char *err, size_t errlen);

/*
 * A libtls client configuration for io_tls_connect(), from pem (all
 * optional: a key and certificate to present when the server asks, a CA
 * to verify the server with) and the protocols mask.  Without a CA the
 * server's certificate is not checked at all (E-MailRelay does not
 * verify by default); with one its chain must verify.  Host names are
 * never checked by libtls here, because libtls takes one name for both
 * SNI and verification: pass --client-tls-server-name (or NULL) as
 * io_tls_connect()'s servername for SNI and --client-tls-verify-name (or
 * NULL) as its verifyname, checked against the certificate's names after
 * the handshake.  *chain is set to whether the chain is verified, for
 * io_tls_connect().  The configuration keeps its own copy of the key
 * (libtls parses it at every connection); pem may be freed afterwards.
 * The material is tried once here, so a key or CA that does not parse
 * fails now.  Returns the configuration (free with tls_config_free()
 * once no io uses it), or NULL with a message in err.
 */
struct tls_config *tlsconf_client(const struct tlsconf_pem *pem,
	    uint32_t protocols, int *chain, char *err, size_t errlen);

struct instconf;

/*
 * The server context of an instance: --server-tls-certificate (one or
 * two files), --server-tls-verify (client certificates required and
 * checked against that CA) and --tls-config.  For processes that serve
 * TLS (smtp, pop), while still root.  Returns NULL with a message in err
 * naming the option or file.
 */
struct tls *tlsconf_server_inst(const struct instconf *ic, char *err,
	    size_t errlen);

/*
 * The client configuration of an instance: --client-tls-certificate,
 * --client-tls-verify and --tls-config, for mta while still root; *chain
 * as tlsconf_client().  Returns NULL with a message in err.
 */
struct tls_config *tlsconf_client_inst(const struct instconf *ic,
	    int *chain, char *err, size_t errlen);

#endif /* TLSCONF_H */
