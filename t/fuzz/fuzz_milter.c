/*
 * fuzz_milter - libFuzzer target for what the milter makes of what
 * libmilter hands it: milter/filter.c's own callbacks, linked with
 * stand-ins for libmilter (macros, replies, headers), the worker (the
 * verdict) and the lookup stack (the lists), and driven by a script of
 * one SMTP session after another; and addr_from_sockaddr() on socket
 * addresses of any family and length.
 *
 * The input is lines, one event each:
 *
 *   set NAME = VALUE       a line of rblmilter.conf; all are read first
 *                          (dnsbl_sites is FUZZ_SITES unless set)
 *   macro NAME VALUE       what smfi_getsymval() gives from now on
 *                          ("macro NAME " gives "", "macro NAME" NULL)
 *   lists relay allow deny the lists of the clients that connect next
 *   verdict LEVEL TTL MS   memory, redis or miss (with MS > 0 every
 *                          zone was asked in DNS); none: the wait gives
 *                          no verdict; nolookup: the lookup cannot start
 *   zone N pass | listed A.B.C.D;... [TXT] | unknown REASON
 *   greylist OUTCOME [WAIT] what the greylisting state says from now on
 *                          (new, early, passed or off; off until set)
 *   connect inet ADDR [HOST] | inet6 ADDR [HOST] | unix PATH | null
 *   connect hex BYTES [HOST]   a raw sockaddr, any family and length
 *   helo [NAME], mail [ADDR], rcpt [ADDR] (no value: NULL), data, eom,
 *   abort, close
 *   negotiate F0 F1 F2 F3  (hex) what the MTA offers from now on (Postfix
 *                          3.7's offer until then); negotiated, then closed
 *
 * Each connect is a connection of its own: negotiation (where the filter
 * makes its session), then connect.
 * Checked after each callback, against a model of the rules as
 * decide/decision.c's header and milter/steps.c's state them (their own
 * code is not the model): the conversation negotiated for the
 * configuration and the offer; the status, as the step allows it (none
 * for a no-reply step; accept where nothing can change the answer, and
 * at DATA unless a header is due); greylisting at RCPT (who is asked,
 * the 451 of new and early, a line for every recipient asked); that a client which may not relay (not SASL, not
 * on the relay list, relay_policy = enforce) never gets a recipient
 * whose whole {rcpt_mailer} is not a word of local_transports (554), nor
 * one without a {rcpt_mailer} (451), whatever action, exemptions, lists
 * and verdict say; the reply code, DSN and text (libmilter's own checks
 * pass, every % doubled, the text the rule says); one decision line per
 * refusal and at most one for a client that passes, which --report's
 * parser takes whole (client, daemon, helo, queue_id, rcpt, stage,
 * action, reason, lists and verdict, the zones asked in DNS included, as
 * the session had them; a line that lib/msg.c would cut at 2048 bytes,
 * as a long RCPT or TXT of escaped bytes makes, is not parsed); X-RBL-Check at end of message after
 * a tag; printable ASCII in every message; every macro read is one the
 * filter asked for at negotiation; what the filter acquires it releases.
 * And the client's address: the callback's sockaddr (as libmilter hands
 * it, in a union of any family) and every prefix of the raw bytes,
 * unaligned, give what inet_ntop() and addr_parse() make of them.
 *
 * Not fuzzed: libmilter itself, threads and filter_stop(), the lookup
 * (the verdict is made from the input), the lists' matching, Redis.
 */
#include <libmilter/mfapi.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/report.h"
#include "conf/config.h"
#include "decide/stack.h"
#include "greylist/greylist.h"
#include "dnsbl/site.h"
#include "dnsbl/verdict.h"
#include "lib/addr.h"
#include "lib/msg.h"
#include "lists/lists.h"
#include "milter/filter.h"
#include "runtime/worker.h"

/* The zones when the input sets none: a listing, a DNSWL, a filter. */
#define FUZZ_SITES	"dnsbl_sites = bl.test*2 wl.test*-2 " \
			"multi.test=127.0.0.[2..4] multi.test=127.0.0.8*3\n"

/* Lines of one input, and macros it may set. */
#define FUZZ_MAX_EVENTS	64
#define FUZZ_MAX_MACROS	16

/* libmilter's longest reply text (smfi.c's MAXREPLYLEN). */
#define FUZZ_REPLY_MAX	980

/* msg.c's buffer: a longer message is cut. */
#define FUZZ_MSG_MAX	2048

/* libmilter's macro stages, SMFIM_CONNECT to SMFIM_EOH. */
#define FUZZ_STAGES	(SMFIM_EOH + 1)

/* Messages one callback may write. */
#define FUZZ_MAX_LINES	8

