/*
 * check_cache - verdicts through memory, a real redis-server and a real
 * rbldnsd; lists managed with Redis commands; Redis failing under use.
 *
 * dnsdelay sits in front of rbldnsd, holds slow.test for 300 ms and logs
 * every query name, so the tests can count what reached DNS.
 */
#include <check.h>
#include <fcntl.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lists/lists.h"
#include "decide/gather.h"
#include "decide/stack.h"
#include "conf/config.h"
#include "dnsbl/verdict.h"
#include "lib/addr.h"
#include "stats/metrics.h"
#include "t/tenv.h"

static const char bl4[] =
	"$TTL 300\n"
	"$SOA 300 ns.bl.test. admin.bl.test. 1 3600 600 86400 120\n"
	":127.0.0.2:Listed\n"
	"127.0.0.2\n"
	"192.0.2.10 :127.0.0.3:\n"
	"198.51.100.7\n";
static const char short4[] =
	"$TTL 2\n"
	"127.0.0.2\n";
static const char dbl[] =
	"$TTL 300\n"
	":127.0.1.2:\n"
	"spam.example\n"
	"test\n";
static const char *const datasets[] = {
	"bl.test:ip4set:bl4", "slow.test:ip4set:bl4", "short.test:ip4set:short4",
	"dbl.test:dnset:dbl", NULL,
};
static const char *const rules[] = {"slow.test=300", NULL};

static struct {
	char   *dir;
	pid_t	rbldnsd;
	pid_t	dnsdelay;
	int	dns_port;
	char   *query_log;
	struct tenv_redis redis;
} env;

static void
start_servers(void)
{
	int	rbl_port;

	env.dir = tenv_mkdir();
	free(tenv_write(env.dir, "bl4", bl4));
	free(tenv_write(env.dir, "short4", short4));
	free(tenv_write(env.dir, "dbl", dbl));
	env.query_log = tenv_write(env.dir, "queries", "");
	env.rbldnsd = tenv_rbldnsd(env.dir, datasets, "bl.test", &rbl_port);
	env.dnsdelay = tenv_dnsdelay(rbl_port, rules, env.query_log,
				     &env.dns_port);
	tenv_redis_start(&env.redis, env.dir, false, "");
}

static void
stop_servers(void)
{
	tenv_stop(env.redis.pid);
	tenv_stop(env.dnsdelay);
	tenv_stop(env.rbldnsd);
	free(env.query_log);
	tenv_rmdir(env.dir);
}

/* A stack as the daemon builds it, for one configuration. */
struct fixture {
	struct event_base *base;
	struct config *config;
	struct stack *stack;
};

/* Open a stack on the test servers; extra holds more settings. */
static void
open_service(struct fixture *f, const char *redis_server, const char *extra)
{
	char	text[2048];
	char	err[CONFIG_ERR_SIZE];
	char   *path;

	snprintf(text, sizeof(text),
		 "dns_servers = 127.0.0.1:%d\n"
		 "dnsbl_timeout = 1s\n"
		 "redis_server = %s\n"
		 "%s", env.dns_port, redis_server, extra);
	if (strstr(extra, "dnsbl_sites") == NULL)
		strcat(text, "dnsbl_sites = bl.test\n");
	path = tenv_write(env.dir, "rblmilter.conf", text);
	ck_assert_msg(config_load(path, &f->config, err, sizeof(err)) == 0,
		      "%s", err);
	free(path);
	ck_assert_ptr_nonnull(f->base = event_base_new());
	f->stack = stack_create(f->base, f->config, err, sizeof(err));
	ck_assert_msg(f->stack != NULL, "%s", err);
	stack_start(f->stack, true);
}

/* The test Redis, as redis_server says it. */
static const char *
tcp_redis(void)
{
	static char text[64];

	snprintf(text, sizeof(text), "127.0.0.1:%d", env.redis.port);
	return text;
}

static void
close_service(struct fixture *f)
{
	stack_drain(f->stack);
	stack_free(f->stack);
	event_base_free(f->base);
	config_free(f->config);
}

/* One lookup's result. */
struct result {
	struct verdict *verdict;
	enum cache_level level;
	int	done;
};

static void
on_done(struct verdict *verdict, enum cache_level level, void *arg)
{
	struct result *result = arg;

	result->verdict = verdict;
	result->level = level;
	result->done++;
}

/* Look ip up: where the verdict came from, its score and its TTL. */
static enum cache_level
lookup_ttl(struct fixture *f, const char *ip, int *score, unsigned *ttl)
{
	struct result result = {0};
	struct addr addr;
	char	text[ADDR_TEXT_SIZE];

	ck_assert_int_eq(addr_parse(ip, &addr), 0);
	ck_assert_int_eq(stack_lookup(f->stack, DNSBL_IPS,
				      addr_format(&addr, text), on_done,
				      &result), 0);
	while (!result.done)
		event_base_loop(f->base, EVLOOP_ONCE);
	ck_assert_ptr_nonnull(result.verdict);
	*score = result.verdict->score;
	*ttl = result.verdict->ttl;
	verdict_free(result.verdict);
	return result.level;
}

/* Look ip up and return where the verdict came from; *score its score. */
static enum cache_level
lookup(struct fixture *f, const char *ip, int *score)
{
	unsigned ttl;

	return lookup_ttl(f, ip, score, &ttl);
}

/* Run the loop for about ms milliseconds. */
static void
run_for(struct fixture *f, unsigned ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
}

