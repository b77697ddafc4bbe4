/*
 * check_greylist - the greylisting state's rules, in memory and in a real
 * redis-server: triplets, new, early, passed, the network's pass, the
 * windows' ends, two hosts racing on a first attempt, bad values, and
 * Redis going away.  Times are given, not waited for.
 */
#include <check.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "greylist/greylist.h"
#include "lib/addr.h"
#include "lib/msg.h"
#include "redis/store.h"
#include "t/tenv.h"

/* The first attempt's time in the tests. */
#define T0	((time_t) 1800000000)

static struct {
	char   *dir;
	struct tenv_redis redis;
	struct event_base *base;
} env;

static void
setup(void)
{
	env.dir = tenv_mkdir();
	tenv_redis_start(&env.redis, env.dir, false, "");
	ck_assert_ptr_nonnull(env.base = event_base_new());
}

static void
teardown(void)
{
	event_base_free(env.base);
	tenv_stop(env.redis.pid);
	tenv_rmdir(env.dir);
}

/* A store on the test Redis, once it is up. */
static struct store *
open_store(void)
{
	char	err[256];
	struct store_options options = {
		.host = "127.0.0.1", .port = (unsigned) env.redis.port,
		.sentinels = "", .master_name = "", .username = "",
		.password = "", .timeout_ms = 500,
	};
	struct store *store = store_create(env.base, &options, err,
					   sizeof(err));

	ck_assert_msg(store != NULL, "%s", err);
	while (store_state(store) == STORE_CONNECTING)
		event_base_loop(env.base, EVLOOP_ONCE);
	ck_assert_int_eq(store_state(store), STORE_READY);
	return store;
}

/* Greylisting with delay 300 s, max_wait 1 d, pass 30 d. */
static struct greylist *
open_greylist(struct store *store, unsigned memory_max)
{
	char	err[256];
	struct greylist_options options = {
		.store = store, .prefix = "rblmilter:", .delay = 300,
		.max_wait = 86400, .pass_ttl = 30 * 86400,
		.memory_max = memory_max,
	};
	struct greylist *greylist = greylist_create(&options, err,
						    sizeof(err));

	ck_assert_msg(greylist != NULL, "%s", err);
	return greylist;
}

/* One check's answer. */
struct answer {
	int	outcome;		/* enum greylist_outcome; -1 until done */
	unsigned wait;
};

static void
on_done(enum greylist_outcome outcome, unsigned wait, void *arg)
{
	struct answer *answer = arg;

	ck_assert_int_eq(answer->outcome, -1);
	answer->outcome = outcome;
	answer->wait = wait;
}

/* The triplet of ip, sender and recipient, /24 and /64. */
static struct greylist_triplet
triplet(const char *ip, const char *sender, const char *recipient)
{
	struct greylist_triplet t;
	struct addr client;

	ck_assert_int_eq(addr_parse(ip, &client), 0);
	greylist_triplet(&t, &client, sender, recipient, 24, 64);
	return t;
}

/* Check t at now and wait for the answer; assert outcome and wait. */
static void
expect(struct greylist *greylist, struct greylist_triplet t, time_t now,
       enum greylist_outcome outcome, unsigned wait)
{
	struct answer answer = {-1, 0};

	greylist_check(greylist, &t, now, on_done, &answer);
	while (answer.outcome < 0)
		event_base_loop(env.base, EVLOOP_ONCE);
	ck_assert_str_eq(greylist_outcome_name(answer.outcome),
			 greylist_outcome_name(outcome));
	ck_assert_uint_eq(answer.wait, wait);
}

START_TEST(test_triplet)
{
	struct greylist_triplet a = triplet("192.0.2.77", "<Bob@Example.COM>",
					    "<u@here.test>");
	struct greylist_triplet b = triplet("192.0.2.1", "bob@example.com",
					    "U@HERE.test");
	struct greylist_triplet c = triplet("192.0.3.1", "bob@example.com",
					    "u@here.test");
	struct greylist_triplet v6 = triplet("2001:db8:1:2:3::9", "<>",
					     "<u@here.test>");
	struct greylist_triplet null = triplet("2001:db8:1:2::1", "",
					       "u@here.test");
	struct greylist_triplet split = triplet("192.0.2.1", "bob@example.co",
						"mu@here.test");

	ck_assert_str_eq(a.network, "192.0.2.0/24");
	ck_assert_str_eq(v6.network, "2001:db8:1:2::/64");
	/* Case and <> aside, one triplet; another network, another one. */
	ck_assert(a.hash == b.hash);
	ck_assert(a.hash != c.hash);
	ck_assert(a.hash != split.hash);
	/* The null sender, written <> or not, is one sender. */
	ck_assert(v6.hash == null.hash);
	{
		struct greylist_triplet odd;
		struct addr client;

		ck_assert_int_eq(addr_parse("198.51.100.200", &client), 0);
		greylist_triplet(&odd, &client, "", "", 20, 64);
		ck_assert_str_eq(odd.network, "198.51.96.0/20");
		greylist_triplet(&odd, &client, "", "", 32, 64);
		ck_assert_str_eq(odd.network, "198.51.100.200/32");
	}
}
END_TEST

