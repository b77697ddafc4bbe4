/*
 * check_engine - the DNSBL engine against a real rbldnsd.
 *
 * rbldnsd serves the zones below; dnsdelay sits in front of it and drops
 * every query for never.test and holds slow.test for 300 ms.  Each test
 * builds an engine for its own dnsbl_sites and looks up real IPs.  The
 * zone health tests probe zones that fail the RFC 5782 test points, and
 * one that recovers on an rbldnsd of its own.
 */
#include <check.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dnsbl/engine.h"
#include "dnsbl/health.h"
#include "dnsbl/site.h"
#include "dnsbl/verdict.h"
#include "lib/addr.h"
#include "lib/kvline.h"
#include "t/tenv.h"

static const char bl4[] =
	"$TTL 300\n"
	"$SOA 300 ns.bl.test. admin.bl.test. 1 3600 600 86400 120\n"
	":127.0.0.2:Listed in bl.test: $\n"
	"127.0.0.2\n"
	"192.0.2.10 :127.0.0.3:three\n"
	"192.0.2.11 :127.0.0.4:four\n"
	"192.0.2.20\n";
static const char bl6[] =
	"$TTL 600\n"
	":127.0.0.2:IPv6 listed\n"
	"2001:db8::2\n";
static const char wl4[] =
	"$TTL 900\n"
	":127.0.10.2:\n"
	"192.0.2.20\n"
	"192.0.2.21 :127.0.10.0:\n";
static const char refused4[] =
	":127.255.255.254:query refused\n"
	"127.0.0.2\n";
static const char outside4[] =
	":10.0.0.1:wildcard\n"
	"127.0.0.2\n";
static const char plain4[] =
	"127.0.0.2\n";
/* A dead list, wildcarded: it lists every address there is. */
static const char world4[] =
	"$TTL 300\n"
	":127.0.0.2:the world\n"
	"0.0.0.0/0\n";

/* Domain zones: DBL-like (with TEST), ZRD-like, and one that takes
 * every name for an IP address, as DBL answers IP queries. */
static const char dbl[] =
	"$TTL 300\n"
	"$SOA 300 ns.dbl.test. admin.dbl.test. 1 3600 600 86400 120\n"
	":127.0.1.2:Listed in dbl.test: $\n"
	"spam.example\n"
	"test\n"
	"mail.other.example :127.0.1.3:full name\n";
static const char zrd[] =
	"$TTL 200\n"
	":127.0.2.5:young\n"
	"young.example\n"
	"test\n";
static const char ipq[] =
	":127.0.1.255:IP queries prohibited\n"
	"*.example\n"
	"test\n";
/* A dead domain list: every name there is. */
static const char dworld[] =
	":127.0.1.2:the world\n"
	"test\n"
	"invalid\n"
	"*.example\n";

static const char *const datasets[] = {
	"dbl.test:dnset:dbl", "zrd.test:dnset:zrd", "ipq.test:dnset:ipq",
	"dworld.test:dnset:dworld",
	"bl.test:ip4set:bl4", "bl.test:ip6trie:bl6", "wl.test:ip4set:wl4",
	"refused.test:ip4set:refused4", "outside.test:ip4set:outside4",
	"never.test:ip4set:plain4", "slow.test:ip4set:plain4",
	"world.test:ip4trie:world4", NULL,
};
static const char *const rules[] = {"never.test=drop", "slow.test=300", NULL};

/* The servers, started once for the whole test case. */
static struct {
	char   *dir;
	pid_t	rbldnsd;
	pid_t	dnsdelay;
	char	servers[64];
} env;

static void
start_servers(void)
{
	int	rbl_port;
	int	delay_port;

	env.dir = tenv_mkdir();
	free(tenv_write(env.dir, "bl4", bl4));
	free(tenv_write(env.dir, "bl6", bl6));
	free(tenv_write(env.dir, "wl4", wl4));
	free(tenv_write(env.dir, "refused4", refused4));
	free(tenv_write(env.dir, "outside4", outside4));
	free(tenv_write(env.dir, "plain4", plain4));
	free(tenv_write(env.dir, "world4", world4));
	free(tenv_write(env.dir, "dbl", dbl));
	free(tenv_write(env.dir, "zrd", zrd));
	free(tenv_write(env.dir, "ipq", ipq));
	free(tenv_write(env.dir, "dworld", dworld));
	env.rbldnsd = tenv_rbldnsd(env.dir, datasets, "bl.test", &rbl_port);
	env.dnsdelay = tenv_dnsdelay(rbl_port, rules, NULL, &delay_port);
	snprintf(env.servers, sizeof(env.servers), "127.0.0.1:%d", delay_port);
}

