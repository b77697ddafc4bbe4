/*
 * fuzz_sites - libFuzzer target for the dnsbl_sites parser and its reply
 * filters.  The input up to its first NUL is a dnsbl_sites value; the
 * bytes after it are DNSBL answers, four each.  A refused value must come
 * with a message.  An accepted one must give the zones and, for every
 * zone, the score that a model written from postscreen's rules gives for
 * those answers: a difference aborts.  Not fuzzed: sending the queries
 * (engine.c) and ranking the summed score (verdict.c).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsbl/site.h"

/* Answers scored per input; dnsbl_sites_score() takes any number. */
#define FUZZ_MAX_ANSWERS	16

/* One entry as the model reads it. */
struct model_site {
	const char *zone;		/* lower case, no final dot */
	const char *filter;		/* as written, or NULL */
	long	weight;
};

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Does a valid filter match the answer?  Read afresh, field by field. */
static bool
model_match(const char *filter, const unsigned char answer[4])
{
	const char *cp = filter;
	char   *end;
	long	lo;
	long	hi;
	bool	hit;
	int	field;

	for (field = 0; field < 4; field++) {
		cp += field > 0;		/* the "." */
		hit = false;
		do {
			/* Past "[" or ";", or nothing for a plain number. */
			cp += *cp == '[' || *cp == ';';
			lo = hi = strtol(cp, &end, 10);
			if (strncmp(end, "..", 2) == 0)
				hi = strtol(end + 2, &end, 10);
			hit |= lo <= answer[field] && answer[field] <= hi;
			cp = end;
		} while (*cp == ';');
		cp += *cp == ']';
		if (!hit)
			return false;
	}
	return true;
}

/* Split an accepted value (modified) into entries; their count. */
static size_t
model_parse(char *text, struct model_site *site)
{
	char   *entry;
	char   *save;
	char   *cp;
	size_t	count = 0;

	for (entry = strtok_r(text, ", \t\r\n", &save); entry != NULL;
	     entry = strtok_r(NULL, ", \t\r\n", &save), count++) {
		site[count].weight = 1;
		site[count].filter = NULL;
		if ((cp = strrchr(entry, '*')) != NULL) {
			*cp = 0;
			site[count].weight = strtol(cp + 1, NULL, 10);
		}
		if ((cp = strchr(entry, '=')) != NULL) {
			*cp = 0;
			site[count].filter = cp + 1;
		}
		if (entry[strlen(entry) - 1] == '.')
			entry[strlen(entry) - 1] = 0;
		for (cp = entry; *cp; cp++)
			*cp = (char) tolower((unsigned char) *cp);
		site[count].zone = entry;
	}
	return count;
}

/* Compare what the parser made of text with the model; abort if differ. */
static void
check_sites(const struct dnsbl_sites *sites, char *text,
	    const unsigned char (*answers)[4], size_t count)
{
	struct model_site site[DNSBL_MAX_SITES];
	size_t	site_count = model_parse(text, site);
	size_t	zone = 0;
	size_t	i;
	size_t	j;
	size_t	k;
	long	want;
	bool	want_match;
	int	score;

	for (i = 0; i < site_count; i++) {
		/* A zone is new unless an earlier entry named it. */
		for (j = 0; j < i && strcmp(site[j].zone, site[i].zone) != 0; j++)
			;
		if (j < i)
			continue;
		if (zone >= dnsbl_sites_zone_count(sites)
		    || strcmp(dnsbl_sites_zone(sites, zone), site[i].zone) != 0)
			abort();
		want = 0;
		want_match = false;
		for (j = i; j < site_count; j++) {
			if (strcmp(site[j].zone, site[i].zone) != 0)
				continue;
			for (k = 0; k < count; k++) {
				if (site[j].filter == NULL
				    || model_match(site[j].filter, answers[k])) {
					want += site[j].weight;
					want_match = true;
					break;
				}
			}
		}
		if (dnsbl_sites_score(sites, zone, answers, count, &score)
		    != want_match || score != want)
			abort();
		zone++;
	}
	if (zone != dnsbl_sites_zone_count(sites))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnsbl_sites *sites;
	const uint8_t *nul = memchr(data, 0, size);
	size_t	len = nul != NULL ? (size_t) (nul - data) : size;
	size_t	count = nul != NULL ? (size - len - 1) / 4 : 0;
	unsigned char answers[FUZZ_MAX_ANSWERS][4];
	char	err[256] = "";
	char   *text;

	if ((text = malloc(len + 1)) == NULL)
		abort();
	memcpy(text, data, len);
	text[len] = 0;
	if (count > FUZZ_MAX_ANSWERS)
		count = FUZZ_MAX_ANSWERS;
	if (count > 0)
		memcpy(answers, nul + 1, count * 4);
	if (dnsbl_sites_parse(text, DNSBL_IPS, &sites, err, sizeof(err)) == 0) {
		check_sites(sites, text, (const unsigned char (*)[4]) answers,
			    count);
		dnsbl_sites_free(sites);
	} else if (err[0] == 0) {
		abort();
	}
	free(text);
	return 0;
}
