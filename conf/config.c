/*
 * config - rblmilter.conf: flat "name = value" lines, like Postfix main.cf.
 *
 * libinih splits lines; everything else is ours.  A reader callback
 * counts lines and sees their raw text, which inih does not expose: that
 * gives FILE:LINE for value errors found after the file was read, tells a
 * main.cf-style continuation line (leading white space) from a repeated
 * name, and catches lines longer than inih's fixed 200-byte buffer, which
 * inih would otherwise split silently.
 *
 * Each parameter is one row of config_keys[]; its default goes through the
 * same parser as a configured value, so defaults cannot drift from rules.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/domain.h"
#include "conf/config.h"
#include "dnsbl/site.h"

/* inih's compiled-in line buffer (Debian: INI_MAX_LINE 200). */
#define CONFIG_MAX_LINE	INI_MAX_LINE

struct config_key;

/* Parse value into the field of config that key names; 0 or -1 with err. */
typedef int config_parse_fn(struct config *config, const struct config_key *key,
			    const char *value, char *err, size_t errlen);

/* A parser, and what the field it fills owns (freed by config_free()). */
struct config_type {
	config_parse_fn *parse;
	void	(*release) (void *field);	/* NULL: nothing to free */
};

struct config_key {
	const char *name;
	const char *fallback;		/* default; NULL: must be set */
	const struct config_type *type;
	size_t	offset;			/* of the field in struct config: the
					 * only one its parser writes */
	long	min;			/* bounds, in the field's unit */
	long	max;
	unsigned unit_ms;		/* durations: 1 (ms) or 1000 (s) */
	bool	secret;			/* rblmilter -n does not show it */
	unsigned default_port;		/* servers: when an entry has none */
	const char *const *choices;	/* words a choice may be, NULL-ended */
};

static config_parse_fn config_int, config_duration, config_bool;
static config_parse_fn config_servers, config_sites, config_string;
static config_parse_fn config_token, config_redis, config_socket;
static config_parse_fn config_choice, config_text, config_words;
static config_parse_fn config_mode, config_facility, config_file;
static config_parse_fn config_policy, config_reply_map, config_name_sites;
static config_parse_fn config_metrics;
static config_parse_fn config_roles, config_shadow_sites, config_off_int;

static void
config_release_string(void *field)
{
	free(*(char **) field);
}

static void
config_release_sites(void *field)
{
	dnsbl_sites_free(*(struct dnsbl_sites **) field);
}

static void
config_release_endpoint(void *field)
{
	free(((struct config_endpoint *) field)->text);
}

