/*
 * verdict - what the DNSBL/DNSWL zones said about one client IP, or the
 * domain zones about one name, or both joined for one decision.
 *
 * Formatting lives here so that --check, the milter and the policy
 * service print a verdict the same way and a log grep works across them.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/kvline.h"
#include "dnsbl/site.h"
#include "dnsbl/verdict.h"

struct verdict *
verdict_create(size_t zone_count)
{
	struct verdict *verdict;
	size_t	i;

	verdict = calloc(1, sizeof(*verdict)
			 + zone_count * sizeof(verdict->zone[0]));
	if (verdict == NULL)
		return NULL;
	verdict->zone_count = zone_count;
	for (i = 0; i < zone_count; i++)
		snprintf(verdict->zone[i].reason, VERDICT_REASON_SIZE,
			 "timeout");
	return verdict;
}

void
verdict_free(struct verdict *verdict)
{
	size_t	i;

	if (verdict == NULL)
		return;
	for (i = 0; i < verdict->zone_count; i++) {
		free(verdict->zone[i].text);
		free(verdict->zone[i].hits);
	}
	free(verdict);
}

/* A copy of a zone's hits, or NULL when out of memory. */
static struct verdict_hit *
verdict_hits_copy(const struct verdict_zone *zone)
{
	struct verdict_hit *hits;

	if ((hits = calloc(zone->hit_count, sizeof(*hits))) != NULL)
		memcpy(hits, zone->hits, zone->hit_count * sizeof(*hits));
	return hits;
}

/*
 * Copy src to dst with a text and hits of its own; -1 when out of memory,
 * with dst still safe to free.
 */
static int
verdict_zone_copy(struct verdict_zone *dst, const struct verdict_zone *src)
{
	*dst = *src;
	dst->text = NULL;
	dst->hits = NULL;
	if ((src->text != NULL && (dst->text = strdup(src->text)) == NULL)
	    || (src->hit_count > 0
		&& (dst->hits = verdict_hits_copy(src)) == NULL))
		return -1;
	return 0;
}

struct verdict *
verdict_clone(const struct verdict *verdict)
{
	struct verdict *copy;
	size_t	i;

	if ((copy = calloc(1, sizeof(*verdict) + verdict->zone_count
			   * sizeof(verdict->zone[0]))) == NULL)
		return NULL;
	memcpy(copy, verdict, sizeof(*verdict));
	for (i = 0; i < copy->zone_count; i++) {
		if (verdict_zone_copy(copy->zone + i, verdict->zone + i) < 0) {
			verdict_free(copy);
			return NULL;
		}
	}
	return copy;
}

void
verdict_sum(struct verdict *verdict, const struct dnsbl_sites *sites)
{
	struct verdict_zone *zone;
	size_t	i;

	verdict->score = 0;
	verdict->complete = true;
	for (i = 0; i < verdict->zone_count; i++) {
		zone = verdict->zone + i;
		if ((zone->shadow = dnsbl_sites_shadow(sites, i)))
			continue;
		verdict->score += zone->score;
		if (zone->state == VERDICT_ZONE_UNKNOWN)
			verdict->complete = false;
	}
}

bool
verdict_shadow(const struct verdict *verdict, int *score, bool *complete)
{
	bool	any = false;
	size_t	i;

	*score = verdict->score;
	*complete = verdict->complete;
	for (i = 0; i < verdict->zone_count; i++) {
		if (!verdict->zone[i].shadow)
			continue;
		any = true;
		*score += verdict->zone[i].score;
		if (verdict->zone[i].state == VERDICT_ZONE_UNKNOWN)
			*complete = false;
	}
	return any;
}

/* Join one domain zone's outcomes for the names into out (zeroed). */
static int
verdict_join_zone(const struct dnsbl_sites *sites, size_t index,
		  const struct verdict_name *names, size_t count,
		  struct verdict_zone *out)
{
	unsigned char answers[VERDICT_MAX_NAMES * VERDICT_MAX_ANSWERS][4];
	const struct verdict_zone *zone;
	struct verdict_hit *hit;
	size_t	used = 0;
	size_t	i;

