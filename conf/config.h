/*
 * config - rblmilter.conf: flat "name = value" lines, like Postfix main.cf.
 *
 * Loading checks every value and refuses the whole file on the first
 * mistake, naming FILE:LINE.  A loaded config is read-only; a reload builds
 * a new one.  This module reads no command line and starts nothing.
 */
#ifndef RBL_CONF_CONFIG_H
#define RBL_CONF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/addr.h"

struct config_text;
struct dnsbl_sites;

/* Room for a configuration error message. */
#define CONFIG_ERR_SIZE	512

/* A server or a listening socket, as its one parameter fills it. */
struct config_endpoint {
	char   *text;			/* as the parameter says; first, so
					 * that a string parser fills it */
	struct addr addr;		/* when port is set */
	unsigned port;			/* 0: a unix socket path, or none */
};

/* The list files, in the order of lists.h's LIST_* kinds. */
enum config_list {
	CONFIG_LIST_RELAY, CONFIG_LIST_ALLOW, CONFIG_LIST_DENY, CONFIG_LISTS
};

struct config {
	char   *dns_servers;		/* c-ares CSV, "" for resolv.conf */
	struct dnsbl_sites *dnsbl_sites;	/* the IP zones, the shadow
						 * ones last */
	struct dnsbl_sites *rhsbl_sites;	/* the domain zones, maybe none,
						 * the shadow ones last */
	struct dnsbl_sites *dnsbl_shadow_sites;	/* as written: in dnsbl_sites
						 * once loaded */
	struct dnsbl_sites *rhsbl_shadow_sites;	/* ... in rhsbl_sites */
	unsigned rhsbl_names;		/* 1 << enum domain_role: the names
					 * looked up in rhsbl_sites */
	struct dnsbl_sites *scored_sites;	/* both joined: the zones of a
						 * decision's verdict */
	int	dnsbl_threshold;	/* reject at score >= this */
	int	dnsbl_allowlist_threshold;	/* allow at <= this if < 0 */
	unsigned dnsbl_timeout;		/* milliseconds */
	unsigned dnsbl_min_ttl;		/* seconds */
	unsigned dnsbl_max_ttl;		/* seconds */
	bool	dnsbl_reply_text;	/* fetch TXT of listing zones */
	unsigned dnsbl_incomplete_ttl;	/* seconds */
	unsigned dnsbl_health_interval;	/* seconds; 0: zones not probed */
	int	cache_size;		/* memory cache entries */
	struct config_endpoint redis_server;	/* text: IP, unix socket
						 * path, or "" */
	char   *redis_sentinels;	/* "ip:port,[ipv6]:port", or "" */
	char   *redis_master_name;	/* with redis_sentinels */
	char   *redis_username;
	char   *redis_password;
	int	redis_db;
	char   *redis_prefix;		/* of every key, "rblmilter:" */
	unsigned redis_timeout;		/* milliseconds */
	unsigned redis_list_resync;	/* seconds between full reads */
	char   *list_files[CONFIG_LISTS];	/* relay_hosts, allow_hosts,
						 * deny_hosts */
	char   *milter_socket;		/* libmilter's socket spec */
	struct config_endpoint policy_socket;	/* text: inet:IP:PORT,
						 * unix:/path, or "" */
	struct config_endpoint metrics_socket;	/* text: inet:IP:PORT or
						 * "" */
	int	reject_stage;		/* enum config_stage */
	int	action;			/* enum config_action */
	char   *reject_text;		/* with $client, $zone, $score,
					 * $name, $role */
	int	dns_failure_action;	/* enum config_failure */
	int	greylist_threshold;	/* greylist at score >= this, under
					 * dnsbl_threshold; 0: off */
	unsigned greylist_delay;	/* seconds before a retry passes */
	unsigned greylist_max_wait;	/* seconds a first attempt stays */
	unsigned greylist_pass_ttl;	/* seconds a retried network passes */
	int	greylist_network_v4;	/* prefix length of a triplet's */
	int	greylist_network_v6;	/* client network */
	int	relay_policy;		/* enum config_relay */
	int	relay_min_prefix_ipv4;	/* relay entries shorter: refused */
	int	relay_min_prefix_ipv6;
	char   *local_transports;	/* words, one space apart */
	char   *exempt_recipients;	/* local parts, one space apart */
	char   *pidfile;		/* or "" */
	char   *user;			/* to run as, or "" */
	int	socket_mode;		/* of a unix milter socket */
	char   *socket_group;		/* of a unix milter socket, or "" */
	int	syslog_facility;	/* LOG_MAIL etc. */
	struct config_text *text;	/* private: values as written */
};

/* When the DNSBL verdict is applied (reject_stage). */
enum config_stage {
	STAGE_CONNECT, STAGE_HELO, STAGE_MAIL, STAGE_RCPT,
};

/* "connect", "helo", "mail" or "rcpt", as reject_stage names them. */
const char *config_stage_name(int stage);

/* What a listed client gets (action). */
enum config_action {
	ACTION_REJECT, ACTION_TEMPFAIL, ACTION_TAG, ACTION_LOG, ACTION_GREYLIST,
};

/* Is greylisting on (greylist_threshold, or action = greylist)? */
bool	config_greylists(const struct config *config);

/* What an incomplete verdict below the threshold gets. */
enum config_failure {
	FAILURE_ACCEPT, FAILURE_TEMPFAIL,
};

/* Whether relaying is checked (relay_policy). */
enum config_relay {
	RELAY_ENFORCE, RELAY_OFF,
};

/* Load and check path; -1 with "FILE:LINE: what is wrong" in err. */
int	config_load(const char *path, struct config **config,
		    char *err, size_t errlen);
void	config_free(struct config *config);

/*
 * Is word (len bytes) one of words (as config keeps lists)?  In any case
 * when nocase (local parts), else exactly (Postfix service names).
 */
bool	config_has_word(const char *words, const char *word, size_t len,
			bool nocase);

/* Print the settings the file makes, as "name = value" (postconf -n). */
void	config_print(const struct config *config, FILE *out);

/* Print every parameter with its default, "name = value" (postconf -d). */
void	config_print_defaults(FILE *out);

#endif
