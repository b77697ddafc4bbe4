/*
 * resolver - one c-ares channel driven by a libevent loop.
 *
 * c-ares 1.18 has no event thread: its sockets are registered with the
 * loop through ARES_OPT_SOCK_STATE_CB and its retransmissions run from one
 * loop timer.  This module sends queries and delivers replies; it does not
 * know what a DNSBL is.
 */
#ifndef RBL_DNSBL_RESOLVER_H
#define RBL_DNSBL_RESOLVER_H

#include <ares.h>
#include <stddef.h>

struct event_base;
struct resolver;

/*
 * servers: "ip[:port],[v6]:port,..." or "" for /etc/resolv.conf.  The
 * per-try timeout is try_ms; c-ares retries once more after it.
 */
struct resolver *resolver_create(struct event_base *base, const char *servers,
				 unsigned try_ms, char *err, size_t errlen);

/* Pending queries complete with ARES_EDESTRUCTION before this returns. */
void	resolver_free(struct resolver *resolver);

/*
 * Send a class IN query.  The callback normally runs from the loop, but
 * runs before this returns when the query fails at once (no memory).
 */
void	resolver_query(struct resolver *resolver, const char *name, int type,
		       ares_callback callback, void *arg);

#endif