#define CONFIG_TYPE(name, release) \
	static const struct config_type config_type_##name = \
	    {config_##name, release}

CONFIG_TYPE(int, NULL);
CONFIG_TYPE(off_int, NULL);
CONFIG_TYPE(duration, NULL);
CONFIG_TYPE(bool, NULL);
CONFIG_TYPE(choice, NULL);
CONFIG_TYPE(mode, NULL);
CONFIG_TYPE(facility, NULL);
CONFIG_TYPE(servers, config_release_string);
CONFIG_TYPE(string, config_release_string);
CONFIG_TYPE(token, config_release_string);
CONFIG_TYPE(socket, config_release_string);
CONFIG_TYPE(text, config_release_string);
CONFIG_TYPE(words, config_release_string);
CONFIG_TYPE(file, config_release_string);
CONFIG_TYPE(sites, config_release_sites);
CONFIG_TYPE(name_sites, config_release_sites);
CONFIG_TYPE(shadow_sites, config_release_sites);
CONFIG_TYPE(roles, NULL);
/* It changes the sites that dnsbl_sites and rhsbl_sites own. */
CONFIG_TYPE(reply_map, config_release_sites);
CONFIG_TYPE(redis, config_release_endpoint);
CONFIG_TYPE(policy, config_release_endpoint);
CONFIG_TYPE(metrics, config_release_endpoint);

/* Words of the choices, in the order of their enums in config.h. */
static const char *const config_stages[] = {
	"connect", "helo", "mail", "rcpt", NULL,
};
static const char *const config_actions[] = {
	"reject", "tempfail", "tag", "log", "greylist", NULL,
};
static const char *const config_failure_actions[] = {
	"accept", "tempfail", NULL,
};
static const char *const config_relay_policies[] = {
	"enforce", "off", NULL,
};

#define FIELD(f)	offsetof(struct config, f)

static const struct config_key config_keys[] = {
	{.name = "dns_servers", .fallback = "",
	 .type = &config_type_servers, .offset = FIELD(dns_servers),
	 .default_port = 53},
	{.name = "dnsbl_sites", .fallback = NULL,
	 .type = &config_type_sites, .offset = FIELD(dnsbl_sites)},
	{.name = "rhsbl_sites", .fallback = "",
	 .type = &config_type_name_sites, .offset = FIELD(rhsbl_sites)},
	{.name = "rhsbl_names", .fallback = "helo, sender, client",
	 .type = &config_type_roles, .offset = FIELD(rhsbl_names)},
	{.name = "dnsbl_shadow_sites", .fallback = "",
	 .type = &config_type_shadow_sites, .offset = FIELD(dnsbl_shadow_sites)},
	{.name = "rhsbl_shadow_sites", .fallback = "",
	 .type = &config_type_name_sites, .offset = FIELD(rhsbl_shadow_sites)},
	/*
	 * After the site lists: rows are parsed in order, and this edits
	 * them, puts the shadow zones beside the scored ones of their kind,
	 * and joins both kinds into the list a decision scores.
	 */
	{.name = "dnsbl_reply_map", .fallback = "",
	 .type = &config_type_reply_map, .offset = FIELD(scored_sites)},
	{.name = "dnsbl_threshold", .fallback = "1",
	 .type = &config_type_int, .offset = FIELD(dnsbl_threshold),
	 .min = 1, .max = 1000000},
	{.name = "dnsbl_allowlist_threshold", .fallback = "0",
	 .type = &config_type_int, .offset = FIELD(dnsbl_allowlist_threshold),
	 .min = -1000000, .max = 0},
	{.name = "dnsbl_timeout", .fallback = "2s",
	 .type = &config_type_duration, .offset = FIELD(dnsbl_timeout),
	 .min = 10, .max = 60000, .unit_ms = 1},
	{.name = "dnsbl_min_ttl", .fallback = "60s",
	 .type = &config_type_duration, .offset = FIELD(dnsbl_min_ttl),
	 .min = 0, .max = 86400, .unit_ms = 1000},
	{.name = "dnsbl_max_ttl", .fallback = "1h",
	 .type = &config_type_duration, .offset = FIELD(dnsbl_max_ttl),
	 .min = 1, .max = 7 * 86400, .unit_ms = 1000},
	{.name = "dnsbl_reply_text", .fallback = "no",
	 .type = &config_type_bool, .offset = FIELD(dnsbl_reply_text)},
	{.name = "dnsbl_incomplete_ttl", .fallback = "30s",
	 .type = &config_type_duration, .offset = FIELD(dnsbl_incomplete_ttl),
	 .min = 0, .max = 3600, .unit_ms = 1000},
	{.name = "dnsbl_health_interval", .fallback = "5m",
	 .type = &config_type_duration, .offset = FIELD(dnsbl_health_interval),
	 .min = 0, .max = 86400, .unit_ms = 1000},
	{.name = "cache_size", .fallback = "100000",
	 .type = &config_type_int, .offset = FIELD(cache_size),
	 .min = 0, .max = 10000000},
	{.name = "redis_server", .fallback = "",
	 .type = &config_type_redis, .offset = FIELD(redis_server)},
	{.name = "redis_sentinels", .fallback = "",
	 .type = &config_type_servers, .offset = FIELD(redis_sentinels),
	 .default_port = 26379},
	{.name = "redis_master_name", .fallback = "",
	 .type = &config_type_token, .offset = FIELD(redis_master_name),
	 .min = 0, .max = 64},
	{.name = "redis_username", .fallback = "",
	 .type = &config_type_string, .offset = FIELD(redis_username)},
	{.name = "redis_password", .fallback = "",
	 .type = &config_type_string, .offset = FIELD(redis_password),
	 .secret = true},
	{.name = "redis_db", .fallback = "0",
	 .type = &config_type_int, .offset = FIELD(redis_db),
	 .min = 0, .max = 65535},
	{.name = "redis_prefix", .fallback = "rblmilter:",
	 .type = &config_type_token, .offset = FIELD(redis_prefix),
	 .min = 1, .max = 64},
	{.name = "redis_timeout", .fallback = "100ms",
	 .type = &config_type_duration, .offset = FIELD(redis_timeout),
	 .min = 1, .max = 10000, .unit_ms = 1},
	{.name = "redis_list_resync", .fallback = "5m",
	 .type = &config_type_duration, .offset = FIELD(redis_list_resync),
	 .min = 1, .max = 86400, .unit_ms = 1000},
	{.name = "relay_hosts", .fallback = "",
	 .type = &config_type_file, .offset = FIELD(list_files[CONFIG_LIST_RELAY])},
	{.name = "allow_hosts", .fallback = "",
	 .type = &config_type_file, .offset = FIELD(list_files[CONFIG_LIST_ALLOW])},
	{.name = "deny_hosts", .fallback = "",
	 .type = &config_type_file, .offset = FIELD(list_files[CONFIG_LIST_DENY])},
	{.name = "milter_socket", .fallback = "inet:8891@127.0.0.1",
	 .type = &config_type_socket, .offset = FIELD(milter_socket)},
	{.name = "policy_socket", .fallback = "",
	 .type = &config_type_policy, .offset = FIELD(policy_socket)},
	{.name = "metrics_socket", .fallback = "",
	 .type = &config_type_metrics, .offset = FIELD(metrics_socket)},
	{.name = "reject_stage", .fallback = "rcpt",
	 .type = &config_type_choice, .offset = FIELD(reject_stage),
	 .choices = config_stages},
	{.name = "action", .fallback = "reject",
	 .type = &config_type_choice, .offset = FIELD(action),
	 .choices = config_actions},
	{.name = "reject_text", .fallback = "Service unavailable; $role $name blocked using $zone",
	 .type = &config_type_text, .offset = FIELD(reject_text)},
	{.name = "dns_failure_action", .fallback = "accept",
	 .type = &config_type_choice, .offset = FIELD(dns_failure_action),
	 .choices = config_failure_actions},
	{.name = "greylist_threshold", .fallback = "off",
	 .type = &config_type_off_int, .offset = FIELD(greylist_threshold),
	 .min = 1, .max = 1000000},
	{.name = "greylist_delay", .fallback = "5m",
	 .type = &config_type_duration, .offset = FIELD(greylist_delay),
	 .min = 1, .max = 86400, .unit_ms = 1000},
	{.name = "greylist_max_wait", .fallback = "1d",
	 .type = &config_type_duration, .offset = FIELD(greylist_max_wait),
	 .min = 2, .max = 30 * 86400, .unit_ms = 1000},
	{.name = "greylist_pass_ttl", .fallback = "30d",
	 .type = &config_type_duration, .offset = FIELD(greylist_pass_ttl),
	 .min = 1, .max = 365 * 86400, .unit_ms = 1000},
	{.name = "greylist_network_v4", .fallback = "24",
	 .type = &config_type_int, .offset = FIELD(greylist_network_v4),
	 .min = 8, .max = 32},
	{.name = "greylist_network_v6", .fallback = "64",
	 .type = &config_type_int, .offset = FIELD(greylist_network_v6),
	 .min = 16, .max = 128},
	{.name = "relay_policy", .fallback = "enforce",
	 .type = &config_type_choice, .offset = FIELD(relay_policy),
	 .choices = config_relay_policies},
	{.name = "relay_min_prefix_ipv4", .fallback = "8",
	 .type = &config_type_int, .offset = FIELD(relay_min_prefix_ipv4),
	 .min = 0, .max = 32},
	{.name = "relay_min_prefix_ipv6", .fallback = "16",
	 .type = &config_type_int, .offset = FIELD(relay_min_prefix_ipv6),
	 .min = 0, .max = 128},
	{.name = "local_transports", .fallback = "local virtual lmtp",
	 .type = &config_type_words, .offset = FIELD(local_transports)},
	{.name = "exempt_recipients", .fallback = "postmaster abuse",
	 .type = &config_type_words, .offset = FIELD(exempt_recipients)},
	{.name = "pidfile", .fallback = "",
	 .type = &config_type_string, .offset = FIELD(pidfile)},
	{.name = "user", .fallback = "",
	 .type = &config_type_string, .offset = FIELD(user)},
	{.name = "socket_mode", .fallback = "0660",
	 .type = &config_type_mode, .offset = FIELD(socket_mode)},
	{.name = "socket_group", .fallback = "",
	 .type = &config_type_string, .offset = FIELD(socket_group)},
	{.name = "syslog_facility", .fallback = "mail",
	 .type = &config_type_facility, .offset = FIELD(syslog_facility)},
};

#define CONFIG_KEYS	(sizeof(config_keys) / sizeof(config_keys[0]))

/* Values as written, for config_print() and line numbers in errors. */
struct config_text {
	char   *value[CONFIG_KEYS];	/* NULL when not in the file */
	int	line[CONFIG_KEYS];	/* where the name appeared */
};

/* State while inih reads one file. */
struct config_reader {
	FILE   *fp;
	const char *path;
	struct config_text *text;
	int	line;			/* number of the line just read */
	bool	indented;		/* it began with white space */
	int	key;			/* last name seen, for continuations */
	int	err_line;		/* first error, 0 when none */
	char   *err;
	size_t	errlen;
};

/* Index of the parameter called name. */
static size_t
config_key_index(const char *name)
{
	size_t	i;

	for (i = 0; i < CONFIG_KEYS; i++)
		if (strcmp(name, config_keys[i].name) == 0)
			break;
	return i;
}

/* Address of key's field inside config. */
static void *
config_field(struct config *config, const struct config_key *key)
{
	return (char *) config + key->offset;
}

/* Integer within the key's bounds. */
static int
config_int(struct config *config, const struct config_key *key,
	   const char *value, char *err, size_t errlen)
{
	char   *end;
	long	number;

	errno = 0;
	number = strtol(value, &end, 10);
	if (*value == 0 || *end != 0 || errno != 0) {
		snprintf(err, errlen, "%s = \"%s\": not an integer",
			 key->name, value);
		return -1;
	}
	if (number < key->min || number > key->max) {
		snprintf(err, errlen, "%s = %ld: must be from %ld to %ld",
			 key->name, number, key->min, key->max);
		return -1;
	}
	*(int *) config_field(config, key) = (int) number;
	return 0;
}

/* "off" (0, which the bounds leave out), or an integer within them. */
static int
config_off_int(struct config *config, const struct config_key *key,
	       const char *value, char *err, size_t errlen)
{
	if (strcmp(value, "off") != 0)
		return config_int(config, key, value, err, errlen);
	*(int *) config_field(config, key) = 0;
	return 0;
}

/*
 * Time value with a Postfix unit (s default, m, h, d, w) or "ms", stored
 * in the key's unit (milliseconds or whole seconds).
 */
static int
config_duration(struct config *config, const struct config_key *key,
		const char *value, char *err, size_t errlen)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {
		{"ms", 1}, {"", 1000}, {"s", 1000}, {"m", 60000},
		{"h", 3600000}, {"d", 86400000}, {"w", 604800000},
	};
	const char *cp = value;
	uint64_t number = 0;
	uint64_t ms;
	size_t	i;

	/* Saturate: a huge number is out of range, not a syntax error. */
	for (; isdigit((unsigned char) *cp); cp++)
		if ((number = number * 10 + (uint64_t) (*cp - '0')) > UINT32_MAX)
			number = UINT32_MAX;
	for (i = 0; cp > value && i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(cp, units[i].suffix) == 0)
			break;
	if (cp == value || i == sizeof(units) / sizeof(units[0])) {
		snprintf(err, errlen, "%s = \"%s\": not a time; write a number "
			 "with an optional unit: ms, s, m, h, d or w",
			 key->name, value);
		return -1;
	}
	ms = number * units[i].ms;
	if (ms % key->unit_ms != 0) {
		snprintf(err, errlen, "%s = %s: use whole seconds",
			 key->name, value);
		return -1;
	}
	if (ms / key->unit_ms < (uint64_t) key->min
	    || ms / key->unit_ms > (uint64_t) key->max) {
		snprintf(err, errlen, "%s = %s: must be from %ld%s to %ld%s",
			 key->name, value, key->min,
			 key->unit_ms == 1 ? "ms" : "s", key->max,
			 key->unit_ms == 1 ? "ms" : "s");
		return -1;
	}
	*(unsigned *) config_field(config, key) = (unsigned) (ms / key->unit_ms);
	return 0;
}

