/*
 * filter - postscreen's reply filter for DNSBL answers.
 *
 * Each field compiles to a 256-bit set, so a match is four bit tests no
 * matter how many ranges the administrator wrote.  The syntax and its
 * limits follow Postfix's ip_match(3); error texts name the offending
 * field so that a typo in a long dnsbl_sites line is easy to find.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "dnsbl/replyfilter.h"

/* Read a decimal octet at *cp, advancing it; -1 when absent or > 255. */
static int
filter_number(const char **cp)
{
	int	value = 0;
	int	digits = 0;

	while (isdigit((unsigned char) **cp)) {
		value = value * 10 + (**cp - '0');
		if (value > 255 || ++digits > 3)
			return -1;
		(*cp)++;
	}
	return digits ? value : -1;
}

/* Add lo..hi to one field's set. */
static void
filter_add(uint32_t *set, int lo, int hi)
{
	for (; lo <= hi; lo++)
		set[lo / 32] |= UINT32_C(1) << (lo % 32);
}

/* Compile one field at *cp ("2" or "[2..11;20]"); 0 or -1 with err. */
static int
filter_field(const char **cp, uint32_t *set, int field,
	     const char *text, char *err, size_t errlen)
{
	int	lo;
	int	hi;

	if (**cp != '[') {
		if ((lo = filter_number(cp)) < 0)
			goto bad_number;
		filter_add(set, lo, lo);
		return 0;
	}
	(*cp)++;
	for (;;) {
		if ((lo = filter_number(cp)) < 0)
			goto bad_number;
		hi = lo;
		if (strncmp(*cp, "..", 2) == 0) {
			*cp += 2;
			if ((hi = filter_number(cp)) < 0)
				goto bad_number;
			if (hi < lo) {
				snprintf(err, errlen,
					 "filter \"%s\": inverted range %d..%d "
					 "in field %d", text, lo, hi, field + 1);
				return -1;
			}
		}
		filter_add(set, lo, hi);
		if (**cp == ']') {
			(*cp)++;
			return 0;
		}
		if (**cp != ';') {
			snprintf(err, errlen, "filter \"%s\": expected \";\", "
				 "\"..\" or \"]\" in field %d", text, field + 1);
			return -1;
		}
		(*cp)++;
	}

bad_number:
	snprintf(err, errlen, "filter \"%s\": field %d needs a number "
		 "from 0 to 255", text, field + 1);
	return -1;
}

int
dnsbl_filter_parse(const char *text, struct dnsbl_filter *filter,
		   char *err, size_t errlen)
{
	const char *cp = text;
	int	field;

	memset(filter, 0, sizeof(*filter));
	for (field = 0; field < 4; field++) {
		if (field > 0 && *cp++ != '.') {
			snprintf(err, errlen, "filter \"%s\": expected four "
				 "fields separated by \".\"", text);
			return -1;
		}
		if (filter_field(&cp, filter->octet[field], field,
				 text, err, errlen) < 0)
			return -1;
	}
	if (*cp != 0) {
		snprintf(err, errlen, "filter \"%s\": unexpected \"%s\" after "
			 "the fourth field", text, cp);
		return -1;
	}
	return 0;
}

bool
dnsbl_filter_match(const struct dnsbl_filter *filter,
		   const unsigned char answer[4])
{
	int	field;

	for (field = 0; field < 4; field++)
		if (!(filter->octet[field][answer[field] / 32]
		      & (UINT32_C(1) << (answer[field] % 32))))
			return false;
	return true;
}
