/*
 * check_decision - the decision rules, one by one, on hand-made verdicts:
 * authentication, relaying, exempt recipients, stages, lists, actions,
 * DNS failures and the reply texts.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists/lists.h"
#include "conf/config.h"
#include "decide/decision.h"
#include "dnsbl/verdict.h"
#include "greylist/greylist.h"
#include "lib/addr.h"
#include "lib/kvline.h"
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

/* A configuration with bl.test*3 and wl.test*-5, plus extra lines. */
static struct config *
configure(const char *extra)
{
	struct config *config;
	char	text[1024];
	char	err[CONFIG_ERR_SIZE];
	char   *path;

	snprintf(text, sizeof(text), "dnsbl_sites = bl.test*3, wl.test*-5\n"
		 "dnsbl_threshold = 3\ndnsbl_allowlist_threshold = -1\n%s",
		 extra);
	path = tenv_write(dir, "rblmilter.conf", text);
	ck_assert_msg(config_load(path, &config, err, sizeof(err)) == 0, "%s",
		      err);
	free(path);
	return config;
}

/* A verdict: bl.test listed (127.0.0.2, with text) when listed is set. */
static struct verdict *
verdict(bool listed, bool dnswl, bool complete, const char *text)
{
	struct verdict *v = verdict_create(2);

	v->zone[0].state = listed ? VERDICT_ZONE_LISTED : VERDICT_ZONE_PASS;
	if (listed) {
		v->zone[0].score = 3;
		v->zone[0].answer_count = 1;
		memcpy(v->zone[0].answer[0], "\x7f\0\0\x02", 4);
		v->zone[0].text = text ? strdup(text) : NULL;
	}
	v->zone[1].state = dnswl ? VERDICT_ZONE_LISTED : complete ?
	    VERDICT_ZONE_PASS : VERDICT_ZONE_UNKNOWN;
	v->zone[1].score = dnswl ? -5 : 0;
	v->score = v->zone[0].score + v->zone[1].score;
	v->complete = complete;
	return v;
}

/*
 * Decide for 127.0.0.2 at stage, with recipient/mailer at RCPT, logged
 * in with SASL or not.
 */
static void
run_as(const struct config *config, const struct verdict *v, unsigned lists,
       bool authenticated, int stage, const char *rcpt, const char *mailer,
       struct decision *d)
{
	struct decision_facts facts = {0};
	struct addr client;

	ck_assert_int_eq(addr_parse("127.0.0.2", &client), 0);
	facts.client = &client;
	facts.lists = lists;
	facts.verdict = v;
	facts.authenticated = authenticated;
	facts.stage = stage;
	facts.recipient = rcpt;
	facts.rcpt_mailer = mailer;
	facts.has_transport = true;
	decide(config, &facts, d);
}

/* Decide for 127.0.0.2, not authenticated (run_as()). */
static void
run(const struct config *config, const struct verdict *v, unsigned lists,
    int stage, const char *rcpt, const char *mailer, struct decision *d)
{
	run_as(config, v, lists, false, stage, rcpt, mailer, d);
}

/* Assert a reply. */
static void
assert_reply(const struct decision *d, enum decision_action action,
	     const char *reason, const char *code, const char *dsn,
	     const char *text)
{
	ck_assert_int_eq(d->action, action);
	ck_assert_str_eq(decision_reason_name(d->reason), reason);
	ck_assert_str_eq(d->code, code);
	ck_assert_str_eq(d->dsn, dsn);
	ck_assert_str_eq(d->text, text);
}