static void
stop_servers(void)
{
	tenv_stop(env.dnsdelay);
	tenv_stop(env.rbldnsd);
	tenv_rmdir(env.dir);
}

/* One engine with its loop and site list, as a test sets it up. */
struct fixture {
	struct event_base *base;
	struct dnsbl_sites *sites;
	struct dnsbl_engine *engine;
	unsigned pending;
};

/* A lookup's result slot. */
struct result {
	struct fixture *fixture;
	struct verdict *verdict;
};

/*
 * An engine for zones of kind that probes them every health_interval
 * seconds.
 */
static void
fixture_open_kind(struct fixture *f, enum dnsbl_kind kind, const char *servers,
		  const char *sites, unsigned timeout_ms, bool reply_text,
		  unsigned health_interval)
{
	struct dnsbl_options options = {0};
	char	err[256];

	memset(f, 0, sizeof(*f));
	ck_assert_ptr_nonnull(f->base = event_base_new());
	ck_assert_int_eq(dnsbl_sites_parse(sites, kind, &f->sites, err,
					   sizeof(err)), 0);
	options.sites = f->sites;
	options.dns_servers = servers;
	options.timeout_ms = timeout_ms;
	options.min_ttl = 10;
	options.max_ttl = 3600;
	options.incomplete_ttl = 30;
	options.reply_text = reply_text;
	options.health_interval = health_interval;
	f->engine = dnsbl_engine_create(f->base, &options, err, sizeof(err));
	ck_assert_msg(f->engine != NULL, "%s", err);
}

/* An engine that probes its IP zones every health_interval seconds. */
static void
fixture_open_health(struct fixture *f, const char *servers, const char *sites,
		    unsigned timeout_ms, bool reply_text,
		    unsigned health_interval)
{
	fixture_open_kind(f, DNSBL_IPS, servers, sites, timeout_ms, reply_text,
			  health_interval);
}

static void
fixture_open(struct fixture *f, const char *servers, const char *sites,
	     unsigned timeout_ms, bool reply_text)
{
	fixture_open_health(f, servers, sites, timeout_ms, reply_text, 0);
}

static void
fixture_close(struct fixture *f)
{
	dnsbl_engine_free(f->engine);
	dnsbl_sites_free(f->sites);
	event_base_free(f->base);
}

static void
on_done(struct verdict *verdict, void *arg)
{
	struct result *result = arg;

	ck_assert_ptr_null(result->verdict);
	result->verdict = verdict;
	result->fixture->pending--;
}

/* Start a lookup of ip into result. */
static void
submit(struct fixture *f, const char *ip, struct result *result)
{
	result->fixture = f;
	result->verdict = NULL;
	ck_assert_int_eq(dnsbl_submit(f->engine, ip, on_done, result), 0);
	f->pending++;
}

/* Run the loop until every submitted lookup is done. */
static void
wait_all(struct fixture *f)
{
	while (f->pending > 0)
		ck_assert_int_eq(event_base_loop(f->base, EVLOOP_ONCE), 0);
}

/*
 * Look up one IP (or name, in zones of that kind) with a fresh engine;
 * the caller frees the verdict.
 */
static struct verdict *
lookup_kind(enum dnsbl_kind kind, const char *sites, const char *subject,
	    unsigned timeout_ms, bool text)
{
	struct fixture f;
	struct result result;

	fixture_open_kind(&f, kind, env.servers, sites, timeout_ms, text, 0);
	submit(&f, subject, &result);
	wait_all(&f);
	fixture_close(&f);
	return result.verdict;
}

static struct verdict *
lookup(const char *sites, const char *ip, unsigned timeout_ms, bool text)
{
	return lookup_kind(DNSBL_IPS, sites, ip, timeout_ms, text);
}

/* The verdict line, as --check and the logs print it. */
static void
assert_format(const struct verdict *verdict, const char *sites_text,
	      const char *want)
{
	struct dnsbl_sites *sites;
	struct kvline *line;
	char	err[256];
	char	text[512];

	ck_assert_int_eq(dnsbl_sites_parse(sites_text, DNSBL_IPS, &sites, err,
					   sizeof(err)), 0);
	ck_assert_ptr_nonnull(line = kvline_create());
	verdict_format(verdict, sites, line);
	snprintf(text, sizeof(text), "%s", kvline_text(line));
	tenv_cut(text, "dns_ms");
	tenv_cut(text, "zone_ms");
	ck_assert_str_eq(text, want);
	kvline_free(line);
	dnsbl_sites_free(sites);
}

