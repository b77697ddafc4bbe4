/*
 * fleetprobe - one zone prober per fleet, through Redis.
 *
 * A round is claimed with SET PREFIX probe-lock:KIND TOKEN NX PX, for an
 * interval less a second, so that the holder may claim its own next
 * round and every host's round within the interval finds the lock taken.
 * The holder probes and SETs PREFIX probe:KIND to what the test points
 * answered (EX two intervals); the others GET that.  When the claim gets
 * no answer (Redis down or still connecting, as at start), the host
 * probes alone, as without Redis.  rspamd probed from every worker and
 * flooded resolvers: a fleet of N hosts sends one set of probes an
 * interval, not N.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide/fleetprobe.h"
#include "dnsbl/health.h"
#include "redis/store.h"

struct fleetprobe {
	struct store *store;
	struct health_fleet hooks;
	unsigned interval;		/* seconds between rounds */
	bool	closing;		/* the store is being freed */
	char	token[17];		/* in the locks this host takes */
	char	lock_key[300];		/* PREFIX probe-lock:KIND */
	char	key[300];		/* PREFIX probe:KIND */
};

/* A round left to this host alone (no answer from Redis). */
static void
fleetprobe_alone(struct fleetprobe *probe, struct health *health)
{
	if (!probe->closing)
		health_fetched(health, NULL, 0);
}

/* Context of a command: the prober and the health it answers. */
struct fleetprobe_call {
	struct fleetprobe *probe;
	struct health *health;
};

/* A command's context for health, or NULL when out of memory. */
static struct fleetprobe_call *
fleetprobe_call(struct fleetprobe *probe, struct health *health)
{
	struct fleetprobe_call *call;

	if ((call = malloc(sizeof(*call))) != NULL) {
		call->probe = probe;
		call->health = health;
	}
	return call;
}

/* The claim's answer: OK, the round is ours; nil, another host's. */
static void
fleetprobe_on_claim(redisReply *reply, void *arg)
{
	struct fleetprobe_call *call = arg;

	if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
		fleetprobe_alone(call->probe, call->health);
	else
		health_claimed(call->health, reply->type == REDIS_REPLY_STATUS);
	free(call);
}

/* Ask for the round. */
static void
fleetprobe_claim(void *arg, struct health *health)
{
	struct fleetprobe *probe = arg;
	struct fleetprobe_call *call = fleetprobe_call(probe, health);
	unsigned long ms = probe->interval > 1 ? (probe->interval - 1) * 1000UL
	    : 500;

	if (call == NULL
	    || store_command(probe->store, fleetprobe_on_claim, call,
			     "SET %s %s NX PX %lu", probe->lock_key,
			     probe->token, ms) < 0) {
		free(call);
		fleetprobe_alone(probe, health);
	}
}

/* Write the round for the others; nobody waits for the answer. */
static void
fleetprobe_publish(void *arg, struct health *health, const char *text)
{
	struct fleetprobe *probe = arg;

	(void) health;
	store_command(probe->store, NULL, NULL, "SET %s %s EX %lu", probe->key,
		      text, 2UL * probe->interval);
}

/* The prober's round, or nothing. */
static void
fleetprobe_on_fetch(redisReply *reply, void *arg)
{
	struct fleetprobe_call *call = arg;

	if (reply != NULL && reply->type == REDIS_REPLY_STRING)
		health_fetched(call->health, reply->str, reply->len);
	else
		fleetprobe_alone(call->probe, call->health);
	free(call);
}

/* Read the prober's round. */
static void
fleetprobe_fetch(void *arg, struct health *health)
{
	struct fleetprobe *probe = arg;
	struct fleetprobe_call *call = fleetprobe_call(probe, health);

	if (call == NULL
	    || store_command(probe->store, fleetprobe_on_fetch, call, "GET %s",
			     probe->key) < 0) {
		free(call);
		fleetprobe_alone(probe, health);
	}
}

struct fleetprobe *
fleetprobe_create(struct store *store, const char *prefix, const char *kind,
		  unsigned interval)
{
	struct fleetprobe *probe;

	if ((probe = calloc(1, sizeof(*probe))) == NULL)
		return NULL;
	probe->store = store;
	probe->interval = interval;
	probe->hooks.claim = fleetprobe_claim;
	probe->hooks.publish = fleetprobe_publish;
	probe->hooks.fetch = fleetprobe_fetch;
	probe->hooks.arg = probe;
	snprintf(probe->token, sizeof(probe->token), "%08" PRIx32 "%08" PRIx32,
		 arc4random(), arc4random());
	snprintf(probe->lock_key, sizeof(probe->lock_key), "%sprobe-lock:%s",
		 prefix, kind);
	snprintf(probe->key, sizeof(probe->key), "%sprobe:%s", prefix, kind);
	return probe;
}

const struct health_fleet *
fleetprobe_hooks(const struct fleetprobe *probe)
{
	return &probe->hooks;
}

void
fleetprobe_close(struct fleetprobe *probe)
{
	if (probe != NULL)
		probe->closing = true;
}

void
fleetprobe_free(struct fleetprobe *probe)
{
	free(probe);
}
