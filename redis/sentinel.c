/*
 * sentinel - asks Redis Sentinels where the primary of a service is.
 *
 * Each question opens a short-lived connection to one sentinel and sends
 * SENTINEL get-master-addr-by-name; a sentinel that refuses, times out or
 * does not know the name hands the question to the next one.  Keeping no
 * connection open between questions is deliberate: questions are rare
 * (start, and each loss of the primary), and a stale connection to a
 * sentinel that was partitioned away would only add a failure mode.
 *
 * Sentinels are trusted to name an IP address and port; a reply that is
 * anything else counts as that sentinel's failure.  Sentinel AUTH is not
 * sent: sentinels that require a password are not supported.
 */
#include <ctype.h>
#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/sentinel.h"
#include "lib/addr.h"

/* More than this many sentinels for one service is a typo. */
#define SENTINEL_MAX	16

struct sentinel_addr {
	char	host[ADDR_TEXT_SIZE];
	unsigned port;
};

struct sentinel {
	struct event_base *base;
	const char *master_name;
	unsigned timeout_ms;
	struct sentinel_addr addr[SENTINEL_MAX];
	size_t	count;
	size_t	next;			/* asked first: the last to answer */
	size_t	tried;			/* in the current question */
	redisAsyncContext *ac;		/* to addr[next], while asking */
	struct event *deadline;		/* of the current sentinel */
	sentinel_fn *fn;		/* NULL when no question is open */
	void   *arg;
	char	err[200];		/* the last sentinel's failure */
};

static void sentinel_try(struct sentinel *);

/* Parse "ip:port" or "[ipv6]:port" into addr; 0 or -1. */
static int
sentinel_parse(char *entry, struct sentinel_addr *addr)
{
	struct addr parsed;
	char   *colon = strrchr(entry, ':');
	char   *end;
	long	port;

	if (colon == NULL)
		return -1;
	*colon = 0;
	port = strtol(colon + 1, &end, 10);
	if (!isdigit((unsigned char) colon[1]) || *end != 0 || port < 1
	    || port > 65535)
		return -1;
	if (*entry == '[' && colon[-1] == ']') {
		colon[-1] = 0;
		entry++;
	}
	if (addr_parse(entry, &parsed) < 0)
		return -1;
	addr_format(&parsed, addr->host);
	addr->port = (unsigned) port;
	return 0;
}

/* Close the current sentinel's connection (never inside its callback). */
static void
sentinel_close(struct sentinel *sentinel)
{
	redisAsyncContext *ac = sentinel->ac;

	sentinel->ac = NULL;
	event_del(sentinel->deadline);
	if (ac != NULL)
		redisAsyncFree(ac);
}

/* Close the question and give the answer. */
static void
sentinel_answer(struct sentinel *sentinel, const char *host, unsigned port)
{
	sentinel_fn *fn = sentinel->fn;

	sentinel->fn = NULL;
	event_del(sentinel->deadline);
	fn(host, port, host ? NULL : sentinel->err, sentinel->arg);
}

/* The current sentinel failed: say why and ask the next one. */
static void
sentinel_fail(struct sentinel *sentinel, const char *why)
{
	const struct sentinel_addr *addr = sentinel->addr + sentinel->next;

	snprintf(sentinel->err, sizeof(sentinel->err), "sentinel %s%s%s:%u: %s",
		 strchr(addr->host, ':') ? "[" : "", addr->host,
		 strchr(addr->host, ':') ? "]" : "", addr->port, why);
	sentinel->next = (sentinel->next + 1) % sentinel->count;
	sentinel->tried++;
	sentinel_try(sentinel);
}

/* The current sentinel took too long. */
static void
sentinel_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct sentinel *sentinel = arg;

	(void) fd;
	(void) what;
	sentinel_close(sentinel);
	sentinel_fail(sentinel, "no answer in time");
}

/* A reply that names an address: [ip, port]. */
static bool
sentinel_reply_ok(const redisReply *reply, struct sentinel_addr *addr)
{
	char	entry[ADDR_TEXT_SIZE + 8];

	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
	    || reply->elements != 2
	    || reply->element[0]->type != REDIS_REPLY_STRING
	    || reply->element[1]->type != REDIS_REPLY_STRING
	    || reply->element[0]->len + reply->element[1]->len + 3
	    >= sizeof(entry))
		return false;
	snprintf(entry, sizeof(entry), "[%s]:%s", reply->element[0]->str,
		 reply->element[1]->str);
	return sentinel_parse(entry, addr) == 0;
}