/* Wait up to ms for addr's list flags (under mask) to become want. */
static unsigned
wait_lists(struct fixture *f, const char *ip, unsigned mask, unsigned want,
	   unsigned ms)
{
	struct addr addr;
	unsigned flags = 0;
	unsigned waited;

	ck_assert_int_eq(addr_parse(ip, &addr), 0);
	for (waited = 0; waited <= ms; waited += 50) {
		flags = stack_lists(f->stack, &addr) & mask;
		if (flags == want)
			break;
		run_for(f, 50);
	}
	return flags;
}

/* Send a command to the test Redis and drop the reply. */
#define redis_do(...) \
	freeReplyObject(tenv_redis_cmd(&env.redis, __VA_ARGS__))

/* Number of verdict keys in Redis for ip. */
static size_t
verdict_key_count(const char *ip)
{
	redisReply *reply = tenv_redis_cmd(&env.redis, "KEYS rblmilter:v:*:%s",
					   ip);
	size_t	count = reply->elements;

	freeReplyObject(reply);
	return count;
}

START_TEST(test_miss_then_hit)
{
	struct fixture f;
	int	score;

	open_service(&f, tcp_redis(), "");
	ck_assert_int_eq(lookup(&f, "192.0.2.10", &score), CACHE_MISS);
	ck_assert_int_eq(score, 1);
	ck_assert_int_eq(lookup(&f, "192.0.2.10", &score), CACHE_MEMORY);
	ck_assert_int_eq(score, 1);
	close_service(&f);
	/* Another host of the fleet: nothing in its memory, all in Redis. */
	open_service(&f, tcp_redis(), "");
	ck_assert_int_eq(lookup(&f, "192.0.2.10", &score), CACHE_REDIS);
	ck_assert_int_eq(score, 1);
	ck_assert_int_eq(lookup(&f, "192.0.2.10", &score), CACHE_MEMORY);
	close_service(&f);
	ck_assert_uint_eq(verdict_key_count("192.0.2.10"), 1);
}
END_TEST

START_TEST(test_no_redis)
{
	struct fixture f;
	int	score;

	/* No redis_server: the memory cache is the whole cache. */
	open_service(&f, "", "");
	ck_assert_int_eq(lookup(&f, "127.0.0.2", &score), CACHE_MISS);
	ck_assert_int_eq(lookup(&f, "127.0.0.2", &score), CACHE_MEMORY);
	close_service(&f);
	/* cache_size = 0: no memory cache either. */
	open_service(&f, "", "cache_size = 0\n");
	ck_assert_int_eq(lookup(&f, "127.0.0.2", &score), CACHE_MISS);
	ck_assert_int_eq(lookup(&f, "127.0.0.2", &score), CACHE_MISS);
	close_service(&f);
}
END_TEST

START_TEST(test_ttl_expiry)
{
	static const char extra[] = "dnsbl_sites = short.test\n"
		"dnsbl_min_ttl = 0\n";
	redisReply *reply;
	struct fixture f;
	int	score;

	open_service(&f, tcp_redis(), extra);
	ck_assert_int_eq(lookup(&f, "127.0.0.2", &score), CACHE_MISS);
	ck_assert_int_eq(lookup(&f, "127.0.0.2", &score), CACHE_MEMORY);
	reply = tenv_redis_cmd(&env.redis, "KEYS rblmilter:v:*:127.0.0.2");
	ck_assert_uint_ge(reply->elements, 1);
	freeReplyObject(reply);
	sleep(3);
	/* Expired in memory and in Redis: DNS again. */
	ck_assert_int_eq(lookup(&f, "127.0.0.2", &score), CACHE_MISS);
	close_service(&f);
}
END_TEST

START_TEST(test_config_change)
{
	struct fixture f;
	int	score;

	open_service(&f, tcp_redis(), "dnsbl_threshold = 1\n");
	ck_assert_int_eq(lookup(&f, "192.0.2.11", &score), CACHE_MISS);
	close_service(&f);
	open_service(&f, tcp_redis(), "dnsbl_threshold = 2\n");
	ck_assert_int_eq(lookup(&f, "192.0.2.11", &score), CACHE_MISS);
	close_service(&f);
	open_service(&f, tcp_redis(), "dnsbl_sites = bl.test*2\n");
	ck_assert_int_eq(lookup(&f, "192.0.2.11", &score), CACHE_MISS);
	close_service(&f);
	ck_assert_uint_eq(verdict_key_count("192.0.2.11"), 3);
	/* The same settings written differently share the key. */
	open_service(&f, tcp_redis(), "dnsbl_sites = BL.test.*2\n");
	ck_assert_int_eq(lookup(&f, "192.0.2.11", &score), CACHE_REDIS);
	close_service(&f);
}
END_TEST

/* Run the loop until each of count results is in. */
static void
wait_done(struct fixture *f, const struct result *results, size_t count)
{
	size_t	done = 0;
	size_t	i;

	while (done < count)
		for (event_base_loop(f->base, EVLOOP_ONCE), done = 0, i = 0;
		     i < count; i++)
			done += (size_t) results[i].done;
}

START_TEST(test_coalescing)
{
	struct result results[20] = {{0}};
	struct fixture f;
	size_t	i;

	open_service(&f, tcp_redis(), "dnsbl_sites = slow.test, bl.test\n");
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(stack_lookup(f.stack, DNSBL_IPS, "198.51.100.7",
					      on_done, results + i), 0);
	wait_done(&f, results, 20);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(results[i].level, CACHE_MISS);
		ck_assert_int_eq(results[i].verdict->score, 2);
		verdict_free(results[i].verdict);
	}
	close_service(&f);
	/* Twenty lookups, one query per zone, counted at the DNS side. */
	ck_assert_int_eq(tenv_count_lines(env.query_log,
					  "7.100.51.198.slow.test"), 1);
	ck_assert_int_eq(tenv_count_lines(env.query_log,
					  "7.100.51.198.bl.test"), 1);
}
END_TEST

