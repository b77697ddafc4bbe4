/*
 * filter - the libmilter callbacks: one SMTP session's facts in, the
 * decision's answer out, one log line per decision.
 *
 * The lookup starts at connect, in the background, and is waited for only
 * at reject_stage (or at the first RCPT that needs it), so DNS overlaps
 * the client's HELO and MAIL.  So do the lookups of the names in the
 * domain zones: the client's hostname at connect, the HELO name at HELO,
 * the sender's domain at MAIL or at the first RCPT (each replacing the
 * one before); a decision joins those that are known by its stage, so
 * that with reject_stage = helo the sender's domain has no say.
 *
 * Postfix is told the smallest conversation that decides (milter/steps.c):
 * steps before reject_stage get no answer, MAIL's facts come with RCPT,
 * and a client whose answer nothing can change any more is accepted
 * (SMFIS_ACCEPT: at connect or HELO Postfix then stops talking to the
 * filter for the connection, elsewhere for the message), as is every
 * message at DATA unless an X-RBL-Check header must be added at its end.
 * A session is made at negotiation, with the configuration it is
 * negotiated for, so that a reload before connect cannot change which
 * steps get an answer: libmilter drops any answer to a no-reply step.
 *
 * libmilter gives callbacks no user pointer, so the worker is kept in
 * filter_worker, written once by filter_run() before smfi_main() starts
 * any session thread, and only read after that.
 *
 * A stop: Debian's libmilter hands sessions to a pool of threads, and
 * once smfi_stop() has ended its loop it never calls the close callback
 * of a session still open.  So the filter keeps its own list of sessions
 * (filter_sessions), and filter_stop() releases what they hold: it waits
 * a moment for sessions inside a callback, ends their lookups if they
 * still wait, and frees the rest.  From then on a callback touches no
 * session and answers tempfail.
 */
#include <libmilter/mfapi.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lists/lists.h"
#include "decide/stack.h"
#include "conf/config.h"
#include "decide/decision.h"
#include "decide/logline.h"
#include "dnsbl/verdict.h"
#include "lib/addr.h"
#include "lib/domain.h"
#include "lib/msg.h"
#include "milter/filter.h"
#include "milter/steps.h"
#include "runtime/worker.h"
#include "stats/metrics.h"

/*
 * filter_stop() waits this long for sessions inside a callback, then ends
 * their lookups and waits FILTER_ABORT_MS more.
 */
#define FILTER_GRACE_MS		1000
#define FILTER_ABORT_MS		500

/* The longest reply text smfi_setreply() takes (libmilter's MAXREPLYLEN). */
#define FILTER_REPLY_MAX	980

static struct worker *filter_worker;

/* A missing macro, said once a minute however many sessions meet it. */
static struct msg_limit filter_missing_macro;

struct session;

/* The sessions that libmilter has open; see the top of this file. */
static struct {
	pthread_mutex_t lock;		/* guards all of it, and each
					 * session's busy and links */
	pthread_cond_t idle;		/* busy went to 0 */
	struct session *head;
	unsigned busy;			/* sessions inside a callback */
	bool	stopped;		/* filter_stop() has run */
} filter_sessions = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* A name of the session, looked up in the domain zones. */
struct filter_name {
	int	role;			/* enum domain_role */
	char	name[DOMAIN_NAME_SIZE];
	struct worker_lookup *lookup;	/* NULL: out of memory */
};

/* What the filter knows about one SMTP connection. */
struct session {
	struct generation *generation;	/* configuration and stack */
	struct steps steps;		/* negotiated for this connection */
	bool	unchecked;		/* no client address: accepted */
	struct addr addr;
	char	ip[ADDR_TEXT_SIZE];
	char	helo[128];
	char	daemon[64];		/* {daemon_name} */
	char	queue_id[32];		/* i, per message */
	char	sender[320];		/* the message's sender, without
					 * <>: its names were asked, and
					 * greylisting's triplets take it */
	unsigned lists;			/* LIST_* flags */
	struct worker_lookup *lookup;	/* NULL: lists decided, or no memory */
	struct filter_name names[VERDICT_MAX_NAMES];	/* looked up beside */
	size_t	name_count;
	struct verdict *verdict;	/* the IP's and the names' joined, once
					 * waited for; NULL: none */
	enum cache_level level;
	bool	waited;			/* verdict is up to date */
	bool	authenticated;		/* per message */
	bool	logged;			/* the client-level decision is logged */
	char	tag[512];		/* X-RBL-Check for the client's
					 * messages, or "" */
	bool	busy;			/* inside a callback */
	struct session *next;		/* in filter_sessions */
	struct session **prev;
};

