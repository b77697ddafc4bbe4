/*
 * greylist - the state of greylisting, in Redis or in memory.
 *
 * One set of rules (greylist_rule()) for both: an attempt whose triplet
 * has no first attempt younger than greylist_max_wait is new; one before
 * greylist_delay has passed since the first is early; one after it passes,
 * and its network with it for greylist_pass_ttl, renewed by each pass.
 *
 * In Redis a check is at most three commands, one after the other: EXISTS
 * on the network's pass, then SET NX of the triplet's first attempt (so
 * that of two hosts seeing it at once one makes it, and the other reads
 * the same time), then GET when the triplet was there.  The time of the
 * first attempt is each host's clock: hosts of a fleet keep time with NTP,
 * and a second of skew moves a retry by a second.  Any error is "off":
 * greylisting that cannot read its state would defer retries forever.
 */
#include <ctype.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "greylist/greylist.h"
#include "lib/domain.h"
#include "lib/hash.h"
#include "lib/msg.h"
#include "redis/store.h"

/* One entry of the memory table: a triplet's first attempt, or a pass. */
struct greylist_entry {
	uint64_t key;			/* the triplet's hash, or the
					 * network's (greylist_pass_key()) */
	time_t	first;			/* first attempt (Unix seconds) */
	time_t	expires;		/* gone from then on */
	struct greylist_entry *next;	/* in its bucket */
};

struct greylist {
	struct greylist_options options;
	struct greylist_entry **bucket;	/* the memory table, without Redis */
	size_t	buckets;
	size_t	entries;
	bool	off_said;		/* "greylisting is off" was logged and
					 * Redis has not answered since */
	struct msg_limit full;		/* the memory table is full */
	struct msg_limit bad_value;	/* a g: key that is not a time */
};

/* A check waiting for Redis. */
struct greylist_ask {
	struct greylist *greylist;
	struct greylist_triplet triplet;
	time_t	now;
	greylist_done_fn *done;
	void   *arg;
};

const char *
greylist_outcome_name(enum greylist_outcome outcome)
{
	static const char *const names[] = {
		[GREYLIST_NONE] = "none",
		[GREYLIST_NEW] = "new",
		[GREYLIST_EARLY] = "early",
		[GREYLIST_PASSED] = "passed",
		[GREYLIST_OFF] = "off",
	};

	return names[outcome];
}

/* Append an address to the hash, lower-cased and without <>. */
static uint64_t
greylist_hash_address(uint64_t hash, const char *address)
{
	unsigned char lower;
	size_t	len;
	size_t	i;

	address = domain_unbracket(address, &len);
	for (i = 0; i < len; i++) {
		lower = (unsigned char) tolower((unsigned char) address[i]);
		hash = hash_bytes(hash, &lower, 1);
	}
	/* A separator no address holds: "a" "bc" is not "ab" "c". */
	return hash_bytes(hash, "", 1);
}

void
greylist_triplet(struct greylist_triplet *triplet, const struct addr *client,
		 const char *sender, const char *recipient, unsigned bits_v4,
		 unsigned bits_v6)
{
	struct addr network = *client;
	unsigned bits = client->family == AF_INET ? bits_v4 : bits_v6;
	char	ip[ADDR_TEXT_SIZE];

	addr_mask(&network, bits);
	snprintf(triplet->network, sizeof(triplet->network), "%s/%u",
		 addr_format(&network, ip), bits);
	triplet->hash = hash_bytes(HASH_SEED, triplet->network,
				   strlen(triplet->network) + 1);
	triplet->hash = greylist_hash_address(triplet->hash, sender);
	triplet->hash = greylist_hash_address(triplet->hash, recipient);
}

struct greylist *
greylist_create(const struct greylist_options *options, char *err,
		size_t errlen)
{
	struct greylist *greylist;

	if ((greylist = calloc(1, sizeof(*greylist))) == NULL)
		goto nomem;
	greylist->options = *options;
	if (options->store == NULL) {
		greylist->buckets = options->memory_max / 4 + 1;
		if ((greylist->bucket = calloc(greylist->buckets,
					       sizeof(*greylist->bucket)))
		    == NULL)
			goto nomem;
		msg_warn("greylisting: no redis_server, so the greylisting "
			 "state is this host's only; a fleet behind a load "
			 "balancer needs Redis, or a retry through another "
			 "MX is greylisted again");
	}
	return greylist;

nomem:
	free(greylist);
	snprintf(err, errlen, "greylisting: out of memory");
	return NULL;
}

void
greylist_free(struct greylist *greylist)
{
	struct greylist_entry *entry;
	size_t	i;

	if (greylist == NULL)
		return;
	for (i = 0; i < greylist->buckets; i++) {
		while ((entry = greylist->bucket[i]) != NULL) {
			greylist->bucket[i] = entry->next;
			free(entry);
		}
	}
	free(greylist->bucket);
	free(greylist);
}

