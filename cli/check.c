/*
 * check - "rblmilter --check": what rblmilter would decide about IPs,
 * one decision line each (logline.c, front=check).
 *
 * An IP may be followed by the names the client would give: helo=NAME,
 * sender=ADDRESS, client_name=NAME, on the command line or on its line of
 * the input; they are looked up in the domain zones with the IP, as the
 * policy service does (gather.h).
 *
 * The same stack and the same decision as the daemon's at reject_stage:
 * lists, memory cache, Redis, DNS, the same counters.  Recipients are not
 * known here, so relaying and exempt recipients are not judged.  IPs are
 * looked up in batches of CHECK_BATCH at once, so a long list on standard
 * input costs about one deadline per batch, yet the output keeps the
 * input order.  Input that is not an IP gets an error line; the rest of
 * the list is still checked.
 */
#include <ctype.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lists/lists.h"
#include "decide/stack.h"
#include "conf/config.h"
#include "decide/decision.h"
#include "decide/gather.h"
#include "decide/logline.h"
#include "dnsbl/verdict.h"
#include "lib/addr.h"
#include "lib/kvline.h"
#include "lib/msg.h"
#include "cli/check.h"
#include "stats/metrics.h"

/* Lookups in flight at once. */
#define CHECK_BATCH	64

/* Longest input line taken as a candidate IP. */
#define CHECK_MAX_INPUT	256

/* Exit statuses, as documented in rblmilter(8). */
#define CHECK_PASS	0
#define CHECK_REJECT	1
#define CHECK_ERROR	2

/* The words that give a name, by enum domain_role. */
static const char *const check_keys[DOMAIN_ROLES] = {
	[DOMAIN_HELO] = "helo",
	[DOMAIN_SENDER] = "sender",
	[DOMAIN_CLIENT] = "client_name",
};

struct check_item {
	char	input[CHECK_MAX_INPUT];	/* as given */
	struct addr addr;
	char	ip[ADDR_TEXT_SIZE];	/* addr as text */
	char	given[DOMAIN_ROLES][CHECK_MAX_INPUT];	/* names given */
	bool	has[DOMAIN_ROLES];	/* ... in these roles */
	const char *error;		/* why it cannot be checked */
	unsigned lists;			/* LIST_* flags */
	bool	looked_up;		/* a lookup was made */
	struct verdict *verdict;	/* its result */
	enum cache_level level;		/* where the verdict came from */
	unsigned *pending;		/* the batch's count of open lookups */
};

/* Lookup callback: keep the verdict for printing in order. */
static void
check_done(struct verdict *verdict, enum cache_level level, void *arg)
{
	struct check_item *item = arg;

	item->verdict = verdict;
	item->level = level;
	if (verdict == NULL)
		item->error = "out of memory";
	(*item->pending)--;
}

/* Is word "name=value", one to attach to the IP before it? */
static bool
check_is_attached(const char *word)
{
	size_t	len = strspn(word, "abcdefghijklmnopqrstuvwxyz_");

	return len > 0 && word[len] == '=';
}

/* Fill item from one IP text. */
static void
check_item_set(struct check_item *item, const char *text)
{
	memset(item, 0, sizeof(*item));
	if (strlen(text) >= sizeof(item->input)) {
		snprintf(item->input, sizeof(item->input), "%.40s...", text);
		item->error = "input too long";
		return;
	}
	strcpy(item->input, text);
	if (check_is_attached(text))
		item->error = "a name= word without an IP before it";
	else if (addr_parse(text, &item->addr) < 0)
		item->error = "not an IP address";
	else
		addr_format(&item->addr, item->ip);
}