/* An invariant: abort, naming it, when cond is false. */
#define CHECK(cond) \
	do { if (!(cond)) fuzz_fail(#cond, __LINE__); } while (0)

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The stand-ins' opaque types. */
struct smfi_str {
	void   *priv;
};
struct generation {
	int	unused;
};
struct stack {
	int	unused;
};
struct worker {
	int	unused;
};
struct worker_lookup {
	struct verdict *verdict;	/* NULL: the wait gives none */
	enum cache_level level;
	unsigned waits;
};

/* One zone of the verdict to come. */
struct zone_spec {
	enum {
		SPEC_PASS, SPEC_LISTED, SPEC_UNKNOWN,
	}	state;
	unsigned char answer[VERDICT_MAX_ANSWERS][4];
	size_t	count;
	char	reason[VERDICT_REASON_SIZE];
	char   *text;			/* TXT of a listing, or NULL */
};

/* What the stand-ins give and what they were given. */
static struct {
	struct smfiDesc desc;		/* from filter_register() */
	char   *symlist[FUZZ_STAGES];	/* smfi_setsymlist(), else Postfix's
					 * default lists, per SMFIM_ stage */
	bool	symlist_set;
	unsigned long offer_actions;	/* what the MTA offers */
	unsigned long offer_protocol;
	const struct config *config;
	struct generation generation;
	int	generation_refs;
	struct stack stack;
	struct worker worker;
	unsigned lookups;		/* submitted and not freed */
	/* The input's state. */
	char   *macro_name[FUZZ_MAX_MACROS];
	char   *macro_value[FUZZ_MAX_MACROS];	/* NULL: not sent */
	size_t	macros;
	int	macro_stage;		/* SMFIM_ stage of the callback, or
					 * -1 */
	unsigned lists;
	enum cache_level level;
	bool	no_verdict;
	bool	no_lookup;
	int	greylist;		/* enum greylist_outcome to give */
	unsigned greylist_wait;
	unsigned greylist_asked;	/* worker_greylist() calls */
	unsigned ttl;
	unsigned dns_ms;
	struct zone_spec zone[DNSBL_MAX_SITES];
	/* What one callback did. */
	char   *line[FUZZ_MAX_LINES];	/* msg_info(), msg_warn() texts */
	size_t	lines;
	unsigned warnings;		/* msg_warn() */
	unsigned missing;		/* msg_warn_limited() */
	unsigned replies;
	bool	reply_bad;		/* libmilter would refuse it */
	char	reply_code[8];
	char	reply_dsn[16];
	char	reply_text[2048];
	unsigned headers;
	bool	header_bad;
} fz;

/* The session as the model sees it. */
static struct {
	bool	open;			/* a session with an address */
	bool	ctx;			/* negotiated, not yet closed */
	unsigned long steps;		/* SMFIP_* negotiated */
	struct addr addr;
	char	ip[ADDR_TEXT_SIZE];
	char	daemon[64];
	char	helo[128];
	char	queue_id[32];
	bool	authenticated;
	unsigned lists;
	struct worker_lookup *lookup;	/* the one submitted, or NULL */
	bool	waited;
	const struct verdict *verdict;	/* once waited */
	bool	logged;
	bool	tagged;
} model;

static struct smfi_str fuzz_ctx;
static bool fuzz_trace;			/* FUZZ_MILTER_TRACE is set */
static int fuzz_fd;
static char fuzz_path[64];

/* A broken invariant: say which, and crash for libFuzzer. */
__attribute__((noreturn))
static void
fuzz_fail(const char *what, int line)
{
	fprintf(stderr, "fuzz_milter.c:%d: %s\n", line, what);
	abort();
}

/* Printable ASCII only, no control character? */
static bool
printable(const char *text)
{
	for (; *text; text++)
		if (*text < 0x20 || *text >= 0x7f)
			return false;
	return true;
}

/* Keep a message of a callback. */
static void
fuzz_vlog(const char *label, const char *fmt, va_list ap)
{
	char	text[FUZZ_MSG_MAX * 4];
	size_t	len = strlen(label);

	memcpy(text, label, len);
	vsnprintf(text + len, sizeof(text) - len, fmt, ap);
	if (fuzz_trace)
		fprintf(stderr, "%s\n", text);
	CHECK(fz.lines < FUZZ_MAX_LINES);
	CHECK((fz.line[fz.lines++] = strdup(text)) != NULL);
}

/* lib/msg.c's loggers, which the stand-ins replace. */
void
msg_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fuzz_vlog("", fmt, ap);
	va_end(ap);
}

void
msg_warn(const char *fmt, ...)
{
	va_list	ap;

	fz.warnings++;
	va_start(ap, fmt);
	fuzz_vlog("warning: ", fmt, ap);
	va_end(ap);
}

void
msg_warn_limited(struct msg_limit *limit, unsigned period, const char *fmt,
		 ...)
{
	va_list	ap;

	(void) limit;
	(void) period;
	fz.missing++;
	va_start(ap, fmt);
	fuzz_vlog("warning: ", fmt, ap);
	va_end(ap);
}

void
msg_error(const char *fmt, ...)
{
	(void) fmt;
	fuzz_fail("msg_error", __LINE__);
}

void
msg_panic(const char *fmt, ...)
{
	(void) fmt;
	fuzz_fail("msg_panic", __LINE__);
}

/* cache/vcache.c's, for the decision line (that file needs the world). */
const char *
vcache_level_name(enum cache_level level)
{
	return level == CACHE_MEMORY ? "memory" : level == CACHE_REDIS ? "redis"
	    : "miss";
}

/* libmilter's stand-ins. */
int
smfi_register(struct smfiDesc desc)
{
	fz.desc = desc;
	return MI_SUCCESS;
}

/* The loop, which ends at once: filter_run() only keeps the worker. */
int
smfi_main(void)
{
	return MI_SUCCESS;
}

int
smfi_setpriv(SMFICTX *ctx, void *priv)
{
	ctx->priv = priv;
	return MI_SUCCESS;
}

void *
smfi_getpriv(SMFICTX *ctx)
{
	return ctx->priv;
}

int
smfi_setsymlist(SMFICTX *ctx, int stage, char *macros)
{
	(void) ctx;
	CHECK(stage >= 0 && stage < FUZZ_STAGES);
	free(fz.symlist[stage]);
	CHECK((fz.symlist[stage] = strdup(macros)) != NULL);
	fz.symlist_set = true;
	return MI_SUCCESS;
}

/* Is name, whole, one of the space-separated words of list? */
static bool
has_word(const char *list, const char *name)
{
	size_t	len = strlen(name);
	const char *cp;
	size_t	n;

	for (cp = list; cp != NULL && *cp; cp += n) {
		cp += strspn(cp, " ");
		n = strcspn(cp, " ");
		if (n == len && strncmp(cp, name, len) == 0)
			return true;
	}
	return false;
}

char   *
smfi_getsymval(SMFICTX *ctx, char *name)
{
	int	stage;
	size_t	i;

	(void) ctx;
	/* libmilter looks in the macros of this stage and the ones before. */
	CHECK(fz.macro_stage >= 0);
	for (stage = fz.macro_stage; stage >= 0; stage--)
		if (has_word(fz.symlist[stage], name))
			break;
	CHECK(stage >= 0);
	for (i = 0; i < fz.macros; i++)
		if (strcmp(fz.macro_name[i], name) == 0)
			return fz.macro_value[i];
	return NULL;
}

/* libmilter's myisenhsc(): "4.7.1" and the like. */
static bool
enhanced_code(const char *code)
{
	int	part;
	int	digits;

	if (*code != '2' && *code != '4' && *code != '5')
		return false;
	code++;
	for (part = 0; part < 2; part++) {
		if (*code++ != '.')
			return false;
		for (digits = 0; *code >= '0' && *code <= '9'; code++)
			digits++;
		if (digits < 1 || digits > 3)
			return false;
	}
	return *code == 0;
}

int
smfi_setreply(SMFICTX *ctx, char *rcode, char *xcode, char *message)
{
	(void) ctx;
	fz.replies++;
	/* What libmilter's smfi_setreply() refuses. */
	if (rcode == NULL || strlen(rcode) != 3
	    || (rcode[0] != '4' && rcode[0] != '5')
	    || rcode[1] < '0' || rcode[1] > '9' || rcode[2] < '0'
	    || rcode[2] > '9' || (xcode != NULL && !enhanced_code(xcode))
	    || (message != NULL && (strpbrk(message, "\r\n") != NULL
				    || strlen(message) > FUZZ_REPLY_MAX))) {
		fz.reply_bad = true;
		return MI_FAILURE;
	}
	snprintf(fz.reply_code, sizeof(fz.reply_code), "%s", rcode);
	snprintf(fz.reply_dsn, sizeof(fz.reply_dsn), "%s", xcode ? xcode : "");
	snprintf(fz.reply_text, sizeof(fz.reply_text), "%s",
		 message ? message : "");
	return MI_SUCCESS;
}

int
smfi_addheader(SMFICTX *ctx, char *name, char *value)
{
	(void) ctx;
	fz.headers++;
	if (strcmp(name, "X-RBL-Check") != 0 || !printable(value)
	    || strncmp(value, "score=", 6) != 0)
		fz.header_bad = true;
	return MI_SUCCESS;
}

/* The worker's stand-ins. */
void
worker_abort(struct worker *worker)
{
	(void) worker;
	fuzz_fail("worker_abort", __LINE__);
}

struct generation *
worker_acquire(struct worker *worker)
{
	CHECK(worker == &fz.worker);
	fz.generation_refs++;
	return &fz.generation;
}

void
worker_release(struct generation *generation)
{
	CHECK(generation == &fz.generation && fz.generation_refs > 0);
	fz.generation_refs--;
}

const struct config *
generation_config(const struct generation *generation)
{
	CHECK(generation == &fz.generation && fz.generation_refs > 0);
	return fz.config;
}

struct stack *
generation_stack(const struct generation *generation)
{
	CHECK(generation == &fz.generation && fz.generation_refs > 0);
	return &fz.stack;
}

/* The verdict the input describes, scored as the engine scores. */
static struct verdict *
make_verdict(void)
{
	const struct config *config = fz.config;
	size_t	zones = dnsbl_sites_zone_count(config->dnsbl_sites);
	struct verdict *verdict;
	struct verdict_zone *zone;
	const struct zone_spec *spec;
	size_t	i;

	CHECK((verdict = verdict_create(zones)) != NULL);
	verdict->complete = true;
	for (i = 0; i < zones; i++) {
		zone = verdict->zone + i;
		spec = fz.zone + i;
		zone->state = VERDICT_ZONE_PASS;
		if (spec->state == SPEC_UNKNOWN) {
			zone->state = VERDICT_ZONE_UNKNOWN;
			memcpy(zone->reason, spec->reason, sizeof(zone->reason));
			verdict->complete = false;
		} else if (spec->state == SPEC_LISTED && spec->count > 0) {
			memcpy(zone->answer, spec->answer, sizeof(zone->answer));
			zone->answer_count = spec->count;
			if (dnsbl_sites_score(config->dnsbl_sites, i,
					      (const unsigned char (*)[4])
					      zone->answer, zone->answer_count,
					      &zone->score)) {
				zone->state = VERDICT_ZONE_LISTED;
				if (spec->text != NULL)
					CHECK((zone->text = strdup(spec->text))
					      != NULL);
			}
		}
		verdict->score += zone->score;
		/* A lookup from DNS: each zone asked, MS ms. */
		if (fz.level == CACHE_MISS && fz.dns_ms > 0)
			zone->answer_us = fz.dns_ms * 1000UL + i;
	}
	verdict->ttl = fz.ttl < config->dnsbl_min_ttl ? config->dnsbl_min_ttl
	    : fz.ttl > config->dnsbl_max_ttl ? config->dnsbl_max_ttl : fz.ttl;
	verdict->dns_ms = fz.dns_ms;
	return verdict;
}

struct worker_lookup *
worker_submit(struct worker *worker, struct generation *generation,
	      int kind, const char *subject)
{
	struct worker_lookup *lookup;
	char	ip[ADDR_TEXT_SIZE];

	CHECK(worker == &fz.worker && generation == &fz.generation);
	CHECK(kind == DNSBL_IPS && model.open
	      && strcmp(subject, addr_format(&model.addr, ip)) == 0);
	CHECK(!(model.lists & (LIST_ALLOW | LIST_DENY)) && model.lookup == NULL);
	if (fz.no_lookup)
		return NULL;
	CHECK((lookup = calloc(1, sizeof(*lookup))) != NULL);
	lookup->level = fz.level;
	if (!fz.no_verdict)
		lookup->verdict = make_verdict();
	fz.lookups++;
	return model.lookup = lookup;
}

const struct verdict *
worker_wait(struct worker_lookup *lookup, enum cache_level *level)
{
	CHECK(lookup == model.lookup && lookup->waits++ == 0);
	*level = lookup->level;
	return lookup->verdict;
}

void
worker_lookup_free(struct worker_lookup *lookup)
{
	CHECK(lookup != NULL && lookup == model.lookup && fz.lookups > 0);
	fz.lookups--;
	verdict_free(lookup->verdict);
	free(lookup);
	model.lookup = NULL;
}

int
worker_greylist(struct worker *worker, struct generation *generation,
		const struct greylist_triplet *triplet, unsigned *wait)
{
	CHECK(worker == &fz.worker && generation == &fz.generation
	      && triplet != NULL);
	fz.greylist_asked++;
	*wait = fz.greylist_wait;
	return fz.greylist;
}

/* The stack's stand-ins: no domain zones, so no names. */
size_t
stack_names(const struct stack *stack, int role, const char *text,
	    char out[2][DOMAIN_NAME_SIZE])
{
	(void) role;
	(void) text;
	(void) out;
	CHECK(stack == &fz.stack);
	return 0;
}

struct verdict *
stack_join(const struct stack *stack, const struct verdict *ip,
	   const struct verdict_name *names, size_t count)
{
	CHECK(stack == &fz.stack && count == 0);
	return verdict_join(ip, fz.config->rhsbl_sites, names, count);
}

void
stack_greylist_triplet(const struct stack *stack, const struct addr *client,
		       const char *sender, const char *recipient,
		       struct greylist_triplet *triplet)
{
	CHECK(stack == &fz.stack && addr_equal(client, &model.addr)
	      && sender != NULL && recipient != NULL);
	memset(triplet, 0, sizeof(*triplet));
}

unsigned
stack_lists(struct stack *stack, const struct addr *addr)
{
	CHECK(stack == &fz.stack && addr_equal(addr, &model.addr));
	return fz.lists;
}

void
stack_count(struct stack *stack, enum stats_counter counter)
{
	(void) counter;
	CHECK(stack == &fz.stack);
}

void
stack_count_decision(struct stack *stack, const struct decision *decision,
		     const struct verdict *verdict)
{
	(void) decision;
	(void) verdict;
	CHECK(stack == &fz.stack);
}

void
stack_count_lists(struct stack *stack, unsigned lists)
{
	CHECK(stack == &fz.stack && lists == model.lists);
}

/* What the filter's macro copy makes of a value: printable, cut. */
static void
model_macro(const char *value, char *buf, size_t size)
{
	size_t	i;

	for (i = 0; value != NULL && value[i] && i + 1 < size; i++)
		buf[i] = ((unsigned char) value[i] > 0x20
			  && (unsigned char) value[i] < 0x7f) ? value[i] : '?';
	buf[i] = 0;
}

/* The value of a macro as the input sets it. */
static const char *
macro(const char *name)
{
	size_t	i;

	for (i = 0; i < fz.macros; i++)
		if (strcmp(fz.macro_name[i], name) == 0)
			return fz.macro_value[i];
	return NULL;
}

/*
 * The model's address of a raw sockaddr of len bytes, as the filter made
 * it before addr_from_sockaddr(): inet_ntop(), then addr_parse().
 */
static bool
model_address(const unsigned char *bytes, size_t len, struct addr *addr)
{
	char	text[ADDR_TEXT_SIZE];
	sa_family_t family;

	if (len < offsetof(struct sockaddr, sa_family) + sizeof(family))
		return false;
	memcpy(&family, bytes + offsetof(struct sockaddr, sa_family),
	       sizeof(family));
	if (family == AF_INET && len >= offsetof(struct sockaddr_in, sin_addr)
	    + sizeof(struct in_addr))
		inet_ntop(AF_INET, bytes + offsetof(struct sockaddr_in, sin_addr),
			  text, sizeof(text));
	else if (family == AF_INET6
		 && len >= offsetof(struct sockaddr_in6, sin6_addr)
		 + sizeof(struct in6_addr))
		inet_ntop(AF_INET6, bytes + offsetof(struct sockaddr_in6,
						     sin6_addr), text,
			  sizeof(text));
	else
		return false;
	CHECK(addr_parse(text, addr) == 0);
	return true;
}

/* addr_from_sockaddr() on every prefix of bytes, each at its own end. */
static void
check_sockaddr(const unsigned char *bytes, size_t size)
{
	unsigned char *copy;
	struct addr got;
	struct addr want;
	size_t	len;
	bool	ok;

	CHECK((copy = malloc(size + 1)) != NULL);
	for (len = 0; len <= size; len++) {
		/* Exactly len bytes before the end: odd offsets, too. */
		memcpy(copy + size + 1 - len, bytes, len);
		ok = model_address(bytes, len, &want);
		CHECK((addr_from_sockaddr((const struct sockaddr *)
					  (copy + size + 1 - len), len, &got)
		       == 0) == ok);
		CHECK(!ok || addr_equal(&got, &want));
	}
	CHECK(addr_from_sockaddr(NULL, size, &got) < 0);
	free(copy);
}

/* The expected outcome of one decision. */
struct expect {
	sfsistat status;
	bool	silent;			/* no line, no counter */
	const char *kind;		/* decision_kind_name() */
	const char *reason;		/* decision_reason_name() */
	const char *code;		/* of a refusal */
	const char *dsn;
	char	text[600];		/* the reply text, or "" when not
					 * modelled */
	bool	tag;
	bool	settled;		/* nothing later can change it */
	bool	greylisted;		/* the greylisting state was asked */
	bool	missing;		/* the {rcpt_mailer} warning */
};

/* decision.c's copy of a text into a reply: printable ASCII, cut. */
static void
model_text(char *out, size_t size, const char *in)
{
	size_t	i;

	for (i = 0; in[i] && i + 1 < size; i++)
		out[i] = ((unsigned char) in[i] >= 0x20
			  && (unsigned char) in[i] < 0x7f) ? in[i] : '?';
	out[i] = 0;
}

/* A refusal. */
static void
refuse(struct expect *e, sfsistat status, const char *kind, const char *reason,
       const char *code, const char *dsn)
{
	e->status = status;
	e->silent = false;
	e->kind = kind;
	e->reason = reason;
	e->code = code;
	e->dsn = dsn;
}

/* A relay refusal's text: "RCPT: what", as decide() writes it. */
static void
relay_text(struct expect *e, const char *rcpt, const char *what)
{
	char	text[600];

	snprintf(text, sizeof(text), "%s: %s", rcpt, what);
	model_text(e->text, 512, text);
}

/* Is the recipient's local part one of exempt_recipients (any case)? */
static bool
model_exempt(const char *rcpt)
{
	const char *words = fz.config->exempt_recipients;
	const char *local = rcpt + (*rcpt == '<');
	size_t	len = strcspn(local, "@>");
	size_t	n;

	for (; *words; words += n + (words[n] == ' ')) {
		n = strcspn(words, " ");
		if (n == len && strncasecmp(words, local, len) == 0)
			return true;
	}
	return false;
}

/*
 * Greylisting was asked (at RCPT, a client not on the relay list): what
 * the input's state says of the recipient, new and early deferred.
 */
static void
model_greylist(struct expect *e, const char *rcpt)
{
	char	text[600];

	e->greylisted = true;
	e->settled = false;
	if (fz.greylist != GREYLIST_NEW && fz.greylist != GREYLIST_EARLY)
		return;
	refuse(e, SMFIS_TEMPFAIL, "greylist", e->reason, "451", "4.7.1");
	snprintf(text, sizeof(text), "%s: Recipient address rejected: "
		 "Greylisted, try again in %u seconds", rcpt, fz.greylist_wait);
	model_text(e->text, 512, text);
}

/* The rules of decide/decision.c's header, at stage. */
static void
model_decide(int stage, const char *rcpt, const char *mailer,
	     struct expect *e)
{
	const struct config *c = fz.config;
	const struct verdict *v = model.verdict;
	bool	relay = c->relay_policy == RELAY_ENFORCE
	    && !(model.lists & LIST_RELAY);
	bool	greylistable = stage == STAGE_RCPT
	    && !(model.lists & LIST_RELAY);

	memset(e, 0, sizeof(*e));
	e->status = SMFIS_CONTINUE;
	e->silent = true;
	e->settled = model.authenticated;
	if (model.authenticated)
		return;
	if (stage == STAGE_RCPT) {
		if (relay && (mailer == NULL || *mailer == 0)) {
			refuse(e, SMFIS_TEMPFAIL, "tempfail", "relay-unchecked",
			       "451", "4.3.5");
			relay_text(e, rcpt, "Relay access cannot be checked: "
				   "server configuration problem");
			e->missing = true;
			return;
		}
		/* The whole transport name, as Postfix sent it. */
		if (relay && !has_word(c->local_transports, mailer)) {
			refuse(e, SMFIS_REJECT, "relay", "relay", "554", "5.7.1");
			relay_text(e, rcpt, "Relay access denied");
			return;
		}
		if (model_exempt(rcpt))
			return;
	}
	/* A pass past reject_stage, by a client that may relay. */
	e->settled = !relay && stage >= c->reject_stage;
	if (stage != c->reject_stage)
		return;
	e->silent = false;
	e->kind = "pass";
	if (model.lists & LIST_DENY) {
		refuse(e, SMFIS_REJECT, "reject", "deny-list", "550", "5.7.1");
		snprintf(e->text, sizeof(e->text), "Service unavailable; "
			 "client [%s] blocked by local policy", model.ip);
		return;
	}
	if (model.lists & LIST_ALLOW) {
		e->kind = "allow";
		e->reason = "allow-list";
		return;
	}
	if (v != NULL && v->score >= c->dnsbl_threshold) {
		e->reason = "dnsbl";
		switch (c->action) {
		case ACTION_REJECT:
			refuse(e, SMFIS_REJECT, "reject", "dnsbl", "550", "5.7.1");
			return;
		case ACTION_TEMPFAIL:
			refuse(e, SMFIS_TEMPFAIL, "tempfail", "dnsbl", "451",
			       "4.7.1");
			return;
		case ACTION_TAG:
			e->kind = "tag";
			e->tag = true;
			e->settled = false;
			return;
		case ACTION_GREYLIST:
			if (greylistable)
				model_greylist(e, rcpt);
			return;
		default:
			e->kind = "log";
			return;
		}
	}
	if (v != NULL && c->dnsbl_allowlist_threshold < 0
	    && v->score <= c->dnsbl_allowlist_threshold) {
		e->kind = "allow";
		e->reason = "dnswl";
		return;
	}
	if (c->greylist_threshold > 0 && v != NULL
	    && v->score >= c->greylist_threshold && greylistable) {
		e->reason = "greylist";
		model_greylist(e, rcpt);
		return;
	}
	if (v != NULL && v->complete) {
		e->reason = "pass";
		return;
	}
	e->reason = "dns-failure";
	if (c->dns_failure_action == FAILURE_TEMPFAIL) {
		refuse(e, SMFIS_TEMPFAIL, "tempfail", "dns-failure", "451",
		       "4.7.1");
		snprintf(e->text, sizeof(e->text), "Service temporarily "
			 "unavailable; client [%s] could not be checked",
			 model.ip);
	}
}

/* Forget what the last callback did. */
static void
reset_calls(void)
{
	size_t	i;

	for (i = 0; i < fz.lines; i++)
		free(fz.line[i]);
	fz.lines = 0;
	fz.warnings = 0;
	fz.missing = 0;
	fz.replies = 0;
	fz.greylist_asked = 0;
	fz.reply_bad = false;
	fz.headers = 0;
	fz.header_bad = false;
}

/* Zones of a listed=, unknown= or zone_ms= value. */
static size_t
count_zones(const char *list)
{
	struct report_zone zone;
	size_t	n = 0;
	int	status;

	while ((status = report_zone_next(&list, &zone)) > 0)
		n++;
	CHECK(status == 0);
	return n;
}

/* Zones of the verdict in state. */
static size_t
zones_in(const struct verdict *verdict, enum verdict_state state)
{
	size_t	n = 0;
	size_t	i;

	for (i = 0; i < verdict->zone_count; i++)
		n += verdict->zone[i].state == state;
	return n;
}

/* The decision line parses back, as the session and the rule say. */
static void
check_line(const char *line, int stage, const char *rcpt,
	   const struct expect *e)
{
	static struct report_decision d;
	char	text[FUZZ_MSG_MAX + 16];
	const struct verdict *v = model.verdict;
	struct addr client;
	char	lists[32];
	size_t	len;
	size_t	asked;
	size_t	i;

	/* msg.c cuts longer messages; syslog may cut shorter ones. */
	if (strlen(line) >= FUZZ_MSG_MAX)
		return;
	len = (size_t) snprintf(text, sizeof(text), "rblmilter: %s", line);
	CHECK(report_parse(text, len, &d) == REPORT_DECISION);
	CHECK(addr_parse(model.ip, &client) == 0
	      && addr_equal(&d.client, &client));
	CHECK(strcmp(d.queue_id, model.queue_id) == 0);
	CHECK(d.daemon != NULL && strcmp(d.daemon, model.daemon) == 0);
	CHECK(d.front != NULL && strcmp(d.front, "milter") == 0);
	CHECK(d.helo != NULL && strcmp(d.helo, model.helo) == 0);
	CHECK(strcmp(d.stage, config_stage_name(stage)) == 0);
	CHECK(strcmp(d.action, e->kind) == 0);
	CHECK(strcmp(d.reason, e->reason) == 0);
	/* list=relay,allow,deny: the lists that name the client. */
	snprintf(lists, sizeof(lists), "%s%s%s",
		 model.lists & LIST_RELAY ? ",relay" : "",
		 model.lists & LIST_ALLOW ? ",allow" : "",
		 model.lists & LIST_DENY ? ",deny" : "");
	CHECK(model.lists == 0 ? d.list == NULL
	      : d.list != NULL && strcmp(d.list, lists + 1) == 0);
	CHECK(rcpt == NULL ? d.rcpt == NULL
	      : d.rcpt != NULL && strcmp(d.rcpt, rcpt) == 0);
	CHECK((d.cache != NULL) == (v != NULL));
	if (v == NULL)
		return;
	CHECK(strcmp(d.cache, vcache_level_name(model.lookup->level)) == 0);
	CHECK(d.score == v->score && d.ttl == v->ttl && d.dns_ms == v->dns_ms);
	CHECK(count_zones(d.listed) == zones_in(v, VERDICT_ZONE_LISTED));
	CHECK(count_zones(d.unknown) == zones_in(v, VERDICT_ZONE_UNKNOWN));
	for (i = 0, asked = 0; i < v->zone_count; i++)
		asked += v->zone[i].answer_us > 0;
	CHECK(asked > 0 ? d.zone_ms != NULL && count_zones(d.zone_ms) == asked
	      : d.zone_ms == NULL);
}

/* The reply: libmilter takes it, %s doubled, the rule's text. */
static void
check_reply(const struct expect *e)
{
	char	want[FUZZ_REPLY_MAX + 1];
	const char *cp;
	size_t	len = 0;

	CHECK(!fz.reply_bad);
	CHECK(fz.replies == (e->status == SMFIS_CONTINUE ? 0u : 1u));
	if (fz.replies == 0)
		return;
	CHECK(strcmp(fz.reply_code, e->code) == 0);
	CHECK(strcmp(fz.reply_dsn, e->dsn) == 0);
	CHECK(printable(fz.reply_text));
	for (cp = fz.reply_text; *cp; cp++)
		if (*cp == '%')
			CHECK(*++cp == '%');
	if (e->text[0] == 0)
		return;
	/* The text, every % doubled, as much as libmilter takes. */
	for (cp = e->text; *cp; cp++) {
		if (len + 1 + (*cp == '%') > FUZZ_REPLY_MAX)
			break;
		want[len++] = *cp;
		if (*cp == '%')
			want[len++] = '%';
	}
	want[len] = 0;
	CHECK(strcmp(fz.reply_text, want) == 0);
}

/*
 * The answer of a step whose no-reply flag is nr to a decision of status:
 * none when negotiated so, accept for a settled pass with no header due.
 */
static sfsistat
model_answer(sfsistat status, bool settled, unsigned long nr)
{
	if (model.steps & nr)
		return SMFIS_NOREPLY;
	return status == SMFIS_CONTINUE && settled && !model.tagged
	    ? SMFIS_ACCEPT : status;
}

/*
 * Check what a decision callback did against the model's e, at the step
 * whose no-reply flag is nr, with warnings other than the missing
 * {rcpt_mailer}.
 */
static void
check_decision(sfsistat status, int stage, unsigned long nr,
	       const char *rcpt, const struct expect *e, unsigned warnings)
{
	size_t	decision_lines = 0;
	size_t	i;
	bool	line;

	/* Decisions at a no-reply step are never refusals. */
	CHECK(!(model.steps & nr) || e->status == SMFIS_CONTINUE);
	CHECK(status == model_answer(e->status, e->settled && !e->tag, nr));
	check_reply(e);
	/* Refusals each time, a passing client once. */
	line = !e->silent && (!model.logged || e->status != SMFIS_CONTINUE
			      || e->greylisted);
	CHECK(fz.greylist_asked == (e->greylisted ? 1u : 0u));
	for (i = 0; i < fz.lines; i++) {
		CHECK(printable(fz.line[i]));
		if (strncmp(fz.line[i], "queue_id=", 9) == 0) {
			decision_lines++;
			check_line(fz.line[i], stage, rcpt, e);
		}
	}
	CHECK(decision_lines == (line ? 1u : 0u));
	CHECK(fz.missing == (e->missing ? 1u : 0u));
	CHECK(fz.warnings == warnings);
	CHECK(fz.lines == decision_lines + fz.missing + fz.warnings);
	if (line && e->status == SMFIS_CONTINUE)
		model.logged = true;
	if (e->tag)
		model.tagged = true;
}

/* Wait for the verdict where the filter does: at reject_stage. */
static void
model_wait(int stage)
{
	if (stage == fz.config->reject_stage && !model.authenticated
	    && !model.waited && model.lookup != NULL) {
		model.waited = true;
		model.verdict = model.lookup->verdict;
	}
}

/* Postfix's default macro lists (main.cf's milter_*_macros), by stage. */
static const char *const fuzz_default_macros[FUZZ_STAGES] = {
	[SMFIM_CONNECT] = "j {daemon_name} {daemon_addr} v _",
	[SMFIM_HELO] = "{tls_version} {cipher} {cipher_bits} {cert_subject} "
	"{cert_issuer}",
	[SMFIM_ENVFROM] = "i {auth_type} {auth_authen} {auth_author} "
	"{mail_addr} {mail_host} {mail_mailer}",
	[SMFIM_ENVRCPT] = "i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
	[SMFIM_DATA] = "i",
	[SMFIM_EOM] = "i",
	[SMFIM_EOH] = "i",
};

/*
 * The conversation milter/steps.c's header states, for the configuration
 * and the offer (f0: actions, f1: steps).
 */
static unsigned long
model_steps(unsigned long f0, unsigned long f1)
{
	const struct config *c = fz.config;
	unsigned long want = SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH
	    | SMFIP_NOUNKNOWN;

	if (c->reject_stage != STAGE_CONNECT)
		want |= SMFIP_NR_CONN;
	if (c->reject_stage != STAGE_HELO)
		want |= SMFIP_NR_HELO;
	if (c->reject_stage != STAGE_MAIL)
		want |= (f0 & SMFIF_SETSYMLIST) && (f1 & SMFIP_NOMAIL)
		    ? SMFIP_NOMAIL : SMFIP_NR_MAIL;
	if (c->relay_policy == RELAY_OFF && c->reject_stage != STAGE_RCPT)
		want |= SMFIP_NORCPT;
	return want & f1;
}

/*
 * A new connection negotiates: the session is made, the steps and
 * actions are those of the model, only what was offered, and DATA is
 * always answered.
 */
static void
model_negotiate(unsigned long f0, unsigned long f1)
{
	unsigned long p[4] = {~0ul, ~0ul, ~0ul, ~0ul};
	size_t	i;

	for (i = 0; i < FUZZ_STAGES; i++) {
		free(fz.symlist[i]);
		CHECK((fz.symlist[i] = strdup(fuzz_default_macros[i])) != NULL);
	}
	fz.symlist_set = false;
	fz.macro_stage = -1;
	CHECK(fz.desc.xxfi_negotiate(&fuzz_ctx, f0, f1, 0, 0, p, p + 1, p + 2,
				     p + 3) == SMFIS_CONTINUE);
	CHECK((p[0] & ~f0) == 0 && (p[1] & ~f1) == 0 && p[2] == 0
	      && p[3] == 0);
	CHECK(!(p[1] & (SMFIP_NODATA | SMFIP_NR_DATA | SMFIP_NR_RCPT)));
	CHECK(p[1] == model_steps(f0, f1));
	CHECK(!(p[0] & SMFIF_ADDHDRS) == (fz.config->action != ACTION_TAG
					  || !(f0 & SMFIF_ADDHDRS)));
	CHECK(fz.symlist_set == ((f0 & SMFIF_SETSYMLIST) != 0));
	CHECK(fuzz_ctx.priv != NULL && fz.generation_refs == 1
	      && fz.lines == 0);
	model.ctx = true;
	model.steps = p[1];
}

/* A callback that needs no session: libmilter's close. */
static void
do_close(void)
{
	if (!model.ctx)
		return;
	fz.macro_stage = -1;
	CHECK(fz.desc.xxfi_close(&fuzz_ctx) == SMFIS_CONTINUE);
	CHECK(fuzz_ctx.priv == NULL && fz.lookups == 0
	      && fz.generation_refs == 0 && fz.lines == 0);
	memset(&model, 0, sizeof(model));
}

/* The value of a hex digit, or -1. */
static int
hex(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ?
	    ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* Build the callback's sockaddr from a spec; false: none can be made. */
static bool
make_sockaddr(char *spec, unsigned char *raw, size_t *len, bool *null,
	      char **host)
{
	char   *arg = spec + strcspn(spec, " ");
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t	n;

	if (*arg == ' ')
		*arg++ = 0;
	*host = arg + strcspn(arg, " ");
	if (**host == ' ')
		*(*host)++ = 0;
	*null = false;
	if (strcmp(spec, "inet") == 0 && inet_pton(AF_INET, arg,
						   &sin.sin_addr) == 1) {
		memcpy(raw, &sin, *len = sizeof(sin));
	} else if (strcmp(spec, "inet6") == 0
		   && inet_pton(AF_INET6, arg, &sin6.sin6_addr) == 1) {
		memcpy(raw, &sin6, *len = sizeof(sin6));
	} else if (strcmp(spec, "unix") == 0) {
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", arg);
		memcpy(raw, &sun, *len = sizeof(sun));
	} else if (strcmp(spec, "null") == 0) {
		*null = true;
		*len = 0;
	} else if (strcmp(spec, "hex") == 0) {
		for (n = 0; n < sizeof(struct sockaddr_un) && hex(arg[2 * n]) >= 0
		     && hex(arg[2 * n + 1]) >= 0; n++)
			raw[n] = (unsigned char) (hex(arg[2 * n]) * 16
						  + hex(arg[2 * n + 1]));
		*len = n;
	} else {
		return false;
	}
	return true;
}

/* connect SPEC: a new session. */
static void
do_connect(char *spec)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
		struct sockaddr_un sun;
	}	sa;
	unsigned char raw[sizeof(sa)] = {0};
	struct expect e;
	sfsistat status;
	size_t	len;
	bool	null;
	bool	lookup;
	char   *host;

	if (!make_sockaddr(spec, raw, &len, &null, &host))
		return;
	do_close();
	model_negotiate(fz.offer_actions, fz.offer_protocol);
	check_sockaddr(raw, len);
	/* libmilter hands its whole union, whatever the family says. */
	memset(&sa, 0, sizeof(sa));
	memcpy(&sa, raw, len);
	model.open = !null && model_address(raw, sizeof(sa), &model.addr);
	model.lists = fz.lists;
	model_macro(macro("{daemon_name}"), model.daemon, sizeof(model.daemon));
	fz.macro_stage = SMFIM_CONNECT;
	status = fz.desc.xxfi_connect(&fuzz_ctx, host, null ? NULL : &sa.sa);
	if (!model.open) {
		/* Accepted unchecked, with one line that says so. */
		CHECK(status == model_answer(SMFIS_ACCEPT, false, SMFIP_NR_CONN));
		CHECK(fz.lines == 1 && printable(fz.line[0])
		      && strncmp(fz.line[0], "client without an IP", 20) == 0);
		CHECK(fuzz_ctx.priv != NULL && fz.lookups == 0);
		return;
	}
	CHECK(fuzz_ctx.priv != NULL && fz.generation_refs == 1);
	addr_format(&model.addr, model.ip);
	/* A lookup unless the lists decide; without one, a warning. */
	lookup = !(model.lists & (LIST_ALLOW | LIST_DENY));
	CHECK((model.lookup != NULL) == (lookup && !fz.no_lookup));
	model_wait(STAGE_CONNECT);
	model_decide(STAGE_CONNECT, NULL, NULL, &e);
	check_decision(status, STAGE_CONNECT, SMFIP_NR_CONN, NULL, &e,
		       lookup && fz.no_lookup ? 1 : 0);
}

