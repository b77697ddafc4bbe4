/*
 * check_sites - dnsbl_sites syntax, reply filters, weights and ranking.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsbl/replyfilter.h"
#include "dnsbl/site.h"
#include "dnsbl/verdict.h"
#include "t/tenv.h"

/* Parse text that must be valid. */
static struct dnsbl_sites *
parse_ok(const char *text)
{
	struct dnsbl_sites *sites = NULL;
	char	err[256] = "";

	ck_assert_msg(dnsbl_sites_parse(text, DNSBL_IPS, &sites, err, sizeof(err)) == 0,
		      "\"%s\": %s", text, err);
	return sites;
}

/* Parse text that must be refused with a message containing want. */
static void
parse_bad(const char *text, const char *want)
{
	struct dnsbl_sites *sites = NULL;
	char	err[256] = "";

	ck_assert_msg(dnsbl_sites_parse(text, DNSBL_IPS, &sites, err, sizeof(err)) < 0,
		      "accepted \"%s\"", text);
	ck_assert_ptr_null(sites);
	ck_assert_msg(strstr(err, want) != NULL, "\"%s\": got \"%s\", want "
		      "\"%s\"", text, err, want);
}

/* Score of zone for one answer a.b.c.d. */
static int
score(const struct dnsbl_sites *sites, size_t zone, unsigned a, unsigned b,
      unsigned c, unsigned d, bool *matched)
{
	unsigned char answer[1][4] = {{a, b, c, d}};
	int	total;

	*matched = dnsbl_sites_score(sites, zone,
				     (const unsigned char (*)[4]) answer, 1,
				     &total);
	return total;
}

START_TEST(test_filter)
{
	struct dnsbl_filter filter;
	char	err[256];
	unsigned char a[4] = {127, 0, 0, 0};

	ck_assert_int_eq(dnsbl_filter_parse("127.0.0.[2..11;20]", &filter,
					    err, sizeof(err)), 0);
	for (a[3] = 0; a[3] < 30; a[3]++)
		ck_assert_int_eq(dnsbl_filter_match(&filter, a),
				 (a[3] >= 2 && a[3] <= 11) || a[3] == 20);
	a[3] = 2;
	a[2] = 1;
	ck_assert(!dnsbl_filter_match(&filter, a));
	ck_assert_int_eq(dnsbl_filter_parse("127.0.[0..255].[1..3]", &filter,
					    err, sizeof(err)), 0);
	ck_assert(dnsbl_filter_match(&filter, a));
	a[3] = 4;
	ck_assert(!dnsbl_filter_match(&filter, a));
	ck_assert_int_eq(dnsbl_filter_parse("[0..255].[0..255].[0..255].255",
					    &filter, err, sizeof(err)), 0);
	a[3] = 255;
	ck_assert(dnsbl_filter_match(&filter, a));
}
END_TEST

START_TEST(test_parse)
{
	struct dnsbl_sites *sites;
	bool	matched;

	sites = parse_ok("Zen.Spamhaus.Org.=127.0.0.[2..11]*3, "
			 "list.dnswl.org=127.0.[0..255].[1..3]*-2\t\n"
			 "bl.test ,, zen.spamhaus.org=127.0.0.[10;11]");
	ck_assert_uint_eq(dnsbl_sites_zone_count(sites), 3);
	ck_assert_str_eq(dnsbl_sites_zone(sites, 0), "zen.spamhaus.org");
	ck_assert_str_eq(dnsbl_sites_zone(sites, 1), "list.dnswl.org");
	ck_assert_str_eq(dnsbl_sites_zone(sites, 2), "bl.test");
	/* Same zone, two filters: each site's weight counts once. */
	ck_assert_int_eq(score(sites, 0, 127, 0, 0, 2, &matched), 3);
	ck_assert(matched);
	ck_assert_int_eq(score(sites, 0, 127, 0, 0, 10, &matched), 4);
	ck_assert_int_eq(score(sites, 0, 127, 0, 0, 12, &matched), 0);
	ck_assert(!matched);
	ck_assert_int_eq(score(sites, 1, 127, 0, 5, 3, &matched), -2);
	ck_assert(matched);
	ck_assert_int_eq(score(sites, 1, 127, 0, 5, 0, &matched), 0);
	/* No filter: any answer, default weight 1. */
	ck_assert_int_eq(score(sites, 2, 127, 0, 0, 200, &matched), 1);
	dnsbl_sites_free(sites);
}
END_TEST

