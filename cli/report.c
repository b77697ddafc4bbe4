/*
 * report - "rblmilter --report": a summary of rblmilter's own decision
 * log lines.
 *
 * A decision line is what logline_write() writes: a body of
 * key=value fields starting with queue_id=, after the syslog prefix
 * ("Nov 25 17:01:02 host rblmilter[123]: ", or an ISO 8601 time as
 * rsyslog's high-precision format and journalctl -o short-iso write it),
 * after the -f prefix ("rblmilter: "), or alone (journalctl -o cat).
 * Values are bare or quoted as kvline_quote() quotes them.  A line is
 * taken only when it parses whole: required fields present, numbers
 * numbers, zone lists well formed, every quote closed.  Lines that look
 * like decision lines (an rblmilter line whose message starts with
 * queue_id=, or any line with queue_id= in it) but are not whole (cut by
 * syslog or by a full disk, garbled) are counted as skipped; anything
 * else is another program's line or one of rblmilter's other messages,
 * and is counted as other.
 *
 * Memory: lines are read into a fixed buffer (longer ones are cut and
 * skipped); counts live in hash tables keyed by client, network and zone
 * that stop taking new keys at a fixed limit (the counts of keys beyond
 * it are reported as untracked); DNS times, of the lookup (dns_ms=) and
 * of each zone asked (zone_ms=), go into histograms of milliseconds,
 * exact below 10 s.  The top entries are picked at the end.
 *
 * Not done here: decompression (zcat ... | rblmilter --report -), dates
 * (a traditional syslog time has no year: the period is shown as written),
 * or telling sessions apart (one session that is refused at three RCPTs
 * is three decision lines).
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/vcache.h"
#include "cli/report.h"
#include "decide/decision.h"
#include "decide/logline.h"
#include "dnsbl/verdict.h"
#include "greylist/greylist.h"
#include "lib/addr.h"
#include "lib/hash.h"
#include "lib/msg.h"

/* Entries in the lists of top clients and networks. */
#define REPORT_TOP		10

/* Distinct keys kept: rejected clients, their networks; zones. */
#define REPORT_CLIENTS_MAX	(1u << 18)
#define REPORT_ZONES_MAX	256

/* DNS times above this many milliseconds count as this many. */
#define REPORT_DNS_MS_MAX	65535

/*
 * A histogram of DNS times has a bucket per millisecond below
 * REPORT_MS_EXACT, then one per REPORT_MS_STEP ms up to REPORT_DNS_MS_MAX:
 * 85 KB per zone, where exact ones would take 512 KB.
 */
#define REPORT_MS_EXACT		10000
#define REPORT_MS_STEP		100
#define REPORT_MS_BUCKETS	(REPORT_MS_EXACT + (REPORT_DNS_MS_MAX \
				 - REPORT_MS_EXACT) / REPORT_MS_STEP + 1)

/* The kinds of enum decision_kind. */
#define REPORT_KINDS		DECISION_KINDS

/* The levels of enum cache_level; CACHE_MISS is the last. */
#define REPORT_LEVELS		(CACHE_MISS + 1)

/* Where a -f line starts; a syslog line has the tag after the host. */
static const char report_tag[] = "rblmilter";

/* What a decision line starts with. */
static const char report_first_key[] = "queue_id=";

/* One key and how often it was seen. */
struct report_count {
	char   *key;			/* NULL: an empty slot */
	size_t	hash;
	unsigned long long count;
	unsigned long long *ms;		/* the lookups table: the zone's
					 * times (report_ms_add()), count of
					 * them; else NULL */
};

/* Counts by key: open addressing, linear probing. */
struct report_table {
	struct report_count *slot;
	size_t	size;			/* slots: 0 or a power of two */
	size_t	used;			/* keys */
	size_t	limit;			/* keys kept at most */
	unsigned long long untracked;	/* counts of keys beyond limit */
};

struct report {
	char	first[REPORT_STAMP_SIZE];	/* syslog times, or "" */
	char	last[REPORT_STAMP_SIZE];
	unsigned long long lines;
	unsigned long long sessions;	/* decision lines */
	unsigned long long other;
	unsigned long long skipped;
	unsigned long long actions[REPORT_KINDS];
	unsigned long long greylist[GREYLIST_OUTCOMES];	/* by outcome */
	unsigned long long levels[REPORT_LEVELS];
	unsigned long long misses;	/* cache=miss: DNS samples */
	unsigned long long *dns_ms;	/* their times (report_ms_add()) */
	struct report_table clients;	/* rejected clients */
	struct report_table networks;	/* their /24 or /48 */
	struct report_table hits;	/* zones in listed= */
	struct report_table timeouts;	/* zones in unknown= with timeout */
	struct report_table lookups;	/* zones in zone_ms=, with times */
	struct report_table decisive;	/* zones a rejection needed */
	struct report_table overlap;	/* "a+b": zones listing one client */
	struct report_table shadow_rejects;	/* shadow zones that listed a
						 * client only they would
						 * have rejected */
	struct report_table shadow_alone;	/* ... that no scored zone
						 * listed */
	struct report_decision decision;	/* the line being counted */
};

/* Zones of one line looked at for pairs: a verdict has no more. */
#define REPORT_OVERLAP_ZONES	64

/* The fields of a decision line: logline_keys[], then verdict_keys[]. */
#define REPORT_FIELDS	(LOGLINE_FIELDS + VERDICT_FIELDS)

/* Values of the fields that report_check() converts. */
struct report_numbers {
	const char *client;
	const char *score;
	const char *ttl;
	const char *dns_ms;
};

/* The hash of a key of len bytes. */
static size_t
report_hash(const char *key, size_t len)
{
	return (size_t) hash_bytes(HASH_SEED, key, len);
}

/* The slot of key, or the empty slot where it would go. */
static struct report_count *
report_table_find(const struct report_table *table, const char *key,
		  size_t len, size_t hash)
{
	struct report_count *entry;
	size_t	i;

	for (i = hash & (table->size - 1);; i = (i + 1) & (table->size - 1)) {
		entry = table->slot + i;
		if (entry->key == NULL || (entry->hash == hash
					   && strncmp(entry->key, key, len) == 0
					   && entry->key[len] == 0))
			return entry;
	}
}