/* Copy a macro value (or "") into buf, printable ASCII only. */
static void
filter_macro(SMFICTX *ctx, const char *name, char *buf, size_t size)
{
	const char *value = smfi_getsymval(ctx, (char *) name);
	size_t	i;

	for (i = 0; value != NULL && value[i] && i + 1 < size; i++)
		buf[i] = (value[i] > 0x20 && value[i] < 0x7f) ? value[i] : '?';
	buf[i] = 0;
}

/* Forget the names of role, and the verdict they had a say in. */
static void
filter_names_drop(struct session *session, int role)
{
	size_t	kept = 0;
	size_t	i;

	for (i = 0; i < session->name_count; i++) {
		if (session->names[i].role != role) {
			session->names[kept++] = session->names[i];
			continue;
		}
		if (session->names[i].lookup != NULL)
			worker_lookup_free(session->names[i].lookup);
		session->waited = false;
	}
	session->name_count = kept;
}

/*
 * Start the lookups of the names given in role (stack_names()), in place
 * of those given before; none when the lists decide the client.
 */
static void
filter_names_add(struct session *session, int role, const char *given)
{
	char	names[2][DOMAIN_NAME_SIZE];
	struct filter_name *name;
	size_t	count;
	size_t	i;

	filter_names_drop(session, role);
	if (session->lookup == NULL)
		return;
	count = stack_names(generation_stack(session->generation), role,
			    given, names);
	for (i = 0; i < count && session->name_count < VERDICT_MAX_NAMES; i++) {
		name = session->names + session->name_count++;
		name->role = role;
		strcpy(name->name, names[i]);
		if ((name->lookup = worker_submit(filter_worker,
						  session->generation,
						  DNSBL_NAMES, name->name)) == NULL)
			msg_warn("out of memory: no lookup of %s", name->name);
		session->waited = false;
	}
}

/*
 * The verdict, waiting for the lookups the first time they are needed:
 * the IP's joined with those of the names known now.  The level is the
 * farthest any of them went.
 */
static const struct verdict *
filter_verdict(struct session *session)
{
	struct verdict_name names[VERDICT_MAX_NAMES];
	const struct verdict *ip;
	enum cache_level level;
	struct timespec start;
	size_t	i;

	if (session->waited || session->lookup == NULL)
		return session->verdict;
	session->waited = true;
	verdict_free(session->verdict);
	session->verdict = NULL;
	clock_gettime(CLOCK_MONOTONIC, &start);
	if ((ip = worker_wait(session->lookup, &session->level)) == NULL) {
		metrics_session_wait(METRICS_MILTER, &start);
		return NULL;
	}
	for (i = 0; i < session->name_count; i++) {
		names[i].role = session->names[i].role;
		names[i].name = session->names[i].name;
		names[i].verdict = NULL;
		if (session->names[i].lookup != NULL
		    && (names[i].verdict = worker_wait(session->names[i].lookup,
						       &level)) != NULL
		    && level > session->level)
			session->level = level;
	}
	metrics_session_wait(METRICS_MILTER, &start);
	session->verdict = stack_join(generation_stack(session->generation),
				      ip, names, session->name_count);
	return session->verdict;
}

/* The decision line of a decision. */
static void
filter_log(struct session *session, int stage, const char *recipient,
	   const struct decision *decision)
{
	const struct config *config = generation_config(session->generation);
	struct logline line = {
		.front = LOGLINE_MILTER,
		.queue_id = session->queue_id,
		.client = &session->addr,
		.daemon = session->daemon,
		.helo = session->helo,
		.stage = stage,
		.decision = decision,
		.lists = session->lists,
		.rcpt = recipient,
		.verdict = session->verdict,
		.level = session->level,
		.sites = config->scored_sites,
	};

	logline_write(&line);
}

/*
 * Let a client on: accept (no more steps of the message, or of the
 * connection at connect and HELO) when nothing can change its answer and
 * no header is to be added; else continue.
 */
static sfsistat
filter_pass(const struct session *session, const struct decision *decision)
{
	return decision->settled && session->tag[0] == 0 ? SMFIS_ACCEPT
	    : SMFIS_CONTINUE;
}

