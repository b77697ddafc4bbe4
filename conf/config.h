/*
 * config - rblmilter.conf: flat "name = value" lines, like Postfix main.cf.
 *
 * Loading checks every value and refuses the whole file on the first
 * mistake, naming FILE:LINE.  A loaded config is read-only; a reload builds
 * a new one.  This module reads no command line and starts nothing.
 */
#ifndef RBL_CONFIG_H
#define RBL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct config_text;
struct dnsbl_sites;

/* Room for a configuration error message. */
#define CONFIG_ERR_SIZE	512

struct config {
	char   *dns_servers;		/* c-ares CSV, "" for resolv.conf */
	struct dnsbl_sites *dnsbl_sites;
	int	dnsbl_threshold;	/* reject at score >= this */
	int	dnsbl_allowlist_threshold;	/* allow at <= this if < 0 */
	unsigned dnsbl_timeout;		/* milliseconds */
	unsigned dnsbl_min_ttl;		/* seconds */
	unsigned dnsbl_max_ttl;		/* seconds */
	bool	dnsbl_reply_text;	/* fetch TXT of listing zones */
	unsigned dnsbl_incomplete_ttl;	/* seconds */
	int	cache_size;		/* memory cache entries */
	char   *redis_host;		/* IP, unix socket path, or "" */
	unsigned redis_port;		/* 0 for a unix socket */
	char   *redis_username;
	char   *redis_password;
	int	redis_db;
	char   *redis_prefix;		/* of every key, "rblmilter:" */
	unsigned redis_timeout;		/* milliseconds */
	char   *list_files[3];		/* relay, allow, deny hosts files */
	struct config_text *text;	/* private: values as written */
};

/* Load and check path; -1 with "FILE:LINE: what is wrong" in err. */
int	config_load(const char *path, struct config **config,
		    char *err, size_t errlen);
void	config_free(struct config *config);

/* Print the settings the file makes, as "name = value" (postconf -n). */
void	config_print(const struct config *config, FILE *out);

#endif