START_TEST(test_v4_listed)
{
	struct verdict *v = lookup("bl.test", "127.0.0.2", 2000, false);

	ck_assert_int_eq(v->zone[0].state, VERDICT_ZONE_LISTED);
	ck_assert_int_eq(v->score, 1);
	ck_assert(v->complete);
	ck_assert_uint_eq(v->ttl, 300);
	ck_assert_ptr_null(v->zone[0].text);
	assert_format(v, "bl.test", "score=1 listed=bl.test(127.0.0.2) "
		      "unknown= ttl=300");
	verdict_free(v);
}
END_TEST

START_TEST(test_v4_unlisted)
{
	struct verdict *v = lookup("bl.test", "192.0.2.99", 2000, false);

	ck_assert_int_eq(v->zone[0].state, VERDICT_ZONE_PASS);
	ck_assert_int_eq(v->score, 0);
	ck_assert(v->complete);
	/* Negative TTL: min(SOA TTL 300, SOA minimum 120). */
	ck_assert_uint_eq(v->ttl, 120);
	verdict_free(v);
}
END_TEST

START_TEST(test_v6)
{
	struct verdict *v = lookup("bl.test", "2001:DB8::2", 2000, true);

	ck_assert_int_eq(v->zone[0].state, VERDICT_ZONE_LISTED);
	ck_assert_int_eq(v->score, 1);
	ck_assert_uint_eq(v->ttl, 600);
	ck_assert_str_eq(v->zone[0].text, "IPv6 listed");
	verdict_free(v);
	v = lookup("bl.test", "2001:db8::3", 2000, false);
	ck_assert_int_eq(v->zone[0].state, VERDICT_ZONE_PASS);
	ck_assert(v->complete);
	verdict_free(v);
	/* IPv4-mapped IPv6 is looked up under its IPv4 name. */
	v = lookup("bl.test", "::ffff:127.0.0.2", 2000, false);
	ck_assert_int_eq(v->zone[0].state, VERDICT_ZONE_LISTED);
	verdict_free(v);
}
END_TEST

START_TEST(test_filters)
{
	static const char sites[] = "bl.test=127.0.0.[3..4]*2";
	struct verdict *v = lookup(sites, "127.0.0.2", 2000, false);

	/* Answered 127.0.0.2, which the filter does not take. */
	ck_assert_int_eq(v->zone[0].state, VERDICT_ZONE_PASS);
	ck_assert_int_eq(v->score, 0);
	assert_format(v, sites, "score=0 listed= unknown= ttl=300");
	verdict_free(v);
	v = lookup(sites, "192.0.2.11", 2000, false);
	ck_assert_int_eq(v->zone[0].state, VERDICT_ZONE_LISTED);
	ck_assert_int_eq(v->score, 2);
	verdict_free(v);
}
END_TEST

START_TEST(test_same_zone_twice)
{
	static const char sites[] = "bl.test=127.0.0.2*3, bl.test=127.0.0.[2..3]";
	static const struct {
		const char *ip;
		int	score;
	} cases[] = {
		{"127.0.0.2", 4}, {"192.0.2.10", 1}, {"192.0.2.11", 0},
		{"192.0.2.99", 0},
	};
	struct fixture f;
	struct result results[4];
	size_t	i;

	/* All four at once through one engine. */
	fixture_open(&f, env.servers, sites, 2000, false);
	ck_assert_uint_eq(dnsbl_sites_zone_count(f.sites), 1);
	for (i = 0; i < 4; i++)
		submit(&f, cases[i].ip, results + i);
	wait_all(&f);
	for (i = 0; i < 4; i++) {
		ck_assert_msg(results[i].verdict->score == cases[i].score,
			      "%s: score %d, want %d", cases[i].ip,
			      results[i].verdict->score, cases[i].score);
		verdict_free(results[i].verdict);
	}
	fixture_close(&f);
}
END_TEST

START_TEST(test_negative_weight)
{
	static const char sites[] = "bl.test*2 wl.test=127.0.[0..255].[1..3]*-3";
	struct verdict *v = lookup(sites, "192.0.2.20", 2000, false);

	ck_assert_int_eq(v->score, -1);
	ck_assert_int_eq(v->zone[1].state, VERDICT_ZONE_LISTED);
	ck_assert_int_eq(v->zone[1].score, -3);
	ck_assert_int_eq(verdict_rank(v->score, 2, 0), VERDICT_PASS);
	ck_assert_int_eq(verdict_rank(v->score, 2, -1), VERDICT_ALLOW);
	ck_assert_int_eq(verdict_rank(v->score, 2, -2), VERDICT_PASS);
	assert_format(v, sites, "score=-1 listed=bl.test(127.0.0.2),"
		      "wl.test(127.0.10.2) unknown= ttl=300");
	verdict_free(v);
	/* 127.0.10.0 is outside the DNSWL filter. */
	v = lookup(sites, "192.0.2.21", 2000, false);
	ck_assert_int_eq(v->score, 0);
	ck_assert_int_eq(v->zone[1].state, VERDICT_ZONE_PASS);
	verdict_free(v);
}
END_TEST