/* helo, mail, rcpt: one decision callback. */
static void
do_step(const char *event, char *arg)
{
	char   *argv[2] = {arg, NULL};
	struct expect e = {.status = SMFIS_CONTINUE, .silent = true};
	const char *mailer = NULL;
	unsigned long nr = 0;
	sfsistat status;
	int	stage;

	if (!model.ctx)
		return;
	if (strcmp(event, "helo") == 0) {
		fz.macro_stage = SMFIM_HELO;
		stage = STAGE_HELO;
		nr = SMFIP_NR_HELO;
		status = fz.desc.xxfi_helo(&fuzz_ctx, arg);
		if (model.open)
			snprintf(model.helo, sizeof(model.helo), "%s",
				 arg ? arg : "");
	} else if (strcmp(event, "mail") == 0) {
		fz.macro_stage = SMFIM_ENVFROM;
		stage = STAGE_MAIL;
		nr = SMFIP_NR_MAIL;
		status = fz.desc.xxfi_envfrom(&fuzz_ctx, argv);
		model_macro(macro("i"), model.queue_id, sizeof(model.queue_id));
		model.authenticated = macro("{auth_authen}") != NULL
		    && *macro("{auth_authen}") != 0;
	} else {
		fz.macro_stage = SMFIM_ENVRCPT;
		stage = STAGE_RCPT;
		status = fz.desc.xxfi_envrcpt(&fuzz_ctx, argv);
		if (arg == NULL) {
			CHECK(status == SMFIS_CONTINUE && fz.lines == 0
			      && fz.replies == 0);
			return;
		}
		/* MAIL's facts come with each RCPT too. */
		model_macro(macro("i"), model.queue_id, sizeof(model.queue_id));
		model.authenticated = macro("{auth_authen}") != NULL
		    && *macro("{auth_authen}") != 0;
		mailer = macro("{rcpt_mailer}");
	}
	if (!model.open) {
		CHECK(status == model_answer(SMFIS_ACCEPT, false, nr)
		      && fz.lines == 0);
		return;
	}
	model_wait(stage);
	model_decide(stage, arg, mailer, &e);
	check_decision(status, stage, nr, stage == STAGE_RCPT ? arg : NULL, &e,
		       0);
}

