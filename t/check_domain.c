/*
 * check_domain - names from SMTP made fit for domain zones: roles, the
 * name rules one by one, what each role refuses, and the registrable
 * domain from the public suffix list.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "lib/domain.h"
#include "t/tenv.h"

/* What domain_from_role() makes of text, or "-" for nothing. */
static const char *
name_of(enum domain_role role, const char *text)
{
	static char out[DOMAIN_NAME_SIZE];

	return domain_from_role(role, text, out) == 0 ? out : "-";
}

/* A string of n copies of ch and then tail. */
static const char *
repeat(char ch, size_t n, const char *tail)
{
	static char text[1024];

	memset(text, ch, n);
	snprintf(text + n, sizeof(text) - n, "%s", tail);
	return text;
}

START_TEST(test_roles)
{
	ck_assert_str_eq(domain_role_name(DOMAIN_HELO), "helo");
	ck_assert_str_eq(domain_role_name(DOMAIN_SENDER), "sender");
	ck_assert_str_eq(domain_role_name(DOMAIN_CLIENT), "client");
	ck_assert_str_eq(domain_role_phrase(DOMAIN_SENDER), "sender domain");
	ck_assert_int_eq(domain_role_parse("sender", 6), DOMAIN_SENDER);
	ck_assert_int_eq(domain_role_parse("HELO", 4), DOMAIN_HELO);
	ck_assert_int_eq(domain_role_parse("client,", 6), DOMAIN_CLIENT);
	ck_assert_int_eq(domain_role_parse("send", 4), -1);
	ck_assert_int_eq(domain_role_parse("senders", 7), -1);
}
END_TEST

START_TEST(test_names)
{
	static const char *const good[][2] = {
		{"Mail.Spam.EXAMPLE.", "mail.spam.example"},
		{"a.b", "a.b"},
		{"_dmarc.x-1.example", "_dmarc.x-1.example"},
		{"1.2.3.example", "1.2.3.example"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
	};
	static const char *const bad[] = {
		"", ".", "localhost", "localhost.", "a..b", ".a.b", "a.b..",
		"-a.example", "a-.example", "a b.example", "a@b.example",
		"a/b.example", "192.0.2.1", "192.0.2.1.", "exa\xc3\xa9mple.com",
		"a.123",
	};
	size_t	i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_str_eq(name_of(DOMAIN_HELO, good[i][0]), good[i][1]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(strcmp(name_of(DOMAIN_HELO, bad[i]), "-") == 0,
			      "accepted \"%s\"", bad[i]);
	/* Labels of 63 bytes, names of 253: no more. */
	ck_assert_str_ne(name_of(DOMAIN_HELO, repeat('a', 63, ".example")), "-");
	ck_assert_str_eq(name_of(DOMAIN_HELO, repeat('a', 64, ".example")), "-");
	ck_assert_str_ne(name_of(DOMAIN_HELO, repeat('a', 0,
		"a123456789a123456789a123456789a123456789a123456789a12345678."
		"a123456789a123456789a123456789a123456789a123456789a12345678."
		"a123456789a123456789a123456789a123456789a123456789a12345678."
		"a123456789a123456789a123456789a123456789a123456789a12345678."
		"a12345678.exa")), "-");
	ck_assert_str_eq(name_of(DOMAIN_HELO, repeat('a', 0,
		"a123456789a123456789a123456789a123456789a123456789a12345678."
		"a123456789a123456789a123456789a123456789a123456789a12345678."
		"a123456789a123456789a123456789a123456789a123456789a12345678."
		"a123456789a123456789a123456789a123456789a123456789a12345678."
		"a12345678.exam")), "-");
}
END_TEST

START_TEST(test_what_roles_refuse)
{
	/* HELO: address literals are no names. */
	ck_assert_str_eq(name_of(DOMAIN_HELO, "[192.0.2.1]"), "-");
	ck_assert_str_eq(name_of(DOMAIN_HELO, "[IPv6:2001:db8::1]"), "-");
	ck_assert_str_eq(name_of(DOMAIN_HELO, NULL), "-");
	/* The sender: after the last "@", brackets or not; not <>. */
	ck_assert_str_eq(name_of(DOMAIN_SENDER, "<a@Spam.Example>"),
			 "spam.example");
	ck_assert_str_eq(name_of(DOMAIN_SENDER, "a@spam.example"),
			 "spam.example");
	ck_assert_str_eq(name_of(DOMAIN_SENDER, "\"a@b\"@c.example"),
			 "c.example");
	ck_assert_str_eq(name_of(DOMAIN_SENDER, "<>"), "-");
	ck_assert_str_eq(name_of(DOMAIN_SENDER, ""), "-");
	ck_assert_str_eq(name_of(DOMAIN_SENDER, "<a@spam.example"), "-");
	ck_assert_str_eq(name_of(DOMAIN_SENDER, "postmaster"), "-");
	ck_assert_str_eq(name_of(DOMAIN_SENDER, "a@"), "-");
	ck_assert_str_eq(name_of(DOMAIN_SENDER, "<a@[192.0.2.1]>"), "-");
	ck_assert_str_eq(name_of(DOMAIN_SENDER, "a@localhost"), "-");
	/* The client: Postfix's "unknown" and bracketed forms. */
	ck_assert_str_eq(name_of(DOMAIN_CLIENT, "mx.spam.example"),
			 "mx.spam.example");
	ck_assert_str_eq(name_of(DOMAIN_CLIENT, "unknown"), "-");
	ck_assert_str_eq(name_of(DOMAIN_CLIENT, "UNKNOWN"), "-");
	ck_assert_str_eq(name_of(DOMAIN_CLIENT, "[192.0.2.1]"), "-");
}
END_TEST

START_TEST(test_registrable)
{
	static const struct {
		const char *name;
		size_t	count;
		const char *first;
		const char *second;
	} cases[] = {
		{"mail.spam.example", 2, "spam.example", "mail.spam.example"},
		{"spam.example", 1, "spam.example", NULL},
		{"a.b.example.co.uk", 2, "example.co.uk", "a.b.example.co.uk"},
		{"example.com", 1, "example.com", NULL},
		{"co.uk", 0, NULL, NULL},
	};
	struct domain_suffixes *suffixes;
	char	out[2][DOMAIN_NAME_SIZE];
	char	err[256];
	size_t	i;

	ck_assert_msg((suffixes = domain_suffixes_load(err, sizeof(err)))
		      != NULL, "%s", err);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_uint_eq(domain_lookup_names(suffixes, cases[i].name,
						      out), cases[i].count);
		if (cases[i].count > 0)
			ck_assert_str_eq(out[0], cases[i].first);
		if (cases[i].count > 1)
			ck_assert_str_eq(out[1], cases[i].second);
	}
	domain_suffixes_free(suffixes);
	domain_suffixes_free(NULL);
}
END_TEST

static Suite *
domain_suite(void)
{
	Suite  *suite = suite_create("domain");
	TCase  *tc = tcase_create("domain");

	tcase_add_test(tc, test_roles);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_what_roles_refuse);
	tcase_add_test(tc, test_registrable);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(domain_suite());
}