/* Double the slots (16 at first); 0, or -1 when out of memory. */
static int
report_table_grow(struct report_table *table)
{
	struct report_table bigger = *table;
	size_t	i;

	bigger.size = table->size ? table->size * 2 : 16;
	if ((bigger.slot = calloc(bigger.size, sizeof(*bigger.slot))) == NULL)
		return -1;
	for (i = 0; i < table->size; i++)
		if (table->slot[i].key != NULL)
			*report_table_find(&bigger, table->slot[i].key,
					   strlen(table->slot[i].key),
					   table->slot[i].hash)
			    = table->slot[i];
	free(table->slot);
	*table = bigger;
	return 0;
}

/*
 * Count key (len bytes) once; *counted is its entry, or NULL when the
 * table is full.  0, or -1 when out of memory.
 */
static int
report_table_count(struct report_table *table, const char *key, size_t len,
		   struct report_count **counted)
{
	size_t	hash = report_hash(key, len);
	struct report_count *entry = NULL;

	*counted = NULL;
	if (table->size > 0) {
		entry = report_table_find(table, key, len, hash);
		if (entry->key != NULL) {
			entry->count++;
			*counted = entry;
			return 0;
		}
	}
	if (table->used >= table->limit) {
		table->untracked++;
		return 0;
	}
	if ((table->used + 1) * 4 > table->size * 3) {
		if (report_table_grow(table) < 0)
			return -1;
		entry = report_table_find(table, key, len, hash);
	}
	if ((entry->key = strndup(key, len)) == NULL)
		return -1;
	entry->hash = hash;
	entry->count = 1;
	table->used++;
	*counted = entry;
	return 0;
}

/* Count key (len bytes) once; 0, or -1 when out of memory. */
static int
report_table_add(struct report_table *table, const char *key, size_t len)
{
	struct report_count *entry;

	return report_table_count(table, key, len, &entry);
}

/* The count of key (a string), 0 when it was not counted. */
static unsigned long long
report_table_get(const struct report_table *table, const char *key)
{
	const struct report_count *entry;
	size_t	len = strlen(key);

	if (table->size == 0)
		return 0;
	entry = report_table_find(table, key, len, report_hash(key, len));
	return entry->key != NULL ? entry->count : 0;
}

/* Free a table's keys and slots. */
static void
report_table_free(struct report_table *table)
{
	size_t	i;

	for (i = 0; i < table->size; i++) {
		free(table->slot[i].key);
		free(table->slot[i].ms);
	}
	free(table->slot);
}

/* Does a come before b in a top list: more counts, then by key? */
static bool
report_before(const struct report_count *a, const struct report_count *b)
{
	if (a->count != b->count)
		return a->count > b->count;
	return strcmp(a->key, b->key) < 0;
}

/* The (up to) n entries that come first, in order; returns how many. */
static size_t
report_table_top(const struct report_table *table,
		 const struct report_count **top, size_t n)
{
	const struct report_count *entry;
	size_t	count = 0;
	size_t	pos;
	size_t	i;

	for (i = 0; i < table->size; i++) {
		entry = table->slot + i;
		if (entry->key == NULL || n == 0
		    || (count == n && !report_before(entry, top[n - 1])))
			continue;
		pos = count < n ? count++ : n - 1;
		for (; pos > 0 && report_before(entry, top[pos - 1]); pos--)
			top[pos] = top[pos - 1];
		top[pos] = entry;
	}
	return count;
}

/* Do n decimal digits start at cp (before end)? */
static bool
report_digits(const char *cp, const char *end, size_t n)
{
	size_t	i;

	if ((size_t) (end - cp) < n)
		return false;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char) cp[i]))
			return false;
	return true;
}

/* Past ".123" (1 to 9 digits) at cp, or cp when there is none. */
static const char *
report_fraction(const char *cp, const char *end)
{
	const char *start = cp;

	if (cp == end || *cp != '.')
		return cp;
	for (cp++; cp < end && cp - start <= 9 && isdigit((unsigned char) *cp);
	     cp++)
		;
	return cp - start > 1 ? cp : start;
}

/* Past "Nov  5 17:01:02[.123]" at cp, or NULL. */
static const char *
report_stamp_bsd(const char *cp, const char *end)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	size_t	i;

	if (end - cp < 15)
		return NULL;
	for (i = 0; i < 12 && strncmp(cp, months + 3 * i, 3) != 0; i++)
		;
	if (i == 12 || cp[3] != ' '
	    || !(cp[4] == ' ' || isdigit((unsigned char) cp[4]))
	    || !isdigit((unsigned char) cp[5]) || cp[6] != ' '
	    || !report_digits(cp + 7, end, 2) || cp[9] != ':'
	    || !report_digits(cp + 10, end, 2) || cp[12] != ':'
	    || !report_digits(cp + 13, end, 2))
		return NULL;
	return report_fraction(cp + 15, end);
}

/* Past "2024-11-25T17:01:02[.123][Z|+01:00|+0100]" at cp, or NULL. */
static const char *
report_stamp_iso(const char *cp, const char *end)
{
	if (!report_digits(cp, end, 4) || end - cp < 19 || cp[4] != '-'
	    || !report_digits(cp + 5, end, 2) || cp[7] != '-'
	    || !report_digits(cp + 8, end, 2) || cp[10] != 'T'
	    || !report_digits(cp + 11, end, 2) || cp[13] != ':'
	    || !report_digits(cp + 14, end, 2) || cp[16] != ':'
	    || !report_digits(cp + 17, end, 2))
		return NULL;
	cp = report_fraction(cp + 19, end);
	if (cp < end && *cp == 'Z')
		return cp + 1;
	if (cp == end || (*cp != '+' && *cp != '-')
	    || !report_digits(cp + 1, end, 2))
		return cp;
	if (report_digits(cp + 3, end, 2))
		return cp + 5;
	if (cp + 3 < end && cp[3] == ':' && report_digits(cp + 4, end, 2))
		return cp + 6;
	return NULL;
}

