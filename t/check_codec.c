/*
 * check_codec - cached verdicts as text, and the memory cache: round
 * trips, expiry, eviction, and every kind of garbage a hand-edited Redis
 * value can hold.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/codec.h"
#include "cache/memcache.h"
#include "dnsbl/site.h"
#include "dnsbl/verdict.h"
#include "lib/addr.h"
#include "t/tenv.h"

/* A site list of two zones, the second an allow list. */
static struct dnsbl_sites *
two_zones(void)
{
	struct dnsbl_sites *sites;
	char	err[256];

	ck_assert_int_eq(dnsbl_sites_parse("bl.test=127.0.0.[2..3]*2, "
					   "wl.test*-1", DNSBL_IPS, &sites, err,
					   sizeof(err)), 0);
	return sites;
}

/* Decode text that must be refused; err must contain want. */
static void
decode_bad(const struct dnsbl_sites *sites, const char *text,
	   const char *want)
{
	struct verdict *verdict;
	char	err[256];

	verdict = codec_decode(text, strlen(text), sites, 1000, err,
			       sizeof(err));
	ck_assert_msg(verdict == NULL, "accepted \"%s\"", text);
	ck_assert_msg(strstr(err, want) != NULL, "\"%s\": got \"%s\"", text,
		      err);
}

START_TEST(test_round_trip)
{
	struct dnsbl_sites *sites = two_zones();
	struct verdict *verdict = verdict_create(2);
	struct verdict *back;
	char	err[256];
	char   *text;

	verdict->zone[0].state = VERDICT_ZONE_LISTED;
	verdict->zone[0].answer_count = 2;
	memcpy(verdict->zone[0].answer[0], "\x7f\0\0\x02", 4);
	memcpy(verdict->zone[0].answer[1], "\x7f\0\0\x09", 4);
	verdict->zone[0].text = strdup("Listed \"here\"; see http://x/?1.2.3.4");
	snprintf(verdict->zone[1].reason, VERDICT_REASON_SIZE, "servfail");
	ck_assert_ptr_nonnull(text = codec_encode(verdict, 1300));
	ck_assert_str_eq(text, "1 1300 2 L127.0.0.2,127.0.0.9/4c697374656420"
			 "2268657265223b2073656520687474703a2f2f782f3f312e32"
			 "2e332e34 Uservfail");
	back = codec_decode(text, strlen(text), sites, 1000, err, sizeof(err));
	ck_assert_msg(back != NULL, "%s", err);
	/* The score is recomputed from the answers and the sites. */
	ck_assert_int_eq(back->score, 2);
	ck_assert(!back->complete);
	ck_assert_uint_eq(back->ttl, 300);
	ck_assert_int_eq(back->zone[0].state, VERDICT_ZONE_LISTED);
	ck_assert_uint_eq(back->zone[0].answer_count, 2);
	ck_assert_str_eq(back->zone[0].text, verdict->zone[0].text);
	ck_assert_str_eq(back->zone[1].reason, "servfail");
	verdict_free(back);
	/* Expired: no verdict and no complaint. */
	ck_assert_ptr_null(codec_decode(text, strlen(text), sites, 1300, err,
					sizeof(err)));
	ck_assert_str_eq(err, "");
	free(text);
	verdict_free(verdict);
	dnsbl_sites_free(sites);
}
END_TEST

START_TEST(test_rescored)
{
	struct dnsbl_sites *sites = two_zones();
	struct verdict *verdict;
	char	err[256];
	const char *text = "1 2000 2 L127.0.0.7 L127.0.0.2";

	/* 127.0.0.7 is outside bl.test's filter: not listed after all. */
	verdict = codec_decode(text, strlen(text), sites, 1000, err,
			       sizeof(err));
	ck_assert_ptr_nonnull(verdict);
	ck_assert_int_eq(verdict->zone[0].state, VERDICT_ZONE_PASS);
	ck_assert_int_eq(verdict->zone[1].state, VERDICT_ZONE_LISTED);
	ck_assert_int_eq(verdict->score, -1);
	ck_assert(verdict->complete);
	verdict_free(verdict);
	dnsbl_sites_free(sites);
}
END_TEST

