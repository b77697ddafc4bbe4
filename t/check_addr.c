/*
 * check_addr - client IP parsing, canonical text and RFC 5782 names.
 */
#include <check.h>
#include <string.h>

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

static Suite *
addr_suite(void)
{
	Suite  *suite = suite_create("addr");
	TCase  *tc = tcase_create("addr");

	tcase_add_test(tc, test_canonical);
	tcase_add_test(tc, test_rejects);
	tcase_add_test(tc, test_reverse);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(addr_suite());
}