/* yes or no, as in main.cf. */
static int
config_bool(struct config *config, const struct config_key *key,
	    const char *value, char *err, size_t errlen)
{
	bool   *field = config_field(config, key);

	if (strcasecmp(value, "yes") == 0) {
		*field = true;
	} else if (strcasecmp(value, "no") == 0) {
		*field = false;
	} else {
		snprintf(err, errlen, "%s = \"%s\": write yes or no",
			 key->name, value);
		return -1;
	}
	return 0;
}

/*
 * Parse "ip", "ip:port", "[ipv6]" or "[ipv6]:port"; port defaults to
 * port.  0, or -1 for anything else (host names included: resolving them
 * would block the event loop).
 */
static int
config_hostport(const char *entry, struct addr *addr, long *port)
{
	char	copy[ADDR_TEXT_SIZE + 8];
	char   *host = copy;
	char   *digits = NULL;
	char   *end;

	if (strlen(entry) >= sizeof(copy))
		return -1;
	strcpy(copy, entry);
	if (*host == '[') {
		host++;
		if ((end = strchr(host, ']')) == NULL
		    || (end[1] != 0 && end[1] != ':'))
			return -1;
		*end = 0;
		digits = end[1] == ':' ? end + 2 : NULL;
	} else if ((end = strchr(host, ':')) != NULL
		   && strchr(end + 1, ':') == NULL) {
		*end = 0;
		digits = end + 1;
	}
	if (addr_parse(host, addr) < 0)
		return -1;
	if (digits != NULL) {
		*port = strtol(digits, &end, 10);
		if (!isdigit((unsigned char) *digits) || *end != 0
		    || *port < 1 || *port > 65535)
			return -1;
	}
	return 0;
}

