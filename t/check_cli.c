/*
 * check_cli - the rblmilter command as an administrator runs it: --check
 * lines and exit statuses against a real rbldnsd, -n, the refusal of bad
 * configurations and command lines, and a zone that lists the world.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "t/tenv.h"

static const char zone4[] =
	"$TTL 300\n"
	":127.0.0.2:Listed, see https://bl.test/?$\n"
	"127.0.0.2\n"
	"192.0.2.10 :127.0.0.3:\n";
static const char zone6[] =
	"$TTL 300\n"
	"2001:db8::2\n";
/* A DBL-like domain zone, TEST included. */
static const char dbl[] =
	"$TTL 300\n"
	":127.0.1.2:\n"
	"spam.example\n"
	"test\n";
static const char *const datasets[] = {
	"bl.test:ip4set:zone4", "bl.test:ip6trie:zone6", "dbl.test:dnset:dbl",
	"sh.test:ip4set:zone4", NULL,
};

/* The start of a --check line for ip: the decision line, front=check. */
#define CHECKED(ip) \
	"queue_id= client=" ip " daemon= front=check helo=\"\" stage=rcpt "

static struct {
	char   *dir;
	pid_t	rbldnsd;
	char   *config;			/* a good configuration */
	char   *names;			/* the same, with a domain zone */
	char	servers[64];		/* dns_servers */
} env;

static void
start_servers(void)
{
	char	text[512];
	int	port;

	env.dir = tenv_mkdir();
	free(tenv_write(env.dir, "zone4", zone4));
	free(tenv_write(env.dir, "zone6", zone6));
	free(tenv_write(env.dir, "dbl", dbl));
	env.rbldnsd = tenv_rbldnsd(env.dir, datasets, "bl.test", &port);
	snprintf(env.servers, sizeof(env.servers), "127.0.0.1:%d", port);
	snprintf(text, sizeof(text),
		 "# test configuration\n"
		 "dns_servers = 127.0.0.1:%d\n"
		 "dnsbl_sites = bl.test=127.0.0.2*3,\n"
		 "    bl.test=127.0.0.3\n"
		 "dnsbl_threshold = 2\n"
		 "dnsbl_timeout = 1s\n", port);
	env.config = tenv_write(env.dir, "rblmilter.conf", text);
	snprintf(text, sizeof(text),
		 "dns_servers = 127.0.0.1:%d\n"
		 "dnsbl_sites = bl.test*2\n"
		 "rhsbl_sites = dbl.test=127.0.1.[2..99]*3\n"
		 "dnsbl_threshold = 2\n"
		 "dnsbl_timeout = 1s\n", port);
	env.names = tenv_write(env.dir, "names.conf", text);
}

static void
stop_servers(void)
{
	tenv_stop(env.rbldnsd);
	free(env.config);
	free(env.names);
	tenv_rmdir(env.dir);
}

/* Run "$RBLMILTER args" with input on standard input; times cut. */
static void
run(struct tenv_output *r, const char *args, const char *input)
{
	char   *in = tenv_write(env.dir, "stdin", input);

	tenv_command(r, env.dir, args, in);
	tenv_cut(r->out, "dns_ms");
	tenv_cut(r->out, "zone_ms");
	free(in);
}

/* Run with the good configuration and "--check args". */
static void
check(struct tenv_output *r, const char *args, const char *input)
{
	char	full[1024];

	snprintf(full, sizeof(full), "-c '%s' --check %s", env.config, args);
	run(r, full, input);
}

START_TEST(test_listed)
{
	struct tenv_output r;

	check(&r, "127.0.0.2", "");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, CHECKED("127.0.0.2") "action=reject reason=dnsbl decisive=bl.test cache=miss score=3 "
			 "listed=bl.test(127.0.0.2) unknown= ttl=300\n");
	check(&r, "2001:db8:0::2", "");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, CHECKED("2001:db8::2") "action=reject reason=dnsbl decisive=bl.test cache=miss score=3 "
			 "listed=bl.test(127.0.0.2) unknown= ttl=300\n");
}
END_TEST

START_TEST(test_passes)
{
	struct tenv_output r;

	/* Listed, but its weight 1 is under dnsbl_threshold 2. */
	check(&r, "192.0.2.10", "");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, CHECKED("192.0.2.10") "action=pass reason=pass cache=miss score=1 "
			 "listed=bl.test(127.0.0.3) unknown= ttl=300\n");
	check(&r, "192.0.2.99 2001:db8::3", "");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out,
			 CHECKED("192.0.2.99") "action=pass reason=pass cache=miss score=0 listed= unknown= "
			 "ttl=60\n"
			 CHECKED("2001:db8::3") "action=pass reason=pass cache=miss score=0 listed= unknown= "
			 "ttl=60\n");
}
END_TEST