/* Gather ip with sender and helo (gather.h), as the policy service. */
static void
gather(struct fixture *f, const char *ip, const char *sender,
       const char *helo, struct result *result)
{
	struct gather_client client = {
		.ip = ip,
		.given = {[DOMAIN_SENDER] = sender, [DOMAIN_HELO] = helo},
	};

	memset(result, 0, sizeof(*result));
	ck_assert_int_eq(gather_lookup(f->stack, &client, on_done, result), 0);
}

/* A counter of PREFIX stats is value. */
static void
assert_stat(const char *field, const char *value)
{
	redisReply *reply = tenv_redis_cmd(&env.redis, "HGET rblmilter:stats %s",
					   field);

	ck_assert_msg(reply->type == REDIS_REPLY_STRING
		      && strcmp(reply->str, value) == 0, "%s: %s", field,
		      reply->type == REDIS_REPLY_STRING ? reply->str : "none");
	freeReplyObject(reply);
}

/* The TTL of the one Redis key matching pattern, or -2 for none. */
static long long
key_ttl(const char *pattern)
{
	redisReply *keys = tenv_redis_cmd(&env.redis, "KEYS %s", pattern);
	redisReply *ttl;
	long long value = -2;

	ck_assert_uint_le(keys->elements, 1);
	if (keys->elements == 1) {
		ttl = tenv_redis_cmd(&env.redis, "TTL %s",
				     keys->element[0]->str);
		value = ttl->integer;
		freeReplyObject(ttl);
	}
	freeReplyObject(keys);
	return value;
}

START_TEST(test_names)
{
	struct result results[10];
	struct fixture f;
	size_t	i;

	redis_do("FLUSHALL");
	open_service(&f, tcp_redis(), "dnsbl_sites = slow.test\n"
		     "rhsbl_sites = dbl.test*3\n");
	/* Ten clients at once with one sender domain: one query a name. */
	for (i = 0; i < 10; i++)
		gather(&f, i % 2 ? "192.0.2.31" : "192.0.2.32",
		       "<a@mail.spam.example>", "[192.0.2.31]", results + i);
	wait_done(&f, results, 10);
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(results[i].level, CACHE_MISS);
		ck_assert_int_eq(results[i].verdict->score, 3);
		ck_assert_uint_eq(results[i].verdict->zone_count, 2);
		ck_assert_uint_eq(results[i].verdict->zone[1].hit_count, 1);
		ck_assert_str_eq(results[i].verdict->zone[1].hits[0].name,
				 "spam.example");
		verdict_free(results[i].verdict);
	}
	ck_assert_int_eq(tenv_count_lines(env.query_log,
					  "spam.example.dbl.test"), 1);
	ck_assert_int_eq(tenv_count_lines(env.query_log,
					  "mail.spam.example.dbl.test"), 1);
	/* The address literal HELO was never asked. */
	ck_assert_int_eq(tenv_count_matches(env.query_log, "[192"), 0);
	ck_assert_int_eq(tenv_count_matches(env.query_log, "31.2.0.192.dbl"),
			 0);
	/* Each name under its own key, with the zone's TTL. */
	ck_assert_int_gt(key_ttl("rblmilter:d:*:spam.example"), 290);
	ck_assert_int_le(key_ttl("rblmilter:d:*:spam.example"), 300);
	ck_assert_int_gt(key_ttl("rblmilter:d:*:mail.spam.example"), 0);
	ck_assert_int_eq(key_ttl("rblmilter:v:*:spam.example"), -2);
	close_service(&f);
	/* Another host of the fleet finds the names in Redis. */
	open_service(&f, tcp_redis(), "dnsbl_sites = slow.test\n"
		     "rhsbl_sites = dbl.test*3\n");
	gather(&f, "192.0.2.31", "a@spam.example", NULL, results);
	while (!results[0].done)
		event_base_loop(f.base, EVLOOP_ONCE);
	ck_assert_int_eq(results[0].level, CACHE_REDIS);
	ck_assert_int_eq(results[0].verdict->score, 3);
	verdict_free(results[0].verdict);
	/* The null sender is not looked up. */
	gather(&f, "192.0.2.31", "<>", NULL, results);
	while (!results[0].done)
		event_base_loop(f.base, EVLOOP_ONCE);
	ck_assert_int_eq(results[0].level, CACHE_MEMORY);
	ck_assert_int_eq(results[0].verdict->score, 0);
	verdict_free(results[0].verdict);
	close_service(&f);
	ck_assert_int_eq(tenv_count_lines(env.query_log,
					  "spam.example.dbl.test"), 1);
	/* --stats counts name lookups apart: 10 clients x 2 names, then 1. */
	assert_stat("name-cache:miss", "20");
	assert_stat("name-cache:redis", "1");
}
END_TEST

