/*
 * logline - the decision line: one key=value line per decision, written
 * here for the milter, the policy service and --check alike, so that the
 * same decision gives the same line whichever front end made it (front=
 * tells them apart).  --report parses it with the same key tables
 * (logline_keys[] and dnsbl/verdict.h's verdict_keys[]).
 *
 * It decides nothing (decision.c does), chooses no line to leave out
 * (decision_silent() does) and knows nothing of where --check prints.
 */
#ifndef RBL_DECIDE_LOGLINE_H
#define RBL_DECIDE_LOGLINE_H

#include "cache/vcache.h"

struct addr;
struct decision;
struct dnsbl_sites;
struct verdict;

/* Which front end made the decision. */
enum logline_front {
	LOGLINE_MILTER, LOGLINE_POLICY, LOGLINE_CHECK,
};

/* The fields before the verdict's, in the order a line has them. */
enum logline_field {
	LOGLINE_QUEUE_ID, LOGLINE_CLIENT, LOGLINE_DAEMON, LOGLINE_FRONT,
	LOGLINE_HELO, LOGLINE_STAGE, LOGLINE_ACTION, LOGLINE_REASON,
	LOGLINE_DECISIVE, LOGLINE_SHADOW_ACTION, LOGLINE_LIST, LOGLINE_RCPT,
	LOGLINE_GREYLIST, LOGLINE_GREYLIST_WAIT, LOGLINE_CACHE, LOGLINE_FIELDS
};

/* Their keys; the verdict's follow (verdict_keys[]). */
extern const char *const logline_keys[LOGLINE_FIELDS];

/* "milter", "policy" or "check". */
const char *logline_front_name(enum logline_front front);

/* What a decision line says. */
struct logline {
	enum logline_front front;
	const char *queue_id;		/* Postfix's, or "" before it has one */
	const struct addr *client;
	const char *daemon;		/* {daemon_name}, or "" */
	const char *helo;		/* or "" before HELO */
	int	stage;			/* enum config_stage */
	const struct decision *decision;
	unsigned lists;			/* LIST_* flags naming the client */
	const char *rcpt;		/* at RCPT, or NULL */
	const struct verdict *verdict;	/* NULL: none was waited for */
	enum cache_level level;		/* where the verdict came from */
	const struct dnsbl_sites *sites;	/* the verdict's zones */
};

struct kvline;

/* Append the line's fields to kv (what logline_write() logs). */
void	logline_format(const struct logline *line, struct kvline *kv);

/* Log the line (msg_info); nothing when out of memory. */
void	logline_write(const struct logline *line);

#endif