/* A grey client: action=greylist, exit 1, no state read or written. */
START_TEST(test_greylist)
{
	struct tenv_output r;
	char	text[512];
	char	args[512];
	char   *path;

	snprintf(text, sizeof(text), "dns_servers = %s\n"
		 "dnsbl_sites = bl.test=127.0.0.2*3, bl.test=127.0.0.3\n"
		 "dnsbl_threshold = 2\ngreylist_threshold = 1\n", env.servers);
	path = tenv_write(env.dir, "grey.conf", text);
	/* Alone, it exits 1 as a tempfail would. */
	snprintf(args, sizeof(args), "-c '%s' --check 192.0.2.10 192.0.2.99",
		 path);
	run(&r, args, "");
	ck_assert_int_eq(r.status, 1);
	snprintf(args, sizeof(args), "-c '%s' --check 192.0.2.10 192.0.2.99 "
		 "127.0.0.2", path);
	free(path);
	run(&r, args, "");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, CHECKED("192.0.2.10") "action=greylist "
			 "reason=greylist cache=miss score=1 "
			 "listed=bl.test(127.0.0.3) unknown= ttl=300\n"
			 CHECKED("192.0.2.99") "action=pass reason=pass "
			 "cache=miss score=0 listed= unknown= ttl=60\n"
			 CHECKED("127.0.0.2") "action=reject reason=dnsbl "
			 "decisive=bl.test cache=miss score=3 "
			 "listed=bl.test(127.0.0.2) unknown= ttl=300\n");
	/* Without Redis the state would be this host's: said. */
	ck_assert_ptr_nonnull(strstr(r.err, "a fleet behind a load balancer "
				     "needs Redis"));
}
END_TEST

/* A shadow zone is asked and shown, never scored. */
START_TEST(test_shadow)
{
	struct tenv_output r;
	char	text[512];
	char	args[512];
	char   *path;

	snprintf(text, sizeof(text), "dns_servers = %s\n"
		 "dnsbl_sites = bl.test=127.0.0.2*2\n"
		 "dnsbl_shadow_sites = sh.test=127.0.0.3*5\n"
		 "dnsbl_threshold = 2\n", env.servers);
	path = tenv_write(env.dir, "shadow.conf", text);
	snprintf(args, sizeof(args), "-c '%s' --check 192.0.2.10 127.0.0.2",
		 path);
	free(path);
	run(&r, args, "");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "queue_id= client=192.0.2.10 daemon= front=check "
			 "helo=\"\" stage=rcpt action=pass reason=pass "
			 "shadow_action=reject cache=miss score=0 listed= unknown= "
			 "shadow=sh.test(127.0.0.3) ttl=300\n"
			 "queue_id= client=127.0.0.2 daemon= front=check "
			 "helo=\"\" stage=rcpt action=reject reason=dnsbl "
			 "decisive=bl.test shadow_action=reject cache=miss score=2 listed=bl.test"
			 "(127.0.0.2) unknown= shadow= ttl=300\n");
}
END_TEST

START_TEST(test_names)
{
	struct tenv_output r;
	char	args[512];

	snprintf(args, sizeof(args), "-c '%s' --check 192.0.2.1 "
		 "helo=mail.spam.example sender=a@spam.example 192.0.2.2 "
		 "helo=[192.0.2.2] sender= client_name=unknown", env.names);
	run(&r, args, "");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "queue_id= client=192.0.2.1 daemon= front=check "
			 "helo=\"mail.spam.example\" stage=rcpt action=reject "
			 "reason=dnsbl decisive=dbl.test cache=miss score=3 "
			 "listed=dbl.test[helo="
			 "spam.example](127.0.1.2),dbl.test[sender=spam.example]"
			 "(127.0.1.2) unknown= ttl=60\n"
			 "queue_id= client=192.0.2.2 daemon= front=check "
			 "helo=\"[192.0.2.2]\" stage=rcpt action=pass "
			 "reason=pass cache=miss score=0 listed= unknown= "
			 "ttl=60\n");
	/* The same on standard input, the words after their IP. */
	snprintf(args, sizeof(args), "-c '%s' --check", env.names);
	run(&r, args, "192.0.2.3 client_name=a.spam.example\n"
	    "helo=x.example\n192.0.2.4 size=10\n");
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.out, "queue_id= client=192.0.2.3 daemon= front=check "
			 "helo=\"\" stage=rcpt action=reject reason=dnsbl "
			 "decisive=dbl.test cache=miss score=3 listed=dbl.test[client="
			 "spam.example](127.0.1.2) unknown= ttl=60\n"
			 "ip=\"helo=x.example\" error=\"a name= word without an "
			 "IP before it\"\n"
			 "ip=\"192.0.2.4 size=10\" error=\"unknown word: write "
			 "helo=, sender= or client_name=\"\n");
}
END_TEST