/* data, eom, abort: no decision. */
static void
do_message(const char *event)
{
	sfsistat status;

	if (!model.ctx)
		return;
	fz.macro_stage = SMFIM_EOM;
	if (strcmp(event, "data") == 0) {
		/* The message is accepted unless a header is due at its end. */
		status = fz.desc.xxfi_data(&fuzz_ctx);
		CHECK(status == (model.open && model.tagged ? SMFIS_CONTINUE
				 : SMFIS_ACCEPT));
	} else if (strcmp(event, "eom") == 0) {
		status = fz.desc.xxfi_eom(&fuzz_ctx);
		CHECK(status == SMFIS_CONTINUE && !fz.header_bad
		      && fz.headers == (model.open && model.tagged ? 1u : 0u));
	} else {
		status = fz.desc.xxfi_abort(&fuzz_ctx);
		CHECK(status == SMFIS_CONTINUE);
		model.queue_id[0] = 0;
		model.authenticated = false;
	}
	CHECK(fz.lines == 0 && fz.replies == 0);
}

/* negotiate F0 F1 F2 F3: the MTA's offer from now on; a connection. */
static void
do_negotiate(const char *arg)
{
	unsigned long f[4] = {0};

	sscanf(arg, "%lx %lx %lx %lx", f, f + 1, f + 2, f + 3);
	fz.offer_actions = f[0];
	fz.offer_protocol = f[1];
	do_close();
	model_negotiate(f[0], f[1]);
	/* An MTA may close before connect. */
	do_close();
}

