/*
 * lists - which clients may relay, skip DNSBL checks, or are always
 * rejected: the relay, allow and deny lists.
 *
 * A snapshot is a prefix table built whole and then only read; an update
 * builds the next one aside and swaps it in under a write lock held for
 * one pointer store, so matching threads never wait for a rebuild.  The
 * more specific of an allow and a deny entry wins (allow 10.0.0.0/8 with
 * deny 10.1.2.3 rejects 10.1.2.3 only), as an administrator reads it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists/lists.h"
#include "lists/prefix.h"
#include "lib/addr.h"
#include "lib/msg.h"

/* One entry from a file. */
struct lists_entry {
	struct addr net;
	unsigned bits;
	unsigned flag;
};

struct lists {
	pthread_rwlock_t lock;		/* guards table */
	struct prefix_table *table;	/* the snapshot in force */
	size_t	entries[LIST_KINDS];	/* its prefixes of each kind */
	struct lists_entry *file;	/* entries of the list files */
	size_t	file_count;
	unsigned relay_min_v4;		/* shorter relay prefixes: refused */
	unsigned relay_min_v6;
};

static const char *const lists_names[LIST_KINDS] = {"relay", "allow", "deny"};

const char *
lists_kind_name(size_t kind)
{
	return lists_names[kind];
}

/*
 * Parse one entry of the list flag into net/bits.  A relay entry wider
 * than relay_min_prefix_ipv4/_ipv6 is refused: 0.0.0.0/0, ::/0 or
 * ::ffff:0:0/96 typed by mistake would make an open relay.  0, or -1
 * with err.
 */
static int
lists_entry(const struct lists *lists, const char *text, unsigned flag,
	    struct addr *net, unsigned *bits, char *err, size_t errlen)
{
	bool	v4;

	if (addr_parse_prefix(text, net, bits, err, errlen) < 0)
		return -1;
	v4 = net->family == AF_INET;
	if (flag == LIST_RELAY
	    && *bits < (v4 ? lists->relay_min_v4 : lists->relay_min_v6)) {
		snprintf(err, errlen, "relay entry %s is wider than "
			 "relay_min_prefix_%s = %u (an open relay by mistake?)",
			 text, v4 ? "ipv4" : "ipv6",
			 v4 ? lists->relay_min_v4 : lists->relay_min_v6);
		return -1;
	}
	return 0;
}

/* Parse one entry; log and skip a bad one.  0, or -1 when out of memory. */
static int
lists_parse(struct lists *lists, const char *text, unsigned flag,
	    const char *where)
{
	struct lists_entry *entry;
	char	err[256];

	if ((entry = realloc(lists->file, (lists->file_count + 1)
			     * sizeof(*entry))) == NULL)
		return -1;
	lists->file = entry;
	entry += lists->file_count;
	if (lists_entry(lists, text, flag, &entry->net, &entry->bits, err,
			sizeof(err)) < 0) {
		msg_warn("%s: %s; entry skipped", where, err);
		return 0;
	}
	entry->flag = flag;
	lists->file_count++;
	return 0;
}

/* Read one list file: an entry per line, # comments. */
static int
lists_read(struct lists *lists, const char *path, unsigned flag,
	   char *err, size_t errlen)
{
	char	line[512];
	char	where[600];
	char   *start;
	char   *end;
	FILE   *fp;
	int	number = 0;
	int	ch;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		number++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			msg_warn("%s:%d: line longer than %zu bytes; skipped",
				 path, number, sizeof(line) - 2);
			while ((ch = getc(fp)) != EOF && ch != '\n')
				;
			continue;
		}
		if ((end = strchr(line, '#')) != NULL)
			*end = 0;
		start = line + strspn(line, " \t\r\n");
		for (end = start + strlen(start);
		     end > start && strchr(" \t\r\n", end[-1]); end--)
			;
		*end = 0;
		if (*start == 0)
			continue;
		snprintf(where, sizeof(where), "%s:%d", path, number);
		if (lists_parse(lists, start, flag, where) < 0) {
			fclose(fp);
			snprintf(err, errlen, "%s: out of memory", path);
			return -1;
		}
	}
	fclose(fp);
	return 0;
}