/* Past "rblmilter: " or "rblmilter[123]: " at cp, or NULL. */
static const char *
report_skip_tag(const char *cp, const char *end)
{
	size_t	len = sizeof(report_tag) - 1;
	const char *digits;

	if ((size_t) (end - cp) < len || strncmp(cp, report_tag, len) != 0)
		return NULL;
	cp += len;
	if (cp < end && *cp == '[') {
		for (digits = ++cp; cp < end && isdigit((unsigned char) *cp);
		     cp++)
			;
		if (cp == digits || cp == end || *cp++ != ']')
			return NULL;
	}
	if (end - cp < 2 || cp[0] != ':' || cp[1] != ' ')
		return NULL;
	return cp + 2;
}

/*
 * The body of an rblmilter line (after its prefix), or NULL; the syslog
 * time goes to stamp ("" with the -f prefix, or none).
 */
static const char *
report_body(const char *line, const char *end, char *stamp)
{
	size_t	first = sizeof(report_first_key) - 1;
	const char *cp;
	const char *host;

	stamp[0] = 0;
	if ((size_t) (end - line) >= first
	    && strncmp(line, report_first_key, first) == 0)
		return line;
	if ((cp = report_skip_tag(line, end)) != NULL)
		return cp;
	if ((cp = report_stamp_bsd(line, end)) == NULL
	    && (cp = report_stamp_iso(line, end)) == NULL)
		return NULL;
	if (cp == end || *cp != ' ')
		return NULL;
	snprintf(stamp, REPORT_STAMP_SIZE, "%.*s", (int) (cp - line), line);
	for (host = ++cp; cp < end && *cp > ' ' && *cp < 0x7f; cp++)
		;
	if (cp == host || cp == end || *cp != ' ')
		return NULL;
	return report_skip_tag(cp + 1, end);
}

/* A decimal number of 1 to 9 digits, "-" first if signed; 0 or -1. */
static int
report_number(const char *text, bool is_signed, long *value)
{
	const char *cp = text;
	long	n = 0;

	if (is_signed && *cp == '-')
		cp++;
	if (*cp == 0 || strlen(cp) > 9)
		return -1;
	for (; *cp; cp++) {
		if (!isdigit((unsigned char) *cp))
			return -1;
		n = n * 10 + (*cp - '0');
	}
	*value = *text == '-' ? -n : n;
	return 0;
}

/* The value of a hex digit (one that isxdigit() took). */
static int
report_hex(int ch)
{
	return isdigit(ch) ? ch - '0' : tolower(ch) - 'a' + 10;
}

/*
 * Unescape the quoted value at *cp (on its opening quote) in place; moves
 * *cp past the closing quote.  0, or -1 when it is not well formed.
 */
static int
report_unquote(char **cp)
{
	unsigned char *in = (unsigned char *) *cp + 1;
	char   *out = *cp;

	for (; *in != '"'; out++) {
		if (*in < 0x20 || *in >= 0x7f)
			return -1;
		if (*in != '\\') {
			*out = (char) *in++;
		} else if (in[1] == '"' || in[1] == '\\') {
			*out = (char) in[1];
			in += 2;
		} else if (in[1] == 'x' && isxdigit(in[2]) && isxdigit(in[3])
			   && (in[2] != '0' || in[3] != '0')) {
			*out = (char) (report_hex(in[2]) * 16
				       + report_hex(in[3]));
			in += 4;
		} else {
			return -1;
		}
	}
	*out = 0;
	*cp = (char *) in + 1;
	return 0;
}

/* The key of field i of REPORT_FIELDS. */
static const char *
report_key(size_t i)
{
	return i < LOGLINE_FIELDS ? logline_keys[i]
	    : verdict_keys[i - LOGLINE_FIELDS];
}

/* Where the value of each field goes. */
static void
report_slots(struct report_decision *decision, struct report_numbers *numbers,
	     const char **slots[REPORT_FIELDS])
{
	const char **list[REPORT_FIELDS] = {
		[LOGLINE_QUEUE_ID] = &decision->queue_id,
		[LOGLINE_CLIENT] = &numbers->client,
		[LOGLINE_DAEMON] = &decision->daemon,
		[LOGLINE_FRONT] = &decision->front,
		[LOGLINE_HELO] = &decision->helo,
		[LOGLINE_STAGE] = &decision->stage,
		[LOGLINE_ACTION] = &decision->action,
		[LOGLINE_REASON] = &decision->reason,
		[LOGLINE_DECISIVE] = &decision->decisive,
		[LOGLINE_SHADOW_ACTION] = &decision->shadow_action,
		[LOGLINE_LIST] = &decision->list,
		[LOGLINE_RCPT] = &decision->rcpt,
		[LOGLINE_GREYLIST] = &decision->greylist,
		[LOGLINE_GREYLIST_WAIT] = &decision->greylist_wait,
		[LOGLINE_CACHE] = &decision->cache,
		[LOGLINE_FIELDS + VERDICT_SCORE] = &numbers->score,
		[LOGLINE_FIELDS + VERDICT_LISTED] = &decision->listed,
		[LOGLINE_FIELDS + VERDICT_UNKNOWN] = &decision->unknown,
		[LOGLINE_FIELDS + VERDICT_SHADOW] = &decision->shadow,
		[LOGLINE_FIELDS + VERDICT_TTL] = &numbers->ttl,
		[LOGLINE_FIELDS + VERDICT_DNS_MS] = &numbers->dns_ms,
		[LOGLINE_FIELDS + VERDICT_ZONE_MS] = &decision->zone_ms,
		[LOGLINE_FIELDS + VERDICT_TEXT] = &decision->text,
	};

	memcpy(slots, list, sizeof(list));
}