/*
 * Append one "ip[:port]" or "[v6]:port" server to csv as c-ares wants it
 * (and the sentinel module reads it).
 */
static int
config_server(const struct config_key *key, const char *entry, char *csv,
	      size_t size, char *err, size_t errlen)
{
	struct addr addr;
	char	text[ADDR_TEXT_SIZE];
	long	port = key->default_port;

	if (config_hostport(entry, &addr, &port) < 0) {
		snprintf(err, errlen, "%s: \"%s\" is not ip[:port] or "
			 "[ipv6]:port", key->name, entry);
		return -1;
	}
	addr_format(&addr, text);
	snprintf(csv + strlen(csv), size - strlen(csv),
		 addr.family == AF_INET6 ? "%s[%s]:%ld" : "%s%s:%ld",
		 *csv ? "," : "", text, port);
	return 0;
}

/* dns_servers, redis_sentinels: lists of servers, maybe empty. */
static int
config_servers(struct config *config, const struct config_key *key,
	       const char *value, char *err, size_t errlen)
{
	char  **field = config_field(config, key);
	/* Entries are 2+ bytes apart; each needs at most "[addr]:65535,". */
	size_t	size = (strlen(value) / 2 + 1) * (ADDR_TEXT_SIZE + 10);
	char   *copy;
	char   *csv;
	char   *entry;
	char   *save;
	int	status = 0;

	copy = strdup(value);
	csv = calloc(1, size);
	if (copy == NULL || csv == NULL) {
		free(copy);
		free(csv);
		snprintf(err, errlen, "%s: out of memory", key->name);
		return -1;
	}
	for (entry = strtok_r(copy, ", \t", &save); entry != NULL && status == 0;
	     entry = strtok_r(NULL, ", \t", &save))
		status = config_server(key, entry, csv, size, err, errlen);
	free(copy);
	if (status < 0) {
		free(csv);
		return -1;
	}
	free(*field);
	*field = csv;
	return 0;
}

/* A site list of kind, in postscreen_dnsbl_sites syntax. */
static int
config_site_list(struct config *config, const struct config_key *key,
		 enum dnsbl_kind kind, const char *value, char *err,
		 size_t errlen)
{
	struct dnsbl_sites **field = config_field(config, key);
	struct dnsbl_sites *sites;

	if (dnsbl_sites_parse(value, kind, &sites, err, errlen) < 0)
		return -1;
	dnsbl_sites_free(*field);
	*field = sites;
	return 0;
}

/* dnsbl_sites: the IP zones, at least one. */
static int
config_sites(struct config *config, const struct config_key *key,
	     const char *value, char *err, size_t errlen)
{
	if (config_site_list(config, key, DNSBL_IPS, value, err, errlen) < 0)
		return -1;
	if (dnsbl_sites_zone_count(config->dnsbl_sites) == 0) {
		snprintf(err, errlen, "dnsbl_sites is empty: name at least one "
			 "DNSBL or DNSWL zone");
		return -1;
	}
	return 0;
}