START_TEST(test_stdin)
{
	struct tenv_output r;

	check(&r, "", "# clients\n\n  127.0.0.2  \nnot-an-ip\n::ffff:192.0.2.99\n"
	      "1.2.3.4 5.6.7.8\n");
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.out,
			 CHECKED("127.0.0.2") "action=reject reason=dnsbl decisive=bl.test cache=miss score=3 "
			 "listed=bl.test(127.0.0.2) unknown= ttl=300\n"
			 "ip=\"not-an-ip\" error=\"not an IP address\"\n"
			 CHECKED("192.0.2.99") "action=pass reason=pass cache=miss score=0 listed= unknown= "
			 "ttl=60\n"
			 "ip=\"1.2.3.4 5.6.7.8\" error=\"one IP a line, then name= "
			 "words\"\n");
}
END_TEST

START_TEST(test_many_in_order)
{
	char	input[300 * 16] = "";
	char	want[160];
	char   *line;
	struct tenv_output r;
	int	i;

	/* More than one batch of lookups; the output keeps input order. */
	for (i = 0; i < 300; i++)
		sprintf(input + strlen(input), "%s\n",
			i == 150 ? "127.0.0.2" : "192.0.2.99");
	check(&r, "", input);
	ck_assert_int_eq(r.status, 1);
	for (i = 0, line = r.out; i < 300; i++, line = strchr(line, '\n') + 1) {
		snprintf(want, sizeof(want), CHECKED("%s") "action=%s ",
			 i == 150 ? "127.0.0.2" : "192.0.2.99",
			 i == 150 ? "reject" : "pass");
		ck_assert_msg(strncmp(line, want, strlen(want)) == 0,
			      "line %d: %.60s", i + 1, line);
	}
	ck_assert_str_eq(line, "");
}
END_TEST

START_TEST(test_hostile_input)
{
	struct tenv_output r;

	check(&r, "'1.2.3.4\" action=pass'", "");
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.out, "ip=\"1.2.3.4\\\" action=pass\" "
			 "error=\"not an IP address\"\n");
}
END_TEST

START_TEST(test_print_config)
{
	struct tenv_output r;
	char	want[512];

	snprintf(want, sizeof(want), "-c '%s' -n", env.config);
	run(&r, want, "");
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(strstr(r.out, "dnsbl_sites = bl.test=127.0.0.2*3, "
			     "bl.test=127.0.0.3\ndnsbl_threshold = 2\n"
			     "dnsbl_timeout = 1s\n") != NULL, "%s", r.out);
	ck_assert_str_eq(r.err, "");
}
END_TEST

START_TEST(test_bad_config)
{
	char   *path = tenv_write(env.dir, "bad.conf",
				  "dnsbl_sites = bl.test\nfoo = 1\n");
	char	args[512];
	char	want[512];
	struct tenv_output r;

	snprintf(args, sizeof(args), "-c '%s' --check 127.0.0.2", path);
	run(&r, args, "");
	ck_assert_int_eq(r.status, 78);
	snprintf(want, sizeof(want), "rblmilter: error: %s:2: unknown "
		 "parameter \"foo\"\n", path);
	ck_assert_str_eq(r.err, want);
	ck_assert_str_eq(r.out, "");
	free(path);
}
END_TEST

/*
 * As root, the daemon refuses to start without an unprivileged user, on
 * the terminal, before it listens; as another user the rule does not
 * apply, and the test says so.
 */
