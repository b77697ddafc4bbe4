/*
 * addr - one client IP address, parsed and canonical.
 *
 * Postfix hands a milter IPv4 clients on a dual-stack socket as
 * IPv4-mapped IPv6; DNSBLs list them under their IPv4 name, so the mapping
 * is undone here, once, for every front end.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "lib/addr.h"

/* The ::ffff:0:0/96 prefix of IPv4-mapped IPv6 addresses. */
static const unsigned char addr_v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

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
	if (memcmp(addr->bytes, addr_v4mapped, sizeof(addr_v4mapped)) == 0) {
		memmove(addr->bytes, addr->bytes + 12, 4);
		memset(addr->bytes + 4, 0, 12);
		addr->family = AF_INET;
	}
	return 0;
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
