/*
 * site - the dnsbl_sites and rhsbl_sites lists, in postscreen_dnsbl_sites
 * syntax.
 *
 * As in postscreen, the weight follows the last "*" and the filter the
 * first "="; a missing weight is 1 and a missing filter matches any answer.
 * Zone names are checked here, at configuration time, so that the lookup
 * engine can build query names without failing: a zone must leave room for
 * the 64-byte reversed IPv6 prefix within DNS's 253-byte name limit.
 * The same limit holds for name zones: it leaves 63 bytes for the name,
 * and a longer name the engine does not ask (its registrable domain is
 * asked too, and is short).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsbl/replyfilter.h"
#include "dnsbl/site.h"
#include "lib/hash.h"

/* Between entries of dnsbl_sites and of dnsbl_reply_map. */
#define SITE_SEPARATORS	", \t\r\n"

/* Longest zone that still fits an IPv6 query name (253 - 64). */
#define SITE_MAX_ZONE	189

struct site {
	size_t	zone;			/* index into dnsbl_sites.zone */
	char   *filter_text;		/* as written, or NULL for none */
	struct dnsbl_filter filter;	/* compiled filter_text */
	int	weight;			/* added once when the filter matches */
};

struct dnsbl_sites {
	struct site site[DNSBL_MAX_SITES];	/* in configuration order */
	size_t	site_count;
	char   *zone[DNSBL_MAX_SITES];	/* distinct, lower case, no final dot */
	char   *shown[DNSBL_MAX_SITES];	/* dnsbl_reply_map name, or NULL */
	enum dnsbl_kind kind[DNSBL_MAX_SITES];	/* what each zone is asked */
	bool	shadow[DNSBL_MAX_SITES];	/* asked, never scored */
	size_t	zone_count;
};

/* The setting a list of kind is written in, for messages. */
static const char *
site_setting(enum dnsbl_kind kind)
{
	return kind == DNSBL_NAMES ? "rhsbl_sites" : "dnsbl_sites";
}

void
dnsbl_sites_free(struct dnsbl_sites *sites)
{
	size_t	i;

	if (sites == NULL)
		return;
	for (i = 0; i < sites->site_count; i++)
		free(sites->site[i].filter_text);
	for (i = 0; i < sites->zone_count; i++) {
		free(sites->zone[i]);
		free(sites->shown[i]);
	}
	free(sites);
}

/*
 * Validate and normalise a zone name in place; 0 or -1 with err, which
 * names the setting (what) and quotes the entry as written.
 */
static int
site_zone_check(char *zone, const char *what, const char *entry,
		char *err, size_t errlen)
{
	size_t	len = strlen(zone);
	size_t	label = 0;
	char   *cp;

	if (len > 0 && zone[len - 1] == '.')
		zone[--len] = 0;
	if (len == 0) {
		snprintf(err, errlen, "%s entry \"%s\": missing zone "
			 "name", what, entry);
		return -1;
	}
	if (len > 253) {
		snprintf(err, errlen, "%s entry \"%.40s...\": zone "
			 "name is %zu bytes, over the 253-byte DNS limit",
			 what, entry, len);
		return -1;
	}
	if (len > SITE_MAX_ZONE) {
		snprintf(err, errlen, "%s entry \"%.40s...\": zone "
			 "name is %zu bytes; with a reversed IPv6 address the "
			 "query name would exceed 253 bytes (limit %d)",
			 what, entry, len, SITE_MAX_ZONE);
		return -1;
	}
	for (cp = zone; *cp; cp++) {
		if (*cp == '.') {
			if (label == 0)
				goto empty_label;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char) *cp) && *cp != '-' && *cp != '_') {
			snprintf(err, errlen, "%s entry \"%s\": "
				 "invalid character '%c' in zone name",
				 what, entry, *cp);
			return -1;
		}
		if (++label > 63) {
			snprintf(err, errlen, "%s entry \"%s\": zone "
				 "label longer than 63 bytes", what, entry);
			return -1;
		}
		*cp = (char) tolower((unsigned char) *cp);
	}
	if (label == 0)
		goto empty_label;
	return 0;

empty_label:
	snprintf(err, errlen, "%s entry \"%s\": empty label in zone "
		 "name", what, entry);
	return -1;
}