/* hiredis: the sentinel answered, or the connection went away (NULL). */
static void
sentinel_on_reply(redisAsyncContext *ac, void *data, void *privdata)
{
	struct sentinel *sentinel = privdata;
	redisReply *reply = data;
	struct sentinel_addr primary;
	char	why[200];

	if (ac != sentinel->ac || sentinel->fn == NULL)
		return;
	/* Inside hiredis' callback: disconnect, which frees ac afterwards. */
	sentinel->ac = NULL;
	redisAsyncDisconnect(ac);
	if (sentinel_reply_ok(reply, &primary)) {
		sentinel->tried = 0;
		sentinel_answer(sentinel, primary.host, primary.port);
		return;
	}
	if (reply == NULL)
		snprintf(why, sizeof(why), "%s", ac->errstr[0] ? ac->errstr
			 : "connection lost");
	else if (reply->type == REDIS_REPLY_ERROR)
		snprintf(why, sizeof(why), "%s", reply->str);
	else if (reply->type == REDIS_REPLY_NIL)
		snprintf(why, sizeof(why), "does not monitor \"%s\"",
			 sentinel->master_name);
	else
		snprintf(why, sizeof(why), "no IP address and port in its "
			 "answer");
	event_del(sentinel->deadline);
	sentinel_fail(sentinel, why);
}

/* hiredis: the connection to the sentinel is up, or failed. */
static void
sentinel_on_connect(const redisAsyncContext *ac, int status)
{
	struct sentinel *sentinel = ac->data;

	if (ac != sentinel->ac || status == REDIS_OK)
		return;
	/* hiredis frees ac after this returns. */
	sentinel->ac = NULL;
	event_del(sentinel->deadline);
	sentinel_fail(sentinel, ac->errstr);
}

/* Ask the next sentinel not yet tried, or answer that none could say. */
static void
sentinel_try(struct sentinel *sentinel)
{
	const struct sentinel_addr *addr;
	struct timeval tv = {sentinel->timeout_ms / 1000,
	(sentinel->timeout_ms % 1000) * 1000};
	redisAsyncContext *ac;
	char	why[200];

	if (sentinel->tried == sentinel->count) {
		sentinel->tried = 0;
		sentinel_answer(sentinel, NULL, 0);
		return;
	}
	addr = sentinel->addr + sentinel->next;
	if ((ac = redisAsyncConnect(addr->host, (int) addr->port)) == NULL) {
		sentinel_fail(sentinel, "out of memory");
		return;
	}
	ac->data = sentinel;
	if (ac->err != 0 || redisLibeventAttach(ac, sentinel->base) != REDIS_OK
	    || redisAsyncSetConnectCallback(ac, sentinel_on_connect) != REDIS_OK
	    || redisAsyncCommand(ac, sentinel_on_reply, sentinel,
				 "SENTINEL get-master-addr-by-name %s",
				 sentinel->master_name) != REDIS_OK) {
		snprintf(why, sizeof(why), "%s", ac->err ? ac->errstr
			 : "cannot send");
		redisAsyncFree(ac);
		sentinel_fail(sentinel, why);
		return;
	}
	sentinel->ac = ac;
	evtimer_add(sentinel->deadline, &tv);
}

struct sentinel *
sentinel_create(struct event_base *base, const char *list,
		const char *master_name, unsigned timeout_ms,
		char *err, size_t errlen)
{
	struct sentinel *sentinel;
	char   *copy;
	char   *entry;
	char   *save;

	if ((sentinel = calloc(1, sizeof(*sentinel))) == NULL
	    || (copy = strdup(list)) == NULL) {
		free(sentinel);
		snprintf(err, errlen, "redis_sentinels: out of memory");
		return NULL;
	}
	sentinel->base = base;
	sentinel->master_name = master_name;
	sentinel->timeout_ms = timeout_ms;
	for (entry = strtok_r(copy, ",", &save); entry != NULL;
	     entry = strtok_r(NULL, ",", &save)) {
		if (sentinel->count == SENTINEL_MAX) {
			snprintf(err, errlen, "redis_sentinels: more than %d",
				 SENTINEL_MAX);
			goto fail;
		}
		if (sentinel_parse(entry, sentinel->addr + sentinel->count) < 0) {
			snprintf(err, errlen, "redis_sentinels: \"%s\" is not "
				 "ip:port or [ipv6]:port", entry);
			goto fail;
		}
		sentinel->count++;
	}
	if (sentinel->count == 0) {
		snprintf(err, errlen, "redis_sentinels is empty");
		goto fail;
	}
	if ((sentinel->deadline = evtimer_new(base, sentinel_on_deadline,
					      sentinel)) == NULL) {
		snprintf(err, errlen, "redis_sentinels: out of memory");
		goto fail;
	}
	free(copy);
	return sentinel;

fail:
	free(copy);
	free(sentinel);
	return NULL;
}

void
sentinel_free(struct sentinel *sentinel)
{
	if (sentinel == NULL)
		return;
	sentinel_close(sentinel);
	event_free(sentinel->deadline);
	free(sentinel);
}

void
sentinel_ask(struct sentinel *sentinel, sentinel_fn *fn, void *arg)
{
	sentinel->fn = fn;
	sentinel->arg = arg;
	sentinel->tried = 0;
	sentinel_try(sentinel);
}