/* Split decision->buf into its key=value fields; 0 or -1. */
static int
report_split(struct report_decision *decision, struct report_numbers *numbers)
{
	const char **slots[REPORT_FIELDS];
	char   *cp = decision->buf;
	char   *key;
	char   *value;
	char	sep;
	size_t	i;

	report_slots(decision, numbers, slots);
	while (*cp) {
		for (key = cp; (*cp >= 'a' && *cp <= 'z') || *cp == '_'; cp++)
			;
		if (cp == key || *cp != '=')
			return -1;
		*cp++ = 0;
		value = cp;
		if (*cp == '"') {
			if (report_unquote(&cp) < 0)
				return -1;
		} else {
			for (; *cp > ' ' && *cp < 0x7f; cp++)
				;
		}
		if ((sep = *cp) != ' ' && sep != 0)
			return -1;
		*cp = 0;
		if (sep == ' ' && *++cp == 0)
			return -1;	/* a space at the end */
		for (i = 0; i < REPORT_FIELDS
		     && strcmp(report_key(i), key) != 0; i++)
			;
		if (i == REPORT_FIELDS)
			continue;	/* a field of a later version */
		if (*slots[i] != NULL)
			return -1;	/* twice */
		*slots[i] = value;
	}
	return 0;
}

/*
 * Is a zone list (listed=, unknown=, shadow=, or with times zone_ms=,
 * whose details are numbers and names have no role) well formed?
 */
static bool
report_zones_valid(const char *list, bool times)
{
	struct report_zone zone;
	int	status;
	size_t	i;

	while ((status = report_zone_next(&list, &zone)) > 0) {
		if (!times)
			continue;
		if (zone.role != NULL || zone.detail_len == 0)
			return false;
		for (i = 0; i < zone.detail_len; i++)
			if (!isdigit((unsigned char) zone.detail[i]))
				return false;
	}
	return status == 0;
}

/* Check and convert the fields of a split line; 0 or -1. */
static int
report_check(struct report_decision *decision,
	     const struct report_numbers *numbers)
{
	long	value;
	int	i;

	if (decision->queue_id == NULL || numbers->client == NULL
	    || decision->stage == NULL || decision->action == NULL
	    || decision->reason == NULL
	    || addr_parse(numbers->client, &decision->client) < 0)
		return -1;
	for (i = 0; i < REPORT_KINDS; i++)
		if (strcmp(decision->action, decision_kind_name(i)) == 0)
			break;
	if (i == REPORT_KINDS)
		return -1;
	decision->kind = i;
	for (i = 0; decision->shadow_action != NULL && i < REPORT_KINDS; i++)
		if (strcmp(decision->shadow_action, decision_kind_name(i)) == 0)
			break;
	if (i == REPORT_KINDS)
		return -1;
	decision->greylist_outcome = GREYLIST_NONE;
	for (i = GREYLIST_NEW; decision->greylist != NULL
	     && i < GREYLIST_OUTCOMES; i++)
		if (strcmp(decision->greylist, greylist_outcome_name(i)) == 0)
			break;
	if (decision->greylist != NULL)
		decision->greylist_outcome = i;
	if (i == GREYLIST_OUTCOMES
	    || (decision->decisive != NULL
		&& decision->decisive[strspn(decision->decisive,
					     "abcdefghijklmnopqrstuvwxyz"
					     "0123456789.-_,")] != 0))
		return -1;
	if (decision->cache == NULL)
		return 0;
	for (i = 0; i < REPORT_LEVELS; i++)
		if (strcmp(decision->cache, vcache_level_name(i)) == 0)
			break;
	if (i == REPORT_LEVELS || numbers->score == NULL
	    || numbers->ttl == NULL || numbers->dns_ms == NULL
	    || decision->listed == NULL || decision->unknown == NULL
	    || !report_zones_valid(decision->listed, false)
	    || !report_zones_valid(decision->unknown, false)
	    || (decision->shadow != NULL
		&& !report_zones_valid(decision->shadow, false))
	    || (decision->zone_ms != NULL
		&& !report_zones_valid(decision->zone_ms, true))
	    || report_number(numbers->score, true, &decision->score) < 0)
		return -1;
	decision->level = i;
	if (report_number(numbers->ttl, false, &value) < 0)
		return -1;
	decision->ttl = (unsigned long) value;
	if (report_number(numbers->dns_ms, false, &value) < 0)
		return -1;
	decision->dns_ms = (unsigned long) value;
	return 0;
}

enum report_line_kind
report_parse(const char *line, size_t len, struct report_decision *decision)
{
	struct report_numbers numbers = {0};
	const char *end;
	const char *body;
	size_t	first = sizeof(report_first_key) - 1;
	size_t	rest;
	char	stamp[REPORT_STAMP_SIZE];

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	end = line + len;
	if ((body = report_body(line, end, stamp)) == NULL)
		return memmem(line, len, report_first_key, first) != NULL ?
		    REPORT_GARBLED : REPORT_OTHER;
	rest = (size_t) (end - body);
	/* Another message of rblmilter's, or a decision line cut short? */
	if (rest == 0
	    || strncmp(body, report_first_key, rest < first ? rest : first))
		return REPORT_OTHER;
	if (rest <= first || rest >= sizeof(decision->buf)
	    || memchr(body, 0, rest) != NULL)
		return REPORT_GARBLED;
	memset(decision, 0, offsetof(struct report_decision, buf));
	memcpy(decision->buf, body, rest);
	decision->buf[rest] = 0;
	memcpy(decision->stamp, stamp, sizeof(stamp));
	if (report_split(decision, &numbers) < 0
	    || report_check(decision, &numbers) < 0)
		return REPORT_GARBLED;
	return REPORT_DECISION;
}

/* Step over a DNS name's characters from cp. */
static const char *
report_name_end(const char *cp)
{
	while (isalnum((unsigned char) *cp) || *cp == '.' || *cp == '-'
	       || *cp == '_')
		cp++;
	return cp;
}

int
report_zone_next(const char **list, struct report_zone *zone)
{
	const char *cp = *list;

	if (*cp == 0)
		return 0;
	zone->name = cp;
	cp = report_name_end(cp);
	zone->name_len = (size_t) (cp - zone->name);
	zone->role = zone->subject = NULL;
	zone->role_len = zone->subject_len = 0;
	if (*cp == '[') {
		for (zone->role = ++cp; islower((unsigned char) *cp); cp++)
			;
		zone->role_len = (size_t) (cp - zone->role);
		if (zone->role_len == 0 || *cp++ != '=')
			return -1;
		zone->subject = cp;
		cp = report_name_end(cp);
		zone->subject_len = (size_t) (cp - zone->subject);
		if (zone->subject_len == 0 || *cp++ != ']')
			return -1;
	}
	if (zone->name_len == 0 || *cp != '(')
		return -1;
	for (zone->detail = ++cp; isalnum((unsigned char) *cp) || *cp == '.'
	     || *cp == '-' || *cp == ';'; cp++)
		;
	zone->detail_len = (size_t) (cp - zone->detail);
	if (*cp++ != ')')
		return -1;
	if (*cp == ',' && *++cp == 0)
		return -1;
	if (*cp != 0 && cp[-1] != ',')
		return -1;
	*list = cp;
	return 1;
}