/*
 * The rules, on the first attempt's time: new (again, when it is older
 * than greylist_max_wait), early with the seconds left, or passed.
 */
static enum greylist_outcome
greylist_rule(const struct greylist *greylist, time_t first, time_t now,
	      unsigned *wait)
{
	time_t	elapsed = now > first ? now - first : 0;

	*wait = 0;
	if (elapsed >= (time_t) greylist->options.max_wait) {
		*wait = greylist->options.delay;
		return GREYLIST_NEW;
	}
	if (elapsed < (time_t) greylist->options.delay) {
		*wait = greylist->options.delay - (unsigned) elapsed;
		return GREYLIST_EARLY;
	}
	return GREYLIST_PASSED;
}

/* The memory table's key of a network's pass. */
static uint64_t
greylist_pass_key(const struct greylist_triplet *triplet)
{
	return hash_bytes(hash_bytes(HASH_SEED, "gp:", 3), triplet->network,
			  strlen(triplet->network));
}

/*
 * The live entry of key in the memory table, or NULL; expired entries of
 * its bucket go on the way.
 */
static struct greylist_entry *
greylist_find(struct greylist *greylist, uint64_t key, time_t now)
{
	struct greylist_entry **link = greylist->bucket
	    + key % greylist->buckets;
	struct greylist_entry *entry;
	struct greylist_entry *found = NULL;

	while ((entry = *link) != NULL) {
		if (entry->expires <= now) {
			*link = entry->next;
			free(entry);
			greylist->entries--;
			continue;
		}
		if (entry->key == key)
			found = entry;
		link = &entry->next;
	}
	return found;
}

/* Set key's entry in the memory table; -1 when full or out of memory. */
static int
greylist_put(struct greylist *greylist, uint64_t key, time_t first,
	     time_t expires)
{
	struct greylist_entry *entry = greylist_find(greylist, key, first);
	size_t	slot = key % greylist->buckets;

	if (entry == NULL) {
		if (greylist->entries >= greylist->options.memory_max
		    || (entry = calloc(1, sizeof(*entry))) == NULL) {
			msg_warn_limited(&greylist->full, 60, "greylisting: the "
					 "memory table is full (%u entries): "
					 "new triplets are not greylisted",
					 greylist->options.memory_max);
			return -1;
		}
		entry->key = key;
		entry->next = greylist->bucket[slot];
		greylist->bucket[slot] = entry;
		greylist->entries++;
	}
	entry->first = first;
	entry->expires = expires;
	return 0;
}

/* A check on the memory table. */
static enum greylist_outcome
greylist_memory(struct greylist *greylist,
		const struct greylist_triplet *triplet, time_t now,
		unsigned *wait)
{
	const struct greylist_options *o = &greylist->options;
	struct greylist_entry *entry;
	enum greylist_outcome outcome;

	*wait = 0;
	if ((entry = greylist_find(greylist, greylist_pass_key(triplet), now))
	    != NULL) {
		entry->expires = now + o->pass_ttl;
		return GREYLIST_PASSED;
	}
	entry = greylist_find(greylist, triplet->hash, now);
	outcome = greylist_rule(greylist, entry != NULL ? entry->first : 0,
				now, wait);
	if (outcome == GREYLIST_NEW
	    && greylist_put(greylist, triplet->hash, now, now + o->max_wait) < 0) {
		*wait = 0;
		return GREYLIST_OFF;
	}
	if (outcome == GREYLIST_PASSED)
		(void) greylist_put(greylist, greylist_pass_key(triplet), now,
				    now + o->pass_ttl);
	return outcome;
}

/* Redis answered, or did not: say so once per change. */
static void
greylist_redis_state(struct greylist *greylist, bool answered)
{
	if (answered && greylist->off_said) {
		msg_info("greylisting: Redis answers again; greylisting is "
			 "back on");
		greylist->off_said = false;
	} else if (!answered && !greylist->off_said) {
		msg_warn("greylisting: Redis does not answer; greylisting is "
			 "off (clients pass) until it does");
		greylist->off_said = true;
	}
}

/* End a Redis check with outcome, and free it. */
static void
greylist_end(struct greylist_ask *ask, enum greylist_outcome outcome,
	     unsigned wait)
{
	ask->done(outcome, wait, ask->arg);
	free(ask);
}

/* Redis gave no answer (NULL) or an error: the check is off. */
static void
greylist_fail(struct greylist_ask *ask)
{
	greylist_redis_state(ask->greylist, false);
	greylist_end(ask, GREYLIST_OFF, 0);
}

/*
 * Set the triplet's first attempt (NX: only when there is none, or
 * overwriting one past greylist_max_wait); fn gets the reply.
 */