START_TEST(test_threshold_edges)
{
	struct verdict *v = lookup("bl.test*2", "127.0.0.2", 2000, false);

	ck_assert_int_eq(v->score, 2);
	ck_assert_int_eq(verdict_rank(v->score, 1, 0), VERDICT_REJECT);
	ck_assert_int_eq(verdict_rank(v->score, 2, 0), VERDICT_REJECT);
	ck_assert_int_eq(verdict_rank(v->score, 3, 0), VERDICT_PASS);
	verdict_free(v);
}
END_TEST

START_TEST(test_zone_never_answers)
{
	static const char sites[] = "never.test*5 bl.test";
	struct verdict *v = lookup(sites, "127.0.0.2", 500, false);

	ck_assert(!v->complete);
	ck_assert_int_eq(v->zone[0].state, VERDICT_ZONE_UNKNOWN);
	ck_assert_str_eq(v->zone[0].reason, "timeout");
	/* The zone that answered is kept. */
	ck_assert_int_eq(v->zone[1].state, VERDICT_ZONE_LISTED);
	ck_assert_int_eq(v->score, 1);
	/* It ended at the deadline, not before (libevent's coarse clock
	 * may fire a few milliseconds early). */
	ck_assert_uint_ge(v->dns_ms, 490);
	/* The silent zone's time is the deadline's; the other answered. */
	ck_assert_uint_ge(v->zone[0].answer_us, 490000);
	ck_assert_uint_gt(v->zone[1].answer_us, 0);
	/* Incomplete: asked again after dnsbl_incomplete_ttl. */
	assert_format(v, sites, "score=1 listed=bl.test(127.0.0.2) "
		      "unknown=never.test(timeout) ttl=30");
	verdict_free(v);
}
END_TEST

START_TEST(test_slow_zone)
{
	struct verdict *v = lookup("slow.test bl.test", "127.0.0.2", 2000,
				   false);

	/* Both answered: the lookup waited for the 300 ms zone. */
	ck_assert(v->complete);
	ck_assert_int_eq(v->score, 2);
	ck_assert_uint_ge(v->dns_ms, 290);
	/* Each zone has its own time: the slow one's is its delay. */
	ck_assert_uint_ge(v->zone[0].answer_us, 290000);
	ck_assert_uint_gt(v->zone[1].answer_us, 0);
	verdict_free(v);
}
END_TEST

/* What lookup_many() submits. */
struct many {
	struct fixture *fixture;
	struct result *results;
	int	count;
};

/* Submit count lookups of distinct IPs (198.51.x.y). */
static void
submit_many(evutil_socket_t fd, short what, void *arg)
{
	struct many *many = arg;
	char	ip[32];
	int	i;

	(void) fd;
	(void) what;
	for (i = 0; i < many->count; i++) {
		snprintf(ip, sizeof(ip), "198.51.%d.%d", i / 200, i % 200 + 1);
		submit(many->fixture, ip, many->results + i);
	}
}

/*
 * Look up count distinct IPs at once; the results.  They are submitted
 * from a loop callback, where libevent reads the clock once for all: every
 * deadline falls at the same instant, however slowly a busy machine runs
 * the submissions, and lookups still waiting for room end with those
 * that held it instead of being sent by them a moment before their own.
 */
static struct result *
lookup_many(struct fixture *f, int count)
{
	struct timeval now = {0, 0};
	struct many many = {f, calloc((size_t) count, sizeof(*many.results)),
	count};

	ck_assert_ptr_nonnull(many.results);
	ck_assert_int_eq(event_base_once(f->base, -1, EV_TIMEOUT, submit_many,
					 &many, &now), 0);
	ck_assert_int_eq(event_base_loop(f->base, EVLOOP_ONCE), 0);
	wait_all(f);
	return many.results;
}