/* Parse "*weight" text; 0 or -1 with err. */
static int
site_weight(const char *text, const char *entry, int *weight,
	    char *err, size_t errlen)
{
	char   *end;
	long	value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (*text == 0 || *end != 0 || errno != 0) {
		snprintf(err, errlen, "dnsbl_sites entry \"%s\": weight \"%s\" "
			 "is not an integer", entry, text);
		return -1;
	}
	if (value > DNSBL_MAX_WEIGHT || value < -DNSBL_MAX_WEIGHT) {
		snprintf(err, errlen, "dnsbl_sites entry \"%s\": weight %ld is "
			 "outside -%d..%d", entry, value, DNSBL_MAX_WEIGHT,
			 DNSBL_MAX_WEIGHT);
		return -1;
	}
	*weight = (int) value;
	return 0;
}

/* Index of zone in the distinct-zone table, adding it (taking ownership). */
static size_t
site_zone_index(struct dnsbl_sites *sites, char *zone, enum dnsbl_kind kind)
{
	size_t	i;

	for (i = 0; i < sites->zone_count; i++) {
		if (strcmp(sites->zone[i], zone) == 0) {
			free(zone);
			return i;
		}
	}
	sites->zone[sites->zone_count] = zone;
	sites->kind[sites->zone_count] = kind;
	return sites->zone_count++;
}

/* Parse one "zone[=filter][*weight]" entry; it is modified.  0 or -1. */
static int
site_add(struct dnsbl_sites *sites, enum dnsbl_kind kind, char *entry,
	 char *err, size_t errlen)
{
	const char *what = site_setting(kind);
	struct site *site;
	char   *copy;
	char   *star;
	char   *equals;
	char   *zone;

	if (sites->site_count >= DNSBL_MAX_SITES) {
		snprintf(err, errlen, "%s: more than %d entries", what,
			 DNSBL_MAX_SITES);
		return -1;
	}
	/* Messages quote the entry as written. */
	if ((copy = strdup(entry)) == NULL)
		goto nomem;
	site = sites->site + sites->site_count;
	site->weight = 1;
	if ((star = strrchr(entry, '*')) != NULL) {
		*star = 0;
		if (site_weight(star + 1, copy, &site->weight, err, errlen) < 0)
			goto fail;
	}
	if ((equals = strchr(entry, '=')) != NULL) {
		*equals = 0;
		if (equals[1] == 0) {
			snprintf(err, errlen, "%s entry \"%s\": empty "
				 "filter after \"=\"", what, copy);
			goto fail;
		}
		if (dnsbl_filter_parse(equals + 1, &site->filter,
				       err, errlen) < 0)
			goto fail;
		if ((site->filter_text = strdup(equals + 1)) == NULL)
			goto nomem;
	}
	if (site_zone_check(entry, what, copy, err, errlen) < 0)
		goto fail;
	if ((zone = strdup(entry)) == NULL)
		goto nomem;
	site->zone = site_zone_index(sites, zone, kind);
	sites->site_count++;
	free(copy);
	return 0;

nomem:
	snprintf(err, errlen, "%s: out of memory", what);
fail:
	free(sites->site[sites->site_count].filter_text);
	sites->site[sites->site_count].filter_text = NULL;
	free(copy);
	return -1;
}

int
dnsbl_sites_parse(const char *text, enum dnsbl_kind kind,
		  struct dnsbl_sites **result, char *err, size_t errlen)
{
	struct dnsbl_sites *sites;
	char   *copy;
	char   *entry;
	char   *save;

	if ((sites = calloc(1, sizeof(*sites))) == NULL
	    || (copy = strdup(text)) == NULL) {
		free(sites);
		snprintf(err, errlen, "%s: out of memory", site_setting(kind));
		return -1;
	}
	for (entry = strtok_r(copy, SITE_SEPARATORS, &save); entry != NULL;
	     entry = strtok_r(NULL, SITE_SEPARATORS, &save)) {
		if (site_add(sites, kind, entry, err, errlen) < 0) {
			free(copy);
			dnsbl_sites_free(sites);
			return -1;
		}
	}
	free(copy);
	*result = sites;
	return 0;
}

