/*
 * greylist - the state of greylisting: which triplets (client network,
 * envelope sender, recipient) were seen when, and which client networks
 * have retried properly and pass.
 *
 * It decides nothing about who is greylisted (decide/decision.c does) and
 * writes no reply; it says, for one triplet, whether this attempt is the
 * first, too early, or after the delay.  The state is the fleet's, in
 * Redis, so that a retry through any MX counts:
 *   PREFIX g:HASH      the first attempt's time (Unix seconds), with
 *                      greylist_max_wait as its TTL, made with SET NX so
 *                      that two hosts seeing the first attempt agree;
 *   PREFIX gp:NETWORK  a client network that retried properly, with
 *                      greylist_pass_ttl as its TTL, renewed by each pass.
 * Without Redis the same rules run on a table in memory (one host's view).
 * While Redis is configured but down, greylisting is off: a retry whose
 * first attempt cannot be read would otherwise be deferred forever.
 *
 * On the loop thread only; greylist_triplet() is pure and any thread may
 * call it.
 */
#ifndef RBL_GREYLIST_GREYLIST_H
#define RBL_GREYLIST_GREYLIST_H

#include <stdint.h>
#include <time.h>

#include "lib/addr.h"

struct store;
struct greylist;

/* What the state says of one attempt. */
enum greylist_outcome {
	GREYLIST_NONE,			/* not asked (not a grey client) */
	GREYLIST_NEW,			/* first attempt: defer */
	GREYLIST_EARLY,			/* retried before the delay: defer */
	GREYLIST_PASSED,		/* after the delay, or a network that
					 * passed before: accept */
	GREYLIST_OFF,			/* no state to ask (Redis down, an
					 * error, a table full): accept */
	GREYLIST_OUTCOMES		/* how many; stays last */
};

/* "new", "early", "passed" or "off" (the decision line's greylist=). */
const char *greylist_outcome_name(enum greylist_outcome outcome);

/* Room for a network's text: an IPv6 address, "/", 3 digits. */
#define GREYLIST_NETWORK_SIZE	(ADDR_TEXT_SIZE + 4)

/* One triplet, normalised. */
struct greylist_triplet {
	char	network[GREYLIST_NETWORK_SIZE];	/* "192.0.2.0/24" */
	uint64_t hash;			/* of network, sender and recipient,
					 * lower-cased, without <> */
};

/*
 * The triplet of client, sender and recipient (as the client gave them,
 * with or without <>; "" or "<>" for the null sender), the client's
 * network being bits_v4 or bits_v6 wide.
 */
void	greylist_triplet(struct greylist_triplet *triplet,
			 const struct addr *client, const char *sender,
			 const char *recipient, unsigned bits_v4,
			 unsigned bits_v6);

struct greylist_options {
	struct store *store;		/* NULL: state in memory */
	const char *prefix;		/* of the Redis keys */
	unsigned delay;			/* seconds before a retry passes */
	unsigned max_wait;		/* seconds a first attempt stays */
	unsigned pass_ttl;		/* seconds a network passes */
	unsigned memory_max;		/* entries of the memory table */
};

/* NULL with err when out of memory. */
struct greylist *greylist_create(const struct greylist_options *options,
				 char *err, size_t errlen);

/*
 * Free it after its store: store_free() ends the checks still waiting
 * for Redis (GREYLIST_OFF), and they use it.
 */
void	greylist_free(struct greylist *greylist);

/* The outcome of a check, and the seconds to wait (new and early). */
typedef void greylist_done_fn(enum greylist_outcome outcome, unsigned wait,
			      void *arg);

/*
 * Record an attempt of triplet at now and say what it is; done is called
 * once, maybe before this returns (memory, Redis down).  With Redis, done
 * comes within two commands' deadlines; any error is GREYLIST_OFF.
 */
void	greylist_check(struct greylist *greylist,
		       const struct greylist_triplet *triplet, time_t now,
		       greylist_done_fn *done, void *arg);

#endif
