/*
 * check_milterload - the logic of the load generator t/bench/milterload
 * (t/bench/loadstat.c): its command line, generated and file-read client
 * IPs, percentiles, and the names replies are counted under.  No milter
 * is started: the benchmark scripts run the program itself.
 */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t/bench/loadstat.h"
#include "t/tenv.h"

/* Make argv from the program name and the words up to a NULL; argc. */
static int
words(char **argv, size_t size, const char *first, va_list ap)
{
	const char *word;
	int	argc = 0;

	argv[argc++] = "milterload";
	for (word = first; word != NULL && (size_t) argc + 1 < size;
	     word = va_arg(ap, const char *))
		argv[argc++] = (char *) word;
	argv[argc] = NULL;
	return argc;
}

/* Parse a command line given as words; the status of loadstat_args(). */
static int
parse(struct loadopts *opts, const char *first,...)
{
	char   *argv[32];
	char	err[256];
	int	argc;
	va_list	ap;

	va_start(ap, first);
	argc = words(argv, 32, first, ap);
	va_end(ap);
	return loadstat_args(argc, argv, opts, err, sizeof(err));
}

/* A command line that must be refused with a message containing why. */
static void
refused(const char *why, const char *first,...)
{
	struct loadopts opts;
	char   *argv[32];
	char	err[256] = "";
	int	argc;
	va_list	ap;

	va_start(ap, first);
	argc = words(argv, 32, first, ap);
	va_end(ap);
	ck_assert_int_eq(loadstat_args(argc, argv, &opts, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, why) != NULL, "\"%s\" lacks \"%s\"", err, why);
}

START_TEST(test_args)
{
	struct loadopts opts;

	ck_assert_int_eq(parse(&opts, "-s", "inet:8891@127.0.0.1",
			       NULL), 0);
	ck_assert_str_eq(opts.socket, "inet:8891@127.0.0.1");
	ck_assert_uint_eq(opts.concurrency, 1);
	ck_assert_uint_eq(opts.transactions, 1000);
	ck_assert_ptr_null(opts.ipfile);
	ck_assert_uint_eq(opts.generate, 1000);
	ck_assert_uint_eq(opts.seconds, 0);
	ck_assert_int_eq(parse(&opts, "-s", "unix:/x",
			       "-c", "1000", "-n", "100000", "-r", "131070",
			       "-t", "30", NULL), 0);
	ck_assert_uint_eq(opts.concurrency, 1000);
	ck_assert_uint_eq(opts.transactions, 100000);
	ck_assert_uint_eq(opts.generate, 131070);
	ck_assert_uint_eq(opts.seconds, 30);
	/* Parsed afresh on every call, options glued to their values. */
	ck_assert_int_eq(parse(&opts, "-sunix:/y", "-i",
			       "ips.txt", NULL), 0);
	ck_assert_str_eq(opts.socket, "unix:/y");
	ck_assert_str_eq(opts.ipfile, "ips.txt");
	ck_assert_uint_eq(opts.concurrency, 1);
}
END_TEST

START_TEST(test_args_bad)
{
	refused("-s SOCKET is required", "-c", "2", NULL);
	refused("-c \"0\": expected a number from 1 to 10000", "-s", "x",
		"-c", "0", NULL);
	refused("-c \"10001\"", "-s", "x", "-c", "10001", NULL);
	refused("-n \"10x\"", "-s", "x", "-n", "10x", NULL);
	refused("-n \"-5\"", "-s", "x", "-n", "-5", NULL);
	refused("-n \" 5\"", "-s", "x", "-n", " 5", NULL);
	refused("-n \"\"", "-s", "x", "-n", "", NULL);
	refused("-n \"99999999999999999999999\"", "-s", "x", "-n",
		"99999999999999999999999", NULL);
	refused("-r \"131071\": expected a number from 1 to 131070", "-s",
		"x", "-r", "131071", NULL);
	refused("-t \"0\"", "-s", "x", "-t", "0", NULL);
	refused("-i and -r exclude each other", "-s", "x", "-i", "f", "-r",
		"5", NULL);
	refused("-c needs a value", "-s", "x", "-c", NULL);
	refused("unknown option -q", "-s", "x", "-q", NULL);
	refused("unexpected argument \"extra\"", "-s", "x", "extra", NULL);
}
END_TEST