START_TEST(test_lists)
{
	struct fixture f;

	open_service(&f, tcp_redis(), "");
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.55", LIST_RELAY, 0, 0), 0);
	redis_do("SADD rblmilter:relay %s %s %s", "192.0.2.0/24",
		 "2001:db8::/32", "198.51.100.1");
	/* Seen within 2 seconds, no restart. */
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.55", LIST_RELAY, LIST_RELAY,
				     2000), LIST_RELAY);
	ck_assert_uint_eq(wait_lists(&f, "2001:db8:ffff::1", LIST_RELAY,
				     LIST_RELAY, 0), LIST_RELAY);
	ck_assert_uint_eq(wait_lists(&f, "::ffff:198.51.100.1", LIST_RELAY,
				     LIST_RELAY, 0), LIST_RELAY);
	ck_assert_uint_eq(wait_lists(&f, "198.51.100.2", LIST_RELAY, 0, 0), 0);
	ck_assert_uint_eq(wait_lists(&f, "192.0.3.1", LIST_RELAY, 0, 0), 0);
	redis_do("SREM rblmilter:relay %s %s %s", "192.0.2.0/24", "x", "y");
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.55", LIST_RELAY, 0, 2000), 0);
	ck_assert_uint_eq(wait_lists(&f, "198.51.100.1", LIST_RELAY,
				     LIST_RELAY, 0), LIST_RELAY);
	/* Overlapping allow and deny: the longer prefix wins. */
	redis_do("SADD rblmilter:allow %s %s %s", "10.0.0.0/8", "not-an-ip",
		 "300.1.1.1/8");
	redis_do("SADD rblmilter:deny %s %s %s", "10.1.2.3",
		 "::ffff:10.9.0.0/112", "10.0.0.0/8");
	ck_assert_uint_eq(wait_lists(&f, "10.1.2.3", LIST_ALLOW | LIST_DENY,
				     LIST_DENY, 2000), LIST_DENY);
	ck_assert_uint_eq(wait_lists(&f, "10.9.4.4", LIST_ALLOW | LIST_DENY,
				     LIST_DENY, 0), LIST_DENY);
	/* Same prefix in both: deny. */
	ck_assert_uint_eq(wait_lists(&f, "10.1.2.4", LIST_ALLOW | LIST_DENY,
				     LIST_DENY, 0), LIST_DENY);
	redis_do("SREM rblmilter:deny %s %s %s", "10.0.0.0/8", "x", "y");
	ck_assert_uint_eq(wait_lists(&f, "10.1.2.4", LIST_ALLOW | LIST_DENY,
				     LIST_ALLOW, 2000), LIST_ALLOW);
	/* A list key of the wrong type is an empty list. */
	redis_do("DEL rblmilter:deny");
	redis_do("SET rblmilter:deny garbage");
	ck_assert_uint_eq(wait_lists(&f, "10.1.2.3", LIST_ALLOW | LIST_DENY,
				     LIST_ALLOW, 2000), LIST_ALLOW);
	redis_do("DEL rblmilter:deny rblmilter:allow");
	redis_do("DEL rblmilter:relay");
	ck_assert_uint_eq(wait_lists(&f, "198.51.100.1", ~0u, 0, 2000), 0);
	close_service(&f);
}
END_TEST

/*
 * Checks that fail (Redis paused for 2.5 s) are said once, with the age
 * of the lists in force, and the first success after them is said too.
 * Before, each failed poll was dropped without a word.
 */
START_TEST(test_list_poll_failures)
{
	struct fixture f;
	char   *path;
	int	saved;

	ck_assert_int_ge(asprintf(&path, "%s/polls.log", env.dir), 0);
	redis_do("DEL rblmilter:relay");
	redis_do("SADD rblmilter:relay 192.0.2.1");
	saved = tenv_log_to(path);
	open_service(&f, tcp_redis(), "");
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.1", LIST_RELAY, LIST_RELAY,
				     2000), LIST_RELAY);
	redis_do("CLIENT PAUSE 2500 ALL");
	run_for(&f, 3000);
	redis_do("DEL rblmilter:relay");
	redis_do("SADD rblmilter:relay 192.0.2.2");
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.2", LIST_RELAY, LIST_RELAY,
				     3000), LIST_RELAY);
	/* The next check of the other sets ends the failure. */
	run_for(&f, 1200);
	close_service(&f);
	tenv_log_restore(saved);
	ck_assert_int_eq(tenv_count_matches(path, "a poll of the relay, allow "
					    "and deny sets failed"), 1);
	ck_assert_int_eq(tenv_count_matches(path, "polls succeed again"), 1);
	free(path);
}
END_TEST

/* How many times Redis ran command since the last CONFIG RESETSTAT. */
static long
redis_calls(const char *command)
{
	redisReply *reply = tenv_redis_cmd(&env.redis, "INFO commandstats");
	char	field[64];
	const char *at;
	long	calls = 0;

	snprintf(field, sizeof(field), "cmdstat_%s:calls=", command);
	if ((at = strstr(reply->str, field)) != NULL)
		calls = strtol(at + strlen(field), NULL, 10);
	freeReplyObject(reply);
	return calls;
}

/*
 * A relay set of 20,000 members (10.0.0.0 to 10.0.78.31), and no list
 * lock left by an earlier test (one whose Redis was paused would cost a
 * host 3 s of waiting for a copy).
 */
static void
load_relay_set(void)
{
	redis_do("DEL rblmilter:lock:relay rblmilter:lock:allow "
		 "rblmilter:lock:deny");
	redis_do("DEL rblmilter:relay");
	redis_do("EVAL %s 1 rblmilter:relay",
		 "for i = 0, 19999 do redis.call('SADD', KEYS[1], "
		 "'10.' .. math.floor(i / 65536) .. '.' .. "
		 "(math.floor(i / 256) % 256) .. '.' .. (i % 256)) end");
}

/* Another host of the fleet, b, on a's loop with a's configuration. */
static void
open_peer(struct fixture *b, const struct fixture *a)
{
	char	err[CONFIG_ERR_SIZE];

	*b = *a;
	b->stack = stack_create(a->base, a->config, err, sizeof(err));
	ck_assert_msg(b->stack != NULL, "%s", err);
	stack_start(b->stack, true);
}

/* Take b away; a's loop and configuration stay. */
static void
close_peer(struct fixture *b)
{
	stack_drain(b->stack);
	stack_free(b->stack);
}

/*
 * Two hosts on one Redis send one set of zone probes an interval, not
 * two: the one that claims a round probes and publishes, the other takes
 * that (alone, each would probe every interval).
 */
