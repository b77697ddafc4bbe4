/*
 * fuzz_answer - libFuzzer target for DNS replies to DNSBL queries: the
 * input is a raw reply, handed over with the status c-ares's ares_query()
 * derives from its header, and read as the reply to the A query of a
 * zone (listed, not listed, or negative with its SOA TTL), and, when it
 * succeeded, as the reply to the TXT query.  The outcome must keep only
 * 127/8 listings, give a reason when unknown, and keep TTLs and texts
 * within their bounds.  Not fuzzed: c-ares's parsing of the records it
 * returns, the questions it matches replies with, sending and timeouts
 * (resolver.c, engine.c).
 */
#include <ares.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsbl/answer.h"
#include "dnsbl/site.h"
#include "dnsbl/verdict.h"

/* The zone the replies are for: a filter, a DNSWL weight, a catch-all. */
static const char fuzz_sites_text[] =
	"bl.test=127.0.0.[2..11]*3 bl.test=127.0.0.2*-1 bl.test";

static struct dnsbl_sites *fuzz_sites;

/* The longest TXT text answer.c keeps. */
#define FUZZ_MAX_TEXT	512

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	err[256];

	(void) argc;
	(void) argv;
	if (dnsbl_sites_parse(fuzz_sites_text, DNSBL_IPS, &fuzz_sites, err,
			      sizeof(err)) < 0)
		abort();
	return 0;
}

/* The status ares_query() passes with a reply: from RCODE and ANCOUNT. */
static int
reply_status(const uint8_t *data, size_t size)
{
	if (size < 12)
		return ARES_EBADRESP;
	switch (data[3] & 0x0f) {
	case 0:
		return data[6] != 0 || data[7] != 0 ? ARES_SUCCESS
		    : ARES_ENODATA;
	case 1:
		return ARES_EFORMERR;
	case 2:
		return ARES_ESERVFAIL;
	case 3:
		return ARES_ENOTFOUND;
	case 4:
		return ARES_ENOTIMP;
	case 5:
		return ARES_EREFUSED;
	default:
		return ARES_SUCCESS;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verdict_zone zone;
	unsigned char bogus[4];
	int	status = reply_status(data, size);
	bool	has_bogus;
	size_t	i;
	char   *text;

	memset(&zone, 0, sizeof(zone));
	dnsbl_answer_a(status, data, (int) size, fuzz_sites, 0, &zone, bogus,
		       &has_bogus);
	if (zone.answer_count > VERDICT_MAX_ANSWERS
	    || (zone.state == VERDICT_ZONE_UNKNOWN
		&& (zone.reason[0] == 0
		    || memchr(zone.reason, 0, sizeof(zone.reason)) == NULL))
	    || (zone.state == VERDICT_ZONE_LISTED && zone.answer_count == 0)
	    || (has_bogus && dnsbl_answer_is_listing(DNSBL_IPS, bogus))
	    || (zone.has_ttl && zone.ttl > INT32_MAX))
		abort();
	for (i = 0; i < zone.answer_count; i++)
		if (!dnsbl_answer_is_listing(DNSBL_IPS, zone.answer[i]))
			abort();
	if (status == ARES_SUCCESS
	    && (text = dnsbl_answer_txt(data, (int) size)) != NULL) {
		if (strlen(text) > FUZZ_MAX_TEXT)
			abort();
		free(text);
	}
	return 0;
}
