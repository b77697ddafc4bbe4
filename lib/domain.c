/*
 * domain - names from SMTP made fit for domain zones.
 *
 * libpsl does the public suffix list (HACKING says why a library): its
 * context is read-only once loaded, so session threads share it.  A name
 * under a suffix the list does not know ("spam.example") falls under the
 * list's default rule "*", so its last label is the suffix.
 */
#include <ctype.h>
#include <libpsl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/domain.h"

struct domain_suffixes {
	psl_ctx_t *loaded;		/* psl_latest()'s, freed with it */
	const psl_ctx_t *psl;		/* loaded, or the built-in list */
};

static const char *const domain_roles[DOMAIN_ROLES][2] = {
	[DOMAIN_HELO] = {"helo", "helo name"},
	[DOMAIN_SENDER] = {"sender", "sender domain"},
	[DOMAIN_CLIENT] = {"client", "client host name"},
};

const char *
domain_role_name(enum domain_role role)
{
	return domain_roles[role][0];
}

const char *
domain_role_phrase(enum domain_role role)
{
	return domain_roles[role][1];
}

int
domain_role_parse(const char *word, size_t len)
{
	int	role;

	for (role = 0; role < DOMAIN_ROLES; role++)
		if (strlen(domain_roles[role][0]) == len
		    && strncasecmp(domain_roles[role][0], word, len) == 0)
			return role;
	return -1;
}

/* Is one label [start, end) well formed? */
static bool
domain_label_ok(const char *start, const char *end)
{
	const char *cp;

	if (end - start < 1 || end - start > 63 || *start == '-'
	    || end[-1] == '-')
		return false;
	for (cp = start; cp < end; cp++)
		if (!isalnum((unsigned char) *cp) && *cp != '-' && *cp != '_')
			return false;
	return true;
}

int
domain_normalise(const char *text, size_t len, char out[DOMAIN_NAME_SIZE])
{
	const char *label;
	const char *cp;
	size_t	labels = 0;
	size_t	i;

	if (len > 0 && text[len - 1] == '.')
		len--;
	if (len == 0 || len >= DOMAIN_NAME_SIZE)
		return -1;
	for (i = 0; i < len; i++)
		out[i] = (char) tolower((unsigned char) text[i]);
	out[len] = 0;
	for (label = cp = out;; cp++) {
		if (*cp != '.' && *cp != 0)
			continue;
		if (!domain_label_ok(label, cp))
			return -1;
		labels++;
		if (*cp == 0)
			break;
		label = cp + 1;
	}
	/* The last label: not all digits ("192.0.2.1"). */
	if (labels < 2 || strspn(label, "0123456789") == strlen(label))
		return -1;
	return 0;
}

const char *
domain_unbracket(const char *text, size_t *len)
{
	*len = strlen(text);
	if (*len >= 2 && text[0] == '<' && text[*len - 1] == '>') {
		*len -= 2;
		return text + 1;
	}
	return text;
}

int
domain_from_role(enum domain_role role, const char *text,
		 char out[DOMAIN_NAME_SIZE])
{
	const char *bare;
	const char *at;
	size_t	len;

	if (text == NULL || *text == 0 || *text == '[')
		return -1;
	switch (role) {
	case DOMAIN_CLIENT:
		if (strcasecmp(text, "unknown") == 0)
			return -1;
		break;
	case DOMAIN_SENDER:
		/* "<" with no ">" after it is no address. */
		if ((bare = domain_unbracket(text, &len)) == text
		    && *text == '<')
			return -1;
		text = bare;
		/* The last "@": a quoted local part may hold one. */
		for (at = text + len; at > text && at[-1] != '@'; at--)
			;
		if (at == text || at == text + len || *at == '[')
			return -1;
		return domain_normalise(at, (size_t) (text + len - at), out);
	case DOMAIN_HELO:
	case DOMAIN_ROLES:
		break;
	}
	return domain_normalise(text, strlen(text), out);
}

struct domain_suffixes *
domain_suffixes_load(char *err, size_t errlen)
{
	struct domain_suffixes *suffixes;

	if ((suffixes = calloc(1, sizeof(*suffixes))) == NULL) {
		snprintf(err, errlen, "public suffix list: out of memory");
		return NULL;
	}
	if ((suffixes->psl = suffixes->loaded = psl_latest(NULL)) == NULL
	    && (suffixes->psl = psl_builtin()) == NULL) {
		snprintf(err, errlen, "public suffix list: libpsl has none "
			 "built in and cannot read %s (Debian package "
			 "publicsuffix)", psl_dist_filename() != NULL ?
			 psl_dist_filename() : "its file");
		free(suffixes);
		return NULL;
	}
	return suffixes;
}

void
domain_suffixes_free(struct domain_suffixes *suffixes)
{
	if (suffixes == NULL)
		return;
	psl_free(suffixes->loaded);
	free(suffixes);
}

size_t
domain_lookup_names(const struct domain_suffixes *suffixes, const char *name,
		    char out[2][DOMAIN_NAME_SIZE])
{
	const char *registrable = psl_registrable_domain(suffixes->psl, name);
	size_t	count = 0;

	if (registrable == NULL || strlen(name) >= DOMAIN_NAME_SIZE)
		return 0;
	strcpy(out[count++], registrable);
	if (registrable != name)
		strcpy(out[count++], name);
	return count;
}
