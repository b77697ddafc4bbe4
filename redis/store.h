/*
 * store - the Redis connection: non-blocking commands with a deadline.
 *
 * hiredis' async API on the caller's libevent loop.  Every command ends,
 * within redis_timeout, with its reply or with NULL; while Redis is down
 * commands are refused at once, and the connection is retried with
 * backoff.  One line is logged when Redis goes down, one when it is back,
 * and one when Redis Sentinel names a new primary.
 * What the keys mean is the callers' business.
 */
#ifndef RBL_REDIS_STORE_H
#define RBL_REDIS_STORE_H

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stddef.h>

struct event_base;
struct store;

/*
 * The strings must outlive the store.  With sentinels, host and port are
 * not used: the sentinels name the primary of master_name, and are asked
 * again each time the connection is lost or the server stops being the
 * primary (a write answered READONLY).
 */
struct store_options {
	const char *host;		/* IP address, or a unix socket path */
	unsigned port;			/* 0 for a unix socket */
	const char *sentinels;		/* "ip:port,[ipv6]:port", or "" */
	const char *master_name;	/* with sentinels */
	const char *username;		/* ACL user, or "" */
	const char *password;		/* AUTH password, or "" */
	unsigned db;			/* SELECT, when not 0 */
	unsigned timeout_ms;		/* deadline of every command */
	void	(*failed)(void);	/* called for each command that
					 * failed: refused while down, no
					 * reply in time, an error reply; or
					 * NULL */
};

enum store_state {
	STORE_CONNECTING,		/* first attempt under way */
	STORE_READY,			/* commands are taken */
	STORE_DOWN,			/* refused; a retry is scheduled */
};

/* The reply, or NULL: no answer in time, connection lost or refused. */
typedef void store_reply_fn(redisReply *reply, void *arg);

/* Starts connecting; NULL with err when out of memory. */
struct store *store_create(struct event_base *base,
			   const struct store_options *options,
			   char *err, size_t errlen);

/* Pending commands get their NULL reply before this returns. */
void	store_free(struct store *store);

enum store_state store_state(const struct store *store);

/*
 * Where commands go while the store is ready (the primary, with
 * sentinels): host and port as in store_options, valid until the store
 * next reconnects; the options give the login.  NULL when not ready.
 */
const struct store_options *store_target(const struct store *store,
					 const char **host, unsigned *port);

/*
 * Start a hiredis connection to host:port (port 0: a unix socket path)
 * on base, with data and the two callbacks set: what the store and any
 * other connection to the same server (watch.c) open alike.  NULL, with
 * why, when it cannot even start.
 */
redisAsyncContext *store_dial(struct event_base *base, const char *host,
			      unsigned port, void *data,
			      redisConnectCallback *on_connect,
			      redisDisconnectCallback *on_disconnect,
			      char *why, size_t size);

/*
 * Send a command (hiredis format); fn, when not NULL, gets its reply once.
 * -1 when Redis is not ready: then fn is not called.
 */
int	store_command(struct store *store, store_reply_fn *fn, void *arg,
		      const char *format, ...);

#endif