START_TEST(test_several_answers)
{
	struct dnsbl_sites *sites = parse_ok("bl.test=127.0.0.2*2 "
					     "bl.test=127.0.0.4*5");
	unsigned char answers[3][4] = {
		{127, 0, 0, 4}, {127, 0, 0, 2}, {127, 0, 0, 2},
	};
	int	total;

	/* Two answers matching one site still add its weight once. */
	ck_assert(dnsbl_sites_score(sites, 0,
				    (const unsigned char (*)[4]) answers, 3,
				    &total));
	ck_assert_int_eq(total, 7);
	dnsbl_sites_free(sites);
}
END_TEST

START_TEST(test_errors)
{
	struct dnsbl_sites *sites;
	char	long_zone[300];
	char	mid_zone[200];

	memset(long_zone, 'a', sizeof(long_zone));
	for (size_t i = 60; i < sizeof(long_zone); i += 61)
		long_zone[i] = '.';
	long_zone[254] = 0;
	memcpy(mid_zone, long_zone, sizeof(mid_zone));
	mid_zone[190] = 0;
	/* An empty list parses; dnsbl_sites' own row refuses it (config). */
	sites = parse_ok(" , ,");
	ck_assert_uint_eq(dnsbl_sites_zone_count(sites), 0);
	dnsbl_sites_free(sites);
	parse_bad(long_zone, "over the 253-byte DNS limit");
	parse_bad(mid_zone, "limit 189");
	parse_bad("bl.test=127.0.0.[11..2]", "inverted range 11..2 in field 4");
	parse_bad("bl.test=127.0.0.2*x", "weight \"x\" is not an integer");
	parse_bad("bl.test=127.0.0.2*1.5", "weight \"1.5\" is not an integer");
	parse_bad("bl.test*", "weight \"\" is not an integer");
	parse_bad("bl.test*99999999999", "is outside");
	parse_bad("bl.test*2000000", "outside -1000000..1000000");
	parse_bad("bl.test=", "empty filter");
	parse_bad("=127.0.0.2", "missing zone name");
	parse_bad("*3", "missing zone name");
	parse_bad("bl..test", "empty label");
	parse_bad(".bl.test", "empty label");
	parse_bad("bl.test/24", "invalid character '/'");
	parse_bad("bl.test=127.0.0", "expected four fields");
	parse_bad("bl.test=127.0.0.2.5", "after the fourth field");
	parse_bad("bl.test=127.0.0.256", "field 4 needs a number from 0 to 255");
	parse_bad("bl.test=127.0.0.[2..", "field 4 needs a number");
	parse_bad("bl.test=127.0.0.[2", "expected \";\", \"..\" or \"]\"");
	parse_bad("bl.test=127.0.0.-1", "field 4 needs a number");
	parse_bad("bl.test=127.0.x.1", "field 3 needs a number");
	parse_bad("a.test b.test=1.2.3.4*z", "\"b.test=1.2.3.4*z\"");
}
END_TEST

/* Apply map to a two-zone list; return the error, "" when accepted. */
static const char *
map(const char *text, struct dnsbl_sites **sites)
{
	static char err[256];

	*sites = parse_ok("K3Y.zen.dq.test=127.0.0.[2..11] K3Y.zen.dq.test*2, "
			  "wl.test*-2");
	err[0] = 0;
	if (dnsbl_sites_map(sites, 1, text, err, sizeof(err)) == 0)
		ck_assert_str_eq(err, "");
	else
		ck_assert_str_ne(err, "");
	return err;
}

