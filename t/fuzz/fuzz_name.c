/*
 * fuzz_name - libFuzzer target for names from SMTP (lib/domain.c): the
 * input is taken as a HELO name, a sender address and a client hostname
 * in turn, as a client or Postfix could send them.  A name accepted must
 * be NUL-terminated, 253 bytes at most, in lower case, and normalise to
 * itself; its lookup names (the public suffix list) must be names too,
 * the first the registrable domain, a suffix of the name on a label
 * boundary.  A difference aborts.  Not fuzzed: libpsl's own parsing of
 * its list.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/domain.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The public suffix list, loaded once for every input. */
static struct domain_suffixes *fuzz_suffixes;

/* Is name a well-formed result, normalising to itself? */
static void
fuzz_check_name(const char *name)
{
	char	again[DOMAIN_NAME_SIZE];
	size_t	len = strnlen(name, DOMAIN_NAME_SIZE);
	size_t	i;

	if (len == 0 || len >= DOMAIN_NAME_SIZE)
		abort();
	for (i = 0; i < len; i++)
		if (isupper((unsigned char) name[i]))
			abort();
	if (domain_normalise(name, len, again) < 0 || strcmp(again, name) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	out[2][DOMAIN_NAME_SIZE];
	char	name[DOMAIN_NAME_SIZE];
	char   *text;
	size_t	count;
	size_t	len;
	size_t	i;
	int	role;

	if (fuzz_suffixes == NULL) {
		char	err[256];

		if ((fuzz_suffixes = domain_suffixes_load(err, sizeof(err)))
		    == NULL)
			abort();
	}
	/* Text as the front ends give it: NUL-terminated. */
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	for (role = 0; role < DOMAIN_ROLES; role++) {
		if (domain_from_role(role, text, name) < 0)
			continue;
		fuzz_check_name(name);
		count = domain_lookup_names(fuzz_suffixes, name, out);
		if (count > 2)
			abort();
		for (i = 0; i < count; i++)
			fuzz_check_name(out[i]);
		if (count == 2 && strcmp(out[1], name) != 0)
			abort();
		if (count > 0) {
			len = strlen(out[0]);
			if (len > strlen(name)
			    || strcmp(name + strlen(name) - len, out[0]) != 0
			    || (len < strlen(name)
				&& name[strlen(name) - len - 1] != '.'))
				abort();
		}
	}
	free(text);
	return 0;
}
