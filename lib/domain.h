/*
 * domain - a DNS name that an SMTP client gave (its HELO name, its
 * envelope sender, its hostname as Postfix verified it), made fit to be
 * looked up in a domain zone (an RHSBL such as Spamhaus DBL), and its
 * registrable domain from the public suffix list.
 *
 * Every name that reaches a DNS query, a cache key or a log line goes
 * through domain_from_role() (or domain_normalise()), so hostile or odd
 * spellings never reach those places as typed.  This module sends no
 * query and knows no zone; which roles are looked up is configuration.
 */
#ifndef RBL_DOMAIN_H
#define RBL_DOMAIN_H

#include <stddef.h>

/* A name of 253 characters and its NUL. */
#define DOMAIN_NAME_SIZE	254

/* Where a name came from. */
enum domain_role {
	DOMAIN_HELO,			/* the HELO/EHLO argument */
	DOMAIN_SENDER,			/* the envelope sender's domain */
	DOMAIN_CLIENT,			/* the verified client hostname */
	DOMAIN_ROLES
};

/* "helo", "sender", "client": for logs and rhsbl_names. */
const char *domain_role_name(enum domain_role role);

/* "helo name", "sender domain", "client host name": for reply texts. */
const char *domain_role_phrase(enum domain_role role);

/* The role that word (len bytes) names as domain_role_name(), or -1. */
int	domain_role_parse(const char *word, size_t len);

/*
 * Normalise len bytes of text: lower case, one trailing dot removed;
 * then at least two labels of 1 to 63 letters, digits, hyphens or
 * underscores (seen in real HELO names), none starting or ending with a
 * hyphen, 253 bytes at most, and a last label that is not all digits (an
 * IP address dressed as a name).  0 with out filled, or -1.
 */
int	domain_normalise(const char *text, size_t len,
			 char out[DOMAIN_NAME_SIZE]);

/*
 * An envelope address as SMTP gives it, "<a@b.example>" or "a@b.example":
 * where it starts without the <> around it, its length in *len.
 */
const char *domain_unbracket(const char *text, size_t *len);

/*
 * The name to look up for what a client gave in role: a HELO name but
 * not an address literal ("[192.0.2.1]"); the domain after the last "@"
 * of a sender, "<a@b.example>" or "a@b.example", but not the null sender
 * nor an address literal; a hostname but not "unknown" nor "[...]".
 * 0 with out filled (domain_normalise()), or -1: nothing to look up.
 */
int	domain_from_role(enum domain_role role, const char *text,
			 char out[DOMAIN_NAME_SIZE]);

struct domain_suffixes;

/*
 * The public suffix list: the newer of libpsl's built-in one and
 * Debian's /usr/share/publicsuffix (psl_latest()), else the built-in
 * one.  NULL with a message in err when there is none.
 */
struct domain_suffixes *domain_suffixes_load(char *err, size_t errlen);
void	domain_suffixes_free(struct domain_suffixes *suffixes);

/*
 * The names to look up for a normalised name: its registrable domain,
 * then the name itself when it differs.  0 when the name is itself a
 * public suffix ("co.uk"): no list names those.  Any thread may ask.
 */
size_t	domain_lookup_names(const struct domain_suffixes *suffixes,
			    const char *name, char out[2][DOMAIN_NAME_SIZE]);

#endif
