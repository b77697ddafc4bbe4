/*
 * server - the Postfix policy service (check_policy_service): requests
 * in, the same decisions as the milter out, on the daemon's loop thread.
 *
 * Connections are libevent bufferevents, so thousands of idle Postfix
 * connections cost memory, not threads.  A connection handles one request
 * at a time: while its lookup runs it reads no more, which also bounds
 * what a client flooding requests can make us hold.  Bad input (a NUL
 * byte, a line over 4 KiB, a request over 64 KiB) is logged and the
 * connection closed, as SMTPD_POLICY_README advises; a request without a
 * usable client_address is answered DUNNO.
 *
 * When accept() fails (no descriptor left, ulimit -n), listening pauses a
 * moment (runtime/listener.c): libevent would otherwise retry at once,
 * spinning the loop thread that every lookup needs.
 *
 * Answers: a reject is "action=550 5.7.1 text" (access(5)'s numeric form,
 * so that the code is the milter's), a tempfail or a greylisted recipient
 * DEFER_IF_PERMIT (the convention of greylisting policy services), a tag
 * PREPEND X-RBL-Check, anything else DUNNO.  A request with
 * policy_context=relay (from smtpd_relay_restrictions) asks only whether
 * the client may relay: OK when the relay list (or SASL) says so, else
 * DUNNO, so that reject_unauth_destination refuses foreign recipients.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lists/lists.h"
#include "decide/stack.h"
#include "conf/config.h"
#include "decide/decision.h"
#include "decide/gather.h"
#include "decide/logline.h"
#include "dnsbl/verdict.h"
#include "lib/addr.h"
#include "lib/msg.h"
#include "runtime/listener.h"
#include "runtime/worker.h"
#include "policy/request.h"
#include "policy/server.h"
#include "stats/metrics.h"

/* An idle Postfix connection is closed after this (Postfix: 300 s). */
#define POLICY_IDLE_S	600

struct policy_conn;

struct policy_server {
	struct evconnlistener *listener;
	struct listener_guard *guard;	/* pauses it when accept() fails */
	struct worker *worker;
	struct policy_conn *conns;	/* open connections */
	struct msg_limit no_client;	/* requests without a client: said
					 * once a minute */
};

/* One connection from Postfix. */
struct policy_conn {
	struct policy_server *server;
	struct bufferevent *bev;
	struct policy_request request;	/* being read, or being decided */
	struct generation *generation;	/* while a lookup runs */
	struct addr addr;
	unsigned lists;
	bool	pending;		/* a lookup or a greylisting check
					 * runs: read nothing more */
	struct verdict *verdict;	/* the request's, once looked up */
	enum cache_level level;		/* where it came from */
	struct decision decision;	/* while greylisting is asked */
	bool	asking;			/* inside stack_greylist(), which may
					 * answer before it returns */
	struct timespec asked;		/* when it started (CLOCK_MONOTONIC) */
	bool	gone;			/* closed while a lookup ran */
	struct policy_conn *next;	/* in server->conns */
	struct policy_conn **prev;
};

static void policy_on_read(struct bufferevent *, void *);

/* The SMTP stage of a protocol_state, or -1 for none we judge. */
static int
policy_stage(const char *state)
{
	static const struct {
		const char *name;
		int	stage;
	} states[] = {
		{"CONNECT", STAGE_CONNECT}, {"EHLO", STAGE_HELO},
		{"HELO", STAGE_HELO}, {"MAIL", STAGE_MAIL}, {"RCPT", STAGE_RCPT},
	};
	size_t	i;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(state, states[i].name) == 0)
			return states[i].stage;
	return -1;
}

/* Close a connection; one whose lookup runs is freed by its callback. */
static void
policy_close(struct policy_conn *conn)
{
	if (conn->prev != NULL) {
		*conn->prev = conn->next;
		if (conn->next != NULL)
			conn->next->prev = conn->prev;
		conn->prev = NULL;
		metrics_gauge_add(METRICS_POLICY_CONNECTIONS, -1);
	}
	if (conn->bev != NULL)
		bufferevent_free(conn->bev);
	conn->bev = NULL;
	if (conn->pending)
		conn->gone = true;
	else
		free(conn);
}

/* The request is over: its verdict and generation go. */
static void
policy_done(struct policy_conn *conn)
{
	verdict_free(conn->verdict);
	conn->verdict = NULL;
	worker_release(conn->generation);
	conn->generation = NULL;
}

/* Read the next request, the one before being over. */
static void
policy_resume(struct policy_conn *conn)
{
	request_init(&conn->request);
	bufferevent_enable(conn->bev, EV_READ);
	policy_on_read(conn->bev, conn);
}