	out->state = VERDICT_ZONE_PASS;
	for (i = 0; i < count; i++) {
		zone = names[i].verdict != NULL ? names[i].verdict->zone + index
		    : NULL;
		/* The decision waited for the slowest name asked in DNS. */
		if (zone != NULL && zone->answer_us > out->answer_us)
			out->answer_us = zone->answer_us;
		if (zone == NULL || zone->state == VERDICT_ZONE_UNKNOWN) {
			if (out->state == VERDICT_ZONE_PASS)
				snprintf(out->reason, VERDICT_REASON_SIZE, "%s",
					 zone != NULL ? zone->reason : "timeout");
			out->state = VERDICT_ZONE_UNKNOWN;
			continue;
		}
		if (zone->has_ttl && (!out->has_ttl || zone->ttl < out->ttl)) {
			out->ttl = zone->ttl;
			out->has_ttl = true;
		}
		if (zone->state != VERDICT_ZONE_LISTED)
			continue;
		if (out->hits == NULL
		    && (out->hits = calloc(count, sizeof(*out->hits))) == NULL)
			return -1;
		hit = out->hits + out->hit_count++;
		hit->role = names[i].role;
		snprintf(hit->name, sizeof(hit->name), "%s", names[i].name);
		hit->answer_count = zone->answer_count;
		memcpy(hit->answer, zone->answer, sizeof(hit->answer));
		memcpy(answers + used, zone->answer, zone->answer_count * 4);
		used += zone->answer_count;
		if (out->text == NULL && zone->text != NULL
		    && (out->text = strdup(zone->text)) == NULL)
			return -1;
	}
	if (out->hit_count == 0)
		return 0;
	/* A listing outweighs another name's silence. */
	out->state = dnsbl_sites_score(sites, index, (const unsigned char (*)[4])
				       answers, used, &out->score) ?
	    VERDICT_ZONE_LISTED : VERDICT_ZONE_PASS;
	out->answer_count = out->hits[0].answer_count;
	memcpy(out->answer, out->hits[0].answer, sizeof(out->answer));
	return 0;
}

struct verdict *
verdict_join(const struct verdict *ip, const struct dnsbl_sites *names_sites,
	     const struct verdict_name *names, size_t count)
{
	size_t	zones = dnsbl_sites_zone_count(names_sites);
	struct verdict *joined;
	struct verdict_zone *zone;
	size_t	i;

	if (count > VERDICT_MAX_NAMES)
		count = VERDICT_MAX_NAMES;
	if ((joined = verdict_create(ip->zone_count + zones)) == NULL)
		return NULL;
	joined->score = ip->score;
	joined->complete = ip->complete;
	joined->ttl = ip->ttl;
	joined->dns_ms = ip->dns_ms;
	for (i = 0; i < ip->zone_count; i++)
		if (verdict_zone_copy(joined->zone + i, ip->zone + i) < 0)
			goto nomem;
	for (i = 0; i < count; i++) {
		if (names[i].verdict == NULL)
			continue;
		if (names[i].verdict->ttl < joined->ttl)
			joined->ttl = names[i].verdict->ttl;
		if (names[i].verdict->dns_ms > joined->dns_ms)
			joined->dns_ms = names[i].verdict->dns_ms;
	}
	for (i = 0; i < zones; i++) {
		zone = joined->zone + ip->zone_count + i;
		memset(zone, 0, sizeof(*zone));
		if (verdict_join_zone(names_sites, i, names, count, zone) < 0)
			goto nomem;
		if ((zone->shadow = dnsbl_sites_shadow(names_sites, i)))
			continue;
		joined->score += zone->score;
		if (zone->state == VERDICT_ZONE_UNKNOWN)
			joined->complete = false;
	}
	return joined;

nomem:
	verdict_free(joined);
	return NULL;
}

