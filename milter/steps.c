/*
 * steps - the milter conversation a configuration needs.
 *
 * Postfix's milter client (milter8) never sends a step negotiated away
 * (SMFIP_NO*), sends a no-reply step (SMFIP_NR_*) without waiting, and
 * waits for the others.  The decision needs:
 *  - CONNECT always (the client's address and name), answered only when
 *    reject_stage = connect;
 *  - HELO always (the name is logged and may be looked up in domain
 *    zones), answered only when reject_stage = helo;
 *  - MAIL only when reject_stage = mail: elsewhere its facts (the queue
 *    id, the SASL login, the sender) come as macros with RCPT.  An MTA
 *    that takes no macro lists (SMFIF_SETSYMLIST) sends Postfix's default
 *    macros, which carry them at MAIL only: then MAIL is sent, without a
 *    reply unless reject_stage = mail;
 *  - RCPT when relaying is checked or reject_stage = rcpt, answered;
 *  - DATA always, answered: the last step before the content must be one
 *    Postfix waits for (over TCP, a packet written behind one that got no
 *    answer waits for a delayed ACK, about 40 ms), and an accept there
 *    skips the content and end-of-message (milter/filter.c);
 *  - no headers, body or unknown commands.
 * Headers are added (SMFIF_ADDHDRS) only with action = tag.
 */
#include <libmilter/mfapi.h>
#include <stddef.h>

#include "conf/config.h"
#include "milter/steps.h"

/* The steps the decision never reads. */
#define STEPS_NEVER	(SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH \
			 | SMFIP_NOUNKNOWN)

void
steps_plan(const struct config *config, unsigned long offered_actions,
	   unsigned long offered_protocol, struct steps *steps)
{
	unsigned long want = STEPS_NEVER;
	unsigned long actions = 0;

	if (config->action == ACTION_TAG)
		actions |= SMFIF_ADDHDRS;
	steps->macro_lists = (offered_actions & SMFIF_SETSYMLIST) != 0;
	if (steps->macro_lists)
		actions |= SMFIF_SETSYMLIST;
	if (config->reject_stage != STAGE_CONNECT)
		want |= SMFIP_NR_CONN;
	if (config->reject_stage != STAGE_HELO)
		want |= SMFIP_NR_HELO;
	if (config->reject_stage != STAGE_MAIL)
		want |= steps->macro_lists && (offered_protocol & SMFIP_NOMAIL)
		    ? SMFIP_NOMAIL : SMFIP_NR_MAIL;
	if (config->relay_policy == RELAY_OFF
	    && config->reject_stage != STAGE_RCPT)
		want |= SMFIP_NORCPT;
	steps->actions = actions & offered_actions;
	steps->protocol = want & offered_protocol;
}

void
steps_answer_all(unsigned long offered_protocol, struct steps *steps)
{
	steps->actions = 0;
	steps->protocol = STEPS_NEVER & offered_protocol;
	steps->macro_lists = false;
}

const char *
steps_macros(int class)
{
	switch (class) {
	case SMFIM_CONNECT:
		return "{daemon_name}";
	case SMFIM_ENVFROM:
		return "i {auth_authen}";
	case SMFIM_ENVRCPT:
		return "i {rcpt_mailer} {auth_authen} {mail_addr}";
	default:
		return NULL;
	}
}
