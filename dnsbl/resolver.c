/*
 * resolver - one c-ares channel driven by a libevent loop.
 *
 * Each socket c-ares opens gets a persistent libevent event, changed or
 * freed when c-ares reports a new socket state.  One timer follows
 * ares_timeout() so that retransmissions and timeouts happen without any
 * socket activity.  No select(), no ares_fds(): nothing here scans.
 */
#include <arpa/nameser.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsbl/resolver.h"

/* One c-ares socket and the loop event watching it. */
struct resolver_sock {
	ares_socket_t fd;
	short	what;			/* EV_READ and/or EV_WRITE */
	struct event *event;
	struct resolver_sock *next;
};

struct resolver {
	struct event_base *base;
	ares_channel channel;
	struct event *timer;		/* next c-ares timeout */
	struct resolver_sock *socks;	/* sockets c-ares has open */
	bool	failed;			/* a socket event could not be made */
};

/*
 * After any c-ares call: fail all queries if a socket could not be watched
 * (they would otherwise hang until their timeout), then re-arm the timer
 * to c-ares' next deadline, or stop it.
 */
static void
resolver_settle(struct resolver *resolver)
{
	struct timeval tv;

	if (resolver->failed) {
		resolver->failed = false;
		ares_cancel(resolver->channel);
	}
	if (ares_timeout(resolver->channel, NULL, &tv) != NULL)
		evtimer_add(resolver->timer, &tv);
	else
		evtimer_del(resolver->timer);
}

/* A c-ares socket is ready. */
static void
resolver_on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *resolver = arg;

	ares_process_fd(resolver->channel,
			(what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	resolver_settle(resolver);
}

/* c-ares' retransmission or timeout is due. */
static void
resolver_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *resolver = arg;

	(void) fd;
	(void) what;
	ares_process_fd(resolver->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_settle(resolver);
}

/* ARES_OPT_SOCK_STATE_CB: start, change or stop watching a socket. */
static void
resolver_sock_state(void *arg, ares_socket_t fd, int readable, int writable)
{
	struct resolver *resolver = arg;
	struct resolver_sock **link;
	struct resolver_sock *sock;
	short	what = (short) ((readable ? EV_READ : 0)
				| (writable ? EV_WRITE : 0));

	for (link = &resolver->socks; (sock = *link) != NULL;
	     link = &sock->next)
		if (sock->fd == fd)
			break;
	if (sock != NULL && sock->what == what)
		return;
	if (sock != NULL) {
		event_free(sock->event);
		if (what == 0) {
			*link = sock->next;
			free(sock);
			return;
		}
	} else if (what == 0) {
		return;
	} else if ((sock = calloc(1, sizeof(*sock))) != NULL) {
		sock->fd = fd;
		sock->next = resolver->socks;
		resolver->socks = sock;
	} else {
		resolver->failed = true;
		return;
	}
	sock->what = what;
	sock->event = event_new(resolver->base, fd, what | EV_PERSIST,
				resolver_on_sock, resolver);
	if (sock->event == NULL || event_add(sock->event, NULL) < 0)
		resolver->failed = true;
}

struct resolver *
resolver_create(struct event_base *base, const char *servers,
		unsigned try_ms, char *err, size_t errlen)
{
	struct ares_options options;
	struct resolver *resolver;
	int	status;

	if ((resolver = calloc(1, sizeof(*resolver))) == NULL) {
		snprintf(err, errlen, "resolver: out of memory");
		return NULL;
	}
	resolver->base = base;
	if ((status = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(status));
		free(resolver);
		return NULL;
	}
	memset(&options, 0, sizeof(options));
	/*
	 * NOCHECKRESP: a SERVFAIL or REFUSED from the resolver is its final
	 * word on that zone and is reported as such, instead of being turned
	 * into "could not contact DNS servers" after trying the others.
	 */
	options.flags = ARES_FLAG_NOALIASES | ARES_FLAG_NOSEARCH
	    | ARES_FLAG_NOCHECKRESP;
	options.timeout = (int) try_ms;
	options.tries = 2;
	options.sock_state_cb = resolver_sock_state;
	options.sock_state_cb_data = resolver;
	status = ares_init_options(&resolver->channel, &options,
				   ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS
				   | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB);
	if (status != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(status));
		ares_library_cleanup();
		free(resolver);
		return NULL;
	}
	if (*servers != 0
	    && (status = ares_set_servers_ports_csv(resolver->channel,
						    servers)) != ARES_SUCCESS) {
		snprintf(err, errlen, "dns_servers \"%s\": %s", servers,
			 ares_strerror(status));
		resolver_free(resolver);
		return NULL;
	}
	if ((resolver->timer = evtimer_new(base, resolver_on_timer,
					   resolver)) == NULL) {
		snprintf(err, errlen, "resolver: out of memory");
		resolver_free(resolver);
		return NULL;
	}
	return resolver;
}

void
resolver_free(struct resolver *resolver)
{
	struct resolver_sock *sock;

	ares_destroy(resolver->channel);
	ares_library_cleanup();
	while ((sock = resolver->socks) != NULL) {
		resolver->socks = sock->next;
		if (sock->event)
			event_free(sock->event);
		free(sock);
	}
	if (resolver->timer)
		event_free(resolver->timer);
	free(resolver);
}

void
resolver_query(struct resolver *resolver, const char *name, int type,
	       ares_callback callback, void *arg)
{
	ares_query(resolver->channel, name, ns_c_in, type, callback, arg);
	resolver_settle(resolver);
}
