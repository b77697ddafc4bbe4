/*
 * listcopy - the members of a Redis list set as one text, and back.
 *
 * The text is a header line
 *	rblmilter-listcopy seq=S card=C count=N digest=HEX bytes=B
 * then the N members, each ended by a newline (B bytes).  A copy is
 * read in pieces (GETRANGE), so it may change under the reader: the
 * count and the digest of the members, checked after the last piece,
 * tell a whole copy from a mix of two, or from garbage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lists/listcopy.h"

#define LISTCOPY_MAGIC	"rblmilter-listcopy "

void
listcopy_clear(struct listcopy *copy)
{
	free(copy->text);
	free(copy->index);
	memset(copy, 0, sizeof(*copy));
}

int
listcopy_add(struct listcopy *copy, size_t kind, const char *text, size_t len)
{
	size_t	size;
	char   *grown;

	/* A NUL would cut the entry short into something else. */
	if (memchr(text, 0, len) != NULL || memchr(text, '\n', len) != NULL) {
		copy->skipped++;
		return 0;
	}
	if (copy->used + len + 1 > copy->size) {
		size = copy->size ? copy->size : 4096;
		while (copy->used + len + 1 > size)
			size *= 2;
		if ((grown = realloc(copy->text, size)) == NULL)
			return -1;
		copy->text = grown;
		copy->size = size;
	}
	memcpy(copy->text + copy->used, text, len);
	copy->text[copy->used + len] = 0;
	copy->used += len + 1;
	copy->count++;
	copy->digest += hash_bytes(HASH_SEED + kind, text, len);
	return 0;
}

int
listcopy_index(struct listcopy *copy)
{
	char   *text = copy->text;
	size_t	i;

	free(copy->index);
	copy->index = NULL;
	if (copy->count == 0)
		return 0;
	if ((copy->index = calloc(copy->count, sizeof(char *))) == NULL)
		return -1;
	for (i = 0; i < copy->count; i++) {
		copy->index[i] = text;
		text += strlen(text) + 1;
	}
	return 0;
}

char   *
listcopy_format(const struct listcopy *copy, size_t *len)
{
	char	header[LISTCOPY_HEADER_MAX];
	size_t	head;
	size_t	i;
	char   *text;

	head = (size_t) snprintf(header, sizeof(header), LISTCOPY_MAGIC
				 "seq=%lld card=%lld count=%zu digest=%016"
				 PRIx64 " bytes=%zu\n", copy->seq, copy->card,
				 copy->count, copy->digest, copy->used);
	if ((text = malloc(head + copy->used + 1)) == NULL)
		return NULL;
	memcpy(text, header, head);
	/* The members end with NULs in memory, with newlines in the copy. */
	if (copy->used > 0)
		memcpy(text + head, copy->text, copy->used);
	for (i = head; i < head + copy->used; i++)
		if (text[i] == 0)
			text[i] = '\n';
	text[head + copy->used] = 0;
	*len = head + copy->used;
	return text;
}

int
listcopy_header(const char *text, size_t len, struct listcopy_header *header)
{
	char	line[LISTCOPY_HEADER_MAX];
	const char *end = memchr(text, '\n', len);
	unsigned long long digest;
	int	used = 0;

	if (end == NULL)
		return len < sizeof(line) ? 0 : -1;
	if ((size_t) (end - text) >= sizeof(line))
		return -1;
	memcpy(line, text, (size_t) (end - text));
	line[end - text] = 0;
	if (sscanf(line, LISTCOPY_MAGIC "seq=%lld card=%lld count=%zu "
		   "digest=%16llx bytes=%zu%n", &header->seq, &header->card,
		   &header->count, &digest, &header->bytes, &used) != 5
	    || line[used] != 0 || header->seq < 0
	    || header->card < LISTCOPY_NOT_A_SET
	    || header->count > header->bytes)
		return -1;
	header->digest = digest;
	header->length = (size_t) (end - text) + 1;
	return 1;
}

int
listcopy_parse(struct listcopy *copy, size_t kind, const char *body,
	       const struct listcopy_header *header)
{
	const char *at = body;
	const char *end = body + header->bytes;
	const char *nl;

	while (at < end) {
		if ((nl = memchr(at, '\n', (size_t) (end - at))) == NULL
		    || listcopy_add(copy, kind, at, (size_t) (nl - at)) < 0)
			return -1;
		at = nl + 1;
	}
	copy->seq = header->seq;
	copy->card = header->card;
	return copy->count == header->count && copy->skipped == 0
	    && copy->digest == header->digest ? 0 : -1;
}