/* macro NAME [VALUE] */
static void
do_macro(char *arg)
{
	char   *value = arg + strcspn(arg, " ");
	size_t	i;

	if (*value == ' ')
		*value++ = 0;
	else
		value = NULL;
	for (i = 0; i < fz.macros && strcmp(fz.macro_name[i], arg) != 0; i++)
		;
	if (i == FUZZ_MAX_MACROS)
		return;
	if (i == fz.macros) {
		CHECK((fz.macro_name[i] = strdup(arg)) != NULL);
		fz.macros++;
	}
	free(fz.macro_value[i]);
	fz.macro_value[i] = NULL;
	if (value != NULL)
		CHECK((fz.macro_value[i] = strdup(value)) != NULL);
}

/* zone N pass | listed A.B.C.D;... [TXT] | unknown REASON */
static void
do_zone(const char *arg)
{
	struct zone_spec *zone;
	unsigned a[4];
	unsigned long n;
	char   *end;
	const char *cp;
	int	used;
	size_t	i;

	n = strtoul(arg, &end, 10);
	if (end == arg || *end != ' ' || n >= DNSBL_MAX_SITES)
		return;
	zone = fz.zone + n;
	cp = end + 1;
	free(zone->text);
	memset(zone, 0, sizeof(*zone));
	if (strncmp(cp, "listed", 6) == 0) {
		zone->state = SPEC_LISTED;
		for (cp += 6 + (cp[6] == ' '); zone->count < VERDICT_MAX_ANSWERS
		     && sscanf(cp, "%3u.%3u.%3u.%3u%n", a, a + 1, a + 2, a + 3,
			       &used) == 4; cp += used + (cp[used] == ';')) {
			/* The engine keeps valid 127/8 answers only. */
			zone->answer[zone->count][0] = 127;
			for (i = 1; i < 4; i++)
				zone->answer[zone->count][i] =
				    (unsigned char) a[i];
			zone->count++;
		}
		if (*cp == ' ')
			CHECK((zone->text = strdup(cp + 1)) != NULL);
	} else if (strncmp(cp, "unknown", 7) == 0) {
		zone->state = SPEC_UNKNOWN;
		/* The engine's reasons: a word, or a dotted quad. */
		cp += 7 + (cp[7] == ' ');
		for (i = 0; cp[i] && i + 1 < sizeof(zone->reason)
		     && strchr("abcdefghijklmnopqrstuvwxyz0123456789.-",
			       cp[i]) != NULL; i++)
			zone->reason[i] = cp[i];
		if (i == 0)
			snprintf(zone->reason, sizeof(zone->reason), "timeout");
	}
}

