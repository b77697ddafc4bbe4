/*
 * check_addr - client IP parsing, socket addresses, canonical text, RFC
 * 5782 names and list prefixes.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "lib/addr.h"
#include "t/tenv.h"

/* Parse text and return its canonical form, or "error". */
static const char *
canonical(const char *text, char *buf)
{
	struct addr addr;

	if (addr_parse(text, &addr) < 0)
		return "error";
	return addr_format(&addr, buf);
}

/* Parse text and return its reversed query-name prefix. */
static const char *
reversed(const char *text, char *buf)
{
	struct addr addr;

	ck_assert_int_eq(addr_parse(text, &addr), 0);
	addr_reverse(&addr, buf);
	return buf;
}

/* Room for a prefix's text or its error message. */
#define PREFIX_BUF	256

/* Parse a prefix and return "network/length", or the error message. */
static const char *
prefix(const char *text, char *buf)
{
	char	net[ADDR_TEXT_SIZE];
	struct addr addr;
	unsigned bits;

	if (addr_parse_prefix(text, &addr, &bits, buf, PREFIX_BUF) < 0)
		return buf;
	snprintf(buf, PREFIX_BUF, "%s/%u", addr_format(&addr, net), bits);
	return buf;
}

START_TEST(test_canonical)
{
	char	buf[ADDR_TEXT_SIZE];

	ck_assert_str_eq(canonical("192.0.2.1", buf), "192.0.2.1");
	ck_assert_str_eq(canonical("2001:DB8:0:0::1", buf), "2001:db8::1");
	ck_assert_str_eq(canonical("::ffff:192.0.2.1", buf), "192.0.2.1");
	ck_assert_str_eq(canonical("::FFFF:c000:0201", buf), "192.0.2.1");
	ck_assert_str_eq(canonical("::1", buf), "::1");
	/* IPv4-compatible (deprecated) is not IPv4-mapped: stays IPv6. */
	ck_assert_str_eq(canonical("::c000:201", buf), "::192.0.2.1");
}
END_TEST

START_TEST(test_rejects)
{
	static const char *bad[] = {
		"", "bogus", "192.0.2", "192.0.2.256", "192.0.2.1 ",
		" 192.0.2.1", "192.0.2.1/32", "[::1]", "fe80::1%eth0",
		"1.2.3.4\n5.6.7.8", "2001:db8:::1", "01.2.3.4",
		"1.2.3.4.in-addr.arpa", "192.0.2.1;DEL rblmilter:relay",
	};
	char	buf[ADDR_TEXT_SIZE];
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(strcmp(canonical(bad[i], buf), "error") == 0,
			      "accepted \"%s\"", bad[i]);
}
END_TEST

/*
 * The text of the IP in the first len bytes of sa, copied to an odd
 * address that ends where they do, or "error".
 */
static const char *
from_sockaddr(const void *sa, size_t len, char *buf)
{
	static unsigned char copy[sizeof(struct sockaddr_storage) + 1];
	struct addr addr;

	ck_assert_uint_le(len, sizeof(copy) - 1);
	memcpy(copy + sizeof(copy) - len, sa, len);
	if (addr_from_sockaddr((const struct sockaddr *)
			       (copy + sizeof(copy) - len), len, &addr) < 0)
		return "error";
	return addr_format(&addr, buf);
}

