/*
 * check_report - "rblmilter --report": the line parser on good, cut and
 * garbled decision lines, every kind of decision written by
 * logline_write() and read back, and the whole report, text and JSON, on
 * a log written by hand (syslog, ISO 8601 and -f prefixes, other
 * programs' lines, garbage).  Every number of the report is asserted;
 * the command is run too.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli/report.h"
#include "conf/config.h"
#include "decide/decision.h"
#include "decide/logline.h"
#include "lists/lists.h"
#include "dnsbl/verdict.h"
#include "greylist/greylist.h"
#include "lib/addr.h"
#include "t/tenv.h"

/* A mail.log slice: 23 lines, 12 decisions, 5 others, 6 skipped. */
static const char test_log[] =
	/* 1: a reject at RCPT, DNS asked. */
	"Nov 25 17:01:02 mx1 rblmilter[4242]: queue_id= client=127.0.0.2 "
	"daemon=smtpd helo=\"client.test\" stage=rcpt action=reject "
	"reason=dnsbl rcpt=\"<u@here.test>\" cache=miss score=3 "
	"listed=bl.test(127.0.0.2) unknown= ttl=300 dns_ms=4 "
	"zone_ms=bl.test(4) text=\"Listed by the test\"\n"
	/* 2: Postfix's own line about it. */
	"Nov 25 17:01:02 mx1 postfix/smtpd[999]: NOQUEUE: milter-reject: "
	"RCPT from unknown[127.0.0.2]: 550 5.7.1 Service unavailable; client "
	"[127.0.0.2] blocked using bl.test; from=<a@sender.test> "
	"to=<u@here.test> proto=ESMTP helo=<client.test>\n"
	/* 3: the same session's next RCPT. */
	"Nov 25 17:01:03 mx1 rblmilter[4242]: queue_id= client=127.0.0.2 "
	"daemon=smtpd helo=\"client.test\" stage=rcpt action=reject "
	"reason=dnsbl rcpt=\"<v@here.test>\" cache=miss score=3 "
	"listed=bl.test(127.0.0.2) unknown= ttl=300 dns_ms=4 "
	"zone_ms=bl.test(4) text=\"Listed by the test\"\n"
	/* 4: -f, IPv6, a quote and a backslash in the HELO. */
	"rblmilter: queue_id=QID42 client=2001:db8::2 daemon=mx-test "
	"helo=\"evil\\\"helo\\\\x\" stage=rcpt action=reject reason=dnsbl "
	"rcpt=\"<u@here.test>\" cache=memory score=3 "
	"listed=bl.test(127.0.0.2) unknown= ttl=290 dns_ms=0\n"
	/* 5: a zone timed out. */
	"Nov 25 17:01:10 mx1 rblmilter[4242]: queue_id=4XyZ1n2ABcz "
	"client=192.0.2.20 daemon=smtpd helo=\"mail.example.net\" stage=rcpt "
	"action=pass reason=dns-failure rcpt=\"<u@here.test>\" cache=miss "
	"score=0 listed= unknown=slow.test(timeout) ttl=30 dns_ms=500 "
	"zone_ms=bl.test(3),slow.test(500)\n"
	/* 6: the allow list decided, no verdict. */
	"Nov 25 17:01:11 mx1 rblmilter[4242]: queue_id= client=192.0.2.10 "
	"daemon=smtpd helo=\"relay.here.test\" stage=connect action=allow "
	"reason=allow-list\n"
	/* 7: a relay refusal. */
	"Nov 25 17:01:12 mx1 rblmilter[4242]: queue_id=4XyZ1n3DEfg "
	"client=203.0.113.5 daemon=smtpd helo=\"laptop\" stage=rcpt "
	"action=relay reason=relay rcpt=\"<x@elsewhere.test>\" cache=redis "
	"score=0 listed= unknown= ttl=250 dns_ms=0\n"
	/* 8: the policy service, two zones. */
	"Nov 25 17:01:13 mx1 rblmilter[4242]: queue_id=\"\" "
	"client=198.51.100.7 front=policy helo=\"[198.51.100.7]\" "
	"stage=\"RCPT\" action=reject reason=dnsbl rcpt=\"u@here.test\" "
	"cache=redis score=5 "
	"listed=bl.test(127.0.0.2),other.test(127.0.0.4;127.0.0.10) "
	"unknown= ttl=120 dns_ms=0\n"
	/* 9, 10, 11: rblmilter's other messages, binary garbage. */
	"Nov 25 17:02:00 mx1 rblmilter[4242]: configuration reloaded\n"
	"Nov 25 17:02:01 mx1 rblmilter[4242]: warning: smfi_setsymlist "
	"failed: Postfix's default macros are used\n"
	"\x01\x02\xff garbage \x7f\n"
	/* 12, 13: cut by syslog. */
	"Nov 25 17:02:05 mx1 rblmilter[4242]: queue_id= client=127.0.0.2 "
	"daemon=smtpd helo=\"client.test\" stage=rcpt action=reject "
	"reason=dnsbl rcpt=\"<w@here.te\n"
	"Nov 25 17:02:06 mx1 rblmilter[4242]: queue_i\n"
	/* 14, 15: garbled. */
	"Nov 25 17:02:07 mx1 rblmilter[4242]: queue_id= client=999.1.1.1 "
	"daemon=smtpd helo=\"x\" stage=rcpt action=reject reason=dnsbl\n"
	"Nov 25 17:02:08 mx1 rblmilter[4242]: queue_id= client=127.0.0.5 "
	"daemon=smtpd helo=\"x\" stage=rcpt action=explode reason=dnsbl\n"
	/* 16: rsyslog's ISO 8601 time, two zones timed out. */
	"2026-11-25T17:05:00.123456+00:00 mx1 rblmilter[4242]: queue_id= "
	"client=192.0.2.30 daemon=smtpd helo=\"slow.example\" stage=rcpt "
	"action=tempfail reason=dns-failure rcpt=\"<u@here.test>\" "
	"cache=miss score=0 listed= "
	"unknown=bl.test(timeout),slow.test(timeout) ttl=30 dns_ms=2001 "
	"zone_ms=bl.test(2001),slow.test(2001)\n"
	/* 17: action = log, IPv6 in 2001:db8:1::/48. */
	"Nov 25 17:06:00 mx1 rblmilter[4242]: queue_id=4XyZ1n4HIjk "
	"client=2001:db8:1:2::5 daemon=smtpd helo=\"v6.example\" stage=rcpt "
	"action=log reason=dnsbl rcpt=\"<u@here.test>\" cache=miss score=3 "
	"listed=bl.test(127.0.0.2) unknown= ttl=300 dns_ms=12 "
	"zone_ms=bl.test(12),slow.test(30)\n"
	/* 18: tagged. */
	"Nov 25 17:06:30 mx1 rblmilter[4242]: queue_id=4XyZ1n5KLmn "
	"client=127.0.0.3 daemon=smtpd helo=\"tagged.example\" stage=rcpt "
	"action=tag reason=dnsbl rcpt=\"<u@here.test>\" cache=memory score=1 "
	"listed=other.test(127.0.0.4) unknown= ttl=200 dns_ms=0\n"
	/* 19: the deny list, CRLF. */
	"Nov 25 17:07:00 mx1 rblmilter[4242]: queue_id= client=127.0.0.99 "
	"daemon=smtpd helo=\"client99.test\" stage=rcpt action=reject "
	"reason=deny-list rcpt=\"<u@here.test>\"\r\n"
	/* 20: -f after the last syslog time, same /48 as 17; no zone_ms
	 * (an older version's line). */
	"rblmilter: queue_id= client=2001:db8:1:3::9 daemon=smtpd helo=\"v6b\" "
	"stage=rcpt action=reject reason=dnsbl rcpt=\"<u@here.test>\" "
	"cache=miss score=3 listed=bl.test(127.0.0.2) unknown= ttl=300 "
	"dns_ms=7\n"
	/* 21: empty; 22: a field twice. */
	"\n"
	"rblmilter: queue_id= client=127.0.0.2 client=127.0.0.3 stage=rcpt "
	"action=reject reason=dnsbl\n"
	/* 23: the file ends in the middle of a line. */
	"Nov 25 17:08:00 mx1 rblmilter[4242]: queue_id= client=10.1.2.3 "
	"daemon=smtpd helo=\"h\" stage=rcpt action=reject reason=dnsbl "
	"rcpt=\"<u@here.test>\" cache=miss score=3 listed=bl.test(127.0.0.2) "
	"unknown= ttl=300 dns_ms=9 text=\"cut at the end of the fi";

