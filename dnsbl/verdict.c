/*
 * verdict - what the DNSBL/DNSWL zones said about one client IP.
 *
 * Formatting lives here so that --check, the milter and the policy
 * service print a verdict the same way and a log grep works across them.
 */
#include <arpa/inet.h>
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
	for (i = 0; i < verdict->zone_count; i++)
		free(verdict->zone[i].text);
	free(verdict);
}

struct verdict *
verdict_clone(const struct verdict *verdict)
{
	struct verdict *copy;
	size_t	size = sizeof(*verdict)
	    + verdict->zone_count * sizeof(verdict->zone[0]);
	size_t	i;

	if ((copy = malloc(size)) == NULL)
		return NULL;
	memcpy(copy, verdict, size);
	for (i = 0; i < copy->zone_count; i++) {
		if (verdict->zone[i].text == NULL)
			continue;
		if ((copy->zone[i].text = strdup(verdict->zone[i].text)) == NULL) {
			while (i-- > 0)
				free(copy->zone[i].text);
			free(copy);
			return NULL;
		}
	}
	return copy;
}

enum verdict_rank
verdict_rank(const struct verdict *verdict, int threshold,
	     int allowlist_threshold)
{
	if (verdict->score >= threshold)
		return VERDICT_REJECT;
	if (allowlist_threshold < 0 && verdict->score <= allowlist_threshold)
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

/* Append "zone(a;b),zone2(c)" for the zones in the given state. */
static void
verdict_zone_list(const struct verdict *verdict,
		  const struct dnsbl_sites *sites, enum verdict_state state,
		  struct kvline *line)
{
	const struct verdict_zone *zone;
	const char *sep = "";
	char	text[INET_ADDRSTRLEN];
	size_t	i;
	size_t	j;

	for (i = 0; i < verdict->zone_count; i++) {
		zone = verdict->zone + i;
		if (zone->state != state)
			continue;
		kvline_printf(line, "%s%s(", sep, dnsbl_sites_zone(sites, i));
		if (state == VERDICT_ZONE_UNKNOWN)
			kvline_printf(line, "%s", zone->reason);
		for (j = 0; state == VERDICT_ZONE_LISTED
		     && j < zone->answer_count; j++)
			kvline_printf(line, "%s%s", j ? ";" : "",
				      inet_ntop(AF_INET, zone->answer[j],
						text, sizeof(text)));
		kvline_printf(line, ")");
		sep = ",";
	}
}

void
verdict_listed(const struct verdict *verdict, const struct dnsbl_sites *sites,
	       struct kvline *line)
{
	verdict_zone_list(verdict, sites, VERDICT_ZONE_LISTED, line);
}

int
verdict_top_zone(const struct verdict *verdict)
{
	int	top = -1;
	size_t	i;

	for (i = 0; i < verdict->zone_count; i++)
		if (verdict->zone[i].state == VERDICT_ZONE_LISTED
		    && verdict->zone[i].score > 0
		    && (top < 0 || verdict->zone[i].score > verdict->zone[top].score))
			top = (int) i;
	return top;
}

const char *const verdict_keys[VERDICT_FIELDS] = {
	[VERDICT_SCORE] = "score",
	[VERDICT_LISTED] = "listed",
	[VERDICT_UNKNOWN] = "unknown",
	[VERDICT_TTL] = "ttl",
	[VERDICT_DNS_MS] = "dns_ms",
	[VERDICT_TEXT] = "text",
};

void
verdict_format(const struct verdict *verdict, const struct dnsbl_sites *sites,
	       struct kvline *line)
{
	size_t	i;

	kvline_key(line, verdict_keys[VERDICT_SCORE]);
	kvline_printf(line, "%d", verdict->score);
	kvline_key(line, verdict_keys[VERDICT_LISTED]);
	verdict_listed(verdict, sites, line);
	kvline_key(line, verdict_keys[VERDICT_UNKNOWN]);
	verdict_zone_list(verdict, sites, VERDICT_ZONE_UNKNOWN, line);
	kvline_key(line, verdict_keys[VERDICT_TTL]);
	kvline_printf(line, "%u", verdict->ttl);
	kvline_key(line, verdict_keys[VERDICT_DNS_MS]);
	kvline_printf(line, "%u", verdict->dns_ms);
	for (i = 0; i < verdict->zone_count; i++) {
		if (verdict->zone[i].text == NULL)
			continue;
		kvline_key(line, verdict_keys[VERDICT_TEXT]);
		kvline_quote(line, verdict->zone[i].text);
		break;
	}
}
