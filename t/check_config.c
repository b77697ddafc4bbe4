/*
 * check_config - rblmilter.conf: defaults, syntax, and every kind of bad
 * line with the exact "FILE:LINE: what is wrong" message.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "dnsbl/site.h"
#include "t/tenv.h"

static char *dir;

static void
setup(void)
{
	dir = tenv_mkdir();
}

static void
teardown(void)
{
	tenv_rmdir(dir);
}

/* Load text that must be accepted. */
static struct config *
load_ok(const char *text)
{
	struct config *config = NULL;
	char	err[CONFIG_ERR_SIZE] = "";
	char   *path = tenv_write(dir, "ok.conf", text);

	ck_assert_msg(config_load(path, &config, err, sizeof(err)) == 0,
		      "refused: %s", err);
	free(path);
	return config;
}

/* Load text that must be refused with exactly PATH followed by want. */
static void
load_bad(const char *text, const char *want)
{
	struct config *config = NULL;
	char	err[CONFIG_ERR_SIZE] = "";
	char	expect[CONFIG_ERR_SIZE];
	char   *path = tenv_write(dir, "bad.conf", text);

	ck_assert_msg(config_load(path, &config, err, sizeof(err)) < 0,
		      "accepted: %s", text);
	ck_assert_ptr_null(config);
	snprintf(expect, sizeof(expect), "%s%s", path, want);
	ck_assert_str_eq(err, expect);
	free(path);
}

/* A NUL byte in a line is refused, not a silent end of the line. */
static void
load_nul(void)
{
	static const char text[] = "dnsbl_sites = bl.test\n"
	    "relay_policy = enforce\0, or not\n";
	struct config *config = NULL;
	char	err[CONFIG_ERR_SIZE] = "";
	char	expect[CONFIG_ERR_SIZE];
	char   *path;
	FILE   *fp;

	ck_assert_int_ge(asprintf(&path, "%s/nul.conf", dir), 0);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(text, 1, sizeof(text) - 1, fp),
			  sizeof(text) - 1);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_lt(config_load(path, &config, err, sizeof(err)), 0);
	snprintf(expect, sizeof(expect), "%s:2: NUL byte in the line", path);
	ck_assert_str_eq(err, expect);
	free(path);
}

START_TEST(test_defaults)
{
	struct config *config = load_ok("dnsbl_sites = bl.test\n");

	ck_assert_str_eq(config->dns_servers, "");
	ck_assert_int_eq(config->dnsbl_threshold, 1);
	ck_assert_int_eq(config->dnsbl_allowlist_threshold, 0);
	ck_assert_uint_eq(config->dnsbl_timeout, 2000);
	ck_assert_uint_eq(config->dnsbl_min_ttl, 60);
	ck_assert_uint_eq(config->dnsbl_max_ttl, 3600);
	ck_assert(!config->dnsbl_reply_text);
	ck_assert_uint_eq(dnsbl_sites_zone_count(config->dnsbl_sites), 1);
	ck_assert_uint_eq(config->dnsbl_incomplete_ttl, 30);
	ck_assert_uint_eq(config->dnsbl_health_interval, 300);
	ck_assert_int_eq(config->cache_size, 100000);
	ck_assert_str_eq(config->redis_server.text, "");
	ck_assert_str_eq(config->redis_prefix, "rblmilter:");
	ck_assert_uint_eq(config->redis_timeout, 100);
	ck_assert_int_eq(config->redis_db, 0);
	ck_assert_str_eq(config->list_files[CONFIG_LIST_RELAY], "");
	config_free(config);
}
END_TEST

