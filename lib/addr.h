/*
 * addr - one client IP address, parsed and canonical.
 *
 * Every IP that reaches a DNS name, a cache key or a log line goes through
 * addr_parse() (or addr_from_sockaddr(), for the milter's connect) and
 * comes out of addr_format(), so hostile or odd spellings ("::ffff:1.2.3.4",
 * "0:0::1") never reach those places as typed.  The same goes for the
 * network/length prefixes of client lists; matching an address against
 * them is cache/prefix.c's job, not this module's.
 */
#ifndef RBL_ADDR_H
#define RBL_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

/* inet_ntop's longest IPv6 text and its NUL. */
#define ADDR_TEXT_SIZE	INET6_ADDRSTRLEN

/* Reversed name without zone: 32 nibbles and dots for IPv6, plus NUL. */
#define ADDR_REVERSE_SIZE	64

struct sockaddr;

struct addr {
	int	family;			/* AF_INET or AF_INET6 */
	unsigned char bytes[16];	/* network order; IPv4 uses 4 */
};

/* Parse IPv4 or IPv6 text; IPv4-mapped IPv6 becomes IPv4.  0 or -1. */
int	addr_parse(const char *text, struct addr *addr);

/*
 * The IP of a socket address of len bytes, which need not be aligned:
 * AF_INET or AF_INET6, an IPv4-mapped one becoming IPv4 as in
 * addr_parse().  0, or -1 for NULL, another family (AF_UNIX...) or a len
 * that ends before the address.
 */
int	addr_from_sockaddr(const struct sockaddr *sa, size_t len,
			   struct addr *addr);

/*
 * Parse "address" or "network/length"; a bare address is a /32 or /128.
 * An IPv4-mapped prefix (::ffff:192.0.2.0/120) becomes the IPv4 prefix
 * with 96 bits fewer.  Host bits set below the length are an error that
 * names the intended network, as in Postfix cidr_table(5).  0, or -1 with
 * a message that names text (in quotes unless it is a valid prefix).
 */
int	addr_parse_prefix(const char *text, struct addr *addr,
			  unsigned *bits, char *err, size_t errlen);

/* Clear the bits of addr below a prefix of bits (at most 128). */
void	addr_mask(struct addr *addr, unsigned bits);

/* Canonical text (inet_ntop) into buf of ADDR_TEXT_SIZE bytes. */
const char *addr_format(const struct addr *addr, char *buf);

/* RFC 5782 reversed form: "2.0.0.127" or 32 dotted nibbles. */
void	addr_reverse(const struct addr *addr, char *buf);

/* Same family and bytes?  (Unused bytes are zero, see addr_parse.) */
bool	addr_equal(const struct addr *a, const struct addr *b);

/* A hash of the address, for hash tables. */
size_t	addr_hash(const struct addr *addr);

#endif