/* greylist OUTCOME [WAIT] */
static void
do_greylist(const char *arg)
{
	char	outcome[16] = "";
	int	i;

	fz.greylist_wait = 0;
	sscanf(arg, "%15s %u", outcome, &fz.greylist_wait);
	fz.greylist = GREYLIST_OFF;
	for (i = GREYLIST_NEW; i < GREYLIST_OUTCOMES; i++)
		if (strcmp(outcome, greylist_outcome_name(i)) == 0)
			fz.greylist = i;
}

/* verdict LEVEL [TTL [MS]] */
static void
do_verdict(const char *arg)
{
	char	level[16] = "";

	fz.ttl = 0;
	fz.dns_ms = 0;
	sscanf(arg, "%15s %u %u", level, &fz.ttl, &fz.dns_ms);
	fz.dns_ms %= 100000;
	fz.no_verdict = strcmp(level, "none") == 0;
	fz.no_lookup = strcmp(level, "nolookup") == 0;
	fz.level = strcmp(level, "memory") == 0 ? CACHE_MEMORY
	    : strcmp(level, "redis") == 0 ? CACHE_REDIS : CACHE_MISS;
}

/* One event line. */
static void
event(char *line)
{
	char   *arg = line + strcspn(line, " ");

	if (fuzz_trace)
		fprintf(stderr, "> %s\n", line);
	if (*arg == ' ')
		*arg++ = 0;
	else
		arg = NULL;
	if (strcmp(line, "macro") == 0 && arg != NULL)
		do_macro(arg);
	else if (strcmp(line, "lists") == 0)
		fz.lists = (arg && strstr(arg, "relay") ? LIST_RELAY : 0)
		    | (arg && strstr(arg, "allow") ? LIST_ALLOW : 0)
		    | (arg && strstr(arg, "deny") ? LIST_DENY : 0);
	else if (strcmp(line, "verdict") == 0 && arg != NULL)
		do_verdict(arg);
	else if (strcmp(line, "zone") == 0 && arg != NULL)
		do_zone(arg);
	else if (strcmp(line, "greylist") == 0 && arg != NULL)
		do_greylist(arg);
	else if (strcmp(line, "connect") == 0 && arg != NULL)
		do_connect(arg);
	else if (strcmp(line, "helo") == 0 || strcmp(line, "mail") == 0
		 || strcmp(line, "rcpt") == 0)
		do_step(line, arg);
	else if (strcmp(line, "data") == 0 || strcmp(line, "eom") == 0
		 || strcmp(line, "abort") == 0)
		do_message(line);
	else if (strcmp(line, "close") == 0)
		do_close();
	else if (strcmp(line, "negotiate") == 0 && arg != NULL)
		do_negotiate(arg);
	reset_calls();
}

