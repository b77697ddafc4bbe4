/*
 * check_prefix - the longest-prefix table of the client lists: /0, host
 * prefixes, nesting, duplicates, the two families, random tables checked
 * against a linear scan, a million entries, and matches from many threads.
 */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists/prefix.h"
#include "lib/addr.h"
#include "t/tenv.h"

/* Flags as the client lists will use them; the table gives them no sense. */
#define ALLOW	(1u << 0)
#define DENY	(1u << 1)
#define RELAY	(1u << 2)
#define ANY	(ALLOW | DENY | RELAY)

/* The random tables: prefixes, and the addresses looked up in them. */
#define RANDOM_PREFIXES	100000
#define RANDOM_QUERIES	10000

/* Threads that match against one table at once. */
#define THREADS		4

/* One prefix as added, for the linear scan. */
struct sample {
	struct addr net;		/* host bits random, as added */
	unsigned bits;			/* prefix length */
	unsigned flags;			/* as added */
};

/* A sample as the linear scan reads it, in two 64-bit halves. */
struct scan {
	uint64_t net[2];		/* the address bits under mask */
	uint64_t mask[2];		/* the prefix length's bits */
	unsigned bits;			/* prefix length */
	unsigned flags;			/* as added */
};

/* One lookup and its answer. */
struct query {
	struct addr addr;		/* the client */
	unsigned mask;			/* flags asked for */
	unsigned want;			/* flags expected */
};

/* What a thread matches and how many answers differed. */
struct worker {
	pthread_t thread;		/* running worker() */
	const struct prefix_table *table;	/* shared, finished */
	const struct query *query;	/* shared, read only */
	size_t	count;			/* of query */
	size_t	wrong;			/* answers not as wanted */
};

/* A new empty table. */
static struct prefix_table *
table_new(void)
{
	struct prefix_table *table = prefix_table_create();

	ck_assert_ptr_nonnull(table);
	return table;
}