/* Write the answer for a decision. */
static void
policy_answer(struct policy_conn *conn, const struct decision *decision)
{
	struct evbuffer *out = bufferevent_get_output(conn->bev);

	switch (decision->action) {
	case DECISION_REJECT:
		evbuffer_add_printf(out, "action=%s %s %s\n\n", decision->code,
				    decision->dsn, decision->text);
		return;
	case DECISION_TEMPFAIL:
		evbuffer_add_printf(out, "action=DEFER_IF_PERMIT %s %s\n\n",
				    decision->dsn, decision->text);
		return;
	case DECISION_TAG:
		evbuffer_add_printf(out, "action=PREPEND X-RBL-Check: %s\n\n",
				    decision->header);
		return;
	case DECISION_RELAY_OK:
		evbuffer_add_printf(out, "action=OK\n\n");
		return;
	case DECISION_CONTINUE:
	case DECISION_GREYLIST:		/* settled before an answer */
		break;
	}
	evbuffer_add_printf(out, "action=DUNNO\n\n");
}

/* The decision line of a decision. */
static void
policy_log(const struct policy_conn *conn, const struct config *config,
	   const struct verdict *verdict, enum cache_level level,
	   const struct decision *decision, int stage)
{
	const struct policy_request *request = &conn->request;
	struct logline line = {
		.front = LOGLINE_POLICY,
		.queue_id = request->queue_id,
		.client = &conn->addr,
		.daemon = "",
		.helo = request->helo_name,
		.stage = stage,
		.decision = decision,
		.lists = conn->lists,
		.rcpt = request->recipient[0] ? request->recipient : NULL,
		.verdict = verdict,
		.level = level,
		.sites = config->scored_sites,
	};

	logline_write(&line);
}

/* Answer, log and count the decision; the request is over. */
static void
policy_finish(struct policy_conn *conn, const struct decision *decision,
	      int stage)
{
	const struct config *config = generation_config(conn->generation);

	policy_answer(conn, decision);
	if (!decision_silent(decision)) {
		policy_log(conn, config, conn->verdict, conn->level, decision,
			   stage);
		stack_count_decision(generation_stack(conn->generation),
				     decision, conn->verdict);
		metrics_count_decision(METRICS_POLICY, decision_kind(decision),
				       decision->reason);
	}
	policy_done(conn);
}

/* The greylisting state answered: finish the decision with it. */
static void
policy_on_greylist(enum greylist_outcome outcome, unsigned wait, void *arg)
{
	struct policy_conn *conn = arg;

	conn->pending = false;
	if (conn->gone) {
		policy_done(conn);
		free(conn);
		return;
	}
	decision_greylist(&conn->decision, NULL, outcome, wait);
	policy_finish(conn, &conn->decision, STAGE_RCPT);
	if (!conn->asking)
		policy_resume(conn);
}

/*
 * Decide on the request's verdict; answer now, or once the greylisting
 * state has (then pending, and policy_on_greylist() goes on).
 */
static void
policy_decide(struct policy_conn *conn)
{
	const struct config *config = generation_config(conn->generation);
	struct decision_facts facts = {0};
	struct greylist_triplet triplet;

	facts.client = &conn->addr;
	facts.lists = conn->lists;
	facts.verdict = conn->verdict;
	facts.authenticated = conn->request.sasl_username[0] != 0;
	facts.stage = policy_stage(conn->request.protocol_state);
	facts.recipient = conn->request.recipient[0] ?
	    conn->request.recipient : NULL;
	facts.relay_question = strcmp(conn->request.policy_context,
				      "relay") == 0;
	decide(config, &facts, &conn->decision);
	if (conn->decision.action != DECISION_GREYLIST) {
		policy_finish(conn, &conn->decision, facts.stage);
		return;
	}
	stack_greylist_triplet(generation_stack(conn->generation), &conn->addr,
			       conn->request.sender, conn->request.recipient,
			       &triplet);
	conn->pending = true;
	conn->asking = true;
	bufferevent_disable(conn->bev, EV_READ);
	stack_greylist(generation_stack(conn->generation), &triplet,
		       policy_on_greylist, conn);
	conn->asking = false;
	if (!conn->pending)
		bufferevent_enable(conn->bev, EV_READ);
}

/* The verdict of a lookup a request waited for. */
static void
policy_on_verdict(struct verdict *verdict, enum cache_level level, void *arg)
{
	struct policy_conn *conn = arg;

	conn->pending = false;
	conn->verdict = verdict;
	conn->level = level;
	metrics_session_wait(METRICS_POLICY, &conn->asked);
	if (conn->gone) {
		policy_done(conn);
		free(conn);
		return;
	}
	policy_decide(conn);
	if (!conn->pending)
		policy_resume(conn);
}

/* Look the client's IP and names up (gather.h). */
static int
policy_lookup(struct policy_conn *conn, struct stack *stack)
{
	const struct policy_request *request = &conn->request;
	char	ip[ADDR_TEXT_SIZE];
	struct gather_client client = {
		.ip = addr_format(&conn->addr, ip),
		.given = {
			[DOMAIN_HELO] = request->helo_name,
			[DOMAIN_SENDER] = request->sender,
			[DOMAIN_CLIENT] = request->client_name,
		},
	};

	clock_gettime(CLOCK_MONOTONIC, &conn->asked);
	return gather_lookup(stack, &client, policy_on_verdict, conn);
}