START_TEST(test_values)
{
	struct config *config = load_ok(
		"# comment\n"
		"\n"
		"   \n"
		"dns_servers = 127.0.0.1, 127.0.0.2:5353 [::1]:53, ::1\n"
		"dnsbl_sites = zen.spamhaus.org=127.0.0.[2..11]*3,\n"
		"    list.dnswl.org=127.0.[0..255].[1..3]*-2\n"
		"# a comment inside does not end the value\n"
		"\tbl.test\n"
		"dnsbl_threshold=3\n"
		"dnsbl_allowlist_threshold = -2\n"
		"dnsbl_timeout = 500ms\n"
		"dnsbl_min_ttl = 2m\n"
		"dnsbl_max_ttl = 1d\n"
		"dnsbl_reply_text = YES\n"
		"dnsbl_health_interval = 0\n");

	ck_assert_str_eq(config->dns_servers, "127.0.0.1:53,127.0.0.2:5353,"
			 "[::1]:53,[::1]:53");
	ck_assert_uint_eq(dnsbl_sites_zone_count(config->dnsbl_sites), 3);
	ck_assert_int_eq(config->dnsbl_threshold, 3);
	ck_assert_int_eq(config->dnsbl_allowlist_threshold, -2);
	ck_assert_uint_eq(config->dnsbl_timeout, 500);
	ck_assert_uint_eq(config->dnsbl_min_ttl, 120);
	ck_assert_uint_eq(config->dnsbl_max_ttl, 86400);
	ck_assert(config->dnsbl_reply_text);
	ck_assert_uint_eq(config->dnsbl_health_interval, 0);
	config_free(config);
}
END_TEST

START_TEST(test_redis_values)
{
	static const struct {
		const char *value;
		const char *host;
		unsigned port;
	} cases[] = {
		{"127.0.0.1:6380", "127.0.0.1", 6380},
		{"[::1]", "::1", 6379},
		{"[0::1]:7000", "::1", 7000},
		{"192.0.2.7", "192.0.2.7", 6379},
		{"unix:/run/redis/redis.sock", "/run/redis/redis.sock", 0},
	};
	struct config *config;
	char	text[256];
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "dnsbl_sites = bl.test\n"
			 "redis_server = %s\n", cases[i].value);
		config = load_ok(text);
		ck_assert_str_eq(config->redis_server.text, cases[i].host);
		ck_assert_uint_eq(config->redis_server.port, cases[i].port);
		config_free(config);
	}
	config = load_ok("dnsbl_sites = bl.test\nredis_prefix = mx:\n"
			 "redis_db = 7\nredis_timeout = 1s\ncache_size = 0\n"
			 "relay_hosts = /dev/null\n"
			 "redis_username = rbl\nredis_password = pw\n"
			 "dnsbl_incomplete_ttl = 0\n");
	ck_assert_str_eq(config->redis_prefix, "mx:");
	ck_assert_int_eq(config->redis_db, 7);
	ck_assert_uint_eq(config->redis_timeout, 1000);
	ck_assert_int_eq(config->cache_size, 0);
	ck_assert_str_eq(config->list_files[CONFIG_LIST_RELAY], "/dev/null");
	ck_assert_str_eq(config->redis_username, "rbl");
	ck_assert_str_eq(config->redis_password, "pw");
	ck_assert_uint_eq(config->dnsbl_incomplete_ttl, 0);
	config_free(config);
	config = load_ok("dnsbl_sites = bl.test\nredis_master_name = mx-1\n"
			 "redis_sentinels = 127.0.0.1, [::1]:26380 10.0.0.1:1\n");
	ck_assert_str_eq(config->redis_sentinels,
			 "127.0.0.1:26379,[::1]:26380,10.0.0.1:1");
	ck_assert_str_eq(config->redis_master_name, "mx-1");
	ck_assert_str_eq(config->redis_server.text, "");
	config_free(config);
}
END_TEST

START_TEST(test_print)
{
	struct config *config = load_ok("dnsbl_timeout = 3s\n"
					"redis_password = s3cret\n"
					"dnsbl_sites = a.test,\n  b.test*2\n");
	char   *path;
	char	text[256] = "";
	FILE   *fp;

	path = tenv_write(dir, "printed", "");
	ck_assert_ptr_nonnull(fp = fopen(path, "w+"));
	config_print(config, fp);
	rewind(fp);
	ck_assert_uint_gt(fread(text, 1, sizeof(text) - 1, fp), 0);
	fclose(fp);
	/* Table order, values as written, continuations joined; no password. */
	ck_assert_str_eq(text, "dnsbl_sites = a.test, b.test*2\n"
			 "dnsbl_timeout = 3s\n"
			 "redis_password = (not shown)\n");
	config_free(config);
	free(path);
}
END_TEST