static const char test_text[] =
	"rblmilter report: Nov 25 17:01:02 to Nov 25 17:07:00\n"
	"  lines read                         23\n"
	"  sessions (decision lines)          12\n"
	"  other lines                         5\n"
	"  skipped (cut or garbled)            6\n"
	"  relay refusals                      1\n"
	"\n"
	"actions                        sessions   share\n"
	"  reject                              6   50.0%\n"
	"  tempfail                            1    8.3%\n"
	"  tag                                 1    8.3%\n"
	"  log                                 1    8.3%\n"
	"  pass                                1    8.3%\n"
	"  allow                               1    8.3%\n"
	"  relay                               1    8.3%\n"
	"  greylist                            0    0.0%\n"
	"\n"
	"top rejected clients (of 5)     rejects\n"
	"  127.0.0.2                           2\n"
	"  127.0.0.99                          1\n"
	"  198.51.100.7                        1\n"
	"  2001:db8:1:3::9                     1\n"
	"  2001:db8::2                         1\n"
	"\n"
	"top rejected networks (of 4)    rejects\n"
	"  127.0.0.0/24                        3\n"
	"  198.51.100.0/24                     1\n"
	"  2001:db8:1::/48                     1\n"
	"  2001:db8::/48                       1\n"
	"\n"
	"zone hits (of 2)                   hits\n"
	"  bl.test                             6\n"
	"  other.test                          2\n"
	"\n"
	"zones that timed out (of 2)    timeouts\n"
	"  slow.test                           2\n"
	"  bl.test                             1\n"
	"\n"
	"zones listing one client (of 1)    clients\n"
	"  bl.test+other.test                  1\n"
	"\n"
	"zones asked in DNS (of 2)       queries   timeouts   p50 ms   p99 ms\n"
	"  bl.test                             5          1        4     2001\n"
	"  slow.test                           3          2      500     2001\n"
	"\n"
	"cache                          verdicts   share\n"
	"  memory                              2   20.0%\n"
	"  redis                               2   20.0%\n"
	"  miss                                6   60.0%\n"
	"  hit rate                                40.0%\n"
	"\n"
	"dns_ms (of 6 cache misses)           ms\n"
	"  p50                                 7\n"
	"  p99                              2001\n";

static const char test_json[] =
	"{\n"
	"  \"first\": \"Nov 25 17:01:02\",\n"
	"  \"last\": \"Nov 25 17:07:00\",\n"
	"  \"lines\": 23,\n"
	"  \"sessions\": 12,\n"
	"  \"other\": 5,\n"
	"  \"skipped\": 6,\n"
	"  \"actions\": {\"reject\": 6, \"tempfail\": 1, \"tag\": 1, "
	"\"log\": 1, \"pass\": 1, \"allow\": 1, \"relay\": 1, "
	"\"greylist\": 0},\n"
	"  \"relay_refusals\": 1,\n"
	"  \"greylist\": {\"new\": 0, \"early\": 0, \"passed\": 0, "
	"\"off\": 0},\n"
	"  \"rejected_clients\": {\"distinct\": 5, \"untracked\": 0, "
	"\"top\": [\n"
	"    {\"client\": \"127.0.0.2\", \"rejects\": 2},\n"
	"    {\"client\": \"127.0.0.99\", \"rejects\": 1},\n"
	"    {\"client\": \"198.51.100.7\", \"rejects\": 1},\n"
	"    {\"client\": \"2001:db8:1:3::9\", \"rejects\": 1},\n"
	"    {\"client\": \"2001:db8::2\", \"rejects\": 1}\n"
	"  ]},\n"
	"  \"rejected_networks\": {\"distinct\": 4, \"untracked\": 0, "
	"\"top\": [\n"
	"    {\"network\": \"127.0.0.0/24\", \"rejects\": 3},\n"
	"    {\"network\": \"198.51.100.0/24\", \"rejects\": 1},\n"
	"    {\"network\": \"2001:db8:1::/48\", \"rejects\": 1},\n"
	"    {\"network\": \"2001:db8::/48\", \"rejects\": 1}\n"
	"  ]},\n"
	"  \"zone_hits\": {\"distinct\": 2, \"untracked\": 0, \"top\": [\n"
	"    {\"zone\": \"bl.test\", \"hits\": 6},\n"
	"    {\"zone\": \"other.test\", \"hits\": 2}\n"
	"  ]},\n"
	"  \"zone_timeouts\": {\"distinct\": 2, \"untracked\": 0, \"top\": [\n"
	"    {\"zone\": \"slow.test\", \"timeouts\": 2},\n"
	"    {\"zone\": \"bl.test\", \"timeouts\": 1}\n"
	"  ]},\n"
	"  \"zone_decisive\": {\"distinct\": 0, \"untracked\": 0, "
	"\"top\": []},\n"
	"  \"zone_overlap\": {\"distinct\": 1, \"untracked\": 0, \"top\": [\n"
	"    {\"zones\": \"bl.test+other.test\", \"clients\": 1}\n"
	"  ]},\n"
	"  \"shadow_rejects\": {\"distinct\": 0, \"untracked\": 0, "
	"\"top\": []},\n"
	"  \"shadow_rejects_alone\": {\"distinct\": 0, \"untracked\": 0, "
	"\"top\": []},\n"
	"  \"zone_lookups\": {\"distinct\": 2, \"untracked\": 0, \"top\": [\n"
	"    {\"zone\": \"bl.test\", \"queries\": 5, \"timeouts\": 1, "
	"\"p50_ms\": 4, \"p99_ms\": 2001},\n"
	"    {\"zone\": \"slow.test\", \"queries\": 3, \"timeouts\": 2, "
	"\"p50_ms\": 500, \"p99_ms\": 2001}\n"
	"  ]},\n"
	"  \"cache\": {\"lookups\": 10, \"memory\": 2, \"redis\": 2, "
	"\"miss\": 6, \"rate\": {\"memory\": 0.2000, \"redis\": 0.2000, "
	"\"miss\": 0.6000}, \"hit_rate\": 0.4000},\n"
	"  \"dns_ms\": {\"samples\": 6, \"p50\": 7, \"p99\": 2001}\n"
	"}\n";

