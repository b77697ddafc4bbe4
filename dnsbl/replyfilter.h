/*
 * filter - postscreen's reply filter for DNSBL answers.
 *
 * A filter is an IPv4 pattern of four dot-separated fields, each a decimal
 * number or a bracketed ";"-list of numbers and "lo..hi" ranges, as in
 * Postfix's ip_match(3): 127.0.0.[2..11;20], 127.0.[0..255].[1..3].  It
 * matches DNSBL A answers only; it knows nothing of zones or weights.
 */
#ifndef RBL_DNSBL_REPLYFILTER_H
#define RBL_DNSBL_REPLYFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dnsbl_filter {
	uint32_t octet[4][8];		/* per field, a 256-bit set */
};

/* Compile text; on error -1 and a message in err. */
int	dnsbl_filter_parse(const char *text, struct dnsbl_filter *filter,
			   char *err, size_t errlen);

/* Does the answer (4 bytes, network order) match? */
bool	dnsbl_filter_match(const struct dnsbl_filter *filter,
			   const unsigned char answer[4]);

#endif
