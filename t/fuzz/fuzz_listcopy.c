/*
 * fuzz_listcopy - libFuzzer target for the copy of a list set that one
 * host writes to Redis and the others read (lists/listcopy.c): the input
 * is taken as such a copy, header line and members.  Whatever it holds,
 * parsing must not crash, and a copy it accepts must hold what its
 * header says; the members taken are then copied again, and that copy
 * must parse back to the same members.  A difference aborts.  Not
 * fuzzed: Redis, the pieces a copy is read in (listsync.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lists/listcopy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parse text as a copy of kind 0 into copy; 0 when it is one. */
static int
fuzz_parse(const char *text, size_t len, struct listcopy *copy)
{
	struct listcopy_header header;

	memset(copy, 0, sizeof(*copy));
	if (listcopy_header(text, len, &header) != 1
	    || header.length > len || header.bytes != len - header.length)
		return -1;
	return listcopy_parse(copy, 0, text + header.length, &header);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct listcopy first;
	struct listcopy second;
	char   *again;
	size_t	len;
	size_t	i;

	if (fuzz_parse((const char *) data, size, &first) == 0) {
		if (listcopy_index(&first) < 0
		    || (again = listcopy_format(&first, &len)) == NULL)
			abort();
		if (fuzz_parse(again, len, &second) != 0
		    || second.count != first.count
		    || second.digest != first.digest
		    || second.seq != first.seq || second.card != first.card
		    || listcopy_index(&second) < 0)
			abort();
		for (i = 0; i < first.count; i++)
			if (strcmp(first.index[i], second.index[i]) != 0)
				abort();
		listcopy_clear(&second);
		free(again);
	}
	listcopy_clear(&first);
	return 0;
}
