/*
 * prefix - longest-prefix match of client addresses against list prefixes.
 *
 * Each family keeps one sorted array of masked networks per prefix length
 * in use; a match masks the address to each of those lengths, longest
 * first, and binary-searches that length's array.  An IPv4 entry takes 8
 * bytes and an IPv6 entry 20, a million prefixes of either fit in tens of
 * megabytes, and a match costs at most one search per length in use (33
 * or 129) with no per-bit nodes to chase.  Nothing here parses text or
 * gives flags a meaning; nothing changes the table during a match.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lists/prefix.h"
#include "lib/msg.h"

/* Flags are kept in a key-sized word next to the network. */
_Static_assert(sizeof(unsigned) <= sizeof(uint32_t),
	       "prefix flags must fit in 32 bits");

/* Key words: an address as 32-bit words, most significant first. */
#define PREFIX_V4_WORDS	1
#define PREFIX_V6_WORDS	4

/* Entries a prefix length first makes room for. */
#define PREFIX_FIRST_SIZE	16

/*
 * The networks of one prefix length.  An entry is words + 1 uint32_t: the
 * masked network, then its flags.  After finish the entries are sorted by
 * network and each network appears once.
 */
struct prefix_level {
	uint32_t *entry;		/* count entries of words + 1 */
	size_t	count;			/* entries in use */
	size_t	size;			/* entries allocated */
	unsigned any;			/* all its flags OR'ed */
};

/* One address family: its prefix lengths and how its keys compare. */
struct prefix_family {
	struct prefix_level level[129];	/* by length, 0 to max_bits */
	unsigned char length[129];	/* lengths in use, longest first */
	size_t	length_count;		/* in length[], by finish */
	size_t	words;			/* key words: 1 or 4 */
	unsigned max_bits;		/* 32 or 128 */
	/* Orders two keys, for qsort() and bsearch(). */
	int	(*compare) (const void *, const void *);
};

struct prefix_table {
	struct prefix_family v4;	/* AF_INET prefixes */
	struct prefix_family v6;	/* AF_INET6 prefixes */
	size_t	count;			/* distinct, by finish */
};

/* Order two IPv4 keys (an entry's flags word is not part of its key). */
static int
prefix_compare_v4(const void *a, const void *b)
{
	const uint32_t *x = a;
	const uint32_t *y = b;

	return (*x > *y) - (*x < *y);
}

/* Order two IPv6 keys, most significant word first. */
static int
prefix_compare_v6(const void *a, const void *b)
{
	const uint32_t *x = a;
	const uint32_t *y = b;
	size_t	w;

	for (w = 0; w < PREFIX_V6_WORDS; w++)
		if (x[w] != y[w])
			return x[w] > y[w] ? 1 : -1;
	return 0;
}

struct prefix_table *
prefix_table_create(void)
{
	struct prefix_table *table;

	if ((table = calloc(1, sizeof(*table))) == NULL)
		return NULL;
	table->v4.words = PREFIX_V4_WORDS;
	table->v4.max_bits = 32;
	table->v4.compare = prefix_compare_v4;
	table->v6.words = PREFIX_V6_WORDS;
	table->v6.max_bits = 128;
	table->v6.compare = prefix_compare_v6;
	return table;
}

void
prefix_table_free(struct prefix_table *table)
{
	size_t	bits;

	if (table == NULL)
		return;
	for (bits = 0; bits <= table->v4.max_bits; bits++)
		free(table->v4.level[bits].entry);
	for (bits = 0; bits <= table->v6.max_bits; bits++)
		free(table->v6.level[bits].entry);
	free(table);
}