/* Answer libmilter with a decision. */
static sfsistat
filter_answer(SMFICTX *ctx, const struct session *session,
	      const struct decision *decision)
{
	char	text[FILTER_REPLY_MAX + 1];
	size_t	len = 0;
	const char *cp;

	if (decision->action != DECISION_REJECT
	    && decision->action != DECISION_TEMPFAIL)
		return filter_pass(session, decision);
	/*
	 * libmilter reads the text like a printf format: double any %.  It
	 * refuses a longer text whole, so the text is cut, never a %%.
	 */
	for (cp = decision->text; *cp; cp++) {
		if (len + 1 + (*cp == '%') > FILTER_REPLY_MAX)
			break;
		text[len++] = *cp;
		if (*cp == '%')
			text[len++] = '%';
	}
	text[len] = 0;
	if (smfi_setreply(ctx, (char *) decision->code, (char *) decision->dsn,
			  text) != MI_SUCCESS)
		msg_warn("smfi_setreply failed for \"%s %s %s\"", decision->code,
			 decision->dsn, text);
	return decision->action == DECISION_REJECT ? SMFIS_REJECT
	    : SMFIS_TEMPFAIL;
}

/* Settle a DECISION_GREYLIST with the fleet's greylisting state. */
static void
filter_greylist(struct session *session, const char *recipient,
		struct decision *decision)
{
	struct greylist_triplet triplet;
	unsigned wait;
	int	outcome;

	stack_greylist_triplet(generation_stack(session->generation),
			       &session->addr, session->sender, recipient,
			       &triplet);
	outcome = worker_greylist(filter_worker, session->generation, &triplet,
				  &wait);
	decision_greylist(decision, recipient, outcome, wait);
}

/*
 * Decide at stage (recipient and mailer at RCPT), log what is worth a
 * line, and answer.  A passing client is logged once per session;
 * refusals every time.
 */
static sfsistat
filter_decide(SMFICTX *ctx, struct session *session, int stage,
	      const char *recipient, const char *mailer)
{
	const struct config *config = generation_config(session->generation);
	struct decision_facts facts = {0};
	struct decision decision;

	facts.client = &session->addr;
	facts.lists = session->lists;
	facts.authenticated = session->authenticated;
	facts.stage = stage;
	facts.recipient = recipient;
	facts.rcpt_mailer = mailer;
	facts.has_transport = true;
	if (stage == config->reject_stage && !session->authenticated)
		facts.verdict = filter_verdict(session);
	decide(config, &facts, &decision);
	if (decision.action == DECISION_GREYLIST)
		filter_greylist(session, recipient, &decision);
	if (decision.missing != NULL)
		msg_warn_limited(&filter_missing_macro, 60, "Postfix sent no %s "
				 "at RCPT: recipients of clients not on the "
				 "relay list get 451 4.3.5 until %s is in "
				 "milter_rcpt_macros in main.cf (Postfix's "
				 "default has it), or relay_policy = off",
				 decision.missing, decision.missing);
	if (decision_silent(&decision))
		return filter_pass(session, &decision);
	if (decision.action == DECISION_TAG)
		snprintf(session->tag, sizeof(session->tag), "%s",
			 decision.header);
	if (!session->logged || decision.action == DECISION_REJECT
	    || decision.action == DECISION_TEMPFAIL
	    || decision.greylist != GREYLIST_NONE) {
		filter_log(session, stage, recipient, &decision);
		stack_count_decision(generation_stack(session->generation),
				     &decision, session->verdict);
		metrics_count_decision(METRICS_MILTER, decision_kind(&decision),
				       decision.reason);
		if (decision.action == DECISION_CONTINUE
		    || decision.action == DECISION_TAG)
			session->logged = true;
	}
	return filter_answer(ctx, session, &decision);
}

/*
 * What libmilter is to send for status at the step whose no-reply flag is
 * nr: nothing, when that step was negotiated without a reply.
 */
static sfsistat
filter_reply(const struct session *session, unsigned long nr,
	     sfsistat status)
{
	return session->steps.protocol & nr ? SMFIS_NOREPLY : status;
}

/*
 * The client's address from the connect callback, if it has one.
 * libmilter gives no length: it builds sa itself, in a union that holds
 * any family it sets (sendmail's union bigsockaddr).
 */
static bool
filter_address(const struct sockaddr *sa, struct addr *addr)
{
	return addr_from_sockaddr(sa, sizeof(struct sockaddr_in6), addr) == 0;
}