START_TEST(test_sockaddr)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(25)};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char	buf[ADDR_TEXT_SIZE];
	struct addr addr;

	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr), 1);
	ck_assert_str_eq(from_sockaddr(&sin, sizeof(sin), buf), "192.0.2.1");
	/* The address is all it needs, not sin_zero... */
	ck_assert_str_eq(from_sockaddr(&sin, 8, buf), "192.0.2.1");
	/* ...but all of that. */
	ck_assert_str_eq(from_sockaddr(&sin, 7, buf), "error");
	ck_assert_str_eq(from_sockaddr(&sin, 1, buf), "error");
	ck_assert_str_eq(from_sockaddr(&sin, 0, buf), "error");
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:DB8::0:1", &sin6.sin6_addr),
			 1);
	ck_assert_str_eq(from_sockaddr(&sin6, sizeof(sin6), buf),
			 "2001:db8::1");
	/* RFC 2133's sockaddr_in6 had no scope id. */
	ck_assert_str_eq(from_sockaddr(&sin6, 24, buf), "2001:db8::1");
	ck_assert_str_eq(from_sockaddr(&sin6, 23, buf), "error");
	/* IPv4-mapped, as Postfix hands IPv4 clients on a dual-stack socket. */
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:192.0.2.1",
				   &sin6.sin6_addr), 1);
	ck_assert_str_eq(from_sockaddr(&sin6, sizeof(sin6), buf), "192.0.2.1");
	ck_assert_int_eq(addr_from_sockaddr((const struct sockaddr *) &sin6,
					    sizeof(sin6), &addr), 0);
	ck_assert_int_eq(addr.family, AF_INET);
	/* No IP at all. */
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/run/postfix/smtpd");
	ck_assert_str_eq(from_sockaddr(&sun, sizeof(sun), buf), "error");
	sin.sin_family = AF_UNSPEC;
	ck_assert_str_eq(from_sockaddr(&sin, sizeof(sin), buf), "error");
	ck_assert_int_eq(addr_from_sockaddr(NULL, sizeof(sin), &addr), -1);
}
END_TEST

START_TEST(test_reverse)
{
	char	buf[ADDR_REVERSE_SIZE];

	ck_assert_str_eq(reversed("192.0.2.1", buf), "1.2.0.192");
	ck_assert_str_eq(reversed("::ffff:127.0.0.2", buf), "2.0.0.127");
	/* RFC 5782 section 2.4's example. */
	ck_assert_str_eq(reversed("2001:db8:1:2:3:4:567:89ab", buf),
			 "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0"
			 ".2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2");
	ck_assert_int_eq(strlen(reversed("ffff:ffff:ffff:ffff:ffff:ffff:"
					 "ffff:ffff", buf)), 63);
}
END_TEST

START_TEST(test_prefix)
{
	static const char *good[][2] = {
		{"192.0.2.1", "192.0.2.1/32"},
		{"192.0.2.0/24", "192.0.2.0/24"},
		{"192.0.2.1/32", "192.0.2.1/32"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"128.0.0.0/1", "128.0.0.0/1"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"2001:DB8:0::/48", "2001:db8::/48"},
		{"2001:db8:8000::/33", "2001:db8:8000::/33"},
		{"2001:db8::1/128", "2001:db8::1/128"},
		{"::1", "::1/128"},
		{"::/0", "::/0"},
		/* Leading zeros in the length are digits like any other. */
		{"10.0.0.0/08", "10.0.0.0/8"},
		/* IPv4-mapped: the IPv4 prefix with 96 bits fewer. */
		{"::ffff:192.0.2.0/120", "192.0.2.0/24"},
		{"::ffff:192.0.2.1", "192.0.2.1/32"},
		{"::ffff:192.0.2.1/128", "192.0.2.1/32"},
		{"::ffff:0:0/96", "0.0.0.0/0"},
		/* The longest address text there is. */
		{"0000:0000:0000:0000:0000:ffff:192.168.100.200/128",
		 "192.168.100.200/32"},
		/* IPv4-compatible is not mapped: an IPv6 prefix. */
		{"::c000:200/120", "::192.0.2.0/120"},
	};
	char	buf[PREFIX_BUF];
	size_t	i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_str_eq(prefix(good[i][0], buf), good[i][1]);
}
END_TEST