/* The rules, on either kind of state. */
static void
rules(struct greylist *greylist)
{
	struct greylist_triplet t = triplet("192.0.2.7", "<s@a.test>",
					    "<u@b.test>");
	struct greylist_triplet other = triplet("192.0.2.99", "<x@c.test>",
						"<v@b.test>");
	struct greylist_triplet late = triplet("198.51.100.7", "<s@a.test>",
					       "<u@b.test>");

	expect(greylist, t, T0, GREYLIST_NEW, 300);
	expect(greylist, t, T0 + 10, GREYLIST_EARLY, 290);
	expect(greylist, t, T0 + 299, GREYLIST_EARLY, 1);
	expect(greylist, t, T0 + 300, GREYLIST_PASSED, 0);
	/* The network passes now, with any triplet... */
	expect(greylist, other, T0 + 301, GREYLIST_PASSED, 0);
	/* ...for pass_ttl from its last pass. */
	expect(greylist, other, T0 + 301 + 30 * 86400 - 1, GREYLIST_PASSED, 0);
	/* A first attempt older than max_wait is a first attempt again. */
	expect(greylist, late, T0, GREYLIST_NEW, 300);
	expect(greylist, late, T0 + 86400, GREYLIST_NEW, 300);
	expect(greylist, late, T0 + 86400 + 299, GREYLIST_EARLY, 1);
}

START_TEST(test_memory)
{
	struct greylist *greylist = open_greylist(NULL, 1000);
	struct greylist_triplet t = triplet("192.0.2.7", "", "<u@b.test>");

	rules(greylist);
	/* The pass ends after pass_ttl without a recipient. */
	expect(greylist, t, T0 + 301 + 2 * 30 * 86400, GREYLIST_NEW, 300);
	greylist_free(greylist);
}
END_TEST

START_TEST(test_memory_full)
{
	struct greylist *greylist = open_greylist(NULL, 2);

	expect(greylist, triplet("192.0.2.1", "", "a"), T0, GREYLIST_NEW, 300);
	expect(greylist, triplet("192.0.2.2", "", "b"), T0, GREYLIST_NEW, 300);
	/* Full: a third triplet passes rather than grow the table. */
	expect(greylist, triplet("192.0.2.3", "", "c"), T0, GREYLIST_OFF, 0);
	/* Expired entries make room. */
	expect(greylist, triplet("192.0.2.3", "", "c"), T0 + 86400,
	       GREYLIST_NEW, 300);
	greylist_free(greylist);
}
END_TEST

START_TEST(test_redis)
{
	struct store *store = open_store();
	struct greylist *greylist = open_greylist(store, 0);
	struct greylist_triplet t = triplet("192.0.2.7", "<s@a.test>",
					    "<u@b.test>");
	char   *log = tenv_write(env.dir, "log", "");
	char	key[128];
	redisReply *reply;
	int	saved;

	freeReplyObject(tenv_redis_cmd(&env.redis, "FLUSHALL"));
	rules(greylist);
	/* The keys, as rblmilter(8) says, with their TTLs. */
	snprintf(key, sizeof(key), "rblmilter:g:%016llx",
		 (unsigned long long) t.hash);
	reply = tenv_redis_cmd(&env.redis, "GET %s", key);
	ck_assert_int_eq(reply->type, REDIS_REPLY_STRING);
	ck_assert_str_eq(reply->str, "1800000000");
	freeReplyObject(reply);
	reply = tenv_redis_cmd(&env.redis, "TTL %s", key);
	ck_assert_int_ge(reply->integer, 86400 - 5);
	ck_assert_int_le(reply->integer, 86400);
	freeReplyObject(reply);
	reply = tenv_redis_cmd(&env.redis, "TTL rblmilter:gp:192.0.2.0/24");
	ck_assert_int_ge(reply->integer, 30 * 86400 - 5);
	freeReplyObject(reply);
	/* A value that is no time: that recipient passes, warned. */
	reply = tenv_redis_cmd(&env.redis, "SET %s garbage", key);
	freeReplyObject(reply);
	reply = tenv_redis_cmd(&env.redis, "DEL rblmilter:gp:192.0.2.0/24");
	freeReplyObject(reply);
	saved = tenv_log_to(log);
	expect(greylist, t, T0 + 10, GREYLIST_OFF, 0);
	/* So does a key of another type (GET answers WRONGTYPE). */
	freeReplyObject(tenv_redis_cmd(&env.redis, "DEL %s", key));
	freeReplyObject(tenv_redis_cmd(&env.redis, "HSET %s a b", key));
	expect(greylist, t, T0 + 10, GREYLIST_OFF, 0);
	tenv_log_restore(saved);
	/* Warned about (once a minute), and Redis did answer. */
	ck_assert_int_eq(tenv_count_matches(log, "does not hold a time"), 1);
	ck_assert_int_eq(tenv_count_matches(log, "does not answer"), 0);
	free(log);
	greylist_free(greylist);
	store_free(store);
}
END_TEST