START_TEST(test_garbage)
{
	struct dnsbl_sites *sites = two_zones();

	decode_bad(sites, "", "not a version 1 verdict");
	decode_bad(sites, "2 2000 2 P P", "not a version 1 verdict");
	decode_bad(sites, "1", "not a version 1 verdict");
	decode_bad(sites, "1 x 2 P P", "bad expiry");
	decode_bad(sites, "1 2000", "bad expiry");
	decode_bad(sites, "1 99999999999999999999999 2 P P", "bad expiry");
	decode_bad(sites, "1 2000 3 P P P", "3 zones, configuration has 2");
	decode_bad(sites, "1 2000 1 P", "1 zones, configuration has 2");
	decode_bad(sites, "1 2000 2 P", "bad token for zone 2 (wl.test)");
	decode_bad(sites, "1 2000 2 P P P", "text after the last zone");
	decode_bad(sites, "1 2000 2 P  P", "bad token for zone 2");
	decode_bad(sites, "1 2000 2 X P", "bad token for zone 1 (bl.test)");
	decode_bad(sites, "1 2000 2 PP P", "bad token for zone 1");
	decode_bad(sites, "1 2000 2 U P", "bad token for zone 1");
	decode_bad(sites, "1 2000 2 UTime-out P", "bad token for zone 1");
	decode_bad(sites, "1 2000 2 Uaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa P",
		   "bad token for zone 1");
	decode_bad(sites, "1 2000 2 L P", "bad token for zone 1");
	decode_bad(sites, "1 2000 2 L10.0.0.1 P", "bad token for zone 1");
	decode_bad(sites, "1 2000 2 L127.255.255.254 P", "bad token for zone 1");
	decode_bad(sites, "1 2000 2 L127.0.0.2, P", "bad token for zone 1");
	decode_bad(sites, "1 2000 2 L127.0.0.2/ P", "bad token for zone 1");
	decode_bad(sites, "1 2000 2 L127.0.0.2/abc P", "bad token for zone 1");
	decode_bad(sites, "1 2000 2 L127.0.0.2/zz P", "bad token for zone 1");
	decode_bad(sites, "1 2000 2 L127.0.0.2/0041 P", "bad token for zone 1");
	decode_bad(sites, "1 2000 2 L127.0.0.2/4142/43 P",
		   "bad token for zone 1");
	decode_bad(sites, "1 2000 2 L1,2,3,4,5,6,7,8,9 P", "bad token for zone 1");
	decode_bad(sites, "1 2000 2 L127.0.0.2,127.0.0.2,127.0.0.2,127.0.0.2,"
		   "127.0.0.2,127.0.0.2,127.0.0.2,127.0.0.2,127.0.0.2 P",
		   "bad token for zone 1");
	decode_bad(sites, "1 2000 2 P P\n", "bad token for zone 2");
	dnsbl_sites_free(sites);
}
END_TEST

START_TEST(test_embedded_nul)
{
	struct dnsbl_sites *sites = two_zones();
	static const char text[] = "1 2000 2 P P\0 junk";
	char	err[256];

	/* Redis values are binary: a NUL inside spoils the token. */
	ck_assert_ptr_null(codec_decode(text, sizeof(text) - 1, sites, 1000,
					err, sizeof(err)));
	ck_assert_str_eq(err, "bad token for zone 2 (wl.test)");
	dnsbl_sites_free(sites);
}
END_TEST


START_TEST(test_memcache)
{
	struct memcache *cache = memcache_create(3);
	char   *text;

	ck_assert_ptr_nonnull(cache);
	ck_assert_int_eq(memcache_put(cache, "10.0.0.1", "a", 100), 0);
	ck_assert_int_eq(memcache_put(cache, "10.0.0.2", "b", 100), 0);
	ck_assert_int_eq(memcache_put(cache, "spam.example", "c", 100), 0);
	/* Keys are compared whole. */
	ck_assert_ptr_null(memcache_get(cache, "10.0.0.10", 50));
	ck_assert_ptr_null(memcache_get(cache, "spam.exampl", 50));
	/* a is used, so b is the least recently used when d comes. */
	free(memcache_get(cache, "10.0.0.1", 50));
	ck_assert_int_eq(memcache_put(cache, "::a00:1", "d", 100), 0);
	ck_assert_ptr_null(memcache_get(cache, "10.0.0.2", 50));
	ck_assert_str_eq(text = memcache_get(cache, "10.0.0.1", 50), "a");
	free(text);
	/* Replace in place. */
	ck_assert_int_eq(memcache_put(cache, "spam.example", "c2", 100), 0);
	ck_assert_str_eq(text = memcache_get(cache, "spam.example", 50), "c2");
	free(text);
	/* Expired entries are gone. */
	ck_assert_ptr_null(memcache_get(cache, "::a00:1", 100));
	ck_assert_ptr_null(memcache_get(cache, "::a00:1", 50));
	memcache_free(cache);
}
END_TEST

START_TEST(test_memcache_many)
{
	struct memcache *cache = memcache_create(1000);
	char	key[32];
	char	want[16];
	char   *text;
	unsigned i;
	unsigned found = 0;

	/* Ten times the capacity: the newest 1000 stay. */
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "h%u.example", i);
		snprintf(want, sizeof(want), "%u", i);
		ck_assert_int_eq(memcache_put(cache, key, want, 100), 0);
	}
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "h%u.example", i);
		if ((text = memcache_get(cache, key, 50)) == NULL)
			continue;
		snprintf(want, sizeof(want), "%u", i);
		ck_assert_str_eq(text, want);
		ck_assert_uint_ge(i, 9000);
		free(text);
		found++;
	}
	ck_assert_uint_eq(found, 1000);
	memcache_free(cache);
	/* Capacity 0: nothing is kept. */
	cache = memcache_create(0);
	ck_assert_int_eq(memcache_put(cache, "x.example", "x", 100), 0);
	ck_assert_ptr_null(memcache_get(cache, "x.example", 50));
	memcache_free(cache);
}
END_TEST

static Suite *
codec_suite(void)
{
	Suite  *suite = suite_create("codec");
	TCase  *tc = tcase_create("codec");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_rescored);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_embedded_nul);
	tcase_add_test(tc, test_memcache);
	tcase_add_test(tc, test_memcache_many);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(codec_suite());
}