START_TEST(test_queries_capped)
{
	struct fixture f;
	struct result *results;
	int	waited = 0;
	int	i;

	/*
	 * 250 lookups of 2 zones: at most 200 queries go out at once, the
	 * rest wait their turn; slow.test answers after 300 ms, so within a
	 * 2 s deadline every lookup still completes.
	 */
	fixture_open(&f, env.servers, "slow.test bl.test", 2000, false);
	results = lookup_many(&f, 250);
	for (i = 0; i < 250; i++) {
		ck_assert_msg(results[i].verdict->complete, "lookup %d", i);
		waited += results[i].verdict->dns_ms >= 550;
		verdict_free(results[i].verdict);
	}
	/* Some of them did wait a round for room. */
	ck_assert_int_gt(waited, 0);
	free(results);
	fixture_close(&f);
}
END_TEST

/*
 * A burst beside a zone that never answers: 1000 lookups at once of
 * never.test (dropped) and world.test (lists everyone), deadline 500 ms.
 * never.test fills its own share of the queries in flight and no more,
 * so world.test answers for every client and every one is listed; the
 * never.test queries that never left its queue say not-asked, not
 * timeout.  Before, the silent zone held every place and 800 of 1000
 * lookups ended with neither zone asked.
 */
START_TEST(test_burst_beside_silent_zone)
{
	struct fixture f;
	struct result *results;
	int	listed = 0;
	int	timeout = 0;
	int	not_asked = 0;
	int	i;

	fixture_open(&f, env.servers, "never.test world.test", 500, false);
	results = lookup_many(&f, 1000);
	for (i = 0; i < 1000; i++) {
		const struct verdict *v = results[i].verdict;

		listed += v->zone[1].state == VERDICT_ZONE_LISTED;
		ck_assert_int_eq(v->zone[0].state, VERDICT_ZONE_UNKNOWN);
		timeout += strcmp(v->zone[0].reason, "timeout") == 0;
		not_asked += strcmp(v->zone[0].reason, "not-asked") == 0;
		ck_assert_uint_le(v->dns_ms, 1500);
		verdict_free(results[i].verdict);
	}
	printf("engine: burst of 1000 beside a silent zone: %d listed, "
	       "%d timeout, %d not-asked\n", listed, timeout, not_asked);
	ck_assert_int_eq(listed, 1000);
	/* At most its share (200 / 2 zones) of the silent zone was asked. */
	ck_assert_int_le(timeout, 100);
	ck_assert_int_eq(timeout + not_asked, 1000);
	free(results);
	fixture_close(&f);
}
END_TEST

START_TEST(test_refusal_codes)
{
	static const char sites[] = "refused.test*5 outside.test*5 bl.test";
	struct verdict *v = lookup(sites, "127.0.0.2", 2000, false);

	/* 127.255.255.254 and 10.0.0.1 are not listings. */
	ck_assert_int_eq(v->zone[0].state, VERDICT_ZONE_UNKNOWN);
	ck_assert_str_eq(v->zone[0].reason, "127.255.255.254");
	ck_assert_int_eq(v->zone[1].state, VERDICT_ZONE_UNKNOWN);
	ck_assert_str_eq(v->zone[1].reason, "10.0.0.1");
	ck_assert_int_eq(v->score, 1);
	ck_assert(!v->complete);
	assert_format(v, sites, "score=1 listed=bl.test(127.0.0.2) "
		      "unknown=refused.test(127.255.255.254),"
		      "outside.test(10.0.0.1) ttl=30");
	verdict_free(v);
}
END_TEST

START_TEST(test_unserved_zone)
{
	/* rbldnsd answers REFUSED outside its zones. */
	struct verdict *v = lookup("nothere.test", "127.0.0.2", 2000, false);

	ck_assert_int_eq(v->zone[0].state, VERDICT_ZONE_UNKNOWN);
	ck_assert_str_eq(v->zone[0].reason, "refused");
	verdict_free(v);
}
END_TEST

START_TEST(test_reply_text)
{
	static const char sites[] = "bl.test, wl.test*-1";
	struct verdict *v = lookup(sites, "192.0.2.10", 2000, true);

	ck_assert_str_eq(v->zone[0].text, "three");
	verdict_free(v);
	v = lookup(sites, "127.0.0.2", 2000, true);
	ck_assert_str_eq(v->zone[0].text, "Listed in bl.test: 127.0.0.2");
	assert_format(v, sites, "score=1 listed=bl.test(127.0.0.2) unknown= "
		      "ttl=300 text=\"Listed in bl.test: 127.0.0.2\"");
	verdict_free(v);
	/* DNSWL hits (negative weight) do not fetch an explanation. */
	v = lookup(sites, "192.0.2.20", 2000, true);
	ck_assert_ptr_null(v->zone[1].text);
	verdict_free(v);
}
END_TEST

