/*
 * decision - what to answer an SMTP client at one stage of its session.
 *
 * The order of the rules is the policy, so it is written once, here:
 *  1. an authenticated client (SASL) is never checked;
 *  2. at RCPT, a client that may not relay is refused a recipient that
 *     Postfix would deliver elsewhere; then exempt recipients (postmaster,
 *     abuse) are accepted whatever the lists and DNSBLs say;
 *  3. at reject_stage only: the deny list rejects, the allow list accepts,
 *     then the verdict: at or over dnsbl_threshold the configured action,
 *     at or under a negative dnsbl_allowlist_threshold accept, and an
 *     incomplete verdict under the threshold gets dns_failure_action;
 *  4. greylisting, at RCPT only: a score from greylist_threshold up to
 *     under dnsbl_threshold, or a listed client with action = greylist,
 *     makes a DECISION_GREYLIST, which the front end settles with the
 *     greylisting state (decision_greylist()); never for a client on the
 *     relay list (authenticated, allow-listed and exempt recipients
 *     never get this far).
 * A pass is settled when none of these rules can refuse or greylist
 * anything later in the message: the client was authenticated, or it may
 * relay and its reject_stage is behind (an exempt recipient settles
 * nothing: the next one may be refused).
 * Relay refusals ignore "action = log": a dry run of the DNSBL policy must
 * not turn the server into an open relay.  For the same reason the relay
 * rule fails closed: when the milter gets no {rcpt_mailer} for a client
 * that may not relay, the recipient gets 451 4.3.5 (and the decision
 * names the missing macro for the caller to warn about), never a pass.
 *
 * The policy protocol carries no transport, so the policy service cannot
 * apply rule 2 itself; instead Postfix asks it, from
 * smtpd_relay_restrictions with policy_context=relay, only whether the
 * client may relay, and leaves refusing to reject_unauth_destination.
 */
#include <stdio.h>
#include <string.h>

#include "lists/lists.h"
#include "stats/stats.h"
#include "conf/config.h"
#include "decide/decision.h"
#include "dnsbl/site.h"
#include "greylist/greylist.h"
#include "dnsbl/verdict.h"
#include "lib/addr.h"
#include "lib/domain.h"
#include "lib/kvline.h"