/* The report of test_log read through report_read(), as text or JSON. */
static char *
report_of(const char *log, size_t len, bool json)
{
	struct report *report;
	FILE   *in;
	FILE   *out;
	char   *text = NULL;
	size_t	size = 0;
	char	err[128];

	ck_assert_ptr_nonnull(report = report_create());
	ck_assert_ptr_nonnull(in = fmemopen((void *) log, len, "r"));
	ck_assert_msg(report_read(report, in, err, sizeof(err)) == 0, "%s",
		      err);
	fclose(in);
	ck_assert_ptr_nonnull(out = open_memstream(&text, &size));
	report_print(report, json, out);
	ck_assert_int_eq(fclose(out), 0);
	report_free(report);
	return text;
}

/* Parse a C string as one line. */
static enum report_line_kind
parse(const char *line, struct report_decision *decision)
{
	return report_parse(line, strlen(line), decision);
}

START_TEST(test_parse_fields)
{
	static struct report_decision d;
	char	ip[ADDR_TEXT_SIZE];

	ck_assert_int_eq(parse("rblmilter: queue_id=QID42 "
			       "client=2001:db8:0::2 daemon=mx-test "
			       "helo=\"evil\\\"helo\\\\x\" "
			       "stage=rcpt action=reject reason=dnsbl "
			       "rcpt=\"<u@here.test>\" cache=memory score=-3 "
			       "listed=bl.test(127.0.0.2) unknown= ttl=290 "
			       "dns_ms=0 zone_ms=bl.test(0),slow.test(12) "
			       "text=\"caf\\xc3\\xa9 \\\\ \\x09done\"\n",
			       &d), REPORT_DECISION);
	ck_assert_str_eq(d.stamp, "");
	ck_assert_str_eq(d.queue_id, "QID42");
	ck_assert_str_eq(addr_format(&d.client, ip), "2001:db8::2");
	ck_assert_str_eq(d.daemon, "mx-test");
	ck_assert_ptr_null(d.front);
	ck_assert_str_eq(d.helo, "evil\"helo\\x");
	ck_assert_str_eq(d.stage, "rcpt");
	ck_assert_str_eq(d.action, "reject");
	ck_assert_int_eq(d.kind, DECISION_KIND_REJECT);
	ck_assert_str_eq(d.reason, "dnsbl");
	ck_assert_str_eq(d.rcpt, "<u@here.test>");
	ck_assert_str_eq(d.cache, "memory");
	ck_assert_int_eq(d.level, CACHE_MEMORY);
	ck_assert_int_eq(d.score, -3);
	ck_assert_str_eq(d.listed, "bl.test(127.0.0.2)");
	ck_assert_str_eq(d.unknown, "");
	ck_assert_uint_eq(d.ttl, 290);
	ck_assert_uint_eq(d.dns_ms, 0);
	ck_assert_str_eq(d.zone_ms, "bl.test(0),slow.test(12)");
	ck_assert_str_eq(d.text, "caf\xc3\xa9 \\ \tdone");

	/* The policy service quotes queue_id and stage; no verdict. */
	ck_assert_int_eq(parse("Nov  5 07:01:13 mx1 rblmilter[7]: "
			       "queue_id=\"\" "
			       "client=::ffff:198.51.100.7 front=policy "
			       "helo=\"\" stage=\"RCPT\" action=allow "
			       "reason=allow-list rcpt=\"\" future=\"x y\"",
			       &d), REPORT_DECISION);
	ck_assert_str_eq(d.stamp, "Nov  5 07:01:13");
	ck_assert_str_eq(d.queue_id, "");
	ck_assert_str_eq(addr_format(&d.client, ip), "198.51.100.7");
	ck_assert_str_eq(d.front, "policy");
	ck_assert_ptr_null(d.daemon);
	ck_assert_str_eq(d.stage, "RCPT");
	ck_assert_int_eq(d.kind, DECISION_KIND_ALLOW);
	ck_assert_ptr_null(d.cache);
	ck_assert_ptr_null(d.zone_ms);
	ck_assert_ptr_null(d.text);

	/* Times: rsyslog's and journalctl's ISO forms; journalctl -o cat. */
	ck_assert_int_eq(parse("2026-11-25T17:05:00.123456+00:00 mx1 "
			       "rblmilter[1]: queue_id= client=127.0.0.2 "
			       "stage=mail action=relay reason=relay", &d),
			 REPORT_DECISION);
	ck_assert_str_eq(d.stamp, "2026-11-25T17:05:00.123456+00:00");
	ck_assert_int_eq(d.kind, DECISION_KIND_RELAY);
	ck_assert_int_eq(parse("2026-11-25T17:05:00+0100 mx1 rblmilter[1]: "
			       "queue_id= client=127.0.0.2 stage=mail "
			       "action=log reason=dnsbl", &d), REPORT_DECISION);
	ck_assert_str_eq(d.stamp, "2026-11-25T17:05:00+0100");
	ck_assert_int_eq(parse("Nov 25 17:01:02.000123 mx1 rblmilter: "
			       "queue_id= client=127.0.0.2 stage=mail "
			       "action=tag reason=dnsbl", &d), REPORT_DECISION);
	ck_assert_str_eq(d.stamp, "Nov 25 17:01:02.000123");
	ck_assert_int_eq(parse("queue_id= client=127.0.0.2 stage=helo "
			       "action=tempfail reason=dns-failure", &d),
			 REPORT_DECISION);
	ck_assert_str_eq(d.stamp, "");
}
END_TEST

