/*
 * nullmilter - a milter built with libmilter that accepts everything:
 * the baseline of the benchmarks, and a real filter for mclient's tests.
 *
 * Usage: nullmilter -p SOCKET [-D] [-H]
 *   SOCKET  libmilter's socket spec: inet:PORT@127.0.0.1 or unix:/path
 *   -D      no DATA callback, so the MTA is asked not to send the DATA
 *           step (SMFIP_NODATA), to show how Postfix fares with filters
 *           that skip it
 *   -H      ask for SMFIF_ADDHDRS and add "X-Null-Milter: yes" at end of
 *           message
 *
 * It answers SMFIS_CONTINUE at connect, helo, mail, rcpt, data and end of
 * message, and asks the MTA not to send the steps it has no callback for
 * (SMFIP_NOBODY, SMFIP_NOHDRS, SMFIP_NOEOH, SMFIP_NOUNKNOWN).  libmilter
 * ends smfi_main() on SIGTERM, SIGINT or SIGHUP; the exit status is then 0.
 *
 * What it does not: look at what it is sent, log, or print anything unless
 * it cannot start (a message on stderr, exit 1; a bad command line: 64).
 * The options live in which callbacks are registered, not in variables.
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <unistd.h>

/* Exit status of a bad command line (sysexits' EX_USAGE). */
#define NULL_EX_USAGE	64

/* Steps this filter never looks at, turned off in negotiation. */
#define NULL_STEPS_OFF	(SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH \
			 | SMFIP_NOUNKNOWN)

/* The header -H adds, and its value. */
#define NULL_HEADER	"X-Null-Milter"
#define NULL_VALUE	"yes"

/* Registered so that libmilter parses the connect data, as for any filter. */
static sfsistat
null_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
	(void) ctx;
	(void) hostname;
	(void) addr;
	return SMFIS_CONTINUE;
}

/* HELO: registered so that the MTA sends it and waits for the answer. */
static sfsistat
null_helo(SMFICTX *ctx, char *name)
{
	(void) ctx;
	(void) name;
	return SMFIS_CONTINUE;
}

/* MAIL FROM: as null_helo(). */
static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
	(void) ctx;
	(void) argv;
	return SMFIS_CONTINUE;
}

/* RCPT TO: as null_helo(). */
static sfsistat
null_envrcpt(SMFICTX *ctx, char **argv)
{
	(void) ctx;
	(void) argv;
	return SMFIS_CONTINUE;
}

/* DATA: as null_helo(); left out with -D. */
static sfsistat
null_data(SMFICTX *ctx)
{
	(void) ctx;
	return SMFIS_CONTINUE;
}

/* End of message without -H. */
static sfsistat
null_eom(SMFICTX *ctx)
{
	(void) ctx;
	return SMFIS_CONTINUE;
}

/* End of message with -H; a header that cannot be added is a tempfail. */
static sfsistat
null_eom_header(SMFICTX *ctx)
{
	if (smfi_addheader(ctx, NULL_HEADER, NULL_VALUE) == MI_FAILURE)
		return SMFIS_TEMPFAIL;
	return SMFIS_CONTINUE;
}

/*
 * Ask for the steps off that the MTA offers to leave out; *pf1 comes from
 * libmilter with SMFIP_NODATA already in it when no DATA callback is
 * registered (-D).  actions: what the filter may do at end of message.
 */
static sfsistat
null_options(unsigned long offered_actions, unsigned long offered_steps,
	     unsigned long actions, unsigned long *pf0, unsigned long *pf1,
	     unsigned long *pf2, unsigned long *pf3)
{
	*pf0 = actions & offered_actions;
	*pf1 = (NULL_STEPS_OFF | (*pf1 & SMFIP_NODATA)) & offered_steps;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

/* Negotiation without -H: no actions. */
static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
	       unsigned long f2, unsigned long f3, unsigned long *pf0,
	       unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void) ctx;
	(void) f2;
	(void) f3;
	return null_options(f0, f1, 0, pf0, pf1, pf2, pf3);
}

/* Negotiation with -H: adding headers. */
static sfsistat
null_negotiate_header(SMFICTX *ctx, unsigned long f0, unsigned long f1,
		      unsigned long f2, unsigned long f3, unsigned long *pf0,
		      unsigned long *pf1, unsigned long *pf2,
		      unsigned long *pf3)
{
	(void) ctx;
	(void) f2;
	(void) f3;
	return null_options(f0, f1, SMFIF_ADDHDRS, pf0, pf1, pf2, pf3);
}

/* Say how to call the program; the exit status of a bad command line. */
static int
null_usage(void)
{
	fprintf(stderr, "usage: nullmilter -p SOCKET [-D] [-H]\n");
	return NULL_EX_USAGE;
}

int
main(int argc, char **argv)
{
	struct smfiDesc desc = {
		.xxfi_name = "nullmilter",
		.xxfi_version = SMFI_VERSION,
		.xxfi_connect = null_connect,
		.xxfi_helo = null_helo,
		.xxfi_envfrom = null_envfrom,
		.xxfi_envrcpt = null_envrcpt,
		.xxfi_data = null_data,
		.xxfi_eom = null_eom,
		.xxfi_negotiate = null_negotiate,
	};
	char   *spec = NULL;
	int	ch;

	while ((ch = getopt(argc, argv, "p:DH")) != -1) {
		switch (ch) {
		case 'p':
			spec = optarg;
			break;
		case 'D':
			desc.xxfi_data = NULL;
			break;
		case 'H':
			desc.xxfi_flags = SMFIF_ADDHDRS;
			desc.xxfi_eom = null_eom_header;
			desc.xxfi_negotiate = null_negotiate_header;
			break;
		default:
			return null_usage();
		}
	}
	if (spec == NULL || optind != argc)
		return null_usage();
	if (smfi_setconn(spec) == MI_FAILURE
	    || smfi_register(desc) == MI_FAILURE
	    || smfi_opensocket(true) == MI_FAILURE) {
		fprintf(stderr, "nullmilter: cannot listen on %s\n", spec);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