/* rhsbl_sites and rhsbl_shadow_sites: domain zones, maybe none. */
static int
config_name_sites(struct config *config, const struct config_key *key,
		  const char *value, char *err, size_t errlen)
{
	return config_site_list(config, key, DNSBL_NAMES, value, err, errlen);
}

/* dnsbl_shadow_sites: IP zones asked, never scored; may be empty. */
static int
config_shadow_sites(struct config *config, const struct config_key *key,
		    const char *value, char *err, size_t errlen)
{
	return config_site_list(config, key, DNSBL_IPS, value, err, errlen);
}

/* rhsbl_names: "helo, sender, client", kept as 1 << enum domain_role. */
static int
config_roles(struct config *config, const struct config_key *key,
	     const char *value, char *err, size_t errlen)
{
	unsigned roles = 0;
	const char *cp;
	size_t	len;
	int	role;

	for (cp = value; *cp; cp += len) {
		cp += strspn(cp, ", \t");
		if ((len = strcspn(cp, ", \t")) == 0)
			break;
		if ((role = domain_role_parse(cp, len)) < 0) {
			snprintf(err, errlen, "%s: unknown \"%.*s\"; write "
				 "helo, sender or client", key->name,
				 (int) (len > 20 ? 20 : len), cp);
			return -1;
		}
		roles |= 1u << role;
	}
	*(unsigned *) config_field(config, key) = roles;
	return 0;
}

/*
 * dnsbl_reply_map: the names shown for zones whose names hold a secret,
 * in both lists; then the two joined.
 */
static int
config_reply_map(struct config *config, const struct config_key *key,
		 const char *value, char *err, size_t errlen)
{
	struct dnsbl_sites **field = config_field(config, key);
	struct dnsbl_sites *const lists[] = {
		config->dnsbl_sites, config->rhsbl_sites,
		config->dnsbl_shadow_sites, config->rhsbl_shadow_sites,
	};

	if (dnsbl_sites_map(lists, 4, value, err, errlen) < 0
	    || dnsbl_sites_append_shadow(config->dnsbl_sites,
					 config->dnsbl_shadow_sites, err,
					 errlen) < 0
	    || dnsbl_sites_append_shadow(config->rhsbl_sites,
					 config->rhsbl_shadow_sites, err,
					 errlen) < 0)
		return -1;
	dnsbl_sites_free(*field);
	*field = dnsbl_sites_join(config->dnsbl_sites, config->rhsbl_sites,
				  err, errlen);
	return *field == NULL ? -1 : 0;
}