START_TEST(test_bad_lines)
{
	load_bad("dnsbl_sites = bl.test\nfoo = bar\n",
		 ":2: unknown parameter \"foo\"");
	load_bad("dnsbl_sites = bl.test\njust words\n",
		 ":2: syntax error: expected \"name = value\"");
	load_bad("[main]\ndnsbl_sites = bl.test\n",
		 ":2: sections like [main] are not supported; write plain "
		 "\"name = value\" lines");
	load_bad("dnsbl_sites = a.test\n\ndnsbl_sites = b.test\n",
		 ":3: dnsbl_sites is set twice (first on line 1)");
	load_bad("dnsbl_threshold = 2\n", ": dnsbl_sites is not set");
	load_bad("dnsbl_sites =\n", ":1: dnsbl_sites is empty: name at least "
		 "one DNSBL or DNSWL zone");
	load_bad("dnsbl_sites = bl.test=127.0.0.[11..2]\n",
		 ":1: filter \"127.0.0.[11..2]\": inverted range 11..2 in "
		 "field 4");
	load_bad("# x\ndnsbl_sites = bl.test*two\n",
		 ":2: dnsbl_sites entry \"bl.test*two\": weight \"two\" is "
		 "not an integer");
	load_bad("dnsbl_sites: bl.test\n",
		 ":1: expected \"name = value\", not \"name: value\"");
	load_bad("dnsbl_sites = bl.test\ndnsbl_threshold = 3 ; three\n",
		 ":2: \";\" after white space would start a comment; write "
		 "filters without spaces, comments on lines of their own");
	load_bad("dnsbl_sites = a.test,\n  b..test\n",
		 ":1: dnsbl_sites entry \"b..test\": empty label in zone name");
	load_bad("dnsbl_reply_map = bl.test = shown.test\n"
		 "dnsbl_sites = other.test\n",
		 ":1: dnsbl_reply_map entry \"bl.test=shown.test...\": that "
		 "zone is not in dnsbl_sites or rhsbl_sites");
}
END_TEST

