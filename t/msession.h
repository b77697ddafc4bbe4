/*
 * msession - one SMTP session spoken to a filter as Postfix speaks it, on
 * t/mclient: the steps in their order (open and negotiate, CONNECT with
 * the client's address and host name, HELO, MAIL FROM, RCPT TO, DATA, end
 * of message), each after the macros Postfix sends with it: those the
 * filter listed for the step at negotiation, else Postfix's defaults,
 * of the ones a session has ({daemon_name}, i, {auth_authen},
 * {mail_addr}, {rcpt_mailer}), also for a step the filter turned off.
 * With the reply of the last step sent.  The one session driver of the
 * tests and the load generator.
 *
 * What it does not: decide what comes after a refusal (a step is sent
 * whatever the reply before it: the caller stops or goes on), send
 * headers, a body, SMFIC_ABORT or any macro not named here (call mclient
 * on s->client for those), retry, keep a deadline of the whole session
 * (timeout_ms bounds each packet, as in mclient), use Check, or write to
 * stderr: a failed step leaves its reason in s->err.  No threads, no
 * global state: one struct msession is one session for one thread.
 */
#ifndef RBL_MSESSION_H
#define RBL_MSESSION_H

#include <time.h>

#include "t/mclient.h"

/* The steps of a session, in the order Postfix sends them. */
enum msession_step {
	MSESSION_OPEN,			/* connect to the filter, negotiate */
	MSESSION_CONNECT,
	MSESSION_HELO,
	MSESSION_MAIL,
	MSESSION_RCPT,
	MSESSION_DATA,
	MSESSION_EOM,
	MSESSION_STEPS
};

/*
 * The SMTP session the filter is told about.  A macro whose value is NULL
 * is not sent; CONNECT, MAIL and RCPT send their macro packet all the
 * same, empty if need be.  The strings are the caller's, and must live
 * as long as the session sends steps.
 */
struct msession_smtp {
	const char *daemon;		/* {daemon_name}, at CONNECT */
	const char *host;		/* the client's name, "[ip]" if none */
	const char *ip;			/* its address; NULL: none */
	unsigned port;			/* its port */
	const char *helo;		/* the HELO name */
	const char *queue_id;		/* i */
	const char *auth;		/* {auth_authen} */
	const char *from;		/* MAIL FROM, "<a@b>" */
	const char *rcpt;		/* RCPT TO, "<a@b>" */
	const char *mailer;		/* {rcpt_mailer}, at RCPT */
};

/* One session; the caller may change smtp between steps. */
struct msession {
	const char *spec;		/* the filter, for mclient_open() */
	unsigned timeout_ms;		/* of each packet, 1 ms to 1 hour */
	struct msession_smtp smtp;
	struct mclient *client;		/* NULL before open, after the end */
	struct mreply reply;		/* of the last step; 'c' after open */
	char	mail_addr[256];		/* {mail_addr}, from smtp.from */
	unsigned long actions;		/* SMFIF_* the filter asked for */
	unsigned long protocol;		/* SMFIP_* the filter asked for */
	struct timespec connected;	/* CLOCK_MONOTONIC at CONNECT */
	enum msession_step next;	/* what msession_run() sends first */
	char	err[512];		/* "STEP: reason" of a failed step */
};

/* Start a session with the filter at spec, not connected yet. */
void	msession_init(struct msession *s, const char *spec,
		      unsigned timeout_ms, const struct msession_smtp *smtp);

/*
 * Send one step (any, in any order: a second RCPT, or MAIL after an
 * abort); 0 with the filter's answer in s->reply, or -1 with the reason
 * in s->err and the connection closed.
 */
int	msession_step(struct msession *s, enum msession_step step);

/* Send the steps from s->next to last, as msession_step(); 0 or -1. */
int	msession_run(struct msession *s, enum msession_step last);

/* End the session: SMFIC_QUIT and close, if it is open. */
void	msession_close(struct msession *s);

/* Vanish: close without SMFIC_QUIT, as mclient_drop(), if it is open. */
void	msession_drop(struct msession *s);

/* The name of a step, "open" to "eom". */
const char *msession_step_name(enum msession_step step);

#endif