START_TEST(test_parse_rejects)
{
	static struct report_decision d;
	static const char *const garbled[] = {
		/* cut */
		"rblmilter: queue_i",
		"rblmilter: queue_id=",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt action=rej",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl cache=miss score=3 listed= "
		"unknown= ttl=300",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl cache=miss score=3 "
		"listed=bl.test(127.0.0.2",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl helo=\"abc",
		/* garbled */
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl ",
		"rblmilter: queue_id= client=127.0.0.2  stage=rcpt "
		"action=reject reason=dnsbl",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl helo=\"a\\qb\"",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl helo=\"a\\x00b\"",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl helo=\"a\"b",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl helo=\"caf\xc3\xa9\"",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl cache=disk score=3 listed= "
		"unknown= ttl=300 dns_ms=1",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl cache=miss score=3 listed= "
		"unknown= ttl=300 dns_ms=-1",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl cache=miss score=3 listed= "
		"unknown= ttl=300 dns_ms=1234567890",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl cache=miss score=x listed= "
		"unknown= ttl=300 dns_ms=1",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl cache=miss score=3 "
		"listed=bl.test(127.0.0.2), unknown= ttl=300 dns_ms=1",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl cache=miss score=3 "
		"listed=(127.0.0.2) unknown= ttl=300 dns_ms=1",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl cache=miss score=3 "
		"listed=bl.test(127.0.0.2)x unknown= ttl=300 dns_ms=1",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl cache=miss score=3 listed= "
		"unknown= ttl=300 dns_ms=1 zone_ms=bl.test(x)",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl cache=miss score=3 listed= "
		"unknown= ttl=300 dns_ms=1 zone_ms=bl.test()",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl cache=miss score=3 listed= "
		"unknown= ttl=300 dns_ms=1 zone_ms=bl.test(1.5)",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl cache=miss score=3 listed= "
		"unknown= ttl=300 dns_ms=1 zone_ms=bl.test(1),",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl cache=miss score=3 listed= "
		"unknown= ttl=300 dns_ms=1 zone_ms=dbl.test[helo=a.test](1)",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl cache=miss score=3 listed= "
		"unknown= ttl=300 dns_ms=1 zone_ms=bl.test(1) zone_ms=",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl action=pass",
		"rblmilter: queue_id= client=localhost stage=rcpt "
		"action=reject reason=dnsbl",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=REJECT reason=dnsbl",
		"rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl Bad=1",
		"Nov 25 17:0 mx1 rblmilter[1]: queue_id= client=127.0.0.2 "
		"stage=rcpt action=reject reason=dnsbl",
		"Nov 25 17:01:02 mx1 rblmilter[x]: queue_id= client=127.0.0.2 "
		"stage=rcpt action=reject reason=dnsbl",
		"Nov 25 17:01:02 mx1 rblmilter[1]:queue_id= client=127.0.0.2 "
		"stage=rcpt action=reject reason=dnsbl",
	};
	static const char *const other[] = {
		"",
		"rblmilter: warning: smfi_setsymlist failed",
		"rblmilter: ",
		"Nov 25 17:01:02 mx1 rblmilter[1]: configuration reloaded",
		"Nov 25 17:01:02 mx1 postfix/smtpd[1]: connect from "
		"x[192.0.2.1]",
		"ip=127.0.0.2 action=reject reason=dnsbl list= cache=miss",
	};
	static const char nul[] = "rblmilter: queue_id= client=127.0.0.2 "
	    "stage=rcpt action=reject reason=dnsbl helo=\"a\0b\"";
	size_t	i;

	for (i = 0; i < sizeof(garbled) / sizeof(garbled[0]); i++)
		ck_assert_msg(parse(garbled[i], &d) == REPORT_GARBLED,
			      "not garbled: %s", garbled[i]);
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		ck_assert_msg(parse(other[i], &d) == REPORT_OTHER,
			      "not other: %s", other[i]);
	ck_assert_int_eq(report_parse(nul, sizeof(nul) - 1, &d),
			 REPORT_GARBLED);
}
END_TEST

START_TEST(test_zones)
{
	struct report_zone zone;
	const char *list = "bl.test(127.0.0.2),other.test(127.0.0.4;127.0.0.10)"
	    ",slow.test(timeout),empty.test()";
	static const char *const bad[] = {
		"bl.test", "bl.test(", "bl.test(1),", "(1)", "bl.test(1)x",
		"bl.test(1),,x(2)", "bl test(1)", "bl.test(a b)",
		"dbl.test[sender](1)", "dbl.test[=a.example](1)",
		"dbl.test[Sender=a.example](1)", "dbl.test[sender=](1)",
		"dbl.test[sender=a.example(1)", "dbl.test[sender=a b](1)",
	};
	size_t	i;
	int	status;

	ck_assert_int_eq(report_zone_next(&list, &zone), 1);
	ck_assert_int_eq(zone.name_len, 7);
	ck_assert(strncmp(zone.name, "bl.test", 7) == 0);
	ck_assert_int_eq(zone.detail_len, 9);
	ck_assert(strncmp(zone.detail, "127.0.0.2", 9) == 0);
	ck_assert_int_eq(report_zone_next(&list, &zone), 1);
	ck_assert_int_eq(zone.name_len, 10);
	ck_assert(strncmp(zone.detail, "127.0.0.4;127.0.0.10)", 21) == 0);
	ck_assert_int_eq(zone.detail_len, 20);
	ck_assert_int_eq(report_zone_next(&list, &zone), 1);
	ck_assert(strncmp(zone.detail, "timeout", zone.detail_len) == 0);
	ck_assert_int_eq(report_zone_next(&list, &zone), 1);
	ck_assert_int_eq(zone.detail_len, 0);
	ck_assert_ptr_null(zone.role);
	ck_assert_int_eq(report_zone_next(&list, &zone), 0);
	/* A domain zone names the role and the name it listed. */
	list = "dbl.test[sender=spam.example](127.0.1.2)";
	ck_assert_int_eq(report_zone_next(&list, &zone), 1);
	ck_assert(zone.name_len == 8 && strncmp(zone.name, "dbl.test", 8) == 0);
	ck_assert(zone.role_len == 6 && strncmp(zone.role, "sender", 6) == 0);
	ck_assert(zone.subject_len == 12
		  && strncmp(zone.subject, "spam.example", 12) == 0);
	ck_assert(zone.detail_len == 9
		  && strncmp(zone.detail, "127.0.1.2", 9) == 0);
	ck_assert_int_eq(report_zone_next(&list, &zone), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		list = bad[i];
		while ((status = report_zone_next(&list, &zone)) > 0)
			;
		ck_assert_msg(status < 0, "accepted: %s", bad[i]);
	}
}
END_TEST