/* A string taken as written (file names, user names). */
static int
config_string(struct config *config, const struct config_key *key,
	      const char *value, char *err, size_t errlen)
{
	char  **field = config_field(config, key);
	char   *copy;

	if ((copy = strdup(value)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", key->name);
		return -1;
	}
	free(*field);
	*field = copy;
	return 0;
}

/* A file rblmilter reads (list files): it must be readable now. */
static int
config_file(struct config *config, const struct config_key *key,
	    const char *value, char *err, size_t errlen)
{
	if (*value != 0 && access(value, R_OK) < 0) {
		snprintf(err, errlen, "%s = %s: %s", key->name, value,
			 strerror(errno));
		return -1;
	}
	return config_string(config, key, value, err, errlen);
}

/*
 * redis_prefix, redis_master_name: printable, no white space, short
 * enough for key names and commands; empty only when min is 0.
 */
static int
config_token(struct config *config, const struct config_key *key,
	     const char *value, char *err, size_t errlen)
{
	const char *cp;

	if (*value == 0 && key->min == 0)
		return config_string(config, key, value, err, errlen);
	for (cp = value; *cp; cp++)
		if (*cp <= ' ' || *cp >= 0x7f)
			break;
	if (*value == 0 || *cp != 0 || cp - value > key->max) {
		snprintf(err, errlen, "%s = \"%s\": write 1 to %ld printable "
			 "characters without spaces", key->name, value,
			 key->max);
		return -1;
	}
	return config_string(config, key, value, err, errlen);
}

/* redis_server: "ip[:port]", "[ipv6]:port", "unix:/path", or empty. */
static int
config_redis(struct config *config, const struct config_key *key,
	     const char *value, char *err, size_t errlen)
{
	struct config_endpoint *field = config_field(config, key);
	struct addr addr;
	char	text[ADDR_TEXT_SIZE];
	long	port = 6379;

	field->port = 0;
	if (strncmp(value, "unix:", 5) == 0 && value[5] == '/')
		return config_string(config, key, value + 5, err, errlen);
	if (*value == 0)
		return config_string(config, key, "", err, errlen);
	if (config_hostport(value, &addr, &port) < 0) {
		snprintf(err, errlen, "%s = \"%s\": write ip[:port], "
			 "[ipv6]:port or unix:/path (host names are not "
			 "resolved)", key->name, value);
		return -1;
	}
	field->addr = addr;
	field->port = (unsigned) port;
	return config_string(config, key, addr_format(&addr, text), err,
			     errlen);
}

/* milter_socket: libmilter's inet:PORT@HOST, inet6:PORT@HOST, unix:/path. */
static int
config_socket(struct config *config, const struct config_key *key,
	      const char *value, char *err, size_t errlen)
{
	struct addr addr;
	const char *at = strchr(value, '@');
	char   *end;
	char	host[ADDR_TEXT_SIZE];
	long	port;
	size_t	skip;

	if ((strncmp(value, "unix:/", 6) == 0 || strncmp(value, "local:/", 7) == 0)
	    && strlen(value) < 100)
		return config_string(config, key, value, err, errlen);
	skip = strncmp(value, "inet:", 5) == 0 ? 5
	    : strncmp(value, "inet6:", 6) == 0 ? 6 : 0;
	if (skip != 0 && at != NULL && (size_t) (strlen(at + 1)) < sizeof(host)) {
		port = strtol(value + skip, &end, 10);
		strcpy(host, at + 1);
		if (isdigit((unsigned char) value[skip]) && end == at
		    && port >= 1 && port <= 65535 && addr_parse(host, &addr) == 0
		    && (addr.family == AF_INET6) == (skip == 6))
			return config_string(config, key, value, err, errlen);
	}
	snprintf(err, errlen, "%s = \"%s\": write inet:PORT@IPv4, "
		 "inet6:PORT@IPv6 or unix:/path", key->name, value);
	return -1;
}

/*
 * Is value a listening socket "inet:IP:PORT" or "inet:[IPv6]:PORT"?  Then
 * its address and port go to field.  The port is required: without one
 * the daemon would take the spec for a unix path.
 */
static bool
config_inet(const char *value, struct config_endpoint *field)
{
	struct addr addr;
	long	port = 0;

	if (strncmp(value, "inet:", 5) != 0
	    || config_hostport(value + 5, &addr, &port) < 0 || port == 0)
		return false;
	field->addr = addr;
	field->port = (unsigned) port;
	return true;
}

/* policy_socket: "", inet:IP:PORT, inet:[IPv6]:PORT or unix:/path. */
static int
config_policy(struct config *config, const struct config_key *key,
	      const char *value, char *err, size_t errlen)
{
	struct config_endpoint *field = config_field(config, key);

	field->port = 0;
	if (*value == 0 || (strncmp(value, "unix:/", 6) == 0
			    && strlen(value) < 100) || config_inet(value, field))
		return config_string(config, key, value, err, errlen);
	snprintf(err, errlen, "%s = \"%s\": write inet:IP:PORT, "
		 "inet:[IPv6]:PORT or unix:/path (empty: no policy service)",
		 key->name, value);
	return -1;
}

/* metrics_socket: "", inet:IP:PORT or inet:[IPv6]:PORT. */
static int
config_metrics(struct config *config, const struct config_key *key,
	       const char *value, char *err, size_t errlen)
{
	struct config_endpoint *field = config_field(config, key);

	field->port = 0;
	if (*value == 0 || config_inet(value, field))
		return config_string(config, key, value, err, errlen);
	snprintf(err, errlen, "%s = \"%s\": write inet:IP:PORT or "
		 "inet:[IPv6]:PORT (empty: no metrics endpoint)", key->name,
		 value);
	return -1;
}

/* One word out of key->choices, stored as its index. */
static int
config_choice(struct config *config, const struct config_key *key,
	      const char *value, char *err, size_t errlen)
{
	size_t	i;
	size_t	len;

	for (i = 0; key->choices[i] != NULL; i++) {
		if (strcmp(value, key->choices[i]) == 0) {
			*(int *) config_field(config, key) = (int) i;
			return 0;
		}
	}
	len = (size_t) snprintf(err, errlen, "%s = \"%s\": write one of:",
				key->name, value);
	for (i = 0; key->choices[i] != NULL && len < errlen; i++)
		len += (size_t) snprintf(err + len, errlen - len, " %s",
					 key->choices[i]);
	return -1;
}

/* reject_text: free text with $client, $zone, $score, $name and $role. */
static int
config_text(struct config *config, const struct config_key *key,
	    const char *value, char *err, size_t errlen)
{
	static const char *const names[] = {
		"client", "zone", "score", "name", "role", NULL,
	};
	const char *cp;
	size_t	i;

	for (cp = strchr(value, '$'); cp != NULL; cp = strchr(cp + 1, '$')) {
		for (i = 0; names[i] != NULL; i++)
			if (strncmp(cp + 1, names[i], strlen(names[i])) == 0)
				break;
		if (names[i] == NULL) {
			snprintf(err, errlen, "%s: unknown \"%.20s\"; write "
				 "$client, $zone, $score, $name or $role",
				 key->name, cp);
			return -1;
		}
	}
	return config_string(config, key, value, err, errlen);
}

/* A list of words (white space or commas), kept one space apart. */
static int
config_words(struct config *config, const struct config_key *key,
	     const char *value, char *err, size_t errlen)
{
	char   *words;
	char   *out;
	const char *cp;
	size_t	len;

	if ((words = malloc(strlen(value) + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", key->name);
		return -1;
	}
	out = words;
	for (cp = value; *cp; cp += len) {
		cp += strspn(cp, ", \t");
		len = strcspn(cp, ", \t");
		if (len == 0)
			break;
		if (out > words)
			*out++ = ' ';
		memcpy(out, cp, len);
		out += len;
	}
	*out = 0;
	free(*(char **) config_field(config, key));
	*(char **) config_field(config, key) = words;
	return 0;
}

/* socket_mode: octal permissions of a unix socket. */
static int
config_mode(struct config *config, const struct config_key *key,
	    const char *value, char *err, size_t errlen)
{
	char   *end;
	long	mode = strtol(value, &end, 8);

	if (*value == 0 || *end != 0 || mode < 0 || mode > 0777) {
		snprintf(err, errlen, "%s = \"%s\": write an octal mode such "
			 "as 0660", key->name, value);
		return -1;
	}
	*(int *) config_field(config, key) = (int) mode;
	return 0;
}

/* syslog_facility: mail, daemon, user or local0..local7. */
static int
config_facility(struct config *config, const struct config_key *key,
		const char *value, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		int	facility;
	} facilities[] = {
		{"mail", LOG_MAIL}, {"daemon", LOG_DAEMON}, {"user", LOG_USER},
		{"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
		{"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
		{"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
		{"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
	};
	size_t	i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
		if (strcmp(value, facilities[i].name) == 0) {
			*(int *) config_field(config, key) = facilities[i].facility;
			return 0;
		}
	}
	snprintf(err, errlen, "%s = \"%s\": write mail, daemon, user or "
		 "local0 to local7", key->name, value);
	return -1;
}

/* Record the reader's first error, with its line number. */
static void
config_fail(struct config_reader *reader, const char *fmt, ...)
{
	va_list	ap;

	if (reader->err_line != 0)
		return;
	reader->err_line = reader->line;
	va_start(ap, fmt);
	vsnprintf(reader->err, reader->errlen, fmt, ap);
	va_end(ap);
}

/*
 * Refuse what inih would take but main.cf readers would not expect:
 * "name: value", and a " ;" comment that silently cuts a value.
 */
static void
config_check_syntax(struct config_reader *reader, char *line)
{
	size_t	start = strspn(line, " \t");
	size_t	name = strcspn(line + start, "=:");

	if (line[start] == 0 || line[start] == '#' || line[start] == ';')
		return;
	if (!reader->indented && line[start + name] == ':')
		config_fail(reader, "expected \"name = value\", not "
			    "\"name: value\"");
	else if (strstr(line, " ;") != NULL || strstr(line, "\t;") != NULL)
		config_fail(reader, "\";\" after white space would start a "
			    "comment; write filters without spaces, "
			    "comments on lines of their own");
}

/* inih reader: one line per call, like fgets, with our bookkeeping. */
static char *
config_read_line(char *buf, int size, void *stream)
{
	struct config_reader *reader = stream;
	bool	nul = false;
	int	len = 0;
	int	ch;

	while ((ch = getc(reader->fp)) != EOF && ch != '\n') {
		nul |= ch == 0;
		if (len < size - 2)
			buf[len] = (char) ch;
		len++;
	}
	if (ch == EOF && len == 0)
		return NULL;
	reader->line++;
	/* inih would stop at it and drop the rest of the line in silence. */
	if (nul)
		config_fail(reader, "NUL byte in the line");
	reader->indented = len > 0 && (buf[0] == ' ' || buf[0] == '\t');
	if (len > size - 2) {
		config_fail(reader, "line longer than %d bytes; continue a "
			    "long value on the next line, indented", size - 2);
		len = 0;
	}
	buf[len] = 0;
	config_check_syntax(reader, buf);
	buf[len] = '\n';
	buf[len + 1] = 0;
	return buf;
}

/* inih handler: remember each value as written, joining continuations. */
static int
config_on_value(void *user, const char *section, const char *name,
		const char *value)
{
	struct config_reader *reader = user;
	struct config_text *text = reader->text;
	char   *joined;
	size_t	key;

	if (*section != 0) {
		config_fail(reader, "sections like [%s] are not supported; "
			    "write plain \"name = value\" lines", section);
		return 0;
	}
	if (reader->indented && reader->key >= 0
	    && strcmp(name, config_keys[reader->key].name) == 0) {
		key = (size_t) reader->key;
		if (asprintf(&joined, "%s%s%s", text->value[key],
			     *text->value[key] ? " " : "", value) < 0) {
			config_fail(reader, "out of memory");
			return 0;
		}
		free(text->value[key]);
		text->value[key] = joined;
		return 1;
	}
	if ((key = config_key_index(name)) == CONFIG_KEYS) {
		config_fail(reader, "unknown parameter \"%s\"", name);
		return 0;
	}
	if (text->value[key] != NULL) {
		config_fail(reader, "%s is set twice (first on line %d)",
			    name, text->line[key]);
		return 0;
	}
	if ((text->value[key] = strdup(value)) == NULL) {
		config_fail(reader, "out of memory");
		return 0;
	}
	text->line[key] = reader->line;
	reader->key = (int) key;
	return 1;
}

/* Read the file into config->text; -1 with "FILE:LINE: ..." in err. */
static int
config_read(struct config *config, const char *path, char *err, size_t errlen)
{
	struct config_reader reader;
	char	msg[CONFIG_ERR_SIZE];
	int	status;

	memset(&reader, 0, sizeof(reader));
	reader.path = path;
	reader.text = config->text;
	reader.key = -1;
	reader.err = msg;
	reader.errlen = sizeof(msg);
	if ((reader.fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	status = ini_parse_stream(config_read_line, &reader, config_on_value,
				  &reader);
	if (ferror(reader.fp)) {
		snprintf(err, errlen, "%s: read error: %s", path,
			 strerror(errno));
		fclose(reader.fp);
		return -1;
	}
	fclose(reader.fp);
	if (status > 0 && (reader.err_line == 0 || status < reader.err_line)) {
		snprintf(err, errlen, "%s:%d: syntax error: expected "
			 "\"name = value\"", path, status);
		return -1;
	}
	if (reader.err_line != 0) {
		snprintf(err, errlen, "%s:%d: %s", path, reader.err_line, msg);
		return -1;
	}
	return 0;
}

/* Settings fine alone but not together: the key to blame, or CONFIG_KEYS. */
static size_t
config_cross_check(const struct config *config, char *msg, size_t size)
{
	size_t	min = config_key_index("dnsbl_min_ttl");

	if (*config->redis_sentinels && !*config->redis_master_name) {
		snprintf(msg, size, "redis_sentinels is set without "
			 "redis_master_name");
		return config_key_index("redis_sentinels");
	}
	if (*config->redis_master_name && !*config->redis_sentinels) {
		snprintf(msg, size, "redis_master_name is set without "
			 "redis_sentinels");
		return config_key_index("redis_master_name");
	}
	if (*config->redis_sentinels && *config->redis_server.text) {
		snprintf(msg, size, "redis_sentinels and redis_server are both "
			 "set: the sentinels name the server");
		return config_key_index("redis_sentinels");
	}
	if (*config->redis_username && !*config->redis_password) {
		snprintf(msg, size, "redis_username is set without "
			 "redis_password");
		return config_key_index("redis_username");
	}
	if (config->greylist_threshold >= config->dnsbl_threshold) {
		snprintf(msg, size, "greylist_threshold (%d) must be under "
			 "dnsbl_threshold (%d): it greylists the scores between",
			 config->greylist_threshold, config->dnsbl_threshold);
		return config_key_index("greylist_threshold");
	}
	if (config_greylists(config) && config->reject_stage != STAGE_RCPT) {
		snprintf(msg, size, "greylisting needs reject_stage = rcpt: "
			 "a triplet has a recipient");
		return config_key_index(config->greylist_threshold > 0 ?
					"greylist_threshold" : "action");
	}
	if (config->greylist_max_wait <= config->greylist_delay) {
		snprintf(msg, size, "greylist_max_wait (%us) must be over "
			 "greylist_delay (%us): a retry must have time to come",
			 config->greylist_max_wait, config->greylist_delay);
		return config_key_index("greylist_max_wait");
	}
	if (config->dnsbl_min_ttl > config->dnsbl_max_ttl) {
		snprintf(msg, size, "dnsbl_min_ttl (%us) is above dnsbl_max_ttl "
			 "(%us)", config->dnsbl_min_ttl, config->dnsbl_max_ttl);
		/* Blame the one the file sets. */
		return config->text->value[min] ? min
		    : config_key_index("dnsbl_max_ttl");
	}
	return CONFIG_KEYS;
}

int
config_load(const char *path, struct config **result, char *err, size_t errlen)
{
	const struct config_key *key;
	struct config *config;
	const char *value;
	char	msg[CONFIG_ERR_SIZE];
	size_t	i;

	if ((config = calloc(1, sizeof(*config))) == NULL
	    || (config->text = calloc(1, sizeof(*config->text))) == NULL) {
		free(config);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (config_read(config, path, err, errlen) < 0)
		goto fail;
	for (i = 0; i < CONFIG_KEYS; i++) {
		key = config_keys + i;
		if ((value = config->text->value[i]) == NULL)
			value = key->fallback;
		if (value == NULL) {
			snprintf(err, errlen, "%s: %s is not set", path,
				 key->name);
			goto fail;
		}
		if (key->type->parse(config, key, value, msg, sizeof(msg)) < 0)
			goto bad_value;
	}
	if ((i = config_cross_check(config, msg, sizeof(msg))) < CONFIG_KEYS)
		goto bad_value;
	*result = config;
	return 0;

bad_value:
	if (config->text->value[i] != NULL)
		snprintf(err, errlen, "%s:%d: %s", path, config->text->line[i], msg);
	else
		snprintf(err, errlen, "%s: %s", path, msg);
fail:
	config_free(config);
	return -1;
}

void
config_free(struct config *config)
{
	size_t	i;

	if (config == NULL)
		return;
	for (i = 0; i < CONFIG_KEYS; i++) {
		free(config->text->value[i]);
		if (config_keys[i].type->release != NULL)
			config_keys[i].type->release(config_field(config,
								 config_keys + i));
	}
	free(config->text);
	free(config);
}

void
config_print(const struct config *config, FILE *out)
{
	size_t	i;

	for (i = 0; i < CONFIG_KEYS; i++)
		if (config->text->value[i] != NULL)
			fprintf(out, "%s = %s\n", config_keys[i].name,
				config_keys[i].secret ?
				"(not shown)" : config->text->value[i]);
}

void
config_print_defaults(FILE *out)
{
	size_t	i;

	for (i = 0; i < CONFIG_KEYS; i++)
		fprintf(out, "%s = %s\n", config_keys[i].name,
			config_keys[i].fallback != NULL ?
			config_keys[i].fallback : "");
}

bool
config_has_word(const char *words, const char *word, size_t len, bool nocase)
{
	const char *cp;
	size_t	n;

	for (cp = words; *cp; cp += n + (cp[n] == ' ')) {
		n = strcspn(cp, " ");
		if (n == len && (nocase ? strncasecmp(cp, word, len)
				 : strncmp(cp, word, len)) == 0)
			return true;
	}
	return false;
}

bool
config_greylists(const struct config *config)
{
	return config->greylist_threshold > 0 || config->action == ACTION_GREYLIST;
}

const char *
config_stage_name(int stage)
{
	return stage >= STAGE_CONNECT && stage <= STAGE_RCPT ?
	    config_stages[stage] : "other";
}