struct report *
report_create(void)
{
	struct report *report;

	if ((report = calloc(1, sizeof(*report))) == NULL)
		return NULL;
	report->clients.limit = REPORT_CLIENTS_MAX;
	report->networks.limit = REPORT_CLIENTS_MAX;
	report->hits.limit = REPORT_ZONES_MAX;
	report->timeouts.limit = REPORT_ZONES_MAX;
	report->lookups.limit = REPORT_ZONES_MAX;
	report->decisive.limit = REPORT_ZONES_MAX;
	report->overlap.limit = REPORT_ZONES_MAX * REPORT_ZONES_MAX;
	report->shadow_rejects.limit = REPORT_ZONES_MAX;
	report->shadow_alone.limit = REPORT_ZONES_MAX;
	return report;
}

void
report_free(struct report *report)
{
	if (report == NULL)
		return;
	report_table_free(&report->clients);
	report_table_free(&report->networks);
	report_table_free(&report->hits);
	report_table_free(&report->timeouts);
	report_table_free(&report->lookups);
	report_table_free(&report->decisive);
	report_table_free(&report->overlap);
	report_table_free(&report->shadow_rejects);
	report_table_free(&report->shadow_alone);
	free(report->dns_ms);
	free(report);
}

/*
 * Count a time of ms milliseconds in a histogram of REPORT_MS_BUCKETS,
 * made at the first; 0, or -1 when out of memory.
 */
static int
report_ms_add(unsigned long long **histogram, unsigned long ms)
{
	if (*histogram == NULL
	    && (*histogram = calloc(REPORT_MS_BUCKETS,
				    sizeof(**histogram))) == NULL)
		return -1;
	if (ms > REPORT_DNS_MS_MAX)
		ms = REPORT_DNS_MS_MAX;
	(*histogram)[ms < REPORT_MS_EXACT ? ms : REPORT_MS_EXACT
		     + (ms - REPORT_MS_EXACT) / REPORT_MS_STEP]++;
	return 0;
}

/*
 * The p-th percentile (nearest rank) of a histogram of samples times, in
 * ms (a step's lowest above REPORT_MS_EXACT); samples > 0.
 */
static unsigned long
report_ms_percentile(const unsigned long long *histogram,
		     unsigned long long samples, unsigned p)
{
	unsigned long long rank = (samples * p + 99) / 100;
	unsigned long long seen = 0;
	unsigned long i;

	if (rank == 0)
		rank = 1;
	for (i = 0; i < REPORT_MS_BUCKETS - 1; i++)
		if ((seen += histogram[i]) >= rank)
			break;
	return i < REPORT_MS_EXACT ? i : REPORT_MS_EXACT
	    + (i - REPORT_MS_EXACT) * REPORT_MS_STEP;
}

/*
 * Count the zones of zone_ms=, each a query in DNS that took so many ms;
 * 0 or -1.
 */
static int
report_lookups(struct report *report, const struct report_decision *decision)
{
	struct report_zone zone;
	struct report_count *entry;
	const char *list;

	for (list = decision->zone_ms; list != NULL
	     && report_zone_next(&list, &zone) > 0;) {
		if (report_table_count(&report->lookups, zone.name,
				       zone.name_len, &entry) < 0
		    || (entry != NULL
			&& report_ms_add(&entry->ms, strtoul(zone.detail, NULL,
							     10)) < 0))
			return -1;
	}
	return 0;
}

/* Count a rejected client and its /24 (IPv4) or /48 (IPv6); 0 or -1. */
static int
report_rejected(struct report *report, const struct addr *client)
{
	struct addr net = *client;
	char	text[ADDR_TEXT_SIZE + 4];
	size_t	keep = net.family == AF_INET ? 3 : 6;

	addr_format(client, text);
	if (report_table_add(&report->clients, text, strlen(text)) < 0)
		return -1;
	memset(net.bytes + keep, 0, sizeof(net.bytes) - keep);
	addr_format(&net, text);
	strcat(text, net.family == AF_INET ? "/24" : "/48");
	return report_table_add(&report->networks, text, strlen(text));
}

/* Count the zones of decisive=, "zone,zone"; 0 or -1. */
static int
report_decisive(struct report *report, const struct report_decision *decision)
{
	const char *cp;
	size_t	len;

	for (cp = decision->decisive; cp != NULL && *cp;
	     cp += len + (cp[len] == ',')) {
		len = strcspn(cp, ",");
		if (len > 0 && report_table_add(&report->decisive, cp, len) < 0)
			return -1;
	}
	return 0;
}

/*
 * Count each pair of distinct zones that listed the same client, as
 * "a.test+b.test" in the order listed= has them; 0 or -1.
 */
static int
report_overlap(struct report *report, const struct report_decision *decision)
{
	struct report_zone zones[REPORT_OVERLAP_ZONES];
	struct report_zone zone;
	const char *list;
	char	key[400];
	size_t	count = 0;
	size_t	i;
	size_t	j;
	int	len;

	for (list = decision->listed; report_zone_next(&list, &zone) > 0
	     && count < REPORT_OVERLAP_ZONES;) {
		for (i = 0; i < count; i++)
			if (zones[i].name_len == zone.name_len
			    && strncmp(zones[i].name, zone.name,
				       zone.name_len) == 0)
				break;
		if (i == count)
			zones[count++] = zone;
	}
	for (i = 0; i < count; i++)
		for (j = i + 1; j < count; j++) {
			len = snprintf(key, sizeof(key), "%.*s+%.*s",
				       (int) zones[i].name_len, zones[i].name,
				       (int) zones[j].name_len, zones[j].name);
			if (len > 0 && (size_t) len < sizeof(key)
			    && report_table_add(&report->overlap, key,
						(size_t) len) < 0)
				return -1;
		}
	return 0;
}