/* Hits of domain zones are counted per zone and role. */
START_TEST(test_report_names)
{
	static const char log[] =
		"rblmilter: queue_id= client=192.0.2.1 daemon= front=policy "
		"helo=\"mail.spam.example\" stage=rcpt action=reject "
		"reason=dnsbl cache=miss score=6 listed=bl.test(127.0.0.2),"
		"dbl.test[helo=spam.example](127.0.1.2),dbl.test[sender="
		"spam.example](127.0.1.2) unknown= ttl=60 dns_ms=3\n"
		"rblmilter: queue_id= client=192.0.2.2 daemon= front=policy "
		"helo=\"x\" stage=rcpt action=reject reason=dnsbl cache=miss "
		"score=3 listed=dbl.test[sender=spam.example](127.0.1.2) "
		"unknown= ttl=60 dns_ms=3\n";
	char   *text = report_of(log, sizeof(log) - 1, false);

	ck_assert_msg(strstr(text, "zone hits (of 3)                   hits\n"
			     "  dbl.test[sender]                    2\n"
			     "  bl.test                             1\n"
			     "  dbl.test[helo]                      1\n") != NULL,
		      "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "sessions (decision lines)           2"));
	free(text);
}
END_TEST

/*
 * Shadow zones: the rejections each would have made that were not made,
 * and of those the ones no scored zone listed.
 */
START_TEST(test_report_shadow)
{
	static const char log[] =
		"rblmilter: queue_id= client=192.0.2.1 daemon= front=check "
		"helo=\"\" stage=rcpt action=pass reason=pass "
		"shadow_action=reject cache=miss score=0 listed= unknown= "
		"shadow=sh.test(127.0.0.3),late.test(timeout) ttl=60 dns_ms=3\n"
		"rblmilter: queue_id= client=192.0.2.2 daemon= front=check "
		"helo=\"\" stage=rcpt action=pass reason=pass "
		"shadow_action=reject cache=miss score=1 listed=bl.test"
		"(127.0.0.3) unknown= shadow=sh.test(127.0.0.3),new.test"
		"(127.0.0.2) ttl=60 dns_ms=3\n"
		"rblmilter: queue_id= client=192.0.2.3 daemon= front=check "
		"helo=\"\" stage=rcpt action=reject reason=dnsbl "
		"shadow_action=reject cache=miss score=3 listed=bl.test"
		"(127.0.0.2) unknown= shadow=sh.test(127.0.0.3) ttl=60 "
		"dns_ms=3\n"
		"rblmilter: queue_id= client=192.0.2.4 daemon= front=check "
		"helo=\"\" stage=rcpt action=pass reason=pass "
		"shadow_action=warp cache=miss score=0 listed= unknown= "
		"shadow= ttl=60 dns_ms=3\n";
	char   *text = report_of(log, sizeof(log) - 1, false);

	ck_assert_msg(strstr(text, "shadow zones: would-be rejections (of 2)"
			     "    rejects\n"
			     "  sh.test                             2\n"
			     "  new.test                            1\n"
			     "\n"
			     "... no scored zone listed (of 1)    rejects\n"
			     "  sh.test                             1\n") != NULL,
		      "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "skipped (cut or garbled)            1"));
	free(text);
}
END_TEST

/* What each zone is worth: the rejections it was needed for. */
START_TEST(test_report_decisive)
{
	static const char log[] =
		"rblmilter: queue_id= client=192.0.2.1 daemon= front=check "
		"helo=\"\" stage=rcpt action=reject reason=dnsbl "
		"decisive=a.test cache=miss score=3 listed=a.test(127.0.0.2),"
		"b.test(127.0.0.2) unknown= ttl=60 dns_ms=3\n"
		"rblmilter: queue_id= client=192.0.2.2 daemon= front=check "
		"helo=\"\" stage=rcpt action=reject reason=dnsbl "
		"decisive=a.test,c.test cache=miss score=2 listed=a.test"
		"(127.0.0.2),c.test(127.0.0.2),dbl.test[helo=x.example]"
		"(127.0.1.2),dbl.test[sender=x.example](127.0.1.2) unknown= "
		"ttl=60 dns_ms=3\n"
		"rblmilter: queue_id= client=192.0.2.3 daemon= front=check "
		"helo=\"\" stage=rcpt action=reject reason=dnsbl "
		"decisive=a.test,\"x\" cache=miss score=2 listed= unknown= "
		"ttl=60 dns_ms=3\n";
	char   *text = report_of(log, sizeof(log) - 1, false);

	ck_assert_msg(strstr(text, "zones a rejection needed (of 2)    rejects\n"
			     "  a.test                              2\n"
			     "  c.test                              1\n"
			     "\n"
			     "zones listing one client (of 4)    clients\n"
			     "  a.test+b.test                       1\n"
			     "  a.test+c.test                       1\n"
			     "  a.test+dbl.test                     1\n"
			     "  c.test+dbl.test                     1\n") != NULL,
		      "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "skipped (cut or garbled)            1"));
	free(text);
}
END_TEST

START_TEST(test_report_greylist)
{
	static const char log[] =
	    "rblmilter: queue_id= client=192.0.2.7 daemon=smtpd helo=\"g\" "
	    "stage=rcpt action=greylist reason=greylist rcpt=\"<u@here.test>\" "
	    "greylist=new greylist_wait=300 cache=miss score=1 "
	    "listed=pbl.test(127.0.0.10) unknown= ttl=60 dns_ms=3\n"
	    "rblmilter: queue_id= client=192.0.2.7 daemon=smtpd helo=\"g\" "
	    "stage=rcpt action=greylist reason=greylist rcpt=\"<v@here.test>\" "
	    "greylist=early greylist_wait=12 cache=memory score=1 "
	    "listed=pbl.test(127.0.0.10) unknown= ttl=60 dns_ms=0\n"
	    "rblmilter: queue_id=4Xy client=192.0.2.7 daemon=smtpd helo=\"g\" "
	    "stage=rcpt action=pass reason=greylist rcpt=\"<u@here.test>\" "
	    "greylist=passed cache=memory score=1 "
	    "listed=pbl.test(127.0.0.10) unknown= ttl=60 dns_ms=0\n"
	    "rblmilter: queue_id= client=192.0.2.8 daemon=smtpd helo=\"g\" "
	    "stage=rcpt action=pass reason=greylist greylist=maybe\n";
	char   *text = report_of(log, sizeof(log) - 1, false);

	ck_assert_msg(strstr(text, "  greylist                            2   "
			     "66.7%\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "greylisting                  recipients\n"
			     "  new                                 1\n"
			     "  early                               1\n"
			     "  passed                              1\n"
			     "  off                                 0\n") != NULL,
		      "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "skipped (cut or garbled)            1"));
	free(text);
}
END_TEST

START_TEST(test_report_text)
{
	char   *text = report_of(test_log, sizeof(test_log) - 1, false);

	ck_assert_str_eq(text, test_text);
	free(text);
}
END_TEST

START_TEST(test_report_json)
{
	char   *text = report_of(test_log, sizeof(test_log) - 1, true);

	ck_assert_str_eq(text, test_json);
	free(text);
}
END_TEST

START_TEST(test_report_empty)
{
	static const char head[] = "rblmilter report (no syslog times in the "
	    "input)\n  lines read                          1\n";
	char   *text = report_of("", 0, true);

	ck_assert_str_eq(text,
			 "{\n"
			 "  \"first\": null,\n"
			 "  \"last\": null,\n"
			 "  \"lines\": 0,\n"
			 "  \"sessions\": 0,\n"
			 "  \"other\": 0,\n"
			 "  \"skipped\": 0,\n"
			 "  \"actions\": {\"reject\": 0, \"tempfail\": 0, "
			 "\"tag\": 0, \"log\": 0, \"pass\": 0, \"allow\": 0, "
			 "\"relay\": 0, \"greylist\": 0},\n"
			 "  \"relay_refusals\": 0,\n"
			 "  \"greylist\": {\"new\": 0, \"early\": 0, "
			 "\"passed\": 0, \"off\": 0},\n"
			 "  \"rejected_clients\": {\"distinct\": 0, "
			 "\"untracked\": 0, \"top\": []},\n"
			 "  \"rejected_networks\": {\"distinct\": 0, "
			 "\"untracked\": 0, \"top\": []},\n"
			 "  \"zone_hits\": {\"distinct\": 0, "
			 "\"untracked\": 0, \"top\": []},\n"
			 "  \"zone_timeouts\": {\"distinct\": 0, "
			 "\"untracked\": 0, \"top\": []},\n"
			 "  \"zone_decisive\": {\"distinct\": 0, "
			 "\"untracked\": 0, \"top\": []},\n"
			 "  \"zone_overlap\": {\"distinct\": 0, "
			 "\"untracked\": 0, \"top\": []},\n"
			 "  \"shadow_rejects\": {\"distinct\": 0, "
			 "\"untracked\": 0, \"top\": []},\n"
			 "  \"shadow_rejects_alone\": {\"distinct\": 0, "
			 "\"untracked\": 0, \"top\": []},\n"
			 "  \"zone_lookups\": {\"distinct\": 0, "
			 "\"untracked\": 0, \"top\": []},\n"
			 "  \"cache\": {\"lookups\": 0, \"memory\": 0, "
			 "\"redis\": 0, \"miss\": 0, \"rate\": {\"memory\": "
			 "null, \"redis\": null, \"miss\": null}, "
			 "\"hit_rate\": null},\n"
			 "  \"dns_ms\": {\"samples\": 0, \"p50\": null, "
			 "\"p99\": null}\n"
			 "}\n");
	free(text);
	text = report_of("rblmilter: hello\n", 17, false);
	ck_assert_msg(strncmp(text, head, strlen(head)) == 0, "%s", text);
	free(text);
}
END_TEST

/* Bounded: zones beyond the kept keys, top 10, a line over the buffer. */
START_TEST(test_report_bounds)
{
	struct report *report;
	FILE   *out;
	char   *text = NULL;
	char   *long_line;
	size_t	size = 0;
	char	line[512];
	int	len;
	int	i;

	ck_assert_ptr_nonnull(report = report_create());
	for (i = 0; i < 300; i++) {
		len = snprintf(line, sizeof(line), "rblmilter: queue_id= "
			       "client=10.0.%d.%d stage=rcpt action=reject "
			       "reason=dnsbl cache=miss score=3 "
			       "listed=z%03d.test(127.0.0.2) unknown= ttl=300 "
			       "dns_ms=%d", i / 100, i % 100, i, i);
		ck_assert_int_eq(report_add(report, line, (size_t) len), 0);
	}
	ck_assert_ptr_nonnull(long_line = malloc(3 * REPORT_LINE_MAX));
	ck_assert_ptr_nonnull(out = fmemopen(long_line, 3 * REPORT_LINE_MAX,
					     "w+"));
	fprintf(out, "rblmilter: queue_id= client=127.0.0.2 stage=rcpt "
		"action=reject reason=dnsbl helo=\"%0*d\"\nrblmilter: x\n",
		2 * REPORT_LINE_MAX, 0);
	rewind(out);
	ck_assert_int_eq(report_read(report, out, line, sizeof(line)), 0);
	fclose(out);
	free(long_line);
	ck_assert_ptr_nonnull(out = open_memstream(&text, &size));
	report_print(report, false, out);
	ck_assert_int_eq(fclose(out), 0);
	report_free(report);
	ck_assert_msg(strstr(text, "  lines read                        302\n"
			     "  sessions (decision lines)         300\n"
			     "  other lines                         1\n"
			     "  skipped (cut or garbled)            1\n")
		      != NULL, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "top rejected clients (of 300) "));
	ck_assert_ptr_nonnull(strstr(text, "top rejected networks (of 3) "));
	ck_assert_ptr_nonnull(strstr(text, "  10.0.0.0/24                 "
				     "      100\n"));
	ck_assert_ptr_nonnull(strstr(text, "zone hits (of 256)"));
	ck_assert_ptr_nonnull(strstr(text,
				     "  z255.test                           1\n"
				     "  (not kept: table full)             44\n"));
	ck_assert_ptr_null(strstr(text, "z256.test"));
	/* Nearest rank over 0..299 ms. */
	ck_assert_ptr_nonnull(strstr(text,
				     "  p50                               149\n"
				     "  p99                               296\n"));
	/* Ten clients, the first ones by address when the counts tie. */
	ck_assert_ptr_nonnull(strstr(text,
				     "  10.0.0.0                            1\n"
				     "  10.0.0.1                            1\n"
				     "  10.0.0.10                           1\n"));
	ck_assert_ptr_null(strstr(text, "  10.0.0.18 "));
	free(text);
}
END_TEST

/*
 * Each zone's times from zone_ms=: exact below 10 s, in 100 ms steps
 * above (the step's lowest), at most 65.5 s; a long name widens the
 * columns.
 */
START_TEST(test_report_zone_times)
{
	static const char slow[] = "a-zone-with-a-long-name.test";
	char	log[100 * 256];
	char	more[64] = "";
	char   *text;
	size_t	len = 0;
	int	i;

	for (i = 0; i < 100; i++) {
		if (i < 5)
			snprintf(more, sizeof(more), ",%s(%d)", slow,
				 i < 4 ? 12345 : 99999);
		else
			more[0] = 0;
		len += (size_t) snprintf(log + len, sizeof(log) - len,
					 "rblmilter: queue_id= client=10.0.0.%d "
					 "stage=rcpt action=pass reason=pass "
					 "cache=miss score=0 listed= unknown= "
					 "ttl=300 dns_ms=%d zone_ms=fast.test(%d)"
					 "%s\n", i, i, i, more);
	}
	text = report_of(log, len, true);
	ck_assert_msg(strstr(text, "  \"zone_lookups\": {\"distinct\": 2, "
			     "\"untracked\": 0, \"top\": [\n"
			     "    {\"zone\": \"fast.test\", \"queries\": 100, "
			     "\"timeouts\": 0, \"p50_ms\": 49, \"p99_ms\": 98},\n"
			     "    {\"zone\": \"a-zone-with-a-long-name.test\", "
			     "\"queries\": 5, \"timeouts\": 0, \"p50_ms\": 12300, "
			     "\"p99_ms\": 65500}\n  ]},\n") != NULL, "%s", text);
	free(text);
	text = report_of(log, len, false);
	ck_assert_msg(strstr(text, "\nzones asked in DNS (of 2)         "
			     "queries   timeouts   p50 ms   p99 ms\n"
			     "  fast.test                           100 "
			     "         0       49       98\n"
			     "  a-zone-with-a-long-name.test          5 "
			     "         0    12300    65500\n") != NULL, "%s", text);
	free(text);
}
END_TEST

/* What one run of the command did. */
START_TEST(test_command)
{
	static struct tenv_output r;
	char   *dir = tenv_mkdir();
	char   *log = tenv_write(dir, "mail.log", test_log);

	tenv_command(&r, dir, "--report mail.log", "/dev/null");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, test_text);
	ck_assert_str_eq(r.err, "");
	/* No configuration needed, nor read when one is named. */
	tenv_command(&r, dir, "-c /nonexistent/rblmilter.conf --report - "
		     "--json", log);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, test_json);
	tenv_command(&r, dir, "--json --report", log);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, test_json);
	tenv_command(&r, dir, "--report nonexistent.log", "/dev/null");
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "rblmilter: error: --report: nonexistent.log: "
			 "No such file or directory\n");
	tenv_command(&r, dir, "--report .", "/dev/null");
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "Is a directory"));
	tenv_command(&r, dir, "--json", "/dev/null");
	ck_assert_int_eq(r.status, 64);
	ck_assert_ptr_nonnull(strstr(r.err, "rblmilter --report [FILE|-] "
				     "[--json]"));
	tenv_command(&r, dir, "--report a.log b.log", "/dev/null");
	ck_assert_int_eq(r.status, 64);
	tenv_command(&r, dir, "--report --check", "/dev/null");
	ck_assert_int_eq(r.status, 64);
	free(log);
	tenv_rmdir(dir);
}
END_TEST

