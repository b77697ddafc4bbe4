/*
 * codec - a verdict as text, for the memory cache and Redis.
 *
 * Only what DNS said is stored: per zone, pass, the listing answers (and
 * TXT), or why it is unknown; plus an absolute expiry.  Scores are worked
 * out again from the answers at decode time, so a value edited by hand
 * can never claim a score the zones did not give.  The cache key carries
 * a hash of the configuration, so the zone order always matches.
 */
#ifndef RBL_CACHE_CODEC_H
#define RBL_CACHE_CODEC_H

#include <stddef.h>
#include <time.h>

struct dnsbl_sites;
struct verdict;

/* Text for verdict, valid until expires (malloc'd), or NULL. */
char   *codec_encode(const struct verdict *verdict, time_t expires);

/*
 * The verdict in text, or NULL with the reason in err: not one of ours,
 * not for this zone list, or expired at now (err then empty).
 */
struct verdict *codec_decode(const char *text, size_t len,
			     const struct dnsbl_sites *sites, time_t now,
			     char *err, size_t errlen);

#endif