/*
 * Count the rejections shadow zones would have made alone: a decision
 * that did not reject and would have with them scored, for each shadow
 * zone that listed the client (answers, not a reason, in shadow=); and
 * apart those no scored zone listed at all.  0 or -1.
 */
static int
report_shadow(struct report *report, const struct report_decision *decision)
{
	struct report_zone zone;
	const char *list;

	if (decision->shadow_action == NULL || decision->shadow == NULL
	    || strcmp(decision->shadow_action,
		      decision_kind_name(DECISION_KIND_REJECT)) != 0
	    || decision->kind == DECISION_KIND_REJECT)
		return 0;
	for (list = decision->shadow; report_zone_next(&list, &zone) > 0;) {
		if (zone.detail_len == 0 || !isdigit((unsigned char) *zone.detail))
			continue;
		if (report_table_add(&report->shadow_rejects, zone.name,
				     zone.name_len) < 0
		    || (*decision->listed == 0
			&& report_table_add(&report->shadow_alone, zone.name,
					    zone.name_len) < 0))
			return -1;
	}
	return 0;
}

/*
 * Count the zones of a verdict, a domain zone's hits per role
 * ("dbl.test[sender]"); 0 or -1.
 */
static int
report_zones(struct report *report, const struct report_decision *decision)
{
	struct report_zone zone;
	const char *list;
	char	key[300];
	int	len;

	for (list = decision->listed; report_zone_next(&list, &zone) > 0;) {
		len = zone.role == NULL ?
		    snprintf(key, sizeof(key), "%.*s", (int) zone.name_len,
			     zone.name)
		    : snprintf(key, sizeof(key), "%.*s[%.*s]",
			       (int) zone.name_len, zone.name,
			       (int) zone.role_len, zone.role);
		if (len < 0 || (size_t) len >= sizeof(key))
			continue;
		if (report_table_add(&report->hits, key, (size_t) len) < 0)
			return -1;
	}
	for (list = decision->unknown; report_zone_next(&list, &zone) > 0;)
		if (zone.detail_len == 7
		    && strncmp(zone.detail, "timeout", 7) == 0
		    && report_table_add(&report->timeouts, zone.name,
					zone.name_len) < 0)
			return -1;
	if (report_decisive(report, decision) < 0
	    || report_overlap(report, decision) < 0
	    || report_lookups(report, decision) < 0)
		return -1;
	return report_shadow(report, decision);
}

/* Count one line; cut when it was longer than the buffer.  0 or -1. */
static int
report_line(struct report *report, const char *line, size_t len, bool cut)
{
	struct report_decision *decision = &report->decision;
	enum report_line_kind kind;

	report->lines++;
	kind = report_parse(line, len, decision);
	if (kind == REPORT_OTHER) {
		report->other++;
		return 0;
	}
	if (kind == REPORT_GARBLED || cut) {
		report->skipped++;
		return 0;
	}
	report->sessions++;
	report->actions[decision->kind]++;
	report->greylist[decision->greylist_outcome]++;
	if (decision->stamp[0]) {
		if (report->first[0] == 0)
			memcpy(report->first, decision->stamp,
			       sizeof(report->first));
		memcpy(report->last, decision->stamp, sizeof(report->last));
	}
	if (decision->kind == DECISION_KIND_REJECT
	    && report_rejected(report, &decision->client) < 0)
		return -1;
	if (decision->cache == NULL)
		return 0;
	report->levels[decision->level]++;
	if (decision->level == CACHE_MISS) {
		report->misses++;
		if (report_ms_add(&report->dns_ms, decision->dns_ms) < 0)
			return -1;
	}
	return report_zones(report, decision);
}

int
report_add(struct report *report, const char *line, size_t len)
{
	return report_line(report, line, len, false);
}