/* Copy src to dst, keeping printable ASCII only (no reply injection). */
static void
decision_append(char *dst, size_t size, const char *src)
{
	size_t	len = strlen(dst);

	for (; *src && len + 1 < size; src++)
		dst[len++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	dst[len] = 0;
}

/* Set a reply. */
static void
decision_reply(struct decision *decision, enum decision_action action,
	       enum decision_reason reason, const char *code, const char *dsn,
	       const char *text)
{
	decision->action = action;
	decision->reason = reason;
	decision->code = code;
	decision->dsn = dsn;
	decision->text[0] = 0;
	decision_append(decision->text, sizeof(decision->text), text);
}

/*
 * reject_text with $client, $zone, $score, $name and $role filled in,
 * plus any TXT.  $role and $name say what the top zone listed: "client"
 * and "[192.0.2.1]" for an IP zone, as Postfix's "Client host [...]";
 * "sender domain" and the name for a domain zone (its first name).
 */
static void
decision_expand(const struct config *config, const struct decision_facts *facts,
		char *out, size_t size)
{
	const struct verdict *verdict = facts->verdict;
	int	zone = verdict_top_zone(verdict);
	const struct verdict_hit *hit = zone < 0 || verdict->zone[zone].hit_count
	    == 0 ? NULL : verdict->zone[zone].hits;
	char	ip[ADDR_TEXT_SIZE];
	char	bracketed[ADDR_TEXT_SIZE + 2];
	char	score[16];
	const struct {
		const char *name;
		const char *value;
	} vars[] = {
		{"$client", addr_format(facts->client, ip)},
		{"$zone", zone < 0 ? "DNSBL"
		 : dnsbl_sites_zone(config->scored_sites, (size_t) zone)},
		{"$score", score},
		{"$name", hit != NULL ? hit->name : bracketed},
		{"$role", hit != NULL ? domain_role_phrase(hit->role) : "client"},
	};
	const char *cp;
	char	plain[2] = "";
	size_t	i;

	snprintf(score, sizeof(score), "%d", verdict->score);
	snprintf(bracketed, sizeof(bracketed), "[%s]", ip);
	out[0] = 0;
	for (cp = config->reject_text; *cp; ) {
		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
			if (strncmp(cp, vars[i].name, strlen(vars[i].name)) == 0)
				break;
		if (i < sizeof(vars) / sizeof(vars[0])) {
			decision_append(out, size, vars[i].value);
			cp += strlen(vars[i].name);
		} else {
			plain[0] = *cp++;
			decision_append(out, size, plain);
		}
	}
	if (zone >= 0 && verdict->zone[zone].text != NULL) {
		decision_append(out, size, "; ");
		decision_append(out, size, verdict->zone[zone].text);
	}
}

/*
 * May this decision greylist: at RCPT (--check judges as there, without
 * a recipient), a client not on the relay list?
 */
static bool
decision_greylistable(const struct decision_facts *facts)
{
	return facts->stage == STAGE_RCPT && !(facts->lists & LIST_RELAY);
}

/* The configured action for a client the DNSBLs list. */
static void
decision_listed(const struct config *config,
		const struct decision_facts *facts, struct decision *decision)
{
	struct kvline *line;
	char	text[512];

	decision_expand(config, facts, text, sizeof(text));
	decision->reason = REASON_DNSBL;
	switch (config->action) {
	case ACTION_TEMPFAIL:
		decision_reply(decision, DECISION_TEMPFAIL, REASON_DNSBL, "451",
			       "4.7.1", text);
		return;
	case ACTION_TAG:
		decision->action = DECISION_TAG;
		if ((line = kvline_create()) != NULL) {
			kvline_key(line, "score");
			kvline_printf(line, "%d", facts->verdict->score);
			kvline_key(line, "listed");
			verdict_listed(facts->verdict, config->scored_sites,
				       line);
			if (kvline_text(line) != NULL)
				decision_append(decision->header,
						sizeof(decision->header),
						kvline_text(line));
			kvline_free(line);
		}
		return;
	case ACTION_GREYLIST:
		if (decision_greylistable(facts))
			decision->action = DECISION_GREYLIST;
		return;
	case ACTION_LOG:
		decision->dry_run = true;
		/* FALLTHROUGH */
	case ACTION_REJECT:
		decision_reply(decision, DECISION_REJECT, REASON_DNSBL, "550",
			       "5.7.1", text);
		if (decision->dry_run)
			decision->action = DECISION_CONTINUE;
		return;
	}
}

/*
 * The verdict's rules, on a score and a completeness: the verdict's own,
 * or what they would be with the shadow zones scored.
 */
static void
decision_scored(const struct config *config,
		const struct decision_facts *facts, int score, bool complete,
		struct decision *decision)
{
	char	text[512];
	char	ip[ADDR_TEXT_SIZE];

	switch (verdict_rank(score, config->dnsbl_threshold,
			     config->dnsbl_allowlist_threshold)) {
	case VERDICT_REJECT:
		decision_listed(config, facts, decision);
		return;
	case VERDICT_ALLOW:
		decision->reason = REASON_DNSWL;
		return;
	case VERDICT_PASS:
		break;
	}
	if (config->greylist_threshold > 0 && score >= config->greylist_threshold
	    && decision_greylistable(facts)) {
		decision->action = DECISION_GREYLIST;
		decision->reason = REASON_GREYLIST;
		return;
	}
	if (complete) {
		decision->reason = REASON_PASS;
		return;
	}
	decision->reason = REASON_DNS_FAILURE;
	if (config->dns_failure_action == FAILURE_TEMPFAIL) {
		snprintf(text, sizeof(text), "Service temporarily unavailable; "
			 "client [%s] could not be checked",
			 addr_format(facts->client, ip));
		decision_reply(decision, DECISION_TEMPFAIL, REASON_DNS_FAILURE,
			       "451", "4.7.1", text);
	}
}

/*
 * What the decision would have been with the shadow zones scored, when
 * the verdict has any: its kind in shadow_kind.
 */
static void
decision_shadow(const struct config *config,
		const struct decision_facts *facts, struct decision *decision)
{
	struct decision shadow;
	bool	complete;
	int	score;

	if (!verdict_shadow(facts->verdict, &score, &complete))
		return;
	memset(&shadow, 0, sizeof(shadow));
	decision_scored(config, facts, score, complete, &shadow);
	decision->has_shadow = true;
	decision->shadow_kind = decision_kind(&shadow);
}

/*
 * The zones a rejection needed: each listing zone whose weight, taken
 * away, leaves the score under dnsbl_threshold.  What each zone is worth
 * (--report) counts them.
 */
static void
decision_decisive(const struct config *config, const struct verdict *verdict,
		  struct decision *decision)
{
	const struct verdict_zone *zone;
	size_t	i;

	for (i = 0; i < verdict->zone_count && i < 64; i++) {
		zone = verdict->zone + i;
		if (zone->state == VERDICT_ZONE_LISTED && !zone->shadow
		    && zone->score > 0
		    && verdict->score - zone->score < config->dnsbl_threshold)
			decision->decisive |= UINT64_C(1) << i;
	}
}

/* The client-level rules, applied at reject_stage. */
static void
decision_client(const struct config *config,
		const struct decision_facts *facts, struct decision *decision)
{
	char	text[512];
	char	ip[ADDR_TEXT_SIZE];

	addr_format(facts->client, ip);
	if (facts->lists & LIST_DENY) {
		snprintf(text, sizeof(text), "Service unavailable; client [%s] "
			 "blocked by local policy", ip);
		decision_reply(decision, DECISION_REJECT, REASON_DENY_LIST, "550",
			       "5.7.1", text);
		return;
	}
	if (facts->lists & LIST_ALLOW) {
		decision->reason = REASON_ALLOW_LIST;
		return;
	}
	if (facts->verdict == NULL) {
		decision_scored(config, facts, 0, false, decision);
		return;
	}
	decision_scored(config, facts, facts->verdict->score,
			facts->verdict->complete, decision);
	if (decision->reason == REASON_DNSBL)
		decision_decisive(config, facts->verdict, decision);
	decision_shadow(config, facts, decision);
}

/* May the relay rule refuse this client at all? */
static bool
decision_relay_applies(const struct config *config,
		       const struct decision_facts *facts)
{
	return config->relay_policy == RELAY_ENFORCE && facts->has_transport
	    && !(facts->lists & LIST_RELAY);
}

/* Does Postfix deliver this recipient elsewhere, for a non-relay client? */
static bool
decision_relaying(const struct config *config,
		  const struct decision_facts *facts)
{
	return facts->rcpt_mailer != NULL
	    && !config_has_word(config->local_transports, facts->rcpt_mailer,
				strlen(facts->rcpt_mailer), false);
}

/* Is the recipient's local part one of exempt_recipients? */
static bool
decision_exempt(const struct config *config, const char *recipient)
{
	const char *local = recipient + (*recipient == '<');
	size_t	len = strcspn(local, "@>");

	return config_has_word(config->exempt_recipients, local, len, true);
}

/* Can nothing later in the message change this answer (see the top)? */
static bool
decision_settles(const struct config *config,
		 const struct decision_facts *facts,
		 const struct decision *decision)
{
	if (decision->action != DECISION_CONTINUE
	    || decision->reason == REASON_LATER
	    || decision->reason == REASON_EXEMPT)
		return false;
	return facts->authenticated || !decision_relay_applies(config, facts);
}

/* The rules at one stage, in their order (see the top). */
static void
decision_rules(const struct config *config,
	       const struct decision_facts *facts, struct decision *decision)
{
	char	text[600];

	decision->action = DECISION_CONTINUE;
	if (facts->relay_question) {
		decision->reason = facts->authenticated ? REASON_AUTHENTICATED
		    : (facts->lists & LIST_RELAY) ? REASON_RELAY_LIST
		    : REASON_RELAY_UNKNOWN;
		if (facts->authenticated || (facts->lists & LIST_RELAY))
			decision->action = DECISION_RELAY_OK;
		return;
	}
	if (facts->authenticated) {
		decision->reason = REASON_AUTHENTICATED;
		return;
	}
	if (facts->stage == STAGE_RCPT && facts->recipient != NULL) {
		if (decision_relay_applies(config, facts)
		    && facts->rcpt_mailer == NULL) {
			snprintf(text, sizeof(text), "%s: Relay access cannot be "
				 "checked: server configuration problem",
				 facts->recipient);
			decision_reply(decision, DECISION_TEMPFAIL,
				       REASON_RELAY_UNCHECKED, "451", "4.3.5", text);
			decision->missing = "{rcpt_mailer}";
			return;
		}
		if (decision_relay_applies(config, facts)
		    && decision_relaying(config, facts)) {
			snprintf(text, sizeof(text), "%s: Relay access denied",
				 facts->recipient);
			decision_reply(decision, DECISION_REJECT, REASON_RELAY, "554",
				       "5.7.1", text);
			return;
		}
		if (decision_exempt(config, facts->recipient)) {
			decision->reason = REASON_EXEMPT;
			return;
		}
	}
	if (facts->stage != config->reject_stage) {
		decision->reason = facts->stage < config->reject_stage ?
		    REASON_LATER : REASON_DECIDED;
		return;
	}
	decision_client(config, facts, decision);
}

void
decide(const struct config *config, const struct decision_facts *facts,
       struct decision *decision)
{
	memset(decision, 0, sizeof(*decision));
	decision_rules(config, facts, decision);
	if (!facts->relay_question)
		decision->settled = decision_settles(config, facts, decision);
}

void
decision_greylist(struct decision *decision, const char *recipient,
		  int outcome, unsigned wait)
{
	char	text[600];

	decision->greylist = outcome;
	decision->greylist_wait = wait;
	if (outcome != GREYLIST_NEW && outcome != GREYLIST_EARLY) {
		decision->action = DECISION_CONTINUE;
		return;
	}
	snprintf(text, sizeof(text), "%s%sGreylisted, try again in %u seconds",
		 recipient != NULL ? recipient : "",
		 recipient != NULL ? ": Recipient address rejected: " : "", wait);
	decision_reply(decision, DECISION_TEMPFAIL, decision->reason, "451",
		       "4.7.1", text);
}

enum decision_kind
decision_kind(const struct decision *decision)
{
	if (decision->reason == REASON_RELAY)
		return DECISION_KIND_RELAY;
	if (decision->action == DECISION_GREYLIST
	    || decision->greylist == GREYLIST_NEW
	    || decision->greylist == GREYLIST_EARLY)
		return DECISION_KIND_GREYLIST;
	if (decision->dry_run)
		return DECISION_KIND_LOG;
	switch (decision->action) {
	case DECISION_REJECT:
		return DECISION_KIND_REJECT;
	case DECISION_TEMPFAIL:
		return DECISION_KIND_TEMPFAIL;
	case DECISION_TAG:
		return DECISION_KIND_TAG;
	case DECISION_RELAY_OK:
	case DECISION_CONTINUE:
	case DECISION_GREYLIST:
		break;
	}
	return decision->reason == REASON_ALLOW_LIST
	    || decision->reason == REASON_DNSWL ?
	    DECISION_KIND_ALLOW : DECISION_KIND_PASS;
}

const char *
decision_kind_name(enum decision_kind kind)
{
	static const char *const names[] = {
		[DECISION_KIND_REJECT] = "reject",
		[DECISION_KIND_TEMPFAIL] = "tempfail",
		[DECISION_KIND_TAG] = "tag",
		[DECISION_KIND_LOG] = "log",
		[DECISION_KIND_PASS] = "pass",
		[DECISION_KIND_ALLOW] = "allow",
		[DECISION_KIND_RELAY] = "relay",
		[DECISION_KIND_GREYLIST] = "greylist",
	};

	return names[kind];
}

const char *
decision_reason_name(enum decision_reason reason)
{
	static const char *const names[] = {
		[REASON_LATER] = "later",
		[REASON_DECIDED] = "decided",
		[REASON_AUTHENTICATED] = "authenticated",
		[REASON_EXEMPT] = "exempt",
		[REASON_RELAY_LIST] = "relay-list",
		[REASON_RELAY_UNKNOWN] = "relay-unknown",
		[REASON_RELAY] = "relay",
		[REASON_RELAY_UNCHECKED] = "relay-unchecked",
		[REASON_DENY_LIST] = "deny-list",
		[REASON_ALLOW_LIST] = "allow-list",
		[REASON_DNSWL] = "dnswl",
		[REASON_PASS] = "pass",
		[REASON_GREYLIST] = "greylist",
		[REASON_DNS_FAILURE] = "dns-failure",
		[REASON_DNSBL] = "dnsbl",
	};

	return names[reason];
}

bool
decision_silent(const struct decision *decision)
{
	return decision->reason <= REASON_RELAY_UNKNOWN;
}

enum stats_counter
decision_counter(const struct decision *decision)
{
	static const enum stats_counter counters[] = {
		[DECISION_KIND_REJECT] = STATS_ACTION_REJECT,
		[DECISION_KIND_TEMPFAIL] = STATS_ACTION_TEMPFAIL,
		[DECISION_KIND_TAG] = STATS_ACTION_TAG,
		[DECISION_KIND_LOG] = STATS_ACTION_LOG,
		[DECISION_KIND_PASS] = STATS_ACTION_PASS,
		[DECISION_KIND_ALLOW] = STATS_ACTION_ALLOW,
		[DECISION_KIND_RELAY] = STATS_ACTION_RELAY,
		[DECISION_KIND_GREYLIST] = STATS_ACTION_GREYLIST,
	};

	return counters[decision_kind(decision)];
}