START_TEST(test_refuses_root)
{
	static const struct {
		const char *user;
		const char *message;
	} cases[] = {
		{"", "rblmilter: error: refusing to run as root without the "
		 "\"user\" setting: set user = rblmilter (or another "
		 "unprivileged user) in the configuration file\n"},
		{"user = root\n", "rblmilter: error: user root: has uid 0; "
		 "name an unprivileged user\n"},
	};
	char	text[256];
	char	args[512];
	char   *path;
	struct tenv_output r;
	size_t	i;

	if (geteuid() != 0) {
		printf("test_refuses_root: not root, nothing to refuse\n");
		return;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "dnsbl_sites = bl.test\n"
			 "milter_socket = inet:%d@127.0.0.1\n%s",
			 tenv_free_port(), cases[i].user);
		path = tenv_write(env.dir, "root.conf", text);
		snprintf(args, sizeof(args), "-c '%s'", path);
		run(&r, args, "");
		ck_assert_int_eq(r.status, 78);
		ck_assert_str_eq(r.err, cases[i].message);
		free(path);
	}
}
END_TEST

/*
 * Run --stats with the configuration at path: its output must begin with
 * counters (when not NULL) and have this host's line for zone, in state,
 * holding has.
 */
static void
assert_stats(const char *path, const char *counters, const char *zone,
	     const char *state, const char *has)
{
	struct tenv_output r;
	char	args[512];
	char	host[256] = "";
	char	start[320];
	const char *line;
	const char *end;

	snprintf(args, sizeof(args), "-c '%s' --stats", path);
	run(&r, args, "");
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(counters == NULL
		      || strncmp(r.out, counters, strlen(counters)) == 0, "%s",
		      r.out);
	ck_assert_int_eq(gethostname(host, sizeof(host) - 1), 0);
	snprintf(start, sizeof(start), "\nhealth:%s@%s %s since=", zone, host,
		 state);
	ck_assert_msg((line = strstr(r.out, start)) != NULL, "%s", r.out);
	end = strchrnul(line + 1, '\n');
	ck_assert_msg(memmem(line, (size_t) (end - line), has, strlen(has))
		      != NULL, "%s", r.out);
}

/*
 * A Redis that wants a password rblmilter does not send: the verdict
 * comes from DNS, and the warning quotes Redis' own reason at once, not
 * a handshake timeout.
 */
START_TEST(test_redis_refuses)
{
	struct tenv_redis redis;
	struct tenv_output r;
	char	text[1024];
	char	args[512];
	char   *path;

	tenv_redis_start(&redis, env.dir, false, "s3cret");
	tenv_slurp(env.config, text, sizeof(text));
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
		 "redis_server = 127.0.0.1:%d\n", redis.port);
	path = tenv_write(env.dir, "noauth.conf", text);
	snprintf(args, sizeof(args), "-c '%s' --check 127.0.0.2", path);
	run(&r, args, "");
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(strstr(r.out, " cache=miss ") != NULL, "%s", r.out);
	ck_assert_msg(strstr(r.err, "is down: NOAUTH Authentication required.")
		      != NULL, "%s", r.err);
	free(path);
	tenv_stop(redis.pid);
}
END_TEST

/* Run redis-cli against the test Redis, as an administrator would. */
static void
redis_cli(const struct tenv_redis *redis, const char *args)
{
	char	command[512];

	snprintf(command, sizeof(command), "redis-cli -p %d %s >/dev/null",
		 redis->port, args);
	ck_assert_int_eq(system(command), 0);
}