START_TEST(test_generated_ips)
{
	struct loadips ips;
	char	buf[LOADSTAT_IP_SIZE];
	char	err[256];
	size_t	k;

	ck_assert_int_eq(loadstat_gen_ip(0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "198.18.0.1");
	ck_assert_int_eq(loadstat_gen_ip(254, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "198.18.0.255");
	ck_assert_int_eq(loadstat_gen_ip(255, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "198.18.1.0");
	ck_assert_int_eq(loadstat_gen_ip(65534, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "198.18.255.255");
	ck_assert_int_eq(loadstat_gen_ip(65535, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "198.19.0.0");
	ck_assert_int_eq(loadstat_gen_ip(LOADSTAT_GEN_MAX - 1, buf,
					 sizeof(buf)), 0);
	ck_assert_str_eq(buf, "198.19.255.254");
	ck_assert_int_eq(loadstat_gen_ip(LOADSTAT_GEN_MAX, buf, sizeof(buf)),
			 -1);
	/* COUNT distinct IPs, then cycling. */
	ck_assert_int_eq(loadstat_ips_generate(&ips, 3, err, sizeof(err)), 0);
	ck_assert_uint_eq(ips.count, 3);
	ck_assert_str_eq(loadstat_ip(&ips, 0), "198.18.0.1");
	ck_assert_str_eq(loadstat_ip(&ips, 2), "198.18.0.3");
	ck_assert_str_eq(loadstat_ip(&ips, 3), "198.18.0.1");
	ck_assert_str_eq(loadstat_ip(&ips, 3004), "198.18.0.2");
	loadstat_ips_free(&ips);
	ck_assert_ptr_null(ips.ip);
	ck_assert_int_eq(loadstat_ips_generate(&ips, LOADSTAT_GEN_MAX, err,
					       sizeof(err)), 0);
	for (k = 1; k < ips.count; k++)
		ck_assert_msg(strcmp(ips.ip[k - 1], ips.ip[k]) != 0, "%s twice",
			      ips.ip[k]);
	ck_assert_str_eq(ips.ip[ips.count - 1], "198.19.255.254");
	loadstat_ips_free(&ips);
	ck_assert_int_eq(loadstat_ips_generate(&ips, 0, err, sizeof(err)), -1);
	ck_assert_int_eq(loadstat_ips_generate(&ips, LOADSTAT_GEN_MAX + 1, err,
					       sizeof(err)), -1);
	ck_assert_str_eq(err, "131071 IPs: 1 to 131070 can be generated");
}
END_TEST

/* Read ips from text through a memory stream; the status. */
static int
read_text(struct loadips *ips, const char *text, char *err, size_t errlen)
{
	FILE   *fp;
	int	status;

	ck_assert_ptr_nonnull(fp = fmemopen((void *) text, strlen(text), "r"));
	status = loadstat_ips_read(ips, fp, "ips", err, errlen);
	fclose(fp);
	return status;
}

START_TEST(test_ip_file)
{
	struct loadips ips;
	char	err[256];
	char	longline[400];

	ck_assert_int_eq(read_text(&ips, "# clients\n192.0.2.1\n\n  2001:db8::2  \r\n"
				   "\t# indented comment\n198.51.100.7", err,
				   sizeof(err)), 0);
	ck_assert_uint_eq(ips.count, 3);
	ck_assert_str_eq(loadstat_ip(&ips, 0), "192.0.2.1");
	ck_assert_str_eq(loadstat_ip(&ips, 1), "2001:db8::2");
	ck_assert_str_eq(loadstat_ip(&ips, 2), "198.51.100.7");
	ck_assert_str_eq(loadstat_ip(&ips, 4), "2001:db8::2");
	loadstat_ips_free(&ips);
	ck_assert_int_eq(read_text(&ips, "192.0.2.1\nmail.example\n", err,
				   sizeof(err)), -1);
	ck_assert_str_eq(err, "ips:2: \"mail.example\" is not an IPv4 or IPv6 "
			 "address");
	ck_assert_ptr_null(ips.ip);
	ck_assert_int_eq(read_text(&ips, "192.0.2.1/24\n", err, sizeof(err)),
			 -1);
	ck_assert_int_eq(read_text(&ips, "# nothing\n\n", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "ips: no IP address");
	ck_assert_int_eq(read_text(&ips, "", err, sizeof(err)), -1);
	memset(longline, '1', sizeof(longline) - 2);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = 0;
	ck_assert_int_eq(read_text(&ips, longline, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "ips:1: line longer than 254 bytes");
}
END_TEST

/* More addresses than the first realloc() holds. */
START_TEST(test_ip_file_grows)
{
	struct loadips ips;
	char   *text;
	char	err[256];
	size_t	len = 0;
	int	k;

	ck_assert_ptr_nonnull(text = malloc(1000 * 16));
	for (k = 0; k < 1000; k++)
		len += (size_t) sprintf(text + len, "10.0.%d.%d\n", k / 256,
					k % 256);
	ck_assert_int_eq(read_text(&ips, text, err, sizeof(err)), 0);
	ck_assert_uint_eq(ips.count, 1000);
	ck_assert_str_eq(ips.ip[999], "10.0.3.231");
	loadstat_ips_free(&ips);
	free(text);
}
END_TEST

START_TEST(test_percentiles)
{
	uint64_t values[1000];
	uint64_t one = 7;
	size_t	k;

	ck_assert_uint_eq(loadstat_percentile(NULL, 0, 50), 0);
	ck_assert_uint_eq(loadstat_percentile(&one, 1, 50), 7);
	ck_assert_uint_eq(loadstat_percentile(&one, 1, 99), 7);
	ck_assert_uint_eq(loadstat_percentile(&one, 1, 100), 7);
	/* 100 values, shuffled: 1 to 100. */
	for (k = 0; k < 100; k++)
		values[k] = (k * 37) % 100 + 1;
	loadstat_sort(values, 100);
	for (k = 0; k < 100; k++)
		ck_assert_uint_eq(values[k], k + 1);
	ck_assert_uint_eq(loadstat_percentile(values, 100, 50), 50);
	ck_assert_uint_eq(loadstat_percentile(values, 100, 99), 99);
	ck_assert_uint_eq(loadstat_percentile(values, 100, 100), 100);
	ck_assert_uint_eq(loadstat_percentile(values, 100, 1), 1);
	/* Nearest rank rounds up: with 3 values, p50 is the second. */
	ck_assert_uint_eq(loadstat_percentile(values, 3, 50), 2);
	ck_assert_uint_eq(loadstat_percentile(values, 3, 99), 3);
	ck_assert_uint_eq(loadstat_percentile(values, 2, 50), 1);
	/* 1000 values: p99 is the 990th; one outlier shows in max only. */
	for (k = 0; k < 1000; k++)
		values[k] = 1000 - k;
	values[500] = 5000000000ull;
	loadstat_sort(values, 1000);
	ck_assert_uint_eq(loadstat_percentile(values, 1000, 50), 501);
	ck_assert_uint_eq(loadstat_percentile(values, 1000, 99), 991);
	ck_assert_uint_eq(loadstat_percentile(values, 1000, 100), 5000000000ull);
	/* Ties. */
	for (k = 0; k < 10; k++)
		values[k] = k < 9 ? 3 : 8;
	loadstat_sort(values, 10);
	ck_assert_uint_eq(loadstat_percentile(values, 10, 90), 3);
	ck_assert_uint_eq(loadstat_percentile(values, 10, 91), 8);
}
END_TEST

START_TEST(test_replies)
{
	char	name[16];

	ck_assert_int_eq(loadstat_reply_slot('c', ""), 0);
	loadstat_reply_name(0, name, sizeof(name));
	ck_assert_str_eq(name, "continue");
	loadstat_reply_name(loadstat_reply_slot('a', ""), name, sizeof(name));
	ck_assert_str_eq(name, "accept");
	loadstat_reply_name(loadstat_reply_slot('r', ""), name, sizeof(name));
	ck_assert_str_eq(name, "reject");
	loadstat_reply_name(loadstat_reply_slot('t', ""), name, sizeof(name));
	ck_assert_str_eq(name, "tempfail");
	loadstat_reply_name(loadstat_reply_slot('d', ""), name, sizeof(name));
	ck_assert_str_eq(name, "discard");
	loadstat_reply_name(loadstat_reply_slot('4', ""), name, sizeof(name));
	ck_assert_str_eq(name, "shutdown");
	loadstat_reply_name(loadstat_reply_slot('y', "550 5.7.1 Service "
						"unavailable"), name,
			    sizeof(name));
	ck_assert_str_eq(name, "y550");
	loadstat_reply_name(loadstat_reply_slot('y', "451 4.7.1 later"), name,
			    sizeof(name));
	ck_assert_str_eq(name, "y451");
	ck_assert_int_ne(loadstat_reply_slot('y', "554"),
			 loadstat_reply_slot('y', "550"));
	ck_assert_int_lt(loadstat_reply_slot('y', "599"), LOADSTAT_REPLY_SLOTS);
	/* What mclient never returns still has a slot. */
	loadstat_reply_name(loadstat_reply_slot('y', "250 ok"), name,
			    sizeof(name));
	ck_assert_str_eq(name, "other");
	loadstat_reply_name(loadstat_reply_slot('Z', ""), name, sizeof(name));
	ck_assert_str_eq(name, "other");
	loadstat_reply_name(loadstat_reply_slot(0, ""), name, sizeof(name));
	ck_assert_str_eq(name, "other");
	loadstat_reply_name(-1, name, sizeof(name));
	ck_assert_str_eq(name, "other");
}
END_TEST

static Suite *
milterload_suite(void)
{
	Suite  *suite = suite_create("milterload");
	TCase  *tc = tcase_create("loadstat");

	tcase_add_test(tc, test_args);
	tcase_add_test(tc, test_args_bad);
	tcase_add_test(tc, test_generated_ips);
	tcase_add_test(tc, test_ip_file);
	tcase_add_test(tc, test_ip_file_grows);
	tcase_add_test(tc, test_percentiles);
	tcase_add_test(tc, test_replies);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(milterload_suite());
}