START_TEST(test_listed)
{
	struct config *config = configure("");
	struct verdict *v = verdict(true, false, true, "see\r\nX: evil");
	struct decision d;

	run(config, v, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	/* TXT text appended, with its CR LF made harmless. */
	assert_reply(&d, DECISION_REJECT, "dnsbl", "550", "5.7.1",
		     "Service unavailable; client [127.0.0.2] blocked using "
		     "bl.test; see??X: evil");
	/* bl.test alone made the score: the rejection needed it. */
	ck_assert_uint_eq(d.decisive, 1);
	/* Before reject_stage: later. */
	run(config, v, 0, STAGE_MAIL, NULL, NULL, &d);
	ck_assert_int_eq(d.action, DECISION_CONTINUE);
	ck_assert_str_eq(decision_reason_name(d.reason), "later");
	verdict_free(v);
	config_free(config);
}
END_TEST

/* A verdict of score, complete, from bl.test alone. */
static struct verdict *
scored(int score)
{
	struct verdict *v = verdict(false, false, true, NULL);

	v->zone[0].state = score > 0 ? VERDICT_ZONE_LISTED : VERDICT_ZONE_PASS;
	v->zone[0].score = v->score = score;
	return v;
}

START_TEST(test_greylist)
{
	struct config *config = configure("greylist_threshold = 1\n");
	struct verdict *grey = scored(2);
	struct verdict *clean = scored(0);
	struct verdict *listed = scored(3);
	struct decision d;

	/* Under dnsbl_threshold, at or over greylist_threshold, at RCPT. */
	run(config, grey, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_int_eq(d.action, DECISION_GREYLIST);
	ck_assert_str_eq(decision_reason_name(d.reason), "greylist");
	ck_assert_str_eq(decision_kind_name(decision_kind(&d)), "greylist");
	ck_assert_int_eq(decision_counter(&d), STATS_ACTION_GREYLIST);
	/* The state's answers: new and early defer, passed and off accept. */
	decision_greylist(&d, "<u@example.com>", GREYLIST_NEW, 300);
	assert_reply(&d, DECISION_TEMPFAIL, "greylist", "451", "4.7.1",
		     "<u@example.com>: Recipient address rejected: "
		     "Greylisted, try again in 300 seconds");
	ck_assert_str_eq(decision_kind_name(decision_kind(&d)), "greylist");
	ck_assert_uint_eq(d.greylist_wait, 300);
	run(config, grey, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	decision_greylist(&d, NULL, GREYLIST_EARLY, 12);
	assert_reply(&d, DECISION_TEMPFAIL, "greylist", "451", "4.7.1",
		     "Greylisted, try again in 12 seconds");
	run(config, grey, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	decision_greylist(&d, "<u@example.com>", GREYLIST_PASSED, 0);
	ck_assert_int_eq(d.action, DECISION_CONTINUE);
	ck_assert_str_eq(decision_kind_name(decision_kind(&d)), "pass");
	ck_assert_int_eq(d.greylist, GREYLIST_PASSED);
	ck_assert(!decision_silent(&d));
	run(config, grey, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	decision_greylist(&d, "<u@example.com>", GREYLIST_OFF, 0);
	ck_assert_int_eq(d.action, DECISION_CONTINUE);
	/* Clean and listed clients are not greylisted. */
	run(config, clean, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "pass");
	run(config, listed, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_int_eq(d.action, DECISION_REJECT);
	/* Never relay-listed, authenticated, allow-listed, exempt. */
	run(config, grey, LIST_RELAY, STAGE_RCPT, "<u@example.com>", "relay",
	    &d);
	ck_assert_int_eq(d.action, DECISION_CONTINUE);
	ck_assert_str_eq(decision_reason_name(d.reason), "pass");
	run(config, grey, LIST_ALLOW, STAGE_RCPT, "<u@example.com>", "local",
	    &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "allow-list");
	run(config, grey, 0, STAGE_RCPT, "<postmaster@example.com>", "local",
	    &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "exempt");
	run_as(config, grey, 0, true, STAGE_RCPT, "<u@example.com>", "local",
	       &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "authenticated");
	/* Without a recipient (--check), at RCPT: greylist all the same. */
	run(config, grey, 0, STAGE_RCPT, NULL, NULL, &d);
	ck_assert_int_eq(d.action, DECISION_GREYLIST);
	config_free(config);

	/* action = greylist: listed clients too; off, a grey one passes. */
	config = configure("action = greylist\n");
	run(config, listed, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_int_eq(d.action, DECISION_GREYLIST);
	ck_assert_str_eq(decision_reason_name(d.reason), "dnsbl");
	run(config, listed, LIST_RELAY, STAGE_RCPT, "<u@example.com>", "relay",
	    &d);
	ck_assert_int_eq(d.action, DECISION_CONTINUE);
	run(config, grey, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "pass");
	config_free(config);
	verdict_free(grey);
	verdict_free(clean);
	verdict_free(listed);
}
END_TEST

START_TEST(test_actions)
{
	struct verdict *v = verdict(true, false, true, NULL);
	struct config *config;
	struct decision d;

	config = configure("action = tempfail\nreject_stage = helo\n"
			   "reject_text = Go away [$client] ($zone, $score)\n");
	run(config, v, 0, STAGE_HELO, NULL, NULL, &d);
	assert_reply(&d, DECISION_TEMPFAIL, "dnsbl", "451", "4.7.1",
		     "Go away [127.0.0.2] (bl.test, 3)");
	run(config, v, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "decided");
	config_free(config);
	config = configure("action = tag\n");
	run(config, v, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_int_eq(d.action, DECISION_TAG);
	ck_assert_str_eq(decision_reason_name(d.reason), "dnsbl");
	ck_assert_str_eq(d.header, "score=3 listed=bl.test(127.0.0.2)");
	config_free(config);
	config = configure("action = log\n");
	run(config, v, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_int_eq(d.action, DECISION_CONTINUE);
	ck_assert(d.dry_run);
	ck_assert_str_eq(decision_reason_name(d.reason), "dnsbl");
	ck_assert_str_eq(d.code, "550");
	config_free(config);
	verdict_free(v);
}
END_TEST

START_TEST(test_lists_and_dnswl)
{
	struct config *config = configure("");
	struct verdict *listed = verdict(true, false, true, NULL);
	struct verdict *both = verdict(true, true, true, NULL);
	struct decision d;

	run(config, NULL, LIST_DENY, STAGE_RCPT, "<u@example.com>", "local",
	    &d);
	assert_reply(&d, DECISION_REJECT, "deny-list", "550", "5.7.1",
		     "Service unavailable; client [127.0.0.2] blocked by "
		     "local policy");
	run(config, NULL, LIST_ALLOW, STAGE_RCPT, "<u@example.com>", "local",
	    &d);
	ck_assert_int_eq(d.action, DECISION_CONTINUE);
	ck_assert_str_eq(decision_reason_name(d.reason), "allow-list");
	/* Listed (3) and on the DNSWL (-5): score -2, trusted. */
	run(config, both, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_int_eq(d.action, DECISION_CONTINUE);
	ck_assert_str_eq(decision_reason_name(d.reason), "dnswl");
	/* Authenticated clients are never checked. */
	run_as(config, listed, LIST_DENY, true, STAGE_RCPT,
	       "<u@elsewhere.example>", "smtp", &d);
	ck_assert_int_eq(d.action, DECISION_CONTINUE);
	ck_assert_str_eq(decision_reason_name(d.reason), "authenticated");
	verdict_free(listed);
	verdict_free(both);
	config_free(config);
}
END_TEST

START_TEST(test_relay)
{
	struct config *config = configure("action = log\n");
	struct verdict *clean = verdict(false, false, true, NULL);
	struct decision d;

	run(config, clean, 0, STAGE_RCPT, "<u@elsewhere.example>", "smtp", &d);
	assert_reply(&d, DECISION_REJECT, "relay", "554", "5.7.1",
		     "<u@elsewhere.example>: Relay access denied");
	/* Exempt recipients are no way to relay. */
	run(config, clean, 0, STAGE_RCPT, "<postmaster@elsewhere.example>",
	    "relay", &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "relay");
	run(config, clean, LIST_RELAY, STAGE_RCPT, "<u@elsewhere.example>",
	    "smtp", &d);
	ck_assert_int_eq(d.action, DECISION_CONTINUE);
	ck_assert_str_eq(decision_reason_name(d.reason), "pass");
	run(config, clean, 0, STAGE_RCPT, "<u@here.example>", "lmtp", &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "pass");
	/* Postfix service names are case-sensitive: LMTP is another one. */
	run(config, clean, 0, STAGE_RCPT, "<u@here.example>", "LMTP", &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "relay");
	config_free(config);
	config = configure("relay_policy = off\n");
	run(config, clean, 0, STAGE_RCPT, "<u@elsewhere.example>", "smtp", &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "pass");
	config_free(config);
	verdict_free(clean);
}
END_TEST

/*
 * A pass is settled (the milter may accept the rest of the message) only
 * when no rule can refuse anything later: the client may relay (relay
 * list, relay_policy = off) or is authenticated, and reject_stage is
 * behind; never before reject_stage, for an exempt recipient, a tag, a
 * refusal, or a client that may not relay.
 */
START_TEST(test_settled)
{
	struct config *config = configure("reject_stage = helo\n");
	struct config *off = configure("reject_stage = helo\n"
				       "relay_policy = off\n");
	struct config *tag = configure("reject_stage = helo\n"
				       "relay_policy = off\naction = tag\n");
	struct verdict *clean = verdict(false, false, true, NULL);
	struct verdict *listed = verdict(true, false, true, NULL);
	struct decision_facts facts = {0};
	struct decision d;
	struct addr client;

	run(config, clean, 0, STAGE_HELO, NULL, NULL, &d);
	ck_assert(!d.settled);
	run(config, clean, 0, STAGE_RCPT, "<u@here.example>", "lmtp", &d);
	ck_assert(!d.settled);
	run(config, clean, LIST_RELAY, STAGE_CONNECT, NULL, NULL, &d);
	ck_assert(!d.settled);
	run(config, clean, LIST_RELAY, STAGE_HELO, NULL, NULL, &d);
	ck_assert(d.settled);
	run(config, clean, LIST_RELAY | LIST_ALLOW, STAGE_HELO, NULL, NULL, &d);
	ck_assert(d.settled);
	run(config, listed, LIST_RELAY, STAGE_HELO, NULL, NULL, &d);
	ck_assert(!d.settled);
	run(off, clean, 0, STAGE_HELO, NULL, NULL, &d);
	ck_assert(d.settled);
	run(off, clean, 0, STAGE_RCPT, "<u@elsewhere.example>", "smtp", &d);
	ck_assert(d.settled);
	run(off, listed, 0, STAGE_RCPT, "<postmaster@here.example>", "lmtp",
	    &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "exempt");
	ck_assert(!d.settled);
	run(tag, listed, 0, STAGE_HELO, NULL, NULL, &d);
	ck_assert_int_eq(d.action, DECISION_TAG);
	ck_assert(!d.settled);
	ck_assert_int_eq(addr_parse("127.0.0.2", &client), 0);
	facts.client = &client;
	facts.stage = STAGE_RCPT;
	facts.recipient = "<u@elsewhere.example>";
	facts.rcpt_mailer = "smtp";
	facts.has_transport = true;
	facts.authenticated = true;
	decide(config, &facts, &d);
	ck_assert(d.settled);
	config_free(config);
	config_free(off);
	config_free(tag);
	verdict_free(clean);
	verdict_free(listed);
}
END_TEST

/*
 * No {rcpt_mailer} from Postfix: the relay rule cannot be decided, so a
 * client that may not relay gets 451 4.3.5, never a pass; the decision
 * names the macro for the milter's warning.
 */
START_TEST(test_relay_fails_closed)
{
	struct config *config = configure("action = log\n");
	struct verdict *clean = verdict(false, false, true, NULL);
	struct decision_facts facts = {0};
	struct decision d;
	struct addr client;

	run(config, clean, 0, STAGE_RCPT, "<u@elsewhere.example>", NULL, &d);
	assert_reply(&d, DECISION_TEMPFAIL, "relay-unchecked", "451", "4.3.5",
		     "<u@elsewhere.example>: Relay access cannot be checked: "
		     "server configuration problem");
	ck_assert_str_eq(d.missing, "{rcpt_mailer}");
	ck_assert_int_eq(decision_kind(&d), DECISION_KIND_TEMPFAIL);
	/* Exempt recipients are no way around it either. */
	run(config, clean, 0, STAGE_RCPT, "<postmaster@elsewhere.example>",
	    NULL, &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "relay-unchecked");
	/* A relay client needs no transport; neither does relay_policy = off. */
	run(config, clean, LIST_RELAY, STAGE_RCPT, "<u@elsewhere.example>",
	    NULL, &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "pass");
	ck_assert_ptr_null(d.missing);
	config_free(config);
	config = configure("relay_policy = off\n");
	run(config, clean, 0, STAGE_RCPT, "<u@elsewhere.example>", NULL, &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "pass");
	/* The policy service hears no transport by design: Postfix's rule. */
	config_free(config);
	config = configure("");
	ck_assert_int_eq(addr_parse("127.0.0.2", &client), 0);
	facts.client = &client;
	facts.verdict = clean;
	facts.stage = STAGE_RCPT;
	facts.recipient = "<u@elsewhere.example>";
	decide(config, &facts, &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "pass");
	config_free(config);
	verdict_free(clean);
}
END_TEST

START_TEST(test_relay_question)
{
	struct config *config = configure("");
	struct decision_facts facts = {0};
	struct decision d;
	struct addr client;

	ck_assert_int_eq(addr_parse("192.0.2.1", &client), 0);
	facts.client = &client;
	facts.stage = STAGE_RCPT;
	facts.recipient = "<u@elsewhere.example>";
	facts.relay_question = true;
	decide(config, &facts, &d);
	ck_assert_int_eq(d.action, DECISION_CONTINUE);
	ck_assert_str_eq(decision_reason_name(d.reason), "relay-unknown");
	facts.lists = LIST_RELAY | LIST_DENY;
	decide(config, &facts, &d);
	ck_assert_int_eq(d.action, DECISION_RELAY_OK);
	ck_assert_str_eq(decision_reason_name(d.reason), "relay-list");
	facts.lists = 0;
	facts.authenticated = true;
	decide(config, &facts, &d);
	ck_assert_int_eq(d.action, DECISION_RELAY_OK);
	ck_assert_str_eq(decision_reason_name(d.reason), "authenticated");
	config_free(config);
}
END_TEST

START_TEST(test_exempt)
{
	struct config *config = configure("exempt_recipients = postmaster, "
					  "Abuse hostmaster\n");
	struct verdict *v = verdict(true, false, true, NULL);
	struct decision d;

	run(config, v, 0, STAGE_RCPT, "<ABUSE@example.com>", "local", &d);
	ck_assert_int_eq(d.action, DECISION_CONTINUE);
	ck_assert_str_eq(decision_reason_name(d.reason), "exempt");
	run(config, v, LIST_DENY, STAGE_RCPT, "<hostmaster@example.com>",
	    "virtual", &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "exempt");
	run(config, v, 0, STAGE_RCPT, "<abusive@example.com>", "local", &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "dnsbl");
	run(config, v, 0, STAGE_RCPT, "postmaster", "local", &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "exempt");
	verdict_free(v);
	config_free(config);
}
END_TEST

START_TEST(test_dns_failure)
{
	struct config *config = configure("");
	struct verdict *partial = verdict(false, false, false, NULL);
	struct decision d;

	run(config, partial, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_int_eq(d.action, DECISION_CONTINUE);
	ck_assert_str_eq(decision_reason_name(d.reason), "dns-failure");
	run(config, NULL, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "dns-failure");
	config_free(config);
	config = configure("dns_failure_action = tempfail\n");
	run(config, partial, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	assert_reply(&d, DECISION_TEMPFAIL, "dns-failure", "451", "4.7.1",
		     "Service temporarily unavailable; client [127.0.0.2] "
		     "could not be checked");
	config_free(config);
	verdict_free(partial);
}
END_TEST

/* A verdict of rhsbl_sites' two zones on a name: dbl.test lists it with
 * last (127.0.1.last) when last is not 0; zrd.test passes or is unknown. */
static struct verdict *
name_verdict(unsigned last, bool complete)
{
	struct verdict *v = verdict_create(2);

	v->zone[0].state = last ? VERDICT_ZONE_LISTED : VERDICT_ZONE_PASS;
	if (last) {
		v->zone[0].answer_count = 1;
		memcpy(v->zone[0].answer[0], "\x7f\0\x01\0", 4);
		v->zone[0].answer[0][3] = (unsigned char) last;
		v->zone[0].has_ttl = true;
		v->zone[0].ttl = 50;
	}
	v->zone[1].state = complete ? VERDICT_ZONE_PASS : VERDICT_ZONE_UNKNOWN;
	v->ttl = 50;
	v->complete = complete;
	return v;
}

/* The listed= and unknown= of a joined verdict, as logs print them. */
static const char *
listed(const struct config *config, const struct verdict *v)
{
	static char text[512];
	struct kvline *line = kvline_create();

	ck_assert_ptr_nonnull(line);
	verdict_format(v, config->scored_sites, line);
	snprintf(text, sizeof(text), "%s", kvline_text(line));
	kvline_free(line);
	*strstr(text, " ttl=") = 0;
	return text;
}

START_TEST(test_names)
{
	struct config *config = configure("rhsbl_sites = "
		"dbl.test=127.0.1.[2..99]*3, dbl.test=127.0.1.3*2, zrd.test\n");
	struct verdict *ip = verdict(false, false, true, NULL);
	struct verdict *dnswl = verdict(false, true, true, NULL);
	struct verdict *spam = name_verdict(2, true);
	struct verdict *spam3 = name_verdict(3, true);
	struct verdict *clean = name_verdict(0, true);
	struct verdict *partial = name_verdict(0, false);
	struct verdict *listed_ip;
	struct verdict_name names[3] = {
		{DOMAIN_HELO, "mail.example", clean},
		{DOMAIN_SENDER, "spam.example", spam},
		{DOMAIN_CLIENT, "spam.example", spam},
	};
	struct verdict *v;
	struct decision d;

	ip->ttl = dnswl->ttl = 100;
	/* A clean IP and a listed sender domain: rejected, naming both. */
	ck_assert_ptr_nonnull(v = verdict_join(ip, config->rhsbl_sites,
					       names, 2));
	ck_assert_int_eq(v->score, 3);
	ck_assert_uint_eq(v->ttl, 50);
	ck_assert(v->complete);
	ck_assert_str_eq(listed(config, v), "score=3 listed=dbl.test[sender="
			 "spam.example](127.0.1.2) unknown=");
	run(config, v, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	assert_reply(&d, DECISION_REJECT, "dnsbl", "550", "5.7.1",
		     "Service unavailable; sender domain spam.example blocked "
		     "using dbl.test");
	verdict_free(v);
	/* Listed under two names, the zone counts once. */
	ck_assert_ptr_nonnull(v = verdict_join(ip, config->rhsbl_sites,
					       names, 3));
	ck_assert_int_eq(v->score, 3);
	ck_assert_str_eq(listed(config, v), "score=3 listed=dbl.test[sender="
			 "spam.example](127.0.1.2),dbl.test[client=spam.example]"
			 "(127.0.1.2) unknown=");
	verdict_free(v);
	/* ... each of its sites once, on the answers of all names. */
	names[0].verdict = spam3;
	ck_assert_ptr_nonnull(v = verdict_join(ip, config->rhsbl_sites,
					       names, 2));
	ck_assert_int_eq(v->score, 5);
	run(config, v, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_uint_eq(d.decisive, 1u << 2);
	verdict_free(v);
	/* Two zones that could each decide: neither was needed. */
	listed_ip = verdict(true, false, true, NULL);
	listed_ip->ttl = 100;
	ck_assert_ptr_nonnull(v = verdict_join(listed_ip, config->rhsbl_sites,
					       names + 1, 1));
	run(config, v, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "dnsbl");
	ck_assert_uint_eq(d.decisive, 0);
	verdict_free(v);
	verdict_free(listed_ip);
	/* A listed HELO beside a DNSWL entry: the weights decide. */
	names[0].verdict = spam;
	ck_assert_ptr_nonnull(v = verdict_join(dnswl, config->rhsbl_sites,
					       names, 1));
	ck_assert_int_eq(v->score, -2);
	run(config, v, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "dnswl");
	verdict_free(v);
	/* A name whose lookup did not answer leaves its zones unknown. */
	names[0].verdict = NULL;
	names[1].verdict = partial;
	ck_assert_ptr_nonnull(v = verdict_join(ip, config->rhsbl_sites,
					       names, 2));
	ck_assert(!v->complete);
	ck_assert_str_eq(listed(config, v), "score=0 listed= "
			 "unknown=dbl.test(timeout),zrd.test(timeout)");
	verdict_free(v);
	/* $name and $role in reject_text. */
	config_free(config);
	config = configure("rhsbl_sites = dbl.test*3\n"
			   "reject_text = $role=$name via $zone\n");
	names[1].verdict = spam;
	ck_assert_ptr_nonnull(v = verdict_join(ip, config->rhsbl_sites,
					       names + 1, 1));
	run(config, v, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_str_eq(d.text, "sender domain=spam.example via dbl.test");
	verdict_free(v);
	v = verdict(true, false, true, NULL);
	run(config, v, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_str_eq(d.text, "client=[127.0.0.2] via bl.test");
	verdict_free(v);
	verdict_free(ip);
	verdict_free(dnswl);
	verdict_free(spam);
	verdict_free(spam3);
	verdict_free(clean);
	verdict_free(partial);
	config_free(config);
}
END_TEST

/*
 * zone_ms=: the zones asked in DNS, each with its time; a domain zone
 * once, with its slowest name's; none for a verdict from a cache.
 */
START_TEST(test_zone_times)
{
	struct config *config = configure("rhsbl_sites = dbl.test, "
					  "zrd.test\n");
	struct verdict *ip = verdict(false, false, true, NULL);
	struct verdict *helo = name_verdict(0, true);
	struct verdict *sender = name_verdict(2, true);
	struct verdict_name names[2] = {
		{DOMAIN_HELO, "mail.example", helo},
		{DOMAIN_SENDER, "spam.example", sender},
	};
	struct kvline *line;
	struct verdict *v;

	ck_assert_ptr_nonnull(v = verdict_join(ip, config->rhsbl_sites,
					       names, 2));
	ck_assert_ptr_nonnull(line = kvline_create());
	verdict_format(v, config->scored_sites, line);
	ck_assert_ptr_null(strstr(kvline_text(line), "zone_ms="));
	kvline_free(line);
	verdict_free(v);
	/* bl.test answered after 3.4 ms, wl.test was not asked (a zone out
	 * of scoring); dbl.test after 5 and 9.999 ms for the two names,
	 * zrd.test's answers came from the cache. */
	ip->zone[0].answer_us = 3400;
	helo->zone[0].answer_us = 5000;
	sender->zone[0].answer_us = 9999;
	ck_assert_ptr_nonnull(v = verdict_join(ip, config->rhsbl_sites,
					       names, 2));
	ck_assert_uint_eq(v->zone[2].answer_us, 9999);
	ck_assert_ptr_nonnull(line = kvline_create());
	verdict_format(v, config->scored_sites, line);
	ck_assert_str_eq(kvline_text(line), "score=1 listed=dbl.test[sender="
			 "spam.example](127.0.1.2) unknown= ttl=0 dns_ms=0 "
			 "zone_ms=bl.test(3),dbl.test(9)");
	kvline_free(line);
	verdict_free(v);
	verdict_free(ip);
	verdict_free(helo);
	verdict_free(sender);
	config_free(config);
}
END_TEST

/*
 * Shadow zones: asked, never scored; the decision says what it would
 * have been with them scored, and nothing else changes.
 */
START_TEST(test_shadow)
{
	struct config *config = configure("dnsbl_shadow_sites = sh.test*3\n");
	struct verdict *v = verdict_create(3);
	struct decision d;
	struct kvline *line;
	char	err[CONFIG_ERR_SIZE];
	char   *path;

	v->zone[0].state = v->zone[1].state = VERDICT_ZONE_PASS;
	v->zone[2].state = VERDICT_ZONE_LISTED;
	v->zone[2].score = 3;
	v->zone[2].answer_count = 1;
	memcpy(v->zone[2].answer[0], "\x7f\0\0\x02", 4);
	verdict_sum(v, config->scored_sites);
	ck_assert(v->zone[2].shadow);
	ck_assert_int_eq(v->score, 0);
	ck_assert(v->complete);
	ck_assert_int_eq(verdict_top_zone(v), -1);
	run(config, v, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_int_eq(d.action, DECISION_CONTINUE);
	ck_assert_str_eq(decision_reason_name(d.reason), "pass");
	ck_assert(d.has_shadow);
	ck_assert_str_eq(decision_kind_name(d.shadow_kind), "reject");
	ck_assert_ptr_nonnull(line = kvline_create());
	verdict_format(v, config->scored_sites, line);
	ck_assert_str_eq(kvline_text(line), "score=0 listed= unknown= "
			 "shadow=sh.test(127.0.0.2) ttl=0 dns_ms=0");
	kvline_free(line);
	/* A shadow zone that did not answer leaves the decision complete. */
	v->zone[2].state = VERDICT_ZONE_UNKNOWN;
	v->zone[2].score = 0;
	verdict_sum(v, config->scored_sites);
	ck_assert(v->complete);
	config_free(config);
	config = configure("dnsbl_shadow_sites = sh.test*3\n"
			   "dns_failure_action = tempfail\n");
	run(config, v, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert_str_eq(decision_reason_name(d.reason), "pass");
	ck_assert_str_eq(decision_kind_name(d.shadow_kind), "tempfail");
	/* Without shadow zones, no shadow decision. */
	verdict_free(v);
	v = verdict(true, false, true, NULL);
	run(config, v, 0, STAGE_RCPT, "<u@example.com>", "local", &d);
	ck_assert(!d.has_shadow);
	verdict_free(v);
	config_free(config);
	/* A zone both scored and shadow is a mistake. */
	path = tenv_write(dir, "bad.conf", "dnsbl_sites = bl.test\n"
			  "dnsbl_shadow_sites = BL.test.*2\n");
	ck_assert_int_lt(config_load(path, &config, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "zone bl.test is both scored (dnsbl_sites) "
			     "and a shadow zone") != NULL, "%s", err);
	free(path);
}
END_TEST

static Suite *
decision_suite(void)
{
	Suite  *suite = suite_create("decision");
	TCase  *tc = tcase_create("decision");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_listed);
	tcase_add_test(tc, test_actions);
	tcase_add_test(tc, test_greylist);
	tcase_add_test(tc, test_lists_and_dnswl);
	tcase_add_test(tc, test_relay);
	tcase_add_test(tc, test_settled);
	tcase_add_test(tc, test_relay_fails_closed);
	tcase_add_test(tc, test_relay_question);
	tcase_add_test(tc, test_exempt);
	tcase_add_test(tc, test_dns_failure);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_shadow);
	tcase_add_test(tc, test_zone_times);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(decision_suite());
}