int
report_read(struct report *report, FILE *in, char *err, size_t errlen)
{
	char	line[REPORT_LINE_MAX];
	size_t	len = 0;
	bool	cut = false;
	int	ch;

	while ((ch = getc_unlocked(in)) != EOF) {
		if (ch != '\n') {
			if (len < sizeof(line))
				line[len++] = (char) ch;
			else
				cut = true;
			continue;
		}
		if (report_line(report, line, len, cut) < 0)
			goto nomem;
		len = 0;
		cut = false;
	}
	if (ferror(in)) {
		snprintf(err, errlen, "read error: %s", strerror(errno));
		return -1;
	}
	if ((len > 0 || cut) && report_line(report, line, len, cut) < 0)
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* The tables of a report, in the order they are printed. */
struct report_section {
	const struct report_table *table;
	size_t	top;			/* entries shown */
	const char *title;		/* text */
	const char *column;		/* text: what the counts are */
	const char *name;		/* JSON */
	const char *key;		/* JSON: what an entry's key is */
	const char *count;		/* JSON: what an entry counts */
	bool	optional;		/* text: not shown when empty */
};

#define REPORT_SECTIONS	8

/* The sections of report into sections[REPORT_SECTIONS]. */
static void
report_sections(const struct report *report, struct report_section *sections)
{
	const struct report_section list[REPORT_SECTIONS] = {
		{&report->clients, REPORT_TOP, "top rejected clients",
		 "rejects", "rejected_clients", "client", "rejects", false},
		{&report->networks, REPORT_TOP, "top rejected networks",
		 "rejects", "rejected_networks", "network", "rejects", false},
		{&report->hits, REPORT_ZONES_MAX, "zone hits",
		 "hits", "zone_hits", "zone", "hits", false},
		{&report->timeouts, REPORT_ZONES_MAX, "zones that timed out",
		 "timeouts", "zone_timeouts", "zone", "timeouts", false},
		{&report->decisive, REPORT_ZONES_MAX,
		 "zones a rejection needed", "rejects", "zone_decisive",
		 "zone", "rejects", true},
		{&report->overlap, REPORT_ZONES_MAX, "zones listing one client",
		 "clients", "zone_overlap", "zones", "clients", true},
		{&report->shadow_rejects, REPORT_ZONES_MAX,
		 "shadow zones: would-be rejections", "rejects",
		 "shadow_rejects", "zone", "rejects", true},
		{&report->shadow_alone, REPORT_ZONES_MAX,
		 "... no scored zone listed", "rejects",
		 "shadow_rejects_alone", "zone", "rejects", true},
	};

	memcpy(sections, list, sizeof(list));
}

/* A heading of the text report: title, the counts' name, "share". */
static void
report_heading(FILE *out, int width, const char *title, const char *column,
	       bool share)
{
	fprintf(out, "\n%-*s %10s%s\n", width + 2, title, column,
		share ? "   share" : "");
}

/* A row of the text report, with its share of total when that is > 0. */
static void
report_row(FILE *out, int width, const char *label, unsigned long long count,
	   unsigned long long total)
{
	fprintf(out, "  %-*s %10llu", width, label, count);
	if (total > 0)
		fprintf(out, "  %5.1f%%",
			100.0 * (double) count / (double) total);
	fputc('\n', out);
}

/*
 * Each zone asked in DNS, in the text report: queries, timeouts, and
 * the p50 and p99 of its times; only when a line said any.
 */
static void
report_text_lookups(const struct report *report, FILE *out, int width)
{
	const struct report_count *top[REPORT_ZONES_MAX];
	size_t	count = report_table_top(&report->lookups, top,
					 REPORT_ZONES_MAX);
	char	title[64];
	size_t	i;

	if (report->lookups.used == 0)
		return;
	snprintf(title, sizeof(title), "zones asked in DNS (of %zu)",
		 report->lookups.used);
	fprintf(out, "\n%-*s %10s %10s %8s %8s\n", width + 2, title, "queries",
		"timeouts", "p50 ms", "p99 ms");
	for (i = 0; i < count; i++)
		fprintf(out, "  %-*s %10llu %10llu %8lu %8lu\n", width,
			top[i]->key, top[i]->count,
			report_table_get(&report->timeouts, top[i]->key),
			report_ms_percentile(top[i]->ms, top[i]->count, 50),
			report_ms_percentile(top[i]->ms, top[i]->count, 99));
	if (report->lookups.untracked > 0)
		report_row(out, width, "(not kept: table full)",
			   report->lookups.untracked, 0);
}

/* The plain text report: aligned columns, the widest key decides. */
static void
report_text(const struct report *report, FILE *out)
{
	const struct report_count *top[REPORT_ZONES_MAX];
	struct report_section sections[REPORT_SECTIONS];
	unsigned long long lookups = 0;
	char	title[64];
	int	width = 26;
	size_t	count;
	size_t	i;
	size_t	j;

	report_sections(report, sections);
	for (i = 0; i <= REPORT_SECTIONS; i++) {
		count = i < REPORT_SECTIONS ?
		    report_table_top(sections[i].table, top, sections[i].top)
		    : report_table_top(&report->lookups, top, REPORT_ZONES_MAX);
		for (j = 0; j < count; j++)
			if (strlen(top[j]->key) > (size_t) width)
				width = (int) strlen(top[j]->key);
	}
	if (report->first[0])
		fprintf(out, "rblmilter report: %s to %s\n", report->first,
			report->last);
	else
		fprintf(out, "rblmilter report (no syslog times in the "
			"input)\n");
	report_row(out, width, "lines read", report->lines, 0);
	report_row(out, width, "sessions (decision lines)", report->sessions,
		   0);
	report_row(out, width, "other lines", report->other, 0);
	report_row(out, width, "skipped (cut or garbled)", report->skipped, 0);
	report_row(out, width, "relay refusals",
		   report->actions[DECISION_KIND_RELAY], 0);
	report_heading(out, width, "actions", "sessions", true);
	for (i = 0; i < REPORT_KINDS; i++)
		report_row(out, width, decision_kind_name(i),
			   report->actions[i], report->sessions);
	for (i = 0; i < REPORT_SECTIONS; i++) {
		count = report_table_top(sections[i].table, top,
					 sections[i].top);
		if (sections[i].optional && sections[i].table->used == 0)
			continue;
		snprintf(title, sizeof(title), "%s (of %zu)", sections[i].title,
			 sections[i].table->used);
		report_heading(out, width, title, sections[i].column, false);
		for (j = 0; j < count; j++)
			report_row(out, width, top[j]->key, top[j]->count, 0);
		if (sections[i].table->untracked > 0)
			report_row(out, width, "(not kept: table full)",
				   sections[i].table->untracked, 0);
	}
	if (report->actions[DECISION_KIND_GREYLIST] > 0) {
		report_heading(out, width, "greylisting", "recipients", false);
		for (i = GREYLIST_NEW; i < GREYLIST_OUTCOMES; i++)
			report_row(out, width, greylist_outcome_name(i),
				   report->greylist[i], 0);
	}
	report_text_lookups(report, out, width);
	for (i = 0; i < REPORT_LEVELS; i++)
		lookups += report->levels[i];
	report_heading(out, width, "cache", "verdicts", true);
	for (i = 0; i < REPORT_LEVELS; i++)
		report_row(out, width, vcache_level_name(i), report->levels[i],
			   lookups);
	if (lookups > 0)
		fprintf(out, "  %-*s %10s  %5.1f%%\n", width, "hit rate", "",
			100.0 * (double) (lookups - report->levels[CACHE_MISS])
			/ (double) lookups);
	snprintf(title, sizeof(title), "dns_ms (of %llu cache misses)",
		 report->misses);
	report_heading(out, width, title, "ms", false);
	if (report->misses > 0) {
		report_row(out, width, "p50", report_ms_percentile(
			   report->dns_ms, report->misses, 50), 0);
		report_row(out, width, "p99", report_ms_percentile(
			   report->dns_ms, report->misses, 99), 0);
	}
}

/* A JSON string: quoted, escaped, bytes above 0x7e as \u00XX. */
static void
report_json_string(FILE *out, const char *text)
{
	const unsigned char *cp;

	fputc('"', out);
	for (cp = (const unsigned char *) text; *cp; cp++) {
		if (*cp == '"' || *cp == '\\')
			fprintf(out, "\\%c", *cp);
		else if (*cp < 0x20 || *cp >= 0x7f)
			fprintf(out, "\\u%04x", *cp);
		else
			fputc(*cp, out);
	}
	fputc('"', out);
}

/* A JSON rate: part / total with 4 decimals, null when total is 0. */
static void
report_json_rate(FILE *out, unsigned long long part, unsigned long long total)
{
	if (total == 0)
		fprintf(out, "null");
	else
		fprintf(out, "%.4f", (double) part / (double) total);
}

/*
 * "zone_lookups": each zone asked in DNS, its queries, timeouts, and the
 * p50 and p99 of its times (ms).
 */
static void
report_json_lookups(const struct report *report, FILE *out)
{
	const struct report_count *top[REPORT_ZONES_MAX];
	size_t	count = report_table_top(&report->lookups, top,
					 REPORT_ZONES_MAX);
	size_t	i;

	fprintf(out, "  \"zone_lookups\": {\"distinct\": %zu, "
		"\"untracked\": %llu, \"top\": [", report->lookups.used,
		report->lookups.untracked);
	for (i = 0; i < count; i++) {
		fprintf(out, "%s\n    {\"zone\": ", i ? "," : "");
		report_json_string(out, top[i]->key);
		fprintf(out, ", \"queries\": %llu, \"timeouts\": %llu, "
			"\"p50_ms\": %lu, \"p99_ms\": %lu}", top[i]->count,
			report_table_get(&report->timeouts, top[i]->key),
			report_ms_percentile(top[i]->ms, top[i]->count, 50),
			report_ms_percentile(top[i]->ms, top[i]->count, 99));
	}
	fprintf(out, "%s]},\n", count ? "\n  " : "");
}

/* The JSON report: one object, keys in a fixed order. */
static void
report_json(const struct report *report, FILE *out)
{
	const struct report_count *top[REPORT_ZONES_MAX];
	struct report_section sections[REPORT_SECTIONS];
	unsigned long long lookups = 0;
	size_t	count;
	size_t	i;
	size_t	j;

	fprintf(out, "{\n  \"first\": ");
	if (report->first[0])
		report_json_string(out, report->first);
	else
		fprintf(out, "null");
	fprintf(out, ",\n  \"last\": ");
	if (report->last[0])
		report_json_string(out, report->last);
	else
		fprintf(out, "null");
	fprintf(out, ",\n  \"lines\": %llu,\n  \"sessions\": %llu,\n"
		"  \"other\": %llu,\n  \"skipped\": %llu,\n  \"actions\": {",
		report->lines, report->sessions, report->other,
		report->skipped);
	for (i = 0; i < REPORT_KINDS; i++)
		fprintf(out, "%s\"%s\": %llu", i ? ", " : "",
			decision_kind_name(i), report->actions[i]);
	fprintf(out, "},\n  \"relay_refusals\": %llu,\n  \"greylist\": {",
		report->actions[DECISION_KIND_RELAY]);
	for (i = GREYLIST_NEW; i < GREYLIST_OUTCOMES; i++)
		fprintf(out, "%s\"%s\": %llu", i > GREYLIST_NEW ? ", " : "",
			greylist_outcome_name(i), report->greylist[i]);
	fprintf(out, "},\n");
	report_sections(report, sections);
	for (i = 0; i < REPORT_SECTIONS; i++) {
		count = report_table_top(sections[i].table, top,
					 sections[i].top);
		fprintf(out, "  \"%s\": {\"distinct\": %zu, "
			"\"untracked\": %llu, \"top\": [", sections[i].name,
			sections[i].table->used, sections[i].table->untracked);
		for (j = 0; j < count; j++) {
			fprintf(out, "%s\n    {\"%s\": ", j ? "," : "",
				sections[i].key);
			report_json_string(out, top[j]->key);
			fprintf(out, ", \"%s\": %llu}", sections[i].count,
				top[j]->count);
		}
		fprintf(out, "%s]},\n", count ? "\n  " : "");
	}
	report_json_lookups(report, out);
	for (i = 0; i < REPORT_LEVELS; i++)
		lookups += report->levels[i];
	fprintf(out, "  \"cache\": {\"lookups\": %llu", lookups);
	for (i = 0; i < REPORT_LEVELS; i++)
		fprintf(out, ", \"%s\": %llu", vcache_level_name(i),
			report->levels[i]);
	fprintf(out, ", \"rate\": {");
	for (i = 0; i < REPORT_LEVELS; i++) {
		fprintf(out, "%s\"%s\": ", i ? ", " : "", vcache_level_name(i));
		report_json_rate(out, report->levels[i], lookups);
	}
	fprintf(out, "}, \"hit_rate\": ");
	report_json_rate(out, lookups - report->levels[CACHE_MISS], lookups);
	fprintf(out, "},\n  \"dns_ms\": {\"samples\": %llu, ", report->misses);
	if (report->misses > 0)
		fprintf(out, "\"p50\": %lu, \"p99\": %lu}\n}\n",
			report_ms_percentile(report->dns_ms, report->misses, 50),
			report_ms_percentile(report->dns_ms, report->misses, 99));
	else
		fprintf(out, "\"p50\": null, \"p99\": null}\n}\n");
}

void
report_print(const struct report *report, bool json, FILE *out)
{
	if (json)
		report_json(report, out);
	else
		report_text(report, out);
}

int
report_run(const char *path, bool json, FILE *out)
{
	struct report *report;
	FILE   *in = stdin;
	char	err[256];
	int	status = 2;

	if (strcmp(path, "-") != 0 && (in = fopen(path, "r")) == NULL) {
		msg_error("--report: %s: %s", path, strerror(errno));
		return 2;
	}
	if ((report = report_create()) == NULL) {
		msg_error("--report: out of memory");
	} else if (report_read(report, in, err, sizeof(err)) < 0) {
		msg_error("--report: %s: %s", path, err);
	} else {
		report_print(report, json, out);
		if (fflush(out) != 0 || ferror(out))
			msg_error("--report: cannot write the report: %s",
				  strerror(errno));
		else
			status = 0;
	}
	report_free(report);
	if (in != stdin)
		fclose(in);
	return status;
}