START_TEST(test_bad_values)
{
	load_bad("dnsbl_sites = bl.test\ndnsbl_threshold = x\n",
		 ":2: dnsbl_threshold = \"x\": not an integer");
	load_bad("dnsbl_sites = bl.test\ndnsbl_threshold = 0\n",
		 ":2: dnsbl_threshold = 0: must be from 1 to 1000000");
	load_nul();
	load_bad("dnsbl_sites = bl.test\nrelay_min_prefix_ipv4 = 33\n",
		 ":2: relay_min_prefix_ipv4 = 33: must be from 0 to 32");
	load_bad("dnsbl_sites = bl.test\nrelay_min_prefix_ipv6 = 129\n",
		 ":2: relay_min_prefix_ipv6 = 129: must be from 0 to 128");
	load_bad("dnsbl_sites = bl.test\ndnsbl_threshold = 1.5\n",
		 ":2: dnsbl_threshold = \"1.5\": not an integer");
	load_bad("dnsbl_sites = bl.test\ndnsbl_allowlist_threshold = 1\n",
		 ":2: dnsbl_allowlist_threshold = 1: must be from -1000000 "
		 "to 0");
	load_bad("dnsbl_sites = bl.test\ndnsbl_timeout = 2x\n",
		 ":2: dnsbl_timeout = \"2x\": not a time; write a number with "
		 "an optional unit: ms, s, m, h, d or w");
	load_bad("dnsbl_sites = bl.test\ndnsbl_timeout = ms\n",
		 ":2: dnsbl_timeout = \"ms\": not a time; write a number with "
		 "an optional unit: ms, s, m, h, d or w");
	load_bad("dnsbl_sites = bl.test\ndnsbl_timeout = -1s\n",
		 ":2: dnsbl_timeout = \"-1s\": not a time; write a number with "
		 "an optional unit: ms, s, m, h, d or w");
	load_bad("dnsbl_sites = bl.test\ndnsbl_timeout = 5ms\n",
		 ":2: dnsbl_timeout = 5ms: must be from 10ms to 60000ms");
	load_bad("dnsbl_sites = bl.test\ndnsbl_timeout = 99999999999999w\n",
		 ":2: dnsbl_timeout = 99999999999999w: must be from 10ms to "
		 "60000ms");
	load_bad("dnsbl_sites = bl.test\ndnsbl_min_ttl = 1500ms\n",
		 ":2: dnsbl_min_ttl = 1500ms: use whole seconds");
	load_bad("dnsbl_sites = bl.test\ndnsbl_max_ttl = 2w\n",
		 ":2: dnsbl_max_ttl = 2w: must be from 1s to 604800s");
	load_bad("dnsbl_sites = bl.test\ndnsbl_health_interval = 2d\n",
		 ":2: dnsbl_health_interval = 2d: must be from 0s to 86400s");
	load_bad("dnsbl_sites = bl.test\ndnsbl_min_ttl = 2h\n",
		 ":2: dnsbl_min_ttl (7200s) is above dnsbl_max_ttl (3600s)");
	load_bad("dnsbl_sites = bl.test\ndnsbl_max_ttl = 30s\n",
		 ":2: dnsbl_min_ttl (60s) is above dnsbl_max_ttl (30s)");
	load_bad("dnsbl_sites = bl.test\ngreylist_threshold = some\n",
		 ":2: greylist_threshold = \"some\": not an integer");
	load_bad("dnsbl_sites = bl.test\ngreylist_threshold = 0\n",
		 ":2: greylist_threshold = 0: must be from 1 to 1000000");
	load_bad("dnsbl_sites = bl.test\ngreylist_threshold = 1\n",
		 ":2: greylist_threshold (1) must be under dnsbl_threshold (1): "
		 "it greylists the scores between");
	load_bad("dnsbl_sites = bl.test\ndnsbl_threshold = 3\n"
		 "greylist_threshold = 1\nreject_stage = mail\n",
		 ":3: greylisting needs reject_stage = rcpt: a triplet has a "
		 "recipient");
	load_bad("dnsbl_sites = bl.test\naction = greylist\n"
		 "reject_stage = helo\n",
		 ":2: greylisting needs reject_stage = rcpt: a triplet has a "
		 "recipient");
	load_bad("dnsbl_sites = bl.test\ngreylist_delay = 1d\n",
		 ": greylist_max_wait (86400s) must be over greylist_delay "
		 "(86400s): a retry must have time to come");
	load_bad("dnsbl_sites = bl.test\ngreylist_network_v4 = 33\n",
		 ":2: greylist_network_v4 = 33: must be from 8 to 32");
	load_bad("dnsbl_sites = bl.test\ngreylist_network_v6 = 129\n",
		 ":2: greylist_network_v6 = 129: must be from 16 to 128");
	load_bad("dnsbl_sites = bl.test\ndnsbl_reply_text = maybe\n",
		 ":2: dnsbl_reply_text = \"maybe\": write yes or no");
	load_bad("dnsbl_sites = bl.test\ndns_servers = 127.0.0.1:99999\n",
		 ":2: dns_servers: \"127.0.0.1:99999\" is not ip[:port] or "
		 "[ipv6]:port");
	load_bad("dnsbl_sites = bl.test\ndns_servers = [::1\n",
		 ":2: dns_servers: \"[::1\" is not ip[:port] or [ipv6]:port");
	load_bad("dnsbl_sites = bl.test\ndns_servers = resolver.example\n",
		 ":2: dns_servers: \"resolver.example\" is not ip[:port] or "
		 "[ipv6]:port");
	load_bad("dnsbl_sites = bl.test\nredis_server = redis.example:6379\n",
		 ":2: redis_server = \"redis.example:6379\": write ip[:port], "
		 "[ipv6]:port or unix:/path (host names are not resolved)");
	load_bad("dnsbl_sites = bl.test\nredis_server = unix:redis.sock\n",
		 ":2: redis_server = \"unix:redis.sock\": write ip[:port], "
		 "[ipv6]:port or unix:/path (host names are not resolved)");
	load_bad("dnsbl_sites = bl.test\nredis_prefix = a b\n",
		 ":2: redis_prefix = \"a b\": write 1 to 64 printable "
		 "characters without spaces");
	load_bad("dnsbl_sites = bl.test\nredis_prefix =\n",
		 ":2: redis_prefix = \"\": write 1 to 64 printable "
		 "characters without spaces");
	load_bad("dnsbl_sites = bl.test\nredis_timeout = 0ms\n",
		 ":2: redis_timeout = 0ms: must be from 1ms to 10000ms");
	load_bad("dnsbl_sites = bl.test\nredis_db = -1\n",
		 ":2: redis_db = -1: must be from 0 to 65535");
	load_bad("dnsbl_sites = bl.test\nallow_hosts = /nonexistent/allow\n",
		 ":2: allow_hosts = /nonexistent/allow: No such file or "
		 "directory");
	load_bad("dnsbl_sites = bl.test\nredis_username = rbl\n",
		 ":2: redis_username is set without redis_password");
	load_bad("dnsbl_sites = bl.test\nredis_sentinels = 127.0.0.1\n",
		 ":2: redis_sentinels is set without redis_master_name");
	load_bad("dnsbl_sites = bl.test\nredis_master_name = mymaster\n",
		 ":2: redis_master_name is set without redis_sentinels");
	load_bad("dnsbl_sites = bl.test\nredis_server = 127.0.0.1\n"
		 "redis_sentinels = 127.0.0.1\nredis_master_name = m\n",
		 ":3: redis_sentinels and redis_server are both set: the "
		 "sentinels name the server");
	load_bad("dnsbl_sites = bl.test\nredis_sentinels = 127.0.0.1, "
		 "sentinel.test\n",
		 ":2: redis_sentinels: \"sentinel.test\" is not ip[:port] or "
		 "[ipv6]:port");
	load_bad("dnsbl_sites = bl.test\nredis_master_name = my master\n",
		 ":2: redis_master_name = \"my master\": write 1 to 64 "
		 "printable characters without spaces");
	load_bad("dnsbl_sites = bl.test\npolicy_socket = 127.0.0.1:10040\n",
		 ":2: policy_socket = \"127.0.0.1:10040\": write inet:IP:PORT, "
		 "inet:[IPv6]:PORT or unix:/path (empty: no policy service)");
	load_bad("dnsbl_sites = bl.test\npolicy_socket = inet:127.0.0.1\n",
		 ":2: policy_socket = \"inet:127.0.0.1\": write inet:IP:PORT, "
		 "inet:[IPv6]:PORT or unix:/path (empty: no policy service)");
	/* IPv6 without a port was once taken, then bound as a unix path. */
	load_bad("dnsbl_sites = bl.test\npolicy_socket = inet:[::1]\n",
		 ":2: policy_socket = \"inet:[::1]\": write inet:IP:PORT, "
		 "inet:[IPv6]:PORT or unix:/path (empty: no policy service)");
	load_bad("dnsbl_sites = bl.test\npolicy_socket = inet:::1\n",
		 ":2: policy_socket = \"inet:::1\": write inet:IP:PORT, "
		 "inet:[IPv6]:PORT or unix:/path (empty: no policy service)");
	load_bad("dnsbl_sites = bl.test\nmetrics_socket = unix:/run/m\n",
		 ":2: metrics_socket = \"unix:/run/m\": write inet:IP:PORT or "
		 "inet:[IPv6]:PORT (empty: no metrics endpoint)");
	load_bad("dnsbl_sites = bl.test\nmetrics_socket = inet:127.0.0.1\n",
		 ":2: metrics_socket = \"inet:127.0.0.1\": write inet:IP:PORT "
		 "or inet:[IPv6]:PORT (empty: no metrics endpoint)");
	load_bad("dnsbl_sites = bl.test\ncache_size = lots\n",
		 ":2: cache_size = \"lots\": not an integer");
	load_bad("dnsbl_sites = bl.test\ndns_servers = 127.0.0.1:\n",
		 ":2: dns_servers: \"127.0.0.1:\" is not ip[:port] or "
		 "[ipv6]:port");
}
END_TEST