static int
greylist_set_first(struct greylist_ask *ask, bool nx, store_reply_fn *fn)
{
	const struct greylist_options *o = &ask->greylist->options;

	return store_command(o->store, fn, ask, nx ? "SET %sg:%016llx %lld "
			     "EX %u NX" : "SET %sg:%016llx %lld EX %u",
			     o->prefix, (unsigned long long) ask->triplet.hash,
			     (long long) ask->now, o->max_wait);
}

/* After the delay: the network passes from now on. */
static void
greylist_pass(struct greylist_ask *ask)
{
	const struct greylist_options *o = &ask->greylist->options;

	(void) store_command(o->store, NULL, NULL, "SET %sgp:%s %lld EX %u",
			     o->prefix, ask->triplet.network,
			     (long long) ask->now, o->pass_ttl);
}

/* The first attempt's time, the triplet having one. */
static void
greylist_on_first(redisReply *reply, void *arg)
{
	struct greylist_ask *ask = arg;
	struct greylist *greylist = ask->greylist;
	enum greylist_outcome outcome;
	unsigned wait;
	long long first;
	char   *end;

	if (reply == NULL) {
		greylist_fail(ask);
		return;
	}
	/* It answered, if only with an error (a key of another type). */
	greylist_redis_state(greylist, true);
	if (reply->type == REDIS_REPLY_NIL) {
		/* Gone between SET and GET: its TTL ended, so a new one. */
		(void) greylist_set_first(ask, true, NULL);
		greylist_end(ask, GREYLIST_NEW, greylist->options.delay);
		return;
	}
	errno = 0;
	first = reply->type == REDIS_REPLY_STRING ?
	    strtoll(reply->str, &end, 10) : -1;
	if (reply->type != REDIS_REPLY_STRING || *reply->str == 0 || *end != 0
	    || errno != 0 || first < 0) {
		msg_warn_limited(&greylist->bad_value, 60, "greylisting: "
				 "%sg:%016llx does not hold a time: that "
				 "recipient is not greylisted",
				 greylist->options.prefix,
				 (unsigned long long) ask->triplet.hash);
		greylist_end(ask, GREYLIST_OFF, 0);
		return;
	}
	outcome = greylist_rule(greylist, (time_t) first, ask->now, &wait);
	if (outcome == GREYLIST_NEW)
		(void) greylist_set_first(ask, false, NULL);
	else if (outcome == GREYLIST_PASSED)
		greylist_pass(ask);
	greylist_end(ask, outcome, wait);
}

/* SET NX answered: the first attempt is this one, or read the other's. */
static void
greylist_on_set(redisReply *reply, void *arg)
{
	struct greylist_ask *ask = arg;
	const struct greylist_options *o = &ask->greylist->options;

	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		greylist_fail(ask);
	} else if (reply->type == REDIS_REPLY_STATUS) {
		greylist_redis_state(ask->greylist, true);
		greylist_end(ask, GREYLIST_NEW, o->delay);
	} else if (store_command(o->store, greylist_on_first, ask,
				 "GET %sg:%016llx", o->prefix,
				 (unsigned long long) ask->triplet.hash) < 0) {
		greylist_fail(ask);
	}
}

/* Has the network passed? */
static void
greylist_on_pass(redisReply *reply, void *arg)
{
	struct greylist_ask *ask = arg;
	const struct greylist_options *o = &ask->greylist->options;

	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
		greylist_fail(ask);
	} else if (reply->integer == 1) {
		greylist_redis_state(ask->greylist, true);
		(void) store_command(o->store, NULL, NULL, "EXPIRE %sgp:%s %u",
				     o->prefix, ask->triplet.network,
				     o->pass_ttl);
		greylist_end(ask, GREYLIST_PASSED, 0);
	} else if (greylist_set_first(ask, true, greylist_on_set) < 0) {
		greylist_fail(ask);
	}
}

void
greylist_check(struct greylist *greylist,
	       const struct greylist_triplet *triplet, time_t now,
	       greylist_done_fn *done, void *arg)
{
	const struct greylist_options *o = &greylist->options;
	struct greylist_ask *ask;
	enum greylist_outcome outcome;
	unsigned wait;

	if (o->store == NULL) {
		outcome = greylist_memory(greylist, triplet, now, &wait);
		done(outcome, wait, arg);
		return;
	}
	if (store_state(o->store) != STORE_READY) {
		greylist_redis_state(greylist, false);
		done(GREYLIST_OFF, 0, arg);
		return;
	}
	if ((ask = calloc(1, sizeof(*ask))) == NULL) {
		msg_warn("greylisting: out of memory: a recipient is not "
			 "greylisted");
		done(GREYLIST_OFF, 0, arg);
		return;
	}
	ask->greylist = greylist;
	ask->triplet = *triplet;
	ask->now = now;
	ask->done = done;
	ask->arg = arg;
	if (store_command(o->store, greylist_on_pass, ask, "EXISTS %sgp:%s",
			  o->prefix, triplet->network) < 0)
		greylist_fail(ask);
}