/* Attach a "helo=NAME", "sender=ADDRESS" or "client_name=NAME" word. */
static void
check_attach(struct check_item *item, const char *word)
{
	const char *equals = strchr(word, '=');
	size_t	role;

	for (role = 0; role < DOMAIN_ROLES; role++)
		if (strlen(check_keys[role]) == (size_t) (equals - word)
		    && strncmp(word, check_keys[role], (size_t) (equals - word))
		    == 0)
			break;
	if (item->error != NULL)
		return;
	if (role == DOMAIN_ROLES)
		item->error = "unknown word: write helo=, sender= or client_name=";
	else if (strlen(equals + 1) >= sizeof(item->given[role]))
		item->error = "input too long";
	else {
		strcpy(item->given[role], equals + 1);
		item->has[role] = true;
	}
}


/*
 * Fill item from one input line: an IP and the words after it; an error
 * quotes the whole line.
 */
static void
check_item_line(struct check_item *item, char *line)
{
	char	input[CHECK_MAX_INPUT];
	char   *save;
	char   *word;

	snprintf(input, sizeof(input), "%s", line);
	word = strtok_r(line, " \t", &save);
	check_item_set(item, word);
	while ((word = strtok_r(NULL, " \t", &save)) != NULL)
		if (check_is_attached(word))
			check_attach(item, word);
		else if (item->error == NULL)
			item->error = "one IP a line, then name= words";
	if (item->error != NULL)
		strcpy(item->input, input);
}

/* Next IP from argv or in; false at the end. */
static bool
check_next(char ***ips, int *count, FILE *in, struct check_item *item)
{
	char	line[CHECK_MAX_INPUT * 4];
	char   *start;
	char   *end;
	int	ch;

	if (in == NULL) {
		if (*count == 0)
			return false;
		check_item_set(item, **ips);
		(*ips)++;
		(*count)--;
		for (; *count > 0 && check_is_attached(**ips); (*ips)++, (*count)--)
			check_attach(item, **ips);
		return true;
	}
	while (fgets(line, sizeof(line), in) != NULL) {
		if (strchr(line, '\n') == NULL && !feof(in)) {
			while ((ch = getc(in)) != EOF && ch != '\n')
				;
			check_item_set(item, "");
			snprintf(item->input, sizeof(item->input), "%.40s...",
				 line);
			item->error = "input too long";
			return true;
		}
		for (start = line; isspace((unsigned char) *start); start++)
			;
		for (end = start + strlen(start);
		     end > start && isspace((unsigned char) end[-1]); end--)
			;
		*end = 0;
		if (*start == 0 || *start == '#')
			continue;
		check_item_line(item, start);
		return true;
	}
	return false;
}

/* Decide about an item as the milter would at reject_stage. */
static void
check_decide(const struct config *config, const struct check_item *item,
	     struct decision *decision)
{
	struct decision_facts facts = {0};

	facts.client = &item->addr;
	facts.lists = item->lists;
	facts.verdict = item->verdict;
	facts.stage = config->reject_stage;
	decide(config, &facts, decision);
}

/*
 * Print one result line and count it; returns its exit status.  A
 * decision is the decision line (logline.c) with front=check, as at
 * reject_stage; input that is not an IP gets "ip=... error=...".
 */
static int
check_print(const struct config *config, struct stack *stack,
	    const struct check_item *item, FILE *out)
{
	struct decision decision;
	struct kvline *line;
	const char *text;
	int	status = CHECK_ERROR;

	if ((line = kvline_create()) == NULL)
		return CHECK_ERROR;
	if (item->error != NULL) {
		kvline_key(line, "ip");
		kvline_quote(line, item->input);
		kvline_key(line, "error");
		kvline_quote(line, item->error);
	} else {
		check_decide(config, item, &decision);
		logline_format(&(struct logline) {
			.front = LOGLINE_CHECK,
			.queue_id = "",
			.client = &item->addr,
			.daemon = "",
			.helo = item->given[DOMAIN_HELO],
			.stage = config->reject_stage,
			.decision = &decision,
			.lists = item->lists,
			.verdict = item->looked_up ? item->verdict : NULL,
			.level = item->level,
			.sites = config->scored_sites,
		}, line);
		stack_count(stack, STATS_CONNECTIONS);
		stack_count_decision(stack, &decision, item->verdict);
		metrics_count_decision(METRICS_CHECK, decision_kind(&decision),
				       decision.reason);
		status = decision.action == DECISION_REJECT
		    || decision.action == DECISION_TEMPFAIL
		    || decision.action == DECISION_GREYLIST ?
		    CHECK_REJECT : CHECK_PASS;
	}
	if ((text = kvline_text(line)) == NULL)
		status = CHECK_ERROR;
	else
		fprintf(out, "%s\n", text);
	kvline_free(line);
	return status;
}

