/*
 * listener - keeps a listening socket of the loop thread (the policy
 * service, the metrics endpoint) from spinning when accept() fails.
 */
#ifndef RBL_RUNTIME_LISTENER_H
#define RBL_RUNTIME_LISTENER_H

struct evconnlistener;
struct listener_guard;

/*
 * Guard listener (which must outlive the guard); name begins its log
 * lines ("policy").  NULL: out of memory.
 */
struct listener_guard *listener_guard_create(struct evconnlistener *listener,
					     const char *name);

/*
 * accept() failed (errno says why): call from the listener's error
 * callback.  Listening pauses a moment; the first failure is logged.
 */
void	listener_guard_failed(struct listener_guard *guard);

/* A connection came: after a failure, say that it works again. */
void	listener_guard_accepted(struct listener_guard *guard);

void	listener_guard_free(struct listener_guard *guard);

#endif
