/*
 * codec - a verdict as text, for the memory cache and Redis.
 *
 * Format, version 1, space-separated tokens:
 *
 *	1 EXPIRES ZONES Z1 Z2 ...
 *
 * EXPIRES is a Unix time, ZONES the number of zone tokens, and each zone
 * token is "P" (not listed), "U" followed by the reason it is unknown, or
 * "L" followed by its answers, comma-separated, and optionally "/" and the
 * TXT text in hex.  Example: "1 1764090000 2 L127.0.0.2/6c6973746564 P".
 * It is readable in redis-cli and strict to parse: anything else is
 * rejected, never guessed at.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/codec.h"
#include "dnsbl/answer.h"
#include "dnsbl/site.h"
#include "dnsbl/verdict.h"
#include "lib/kvline.h"

/*
 * The longest text a verdict of n zones can have: version, expiry and
 * count, then per zone a letter, VERDICT_MAX_ANSWERS addresses with
 * their commas, "/" and DNSBL_MAX_TEXT bytes of TXT in hex.  Longer
 * values are refused before they are parsed.
 */
#define CODEC_MAX_LEN(n) \
	(64 + (n) * (2 + VERDICT_MAX_ANSWERS * 16 + 1 + 2 * DNSBL_MAX_TEXT))

/* Append one zone's token. */
static void
codec_zone(struct kvline *line, const struct verdict_zone *zone)
{
	char	text[INET_ADDRSTRLEN];
	const unsigned char *cp;
	size_t	i;

	switch (zone->state) {
	case VERDICT_ZONE_PASS:
		kvline_printf(line, " P");
		return;
	case VERDICT_ZONE_UNKNOWN:
		kvline_printf(line, " U%s", zone->reason);
		return;
	case VERDICT_ZONE_LISTED:
		break;
	}
	kvline_printf(line, " L");
	for (i = 0; i < zone->answer_count; i++)
		kvline_printf(line, "%s%s", i ? "," : "",
			      inet_ntop(AF_INET, zone->answer[i], text,
					sizeof(text)));
	if (zone->text != NULL && *zone->text != 0) {
		kvline_printf(line, "/");
		for (cp = (const unsigned char *) zone->text; *cp; cp++)
			kvline_printf(line, "%02x", *cp);
	}
}

char   *
codec_encode(const struct verdict *verdict, time_t expires)
{
	struct kvline *line;
	const char *text;
	char   *copy = NULL;
	size_t	i;

	if ((line = kvline_create()) == NULL)
		return NULL;
	kvline_printf(line, "1 %lld %zu", (long long) expires,
		      verdict->zone_count);
	for (i = 0; i < verdict->zone_count; i++)
		codec_zone(line, verdict->zone + i);
	if ((text = kvline_text(line)) != NULL)
		copy = strdup(text);
	kvline_free(line);
	return copy;
}

/* Read an unsigned decimal at *cp; false when absent or too large. */
static bool
codec_number(const char **cp, const char *end, unsigned long long max,
	     unsigned long long *value)
{
	const char *start = *cp;

	*value = 0;
	for (; *cp < end && isdigit((unsigned char) **cp); (*cp)++) {
		if (*value > max / 10)
			return false;
		*value = *value * 10 + (unsigned) (**cp - '0');
	}
	return *cp > start && *value <= max;
}

