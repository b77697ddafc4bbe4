/*
 * exposition - this process's metrics as Prometheus' text format 0.0.4.
 *
 * Every name and help text is here, in the order of rblmilter(8)'s
 * METRICS.  Label values are escaped as the format says (backslash,
 * double quote, newline); zones are labelled with the name they are
 * shown with (dnsbl_reply_map's, never the query name), and no label
 * holds a client's address or name.  Decisions appear once counted;
 * every other series is there from the start.
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "conf/config.h"
#include "decide/decision.h"
#include "decide/stack.h"
#include "dnsbl/health.h"
#include "dnsbl/site.h"
#include "dnsbl/verdict.h"
#include "lists/lists.h"
#include "metrics/exposition.h"
#include "stats/metrics.h"

_Static_assert(DECISION_KINDS <= METRICS_KINDS, "room for the kinds");
_Static_assert(DECISION_REASONS <= METRICS_REASONS, "room for the reasons");

/* The front ends, by enum metrics_front. */
static const char *const exposition_fronts[METRICS_FRONTS] = {
	"milter", "policy", "check",
};

/* The states a zone's health may be in. */
static const enum health_state exposition_states[] = {
	HEALTH_UNKNOWN, HEALTH_OK, HEALTH_NO_TEST_POINT, HEALTH_LISTING_WORLD,
	HEALTH_REFUSING,
};

/* A family's # HELP and # TYPE lines. */
static void
exposition_family(struct evbuffer *out, const char *name, const char *type,
		  const char *help)
{
	evbuffer_add_printf(out, "# HELP rblmilter_%s %s\n"
			    "# TYPE rblmilter_%s %s\n", name, help, name, type);
}

/* A label value, escaped. */
static void
exposition_value(struct evbuffer *out, const char *text)
{
	size_t	len;

	for (; *text; text += len) {
		if ((len = strcspn(text, "\\\"\n")) == 0) {
			evbuffer_add_printf(out, "\\%c",
					    *text == '\n' ? 'n' : *text);
			len = 1;
		} else {
			evbuffer_add(out, text, len);
		}
	}
}

/*
 * A sample's name and labels: rblmilter_NAME, then the NULL-ended pairs
 * of label names and values, if any, in braces.
 */
static void
exposition_series(struct evbuffer *out, const char *name,
		  const char *const *labels)
{
	const char *sep = "{";

	evbuffer_add_printf(out, "rblmilter_%s", name);
	for (; labels != NULL && labels[0] != NULL; labels += 2) {
		evbuffer_add_printf(out, "%s%s=\"", sep, labels[0]);
		exposition_value(out, labels[1]);
		evbuffer_add(out, "\"", 1);
		sep = ",";
	}
	if (*sep == ',')
		evbuffer_add(out, "}", 1);
}

/* A sample with an integer value. */
static void
exposition_sample(struct evbuffer *out, const char *name,
		  const char *const *labels, long value)
{
	exposition_series(out, name, labels);
	evbuffer_add_printf(out, " %ld\n", value);
}

/* A histogram's samples, with one label (key=value) beside le. */
static void
exposition_histogram(struct evbuffer *out, const char *name, const char *key,
		     const char *value, const struct metrics_histogram *histogram)
{
	char	series[128];
	char	le[32];
	const char *labels[] = {key, value, NULL, NULL, NULL};
	const char **le_label = labels + 2;
	unsigned long count = 0;
	size_t	i;

	snprintf(series, sizeof(series), "%s_bucket", name);
	le_label[0] = "le";
	le_label[1] = le;
	for (i = 0; i <= METRICS_BUCKETS; i++) {
		count += histogram->bucket[i];
		if (i < METRICS_BUCKETS)
			snprintf(le, sizeof(le), "%g", metrics_bounds_us[i] / 1e6);
		else
			snprintf(le, sizeof(le), "+Inf");
		exposition_sample(out, series, labels, (long) count);
	}
	le_label[0] = NULL;
	snprintf(series, sizeof(series), "%s_sum", name);
	exposition_series(out, series, labels);
	evbuffer_add_printf(out, " %.6f\n", histogram->sum_us / 1e6);
	snprintf(series, sizeof(series), "%s_count", name);
	exposition_sample(out, series, labels, (long) count);
}

