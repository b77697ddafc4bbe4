/*
 * listcopy - the members of a Redis list set as one text, and back.
 *
 * One host of a fleet reads a changed set and writes this copy; the
 * others read one string instead of the whole set (listsync.c says why).
 * It neither talks to Redis nor parses entries (lists.c does); it checks
 * that a copy is whole: its count and digest must match its members.
 */
#ifndef RBL_LISTS_LISTCOPY_H
#define RBL_LISTS_LISTCOPY_H

#include <stddef.h>
#include <stdint.h>

/* Members, as read from a set or a copy. */
struct listcopy {
	char   *text;			/* NUL-ended strings, one after another */
	size_t	used;			/* bytes of text in use */
	size_t	size;			/* bytes allocated */
	size_t	count;			/* strings */
	char  **index;			/* count pointers into text, after
					 * listcopy_index() */
	uint64_t digest;		/* order-blind, of the strings */
	long long seq;			/* the change counter as the read
					 * of the set began */
	long long card;			/* SCARD then, or LISTCOPY_NOT_A_SET */
	size_t	skipped;		/* members with a NUL or newline */
};

/* card of a key that is not a set. */
#define LISTCOPY_NOT_A_SET	(-1)

/* Longest header line. */
#define LISTCOPY_HEADER_MAX	160

/* What a copy's first line says. */
struct listcopy_header {
	long long seq;
	long long card;
	size_t	count;			/* members */
	uint64_t digest;
	size_t	bytes;			/* of the members after the header */
	size_t	length;			/* of the header line, newline too */
};

/* Free the members and forget everything. */
void	listcopy_clear(struct listcopy *copy);

/*
 * Keep one member of list kind (it seeds the digest); one with a NUL or
 * a newline is counted as skipped (it could not be copied faithfully,
 * and no valid entry has one).  0, or -1 when out of memory.
 */
int	listcopy_add(struct listcopy *copy, size_t kind, const char *text,
		     size_t len);

/* Point index at each member; 0, or -1 when out of memory. */
int	listcopy_index(struct listcopy *copy);

/* The copy as text, *len bytes, malloc'ed; NULL when out of memory. */
char   *listcopy_format(const struct listcopy *copy, size_t *len);

/*
 * Parse the header at the start of text: 1 when parsed, 0 when text does
 * not hold a whole line yet, -1 when it is not a copy's header.
 */
int	listcopy_header(const char *text, size_t len,
			struct listcopy_header *header);

/*
 * Take the members of a copy of kind from body (header->bytes long) into
 * copy, which must be empty; -1 when they do not match the header (a
 * copy replaced while it was read, garbage) or out of memory.
 */
int	listcopy_parse(struct listcopy *copy, size_t kind, const char *body,
		       const struct listcopy_header *header);

#endif