START_TEST(test_long_line)
{
	char	text[400];

	snprintf(text, sizeof(text), "dnsbl_sites = %0300d\n", 0);
	load_bad(text, ":1: line longer than 198 bytes; continue a long value "
		 "on the next line, indented");
}
END_TEST

START_TEST(test_missing_file)
{
	struct config *config = NULL;
	char	err[CONFIG_ERR_SIZE];

	ck_assert_int_lt(config_load("/nonexistent/rblmilter.conf", &config,
				     err, sizeof(err)), 0);
	ck_assert_str_eq(err, "/nonexistent/rblmilter.conf: No such file or "
			 "directory");
}
END_TEST

START_TEST(test_binary_garbage)
{
	struct config *config = NULL;
	char	err[CONFIG_ERR_SIZE];
	char   *path = tenv_write(dir, "garbage.conf", "\x01\x02\xff=\xfe\n"
				  "dnsbl_sites = bl.test\n");

	ck_assert_int_lt(config_load(path, &config, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, ":1: unknown parameter") != NULL, "%s", err);
	free(path);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite  *suite = suite_create("config");
	TCase  *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_redis_values);
	tcase_add_test(tc, test_print);
	tcase_add_test(tc, test_bad_lines);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_binary_garbage);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(config_suite());
}
