/*
 * msession - one SMTP session spoken to a filter as Postfix speaks it, on
 * t/mclient.
 *
 * A step is its macro packet (held by mclient and written with the
 * command, as Postfix does) and its command, sent with the strings of
 * s->smtp as they are when the step is sent.  A failed step closes the
 * connection at once, so that the caller has nothing left to clean up
 * but the struct itself.
 *
 * What it does not: check the strings (mclient refuses what it cannot
 * send), or time anything but the moment CONNECT is sent.
 */
#include <errno.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <stdio.h>
#include <string.h>

#include "t/msession.h"

/* The most macros a step sends. */
#define MSESSION_MACROS	8

static const char *const msession_names[MSESSION_STEPS] = {
	"open", "connect", "helo", "mail", "rcpt", "data", "eom",
};

/* Keep "STEP: why" as the reason the session ended, and close it; -1. */
static int
msession_end(struct msession *s, enum msession_step step, const char *why)
{
	snprintf(s->err, sizeof(s->err), "%s: %.480s", msession_names[step],
		 why);
	mclient_close(s->client);
	s->client = NULL;
	return -1;
}

/* End the session with mclient's reason for the failed step; -1. */
static int
msession_lost(struct msession *s, enum msession_step step)
{
	/* Read before msession_end() frees the client. */
	return msession_end(s, step, mclient_error(s->client));
}

/* Connect to the filter and negotiate; the reply is "continue". */
static int
msession_open(struct msession *s)
{
	char	err[sizeof(s->err)];

	if (s->client != NULL)
		return msession_end(s, MSESSION_OPEN, "already open");
	if ((s->client = mclient_open(s->spec, s->timeout_ms, err,
				      sizeof(err))) == NULL)
		return msession_end(s, MSESSION_OPEN, err);
	if (mclient_negotiate(s->client, &s->actions, &s->protocol) < 0)
		return msession_lost(s, MSESSION_OPEN);
	s->reply.code = SMFIR_CONTINUE;
	s->reply.text[0] = 0;
	s->reply.headers[0] = 0;
	return 0;
}

/*
 * The value of the macro name (len bytes) as Postfix would send it in
 * this session, or NULL for one the session does not set; {mail_addr}
 * is MAIL FROM without its angle brackets, in s->mail_addr.
 */
static const char *
msession_value(struct msession *s, const char *name, size_t len)
{
	const struct msession_smtp *m = &s->smtp;
	const struct {
		const char *name;
		const char *value;
	} macros[] = {
		{"{daemon_name}", m->daemon},
		{"i", m->queue_id},
		{"{auth_authen}", m->auth},
		{"{rcpt_mailer}", m->mailer},
		{"{mail_addr}", m->from == NULL ? NULL : s->mail_addr},
	};
	const char *from = m->from == NULL ? "" : m->from + (*m->from == '<');
	size_t	i;

	snprintf(s->mail_addr, sizeof(s->mail_addr), "%.*s",
		 (int) strcspn(from, ">"), from);
	for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (strlen(macros[i].name) == len
		    && strncmp(macros[i].name, name, len) == 0)
			return macros[i].value;
	return NULL;
}

/*
 * Send the macros of the step cmd (class: its SMFIM_*) as Postfix 3.7
 * does, even for a step the filter turned off (mclient holds them for the
 * next step sent): those of the filter's list for the step, or of
 * Postfix's default list, that have a value in this session.
 */
static int
msession_macros(struct msession *s, char cmd, int class, const char *defaults)
{
	const char *list = mclient_macro_list(s->client, class);
	const char *set[2 * MSESSION_MACROS + 1];
	char	names[MSESSION_MACROS][32];
	const char *name;
	const char *value;
	size_t	count = 0;
	size_t	len;

	for (name = list != NULL ? list : defaults; *name; name += len) {
		name += strspn(name, " ");
		len = strcspn(name, " ");
		if (len == 0 || len >= sizeof(names[0]) || count == MSESSION_MACROS
		    || (value = msession_value(s, name, len)) == NULL)
			continue;
		snprintf(names[count], sizeof(names[count]), "%.*s", (int) len,
			 name);
		set[2 * count] = names[count];
		set[2 * count + 1] = value;
		count++;
	}
	set[2 * count] = NULL;
	return mclient_macro(s->client, cmd, set);
}

/* Send a step after open, with its macros; mclient's 0 or -1. */
static int
msession_send(struct msession *s, enum msession_step step)
{
	const struct msession_smtp *m = &s->smtp;

	switch (step) {
	case MSESSION_CONNECT:
		if (msession_macros(s, SMFIC_CONNECT, SMFIM_CONNECT,
				    "{daemon_name}") < 0)
			return -1;
		return mclient_connect(s->client, m->host, m->ip, m->port,
				       &s->reply);
	case MSESSION_HELO:
		return mclient_helo(s->client, m->helo, &s->reply);
	case MSESSION_MAIL:
		if (msession_macros(s, SMFIC_MAIL, SMFIM_ENVFROM,
				    "i {auth_authen} {mail_addr}") < 0)
			return -1;
		return mclient_mail(s->client, m->from, &s->reply);
	case MSESSION_RCPT:
		if (msession_macros(s, SMFIC_RCPT, SMFIM_ENVRCPT,
				    "i {rcpt_mailer}") < 0)
			return -1;
		return mclient_rcpt(s->client, m->rcpt, &s->reply);
	case MSESSION_DATA:
		return mclient_data(s->client, &s->reply);
	default:
		return mclient_eom(s->client, &s->reply);
	}
}

void
msession_init(struct msession *s, const char *spec, unsigned timeout_ms,
	      const struct msession_smtp *smtp)
{
	memset(s, 0, sizeof(*s));
	s->spec = spec;
	s->timeout_ms = timeout_ms;
	s->smtp = *smtp;
	s->next = MSESSION_OPEN;
}

int
msession_step(struct msession *s, enum msession_step step)
{
	if (step >= MSESSION_STEPS)
		return msession_end(s, MSESSION_EOM, "no step after eom");
	if (step == MSESSION_OPEN) {
		if (msession_open(s) < 0)
			return -1;
	} else if (s->client == NULL)
		return msession_end(s, step, "the session is not open");
	else if (step == MSESSION_CONNECT
		 && clock_gettime(CLOCK_MONOTONIC, &s->connected) < 0)
		return msession_end(s, step, strerror(errno));
	else if (msession_send(s, step) < 0)
		return msession_lost(s, step);
	s->next = step + 1;
	return 0;
}

int
msession_run(struct msession *s, enum msession_step last)
{
	if (last >= MSESSION_STEPS)
		return msession_end(s, MSESSION_EOM, "no step after eom");
	while (s->next <= last)
		if (msession_step(s, s->next) < 0)
			return -1;
	return 0;
}

void
msession_close(struct msession *s)
{
	/* mclient_close() takes NULL. */
	mclient_close(s->client);
	s->client = NULL;
}

void
msession_drop(struct msession *s)
{
	if (s->client != NULL)
		mclient_drop(s->client);
	s->client = NULL;
}

const char *
msession_step_name(enum msession_step step)
{
	return step < MSESSION_STEPS ? msession_names[step] : "?";
}