enum verdict_result
verdict_zone_result(const struct verdict_zone *zone)
{
	static const struct {
		const char *reason;
		enum verdict_result result;
	} reasons[] = {
		{"timeout", VERDICT_RESULT_TIMEOUT},
		{"servfail", VERDICT_RESULT_SERVFAIL},
		{"refused", VERDICT_RESULT_REFUSED},
		{"bad-reply", VERDICT_RESULT_BAD_REPLY},
	};
	size_t	i;

	if (zone->state == VERDICT_ZONE_LISTED)
		return VERDICT_RESULT_LISTED;
	if (zone->state == VERDICT_ZONE_PASS)
		return VERDICT_RESULT_CLEAN;
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(zone->reason, reasons[i].reason) == 0)
			return reasons[i].result;
	/* A bogus answer is its reason: "127.255.255.254". */
	return isdigit((unsigned char) zone->reason[0]) ?
	    VERDICT_RESULT_ERROR_CODE : VERDICT_RESULT_ERROR;
}

const char *
verdict_result_name(enum verdict_result result)
{
	static const char *const names[VERDICT_RESULTS] = {
		[VERDICT_RESULT_LISTED] = "listed",
		[VERDICT_RESULT_CLEAN] = "clean",
		[VERDICT_RESULT_TIMEOUT] = "timeout",
		[VERDICT_RESULT_SERVFAIL] = "servfail",
		[VERDICT_RESULT_REFUSED] = "refused",
		[VERDICT_RESULT_ERROR_CODE] = "error-code",
		[VERDICT_RESULT_BAD_REPLY] = "bad-reply",
		[VERDICT_RESULT_ERROR] = "error",
	};

	return names[result];
}

enum verdict_rank
verdict_rank(int score, int threshold, int allowlist_threshold)
{
	if (score >= threshold)
		return VERDICT_REJECT;
	if (allowlist_threshold < 0 && score <= allowlist_threshold)
		return VERDICT_ALLOW;
	return VERDICT_PASS;
}

const char *
verdict_rank_name(enum verdict_rank rank)
{
	switch (rank) {
	case VERDICT_REJECT:
		return "reject";
	case VERDICT_ALLOW:
		return "allow";
	case VERDICT_PASS:
		break;
	}
	return "pass";
}

/* Append "(a;b)": answers. */
static void
verdict_answers(const unsigned char (*answer)[4], size_t count,
		struct kvline *line)
{
	char	text[INET_ADDRSTRLEN];
	size_t	i;

	kvline_printf(line, "(");
	for (i = 0; i < count; i++)
		kvline_printf(line, "%s%s", i ? ";" : "",
			      inet_ntop(AF_INET, answer[i], text, sizeof(text)));
	kvline_printf(line, ")");
}

/*
 * Append "zone(a;b),zone2(c)" for the zones (shadow or scored) in the
 * given state, and "zone[role=name](a)" for each name a joined domain
 * zone listed; *sep comes before the first ("" or ",") and is "," after.
 */
static void
verdict_zone_list(const struct verdict *verdict,
		  const struct dnsbl_sites *sites, enum verdict_state state,
		  bool shadow, const char **sep_io, struct kvline *line)
{
	const struct verdict_zone *zone;
	const struct verdict_hit *hit;
	const char *sep = *sep_io;
	size_t	i;
	size_t	j;

	for (i = 0; i < verdict->zone_count; i++) {
		zone = verdict->zone + i;
		if (zone->state != state || zone->shadow != shadow)
			continue;
		for (j = 0; state == VERDICT_ZONE_LISTED && j < zone->hit_count;
		     j++) {
			hit = zone->hits + j;
			kvline_printf(line, "%s%s[%s=%s]", sep,
				      dnsbl_sites_zone(sites, i),
				      domain_role_name(hit->role), hit->name);
			verdict_answers((const unsigned char (*)[4]) hit->answer,
					hit->answer_count, line);
			sep = ",";
		}
		if (zone->hit_count > 0 && state == VERDICT_ZONE_LISTED)
			continue;
		kvline_printf(line, "%s%s", sep, dnsbl_sites_zone(sites, i));
		if (state == VERDICT_ZONE_UNKNOWN)
			kvline_printf(line, "(%s)", zone->reason);
		else
			verdict_answers((const unsigned char (*)[4]) zone->answer,
					zone->answer_count, line);
		sep = ",";
	}
	*sep_io = sep;
}

