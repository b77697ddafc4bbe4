/*
 * hash - FNV-1a, the one hash of rblmilter: hash tables (clients in
 * --report, the memory cache's buckets), change detectors (the Redis
 * lists' digest) and the settings part of a Redis key.
 *
 * Not a cryptographic hash: nothing here must resist a chosen input
 * beyond a table that stays bounded anyway.
 */
#ifndef RBL_LIB_HASH_H
#define RBL_LIB_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Where a hash starts (FNV-1a's 64-bit offset basis). */
#define HASH_SEED	14695981039346656037ULL

/* FNV-1a over len bytes of data, going on from hash (HASH_SEED first). */
uint64_t hash_bytes(uint64_t hash, const void *data, size_t len);

#endif
