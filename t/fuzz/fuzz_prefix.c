/*
 * fuzz_prefix - libFuzzer target for client list entries: each input line
 * is an entry as a list file or a Redis set holds it ("address" or
 * "network/length"), parsed by addr_parse_prefix() and added to a prefix
 * table with one of three flags; an empty line after new entries
 * finishes the table so far (four times at most), and so does the end.
 * An entry must print canonically and parse back to itself; after each
 * finish, the first and last address of every entry and their outside
 * neighbours must match, under every flag mask, as a linear scan of the
 * entries says.  A difference aborts.  Not fuzzed: the comments and blank
 * space of list files (lists.c), Redis.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists/prefix.h"
#include "lib/addr.h"

/* Entries and finishes per input: every check scans every entry. */
#define FUZZ_MAX_ENTRIES	32
#define FUZZ_MAX_FINISHES	4

/* Flags, one per entry in turn, and every mask made of them. */
#define FUZZ_FLAGS	3
#define FUZZ_MASKS	(1u << FUZZ_FLAGS)

/* One entry as added. */
struct entry {
	struct addr net;
	unsigned bits;
	unsigned flags;
};

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Address bytes of a family. */
static size_t
family_size(const struct addr *addr)
{
	return addr->family == AF_INET ? 4 : 16;
}

/* Does entry cover addr?  Whole bytes, then the bits of a partial one. */
static bool
covers(const struct entry *entry, const struct addr *addr)
{
	size_t	whole = entry->bits / 8;
	unsigned char part = (unsigned char) (0xff00 >> entry->bits % 8);

	return entry->net.family == addr->family
	    && memcmp(entry->net.bytes, addr->bytes, whole) == 0
	    && (part == 0
		|| ((entry->net.bytes[whole] ^ addr->bytes[whole]) & part) == 0);
}

/* Distinct prefixes among the entries. */
static size_t
scan_count(const struct entry *entry, size_t count)
{
	size_t	distinct = 0;
	size_t	i;
	size_t	j;

	for (i = 0; i < count; i++) {
		for (j = 0; j < i; j++)
			if (entry[j].bits == entry[i].bits
			    && covers(entry + j, &entry[i].net))
				break;
		distinct += j == i;
	}
	return distinct;
}

/* Add one to the address (step 1) or take one off (step 0xff), wrapping. */
static void
step_addr(struct addr *addr, unsigned char step)
{
	size_t	i = family_size(addr);
	unsigned char carry = step == 1 ? 0 : 0xff;

	while (i-- > 0) {
		addr->bytes[i] = (unsigned char) (addr->bytes[i] + step);
		if (addr->bytes[i] != carry)
			break;
	}
}

/*
 * Check one address against the table under every mask: the flags of
 * the entries that cover it, OR'ed per length (equal lengths that cover
 * an address are one network), at the longest length with any flag of
 * the mask.
 */
static void
check_addr(const struct prefix_table *table, const struct entry *entry,
	   size_t count, const struct addr *addr)
{
	unsigned by_bits[129] = {0};
	int	longest[FUZZ_MASKS];
	unsigned mask;
	size_t	i;

	for (mask = 0; mask < FUZZ_MASKS; mask++)
		longest[mask] = -1;
	for (i = 0; i < count; i++) {
		if (!covers(entry + i, addr))
			continue;
		by_bits[entry[i].bits] |= entry[i].flags;
		for (mask = 1; mask < FUZZ_MASKS; mask++)
			if ((entry[i].flags & mask) != 0
			    && (int) entry[i].bits > longest[mask])
				longest[mask] = (int) entry[i].bits;
	}
	for (mask = 1; mask < FUZZ_MASKS; mask++)
		if (prefix_table_match(table, addr, mask)
		    != (longest[mask] < 0 ? 0 : by_bits[longest[mask]]))
			abort();
}

/* Finish the table, then check the edges of every entry added so far. */
static void
check_table(struct prefix_table *table, const struct entry *entry,
	    size_t count)
{
	struct addr addr;
	unsigned bit;
	size_t	i;

	if (prefix_table_finish(table) < 0
	    || prefix_table_count(table) != scan_count(entry, count))
		abort();
	for (i = 0; i < count; i++) {
		addr = entry[i].net;
		check_addr(table, entry, count, &addr);
		step_addr(&addr, 0xff);
		check_addr(table, entry, count, &addr);
		addr = entry[i].net;
		for (bit = entry[i].bits; bit < 8 * family_size(&addr); bit++)
			addr.bytes[bit / 8] |= (unsigned char) (0x80 >> bit % 8);
		check_addr(table, entry, count, &addr);
		step_addr(&addr, 1);
		check_addr(table, entry, count, &addr);
	}
}

/* Parse one line into entry; false when addr_parse_prefix() refuses it. */
static bool
parse_entry(const char *line, struct entry *entry)
{
	struct addr again;
	unsigned bits;
	char	text[ADDR_TEXT_SIZE + 4];
	char	err[256] = "";
	size_t	len;

	if (addr_parse_prefix(line, &entry->net, &entry->bits, err,
			      sizeof(err)) < 0) {
		if (err[0] == 0)
			abort();
		return false;
	}
	addr_format(&entry->net, text);
	len = strlen(text);
	snprintf(text + len, sizeof(text) - len, "/%u", entry->bits);
	if (addr_parse_prefix(text, &again, &bits, err, sizeof(err)) < 0
	    || !addr_equal(&again, &entry->net) || bits != entry->bits)
		abort();
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct entry entry[FUZZ_MAX_ENTRIES];
	struct prefix_table *table;
	size_t	count = 0;
	size_t	finished = 0;
	size_t	finishes = 0;
	char   *text;
	char   *line;
	char   *next;

	if ((text = malloc(size + 1)) == NULL
	    || (table = prefix_table_create()) == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = 0;
	for (line = text; line != NULL && count < FUZZ_MAX_ENTRIES;
	     line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = 0;
		if (*line == 0 && count > finished
		    && finishes < FUZZ_MAX_FINISHES) {
			check_table(table, entry, count);
			finished = count;
			finishes++;
		} else if (*line != 0 && parse_entry(line, entry + count)) {
			entry[count].flags = 1u << count % FUZZ_FLAGS;
			if (prefix_table_add(table, &entry[count].net,
					     entry[count].bits,
					     entry[count].flags) < 0)
				abort();
			count++;
		}
	}
	check_table(table, entry, count);
	prefix_table_free(table);
	free(text);
	return 0;
}