START_TEST(test_one_prober)
{
	struct fixture a;
	struct fixture b;
	redisReply *reply;
	int	before;
	int	probes;

	redis_do("DEL rblmilter:probe-lock:ip rblmilter:probe:ip");
	open_service(&a, tcp_redis(), "dnsbl_health_interval = 2s\n");
	open_peer(&b, &a);
	run_for(&a, 1000);
	before = tenv_count_lines(env.query_log, "2.0.0.127.bl.test");
	run_for(&a, 8000);
	probes = tenv_count_lines(env.query_log, "2.0.0.127.bl.test") - before;
	/* Four intervals: four sets of probes, give or take one (was 8). */
	ck_assert_msg(probes >= 3 && probes <= 5, "%d probes", probes);
	reply = tenv_redis_cmd(&env.redis, "GET rblmilter:probe:ip");
	ck_assert_int_eq(reply->type, REDIS_REPLY_STRING);
	ck_assert_msg(strstr(reply->str, "\nbl.test L127.0.0.2 N\n") != NULL,
		      "%s", reply->str);
	freeReplyObject(reply);
	ck_assert(stack_probed(a.stack) && stack_probed(b.stack));
	close_peer(&b);
	close_service(&a);
}
END_TEST

/* This host's lists@HOST field in the health hash, or "". */
static void
lists_state(char *text, size_t size)
{
	char	host[256] = "localhost";
	redisReply *reply;

	gethostname(host, sizeof(host) - 1);
	reply = tenv_redis_cmd(&env.redis, "HGET rblmilter:health lists@%s",
			       host);
	snprintf(text, size, "%s", reply->type == REDIS_REPLY_STRING ?
		 reply->str : "");
	freeReplyObject(reply);
}

/*
 * An unchanged list costs a SCARD per set and second, and no read; a
 * change that keeps the set's size (one SREM, one SADD) is told by
 * Redis' notices and takes effect at once.  Before, each host fetched
 * every set whole each second (SMEMBERS), and a set's size was all a
 * cheaper check could have seen.
 */
START_TEST(test_list_changes)
{
	struct fixture f;
	char	state[256];

	load_relay_set();
	redis_do("SADD rblmilter:relay 192.0.2.1");
	open_service(&f, tcp_redis(), "");
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.1", LIST_RELAY, LIST_RELAY,
				     2000), LIST_RELAY);
	run_for(&f, 500);
	redis_do("CONFIG RESETSTAT");
	run_for(&f, 3000);
	ck_assert_int_eq(redis_calls("sscan"), 0);
	ck_assert_int_eq(redis_calls("smembers"), 0);
	ck_assert_int_ge(redis_calls("scard"), 6);
	ck_assert_int_le(redis_calls("scard"), 12);
	redis_do("SREM rblmilter:relay 192.0.2.1");
	redis_do("SADD rblmilter:relay 192.0.2.2");
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.2", LIST_RELAY, LIST_RELAY,
				     500), LIST_RELAY);
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.1", LIST_RELAY, 0, 0), 0);
	/* The relay set was read again: some 5 steps of 5000. */
	ck_assert_int_ge(redis_calls("sscan"), 1);
	ck_assert_int_le(redis_calls("sscan"), 10);
	/*
	 * --stats shows how current the lists are: checked each second, so
	 * a second old at most (a slow machine, or a sanitizer, may round
	 * the check's time up).
	 */
	run_for(&f, 1100);
	lists_state(state, sizeof(state));
	ck_assert_msg((strstr(state, " age=0s ") != NULL
		       || strstr(state, " age=1s ") != NULL)
		      && strstr(state, "s relay=20001 allow=0 deny=0 "
				"notices=on") != NULL, "%s", state);
	close_service(&f);
	redis_do("DEL rblmilter:relay");
}
END_TEST

/*
 * Two hosts, one change: one reads the set (SSCAN) and writes the copy,
 * the other reads the copy (GETRANGE), and both relay the new member.
 */
/* Two hosts on the test Redis, both with the relay set read. */
static void
open_fleet(struct fixture *a, struct fixture *b, const char *extra)
{
	load_relay_set();
	open_service(a, tcp_redis(), extra);
	open_peer(b, a);
	ck_assert_uint_eq(wait_lists(a, "10.0.1.1", LIST_RELAY, LIST_RELAY,
				     2000), LIST_RELAY);
	ck_assert_uint_eq(wait_lists(b, "10.0.1.1", LIST_RELAY, LIST_RELAY,
				     2000), LIST_RELAY);
}

START_TEST(test_list_fleet)
{
	struct fixture a;
	struct fixture b;

	open_fleet(&a, &b, "");
	run_for(&a, 500);
	redis_do("CONFIG RESETSTAT");
	redis_do("SADD rblmilter:relay 192.0.2.9");
	ck_assert_uint_eq(wait_lists(&a, "192.0.2.9", LIST_RELAY, LIST_RELAY,
				     1000), LIST_RELAY);
	ck_assert_uint_eq(wait_lists(&b, "192.0.2.9", LIST_RELAY, LIST_RELAY,
				     1000), LIST_RELAY);
	/* One read of some 5 steps, not two; the copy's header and body. */
	ck_assert_int_ge(redis_calls("sscan"), 1);
	ck_assert_int_le(redis_calls("sscan"), 7);
	ck_assert_int_ge(redis_calls("getrange"), 2);
	close_peer(&b);
	close_service(&a);
	redis_do("DEL rblmilter:relay");
}
END_TEST

/*
 * A change counted that no copy holds (a host's count after the reader
 * began, say) costs one read at the next resync, not one per host and
 * resync: a resync waits for a copy and does not count.  Before, each
 * resync counted, so every other host's next resync read the set again.
 */