START_TEST(test_no_server)
{
	struct fixture f;
	struct result result;

	/* Nothing listens on the discard port: every zone is unreachable. */
	fixture_open(&f, "127.0.0.1:9", "bl.test", 1000, false);
	submit(&f, "127.0.0.2", &result);
	wait_all(&f);
	ck_assert(!result.verdict->complete);
	ck_assert_str_eq(result.verdict->zone[0].reason, "unreachable");
	verdict_free(result.verdict);
	fixture_close(&f);
}
END_TEST

/* Run the loop until the engine's first round of probes is over. */
static const struct health *
wait_probed(struct fixture *f)
{
	const struct health *health = dnsbl_engine_health(f->engine);

	ck_assert_ptr_nonnull(health);
	while (!health_probed(health))
		ck_assert_int_eq(event_base_loop(f->base, EVLOOP_ONCE), 0);
	return health;
}

/* Run the loop until log has count lines with text; 10 s at most. */
static void
wait_log(struct fixture *f, const char *log, const char *text, int count)
{
	time_t	end = time(NULL) + 10;

	while (tenv_count_matches(log, text) < count) {
		ck_assert_msg(time(NULL) < end, "not %d lines with \"%s\" in:\n%s",
			      count, text, tenv_tail(log, 1000));
		ck_assert_int_eq(event_base_loop(f->base, EVLOOP_ONCE), 0);
	}
}

START_TEST(test_health_states)
{
	static const char sites[] = "bl.test world.test refused.test "
		"outside.test wl.test never.test";
	static const enum health_state want[] = {
		HEALTH_OK, HEALTH_LISTING_WORLD, HEALTH_REFUSING,
		HEALTH_REFUSING, HEALTH_NO_TEST_POINT, HEALTH_UNKNOWN,
	};
	const struct health *health;
	struct fixture f;
	char	log[512];
	char	text[HEALTH_TEXT_SIZE];
	size_t	i;
	int	saved;

	snprintf(log, sizeof(log), "%s/states.log", env.dir);
	saved = tenv_log_to(log);
	fixture_open_health(&f, env.servers, sites, 500, false, 60);
	health = wait_probed(&f);
	tenv_log_restore(saved);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_msg(health_state(health, i) == want[i], "zone %zu: %s",
			      i, health_state_name(health_state(health, i)));
		ck_assert(health_scoring(health, i) == (i < 1 || i > 3));
	}
	health_describe(health, 1, text, sizeof(text));
	ck_assert_msg(strncmp(text, "listing-world since=", 20) == 0
		      && strstr(text, "Z checked=") != NULL
		      && strstr(text, "Z answer=127.0.0.2") != NULL, "%s", text);
	health_describe(health, 0, text, sizeof(text));
	ck_assert_msg(strncmp(text, "ok since=", 9) == 0
		      && strstr(text, "answer=") == NULL, "%s", text);
	/* Once each, after one round; loudly for the zones taken out. */
	ck_assert_int_eq(tenv_count_matches(log, "rblmilter: error: dnsbl zone "
		"world.test lists 127.0.0.1 (answer 127.0.0.2), the RFC 5782 "
		"test point that no list may list: it lists the world; out of "
		"scoring until it recovers"), 1);
	ck_assert_int_eq(tenv_count_matches(log, "rblmilter: error: dnsbl zone "
		"refused.test answers 127.255.255.254 for the RFC 5782 test "
		"point 127.0.0.2: the list refuses queries from this "
		"resolver"), 1);
	ck_assert_int_eq(tenv_count_matches(log, "rblmilter: error: dnsbl zone "
		"outside.test answers 10.0.0.1 for the RFC 5782 test point "
		"127.0.0.2: answers outside 127.0.0.0/8 mean a dead or "
		"wildcarded zone"), 1);
	ck_assert_int_eq(tenv_count_matches(log, "rblmilter: warning: dnsbl "
		"zone wl.test does not list 127.0.0.2, the RFC 5782 test point: "
		"it may be empty or not follow RFC 5782; it still counts"), 1);
	ck_assert_int_eq(tenv_count_matches(log, "rblmilter:"), 4);
	fixture_close(&f);
}
END_TEST

/* Look up one name in domain zones with a fresh engine. */
static struct verdict *
lookup_name(const char *sites, const char *name)
{
	return lookup_kind(DNSBL_NAMES, sites, name, 2000, true);
}