size_t
dnsbl_sites_zone_count(const struct dnsbl_sites *sites)
{
	return sites->zone_count;
}

const char *
dnsbl_sites_zone(const struct dnsbl_sites *sites, size_t zone)
{
	return sites->shown[zone] != NULL ? sites->shown[zone]
	    : sites->zone[zone];
}

const char *
dnsbl_sites_query_zone(const struct dnsbl_sites *sites, size_t zone)
{
	return sites->zone[zone];
}

/*
 * Copy text without the white space around each "=", so that the table
 * form "zone = name" reads like the list form "zone=name".
 */
static char *
site_map_squeeze(const char *text)
{
	const char *cp;
	const char *next;
	char   *copy;
	char   *out;

	if ((copy = malloc(strlen(text) + 1)) == NULL)
		return NULL;
	out = copy;
	for (cp = text; *cp; cp++) {
		if (isspace((unsigned char) *cp)) {
			next = cp + strspn(cp, " \t\r\n");
			if (*next == '=' || (out > copy && out[-1] == '='))
				continue;
		}
		*out++ = *cp;
	}
	*out = 0;
	return copy;
}

/* Apply one "zone=name" entry of the map; it is modified.  0 or -1. */
static int
site_map_entry(struct dnsbl_sites *const *lists, size_t count, char *entry,
	       char *err, size_t errlen)
{
	struct dnsbl_sites *sites = NULL;
	char	quoted[64];
	char   *equals;
	char   *shown;
	size_t	list;
	size_t	i = 0;

	/* Quote only the start: the zone part is where a DQS key sits. */
	snprintf(quoted, sizeof(quoted), "%.20s...", entry);
	if ((equals = strchr(entry, '=')) == NULL || equals[1] == 0) {
		snprintf(err, errlen, "dnsbl_reply_map entry \"%s\": write "
			 "\"zone = name shown\"", quoted);
		return -1;
	}
	*equals = 0;
	if (site_zone_check(entry, "dnsbl_reply_map", quoted, err, errlen) < 0
	    || site_zone_check(equals + 1, "dnsbl_reply_map", quoted,
			       err, errlen) < 0)
		return -1;
	for (list = 0; list < count && sites == NULL; list++)
		for (i = 0; i < lists[list]->zone_count; i++)
			if (strcmp(lists[list]->zone[i], entry) == 0) {
				sites = lists[list];
				break;
			}
	if (sites == NULL) {
		snprintf(err, errlen, "dnsbl_reply_map entry \"%s\": that zone "
			 "is not in dnsbl_sites or rhsbl_sites", quoted);
		return -1;
	}
	if (sites->shown[i] != NULL) {
		snprintf(err, errlen, "dnsbl_reply_map entry \"%s\": that zone "
			 "is mapped twice", quoted);
		return -1;
	}
	if ((shown = strdup(equals + 1)) == NULL) {
		snprintf(err, errlen, "dnsbl_reply_map: out of memory");
		return -1;
	}
	sites->shown[i] = shown;
	return 0;
}

int
dnsbl_sites_map(struct dnsbl_sites *const *lists, size_t count,
		const char *text, char *err, size_t errlen)
{
	char   *copy;
	char   *entry;
	char   *save;
	int	status = 0;

	if ((copy = site_map_squeeze(text)) == NULL) {
		snprintf(err, errlen, "dnsbl_reply_map: out of memory");
		return -1;
	}
	for (entry = strtok_r(copy, SITE_SEPARATORS, &save);
	     entry != NULL && status == 0;
	     entry = strtok_r(NULL, SITE_SEPARATORS, &save))
		status = site_map_entry(lists, count, entry, err, errlen);
	free(copy);
	return status;
}

/*
 * Append src's zones and sites to dst (room checked by the caller), as
 * shadow zones when shadow is set; 0, or -1 when out of memory.
 */