/* Start an item's lookup; its pending count goes down when it is done. */
static void
check_lookup(struct stack *stack, struct check_item *item)
{
	struct gather_client client = {.ip = item->ip};
	size_t	role;

	for (role = 0; role < DOMAIN_ROLES; role++)
		if (item->has[role])
			client.given[role] = item->given[role];
	(*item->pending)++;
	if (gather_lookup(stack, &client, check_done, item) < 0) {
		item->error = "out of memory";
		(*item->pending)--;
	}
}

/* Run the loop until the lookups are in and the zones probed once. */
static void
check_wait(struct event_base *base, struct stack *stack,
	   const unsigned *pending)
{
	while (*pending > 0 || !stack_probed(stack))
		if (event_base_loop(base, EVLOOP_ONCE) < 0)
			msg_panic("event loop failed with %u lookups open",
				  *pending);
}

/*
 * Match lists and look up a batch of items at once, while the zones are
 * probed the first time; wait for all.
 */
static void
check_batch(struct event_base *base, struct stack *stack,
	    struct check_item *items, size_t count)
{
	unsigned pending = 0;
	size_t	i;

	for (i = 0; i < count; i++) {
		if (items[i].error != NULL)
			continue;
		items[i].lists = stack_lists(stack, &items[i].addr);
		stack_count_lists(stack, items[i].lists);
		/* allow and deny decide without DNS. */
		if (items[i].lists & (LIST_ALLOW | LIST_DENY))
			continue;
		items[i].pending = &pending;
		items[i].looked_up = true;
		check_lookup(stack, items + i);
	}
	check_wait(base, stack, &pending);
	/* A zone the first probe took out of scoring has no say. */
	for (i = 0; i < count; i++) {
		if (!items[i].looked_up || items[i].verdict == NULL
		    || stack_admits(stack, items[i].verdict))
			continue;
		verdict_free(items[i].verdict);
		items[i].verdict = NULL;
		check_lookup(stack, items + i);
	}
	check_wait(base, stack, &pending);
}

int
check_run(const struct config *config, char **ips, int count, FILE *in,
	  FILE *out)
{
	struct check_item *items;
	struct stack *stack = NULL;
	struct event_base *base;
	FILE   *source = count > 0 ? NULL : in;
	char	err[256];
	size_t	batch;
	size_t	i;
	int	status = CHECK_PASS;
	int	item_status;

	base = event_base_new();
	items = calloc(CHECK_BATCH, sizeof(*items));
	if (base == NULL || items == NULL) {
		msg_error("--check: out of memory");
		status = CHECK_ERROR;
	} else if ((stack = stack_create(base, config, err,
					     sizeof(err))) == NULL) {
		msg_error("--check: %s", err);
		status = CHECK_ERROR;
	} else {
		/* The first probe runs beside the first lookups. */
		stack_start(stack, false);
	}
	while (stack != NULL) {
		for (batch = 0; batch < CHECK_BATCH
		     && check_next(&ips, &count, source, items + batch); batch++)
			;
		if (batch == 0)
			break;
		check_batch(base, stack, items, batch);
		for (i = 0; i < batch; i++) {
			item_status = check_print(config, stack, items + i, out);
			if (item_status > status)
				status = item_status;
			verdict_free(items[i].verdict);
		}
		fflush(out);
	}
	if (stack != NULL) {
		stack_drain(stack);
		stack_free(stack);
	}
	free(items);
	if (base != NULL)
		event_base_free(base);
	return status;
}
