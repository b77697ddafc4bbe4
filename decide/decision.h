/*
 * decision - what to answer an SMTP client at one stage of its session.
 *
 * One pure function of the lists that name the client, its DNSBL verdict,
 * the session's facts and the configuration.  The milter and the policy
 * service both call it; neither decides anything itself.  It does no I/O
 * and does not log: the caller logs the decision it gets.
 */
#ifndef RBL_DECIDE_DECISION_H
#define RBL_DECIDE_DECISION_H

#include <stdbool.h>
#include <stdint.h>

#include "stats/stats.h"

struct addr;
struct config;
struct verdict;

enum decision_action {
	DECISION_CONTINUE,		/* nothing to say now */
	DECISION_REJECT,		/* 5xx with code, dsn, text */
	DECISION_TEMPFAIL,		/* 4xx with code, dsn, text */
	DECISION_TAG,			/* accept, add header to the message */
	DECISION_RELAY_OK,		/* the client may relay (policy: OK) */
	DECISION_GREYLIST,		/* greylist the recipient: the front
					 * end asks the greylisting state,
					 * then decision_greylist() */
};

struct decision_facts {
	const struct addr *client;
	unsigned lists;			/* LIST_* flags */
	const struct verdict *verdict;	/* NULL: none (lists decided, or the
					 * lookup failed) */
	bool	authenticated;		/* SASL login ({auth_authen}) */
	int	stage;			/* enum config_stage: where we are */
	const char *recipient;		/* at RCPT, as the client gave it */
	const char *rcpt_mailer;	/* at RCPT, Postfix's transport, or
					 * NULL when Postfix sent none */
	bool	has_transport;		/* the front end hears the transport
					 * (the milter: {rcpt_mailer}); the
					 * policy service does not */
	bool	relay_question;		/* only "may it relay?" (the policy
					 * service asked with
					 * policy_context=relay) */
};

/*
 * Why: the rule that decided.  The first six say only "nothing to do
 * here" (decision_silent()); the order of the others is free.
 */
enum decision_reason {
	REASON_LATER,			/* before reject_stage */
	REASON_DECIDED,			/* after it */
	REASON_AUTHENTICATED,		/* SASL: never checked */
	REASON_EXEMPT,			/* exempt_recipients */
	REASON_RELAY_LIST,		/* the relay question: yes */
	REASON_RELAY_UNKNOWN,		/* the relay question: Postfix's rule */
	REASON_RELAY,			/* relay refused */
	REASON_RELAY_UNCHECKED,		/* no transport to check relaying */
	REASON_DENY_LIST,
	REASON_ALLOW_LIST,
	REASON_DNSWL,
	REASON_PASS,
	REASON_GREYLIST,		/* greylist_threshold <= score <
					 * dnsbl_threshold */
	REASON_DNS_FAILURE,		/* incomplete verdict, dns_failure_action */
	REASON_DNSBL,			/* at or over dnsbl_threshold */
	DECISION_REASONS		/* how many; stays last */
};

struct decision {
	enum decision_action action;
	enum decision_reason reason;
	bool	dry_run;		/* action = log: this is what it would do */
	const char *code;		/* "550", when REJECT or TEMPFAIL */
	const char *dsn;		/* "5.7.1" */
	char	text[512];		/* printable ASCII only */
	char	header[512];		/* X-RBL-Check value, when TAG */
	const char *missing;		/* a fact the rule needed and did not
					 * get ("{rcpt_mailer}"), or NULL */
	uint64_t decisive;		/* reason dnsbl: 1 << zone for each
					 * listing zone without which the
					 * client would have passed */
	bool	settled;		/* a pass that nothing later in the
					 * message can change: the client may
					 * relay (or was authenticated) and
					 * reject_stage is behind; a front end
					 * may stop asking (milter: accept) */
	bool	has_shadow;		/* the verdict has shadow zones: */
	int	shadow_kind;		/* enum decision_kind, had they been
					 * scored */
	int	greylist;		/* enum greylist_outcome, once asked */
	unsigned greylist_wait;		/* seconds, when new or early */
};

void	decide(const struct config *config, const struct decision_facts *facts,
	       struct decision *decision);

/*
 * The answer to a DECISION_GREYLIST decision once the greylisting state
 * said outcome (enum greylist_outcome) and wait: 451 4.7.1 for new and
 * early, with "RCPT: Recipient address rejected: " in front of the text
 * when recipient is not NULL (the policy service leaves it to Postfix,
 * which writes it); nothing to say for passed and off.
 */
void	decision_greylist(struct decision *decision, const char *recipient,
			  int outcome, unsigned wait);

/* What a decision did, for logs and counters (stats.h keeps the order). */
enum decision_kind {
	DECISION_KIND_REJECT,
	DECISION_KIND_TEMPFAIL,
	DECISION_KIND_TAG,
	DECISION_KIND_LOG,		/* action = log: would have rejected */
	DECISION_KIND_PASS,
	DECISION_KIND_ALLOW,		/* allow list or DNSWL */
	DECISION_KIND_RELAY,		/* relay refused */
	DECISION_KIND_GREYLIST,		/* greylisted (--check: would be) */
	DECISION_KINDS			/* how many; stays last */
};

enum decision_kind decision_kind(const struct decision *decision);

/*
 * "reject", "tempfail", "tag", "log", "pass", "allow", "relay" or
 * "greylist".
 */
const char *decision_kind_name(enum decision_kind kind);

/* The reason as the log writes it: "dnsbl", "relay-unchecked"... */
const char *decision_reason_name(enum decision_reason reason);

/*
 * Does the decision only say "nothing to do here"?  Then no front end
 * logs or counts it: the one rule for every front end.
 */
bool	decision_silent(const struct decision *decision);

/* The counter a decision adds to (stats.h). */
enum stats_counter decision_counter(const struct decision *decision);

#endif