/* A whole request: decide now, or after its lookup. */
static void
policy_request(struct policy_conn *conn)
{
	struct stack *stack;
	int	stage = policy_stage(conn->request.protocol_state);

	conn->generation = worker_acquire(conn->server->worker);
	stack = generation_stack(conn->generation);
	if (addr_parse(conn->request.client_address, &conn->addr) < 0) {
		msg_warn_limited(&conn->server->no_client, 60, "policy request "
				 "without a usable client_address (\"%.64s\"): "
				 "DUNNO", conn->request.client_address);
		evbuffer_add_printf(bufferevent_get_output(conn->bev),
				    "action=DUNNO\n\n");
		worker_release(conn->generation);
		conn->generation = NULL;
		return;
	}
	conn->lists = stack_lists(stack, &conn->addr);
	if (stage == generation_config(conn->generation)->reject_stage
	    && strcmp(conn->request.policy_context, "relay") != 0
	    && !(conn->lists & (LIST_ALLOW | LIST_DENY))
	    && conn->request.sasl_username[0] == 0) {
		stack_count(stack, STATS_CONNECTIONS);
		stack_count_lists(stack, conn->lists);
		conn->pending = true;
		bufferevent_disable(conn->bev, EV_READ);
		if (policy_lookup(conn, stack) == 0)
			return;
		conn->pending = false;
		bufferevent_enable(conn->bev, EV_READ);
	}
	conn->level = CACHE_MISS;
	policy_decide(conn);
}

/* Input: parse as far as it goes, one request at a time. */
static void
policy_on_read(struct bufferevent *bev, void *arg)
{
	struct policy_conn *conn = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec chunk;
	enum request_status status;
	const char *err = NULL;
	size_t	used;

	while (!conn->pending && evbuffer_peek(in, -1, NULL, &chunk, 1) > 0) {
		status = request_feed(&conn->request, chunk.iov_base,
				      chunk.iov_len, &used, &err);
		if (status == REQUEST_BAD) {
			msg_warn("policy client: %s; connection closed", err);
			policy_close(conn);
			return;
		}
		evbuffer_drain(in, used);
		if (status == REQUEST_DONE) {
			policy_request(conn);
			if (!conn->pending)
				request_init(&conn->request);
		}
	}
}

/* The peer closed, or an error or the idle timeout. */
static void
policy_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct policy_conn *conn = arg;

	(void) bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		policy_close(conn);
}

/* A new connection from Postfix. */
static void
policy_on_accept(struct evconnlistener *listener, evutil_socket_t fd,
		 struct sockaddr *sa, int len, void *arg)
{
	struct policy_server *server = arg;
	struct timeval idle = {POLICY_IDLE_S, 0};
	struct policy_conn *conn;

	(void) sa;
	(void) len;
	listener_guard_accepted(server->guard);
	if ((conn = calloc(1, sizeof(*conn))) == NULL
	    || (conn->bev = bufferevent_socket_new(
			evconnlistener_get_base(listener), fd,
			BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		msg_warn("policy: out of memory; connection refused");
		evutil_closesocket(fd);
		free(conn);
		return;
	}
	conn->server = server;
	conn->next = server->conns;
	if (conn->next != NULL)
		conn->next->prev = &conn->next;
	conn->prev = &server->conns;
	server->conns = conn;
	metrics_gauge_add(METRICS_POLICY_CONNECTIONS, 1);
	request_init(&conn->request);
	bufferevent_setcb(conn->bev, policy_on_read, NULL, policy_on_event,
			  conn);
	bufferevent_set_timeouts(conn->bev, &idle, NULL);
	bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
}

/* accept() failed: pause listening, so that the loop does not spin. */
static void
policy_on_accept_error(struct evconnlistener *listener, void *arg)
{
	struct policy_server *server = arg;

	(void) listener;
	listener_guard_failed(server->guard);
}

struct policy_server *
policy_server_create(struct event_base *base, struct worker *worker, int fd,
		     char *err, size_t errlen)
{
	struct policy_server *server;

	if ((server = calloc(1, sizeof(*server))) == NULL) {
		snprintf(err, errlen, "policy: out of memory");
		return NULL;
	}
	server->worker = worker;
	server->listener = evconnlistener_new(base, policy_on_accept, server,
					      LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (server->listener == NULL
	    || (server->guard = listener_guard_create(server->listener,
						      "policy")) == NULL) {
		snprintf(err, errlen, "policy: cannot listen");
		if (server->listener != NULL)
			evconnlistener_free(server->listener);
		free(server);
		return NULL;
	}
	evconnlistener_set_error_cb(server->listener, policy_on_accept_error);
	return server;
}

void
policy_server_free(struct policy_server *server)
{
	if (server == NULL)
		return;
	listener_guard_free(server->guard);
	evconnlistener_free(server->listener);
	while (server->conns != NULL)
		policy_close(server->conns);
	free(server);
}