/* Decisions, by front end, action and reason: those counted. */
static void
exposition_decisions(struct evbuffer *out)
{
	const char *labels[] = {"front", NULL, "action", NULL, "reason", NULL,
	NULL};
	unsigned long count;
	unsigned front;
	unsigned kind;
	unsigned reason;

	exposition_family(out, "decisions_total", "counter",
			  "Decisions logged since the start, by front end, "
			  "action and reason, as the decision line says them.");
	for (front = 0; front < METRICS_FRONTS; front++)
	for (kind = 0; kind < DECISION_KINDS; kind++)
	for (reason = 0; reason < DECISION_REASONS; reason++) {
		if ((count = metrics_decisions(front, kind, reason)) == 0)
			continue;
		labels[1] = exposition_fronts[front];
		labels[3] = decision_kind_name(kind);
		labels[5] = decision_reason_name(reason);
		exposition_sample(out, "decisions_total", labels, (long) count);
	}
}

/* Verdict lookups, by the kind of subject and the level that had it. */
static void
exposition_cache(struct evbuffer *out)
{
	static const struct {
		const char *kind;
		const char *level;
		enum stats_counter counter;
	} rows[] = {
		{"ip", "memory", STATS_CACHE_MEMORY},
		{"ip", "redis", STATS_CACHE_REDIS},
		{"ip", "miss", STATS_CACHE_MISS},
		{"name", "memory", STATS_NAME_MEMORY},
		{"name", "redis", STATS_NAME_REDIS},
		{"name", "miss", STATS_NAME_MISS},
	};
	size_t	i;

	exposition_family(out, "cache_lookups_total", "counter",
			  "Verdicts found in memory, in Redis, or looked up in "
			  "DNS (miss), of client IPs (ip) and of names (name).");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		exposition_sample(out, "cache_lookups_total", (const char *[]) {
				  "kind", rows[i].kind, "level", rows[i].level,
				  NULL}, (long) metrics_stat(rows[i].counter));
}

/* Greylisting's answers, by outcome (greylist/greylist.h). */
static void
exposition_greylist(struct evbuffer *out)
{
	static const struct {
		const char *outcome;
		enum stats_counter counter;
	} rows[] = {
		{"new", STATS_GREYLIST_NEW},
		{"early", STATS_GREYLIST_EARLY},
		{"passed", STATS_GREYLIST_PASSED},
		{"off", STATS_GREYLIST_OFF},
	};
	size_t	i;

	exposition_family(out, "greylist_checks_total", "counter",
			  "Recipients of grey clients by greylisting's answer: "
			  "new and early were deferred, passed and off "
			  "(no state to ask) accepted.");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		exposition_sample(out, "greylist_checks_total", (const char *[]) {
				  "outcome", rows[i].outcome, NULL},
				  (long) metrics_stat(rows[i].counter));
}

/*
 * Each zone counted since the start: DNS answer times, timeouts, and
 * what it was worth (listings, rejections it was needed for, and a
 * shadow zone's would-be rejections).
 */
static void
exposition_zones(struct evbuffer *out)
{
	static const struct {
		const char *name;
		enum stats_zone_counter counter;
		const char *help;
	} counts[] = {
		{"zone_timeouts_total", STATS_ZONE_TIMEOUT,
		 "DNS lookups in which the zone had not answered by "
		 "dnsbl_timeout."},
		{"zone_listings_total", STATS_ZONE_LISTED,
		 "Decisions whose client the zone (a scored one) listed."},
		{"zone_decisive_total", STATS_ZONE_DECISIVE,
		 "Rejections that needed the zone: without its weight the "
		 "score would have stayed under dnsbl_threshold."},
		{"zone_shadow_rejections_total", STATS_ZONE_SHADOW_REJECT,
		 "Rejections a shadow zone would have made had the shadow "
		 "zones been scored, that were not made."},
	};
	struct metrics_histogram histogram;
	size_t	zones = metrics_zone_count();
	size_t	i;
	size_t	j;

	exposition_family(out, "zone_lookup_seconds", "histogram",
			  "Time from the start of a DNS lookup to the zone's "
			  "answer, or to the deadline when it timed out; one "
			  "per lookup that asked the zone.");
	for (i = 0; i < zones; i++) {
		metrics_zone_answers(i, &histogram);
		exposition_histogram(out, "zone_lookup_seconds", "zone",
				     metrics_zone_name(i), &histogram);
	}
	exposition_family(out, "zone_queries_total", "counter",
			  "DNS queries of the zone by how they ended: listed, "
			  "clean, timeout, servfail, refused, error-code (only "
			  "answers that are no listing), bad-reply, error.");
	for (i = 0; i < zones; i++)
		for (j = 0; j < VERDICT_RESULTS; j++)
			exposition_sample(out, "zone_queries_total",
					  (const char *[]) {
					  "zone", metrics_zone_name(i),
					  "result", verdict_result_name(j),
					  NULL},
					  (long) metrics_zone_results(i, j));
	for (j = 0; j < sizeof(counts) / sizeof(counts[0]); j++) {
		exposition_family(out, counts[j].name, "counter",
				  counts[j].help);
		for (i = 0; i < zones; i++)
			exposition_sample(out, counts[j].name,
					  (const char *[]) {
					  "zone", metrics_zone_name(i), NULL},
					  (long) metrics_zone_events(i,
							counts[j].counter));
	}
}