static int
site_append(struct dnsbl_sites *dst, const struct dnsbl_sites *src,
	    bool shadow)
{
	size_t	first = dst->zone_count;
	struct site *site;
	size_t	i;

	for (i = 0; i < src->zone_count; i++) {
		dst->kind[first + i] = src->kind[i];
		dst->shadow[first + i] = src->shadow[i] || shadow;
		if ((dst->zone[first + i] = strdup(src->zone[i])) == NULL)
			return -1;
		dst->zone_count++;
		if (src->shown[i] != NULL
		    && (dst->shown[first + i] = strdup(src->shown[i])) == NULL)
			return -1;
	}
	for (i = 0; i < src->site_count; i++) {
		site = dst->site + dst->site_count;
		*site = src->site[i];
		site->zone += first;
		site->filter_text = NULL;
		if (src->site[i].filter_text != NULL
		    && (site->filter_text = strdup(src->site[i].filter_text))
		    == NULL)
			return -1;
		dst->site_count++;
	}
	return 0;
}

struct dnsbl_sites *
dnsbl_sites_join(const struct dnsbl_sites *ips, const struct dnsbl_sites *names,
		 char *err, size_t errlen)
{
	struct dnsbl_sites *joined;

	if (ips->site_count + names->site_count > DNSBL_MAX_SITES) {
		snprintf(err, errlen, "dnsbl_sites and rhsbl_sites name more "
			 "than %d entries together", DNSBL_MAX_SITES);
		return NULL;
	}
	if ((joined = calloc(1, sizeof(*joined))) == NULL
	    || site_append(joined, ips, false) < 0
	    || site_append(joined, names, false) < 0) {
		dnsbl_sites_free(joined);
		snprintf(err, errlen, "dnsbl_sites: out of memory");
		return NULL;
	}
	return joined;
}

enum dnsbl_kind
dnsbl_sites_kind(const struct dnsbl_sites *sites, size_t zone)
{
	return sites->kind[zone];
}

int
dnsbl_sites_append_shadow(struct dnsbl_sites *sites,
			  const struct dnsbl_sites *shadow, char *err,
			  size_t errlen)
{
	const char *what = site_setting(shadow->zone_count > 0 ?
					shadow->kind[0] : DNSBL_IPS);
	size_t	i;
	size_t	j;

	if (sites->site_count + shadow->site_count > DNSBL_MAX_SITES) {
		snprintf(err, errlen, "%s and its shadow sites name more than %d "
			 "entries together", what, DNSBL_MAX_SITES);
		return -1;
	}
	for (i = 0; i < shadow->zone_count; i++)
		for (j = 0; j < sites->zone_count; j++)
			if (strcmp(sites->zone[j], shadow->zone[i]) == 0) {
				snprintf(err, errlen, "zone %s is both scored "
					 "(%s) and a shadow zone",
					 dnsbl_sites_zone(shadow, i), what);
				return -1;
			}
	if (site_append(sites, shadow, true) < 0) {
		snprintf(err, errlen, "%s: out of memory", what);
		return -1;
	}
	return 0;
}

bool
dnsbl_sites_shadow(const struct dnsbl_sites *sites, size_t zone)
{
	return sites->shadow[zone];
}

bool
dnsbl_sites_score(const struct dnsbl_sites *sites, size_t zone,
		  const unsigned char (*answers)[4], size_t count, int *score)
{
	const struct site *site;
	bool	matched = false;
	size_t	i;
	size_t	j;

	*score = 0;
	for (i = 0; i < sites->site_count; i++) {
		site = sites->site + i;
		if (site->zone != zone)
			continue;
		for (j = 0; j < count; j++) {
			if (site->filter_text == NULL
			    || dnsbl_filter_match(&site->filter, answers[j])) {
				*score += site->weight;
				matched = true;
				break;
			}
		}
	}
	return matched;
}

uint64_t
dnsbl_sites_hash(const struct dnsbl_sites *sites)
{
	const struct site *site;
	uint64_t hash = HASH_SEED;
	size_t	i;

	/* The compiled filter, not its text: "[2..3]" equals "[2;3]". */
	for (i = 0; i < sites->site_count; i++) {
		site = sites->site + i;
		hash = hash_bytes(hash, sites->zone[site->zone],
				       strlen(sites->zone[site->zone]) + 1);
		if (site->filter_text != NULL)
			hash = hash_bytes(hash, &site->filter,
					       sizeof(site->filter));
		hash = hash_bytes(hash, &site->weight, sizeof(site->weight));
		hash = hash_bytes(hash, &sites->shadow[site->zone],
				  sizeof(sites->shadow[site->zone]));
	}
	return hash;
}
