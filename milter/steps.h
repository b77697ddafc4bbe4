/*
 * steps - the milter conversation a configuration needs: which SMTP steps
 * Postfix is asked to send, which of them it waits for, and the macros
 * each one carries.
 *
 * Each step Postfix sends costs it a write and, when it waits for the
 * answer, a round trip with the filter; so a step is sent only when the
 * decision needs its facts, and answered only when an answer can be
 * other than "continue" (see rblmilter(8), MILTER CONVERSATION).
 *
 * What it does not: talk to libmilter (milter/filter.c sets what this
 * says), or decide anything about a client.
 */
#ifndef RBL_MILTER_STEPS_H
#define RBL_MILTER_STEPS_H

#include <stdbool.h>

struct config;

/* What to ask of the MTA for one connection. */
struct steps {
	unsigned long actions;		/* SMFIF_*: what the filter may do */
	unsigned long protocol;		/* SMFIP_*: steps not sent (NO*) and
					 * not waited for (NR_*) */
	bool	macro_lists;		/* the MTA takes the macro lists of
					 * steps_macros(): MAIL's facts come
					 * with RCPT */
};

/*
 * The conversation for config, from what the MTA offers (actions,
 * protocol: the SMFIF_* and SMFIP_* of xxfi_negotiate).
 */
void	steps_plan(const struct config *config, unsigned long offered_actions,
		   unsigned long offered_protocol, struct steps *steps);

/*
 * The conversation of a connection the filter keeps nothing for (no
 * memory): every step answered, so that connect can accept it.
 */
void	steps_answer_all(unsigned long offered_protocol, struct steps *steps);

/*
 * The macros to ask for at the step of class (SMFIM_CONNECT,
 * SMFIM_ENVFROM or SMFIM_ENVRCPT), or NULL for the other steps.
 */
const char *steps_macros(int class);

#endif