void
verdict_listed(const struct verdict *verdict, const struct dnsbl_sites *sites,
	       struct kvline *line)
{
	const char *sep = "";

	verdict_zone_list(verdict, sites, VERDICT_ZONE_LISTED, false, &sep,
			  line);
}

int
verdict_top_zone(const struct verdict *verdict)
{
	int	top = -1;
	size_t	i;

	for (i = 0; i < verdict->zone_count; i++)
		if (verdict->zone[i].state == VERDICT_ZONE_LISTED
		    && !verdict->zone[i].shadow && verdict->zone[i].score > 0
		    && (top < 0 || verdict->zone[i].score > verdict->zone[top].score))
			top = (int) i;
	return top;
}

const char *const verdict_keys[VERDICT_FIELDS] = {
	[VERDICT_SCORE] = "score",
	[VERDICT_LISTED] = "listed",
	[VERDICT_UNKNOWN] = "unknown",
	[VERDICT_SHADOW] = "shadow",
	[VERDICT_TTL] = "ttl",
	[VERDICT_DNS_MS] = "dns_ms",
	[VERDICT_ZONE_MS] = "zone_ms",
	[VERDICT_TEXT] = "text",
};

/*
 * "zone_ms=zone(ms),zone(ms)": how long each zone asked in DNS for this
 * verdict took, when any was (not for a cached verdict).
 */
static void
verdict_zone_ms(const struct verdict *verdict, const struct dnsbl_sites *sites,
		struct kvline *line)
{
	const char *sep = "";
	size_t	i;

	for (i = 0; i < verdict->zone_count; i++) {
		if (verdict->zone[i].answer_us == 0)
			continue;
		if (*sep == 0)
			kvline_key(line, verdict_keys[VERDICT_ZONE_MS]);
		kvline_printf(line, "%s%s(%lu)", sep, dnsbl_sites_zone(sites, i),
			      verdict->zone[i].answer_us / 1000);
		sep = ",";
	}
}

void
verdict_format(const struct verdict *verdict, const struct dnsbl_sites *sites,
	       struct kvline *line)
{
	const char *sep;
	size_t	i;
	int	score;
	bool	complete;

	kvline_key(line, verdict_keys[VERDICT_SCORE]);
	kvline_printf(line, "%d", verdict->score);
	kvline_key(line, verdict_keys[VERDICT_LISTED]);
	verdict_listed(verdict, sites, line);
	kvline_key(line, verdict_keys[VERDICT_UNKNOWN]);
	sep = "";
	verdict_zone_list(verdict, sites, VERDICT_ZONE_UNKNOWN, false, &sep,
			  line);
	if (verdict_shadow(verdict, &score, &complete)) {
		kvline_key(line, verdict_keys[VERDICT_SHADOW]);
		sep = "";
		verdict_zone_list(verdict, sites, VERDICT_ZONE_LISTED, true,
				  &sep, line);
		verdict_zone_list(verdict, sites, VERDICT_ZONE_UNKNOWN, true,
				  &sep, line);
	}
	kvline_key(line, verdict_keys[VERDICT_TTL]);
	kvline_printf(line, "%u", verdict->ttl);
	kvline_key(line, verdict_keys[VERDICT_DNS_MS]);
	kvline_printf(line, "%u", verdict->dns_ms);
	verdict_zone_ms(verdict, sites, line);
	for (i = 0; i < verdict->zone_count; i++) {
		if (verdict->zone[i].text == NULL || verdict->zone[i].shadow)
			continue;
		kvline_key(line, verdict_keys[VERDICT_TEXT]);
		kvline_quote(line, verdict->zone[i].text);
		break;
	}
}