/* An address as key words, most significant first. */
static void
prefix_key(const struct addr *addr, size_t words, uint32_t *key)
{
	const unsigned char *b;
	size_t	w;

	for (w = 0; w < words; w++) {
		b = addr->bytes + 4 * w;
		key[w] = (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16
		    | (uint32_t) b[2] << 8 | b[3];
	}
}

/* Clear the key bits below a prefix of bits. */
static void
prefix_mask(uint32_t *key, size_t words, unsigned bits)
{
	size_t	w;

	for (w = 0; w < words; w++) {
		if (bits < 32)
			key[w] &= ~(UINT32_MAX >> bits);
		bits = bits > 32 ? bits - 32 : 0;
	}
}

int
prefix_table_add(struct prefix_table *table, const struct addr *net,
		 unsigned bits, unsigned flags)
{
	struct prefix_family *family;
	struct prefix_level *level;
	uint32_t *entry;
	size_t	size;

	if (net->family == AF_INET)
		family = &table->v4;
	else if (net->family == AF_INET6)
		family = &table->v6;
	else
		msg_panic("%s: bad address family %d", __func__, net->family);
	if (bits > family->max_bits)
		msg_panic("%s: bad prefix length %u", __func__, bits);
	level = family->level + bits;
	if (level->count == level->size) {
		size = level->size > 0 ? level->size * 2 : PREFIX_FIRST_SIZE;
		entry = reallocarray(level->entry, size,
				     (family->words + 1) * sizeof(uint32_t));
		if (entry == NULL)
			return -1;
		level->entry = entry;
		level->size = size;
	}
	entry = level->entry + level->count * (family->words + 1);
	prefix_key(net, family->words, entry);
	prefix_mask(entry, family->words, bits);
	entry[family->words] = flags;
	level->count++;
	return 0;
}

/* Merge equal networks of a sorted level, OR'ing flags; trim its memory. */
static void
prefix_level_merge(struct prefix_level *level, size_t words)
{
	size_t	stride = words + 1;
	uint32_t *kept = level->entry;
	uint32_t *next;
	uint32_t *trimmed;
	size_t	count = 1;
	size_t	i;

	level->any = kept[words];
	for (i = 1; i < level->count; i++) {
		next = level->entry + i * stride;
		level->any |= next[words];
		if (memcmp(kept, next, words * sizeof(uint32_t)) == 0) {
			kept[words] |= next[words];
		} else {
			kept += stride;
			memmove(kept, next, stride * sizeof(uint32_t));
			count++;
		}
	}
	level->count = count;
	/* A trim that fails leaves the larger block, which still works. */
	trimmed = reallocarray(level->entry, count, stride * sizeof(uint32_t));
	if (trimmed != NULL) {
		level->entry = trimmed;
		level->size = count;
	}
}

/* Sort and merge a family's levels, list the lengths in use; distinct. */
static size_t
prefix_family_finish(struct prefix_family *family)
{
	struct prefix_level *level;
	size_t	total = 0;
	unsigned bits;

	family->length_count = 0;
	for (bits = family->max_bits + 1; bits-- > 0;) {
		level = family->level + bits;
		if (level->count == 0)
			continue;
		qsort(level->entry, level->count,
		      (family->words + 1) * sizeof(uint32_t), family->compare);
		prefix_level_merge(level, family->words);
		family->length[family->length_count++] = (unsigned char) bits;
		total += level->count;
	}
	return total;
}

int
prefix_table_finish(struct prefix_table *table)
{
	/* In-place sorting and merging and harmless trims cannot fail. */
	table->count = prefix_family_finish(&table->v4)
	    + prefix_family_finish(&table->v6);
	return 0;
}

unsigned
prefix_table_match(const struct prefix_table *table, const struct addr *addr,
		   unsigned mask)
{
	const struct prefix_family *family;
	const struct prefix_level *level;
	uint32_t key[PREFIX_V6_WORDS];
	uint32_t net[PREFIX_V6_WORDS];
	const uint32_t *entry;
	size_t	i;

	if (addr->family == AF_INET)
		family = &table->v4;
	else if (addr->family == AF_INET6)
		family = &table->v6;
	else
		msg_panic("%s: bad address family %d", __func__, addr->family);
	prefix_key(addr, family->words, key);
	for (i = 0; i < family->length_count; i++) {
		level = family->level + family->length[i];
		if ((level->any & mask) == 0)
			continue;
		memcpy(net, key, family->words * sizeof(uint32_t));
		prefix_mask(net, family->words, family->length[i]);
		entry = bsearch(net, level->entry, level->count,
				(family->words + 1) * sizeof(uint32_t),
				family->compare);
		if (entry != NULL && (entry[family->words] & mask) != 0)
			return entry[family->words];
	}
	return 0;
}

size_t
prefix_table_count(const struct prefix_table *table)
{
	return table->count;
}

/* The prefixes of a family with any flag of mask. */
static size_t
prefix_family_count_flags(const struct prefix_family *family, unsigned mask)
{
	const struct prefix_level *level;
	size_t	count = 0;
	size_t	i;
	size_t	j;

	for (i = 0; i < family->length_count; i++) {
		level = family->level + family->length[i];
		if ((level->any & mask) == 0)
			continue;
		for (j = 0; j < level->count; j++)
			if (level->entry[j * (family->words + 1) + family->words]
			    & mask)
				count++;
	}
	return count;
}

size_t
prefix_table_count_flags(const struct prefix_table *table, unsigned mask)
{
	return prefix_family_count_flags(&table->v4, mask)
	    + prefix_family_count_flags(&table->v6, mask);
}
