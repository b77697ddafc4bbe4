/*
 * answer - turn one DNS reply for a DNSBL query into a zone outcome.
 *
 * c-ares parses A and TXT records.  It has no call for the negative TTL
 * of an NXDOMAIN (the SOA in the authority section, RFC 2308), so a small
 * bounds-checked walker here finds it; every read is checked against the
 * reply length because the reply comes from the network.
 */
#include <ares.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsbl/answer.h"
#include "dnsbl/site.h"
#include "dnsbl/verdict.h"

/* A records read from one reply; more are ignored. */
#define ANSWER_MAX_A	32

#define ANSWER_TYPE_A	1
#define ANSWER_TYPE_SOA	6
#define ANSWER_CLASS_IN	1

/* Big-endian 16 and 32-bit reads; callers check the bounds. */
static unsigned
answer_u16(const unsigned char *p)
{
	return (unsigned) p[0] << 8 | p[1];
}

static uint32_t
answer_u32(const unsigned char *p)
{
	return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
	    | (uint32_t) p[2] << 8 | p[3];
}

/* RFC 2181: a TTL with the top bit set is treated as zero. */
static unsigned
answer_ttl(uint32_t ttl)
{
	return ttl > INT32_MAX ? 0 : (unsigned) ttl;
}

/* Step over a (possibly compressed) name at *pos, not beyond end. */
static int
answer_skip_name(const unsigned char *reply, int end, int *pos)
{
	unsigned label;

	while (*pos < end) {
		label = reply[*pos];
		if ((label & 0xc0) == 0xc0) {
			*pos += 2;
			return *pos <= end ? 0 : -1;
		}
		if (label & 0xc0)
			return -1;
		*pos += (int) label + 1;
		if (label == 0)
			return 0;
	}
	return -1;
}

/* One resource record of a reply, as answer_each() finds it. */
struct answer_rr {
	unsigned type;
	unsigned class;
	uint32_t ttl;
	int	rdata;			/* offset of its data in the reply */
	unsigned rdlen;
	bool	in_answer;		/* answer section, not authority */
};

/* What answer_each() calls: 0 to go on, anything else stops the walk. */
typedef int answer_rr_fn(const unsigned char *reply, const struct answer_rr *rr,
			 void *arg);

/*
 * Call fn for each record of the answer and authority sections; its
 * non-zero return, 0 when every record was seen, -1 when the reply ends
 * short of what its header and lengths say.
 */
static int
answer_each(const unsigned char *reply, int len, answer_rr_fn *fn, void *arg)
{
	struct answer_rr rr;
	unsigned questions;
	unsigned records;
	unsigned answers;
	unsigned i;
	int	pos = 12;
	int	status;

	if (reply == NULL || len < 12)
		return -1;
	questions = answer_u16(reply + 4);
	answers = answer_u16(reply + 6);
	records = answers + answer_u16(reply + 8);
	for (i = 0; i < questions; i++) {
		if (answer_skip_name(reply, len, &pos) < 0 || (pos += 4) > len)
			return -1;
	}
	for (i = 0; i < records; i++) {
		if (answer_skip_name(reply, len, &pos) < 0 || pos + 10 > len)
			return -1;
		rr.type = answer_u16(reply + pos);
		rr.class = answer_u16(reply + pos + 2);
		rr.ttl = answer_u32(reply + pos + 4);
		rr.rdlen = answer_u16(reply + pos + 8);
		rr.rdata = pos + 10;
		rr.in_answer = i < answers;
		if (rr.rdata + (int) rr.rdlen > len)
			return -1;
		if ((status = fn(reply, &rr, arg)) != 0)
			return status;
		pos = rr.rdata + (int) rr.rdlen;
	}
	return 0;
}

/* answer_each(): the authority SOA's min(TTL, MINIMUM) into *arg; 1. */
static int
answer_soa(const unsigned char *reply, const struct answer_rr *rr, void *arg)
{
	unsigned *ttl = arg;
	int	end = rr->rdata + (int) rr->rdlen;
	int	pos = rr->rdata;

	if (rr->in_answer || rr->type != ANSWER_TYPE_SOA)
		return 0;
	if (answer_skip_name(reply, end, &pos) < 0
	    || answer_skip_name(reply, end, &pos) < 0 || pos + 20 > end)
		return -1;
	*ttl = answer_ttl(rr->ttl);
	if (answer_ttl(answer_u32(reply + pos + 16)) < *ttl)
		*ttl = answer_ttl(answer_u32(reply + pos + 16));
	return 1;
}

/* Negative TTL: min(SOA TTL, SOA MINIMUM) of the authority SOA; 0 or -1. */
static int
answer_negative_ttl(const unsigned char *reply, int len, unsigned *ttl)
{
	return answer_each(reply, len, answer_soa, ttl) == 1 ? 0 : -1;
}

/*
 * answer_each(): an A record of another class than IN, or whose data is
 * not 4 bytes, is a broken reply (1), not a record c-ares may skip.
 */
static int
answer_bad_a(const unsigned char *reply, const struct answer_rr *rr,
	     void *arg)
{
	(void) reply;
	(void) arg;
	return rr->in_answer && rr->type == ANSWER_TYPE_A
	    && (rr->class != ANSWER_CLASS_IN || rr->rdlen != 4);
}