START_TEST(test_redis)
{
	static const char *const zones[] = {"bl.test:ip4set:zone4", NULL};
	static const char counters[] = "action:allow 1\naction:reject 6\n"
		"cache:miss 2\ncache:redis 2\nconnections 7\n"
		"decisive:bl.test 4\nlist:allow 1\nlist:deny 2\nlist:relay 1\n"
		"listed:bl.test 4\nquery:bl.test 2\nhealth:";
	struct tenv_redis redis;
	struct tenv_output r;
	char	text[512];
	char	args[512];
	char   *path;
	pid_t	rbldnsd;
	int	port;

	tenv_redis_start(&redis, env.dir, false, "");
	rbldnsd = tenv_rbldnsd(env.dir, zones, "bl.test", &port);
	snprintf(text, sizeof(text), "dns_servers = 127.0.0.1:%d\n"
		 "dnsbl_sites = bl.test\nredis_server = 127.0.0.1:%d\n",
		 port, redis.port);
	path = tenv_write(env.dir, "redis.conf", text);
	snprintf(args, sizeof(args), "-c '%s' --check 127.0.0.2 192.0.2.10",
		 path);
	run(&r, args, "");
	ck_assert_str_eq(r.out, CHECKED("127.0.0.2") "action=reject reason=dnsbl decisive=bl.test cache=miss "
			 "score=1 listed=bl.test(127.0.0.2) unknown= ttl=300\n"
			 CHECKED("192.0.2.10") "action=reject reason=dnsbl decisive=bl.test cache=miss "
			 "score=1 listed=bl.test(127.0.0.3) unknown= ttl=300\n");
	/* A warm cache touches no DNS: the DNS server is gone. */
	tenv_stop(rbldnsd);
	run(&r, args, "");
	ck_assert_int_eq(r.status, 1);
	/* The TTL left in Redis varies by a second or so. */
	tenv_cut(r.out, "ttl");
	ck_assert_str_eq(r.out, CHECKED("127.0.0.2") "action=reject reason=dnsbl decisive=bl.test cache=redis "
			 "score=1 listed=bl.test(127.0.0.2) unknown=\n"
			 CHECKED("192.0.2.10") "action=reject reason=dnsbl decisive=bl.test cache=redis "
			 "score=1 listed=bl.test(127.0.0.3) unknown=\n");
	/* Lists from redis-cli: relay is shown, allow and deny decide. */
	redis_cli(&redis, "SADD rblmilter:relay 192.0.2.0/24");
	redis_cli(&redis, "SADD rblmilter:allow 192.0.2.10");
	redis_cli(&redis, "SADD rblmilter:deny 198.51.100.0/24 2001:db8::/32");
	snprintf(args, sizeof(args), "-c '%s' --check 192.0.2.10 198.51.100.9 "
		 "2001:db8::1", path);
	run(&r, args, "");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, CHECKED("192.0.2.10") "action=allow reason=allow-list "
			 "list=relay,allow\n"
			 CHECKED("198.51.100.9") "action=reject reason=deny-list list=deny\n"
			 CHECKED("2001:db8::1") "action=reject reason=deny-list list=deny\n");
	/*
	 * The counters of all these runs, from Redis, and the zone's health
	 * as the last run saw it: with no DNS server, it could not tell.
	 */
	assert_stats(path, counters, "bl.test", "unknown", "Z checked=");
	tenv_stop(redis.pid);
	free(path);
}
END_TEST

START_TEST(test_zone_health)
{
	static const char *const zones[] = {
		"bl.test:ip4set:zone4", "world.test:ip4trie:world4", NULL,
	};
	/*
	 * The lookups run beside the first probe: a verdict world.test had
	 * a say in is looked up again once the probe is over, so there are
	 * 2 or 4 misses, as the probe ends before or after the lookups.
	 */
	static const char counters[] = "action:pass 1\naction:reject 1\n"
		"cache:miss ";
	struct tenv_redis redis;
	struct tenv_output r;
	char	text[512];
	char	args[512];
	char   *path;
	pid_t	rbldnsd;
	int	tries;
	int	port;

	free(tenv_write(env.dir, "world4", "0.0.0.0/0\n"));
	tenv_redis_start(&redis, env.dir, false, "");
	rbldnsd = tenv_rbldnsd(env.dir, zones, "bl.test", &port);
	snprintf(text, sizeof(text), "dns_servers = 127.0.0.1:%d\n"
		 "dnsbl_sites = bl.test*2 world.test*2\ndnsbl_threshold = 2\n"
		 "dnsbl_health_interval = 1s\nredis_server = 127.0.0.1:%d\n",
		 port, redis.port);
	path = tenv_write(env.dir, "health.conf", text);
	/* world.test lists everyone: out of scoring, said on stderr. */
	snprintf(args, sizeof(args), "-c '%s' --check 127.0.0.2 192.0.2.99",
		 path);
	run(&r, args, "");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, CHECKED("127.0.0.2") "action=reject reason=dnsbl "
			 "decisive=bl.test cache=miss score=2 listed=bl.test(127.0.0.2) unknown= "
			 "ttl=1\n"
			 CHECKED("192.0.2.99") "action=pass reason=pass cache=miss "
			 "score=0 listed= unknown= ttl=1\n");
	ck_assert_str_eq(r.err, "rblmilter: error: dnsbl zone world.test lists "
			 "127.0.0.1 (answer 127.0.0.2), the RFC 5782 test point "
			 "that no list may list: it lists the world; out of "
			 "scoring until it recovers\n");
	/* --stats: the counters, then each zone as this host sees it. */
	assert_stats(path, counters, "bl.test", "ok", "Z checked=");
	assert_stats(path, counters, "world.test", "listing-world",
		     "Z answer=127.0.0.2");
	/*
	 * Mended.  The verdicts made without it lived one interval; a new
	 * run finds it well and lets its listing count.
	 */
	tenv_rbldnsd_reload(rbldnsd, env.dir, "world4",
			    "$TTL 300\n127.0.0.2\n192.0.2.99\n");
	snprintf(args, sizeof(args), "-c '%s' --check 192.0.2.99", path);
	for (tries = 0; tries < 50; tries++) {
		run(&r, args, "");
		if (r.status != 0)
			break;
		usleep(100000);
	}
	ck_assert_str_eq(r.out, CHECKED("192.0.2.99") "action=reject reason=dnsbl "
			 "decisive=world.test cache=miss score=2 listed=world.test(127.0.0.2) "
			 "unknown= ttl=300\n");
	ck_assert_str_eq(r.err, "");
	assert_stats(path, NULL, "world.test", "ok", "Z checked=");
	tenv_stop(rbldnsd);
	tenv_stop(redis.pid);
	free(path);
}
END_TEST