START_TEST(test_list_resync_quiet)
{
	struct fixture a;
	struct fixture b;

	open_fleet(&a, &b, "redis_list_resync = 1s\n");
	run_for(&a, 1000);
	redis_do("INCR rblmilter:seq:relay");
	redis_do("CONFIG RESETSTAT");
	run_for(&a, 6000);
	/* One read of the relay set (some 4 steps); the old code: 20 or so. */
	ck_assert_int_ge(redis_calls("sscan"), 1);
	ck_assert_int_le(redis_calls("sscan"), 8);
	close_peer(&b);
	close_service(&a);
	redis_do("DEL rblmilter:relay");
}
END_TEST

/*
 * Without notices (an ACL user may not run CLIENT), a change of size is
 * seen by the check each second, and one that keeps the size at the
 * next full read, every redis_list_resync; that is said at the start.
 */
/*
 * A copy that is not one (garbage a writer left, a value a proxy cut) is
 * refused with a warning, once a minute however often; the set is read
 * whole instead, and the lists stay right.
 */
START_TEST(test_list_bad_copy)
{
	struct fixture f;
	char   *path;
	int	saved;

	ck_assert_int_ge(asprintf(&path, "%s/copy.log", env.dir), 0);
	load_relay_set();
	saved = tenv_log_to(path);
	open_service(&f, tcp_redis(), "");
	ck_assert_uint_eq(wait_lists(&f, "10.0.1.1", LIST_RELAY, LIST_RELAY,
				     2000), LIST_RELAY);
	/* Another host holds the lock: this one waits for its copy. */
	run_for(&f, 1000);
	redis_do("SET rblmilter:lock:relay other PX 20000");
	redis_do("SET rblmilter:copy:relay garbage");
	redis_do("SADD rblmilter:relay 192.0.2.77");
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.77", LIST_RELAY, LIST_RELAY,
				     6000), LIST_RELAY);
	redis_do("SET rblmilter:copy:relay garbage");
	redis_do("SADD rblmilter:relay 192.0.2.78");
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.78", LIST_RELAY, LIST_RELAY,
				     6000), LIST_RELAY);
	redis_do("DEL rblmilter:lock:relay");
	close_service(&f);
	tenv_log_restore(saved);
	ck_assert_msg(tenv_count_matches(path, "warning: redis key "
		"rblmilter:copy:relay: not a copy of a list (bad header); the "
		"set is read whole instead") == 1, "%s", tenv_tail(path, 2000));
	redis_do("DEL rblmilter:relay");
	free(path);
}
END_TEST

START_TEST(test_list_no_notices)
{
	struct fixture f;
	char   *path;
	char	state[256];
	int	saved;

	ck_assert_int_ge(asprintf(&path, "%s/notices.log", env.dir), 0);
	redis_do("ACL SETUSER quiet on >secret ~* &* +@all -client");
	redis_do("DEL rblmilter:relay");
	redis_do("SADD rblmilter:relay 192.0.2.1");
	saved = tenv_log_to(path);
	open_service(&f, tcp_redis(), "redis_username = quiet\n"
		     "redis_password = secret\nredis_list_resync = 3s\n");
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.1", LIST_RELAY, LIST_RELAY,
				     2000), LIST_RELAY);
	redis_do("SADD rblmilter:relay 192.0.2.3");
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.3", LIST_RELAY, LIST_RELAY,
				     1500), LIST_RELAY);
	redis_do("SREM rblmilter:relay 192.0.2.1");
	redis_do("SADD rblmilter:relay 192.0.2.2");
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.2", LIST_RELAY, LIST_RELAY,
				     4000), LIST_RELAY);
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.1", LIST_RELAY, 0, 0), 0);
	lists_state(state, sizeof(state));
	ck_assert_msg(strstr(state, "notices=refused") != NULL, "%s", state);
	close_service(&f);
	tenv_log_restore(saved);
	ck_assert_int_eq(tenv_count_matches(path, "Redis sends no change "
					    "notices (NOPERM"), 1);
	redis_do("DEL rblmilter:relay");
	redis_do("ACL DELUSER quiet");
	free(path);
}
END_TEST

START_TEST(test_list_files)
{
	struct fixture f;
	char   *relay = tenv_write(env.dir, "relay_hosts",
				   "# our own networks\n"
				   "192.0.2.0/28   # the office\n"
				   "bogus\n"
				   "2001:db8::/126\n");
	char	extra[512];

	snprintf(extra, sizeof(extra), "relay_hosts = %s\n", relay);
	/* Without Redis. */
	open_service(&f, "", extra);
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.15", ~0u, LIST_RELAY, 0),
			  LIST_RELAY);
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.16", ~0u, 0, 0), 0);
	ck_assert_uint_eq(wait_lists(&f, "2001:db8::3", ~0u, LIST_RELAY, 0),
			  LIST_RELAY);
	close_service(&f);
	/*
	 * With Redis: the file and the set are merged; relay entries wider
	 * than relay_min_prefix_ipv4/_ipv6 (/8, /16) are refused, from the
	 * set as from the file: an open relay is never one typo away.
	 */
	redis_do("SADD rblmilter:relay %s %s %s %s %s %s", "203.0.113.0/24",
		 "::/0", "0.0.0.0/0", "::ffff:0:0/96", "64.0.0.0/2",
		 "2600::/15");
	redis_do("SADD rblmilter:allow %s", "0.0.0.0/0");
	open_service(&f, tcp_redis(), extra);
	ck_assert_uint_eq(wait_lists(&f, "203.0.113.9", LIST_RELAY, LIST_RELAY,
				     2000), LIST_RELAY);
	ck_assert_uint_eq(wait_lists(&f, "192.0.2.15", LIST_RELAY, LIST_RELAY,
				     0), LIST_RELAY);
	ck_assert_uint_eq(wait_lists(&f, "8.8.8.8", ~0u, LIST_ALLOW, 0),
			  LIST_ALLOW);
	ck_assert_uint_eq(wait_lists(&f, "2606:4700::1", LIST_RELAY, 0, 0), 0);
	close_service(&f);
	/* The bounds are settings: 0 lets a /0 relay, as before. */
	open_service(&f, tcp_redis(), "relay_min_prefix_ipv4 = 0\n"
		     "relay_min_prefix_ipv6 = 0\n");
	ck_assert_uint_eq(wait_lists(&f, "8.8.8.8", LIST_RELAY, LIST_RELAY,
				     2000), LIST_RELAY);
	ck_assert_uint_eq(wait_lists(&f, "2606:4700::1", LIST_RELAY,
				     LIST_RELAY, 0), LIST_RELAY);
	close_service(&f);
	redis_do("DEL rblmilter:relay rblmilter:allow");
	free(relay);
	/* A list file's /0 relay entry is refused too. */
	relay = tenv_write(env.dir, "relay_hosts", "0.0.0.0/0\n::/0\n");
	open_service(&f, "", extra);
	ck_assert_uint_eq(wait_lists(&f, "8.8.8.8", ~0u, 0, 0), 0);
	ck_assert_uint_eq(wait_lists(&f, "2606:4700::1", ~0u, 0, 0), 0);
	close_service(&f);
	free(relay);
}
END_TEST