/* Load the "set" lines as rblmilter.conf; NULL when it is refused. */
static struct config *
load_config(char **lines, size_t count)
{
	struct config *config = NULL;
	char	err[CONFIG_ERR_SIZE];
	bool	sites = false;
	size_t	i;

	if (ftruncate(fuzz_fd, 0) < 0 || lseek(fuzz_fd, 0, SEEK_SET) < 0)
		abort();
	for (i = 0; i < count; i++) {
		if (strncmp(lines[i], "set ", 4) != 0)
			continue;
		sites |= strncmp(lines[i] + 4, "dnsbl_sites", 11) == 0;
		if (dprintf(fuzz_fd, "%s\n", lines[i] + 4) < 0)
			abort();
	}
	if (!sites && dprintf(fuzz_fd, "%s", FUZZ_SITES) < 0)
		abort();
	if (config_load(fuzz_path, &config, err, sizeof(err)) < 0)
		return NULL;
	return config;
}

/* Forget the input's state. */
static void
reset_input(void)
{
	size_t	i;

	for (i = 0; i < fz.macros; i++) {
		free(fz.macro_name[i]);
		free(fz.macro_value[i]);
		fz.macro_name[i] = fz.macro_value[i] = NULL;
	}
	fz.macros = 0;
	for (i = 0; i < DNSBL_MAX_SITES; i++)
		free(fz.zone[i].text);
	memset(fz.zone, 0, sizeof(fz.zone));
	fz.lists = 0;
	fz.level = CACHE_MISS;
	fz.no_verdict = fz.no_lookup = false;
	fz.ttl = fz.dns_ms = 0;
	fz.greylist = GREYLIST_OFF;
	fz.greylist_wait = 0;
	fz.offer_actions = SMFI_CURR_ACTS;
	fz.offer_protocol = SMFI_CURR_PROT;
	fz.config = NULL;
	memset(&model, 0, sizeof(model));
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	if ((fuzz_fd = memfd_create("fuzz_milter", 0)) < 0)
		abort();
	snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
	fuzz_trace = getenv("FUZZ_MILTER_TRACE") != NULL;
	if (filter_register() < 0 || filter_run(&fz.worker) < 0)
		abort();
	reset_input();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char   *lines[FUZZ_MAX_EVENTS];
	struct config *config;
	size_t	count = 0;
	size_t	len;
	size_t	i;

	/* Lines without NUL bytes, each in memory of its own size. */
	while (size > 0 && count < FUZZ_MAX_EVENTS) {
		len = (const uint8_t *) memchr(data, '\n', size) != NULL ?
		    (size_t) ((const uint8_t *) memchr(data, '\n', size) - data)
		    : size;
		if (memchr(data, 0, len) == NULL) {
			CHECK((lines[count] = malloc(len + 1)) != NULL);
			memcpy(lines[count], data, len);
			lines[count++][len] = 0;
		}
		data += len + (len < size);
		size -= len + (len < size);
	}
	if ((config = load_config(lines, count)) != NULL) {
		fz.config = config;
		for (i = 0; i < count; i++)
			if (strncmp(lines[i], "set ", 4) != 0)
				event(lines[i]);
		do_close();
		config_free(config);
	}
	for (i = 0; i < count; i++)
		free(lines[i]);
	reset_input();
	return 0;
}
