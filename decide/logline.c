/*
 * logline - the decision line, written once for every front end.
 *
 * Values that come from the SMTP client or Postfix are quoted: helo and
 * rcpt always, queue_id and daemon when they are not one plain word
 * (kvline_value()), so that no client can forge a field; the others are
 * words or numbers of ours.
 */
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"
#include "decide/decision.h"
#include "decide/logline.h"
#include "dnsbl/site.h"
#include "dnsbl/verdict.h"
#include "greylist/greylist.h"
#include "lib/addr.h"
#include "lib/kvline.h"
#include "lib/msg.h"
#include "lists/lists.h"

const char *const logline_keys[LOGLINE_FIELDS] = {
	[LOGLINE_QUEUE_ID] = "queue_id",
	[LOGLINE_CLIENT] = "client",
	[LOGLINE_DAEMON] = "daemon",
	[LOGLINE_FRONT] = "front",
	[LOGLINE_HELO] = "helo",
	[LOGLINE_STAGE] = "stage",
	[LOGLINE_ACTION] = "action",
	[LOGLINE_REASON] = "reason",
	[LOGLINE_DECISIVE] = "decisive",
	[LOGLINE_SHADOW_ACTION] = "shadow_action",
	[LOGLINE_LIST] = "list",
	[LOGLINE_RCPT] = "rcpt",
	[LOGLINE_GREYLIST] = "greylist",
	[LOGLINE_GREYLIST_WAIT] = "greylist_wait",
	[LOGLINE_CACHE] = "cache",
};

const char *
logline_front_name(enum logline_front front)
{
	static const char *const names[] = {
		[LOGLINE_MILTER] = "milter",
		[LOGLINE_POLICY] = "policy",
		[LOGLINE_CHECK] = "check",
	};

	return names[front];
}

/* "list=relay,allow": the lists that name the client, when any does. */
static void
logline_lists(struct kvline *line, unsigned lists)
{
	const char *sep = "";
	size_t	kind;

	if (lists == 0)
		return;
	kvline_key(line, logline_keys[LOGLINE_LIST]);
	for (kind = 0; kind < LIST_KINDS; kind++) {
		if (lists & (1u << kind)) {
			kvline_printf(line, "%s%s", sep, lists_kind_name(kind));
			sep = ",";
		}
	}
}

/* "decisive=zone,zone": the zones a rejection needed, when any. */
static void
logline_decisive(struct kvline *line, uint64_t decisive,
		 const struct dnsbl_sites *sites)
{
	const char *sep = "";
	size_t	i;

	if (decisive == 0)
		return;
	kvline_key(line, logline_keys[LOGLINE_DECISIVE]);
	for (i = 0; i < 64 && i < dnsbl_sites_zone_count(sites); i++) {
		if (decisive & (UINT64_C(1) << i)) {
			kvline_printf(line, "%s%s", sep,
				      dnsbl_sites_zone(sites, i));
			sep = ",";
		}
	}
}

void
logline_format(const struct logline *l, struct kvline *line)
{
	char	ip[ADDR_TEXT_SIZE];

	kvline_key(line, logline_keys[LOGLINE_QUEUE_ID]);
	kvline_value(line, l->queue_id);
	kvline_key(line, logline_keys[LOGLINE_CLIENT]);
	kvline_printf(line, "%s", addr_format(l->client, ip));
	kvline_key(line, logline_keys[LOGLINE_DAEMON]);
	kvline_value(line, l->daemon);
	kvline_key(line, logline_keys[LOGLINE_FRONT]);
	kvline_printf(line, "%s", logline_front_name(l->front));
	kvline_key(line, logline_keys[LOGLINE_HELO]);
	kvline_quote(line, l->helo);
	kvline_key(line, logline_keys[LOGLINE_STAGE]);
	kvline_printf(line, "%s", config_stage_name(l->stage));
	kvline_key(line, logline_keys[LOGLINE_ACTION]);
	kvline_printf(line, "%s",
		      decision_kind_name(decision_kind(l->decision)));
	kvline_key(line, logline_keys[LOGLINE_REASON]);
	kvline_printf(line, "%s", decision_reason_name(l->decision->reason));
	logline_decisive(line, l->decision->decisive, l->sites);
	if (l->decision->has_shadow) {
		kvline_key(line, logline_keys[LOGLINE_SHADOW_ACTION]);
		kvline_printf(line, "%s",
			      decision_kind_name(l->decision->shadow_kind));
	}
	logline_lists(line, l->lists);
	if (l->rcpt != NULL) {
		kvline_key(line, logline_keys[LOGLINE_RCPT]);
		kvline_quote(line, l->rcpt);
	}
	if (l->decision->greylist != GREYLIST_NONE) {
		kvline_key(line, logline_keys[LOGLINE_GREYLIST]);
		kvline_printf(line, "%s",
			      greylist_outcome_name(l->decision->greylist));
	}
	if (l->decision->greylist_wait > 0) {
		kvline_key(line, logline_keys[LOGLINE_GREYLIST_WAIT]);
		kvline_printf(line, "%u", l->decision->greylist_wait);
	}
	if (l->verdict != NULL) {
		kvline_key(line, logline_keys[LOGLINE_CACHE]);
		kvline_printf(line, "%s", vcache_level_name(l->level));
		verdict_format(l->verdict, l->sites, line);
	}
}

void
logline_write(const struct logline *l)
{
	struct kvline *line;

	if ((line = kvline_create()) == NULL)
		return;
	logline_format(l, line);
	if (kvline_text(line) != NULL)
		msg_info("%s", kvline_text(line));
	kvline_free(line);
}