/* Free a session (filter_sessions.lock held when it is on the list). */
static void
filter_free(struct session *session)
{
	int	role;

	if (session->prev != NULL
	    && (*session->prev = session->next) != NULL)
		session->next->prev = session->prev;
	if (session->prev != NULL)
		metrics_gauge_add(METRICS_SESSIONS, -1);
	if (session->lookup != NULL)
		worker_lookup_free(session->lookup);
	for (role = 0; role < DOMAIN_ROLES; role++)
		filter_names_drop(session, role);
	verdict_free(session->verdict);
	worker_release(session->generation);
	free(session);
}

/*
 * A callback begins: the session of ctx, marked busy, or NULL with the
 * answer in *status (no session, for want of memory: accept; stopped:
 * tempfail).
 */
static struct session *
filter_enter(SMFICTX *ctx, sfsistat *status)
{
	struct session *session = NULL;

	pthread_mutex_lock(&filter_sessions.lock);
	*status = filter_sessions.stopped ? SMFIS_TEMPFAIL : SMFIS_ACCEPT;
	if (!filter_sessions.stopped
	    && (session = smfi_getpriv(ctx)) != NULL) {
		session->busy = true;
		filter_sessions.busy++;
	}
	pthread_mutex_unlock(&filter_sessions.lock);
	return session;
}

/*
 * A callback is over: the session is no longer busy.  It is freed when
 * release says so, or when filter_stop() found it busy (its ctx is never
 * read again).
 */
static void
filter_unbusy(struct session *session, bool release)
{
	pthread_mutex_lock(&filter_sessions.lock);
	session->busy = false;
	if (--filter_sessions.busy == 0)
		pthread_cond_broadcast(&filter_sessions.idle);
	if (release || filter_sessions.stopped)
		filter_free(session);
	pthread_mutex_unlock(&filter_sessions.lock);
}

/* The callback ends with status. */
static sfsistat
filter_leave(struct session *session, sfsistat status)
{
	filter_unbusy(session, false);
	return status;
}

/* Put a new session on the list, busy; false once stopped. */
static bool
filter_add(struct session *session)
{
	bool	added;

	pthread_mutex_lock(&filter_sessions.lock);
	if ((added = !filter_sessions.stopped)) {
		session->generation = worker_acquire(filter_worker);
		session->busy = true;
		filter_sessions.busy++;
		if ((session->next = filter_sessions.head) != NULL)
			session->next->prev = &session->next;
		session->prev = &filter_sessions.head;
		filter_sessions.head = session;
		metrics_gauge_add(METRICS_SESSIONS, 1);
	}
	pthread_mutex_unlock(&filter_sessions.lock);
	return added;
}

/* Ask Postfix for the macros of each step (steps_macros()); 0 or -1. */
static int
filter_macro_lists(SMFICTX *ctx)
{
	static const int classes[] = {SMFIM_CONNECT, SMFIM_ENVFROM,
	SMFIM_ENVRCPT};
	size_t	i;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (smfi_setsymlist(ctx, classes[i],
				    (char *) steps_macros(classes[i]))
		    != MI_SUCCESS)
			return -1;
	return 0;
}

/*
 * Negotiate: make the session, with the configuration of this moment,
 * and ask for its conversation.  Without a session every step is
 * answered, and connect accepts the client.
 */
static sfsistat
filter_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
		 unsigned long f2, unsigned long f3, unsigned long *pf0,
		 unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct session *session;
	struct steps steps;

	(void) f2;
	(void) f3;
	steps_answer_all(f1, &steps);
	if ((session = calloc(1, sizeof(*session))) == NULL)
		msg_warn("out of memory: client accepted unchecked");
	else if (!filter_add(session))
		free(session);
	else {
		steps_plan(generation_config(session->generation), f0, f1,
			   &session->steps);
		if (session->steps.macro_lists && filter_macro_lists(ctx) < 0) {
			msg_warn("smfi_setsymlist failed: MAIL is sent with "
				 "Postfix's default macros");
			steps_plan(generation_config(session->generation),
				   f0 & ~SMFIF_SETSYMLIST, f1, &session->steps);
		}
		if (smfi_setpriv(ctx, session) != MI_SUCCESS)
			filter_unbusy(session, true);
		else {
			steps = session->steps;
			filter_unbusy(session, false);
		}
	}
	*pf0 = steps.actions;
	*pf1 = steps.protocol;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat
filter_connect(SMFICTX *ctx, char *hostname, struct sockaddr *sa)
{
	struct session *session;
	struct stack *stack;
	sfsistat status;

	if ((session = filter_enter(ctx, &status)) == NULL)
		return status;
	filter_macro(ctx, "{daemon_name}", session->daemon,
		     sizeof(session->daemon));
	if (!filter_address(sa, &session->addr)) {
		msg_info("client without an IP address (local or unix socket, "
			 "daemon %s): not checked", session->daemon);
		session->unchecked = true;
		return filter_leave(session, filter_reply(session, SMFIP_NR_CONN,
							  SMFIS_ACCEPT));
	}
	stack = generation_stack(session->generation);
	addr_format(&session->addr, session->ip);
	session->lists = stack_lists(stack, &session->addr);
	stack_count(stack, STATS_CONNECTIONS);
	stack_count_lists(stack, session->lists);
	if (!(session->lists & (LIST_ALLOW | LIST_DENY))
	    && (session->lookup = worker_submit(filter_worker,
						session->generation, DNSBL_IPS,
						session->ip)) == NULL)
		msg_warn("out of memory: no DNSBL lookup for %s", session->ip);
	filter_names_add(session, DOMAIN_CLIENT, hostname);
	status = filter_decide(ctx, session, STAGE_CONNECT, NULL, NULL);
	return filter_leave(session, filter_reply(session, SMFIP_NR_CONN,
						  status));
}

/*
 * Decide at stage and answer as the step allows (nr: its no-reply flag);
 * a client without an address is accepted at every step.
 */
static sfsistat
filter_step(SMFICTX *ctx, struct session *session, int stage,
	    unsigned long nr, const char *recipient, const char *mailer)
{
	sfsistat status = session->unchecked ? SMFIS_ACCEPT
	    : filter_decide(ctx, session, stage, recipient, mailer);

	return filter_leave(session, filter_reply(session, nr, status));
}

/*
 * The message's sender, as MAIL gave it or as {mail_addr} at RCPT: its
 * names are asked when it is not the one they were asked for.
 */
static void
filter_sender(struct session *session, const char *sender)
{
	size_t	len;
	const char *text = domain_unbracket(sender != NULL ? sender : "", &len);

	if (len < sizeof(session->sender) && session->sender[len] == 0
	    && strncmp(session->sender, text, len) == 0)
		return;
	snprintf(session->sender, sizeof(session->sender), "%.*s", (int) len,
		 text);
	filter_names_add(session, DOMAIN_SENDER, sender);
}

/* The message's facts that come as macros: queue id and SASL login. */
static void
filter_message(SMFICTX *ctx, struct session *session)
{
	char	auth[8];

	filter_macro(ctx, "i", session->queue_id, sizeof(session->queue_id));
	filter_macro(ctx, "{auth_authen}", auth, sizeof(auth));
	session->authenticated = auth[0] != 0;
}

static sfsistat
filter_helo(SMFICTX *ctx, char *helo)
{
	struct session *session;
	sfsistat status;

	if ((session = filter_enter(ctx, &status)) == NULL)
		return status;
	snprintf(session->helo, sizeof(session->helo), "%s",
		 helo != NULL ? helo : "");
	filter_names_add(session, DOMAIN_HELO, helo);
	return filter_step(ctx, session, STAGE_HELO, SMFIP_NR_HELO, NULL, NULL);
}

/* MAIL: sent only when reject_stage = mail, or without macro lists. */
static sfsistat
filter_envfrom(SMFICTX *ctx, char **argv)
{
	struct session *session;
	sfsistat status;

	if ((session = filter_enter(ctx, &status)) == NULL)
		return status;
	filter_sender(session, argv != NULL ? argv[0] : NULL);
	filter_message(ctx, session);
	return filter_step(ctx, session, STAGE_MAIL, SMFIP_NR_MAIL, NULL, NULL);
}