START_TEST(test_names)
{
	struct verdict *v;
	char	log[512];
	int	saved;

	v = lookup_name("dbl.test=127.0.1.[2..99]*3 zrd.test*2", "spam.example");
	ck_assert_int_eq(v->zone[0].state, VERDICT_ZONE_LISTED);
	ck_assert_int_eq(v->zone[0].score, 3);
	ck_assert_int_eq(v->zone[1].state, VERDICT_ZONE_PASS);
	ck_assert_int_eq(v->score, 3);
	ck_assert_uint_eq(v->ttl, 300);
	ck_assert_str_eq(v->zone[0].text, "Listed in dbl.test: spam.example");
	verdict_free(v);
	v = lookup_name("dbl.test zrd.test*2", "young.example");
	ck_assert_int_eq(v->zone[0].state, VERDICT_ZONE_PASS);
	ck_assert_str_eq(verdict_result_name(verdict_zone_result(v->zone)),
			 "clean");
	ck_assert_int_eq(v->zone[1].state, VERDICT_ZONE_LISTED);
	ck_assert_int_eq(v->score, 2);
	ck_assert(v->complete);
	verdict_free(v);
	/* 127.0.1.255 from a name zone: no listing, and warned once. */
	snprintf(log, sizeof(log), "%s/ipq.log", env.dir);
	saved = tenv_log_to(log);
	v = lookup_name("ipq.test", "spam.example");
	tenv_log_restore(saved);
	ck_assert_int_eq(v->zone[0].state, VERDICT_ZONE_UNKNOWN);
	ck_assert_str_eq(v->zone[0].reason, "127.0.1.255");
	ck_assert_str_eq(verdict_result_name(verdict_zone_result(v->zone)),
			 "error-code");
	ck_assert(!v->complete);
	ck_assert_int_eq(v->score, 0);
	ck_assert_int_eq(tenv_count_matches(log, "dnsbl zone ipq.test answered "
		"127.0.1.255 for spam.example: not a listing; the list takes the "
		"name for an IP address"), 1);
	verdict_free(v);
	/* From an IP zone the same answer is a listing. */
	v = lookup("bl.test", "192.0.2.11", 2000, false);
	ck_assert_int_eq(v->zone[0].state, VERDICT_ZONE_LISTED);
	verdict_free(v);
}
END_TEST

START_TEST(test_name_health)
{
	static const char sites[] = "dbl.test dworld.test ipq.test zrd.test";
	static const enum health_state want[] = {
		HEALTH_OK, HEALTH_LISTING_WORLD, HEALTH_REFUSING, HEALTH_OK,
	};
	const struct health *health;
	struct fixture f;
	char	log[512];
	size_t	i;
	int	saved;

	snprintf(log, sizeof(log), "%s/name-states.log", env.dir);
	saved = tenv_log_to(log);
	fixture_open_kind(&f, DNSBL_NAMES, env.servers, sites, 500, false, 60);
	health = wait_probed(&f);
	tenv_log_restore(saved);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(health_state(health, i) == want[i], "zone %zu: %s",
			      i, health_state_name(health_state(health, i)));
	ck_assert_int_eq(tenv_count_matches(log, "dnsbl zone dworld.test lists "
		"INVALID (answer 127.0.1.2), the RFC 5782 test point that no "
		"list may list"), 1);
	ck_assert_int_eq(tenv_count_matches(log, "dnsbl zone ipq.test answers "
		"127.0.1.255 for the RFC 5782 test point TEST"), 1);
	fixture_close(&f);
}
END_TEST