START_TEST(test_race)
{
	struct store *store_a = open_store();
	struct store *store_b = open_store();
	struct greylist *a = open_greylist(store_a, 0);
	struct greylist *b = open_greylist(store_b, 0);
	struct greylist_triplet t = triplet("203.0.113.9", "<s@a.test>",
					    "<u@b.test>");
	struct answer first = {-1, 0};
	struct answer second = {-1, 0};
	redisReply *reply;

	freeReplyObject(tenv_redis_cmd(&env.redis, "FLUSHALL"));
	/* Two hosts see the first attempt at once. */
	greylist_check(a, &t, T0, on_done, &first);
	greylist_check(b, &t, T0, on_done, &second);
	while (first.outcome < 0 || second.outcome < 0)
		event_base_loop(env.base, EVLOOP_ONCE);
	/* One made it, the other read it: both defer for the delay. */
	ck_assert_int_eq(first.outcome + second.outcome,
			 GREYLIST_NEW + GREYLIST_EARLY);
	ck_assert_uint_eq(first.wait, 300);
	ck_assert_uint_eq(second.wait, 300);
	reply = tenv_redis_cmd(&env.redis, "KEYS rblmilter:g:*");
	ck_assert_uint_eq(reply->elements, 1);
	freeReplyObject(reply);
	/* The retry passes on either. */
	expect(b, t, T0 + 300, GREYLIST_PASSED, 0);
	expect(a, t, T0 + 301, GREYLIST_PASSED, 0);
	greylist_free(a);
	greylist_free(b);
	store_free(store_a);
	store_free(store_b);
}
END_TEST

START_TEST(test_redis_down)
{
	struct store *store = open_store();
	struct greylist *greylist = open_greylist(store, 0);
	struct greylist_triplet t = triplet("192.0.2.7", "", "<u@b.test>");
	char   *log = tenv_write(env.dir, "log", "");
	int	saved = tenv_log_to(log);

	freeReplyObject(tenv_redis_cmd(&env.redis, "FLUSHALL"));
	expect(greylist, t, T0, GREYLIST_NEW, 300);
	/* Frozen: commands time out; greylisting is off, said once. */
	kill(env.redis.pid, SIGSTOP);
	expect(greylist, t, T0 + 400, GREYLIST_OFF, 0);
	expect(greylist, t, T0 + 401, GREYLIST_OFF, 0);
	kill(env.redis.pid, SIGCONT);
	while (store_state(store) != STORE_READY)
		event_base_loop(env.base, EVLOOP_ONCE);
	/* Back: the first attempt is still there, so the retry passes. */
	expect(greylist, t, T0 + 402, GREYLIST_PASSED, 0);
	tenv_log_restore(saved);
	ck_assert_msg(tenv_count_matches(log, "greylisting: Redis does not "
				       "answer; greylisting is off") == 1, "%s",
		      tenv_tail(log, 2000));
	ck_assert_int_eq(tenv_count_matches(log, "greylisting: Redis answers "
					  "again"), 1);
	free(log);
	greylist_free(greylist);
	store_free(store);
}
END_TEST

int
main(void)
{
	Suite  *suite = suite_create("greylist");
	TCase  *tc = tcase_create("greylist");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_triplet);
	tcase_add_test(tc, test_memory);
	tcase_add_test(tc, test_memory_full);
	tcase_add_test(tc, test_redis);
	tcase_add_test(tc, test_race);
	tcase_add_test(tc, test_redis_down);
	suite_add_tcase(suite, tc);
	return tenv_run(suite);
}