START_TEST(test_garbage_value)
{
	static char long_txt[2048];
	char	value_text[64];
	char   *big;
	unsigned ttl;
	int	len;
	struct fixture f;
	redisReply *keys;
	redisReply *value;
	char	key[256];
	char	state;
	int	zones;
	int	end;
	int	score;

	open_service(&f, tcp_redis(), "");
	ck_assert_int_eq(lookup(&f, "192.0.2.99", &score), CACHE_MISS);
	close_service(&f);
	keys = tenv_redis_cmd(&env.redis, "KEYS rblmilter:v:*:192.0.2.99");
	ck_assert_uint_eq(keys->elements, 1);
	snprintf(key, sizeof(key), "%s", keys->element[0]->str);
	freeReplyObject(keys);
	redis_do("SET %s %s", key, "1 99999999999 1 L10.0.0.1");
	open_service(&f, tcp_redis(), "");
	ck_assert_int_eq(lookup(&f, "192.0.2.99", &score), CACHE_MISS);
	ck_assert_int_eq(score, 0);
	close_service(&f);
	/* Overwritten with a good one, which the next host reads. */
	value = tenv_redis_cmd(&env.redis, "GET %s", key);
	ck_assert_int_eq(sscanf(value->str, "1 %*d %d %c%n", &zones, &state,
				&end), 2);
	ck_assert_int_eq(zones, 1);
	ck_assert_int_eq(state, 'P');
	ck_assert_uint_eq(strlen(value->str), (size_t) end);
	freeReplyObject(value);
	redis_do("DEL %s", key);
	redis_do("SADD %s not-a-string", key);
	open_service(&f, tcp_redis(), "");
	ck_assert_int_eq(lookup(&f, "192.0.2.99", &score), CACHE_MISS);
	close_service(&f);
	/*
	 * A writer whose clock is ten years ahead: the verdict is used, but
	 * for dnsbl_max_ttl at most, in memory as in the log.
	 */
	redis_do("DEL %s", key);
	snprintf(value_text, sizeof(value_text), "1 %lld 1 P",
		 (long long) time(NULL) + 10LL * 365 * 86400);
	redis_do("SET %s %s EX 600", key, value_text);
	open_service(&f, tcp_redis(), "dnsbl_max_ttl = 1h\n");
	ck_assert_int_eq(lookup_ttl(&f, "192.0.2.99", &score, &ttl),
			 CACHE_REDIS);
	ck_assert_uint_le(ttl, 3600);
	ck_assert_int_eq(lookup_ttl(&f, "192.0.2.99", &score, &ttl),
			 CACHE_MEMORY);
	ck_assert_uint_le(ttl, 3600);
	close_service(&f);
	/* A value larger than any verdict (a 10 MB TXT): refused unread. */
	big = malloc(10 * 1024 * 1024 + 64);
	ck_assert_ptr_nonnull(big);
	len = snprintf(big, 64, "1 %lld 1 L127.0.0.2/",
		       (long long) time(NULL) + 600);
	memset(big + len, '4', 10 * 1024 * 1024);
	big[len + 10 * 1024 * 1024] = 0;
	redis_do("SET %s %s", key, big);
	free(big);
	open_service(&f, tcp_redis(), "");
	ck_assert_int_eq(lookup(&f, "192.0.2.99", &score), CACHE_MISS);
	close_service(&f);
	/* A TXT longer than the DNS path keeps (512 bytes): refused. */
	len = snprintf(long_txt, sizeof(long_txt), "1 %lld 1 L127.0.0.2/",
		       (long long) time(NULL) + 600);
	memset(long_txt + len, '4', 2 * 513);
	long_txt[len + 2 * 513] = 0;
	redis_do("SET %s %s", key, long_txt);
	open_service(&f, tcp_redis(), "");
	ck_assert_int_eq(lookup(&f, "192.0.2.99", &score), CACHE_MISS);
	close_service(&f);
	redis_do("DEL %s", key);
}
END_TEST