START_TEST(test_health_scoring)
{
	static const char sites[] = "bl.test*2 world.test*2 refused.test*5";
	const struct health *health;
	struct result results[2];
	struct verdict *v;
	struct fixture f;
	char	log[512];
	int	saved;

	snprintf(log, sizeof(log), "%s/scoring.log", env.dir);
	saved = tenv_log_to(log);
	/* Unprobed, the dead list rejects a client no one else lists. */
	v = lookup(sites, "192.0.2.99", 2000, false);
	ck_assert_int_eq(v->score, 2);
	ck_assert_int_eq(v->zone[1].state, VERDICT_ZONE_LISTED);
	verdict_free(v);
	fixture_open_health(&f, env.servers, sites, 2000, false, 60);
	health = wait_probed(&f);
	submit(&f, "127.0.0.2", results);
	submit(&f, "192.0.2.99", results + 1);
	wait_all(&f);
	tenv_log_restore(saved);
	/*
	 * The zones out of scoring were not asked: they pass, and the
	 * verdicts are complete.  A verdict made without a zone lives until
	 * the zone's next probe at most.
	 */
	v = results[0].verdict;
	ck_assert(v->complete);
	ck_assert_int_eq(v->zone[1].state, VERDICT_ZONE_PASS);
	ck_assert_int_eq(v->zone[2].state, VERDICT_ZONE_PASS);
	assert_format(v, sites, "score=2 listed=bl.test(127.0.0.2) unknown= "
		      "ttl=60");
	ck_assert(health_admits(health, v, 0));
	verdict_free(v);
	v = results[1].verdict;
	ck_assert(v->complete);
	assert_format(v, sites, "score=0 listed= unknown= ttl=60");
	ck_assert(health_admits(health, v, 0));
	/* A verdict cached while a zone now out of scoring had a say. */
	v->zone[1].state = VERDICT_ZONE_LISTED;
	ck_assert(!health_admits(health, v, 0));
	v->zone[1].state = VERDICT_ZONE_PASS;
	v->zone[2].state = VERDICT_ZONE_UNKNOWN;
	ck_assert(!health_admits(health, v, 0));
	/* ... but not when only zones in scoring did. */
	v->zone[2].state = VERDICT_ZONE_PASS;
	v->zone[0].state = VERDICT_ZONE_UNKNOWN;
	ck_assert(health_admits(health, v, 0));
	verdict_free(v);
	/* Asked about 127.0.0.2, refused.test would have said 127.255.255.254. */
	ck_assert_int_eq(tenv_count_matches(log, "dnsbl zone refused.test "
					    "answered"), 0);
	fixture_close(&f);
}
END_TEST

START_TEST(test_health_recovery)
{
	static const char *const world[] = {"world.test:ip4trie:recover4", NULL};
	const struct health *health;
	struct result result;
	struct fixture f;
	char	servers[64];
	char	log[512];
	pid_t	rbldnsd;
	int	saved;
	int	port;

	free(tenv_write(env.dir, "recover4", world4));
	rbldnsd = tenv_rbldnsd(env.dir, world, "world.test", &port);
	snprintf(servers, sizeof(servers), "127.0.0.1:%d", port);
	snprintf(log, sizeof(log), "%s/recovery.log", env.dir);
	saved = tenv_log_to(log);
	fixture_open_health(&f, servers, "world.test", 500, false, 1);
	health = wait_probed(&f);
	ck_assert_int_eq(health_state(health, 0), HEALTH_LISTING_WORLD);
	/* Said again at every probe while it lasts. */
	wait_log(&f, log, "it lists the world; out of scoring", 3);
	/* Mended: it lists 127.0.0.2 and one client, not 127.0.0.1. */
	tenv_rbldnsd_reload(rbldnsd, env.dir, "recover4",
			    "127.0.0.2\n192.0.2.9\n");
	wait_log(&f, log, "rblmilter: dnsbl zone world.test no longer lists "
		 "the world: back in scoring", 1);
	tenv_log_restore(saved);
	ck_assert_int_eq(health_state(health, 0), HEALTH_OK);
	/* Back in scoring: its listings count again. */
	submit(&f, "192.0.2.9", &result);
	wait_all(&f);
	ck_assert_int_eq(result.verdict->score, 1);
	verdict_free(result.verdict);
	submit(&f, "192.0.2.99", &result);
	wait_all(&f);
	ck_assert_int_eq(result.verdict->score, 0);
	verdict_free(result.verdict);
	fixture_close(&f);
	tenv_stop(rbldnsd);
}
END_TEST

static Suite *
engine_suite(void)
{
	Suite  *suite = suite_create("engine");
	TCase  *tc = tcase_create("rbldnsd");

	tcase_add_unchecked_fixture(tc, start_servers, stop_servers);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_v4_listed);
	tcase_add_test(tc, test_v4_unlisted);
	tcase_add_test(tc, test_v6);
	tcase_add_test(tc, test_filters);
	tcase_add_test(tc, test_same_zone_twice);
	tcase_add_test(tc, test_negative_weight);
	tcase_add_test(tc, test_threshold_edges);
	tcase_add_test(tc, test_zone_never_answers);
	tcase_add_test(tc, test_slow_zone);
	tcase_add_test(tc, test_queries_capped);
	tcase_add_test(tc, test_burst_beside_silent_zone);
	tcase_add_test(tc, test_refusal_codes);
	tcase_add_test(tc, test_unserved_zone);
	tcase_add_test(tc, test_reply_text);
	tcase_add_test(tc, test_no_server);
	tcase_add_test(tc, test_health_states);
	tcase_add_test(tc, test_health_scoring);
	tcase_add_test(tc, test_health_recovery);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_name_health);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(engine_suite());
}
