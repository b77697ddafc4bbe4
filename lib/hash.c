/*
 * hash - FNV-1a, 64 bits.
 */
#include "lib/hash.h"

/* FNV-1a's 64-bit prime. */
#define HASH_PRIME	1099511628211ULL

uint64_t
hash_bytes(uint64_t hash, const void *data, size_t len)
{
	const unsigned char *cp = data;

	while (len-- > 0)
		hash = (hash ^ *cp++) * HASH_PRIME;
	return hash;
}