/* Short reason for a c-ares status that gave no usable answer. */
static const char *
answer_reason(int status)
{
	switch (status) {
	case ARES_ETIMEOUT:
		return "timeout";
	case ARES_ESERVFAIL:
		return "servfail";
	case ARES_EREFUSED:
		return "refused";
	case ARES_ECONNREFUSED:
		return "unreachable";
	case ARES_EBADRESP:
	case ARES_EFORMERR:
		return "bad-reply";
	default:
		return "error";
	}
}

/* Is a 127.0.1.255, Spamhaus DBL's "IP queries prohibited"? */
static bool
answer_ip_refused(const unsigned char a[4])
{
	return a[0] == 127 && a[1] == 0 && a[2] == 1 && a[3] == 255;
}

bool
dnsbl_answer_is_listing(int kind, const unsigned char a[4])
{
	return a[0] == 127 && !(a[1] == 255 && a[2] == 255)
	    && !(kind == DNSBL_NAMES && answer_ip_refused(a));
}

const char *
dnsbl_answer_advice(const unsigned char a[4])
{
	if (answer_ip_refused(a))
		return "the list takes the name for an IP address and refuses "
		    "it (\"IP queries prohibited\")";
	return a[0] == 127 ? "the list refuses queries from this resolver "
	    "or over its limit (use a local recursive resolver, check the DQS "
	    "key)" : "answers outside 127.0.0.0/8 mean a dead or wildcarded "
	    "zone: remove it from dnsbl_sites";
}

/* Keep the valid answers of a parsed A reply and score them. */
static void
answer_a_records(const struct ares_addrttl *records, int count,
		 const struct dnsbl_sites *sites, size_t zone_index,
		 struct verdict_zone *zone, unsigned char bogus[4],
		 bool *has_bogus)
{
	const unsigned char *a;
	unsigned ttl;
	int	i;

	for (i = 0; i < count; i++) {
		a = (const unsigned char *) &records[i].ipaddr;
		if (!dnsbl_answer_is_listing(dnsbl_sites_kind(sites, zone_index),
					     a)) {
			if (!*has_bogus)
				memcpy(bogus, a, 4);
			*has_bogus = true;
			continue;
		}
		ttl = records[i].ttl < 0 ? 0 : (unsigned) records[i].ttl;
		if (!zone->has_ttl || ttl < zone->ttl)
			zone->ttl = ttl;
		zone->has_ttl = true;
		if (zone->answer_count < VERDICT_MAX_ANSWERS)
			memcpy(zone->answer[zone->answer_count++], a, 4);
	}
	if (zone->answer_count == 0) {
		snprintf(zone->reason, sizeof(zone->reason), "%u.%u.%u.%u",
			 bogus[0], bogus[1], bogus[2], bogus[3]);
		return;
	}
	zone->state = dnsbl_sites_score(sites, zone_index,
					(const unsigned char (*)[4]) zone->answer,
					zone->answer_count, &zone->score) ?
	    VERDICT_ZONE_LISTED : VERDICT_ZONE_PASS;
}

void
dnsbl_answer_a(int status, const unsigned char *reply, int len,
	       const struct dnsbl_sites *sites, size_t zone_index,
	       struct verdict_zone *zone, unsigned char bogus[4],
	       bool *has_bogus)
{
	struct ares_addrttl records[ANSWER_MAX_A];
	int	count = ANSWER_MAX_A;

	*has_bogus = false;
	zone->state = VERDICT_ZONE_UNKNOWN;
	zone->has_ttl = false;
	zone->answer_count = 0;
	zone->score = 0;
	/* c-ares skips such records, which would make a listing a pass. */
	if (status == ARES_SUCCESS
	    && answer_each(reply, len, answer_bad_a, NULL) == 1)
		status = ARES_EBADRESP;
	if (status == ARES_SUCCESS) {
		status = ares_parse_a_reply(reply, len, NULL, records, &count);
		if (status == ARES_SUCCESS && count > 0) {
			answer_a_records(records, count, sites, zone_index,
					 zone, bogus, has_bogus);
			return;
		}
		if (status == ARES_SUCCESS)
			status = ARES_ENODATA;
	}
	if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
		zone->state = VERDICT_ZONE_PASS;
		zone->has_ttl = answer_negative_ttl(reply, len, &zone->ttl) == 0;
		return;
	}
	snprintf(zone->reason, sizeof(zone->reason), "%s",
		 answer_reason(status));
}

char   *
dnsbl_answer_txt(const unsigned char *reply, int len)
{
	struct ares_txt_ext *records;
	struct ares_txt_ext *txt;
	size_t	used = 0;
	size_t	take;
	char   *text;

	if (ares_parse_txt_reply_ext(reply, len, &records) != ARES_SUCCESS)
		return NULL;
	if ((text = malloc(DNSBL_MAX_TEXT + 1)) != NULL) {
		for (txt = records; txt != NULL; txt = txt->next) {
			if (txt != records && txt->record_start)
				break;
			take = txt->length;
			if (take > DNSBL_MAX_TEXT - used)
				take = DNSBL_MAX_TEXT - used;
			memcpy(text + used, txt->txt, take);
			used += take;
		}
		text[used] = 0;
	}
	ares_free_data(records);
	return text;
}
