/*
 * site - the dnsbl_sites and rhsbl_sites lists, in postscreen_dnsbl_sites
 * syntax.
 *
 * "zone[=filter][*weight]", separated by commas or white space.  The same
 * zone may appear with several filters; it is still queried once, and each
 * of its sites adds its weight once when any answer matches its filter.
 * dnsbl_sites' zones are asked about client IPs, rhsbl_sites' about domain
 * names; a decision scores both, as one joined list.  This module parses
 * and scores; it sends no query.
 */
#ifndef RBL_DNSBL_SITE_H
#define RBL_DNSBL_SITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* More sites than this is a configuration mistake, not a policy. */
#define DNSBL_MAX_SITES		64

/* Weights beyond this could overflow a score; postscreen uses far less. */
#define DNSBL_MAX_WEIGHT	1000000

struct dnsbl_sites;

/* What a zone is asked about. */
enum dnsbl_kind {
	DNSBL_IPS,			/* dnsbl_sites: client IPs, reversed */
	DNSBL_NAMES,			/* rhsbl_sites: domain names */
};

/*
 * Parse a site list, which may be empty; on error -1 and a message naming
 * the bad entry.
 */
int	dnsbl_sites_parse(const char *text, enum dnsbl_kind kind,
			  struct dnsbl_sites **sites, char *err, size_t errlen);
void	dnsbl_sites_free(struct dnsbl_sites *sites);

/*
 * Apply dnsbl_reply_map, "zone = name, ..." (white space around "=" is
 * optional), to count lists: the name shown for a zone whose queried name
 * holds a secret, such as a Spamhaus DQS key.  Each zone must be in one
 * of the lists, once.  0, or -1 with a message that does not quote a
 * whole zone name.
 */
int	dnsbl_sites_map(struct dnsbl_sites *const *lists, size_t count,
			const char *text, char *err, size_t errlen);

/*
 * The zones of ips, then those of names, as one list (a copy, with the
 * shown names): the zones one decision scores.  NULL with err when the
 * two name more than DNSBL_MAX_SITES sites together, or out of memory.
 */
struct dnsbl_sites *dnsbl_sites_join(const struct dnsbl_sites *ips,
				     const struct dnsbl_sites *names,
				     char *err, size_t errlen);

/* What zone is asked about. */
enum dnsbl_kind dnsbl_sites_kind(const struct dnsbl_sites *sites,
				 size_t zone);

/*
 * Append shadow's zones to sites as shadow zones (dnsbl_shadow_sites,
 * rhsbl_shadow_sites): asked with the others, never scored.  -1 with err
 * when a zone is in both, or there would be more than DNSBL_MAX_SITES.
 */
int	dnsbl_sites_append_shadow(struct dnsbl_sites *sites,
				  const struct dnsbl_sites *shadow,
				  char *err, size_t errlen);

/* Is zone a shadow zone? */
bool	dnsbl_sites_shadow(const struct dnsbl_sites *sites, size_t zone);

/*
 * Distinct zones, in order of first appearance.  dnsbl_sites_zone() is the
 * name for replies, headers, logs and counters (mapped); only queries use
 * dnsbl_sites_query_zone(), the name as configured.
 */
size_t	dnsbl_sites_zone_count(const struct dnsbl_sites *sites);
const char *dnsbl_sites_zone(const struct dnsbl_sites *sites, size_t zone);
const char *dnsbl_sites_query_zone(const struct dnsbl_sites *sites,
				   size_t zone);

/* A hash of zones, filters and weights: equal for equal lists. */
uint64_t dnsbl_sites_hash(const struct dnsbl_sites *sites);

/*
 * Score one zone's valid answers (4-byte IPv4 each): the sum of the weights
 * of its sites whose filter matches any answer.  Returns whether any did.
 * (A joined list scores the answers of all of a decision's names at once,
 * so that each site counts once per decision.)
 */
bool	dnsbl_sites_score(const struct dnsbl_sites *sites, size_t zone,
			  const unsigned char (*answers)[4], size_t count,
			  int *score);

#endif