struct lists *
lists_create(const char *const files[LIST_KINDS], unsigned relay_min_v4,
	     unsigned relay_min_v6, char *err, size_t errlen)
{
	static const size_t none[LIST_KINDS];
	static char *const *const empty[LIST_KINDS];
	struct lists *lists;
	size_t	kind;

	if ((lists = calloc(1, sizeof(*lists))) == NULL
	    || pthread_rwlock_init(&lists->lock, NULL) != 0) {
		free(lists);
		snprintf(err, errlen, "lists: out of memory");
		return NULL;
	}
	lists->relay_min_v4 = relay_min_v4;
	lists->relay_min_v6 = relay_min_v6;
	for (kind = 0; kind < LIST_KINDS; kind++) {
		if (*files[kind] != 0
		    && lists_read(lists, files[kind], 1u << kind, err,
				  errlen) < 0) {
			lists_free(lists);
			return NULL;
		}
	}
	if (lists_update(lists, empty, none, lists_names) < 0) {
		snprintf(err, errlen, "lists: out of memory");
		lists_free(lists);
		return NULL;
	}
	return lists;
}

void
lists_free(struct lists *lists)
{
	if (lists == NULL)
		return;
	if (lists->table != NULL)
		prefix_table_free(lists->table);
	pthread_rwlock_destroy(&lists->lock);
	free(lists->file);
	free(lists);
}

/* Add one Redis member to table, logging and skipping a bad one. */
static int
lists_add_member(const struct lists *lists, struct prefix_table *table,
		 const char *member, unsigned flag, const char *source)
{
	struct addr net;
	unsigned bits;
	char	err[256];

	if (lists_entry(lists, member, flag, &net, &bits, err,
			sizeof(err)) < 0) {
		if (source != NULL)
			msg_warn("redis key %s: %s; entry skipped", source, err);
		return 0;
	}
	return prefix_table_add(table, &net, bits, flag);
}

int
lists_update(struct lists *lists, char *const *const members[LIST_KINDS],
	     const size_t counts[LIST_KINDS],
	     const char *const sources[LIST_KINDS])
{
	struct prefix_table *table;
	struct prefix_table *old;
	size_t	entries[LIST_KINDS];
	size_t	kind;
	size_t	i;

	if ((table = prefix_table_create()) == NULL)
		return -1;
	for (i = 0; i < lists->file_count; i++)
		if (prefix_table_add(table, &lists->file[i].net,
				     lists->file[i].bits,
				     lists->file[i].flag) < 0)
			goto nomem;
	for (kind = 0; kind < LIST_KINDS; kind++)
		for (i = 0; i < counts[kind]; i++)
			if (lists_add_member(lists, table, members[kind][i],
					     1u << kind, sources[kind]) < 0)
				goto nomem;
	if (prefix_table_finish(table) < 0)
		goto nomem;
	for (kind = 0; kind < LIST_KINDS; kind++)
		entries[kind] = prefix_table_count_flags(table, 1u << kind);
	pthread_rwlock_wrlock(&lists->lock);
	old = lists->table;
	lists->table = table;
	memcpy(lists->entries, entries, sizeof(entries));
	pthread_rwlock_unlock(&lists->lock);
	if (old != NULL)
		prefix_table_free(old);
	return 0;

nomem:
	prefix_table_free(table);
	return -1;
}

unsigned
lists_match(struct lists *lists, const struct addr *addr)
{
	unsigned relay;
	unsigned verdict;

	pthread_rwlock_rdlock(&lists->lock);
	relay = prefix_table_match(lists->table, addr, LIST_RELAY) & LIST_RELAY;
	verdict = prefix_table_match(lists->table, addr, LIST_ALLOW | LIST_DENY);
	pthread_rwlock_unlock(&lists->lock);
	if (verdict & LIST_DENY)
		verdict = LIST_DENY;
	return relay | (verdict & LIST_ALLOW) | (verdict & LIST_DENY);
}

void
lists_entries(struct lists *lists, size_t entries[LIST_KINDS])
{
	pthread_rwlock_rdlock(&lists->lock);
	memcpy(entries, lists->entries, sizeof(lists->entries));
	pthread_rwlock_unlock(&lists->lock);
}