/* logline_write() of line, as standard error catches it, into buf. */
static void
written(const struct logline *line, const char *dir, char *buf, size_t size)
{
	char   *path;
	int	saved;

	ck_assert_int_ge(asprintf(&path, "%s/line", dir), 0);
	saved = tenv_log_to(path);
	logline_write(line);
	tenv_log_restore(saved);
	tenv_slurp(path, buf, size);
	free(path);
}

/*
 * Every kind of decision, from each front end (--check too), with and
 * without a verdict and a list, written by logline_write() and read back
 * by report_parse():
 * the writer and the parser share their key tables, and this proves the
 * values too survive the trip.
 */
START_TEST(test_round_trip)
{
	static const struct {
		enum decision_action action;
		enum decision_reason reason;
		bool	dry_run;
		int	greylist;
		unsigned wait;
	} cases[] = {
		{DECISION_REJECT, REASON_RELAY, false, GREYLIST_NONE, 0},
		{DECISION_TEMPFAIL, REASON_RELAY_UNCHECKED, false, GREYLIST_NONE, 0},
		{DECISION_REJECT, REASON_DENY_LIST, false, GREYLIST_NONE, 0},
		{DECISION_CONTINUE, REASON_ALLOW_LIST, false, GREYLIST_NONE, 0},
		{DECISION_CONTINUE, REASON_DNSWL, false, GREYLIST_NONE, 0},
		{DECISION_CONTINUE, REASON_PASS, false, GREYLIST_NONE, 0},
		{DECISION_TEMPFAIL, REASON_DNS_FAILURE, false, GREYLIST_NONE, 0},
		{DECISION_CONTINUE, REASON_DNS_FAILURE, false, GREYLIST_NONE, 0},
		{DECISION_REJECT, REASON_DNSBL, false, GREYLIST_NONE, 0},
		{DECISION_TEMPFAIL, REASON_DNSBL, false, GREYLIST_NONE, 0},
		{DECISION_TAG, REASON_DNSBL, false, GREYLIST_NONE, 0},
		{DECISION_CONTINUE, REASON_DNSBL, true, GREYLIST_NONE, 0},
		{DECISION_GREYLIST, REASON_GREYLIST, false, GREYLIST_NONE, 0},
		{DECISION_TEMPFAIL, REASON_GREYLIST, false, GREYLIST_NEW, 300},
		{DECISION_TEMPFAIL, REASON_DNSBL, false, GREYLIST_EARLY, 7},
		{DECISION_CONTINUE, REASON_GREYLIST, false, GREYLIST_PASSED, 0},
		{DECISION_CONTINUE, REASON_GREYLIST, false, GREYLIST_OFF, 0},
	};
	char   *dir = tenv_mkdir();
	char   *conf = tenv_write(dir, "rblmilter.conf",
				  "dnsbl_sites = bl.test\n");
	struct report_decision *rd = malloc(sizeof(*rd));
	struct config *config;
	struct verdict *verdict = verdict_create(1);
	struct decision decision;
	struct logline line = {0};
	struct addr client;
	char	err[CONFIG_ERR_SIZE];
	char	buf[2048];
	char	wait[16];
	size_t	i;
	int	front;
	int	with;

	ck_assert_ptr_nonnull(rd);
	ck_assert_msg(config_load(conf, &config, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_int_eq(addr_parse("2001:db8::2", &client), 0);
	verdict->zone[0].state = VERDICT_ZONE_LISTED;
	verdict->zone[0].score = verdict->score = 1;
	verdict->zone[0].answer_count = 1;
	memcpy(verdict->zone[0].answer[0], "\x7f\0\0\x02", 4);
	verdict->zone[0].text = strdup("Listed \"here\" = see x\\y");
	verdict->ttl = 300;
	verdict->dns_ms = 12;
	verdict->zone[0].answer_us = 11999;
	line.queue_id = "Q\"1 x=y";
	line.client = &client;
	line.daemon = "mx-1";
	line.helo = "helo with \"quotes\"";
	line.stage = STAGE_RCPT;
	line.decision = &decision;
	line.rcpt = "<u@here.test>";
	line.level = CACHE_REDIS;
	line.sites = config->dnsbl_sites;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	for (front = LOGLINE_MILTER; front <= LOGLINE_CHECK; front++)
	for (with = 0; with < 2; with++) {
		memset(&decision, 0, sizeof(decision));
		decision.action = cases[i].action;
		decision.reason = cases[i].reason;
		decision.dry_run = cases[i].dry_run;
		decision.greylist = cases[i].greylist;
		decision.greylist_wait = cases[i].wait;
		line.front = front;
		line.verdict = with ? verdict : NULL;
		line.lists = with ? 0 : LIST_RELAY | LIST_DENY;
		written(&line, dir, buf, sizeof(buf));
		ck_assert_msg(report_parse(buf, strcspn(buf, "\n"), rd)
			      == REPORT_DECISION, "not parsed: %s", buf);
		ck_assert_int_eq(rd->kind, decision_kind(&decision));
		ck_assert_int_eq(rd->greylist_outcome, decision.greylist);
		snprintf(wait, sizeof(wait), "%u", decision.greylist_wait);
		ck_assert_str_eq(rd->greylist_wait != NULL ? rd->greylist_wait
				 : "0", wait);
		ck_assert_str_eq(rd->reason,
				 decision_reason_name(decision.reason));
		ck_assert_str_eq(rd->front, logline_front_name(front));
		ck_assert_str_eq(rd->queue_id, line.queue_id);
		ck_assert_str_eq(rd->daemon, line.daemon);
		ck_assert_str_eq(rd->helo, line.helo);
		ck_assert_str_eq(rd->stage, "rcpt");
		ck_assert_str_eq(rd->rcpt, line.rcpt);
		ck_assert(addr_equal(&rd->client, &client));
		if (!with) {
			ck_assert_str_eq(rd->list, "relay,deny");
			ck_assert_ptr_null(rd->cache);
			continue;
		}
		ck_assert_ptr_null(rd->list);
		ck_assert_int_eq(rd->level, CACHE_REDIS);
		ck_assert_int_eq(rd->score, 1);
		ck_assert_str_eq(rd->listed, "bl.test(127.0.0.2)");
		ck_assert_str_eq(rd->unknown, "");
		ck_assert_uint_eq(rd->ttl, 300);
		ck_assert_uint_eq(rd->dns_ms, 12);
		ck_assert_str_eq(rd->zone_ms, "bl.test(11)");
		ck_assert_str_eq(rd->text, verdict->zone[0].text);
	}
	verdict_free(verdict);
	config_free(config);
	free(rd);
	free(conf);
	tenv_rmdir(dir);
}
END_TEST

/*
 * The p50 of zone's lookups in a --report --json: the number after its
 * "queries": QUERIES, "timeouts": 0, "p50_ms":.
 */
static unsigned long
report_p50(const char *json, const char *zone, int queries)
{
	char	row[128];
	const char *cp;

	snprintf(row, sizeof(row), "{\"zone\": \"%s\", \"queries\": %d, "
		 "\"timeouts\": 0, \"p50_ms\": ", zone, queries);
	ck_assert_msg((cp = strstr(json, row)) != NULL, "no %s in %s", row,
		      json);
	return strtoul(cp + strlen(row), NULL, 10);
}

/*
 * Through the daemon: twenty policy requests from clients no zone lists,
 * with dnsdelay holding slow.test's answers 200 ms; the report of its
 * log shows both zones asked twenty times, slow.test's p50 at its delay
 * or more and above fast.test's.
 */
START_TEST(test_daemon_zone_times)
{
	static const char *const datasets[] = {
		"fast.test:ip4set:zone", "slow.test:ip4set:zone", NULL,
	};
	static const char *const rules[] = {"slow.test=200", NULL};
	static struct tenv_output r;
	char   *program = getenv("RBLMILTER");
	char   *argv[] = {program, "-f", "-c", NULL, NULL};
	char   *dir = tenv_mkdir();
	char	text[512];
	char	buf[4096];
	char	spec[64];
	char   *log;
	pid_t	rbldnsd;
	pid_t	dnsdelay;
	pid_t	daemon;
	unsigned long fast;
	unsigned long slow;
	int	dns_port;
	int	port;
	int	policy = tenv_free_port();
	int	fd;
	int	i;

	ck_assert_msg(program != NULL, "RBLMILTER is not set");
	free(tenv_write(dir, "zone", "$TTL 300\n127.0.0.2\n"));
	rbldnsd = tenv_rbldnsd(dir, datasets, "fast.test", &dns_port);
	dnsdelay = tenv_dnsdelay(dns_port, rules, NULL, &port);
	snprintf(spec, sizeof(spec), "inet:%d@127.0.0.1",
		 tenv_free_port());
	snprintf(text, sizeof(text), "dns_servers = 127.0.0.1:%d\n"
		 "dnsbl_sites = fast.test, slow.test\nmilter_socket = %s\n"
		 "policy_socket = inet:127.0.0.1:%d\n%s", port, spec, policy,
		 tenv_user());
	argv[3] = tenv_write(dir, "rblmilter.conf", text);
	ck_assert_int_ge(asprintf(&log, "%s/rblmilter.log", dir), 0);
	daemon = tenv_milter_start(argv, spec, log);
	fd = tenv_connect(policy);
	for (i = 1; i <= 20; i++) {
		snprintf(text, sizeof(text), "request=smtpd_access_policy\n"
			 "protocol_state=RCPT\nclient_address=192.0.2.%d\n"
			 "recipient=u@here.test\n\n", i);
		tenv_send(fd, text);
	}
	tenv_answers(fd, buf, sizeof(buf), 20);
	close(fd);
	tenv_milter_stop(daemon, spec);
	tenv_command(&r, dir, "--report --json rblmilter.log", "/dev/null");
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "\"sessions\": 20,"));
	fast = report_p50(r.out, "fast.test", 20);
	slow = report_p50(r.out, "slow.test", 20);
	tenv_report("zone_ms", "p50 fast.test %lu ms, slow.test (200 ms "
		    "later) %lu ms", fast, slow);
	ck_assert_uint_ge(slow, 200);
	ck_assert_uint_lt(fast, slow);
	tenv_stop(dnsdelay);
	tenv_stop(rbldnsd);
	free(argv[3]);
	free(log);
	tenv_rmdir(dir);
}
END_TEST

static Suite *
report_suite(void)
{
	Suite  *suite = suite_create("report");
	TCase  *tc = tcase_create("report");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_parse_fields);
	tcase_add_test(tc, test_parse_rejects);
	tcase_add_test(tc, test_zones);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_report_greylist);
	tcase_add_test(tc, test_report_text);
	tcase_add_test(tc, test_report_names);
	tcase_add_test(tc, test_report_shadow);
	tcase_add_test(tc, test_report_decisive);
	tcase_add_test(tc, test_report_json);
	tcase_add_test(tc, test_report_empty);
	tcase_add_test(tc, test_report_bounds);
	tcase_add_test(tc, test_report_zone_times);
	tcase_add_test(tc, test_command);
	tcase_add_test(tc, test_daemon_zone_times);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(report_suite());
}