START_TEST(test_prefix_rejects)
{
	static const char *bad[][2] = {
		{"192.0.2.1/24", "192.0.2.1/24: host bits set, "
		 "did you mean 192.0.2.0/24?"},
		{"10.1.0.0/8", "10.1.0.0/8: host bits set, "
		 "did you mean 10.0.0.0/8?"},
		{"0.0.0.1/0", "0.0.0.1/0: host bits set, "
		 "did you mean 0.0.0.0/0?"},
		{"2001:db8::1/64", "2001:db8::1/64: host bits set, "
		 "did you mean 2001:db8::/64?"},
		{"::1/0", "::1/0: host bits set, did you mean ::/0?"},
		{"::ffff:192.0.2.1/120", "::ffff:192.0.2.1/120: host bits "
		 "set, did you mean 192.0.2.0/24?"},
		{"::ffff:0:0/95", "\"::ffff:0:0/95\": "
		 "an IPv4-mapped prefix must be /96 or longer"},
		{"::ffff:192.0.2.0/64", "\"::ffff:192.0.2.0/64\": "
		 "an IPv4-mapped prefix must be /96 or longer"},
		{"192.0.2.0/33", "\"192.0.2.0/33\": "
		 "prefix length must be a number from 0 to 32"},
		{"2001:db8::/129", "\"2001:db8::/129\": "
		 "prefix length must be a number from 0 to 128"},
		{"::ffff:192.0.2.0/129", "\"::ffff:192.0.2.0/129\": "
		 "prefix length must be a number from 0 to 128"},
		{"192.0.2.0/", "\"192.0.2.0/\": "
		 "prefix length must be a number from 0 to 32"},
		{"192.0.2.0/+24", "\"192.0.2.0/+24\": "
		 "prefix length must be a number from 0 to 32"},
		{"192.0.2.0/-0", "\"192.0.2.0/-0\": "
		 "prefix length must be a number from 0 to 32"},
		{"192.0.2.0/24 ", "\"192.0.2.0/24 \": "
		 "prefix length must be a number from 0 to 32"},
		{"192.0.2.0/ 24", "\"192.0.2.0/ 24\": "
		 "prefix length must be a number from 0 to 32"},
		{"192.0.2.0/0x18", "\"192.0.2.0/0x18\": "
		 "prefix length must be a number from 0 to 32"},
		{"192.0.2.0/24/24", "\"192.0.2.0/24/24\": "
		 "prefix length must be a number from 0 to 32"},
		{"192.0.2.0/4294967320", "\"192.0.2.0/4294967320\": "
		 "prefix length must be a number from 0 to 32"},
		{" 192.0.2.0/24", "\" 192.0.2.0/24\": "
		 "not an IPv4 or IPv6 address"},
		{"192.0.2.0 /24", "\"192.0.2.0 /24\": "
		 "not an IPv4 or IPv6 address"},
		{"192.0.2.1 ", "\"192.0.2.1 \": not an IPv4 or IPv6 address"},
		{"", "\"\": not an IPv4 or IPv6 address"},
		{"/24", "\"/24\": not an IPv4 or IPv6 address"},
		{"192.0.2/24", "\"192.0.2/24\": not an IPv4 or IPv6 address"},
		{"192.0.2.256/32", "\"192.0.2.256/32\": "
		 "not an IPv4 or IPv6 address"},
		{"[::1]/128", "\"[::1]/128\": not an IPv4 or IPv6 address"},
		{"fe80::1%eth0/128", "\"fe80::1%eth0/128\": "
		 "not an IPv4 or IPv6 address"},
		/* Longer than any address, so never copied whole. */
		{"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/64",
		 "\"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/64\": "
		 "not an IPv4 or IPv6 address"},
	};
	char	buf[PREFIX_BUF];
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_str_eq(prefix(bad[i][0], buf), bad[i][1]);
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite  *suite = suite_create("addr");
	TCase  *tc = tcase_create("addr");

	tcase_add_test(tc, test_canonical);
	tcase_add_test(tc, test_rejects);
	tcase_add_test(tc, test_sockaddr);
	tcase_add_test(tc, test_reverse);
	tcase_add_test(tc, test_prefix);
	tcase_add_test(tc, test_prefix_rejects);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(addr_suite());
}
