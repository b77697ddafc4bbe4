/*
 * check_listcopy - a list set's members as one text and back: the round
 * trip, members that cannot be copied, and copies that must be refused
 * (a bad header, a copy cut short, one that changed while it was read).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists/listcopy.h"
#include "t/tenv.h"

/* A copy of kind 0 holding the members, with seq 7 and card 3. */
static char *
make(struct listcopy *copy, const char *const *members, size_t *len)
{
	char   *text;

	memset(copy, 0, sizeof(*copy));
	for (; *members != NULL; members++)
		ck_assert_int_eq(listcopy_add(copy, 0, *members,
					      strlen(*members)), 0);
	copy->seq = 7;
	copy->card = 3;
	ck_assert_ptr_nonnull(text = listcopy_format(copy, len));
	return text;
}

/* Parse text as a copy of kind into back; what listcopy_parse says. */
static int
parse(const char *text, size_t len, size_t kind, struct listcopy *back)
{
	struct listcopy_header header;

	memset(back, 0, sizeof(*back));
	if (listcopy_header(text, len, &header) != 1
	    || header.length + header.bytes != len)
		return -2;
	return listcopy_parse(back, kind, text + header.length, &header);
}

START_TEST(test_round_trip)
{
	static const char *const members[] = {
		"192.0.2.1", "2001:db8::/32", "", "garbage but copied", NULL,
	};
	struct listcopy copy;
	struct listcopy back;
	size_t	len;
	char   *text = make(&copy, members, &len);

	ck_assert_int_eq(parse(text, len, 0, &back), 0);
	ck_assert_uint_eq(back.count, 4);
	ck_assert_int_eq(back.seq, 7);
	ck_assert_int_eq(back.card, 3);
	ck_assert(back.digest == copy.digest);
	ck_assert_int_eq(listcopy_index(&back), 0);
	ck_assert_str_eq(back.index[0], "192.0.2.1");
	ck_assert_str_eq(back.index[2], "");
	ck_assert_str_eq(back.index[3], "garbage but copied");
	/* The digest is seeded by the kind: a relay copy is no deny list. */
	listcopy_clear(&back);
	ck_assert_int_eq(parse(text, len, 2, &back), -1);
	listcopy_clear(&back);
	listcopy_clear(&copy);
	free(text);
	/* An empty set. */
	text = make(&copy, members + 4, &len);
	ck_assert_int_eq(parse(text, len, 0, &back), 0);
	ck_assert_uint_eq(back.count, 0);
	listcopy_clear(&back);
	listcopy_clear(&copy);
	free(text);
}
END_TEST

/* A member with a NUL or a newline would come back as something else. */
START_TEST(test_uncopyable)
{
	struct listcopy copy = {0};

	ck_assert_int_eq(listcopy_add(&copy, 0, "10.0.0.1\n10.0.0.2", 17), 0);
	ck_assert_int_eq(listcopy_add(&copy, 0, "10.0.0.1\0x", 10), 0);
	ck_assert_int_eq(listcopy_add(&copy, 0, "10.0.0.3", 8), 0);
	ck_assert_uint_eq(copy.count, 1);
	ck_assert_uint_eq(copy.skipped, 2);
	listcopy_clear(&copy);
}
END_TEST

START_TEST(test_refused)
{
	static const char *const members[] = {"192.0.2.1", "192.0.2.2", NULL};
	static const char *const bad[] = {
		"",
		"rblmilter-listcopy seq=1",
		"rblmilter-listcopy seq=1 card=1 count=1 digest=0 bytes=2",
		"rblmilter-listcopy seq=-1 card=1 count=1 digest=0 bytes=2\n",
		"rblmilter-listcopy seq=1 card=1 count=3 digest=0 bytes=2\n",
		"rblmilter-listcopy seq=1 card=1 count=1 digest=0 bytes=2 x\n",
		"something else entirely\n",
	};
	struct listcopy_header header;
	struct listcopy copy;
	struct listcopy back;
	char	line[400];
	size_t	len;
	size_t	i;
	char   *text = make(&copy, members, &len);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(listcopy_header(bad[i], strlen(bad[i]),
					      &header) <= 0, "%s", bad[i]);
	/* A header line longer than any copy writes is refused at once. */
	memset(line, 'x', sizeof(line));
	ck_assert_int_eq(listcopy_header(line, sizeof(line), &header), -1);
	/* A member changed while the copy was read: the digest tells. */
	text[len - 2] = '3';
	ck_assert_int_eq(parse(text, len, 0, &back), -1);
	listcopy_clear(&back);
	/* A member lost: the count tells. */
	memcpy(text + len - 10, "192.0.2.\n", 9);
	text[len - 1] = '\n';
	ck_assert_int_eq(parse(text, len, 0, &back), -1);
	listcopy_clear(&back);
	listcopy_clear(&copy);
	free(text);
}
END_TEST

static Suite *
listcopy_suite(void)
{
	Suite  *suite = suite_create("listcopy");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_uncopyable);
	tcase_add_test(tc, test_refused);
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(listcopy_suite());
}