START_TEST(test_reply_map)
{
	struct dnsbl_sites *sites;
	const char *err;

	ck_assert_str_eq(map("k3y.zen.dq.test. = Zen.Test", &sites), "");
	ck_assert_str_eq(dnsbl_sites_zone(sites, 0), "zen.test");
	ck_assert_str_eq(dnsbl_sites_query_zone(sites, 0), "k3y.zen.dq.test");
	ck_assert_str_eq(dnsbl_sites_zone(sites, 1), "wl.test");
	ck_assert_str_eq(dnsbl_sites_query_zone(sites, 1), "wl.test");
	dnsbl_sites_free(sites);
	ck_assert_str_eq(map("K3Y.zen.dq.test=zen.test,wl.test =\nwhite.test",
			     &sites), "");
	ck_assert_str_eq(dnsbl_sites_zone(sites, 1), "white.test");
	dnsbl_sites_free(sites);
	ck_assert_str_eq(map("", &sites), "");
	ck_assert_str_eq(dnsbl_sites_zone(sites, 0), "k3y.zen.dq.test");
	dnsbl_sites_free(sites);

	/* No message quotes the whole zone, where a key would be. */
	err = map("k3y.zen.dq.test", &sites);
	ck_assert_str_eq(err, "dnsbl_reply_map entry \"k3y.zen.dq.test...\": "
			 "write \"zone = name shown\"");
	dnsbl_sites_free(sites);
	err = map("averyveryverylongsecretkey.zen.dq.test = zen.test", &sites);
	ck_assert_str_eq(err, "dnsbl_reply_map entry \"averyveryverylongsec"
			 "...\": that zone is not in dnsbl_sites or rhsbl_sites");
	dnsbl_sites_free(sites);
	err = map("wl.test=a.test wl.test=b.test", &sites);
	ck_assert_ptr_nonnull(strstr(err, "that zone is mapped twice"));
	dnsbl_sites_free(sites);
	err = map("wl.test=bad/name", &sites);
	ck_assert_ptr_nonnull(strstr(err, "invalid character '/' in zone name"));
	dnsbl_sites_free(sites);
	err = map("wl.test=", &sites);
	ck_assert_ptr_nonnull(strstr(err, "write \"zone = name shown\""));
	dnsbl_sites_free(sites);
}
END_TEST

START_TEST(test_too_many)
{
	char	text[64 * 12 + 20] = "";
	size_t	i;

	for (i = 0; i < DNSBL_MAX_SITES; i++)
		sprintf(text + strlen(text), "z%zu.test ", i);
	dnsbl_sites_free(parse_ok(text));
	strcat(text, "one.more.test");
	parse_bad(text, "more than 64 entries");
}
END_TEST

START_TEST(test_rank)
{
	struct verdict *verdict = verdict_create(1);

	ck_assert_ptr_nonnull(verdict);
	verdict->score = 3;
	ck_assert_int_eq(verdict_rank(verdict->score, 3, 0), VERDICT_REJECT);
	ck_assert_int_eq(verdict_rank(verdict->score, 4, 0), VERDICT_PASS);
	verdict->score = -2;
	ck_assert_int_eq(verdict_rank(verdict->score, 1, 0), VERDICT_PASS);
	ck_assert_int_eq(verdict_rank(verdict->score, 1, -2), VERDICT_ALLOW);
	ck_assert_int_eq(verdict_rank(verdict->score, 1, -3), VERDICT_PASS);
	verdict->score = 0;
	ck_assert_int_eq(verdict_rank(verdict->score, 1, 0), VERDICT_PASS);
	ck_assert_str_eq(verdict_rank_name(VERDICT_ALLOW), "allow");
	verdict_free(verdict);
}
END_TEST

static Suite *
sites_suite(void)
{
	Suite  *suite = suite_create("sites");
	TCase  *tc = tcase_create("sites");

	tcase_add_test(tc, test_filter);
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_several_answers);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_reply_map);
	tcase_add_test(tc, test_too_many);
	tcase_add_test(tc, test_rank);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(sites_suite());
}