START_TEST(test_counters)
{
	struct fixture f;
	redisReply *reply;
	int	score;

	redis_do("DEL rblmilter:stats");
	open_service(&f, tcp_redis(), "dnsbl_sites = bl.test\n");
	ck_assert_int_eq(lookup(&f, "192.0.2.77", &score), CACHE_MISS);
	ck_assert_int_eq(lookup(&f, "192.0.2.77", &score), CACHE_MEMORY);
	close_service(&f);
	reply = tenv_redis_cmd(&env.redis, "HGET rblmilter:stats cache:miss");
	ck_assert_str_eq(reply->str, "1");
	freeReplyObject(reply);
	reply = tenv_redis_cmd(&env.redis, "HGET rblmilter:stats cache:memory");
	ck_assert_str_eq(reply->str, "1");
	freeReplyObject(reply);
}
END_TEST

START_TEST(test_redis_restart)
{
	struct tenv_redis own;
	struct fixture f;
	char	server[64];
	char	ip[32];
	redisReply *reply;
	long long keys;
	int	score;
	int	i;

	tenv_redis_start(&own, env.dir, false, "");
	snprintf(server, sizeof(server), "127.0.0.1:%d", own.port);
	open_service(&f, server, "");
	ck_assert_int_eq(lookup(&f, "127.0.0.2", &score), CACHE_MISS);
	kill(own.pid, SIGKILL);
	waitpid(own.pid, NULL, 0);
	/* Decisions go on from DNS and memory. */
	ck_assert_int_eq(lookup(&f, "127.0.0.2", &score), CACHE_MEMORY);
	ck_assert_int_eq(lookup(&f, "192.0.2.201", &score), CACHE_MISS);
	ck_assert_int_eq(lookup(&f, "192.0.2.202", &score), CACHE_MISS);
	tenv_redis_restart(&own, env.dir);
	/* It reconnects by itself: verdicts reach Redis again. */
	for (i = 0; i < 100; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", 100 + i);
		ck_assert_int_eq(lookup(&f, ip, &score), CACHE_MISS);
		reply = tenv_redis_cmd(&own, "DBSIZE");
		keys = reply->integer;
		freeReplyObject(reply);
		if (keys > 0)
			break;
		run_for(&f, 100);
	}
	ck_assert_int_lt(i, 100);
	close_service(&f);
	tenv_stop(own.pid);
}
END_TEST

START_TEST(test_redis_frozen)
{
	struct tenv_redis own;
	struct fixture f;
	unsigned long errors;
	struct timespec t0;
	struct timespec t1;
	char	server[64];
	char	ip[32];
	int	score;
	int	i;

	tenv_redis_start(&own, env.dir, false, "");
	snprintf(server, sizeof(server), "127.0.0.1:%d", own.port);
	open_service(&f, server, "redis_timeout = 100ms\n");
	errors = metrics_redis_errors();
	kill(own.pid, SIGSTOP);
	/* Each decision still arrives, well within redis_timeout + DNS. */
	for (i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", 210 + i);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ck_assert_int_eq(lookup(&f, ip, &score), CACHE_MISS);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ck_assert_int_lt((t1.tv_sec - t0.tv_sec) * 1000
				 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 1100);
	}
	/* Each GET that got no reply is a failed command, for the metrics. */
	ck_assert_uint_ge(metrics_redis_errors(), errors + 5);
	kill(own.pid, SIGCONT);
	close_service(&f);
	tenv_stop(own.pid);
}
END_TEST

START_TEST(test_unix_socket_password)
{
	struct tenv_redis own;
	struct fixture f;
	char	server[300];
	char	err[256];
	int	score;

	tenv_redis_start(&own, env.dir, true, "s3cret pass");
	snprintf(server, sizeof(server), "unix:%s", own.path);
	/* A wrong password: DNS-only stack, no crash. */
	open_service(&f, server, "redis_password = wrong\n");
	ck_assert_int_eq(lookup(&f, "127.0.0.2", &score), CACHE_MISS);
	ck_assert_int_eq(stack_print_stats(f.stack, stdout, err,
					     sizeof(err)), -1);
	close_service(&f);
	open_service(&f, server, "redis_password = s3cret pass\n");
	ck_assert_int_eq(lookup(&f, "127.0.0.2", &score), CACHE_MISS);
	close_service(&f);
	open_service(&f, server, "redis_password = s3cret pass\nredis_db = 3\n");
	ck_assert_int_eq(lookup(&f, "127.0.0.2", &score), CACHE_MISS);
	close_service(&f);
	open_service(&f, server, "redis_password = s3cret pass\n");
	ck_assert_int_eq(lookup(&f, "127.0.0.2", &score), CACHE_REDIS);
	close_service(&f);
	tenv_stop(own.pid);
}
END_TEST

static Suite *
cache_suite(void)
{
	Suite  *suite = suite_create("cache");
	TCase  *tc = tcase_create("redis");

	tcase_add_unchecked_fixture(tc, start_servers, stop_servers);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_miss_then_hit);
	tcase_add_test(tc, test_no_redis);
	tcase_add_test(tc, test_ttl_expiry);
	tcase_add_test(tc, test_config_change);
	tcase_add_test(tc, test_coalescing);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_lists);
	tcase_add_test(tc, test_list_files);
	tcase_add_test(tc, test_list_poll_failures);
	tcase_add_test(tc, test_list_changes);
	tcase_add_test(tc, test_list_fleet);
	tcase_add_test(tc, test_list_resync_quiet);
	tcase_add_test(tc, test_list_no_notices);
	tcase_add_test(tc, test_list_bad_copy);
	tcase_add_test(tc, test_one_prober);
	tcase_add_test(tc, test_garbage_value);
	tcase_add_test(tc, test_counters);
	tcase_add_test(tc, test_redis_restart);
	tcase_add_test(tc, test_redis_frozen);
	tcase_add_test(tc, test_unix_socket_password);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(cache_suite());
}