static sfsistat
filter_envrcpt(SMFICTX *ctx, char **argv)
{
	struct session *session;
	sfsistat status;
	const char *mailer;

	if ((session = filter_enter(ctx, &status)) == NULL)
		return status;
	if (argv == NULL || argv[0] == NULL)
		return filter_leave(session, SMFIS_CONTINUE);
	/* Postfix has a queue id only once a recipient was accepted. */
	filter_message(ctx, session);
	if (session->steps.protocol & SMFIP_NOMAIL)
		filter_sender(session, smfi_getsymval(ctx, "{mail_addr}"));
	/*
	 * The transport as Postfix sent it: a copy cut or made printable
	 * could match a local transport that it is not.
	 */
	mailer = smfi_getsymval(ctx, "{rcpt_mailer}");
	return filter_step(ctx, session, STAGE_RCPT, SMFIP_NR_RCPT, argv[0],
			   mailer != NULL && *mailer ? mailer : NULL);
}

/*
 * DATA: the message is accepted, so that Postfix sends none of it, unless
 * end-of-message must add the X-RBL-Check header (see the top).
 */
static sfsistat
filter_data(SMFICTX *ctx)
{
	struct session *session;
	sfsistat status;

	if ((session = filter_enter(ctx, &status)) == NULL)
		return status;
	return filter_leave(session, session->tag[0] != 0 ? SMFIS_CONTINUE
			    : SMFIS_ACCEPT);
}

static sfsistat
filter_eom(SMFICTX *ctx)
{
	struct session *session;
	sfsistat status;

	if ((session = filter_enter(ctx, &status)) == NULL)
		return status;
	if (session->tag[0] != 0
	    && smfi_addheader(ctx, "X-RBL-Check", session->tag) != MI_SUCCESS)
		msg_warn("queue_id=%s cannot add X-RBL-Check", session->queue_id);
	return filter_leave(session, SMFIS_CONTINUE);
}

/* The message is over (aborted): its facts go, the client's stay. */
static sfsistat
filter_abort(SMFICTX *ctx)
{
	struct session *session;
	sfsistat status;

	if ((session = filter_enter(ctx, &status)) == NULL)
		return status;
	session->queue_id[0] = 0;
	session->sender[0] = 0;
	session->authenticated = false;
	filter_names_drop(session, DOMAIN_SENDER);
	return filter_leave(session, SMFIS_CONTINUE);
}

/* The session is over; once stopped, filter_stop() has freed it. */
static sfsistat
filter_close(SMFICTX *ctx)
{
	struct session *session;

	pthread_mutex_lock(&filter_sessions.lock);
	if (!filter_sessions.stopped
	    && (session = smfi_getpriv(ctx)) != NULL)
		filter_free(session);
	smfi_setpriv(ctx, NULL);
	pthread_mutex_unlock(&filter_sessions.lock);
	return SMFIS_CONTINUE;
}

int
filter_register(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_cond_init(&filter_sessions.idle, &attr) != 0) {
		pthread_condattr_destroy(&attr);
		return -1;
	}
	pthread_condattr_destroy(&attr);
	struct smfiDesc desc = {
		.xxfi_name = "rblmilter",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS,
		.xxfi_connect = filter_connect,
		.xxfi_helo = filter_helo,
		.xxfi_envfrom = filter_envfrom,
		.xxfi_envrcpt = filter_envrcpt,
		.xxfi_eom = filter_eom,
		.xxfi_abort = filter_abort,
		.xxfi_close = filter_close,
		.xxfi_data = filter_data,
		.xxfi_negotiate = filter_negotiate,
	};

	return smfi_register(desc) == MI_SUCCESS ? 0 : -1;
}

int
filter_run(struct worker *worker)
{
	filter_worker = worker;
	return smfi_main() == MI_SUCCESS ? 0 : -1;
}

/* Wait until no session is inside a callback, or ms passed (lock held). */
static void
filter_wait_idle(unsigned ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long) (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	while (filter_sessions.busy > 0
	       && pthread_cond_timedwait(&filter_sessions.idle,
					 &filter_sessions.lock,
					 &until) != ETIMEDOUT)
		;
}

unsigned
filter_stop(void)
{
	struct session *session;
	struct session *next;
	unsigned busy;

	pthread_mutex_lock(&filter_sessions.lock);
	filter_sessions.stopped = true;
	filter_wait_idle(FILTER_GRACE_MS);
	if (filter_sessions.busy > 0) {
		worker_abort(filter_worker);
		filter_wait_idle(FILTER_ABORT_MS);
	}
	for (session = filter_sessions.head; session != NULL; session = next) {
		next = session->next;
		if (!session->busy)
			filter_free(session);
	}
	busy = filter_sessions.busy;
	pthread_mutex_unlock(&filter_sessions.lock);
	return busy;
}