/* The value of one hex digit, or -1. */
static int
codec_hex(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Decode "L" answers and text of one token [cp, end) into zone. */
static bool
codec_listing(const char *cp, const char *end, enum dnsbl_kind kind,
	      struct verdict_zone *zone)
{
	char	answer[INET_ADDRSTRLEN];
	const char *stop;
	size_t	len;
	char   *out;
	int	hi;
	int	lo;

	for (;;) {
		for (stop = cp; stop < end && *stop != ',' && *stop != '/'; stop++)
			;
		len = (size_t) (stop - cp);
		if (len == 0 || len >= sizeof(answer)
		    || zone->answer_count >= VERDICT_MAX_ANSWERS)
			return false;
		memcpy(answer, cp, len);
		answer[len] = 0;
		if (inet_pton(AF_INET, answer,
			      zone->answer[zone->answer_count]) != 1
		    || !dnsbl_answer_is_listing(kind,
					       zone->answer[zone->answer_count]))
			return false;
		zone->answer_count++;
		cp = stop + 1;
		if (stop == end)
			return true;
		if (*stop == '/')
			break;
	}
	len = (size_t) (end - cp);
	/* No more text than the DNS path keeps: a value is not trusted. */
	if (len == 0 || len % 2 != 0 || len / 2 > DNSBL_MAX_TEXT
	    || (zone->text = malloc(len / 2 + 1)) == NULL)
		return false;
	for (out = zone->text; cp < end; cp += 2) {
		if ((hi = codec_hex(cp[0])) < 0 || (lo = codec_hex(cp[1])) < 0
		    || (hi == 0 && lo == 0))
			return false;
		*out++ = (char) (hi << 4 | lo);
	}
	*out = 0;
	return true;
}

/* Decode one zone token [cp, end); scores come from the site list. */
static bool
codec_decode_zone(const char *cp, const char *end,
		  const struct dnsbl_sites *sites, size_t index,
		  struct verdict_zone *zone)
{
	size_t	len = (size_t) (end - cp);

	switch (*cp) {
	case 'P':
		zone->state = VERDICT_ZONE_PASS;
		return len == 1;
	case 'U':
		if (len < 2 || len >= VERDICT_REASON_SIZE)
			return false;
		memcpy(zone->reason, cp + 1, len - 1);
		zone->reason[len - 1] = 0;
		zone->state = VERDICT_ZONE_UNKNOWN;
		return strspn(zone->reason, "abcdefghijklmnopqrstuvwxyz"
			      "0123456789.-") == len - 1;
	case 'L':
		if (!codec_listing(cp + 1, end, dnsbl_sites_kind(sites, index),
				   zone))
			return false;
		zone->state = dnsbl_sites_score(sites, index,
						(const unsigned char (*)[4])
						zone->answer, zone->answer_count,
						&zone->score) ?
		    VERDICT_ZONE_LISTED : VERDICT_ZONE_PASS;
		return true;
	default:
		return false;
	}
}

struct verdict *
codec_decode(const char *text, size_t len, const struct dnsbl_sites *sites,
	     time_t now, char *err, size_t errlen)
{
	const char *end = text + len;
	const char *cp = text;
	const char *stop;
	struct verdict *verdict;
	unsigned long long expires;
	unsigned long long zones;
	size_t	i;

	*err = 0;
	if (len > CODEC_MAX_LEN(dnsbl_sites_zone_count(sites))) {
		snprintf(err, errlen, "%zu bytes, more than a verdict of %zu "
			 "zones can have", len, dnsbl_sites_zone_count(sites));
		return NULL;
	}
	if (len < 2 || memcmp(text, "1 ", 2) != 0) {
		snprintf(err, errlen, "not a version 1 verdict");
		return NULL;
	}
	cp += 2;
	if (!codec_number(&cp, end, (unsigned long long) INT64_MAX, &expires)
	    || cp >= end || *cp++ != ' '
	    || !codec_number(&cp, end, 1000, &zones)) {
		snprintf(err, errlen, "bad expiry or zone count");
		return NULL;
	}
	if (zones != dnsbl_sites_zone_count(sites)) {
		snprintf(err, errlen, "%llu zones, configuration has %zu",
			 zones, dnsbl_sites_zone_count(sites));
		return NULL;
	}
	if ((long long) expires <= (long long) now)
		return NULL;
	if ((verdict = verdict_create(zones)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < zones; i++) {
		if (cp >= end || *cp++ != ' ')
			goto bad_zone;
		for (stop = cp; stop < end && *stop != ' '; stop++)
			;
		if (stop == cp || !codec_decode_zone(cp, stop, sites, i,
						     verdict->zone + i))
			goto bad_zone;
		cp = stop;
	}
	verdict_sum(verdict, sites);
	if (cp != end) {
		snprintf(err, errlen, "text after the last zone");
		verdict_free(verdict);
		return NULL;
	}
	verdict->ttl = (unsigned) ((long long) expires - (long long) now);
	return verdict;

bad_zone:
	snprintf(err, errlen, "bad token for zone %zu (%s)", i + 1,
		 dnsbl_sites_zone(sites, i));
	verdict_free(verdict);
	return NULL;
}