/* The health of each zone in force: 1 for its state, 0 for the others. */
static void
exposition_health(struct evbuffer *out, const struct config *config,
		  const struct stack *stack)
{
	const struct dnsbl_sites *sites = config->scored_sites;
	enum health_state state;
	size_t	i;
	size_t	j;

	exposition_family(out, "zone_health", "gauge",
			  "1 for the state of the zone's health probe, 0 for "
			  "the others: unknown (not probed yet, or never), ok, "
			  "no-test-point (scored, warned), listing-world and "
			  "refusing (not scored).");
	for (i = 0; i < dnsbl_sites_zone_count(sites); i++) {
		state = stack_zone_health(stack, i);
		for (j = 0; j < sizeof(exposition_states)
		     / sizeof(exposition_states[0]); j++)
			exposition_sample(out, "zone_health", (const char *[]) {
					  "zone", dnsbl_sites_zone(sites, i),
					  "state",
					  health_state_name(exposition_states[j]),
					  NULL}, exposition_states[j] == state);
	}
}

/* What is in force and open now, and the reloads. */
static void
exposition_state(struct evbuffer *out, const struct stack *stack)
{
	size_t	entries[LIST_KINDS];
	size_t	kind;
	int	redis = stack_redis_up(stack);

	exposition_family(out, "redis_up", "gauge",
			  "1 while the connection to Redis is up (PING "
			  "answered), else 0; absent without Redis.");
	if (redis >= 0)
		exposition_sample(out, "redis_up", NULL, redis);
	exposition_family(out, "redis_command_errors_total", "counter",
			  "Redis commands that failed since the start, "
			  "through reloads: refused while Redis was down, no "
			  "reply within redis_timeout, or an error reply; "
			  "absent without Redis.");
	if (redis >= 0)
		exposition_sample(out, "redis_command_errors_total", NULL,
				  (long) metrics_redis_errors());
	exposition_family(out, "list_entries", "gauge",
			  "Distinct prefixes of the client list in force, "
			  "from its file and Redis.");
	stack_list_entries(stack, entries);
	for (kind = 0; kind < LIST_KINDS; kind++)
		exposition_sample(out, "list_entries", (const char *[]) {
				  "list", lists_kind_name(kind), NULL},
				  (long) entries[kind]);
	exposition_family(out, "milter_sessions_open", "gauge",
			  "Milter sessions open now.");
	exposition_sample(out, "milter_sessions_open", NULL,
			  metrics_gauge(METRICS_SESSIONS));
	exposition_family(out, "policy_connections_open", "gauge",
			  "Policy service connections open now.");
	exposition_sample(out, "policy_connections_open", NULL,
			  metrics_gauge(METRICS_POLICY_CONNECTIONS));
	exposition_family(out, "reloads_total", "counter",
			  "SIGHUP reloads put in force (ok) or refused (failed).");
	exposition_sample(out, "reloads_total", (const char *[]) {"result",
			  "ok", NULL}, (long) metrics_reloads(true));
	exposition_sample(out, "reloads_total", (const char *[]) {"result",
			  "failed", NULL}, (long) metrics_reloads(false));
}

void
exposition_write(struct evbuffer *out, const struct config *config,
		 const struct stack *stack)
{
	struct metrics_histogram waits;

	exposition_family(out, "build_info", "gauge",
			  "Always 1; the version is in the label.");
	exposition_sample(out, "build_info", (const char *[]) {"version",
			  PACKAGE_VERSION, NULL}, 1);
	exposition_decisions(out);
	exposition_family(out, "connections_total", "counter",
			  "Clients judged: milter sessions with a client IP, "
			  "policy requests looked up.");
	exposition_sample(out, "connections_total", NULL,
			  (long) metrics_stat(STATS_CONNECTIONS));
	exposition_cache(out);
	exposition_greylist(out);
	exposition_zones(out);
	exposition_health(out, config, stack);
	exposition_state(out, stack);
	exposition_family(out, "session_wait_seconds", "histogram",
			  "Time a milter session (at reject_stage) or a policy "
			  "request waited for its verdict, by front end.");
	metrics_session_waits(METRICS_MILTER, &waits);
	exposition_histogram(out, "session_wait_seconds", "front", "milter",
			     &waits);
	metrics_session_waits(METRICS_POLICY, &waits);
	exposition_histogram(out, "session_wait_seconds", "front", "policy",
			     &waits);
}
