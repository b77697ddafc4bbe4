/*
 * addr - one client IP address, parsed and canonical.
 *
 * Postfix hands a milter IPv4 clients on a dual-stack socket as
 * IPv4-mapped IPv6; DNSBLs list them under their IPv4 name, so the mapping
 * is undone here, once, for every front end.  Prefixes of client lists
 * are parsed here too, so that a mapped prefix becomes IPv4 the same way;
 * this module does not match addresses against them.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/addr.h"
#include "lib/hash.h"

/* The ::ffff:0:0/96 prefix of IPv4-mapped IPv6 addresses. */
static const unsigned char addr_v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Make an IPv4-mapped IPv6 address IPv4. */
static void
addr_unmap(struct addr *addr)
{
	if (addr->family == AF_INET6
	    && memcmp(addr->bytes, addr_v4mapped, sizeof(addr_v4mapped)) == 0) {
		memmove(addr->bytes, addr->bytes + 12, 4);
		memset(addr->bytes + 4, 0, 12);
		addr->family = AF_INET;
	}
}

int
addr_parse(const char *text, struct addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, text, addr->bytes) == 1) {
		addr->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr->bytes) != 1)
		return -1;
	addr->family = AF_INET6;
	addr_unmap(addr);
	return 0;
}

int
addr_from_sockaddr(const struct sockaddr *sa, size_t len, struct addr *addr)
{
	const char *bytes = (const char *) sa;
	sa_family_t family;
	size_t	offset;
	size_t	size;

	if (sa == NULL || len < offsetof(struct sockaddr, sa_family)
	    + sizeof(family))
		return -1;
	memcpy(&family, bytes + offsetof(struct sockaddr, sa_family),
	       sizeof(family));
	if (family == AF_INET) {
		offset = offsetof(struct sockaddr_in, sin_addr);
		size = sizeof(struct in_addr);
	} else if (family == AF_INET6) {
		offset = offsetof(struct sockaddr_in6, sin6_addr);
		size = sizeof(struct in6_addr);
	} else {
		return -1;
	}
	if (len < offset + size)
		return -1;
	memset(addr, 0, sizeof(*addr));
	addr->family = family;
	memcpy(addr->bytes, bytes + offset, size);
	addr_unmap(addr);
	return 0;
}

void
addr_mask(struct addr *addr, unsigned bits)
{
	size_t	i = bits / 8;

	if (bits % 8 != 0) {
		addr->bytes[i] &= (unsigned char) (0xff00 >> (bits % 8));
		i++;
	}
	memset(addr->bytes + i, 0, sizeof(addr->bytes) - i);
}

/* Parse a prefix length: decimal digits only, at most max.  0 or -1. */
static int
addr_prefix_length(const char *text, unsigned max, unsigned *bits)
{
	unsigned value = 0;

	if (*text == 0)
		return -1;
	for (; *text != 0; text++) {
		if (*text < '0' || *text > '9')
			return -1;
		value = value * 10 + (unsigned) (*text - '0');
		if (value > max)
			return -1;
	}
	*bits = value;
	return 0;
}

int
addr_parse_prefix(const char *text, struct addr *addr, unsigned *bits,
		  char *err, size_t errlen)
{
	const char *slash = strchr(text, '/');
	char	host[ADDR_TEXT_SIZE];
	char	net[ADDR_TEXT_SIZE];
	struct addr masked;
	unsigned max;
	size_t	len;

	len = slash != NULL ? (size_t) (slash - text) : strlen(text);
	if (len >= sizeof(host))
		goto bad_addr;
	memcpy(host, text, len);
	host[len] = 0;
	if (addr_parse(host, addr) < 0)
		goto bad_addr;
	/* The length counts bits of the family as written. */
	max = strchr(host, ':') != NULL ? 128 : 32;
	if (slash == NULL) {
		*bits = max;
	} else if (addr_prefix_length(slash + 1, max, bits) < 0) {
		snprintf(err, errlen, "\"%s\": prefix length must be a number "
			 "from 0 to %u", text, max);
		return -1;
	}
	if (addr->family == AF_INET && max == 128) {
		if (*bits < 96) {
			snprintf(err, errlen, "\"%s\": an IPv4-mapped prefix "
				 "must be /96 or longer", text);
			return -1;
		}
		*bits -= 96;
	}
	masked = *addr;
	addr_mask(&masked, *bits);
	if (memcmp(masked.bytes, addr->bytes, sizeof(addr->bytes)) != 0) {
		snprintf(err, errlen, "%s: host bits set, did you mean %s/%u?",
			 text, addr_format(&masked, net), *bits);
		return -1;
	}
	return 0;

bad_addr:
	snprintf(err, errlen, "\"%s\": not an IPv4 or IPv6 address", text);
	return -1;
}

const char *
addr_format(const struct addr *addr, char *buf)
{
	/* Cannot fail: the family is ours and the buffer is large enough. */
	if (inet_ntop(addr->family, addr->bytes, buf, ADDR_TEXT_SIZE) == NULL)
		buf[0] = 0;
	return buf;
}

void
addr_reverse(const struct addr *addr, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	char   *cp = buf;
	int	i;

	if (addr->family == AF_INET) {
		snprintf(buf, ADDR_REVERSE_SIZE, "%u.%u.%u.%u",
			 addr->bytes[3], addr->bytes[2],
			 addr->bytes[1], addr->bytes[0]);
		return;
	}
	for (i = 15; i >= 0; i--) {
		*cp++ = hex[addr->bytes[i] & 0xf];
		*cp++ = '.';
		*cp++ = hex[addr->bytes[i] >> 4];
		*cp++ = '.';
	}
	cp[-1] = 0;
}

bool
addr_equal(const struct addr *a, const struct addr *b)
{
	return a->family == b->family
	    && memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

size_t
addr_hash(const struct addr *addr)
{
	uint64_t hash = hash_bytes(HASH_SEED, addr->bytes, sizeof(addr->bytes));

	return (size_t) (hash ^ (hash >> 32));
}