/* Add "network/length" text, which must be valid. */
static void
add(struct prefix_table *table, const char *text, unsigned flags)
{
	struct addr net;
	unsigned bits;
	char	err[256];

	ck_assert_msg(addr_parse_prefix(text, &net, &bits, err,
					sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(prefix_table_add(table, &net, bits, flags), 0);
}

/* Finish a table that must not fail. */
static void
finish(struct prefix_table *table)
{
	ck_assert_int_eq(prefix_table_finish(table), 0);
}

/* Match address text, which must be valid. */
static unsigned
match(const struct prefix_table *table, const char *text, unsigned mask)
{
	struct addr addr;

	ck_assert_msg(addr_parse(text, &addr) == 0, "bad address %s", text);
	return prefix_table_match(table, &addr, mask);
}

/* xorshift64*: reproducible numbers without rand()'s hidden state. */
static uint64_t
next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}

/* Random bits into bytes from bit "from" on, as far as the family goes. */
static void
random_below(uint64_t *state, struct addr *addr, unsigned from)
{
	size_t	size = addr->family == AF_INET ? 4 : 16;
	size_t	i;
	unsigned char keep;
	unsigned char r;

	for (i = from / 8; i < size; i++) {
		r = (unsigned char) next_random(state);
		keep = i > from / 8 ? 0 : (unsigned char) (0xff00 >> from % 8);
		addr->bytes[i] = (unsigned char) ((addr->bytes[i] & keep)
						  | (r & ~keep));
	}
}

/*
 * A random address of family; half of them under 10.0.0.0/8 or
 * 2001:db8::/32 so that random prefixes nest and collide.
 */
static void
random_addr(uint64_t *state, int family, struct addr *addr)
{
	static const unsigned char crowd[4] = {0x20, 0x01, 0x0d, 0xb8};

	memset(addr, 0, sizeof(*addr));
	addr->family = family;
	random_below(state, addr, 0);
	if (next_random(state) % 2 == 0)
		return;
	if (family == AF_INET)
		addr->bytes[0] = 10;
	else
		memcpy(addr->bytes, crowd, sizeof(crowd));
}

/* An address as two 64-bit halves, most significant first. */
static void
halves(const struct addr *addr, uint64_t half[2])
{
	size_t	i;

	half[0] = half[1] = 0;
	for (i = 0; i < 16; i++)
		half[i / 8] = half[i / 8] << 8 | addr->bytes[i];
}

/* The samples of one family as the linear scan reads them; *count in/out. */
static struct scan *
scan_table(const struct sample *sample, size_t *count, int family)
{
	struct scan *scan = calloc(*count, sizeof(*scan));
	struct scan *s;
	size_t	i;
	size_t	j;

	ck_assert_ptr_nonnull(scan);
	for (i = 0, s = scan; i < *count; i++) {
		if (sample[i].net.family != family)
			continue;
		for (j = 0; j < 2; j++) {
			if (sample[i].bits >= 64 * (j + 1))
				s->mask[j] = UINT64_MAX;
			else if (sample[i].bits > 64 * j)
				s->mask[j] = ~(UINT64_MAX >> (sample[i].bits
							      - 64 * j));
		}
		halves(&sample[i].net, s->net);
		s->net[0] &= s->mask[0];
		s->net[1] &= s->mask[1];
		s->bits = sample[i].bits;
		s->flags = sample[i].flags;
		s++;
	}
	*count = (size_t) (s - scan);
	return scan;
}

/* The answer by linear scan: flags OR'ed per length, longest that fits. */
static unsigned
linear_match(const struct scan *scan, size_t count, const struct addr *addr,
	     unsigned mask)
{
	unsigned by_length[129] = {0};
	uint64_t half[2];
	size_t	i;
	int	bits;

	halves(addr, half);
	for (i = 0; i < count; i++)
		if ((half[0] & scan[i].mask[0]) == scan[i].net[0]
		    && (half[1] & scan[i].mask[1]) == scan[i].net[1])
			by_length[scan[i].bits] |= scan[i].flags;
	for (bits = 128; bits >= 0; bits--)
		if ((by_length[bits] & mask) != 0)
			return by_length[bits];
	return 0;
}

/* Order samples by family, length and network (host bits ignored). */
static int
sample_order(const void *a, const void *b)
{
	const struct sample *x = a;
	const struct sample *y = b;
	size_t	n = x->bits / 8;
	unsigned mask = 0xff00u >> (x->bits % 8) & 0xff;
	int	diff;

	if (x->net.family != y->net.family)
		return x->net.family < y->net.family ? -1 : 1;
	if (x->bits != y->bits)
		return x->bits < y->bits ? -1 : 1;
	if ((diff = memcmp(x->net.bytes, y->net.bytes, n)) != 0 || mask == 0)
		return diff;
	return (int) (x->net.bytes[n] & mask) - (int) (y->net.bytes[n] & mask);
}

/* Distinct prefixes among samples (which this sorts). */
static size_t
distinct(struct sample *sample, size_t count)
{
	size_t	total = count > 0;
	size_t	i;

	qsort(sample, count, sizeof(*sample), sample_order);
	for (i = 1; i < count; i++)
		total += sample_order(sample + i - 1, sample + i) != 0;
	return total;
}

/*
 * Fill a table with count random prefixes, also kept in sample.  A third
 * extend an earlier prefix, so that long ones nest.  One in 500 is shorter
 * than a quarter of the address and has RELAY only, so that lookups
 * without RELAY in their mask can still miss.
 */
static void
random_table(uint64_t *state, struct prefix_table *table,
	     struct sample *sample, size_t count)
{
	const struct sample *earlier;
	struct sample *s;
	size_t	failed = 0;
	unsigned max;
	size_t	i;

	for (i = 0; i < count; i++) {
		s = sample + i;
		if (i > 0 && next_random(state) % 3 == 0) {
			earlier = sample + next_random(state) % i;
			max = earlier->net.family == AF_INET ? 32 : 128;
			s->net = earlier->net;
			s->bits = earlier->bits + (unsigned)
			    (next_random(state) % (max - earlier->bits + 1));
			random_below(state, &s->net, earlier->bits);
		} else {
			random_addr(state, next_random(state) % 2 ? AF_INET
				    : AF_INET6, &s->net);
			max = s->net.family == AF_INET ? 32 : 128;
			s->bits = max / 4 + (unsigned)
			    (next_random(state) % (max - max / 4 + 1));
		}
		s->flags = (unsigned) (next_random(state) % 8);
		if (next_random(state) % 500 == 0) {
			s->bits = (unsigned) (next_random(state) % (max / 4));
			s->flags = RELAY;
		}
		failed += prefix_table_add(table, &s->net, s->bits,
					   s->flags) != 0;
	}
	ck_assert_uint_eq(failed, 0);
	finish(table);
}

/*
 * Random lookups: half inside a random sample's prefix, the rest
 * anywhere; answers from the linear scan.
 */
static void
random_queries(uint64_t *state, const struct sample *sample,
	       size_t samples, struct query *query, size_t count)
{
	size_t	v4 = samples;
	size_t	v6 = samples;
	struct scan *scan_v4 = scan_table(sample, &v4, AF_INET);
	struct scan *scan_v6 = scan_table(sample, &v6, AF_INET6);
	const struct sample *inside;
	struct query *q;
	size_t	i;

	for (i = 0; i < count; i++) {
		q = query + i;
		inside = sample + next_random(state) % samples;
		if (next_random(state) % 2 == 0) {
			q->addr = inside->net;
			random_below(state, &q->addr, inside->bits);
		} else {
			random_addr(state, inside->net.family, &q->addr);
		}
		q->mask = (unsigned) (next_random(state) % 7 + 1);
		q->want = q->addr.family == AF_INET
		    ? linear_match(scan_v4, v4, &q->addr, q->mask)
		    : linear_match(scan_v6, v6, &q->addr, q->mask);
	}
	free(scan_v6);
	free(scan_v4);
}

START_TEST(test_empty)
{
	struct prefix_table *table = table_new();

	finish(table);
	ck_assert_uint_eq(prefix_table_count(table), 0);
	ck_assert_uint_eq(match(table, "192.0.2.1", ANY), 0);
	ck_assert_uint_eq(match(table, "::", ANY), 0);
	prefix_table_free(table);
	prefix_table_free(NULL);
}
END_TEST

START_TEST(test_everything)
{
	struct prefix_table *table = table_new();

	add(table, "0.0.0.0/0", ALLOW);
	finish(table);
	ck_assert_uint_eq(match(table, "0.0.0.0", ANY), ALLOW);
	ck_assert_uint_eq(match(table, "192.0.2.1", ANY), ALLOW);
	ck_assert_uint_eq(match(table, "255.255.255.255", ANY), ALLOW);
	ck_assert_uint_eq(match(table, "192.0.2.1", DENY), 0);
	ck_assert_uint_eq(match(table, "::", ANY), 0);
	ck_assert_uint_eq(match(table, "2001:db8::1", ANY), 0);

	add(table, "::/0", DENY);
	finish(table);
	ck_assert_uint_eq(prefix_table_count(table), 2);
	ck_assert_uint_eq(match(table, "::", ANY), DENY);
	ck_assert_uint_eq(match(table, "2001:db8::1", ANY), DENY);
	ck_assert_uint_eq(match(table, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
				"ffff", ANY), DENY);
	ck_assert_uint_eq(match(table, "::ffff:192.0.2.1", ANY), ALLOW);
	ck_assert_uint_eq(match(table, "192.0.2.1", ANY), ALLOW);
	prefix_table_free(table);
}
END_TEST

START_TEST(test_hosts)
{
	struct prefix_table *table = table_new();

	add(table, "192.0.2.1", ALLOW);
	add(table, "0.0.0.0/32", DENY);
	add(table, "255.255.255.255/32", RELAY);
	add(table, "2001:db8::1", ALLOW);
	add(table, "::/128", DENY);
	add(table, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", RELAY);
	finish(table);
	ck_assert_uint_eq(prefix_table_count(table), 6);
	ck_assert_uint_eq(match(table, "192.0.2.1", ANY), ALLOW);
	ck_assert_uint_eq(match(table, "192.0.2.0", ANY), 0);
	ck_assert_uint_eq(match(table, "192.0.2.2", ANY), 0);
	ck_assert_uint_eq(match(table, "0.0.0.0", ANY), DENY);
	ck_assert_uint_eq(match(table, "0.0.0.1", ANY), 0);
	ck_assert_uint_eq(match(table, "255.255.255.255", ANY), RELAY);
	ck_assert_uint_eq(match(table, "255.255.255.254", ANY), 0);
	ck_assert_uint_eq(match(table, "2001:db8::1", ANY), ALLOW);
	ck_assert_uint_eq(match(table, "2001:db8::", ANY), 0);
	ck_assert_uint_eq(match(table, "2001:db8::1:1", ANY), 0);
	ck_assert_uint_eq(match(table, "2001:db9::1", ANY), 0);
	ck_assert_uint_eq(match(table, "::", ANY), DENY);
	ck_assert_uint_eq(match(table, "::1", ANY), 0);
	ck_assert_uint_eq(match(table, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
				"ffff", ANY), RELAY);
	ck_assert_uint_eq(match(table, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
				"fffe", ANY), 0);
	ck_assert_uint_eq(match(table, "7fff:ffff:ffff:ffff:ffff:ffff:ffff:"
				"ffff", ANY), 0);
	prefix_table_free(table);
}
END_TEST

START_TEST(test_longest)
{
	struct prefix_table *table = table_new();

	add(table, "10.0.0.0/8", ALLOW);
	add(table, "10.1.0.0/16", DENY);
	finish(table);
	ck_assert_uint_eq(match(table, "10.1.2.3", ALLOW | DENY), DENY);
	ck_assert_uint_eq(match(table, "10.2.0.1", ALLOW | DENY), ALLOW);
	ck_assert_uint_eq(match(table, "11.0.0.1", ALLOW | DENY), 0);
	/* A longer prefix without the flags asked for does not hide one. */
	ck_assert_uint_eq(match(table, "10.1.2.3", ALLOW), ALLOW);
	ck_assert_uint_eq(match(table, "10.2.0.1", DENY), 0);
	ck_assert_uint_eq(match(table, "10.1.2.3", RELAY), 0);

	add(table, "10.0.0.0/12", RELAY);
	add(table, "10.1.2.0/24", ALLOW);
	finish(table);
	ck_assert_uint_eq(match(table, "10.1.2.3", ALLOW | DENY), ALLOW);
	ck_assert_uint_eq(match(table, "10.1.3.1", ALLOW | DENY), DENY);
	ck_assert_uint_eq(match(table, "10.1.2.3", RELAY), RELAY);
	ck_assert_uint_eq(match(table, "10.1.2.3", ANY), ALLOW);
	ck_assert_uint_eq(match(table, "10.15.255.255", ANY), RELAY);
	ck_assert_uint_eq(match(table, "10.16.0.0", RELAY), 0);
	ck_assert_uint_eq(match(table, "10.16.0.0", ANY), ALLOW);

	/* IPv6, across the 32-bit words of a key. */
	add(table, "2001:db8::/32", ALLOW);
	add(table, "2001:db8::/31", RELAY);
	add(table, "2001:db8:0:1::/64", DENY);
	add(table, "2001:db8::/63", ALLOW);
	add(table, "2001:db8:0:1:8000::/65", RELAY);
	add(table, "2001:db8:0:1::/96", ALLOW | RELAY);
	add(table, "2001:db8:0:1:0:0:8000:0/97", DENY);
	add(table, "2001:db8:0:1::1/128", ALLOW);
	add(table, "2001:db8:0:1::/127", DENY);
	finish(table);
	ck_assert_uint_eq(prefix_table_count(table), 13);
	ck_assert_uint_eq(match(table, "2001:db8:0:1::1", ANY), ALLOW);
	ck_assert_uint_eq(match(table, "2001:db8:0:1::", ANY), DENY);
	ck_assert_uint_eq(match(table, "2001:db8:0:1::2", ANY), ALLOW | RELAY);
	ck_assert_uint_eq(match(table, "2001:db8:0:1::2", DENY), DENY);
	ck_assert_uint_eq(match(table, "2001:db8:0:1::8000:0", ANY), DENY);
	ck_assert_uint_eq(match(table, "2001:db8:0:1::8000:0", RELAY),
			  ALLOW | RELAY);
	ck_assert_uint_eq(match(table, "2001:db8:0:1:0:1::", ANY), DENY);
	ck_assert_uint_eq(match(table, "2001:db8:0:1:8000::", ANY), RELAY);
	ck_assert_uint_eq(match(table, "2001:db8:0:1:8000::", DENY), DENY);
	ck_assert_uint_eq(match(table, "2001:db8:0:1:8000::", ALLOW), ALLOW);
	ck_assert_uint_eq(match(table, "2001:db8:0:0:8000::", ANY), ALLOW);
	ck_assert_uint_eq(match(table, "2001:db8:0:2::", ANY), ALLOW);
	ck_assert_uint_eq(match(table, "2001:db9::", ANY), RELAY);
	ck_assert_uint_eq(match(table, "2001:dba::", ANY), 0);
	prefix_table_free(table);
}
END_TEST

START_TEST(test_duplicates)
{
	struct prefix_table *table = table_new();
	struct addr net;

	add(table, "192.0.2.0/24", ALLOW);
	add(table, "192.0.2.0/24", RELAY);
	add(table, "::ffff:192.0.2.0/120", ALLOW);
	add(table, "2001:db8::/32", DENY);
	add(table, "2001:DB8:0::/32", RELAY);
	add(table, "2001:db8::/32", 0);
	/* Host bits given to the table directly are ignored. */
	ck_assert_int_eq(addr_parse("2001:db8::1", &net), 0);
	ck_assert_int_eq(prefix_table_add(table, &net, 32, ALLOW), 0);
	/* A prefix with no flags is a prefix, but never matches. */
	add(table, "192.0.2.128/25", 0);
	finish(table);
	ck_assert_uint_eq(prefix_table_count(table), 3);
	ck_assert_uint_eq(match(table, "192.0.2.200", ANY), ALLOW | RELAY);
	ck_assert_uint_eq(match(table, "192.0.2.200", RELAY), ALLOW | RELAY);
	ck_assert_uint_eq(match(table, "192.0.2.200", DENY), 0);
	ck_assert_uint_eq(match(table, "2001:db8:ffff::", DENY), ANY);

	/* Adding after finish, then finishing again, merges as well. */
	add(table, "192.0.2.0/24", DENY);
	add(table, "198.51.100.0/24", DENY);
	finish(table);
	ck_assert_uint_eq(prefix_table_count(table), 4);
	ck_assert_uint_eq(match(table, "192.0.2.1", ANY), ANY);
	ck_assert_uint_eq(match(table, "198.51.100.1", ANY), DENY);
	/* Counted by flag: merged prefixes once, one without flags never. */
	ck_assert_uint_eq(prefix_table_count_flags(table, ALLOW), 2);
	ck_assert_uint_eq(prefix_table_count_flags(table, RELAY), 2);
	ck_assert_uint_eq(prefix_table_count_flags(table, DENY), 3);
	ck_assert_uint_eq(prefix_table_count_flags(table, ANY), 3);
	prefix_table_free(table);
}
END_TEST

START_TEST(test_families)
{
	struct prefix_table *table = table_new();

	/* The same leading 24 bits in each family. */
	add(table, "192.0.2.0/24", ALLOW);
	add(table, "c000:200::/24", DENY);
	/* Where IPv4 might be looked for in IPv6. */
	add(table, "::/96", RELAY);
	add(table, "::ffff:0:0/96", DENY);
	finish(table);
	ck_assert_uint_eq(prefix_table_count(table), 4);
	ck_assert_uint_eq(match(table, "192.0.2.1", ANY), ALLOW);
	ck_assert_uint_eq(match(table, "c000:201::", ANY), DENY);
	ck_assert_uint_eq(match(table, "c000:2ff:ffff::", ANY), DENY);
	ck_assert_uint_eq(match(table, "::192.0.2.1", ANY), RELAY);
	ck_assert_uint_eq(match(table, "::ffff:192.0.2.1", ANY), ALLOW);
	ck_assert_uint_eq(match(table, "198.51.100.1", ANY), DENY);
	ck_assert_uint_eq(match(table, "198.51.100.1", RELAY), 0);
	prefix_table_free(table);
}
END_TEST

START_TEST(test_random)
{
	struct prefix_table *table = table_new();
	struct sample *sample = calloc(RANDOM_PREFIXES, sizeof(*sample));
	struct query *query = calloc(RANDOM_QUERIES, sizeof(*query));
	uint64_t state = 0x9e3779b97f4a7c15ULL;
	char	buf[ADDR_TEXT_SIZE];
	size_t	hits = 0;
	size_t	misses = 0;
	unsigned got;
	size_t	i;

	ck_assert_ptr_nonnull(sample);
	ck_assert_ptr_nonnull(query);
	random_table(&state, table, sample, RANDOM_PREFIXES);
	random_queries(&state, sample, RANDOM_PREFIXES, query, RANDOM_QUERIES);
	for (i = 0; i < RANDOM_QUERIES; i++) {
		/* Not ck_assert_*: each one that passes costs a write. */
		got = prefix_table_match(table, &query[i].addr, query[i].mask);
		if (got != query[i].want)
			ck_abort_msg("%s mask %u: got %u, want %u",
				     addr_format(&query[i].addr, buf),
				     query[i].mask, got, query[i].want);
		hits += query[i].want != 0;
		misses += query[i].want == 0;
	}
	/* The test means something only with many hits and some misses. */
	ck_assert_msg(hits > RANDOM_QUERIES / 3, "only %zu hits", hits);
	ck_assert_msg(misses > RANDOM_QUERIES / 20, "only %zu misses", misses);
	ck_assert_uint_eq(prefix_table_count(table),
			  distinct(sample, RANDOM_PREFIXES));
	free(query);
	free(sample);
	prefix_table_free(table);
}
END_TEST

START_TEST(test_million)
{
	struct prefix_table *table = table_new();
	struct addr net;
	size_t	failed = 0;
	uint32_t n;
	uint32_t i;

	/* Every /32 of 10.0.0.0/12 and /52 of 2001:db8::/32, shuffled. */
	for (i = 0; i < (1u << 20); i++) {
		n = (i * 2654435761u) & 0xfffff;
		memset(&net, 0, sizeof(net));
		net.family = AF_INET;
		net.bytes[0] = 10;
		net.bytes[1] = (unsigned char) (n >> 16);
		net.bytes[2] = (unsigned char) (n >> 8);
		net.bytes[3] = (unsigned char) n;
		failed += prefix_table_add(table, &net, 32,
					   n % 2 ? ALLOW : DENY) != 0;
		memset(&net, 0, sizeof(net));
		net.family = AF_INET6;
		memcpy(net.bytes, "\x20\x01\x0d\xb8", 4);
		net.bytes[4] = (unsigned char) (n >> 12);
		net.bytes[5] = (unsigned char) (n >> 4);
		net.bytes[6] = (unsigned char) (n << 4);
		failed += prefix_table_add(table, &net, 52,
					   n % 2 ? ALLOW : DENY) != 0;
	}
	ck_assert_uint_eq(failed, 0);
	add(table, "10.0.0.0/12", RELAY);
	finish(table);
	ck_assert_uint_eq(prefix_table_count(table), (2u << 20) + 1);
	ck_assert_uint_eq(match(table, "10.0.0.0", ANY), DENY);
	ck_assert_uint_eq(match(table, "10.0.0.1", ANY), ALLOW);
	ck_assert_uint_eq(match(table, "10.15.255.255", ANY), ALLOW);
	ck_assert_uint_eq(match(table, "10.8.4.2", ANY), DENY);
	ck_assert_uint_eq(match(table, "10.8.4.2", RELAY), RELAY);
	ck_assert_uint_eq(match(table, "10.16.0.0", ANY), 0);
	ck_assert_uint_eq(match(table, "2001:db8::1", ANY), DENY);
	ck_assert_uint_eq(match(table, "2001:db8:0:1000::", ANY), ALLOW);
	ck_assert_uint_eq(match(table, "2001:db8:ffff:ffff::", ANY), ALLOW);
	ck_assert_uint_eq(match(table, "2001:db8:abcd:e123::", ANY), DENY);
	ck_assert_uint_eq(match(table, "2001:db9::", ANY), 0);
	prefix_table_free(table);
}
END_TEST

/* Thread body: match every query and count the wrong answers. */
static void *
worker(void *arg)
{
	struct worker *w = arg;
	size_t	i;

	for (i = 0; i < w->count; i++)
		if (prefix_table_match(w->table, &w->query[i].addr,
				       w->query[i].mask) != w->query[i].want)
			w->wrong++;
	return NULL;
}

START_TEST(test_threads)
{
	struct prefix_table *table = table_new();
	struct sample *sample = calloc(RANDOM_PREFIXES / 10, sizeof(*sample));
	struct query *query = calloc(RANDOM_QUERIES, sizeof(*query));
	struct worker w[THREADS];
	uint64_t state = 0x2545f4914f6cdd1dULL;
	size_t	i;

	ck_assert_ptr_nonnull(sample);
	ck_assert_ptr_nonnull(query);
	random_table(&state, table, sample, RANDOM_PREFIXES / 10);
	random_queries(&state, sample, RANDOM_PREFIXES / 10, query,
		       RANDOM_QUERIES);
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct worker) {
			.table = table, .query = query,
			.count = RANDOM_QUERIES,
		};
		ck_assert_int_eq(pthread_create(&w[i].thread, NULL, worker,
						w + i), 0);
	}
	for (i = 0; i < THREADS; i++) {
		ck_assert_int_eq(pthread_join(w[i].thread, NULL), 0);
		ck_assert_uint_eq(w[i].wrong, 0);
	}
	free(query);
	free(sample);
	prefix_table_free(table);
}
END_TEST

static Suite *
prefix_suite(void)
{
	Suite  *suite = suite_create("prefix");
	TCase  *tc = tcase_create("prefix");
	TCase  *large = tcase_create("large");

	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_everything);
	tcase_add_test(tc, test_hosts);
	tcase_add_test(tc, test_longest);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_families);
	suite_add_tcase(suite, tc);
	/* The linear scan takes seconds, more under sanitizers. */
	tcase_set_timeout(large, 300);
	tcase_add_test(large, test_random);
	tcase_add_test(large, test_million);
	tcase_add_test(large, test_threads);
	suite_add_tcase(suite, large);
	return suite;
}

int
main(void)
{
	return tenv_run(prefix_suite());
}
