/*
 * check - "rblmilter --check": the engine's verdict on IPs, one line each.
 *
 * IPs are looked up in batches of CHECK_BATCH at once, so a long list on
 * standard input costs about one deadline per batch, yet the output keeps
 * the input order.  Input that is not an IP gets an error line; the rest
 * of the list is still checked.
 */
#include <ctype.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "dnsbl/engine.h"
#include "dnsbl/site.h"
#include "dnsbl/verdict.h"
#include "lib/addr.h"
#include "lib/kvline.h"
#include "lib/msg.h"
#include "milter/check.h"

/* Lookups in flight at once. */
#define CHECK_BATCH	64

/* Longest input line taken as a candidate IP. */
#define CHECK_MAX_INPUT	256

/* Exit statuses, as documented in rblmilter(8). */
#define CHECK_PASS	0
#define CHECK_REJECT	1
#define CHECK_ERROR	2

struct check_item {
	char	input[CHECK_MAX_INPUT];	/* as given */
	struct addr addr;
	const char *error;		/* why it cannot be checked */
	struct verdict *verdict;	/* set when its lookup is done */
	unsigned *pending;		/* the batch's count of open lookups */
};

/* Engine callback: keep the verdict for printing in order. */
static void
check_done(struct verdict *verdict, void *arg)
{
	struct check_item *item = arg;

	item->verdict = verdict;
	(*item->pending)--;
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
	if (addr_parse(text, &item->addr) < 0)
		item->error = "not an IP address";
}

/* Next IP from argv or in; false at the end. */
static bool
check_next(char ***ips, int *count, FILE *in, struct check_item *item)
{
	char	line[CHECK_MAX_INPUT * 2];
	char   *start;
	char   *end;
	int	ch;

	if (in == NULL) {
		if (*count == 0)
			return false;
		check_item_set(item, **ips);
		(*ips)++;
		(*count)--;
		return true;
	}
	while (fgets(line, sizeof(line), in) != NULL) {
		if (strchr(line, '\n') == NULL && !feof(in)) {
			while ((ch = getc(in)) != EOF && ch != '\n')
				;
			check_item_set(item, line);
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
		check_item_set(item, start);
		return true;
	}
	return false;
}

/* Print one result line; returns its exit status. */
static int
check_print(const struct config *config, const struct check_item *item,
	    FILE *out)
{
	struct kvline *line;
	enum verdict_rank rank = VERDICT_PASS;
	char	ip[ADDR_TEXT_SIZE];
	const char *text;
	int	status = CHECK_PASS;

	if ((line = kvline_create()) == NULL)
		return CHECK_ERROR;
	kvline_key(line, "ip");
	if (item->error != NULL) {
		kvline_quote(line, item->input);
		kvline_key(line, "error");
		kvline_quote(line, item->error);
		status = CHECK_ERROR;
	} else {
		kvline_printf(line, "%s", addr_format(&item->addr, ip));
		rank = verdict_rank(item->verdict, config->dnsbl_threshold,
				    config->dnsbl_allowlist_threshold);
		kvline_key(line, "action");
		kvline_printf(line, "%s", verdict_rank_name(rank));
		verdict_format(item->verdict, config->dnsbl_sites, line);
		if (rank == VERDICT_REJECT)
			status = CHECK_REJECT;
	}
	if ((text = kvline_text(line)) == NULL)
		status = CHECK_ERROR;
	else
		fprintf(out, "%s\n", text);
	kvline_free(line);
	return status;
}

/* Look up a batch of items at once and wait for all of them. */
static void
check_batch(struct event_base *base, struct dnsbl_engine *engine,
	    struct check_item *items, size_t count)
{
	unsigned pending = 0;
	size_t	i;

	for (i = 0; i < count; i++) {
		if (items[i].error != NULL)
			continue;
		items[i].pending = &pending;
		if (dnsbl_submit(engine, &items[i].addr, check_done,
				 items + i) < 0) {
			items[i].error = "out of memory";
			continue;
		}
		pending++;
	}
	while (pending > 0)
		if (event_base_loop(base, EVLOOP_ONCE) < 0)
			msg_panic("event loop failed with %u lookups open",
				  pending);
}

int
check_run(const struct config *config, char **ips, int count, FILE *in,
	  FILE *out)
{
	struct dnsbl_options options = {
		.sites = config->dnsbl_sites,
		.dns_servers = config->dns_servers,
		.timeout_ms = config->dnsbl_timeout,
		.min_ttl = config->dnsbl_min_ttl,
		.max_ttl = config->dnsbl_max_ttl,
		.reply_text = config->dnsbl_reply_text,
	};
	struct check_item *items;
	struct dnsbl_engine *engine = NULL;
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
	} else if ((engine = dnsbl_engine_create(base, &options, err,
						 sizeof(err))) == NULL) {
		msg_error("--check: %s", err);
		status = CHECK_ERROR;
	}
	while (engine != NULL) {
		for (batch = 0; batch < CHECK_BATCH
		     && check_next(&ips, &count, source,
				   items + batch); batch++)
			;
		if (batch == 0)
			break;
		check_batch(base, engine, items, batch);
		for (i = 0; i < batch; i++) {
			item_status = check_print(config, items + i, out);
			if (item_status > status)
				status = item_status;
			verdict_free(items[i].verdict);
		}
		fflush(out);
	}
	if (engine != NULL)
		dnsbl_engine_free(engine);
	free(items);
	if (base != NULL)
		event_base_free(base);
	return status;
}
