/*
 * listener - keeps a listening socket of the loop thread from spinning
 * when accept() fails.
 *
 * When accept() fails for want of a descriptor (ulimit -n), the socket
 * stays readable and libevent would try again at once, spinning the
 * loop thread that every lookup needs, with a warning per try.  So
 * listening pauses for LISTENER_PAUSE_MS, and the failure is logged once
 * until a connection is accepted again.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/msg.h"
#include "runtime/listener.h"

/* How long listening pauses after accept() failed. */
#define LISTENER_PAUSE_MS	100

struct listener_guard {
	struct evconnlistener *listener;
	struct event *resume;		/* ends a pause */
	bool	failing;		/* accept() failed, and it was logged */
	char	name[32];		/* of the service, for the log */
};

/* The pause is over. */
static void
listener_on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener_guard *guard = arg;

	(void) fd;
	(void) what;
	if (evconnlistener_enable(guard->listener) < 0)
		msg_warn("%s: cannot listen again", guard->name);
}

struct listener_guard *
listener_guard_create(struct evconnlistener *listener, const char *name)
{
	struct listener_guard *guard;

	if ((guard = calloc(1, sizeof(*guard))) == NULL)
		return NULL;
	guard->listener = listener;
	snprintf(guard->name, sizeof(guard->name), "%s", name);
	if ((guard->resume = evtimer_new(evconnlistener_get_base(listener),
					 listener_on_resume, guard)) == NULL) {
		free(guard);
		return NULL;
	}
	return guard;
}

void
listener_guard_failed(struct listener_guard *guard)
{
	struct timeval pause = {0, LISTENER_PAUSE_MS * 1000};
	int	err = errno;

	if (!guard->failing)
		msg_warn("%s: cannot accept connections: %s; trying again "
			 "every %d ms", guard->name, strerror(err),
			 LISTENER_PAUSE_MS);
	guard->failing = true;
	if (evconnlistener_disable(guard->listener) < 0
	    || evtimer_add(guard->resume, &pause) < 0)
		msg_warn("%s: cannot pause listening", guard->name);
}

void
listener_guard_accepted(struct listener_guard *guard)
{
	if (!guard->failing)
		return;
	msg_info("%s: accepting connections again", guard->name);
	guard->failing = false;
}

void
listener_guard_free(struct listener_guard *guard)
{
	if (guard == NULL)
		return;
	event_free(guard->resume);
	free(guard);
}