/*
 * A zone that never answers costs --check one dnsbl_timeout: the first
 * probe of the zones runs beside the lookups.  Before, --check waited
 * for the probe (a deadline on the dead zone) and then looked up (a
 * second one).
 */
START_TEST(test_dead_zone_once)
{
	static const char *const rules[] = {"dead.test=drop", NULL};
	struct tenv_output r;
	struct timespec start;
	char	text[512];
	char	args[512];
	char   *path;
	unsigned ms;
	pid_t	delay;
	int	port;
	int	upstream;

	tenv_slurp(env.config, text, sizeof(text));
	upstream = atoi(strstr(text, "127.0.0.1:") + strlen("127.0.0.1:"));
	delay = tenv_dnsdelay(upstream, rules, NULL, &port);
	snprintf(text, sizeof(text), "dns_servers = 127.0.0.1:%d\n"
		 "dnsbl_sites = bl.test dead.test\ndnsbl_timeout = 2s\n",
		 port);
	path = tenv_write(env.dir, "dead.conf", text);
	snprintf(args, sizeof(args), "-c '%s' --check 127.0.0.2", path);
	clock_gettime(CLOCK_MONOTONIC, &start);
	run(&r, args, "");
	ms = tenv_elapsed_ms(&start);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, CHECKED("127.0.0.2") "action=reject reason=dnsbl "
			 "decisive=bl.test cache=miss score=1 listed=bl.test(127.0.0.2) "
			 "unknown=dead.test(timeout) ttl=30\n");
	/* One deadline (2 s) and the start, far from two (4 s). */
	ck_assert_msg(ms >= 2000 && ms < 3500, "--check took %u ms", ms);
	tenv_stop(delay);
	free(path);
}
END_TEST

START_TEST(test_usage)
{
	struct tenv_output r;

	run(&r, "-n -f", "");
	ck_assert_int_eq(r.status, 64);
	ck_assert_ptr_nonnull(strstr(r.err, "usage: rblmilter"));
	run(&r, "--check --stats", "");
	ck_assert_int_eq(r.status, 64);
	run(&r, "-n 127.0.0.2", "");
	ck_assert_int_eq(r.status, 64);
	run(&r, "--bogus", "");
	ck_assert_int_eq(r.status, 64);
	run(&r, "--version", "");
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "rblmilter "));
}
END_TEST

static Suite *
cli_suite(void)
{
	Suite  *suite = suite_create("cli");
	TCase  *tc = tcase_create("cli");

	tcase_add_unchecked_fixture(tc, start_servers, stop_servers);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_listed);
	tcase_add_test(tc, test_passes);
	tcase_add_test(tc, test_stdin);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_shadow);
	tcase_add_test(tc, test_greylist);
	tcase_add_test(tc, test_many_in_order);
	tcase_add_test(tc, test_hostile_input);
	tcase_add_test(tc, test_print_config);
	tcase_add_test(tc, test_bad_config);
	tcase_add_test(tc, test_refuses_root);
	tcase_add_test(tc, test_redis_refuses);
	tcase_add_test(tc, test_redis);
	tcase_add_test(tc, test_zone_health);
	tcase_add_test(tc, test_dead_zone_once);
	tcase_add_test(tc, test_usage);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(cli_suite());
}
