/*
 * health - is each DNSBL/DNSWL zone fit to be scored?  Every zone is
 * asked about the RFC 5782 test points (127.0.0.2 must be listed,
 * 127.0.0.1 must not; in a domain zone TEST and INVALID) at start and
 * then every dnsbl_health_interval.
 *
 * A zone that lists 127.0.0.1 lists the world; one that answers
 * 127.255.255.x, or outside 127/8, refuses us.  Both are taken out of
 * scoring until a probe finds them well again.  This module probes,
 * judges and logs; the engine skips the zones it takes out, and the
 * cache asks it which cached verdicts still hold.  It knows nothing of
 * Redis.
 */
#ifndef RBL_DNSBL_HEALTH_H
#define RBL_DNSBL_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

struct dnsbl_sites;
struct event_base;
struct health;
struct resolver;
struct verdict;

enum health_state {
	HEALTH_UNKNOWN,			/* no probe has told yet: scored */
	HEALTH_OK,			/* lists 127.0.0.2 (TEST), not
					 * 127.0.0.1 (INVALID) */
	HEALTH_NO_TEST_POINT,		/* lists neither: scored, warned */
	HEALTH_LISTING_WORLD,		/* lists 127.0.0.1 (INVALID): not
					 * scored */
	HEALTH_REFUSING,		/* 127.255.255.x or outside 127/8:
					 * not scored */
};

/* Room for health_describe(). */
#define HEALTH_TEXT_SIZE	128

/*
 * How the hosts of a fleet share one prober: at each round a host claims
 * the probing; the one that gets it probes and publishes what each test
 * point answered, the others take that.  This module knows no Redis: the
 * stack fills the hooks (decide/fleetprobe.c).  Each hook answers later,
 * from the loop, through health_claimed() or health_fetched().
 */
struct health_fleet {
	void	(*claim) (void *arg, struct health *health);
	void	(*publish) (void *arg, struct health *health, const char *text);
	void	(*fetch) (void *arg, struct health *health);
	void   *arg;
};

/*
 * Probe every zone of sites through resolver (both must outlive the
 * health) now and every interval seconds, from the loop; with fleet (or
 * NULL: alone), only when this host claimed the round.  NULL: no memory.
 */
struct health *health_create(struct event_base *base, struct resolver *resolver,
			     const struct dnsbl_sites *sites, unsigned interval,
			     const struct health_fleet *fleet);

/* The claim's answer: this host probes the round (mine) or another. */
void	health_claimed(struct health *health, bool mine);

/*
 * The fetch's answer: the text the prober published (NULL: none).  One
 * published less than an interval ago is taken as this host's round;
 * else (the prober is gone) this host probes, and publishes nothing.
 */
void	health_fetched(struct health *health, const char *text, size_t len);

/* After the resolver is gone: no probe may still be answered. */
void	health_free(struct health *health);

/* Has the first round of probes ended?  (Loop thread.) */
bool	health_probed(const struct health *health);

/* Any thread may ask. */
enum health_state health_state(const struct health *health, size_t zone);
bool	health_scoring(const struct health *health, size_t zone);

/*
 * Does verdict still hold, that is, does no zone now out of scoring list
 * the client or leave it unknown in it?  The health's zones are those of
 * the verdict from first on (a joined verdict's name zones follow its IP
 * zones).  Any thread may ask.
 */
bool	health_admits(const struct health *health,
		      const struct verdict *verdict, size_t first);

const char *health_state_name(enum health_state state);

/*
 * "listing-world since=TIME checked=TIME answer=127.0.0.2" for a zone,
 * times in UTC, ISO 8601.  (Loop thread.)
 */
void	health_describe(const struct health *health, size_t zone,
			char *buf, size_t size);

#endif
