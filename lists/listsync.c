/*
 * listsync - keep the client lists in step with the Redis sets
 * PREFIX relay, PREFIX allow and PREFIX deny, which administrators edit
 * with redis-cli.
 *
 * Why not fetch the sets each second: a set of 200,000 members costs
 * Redis some 30 ms to send whole, so thirty hosts doing that saturate it,
 * and a million members miss any sane redis_timeout.  So a set is read
 * only when it may have changed, and what tells is cheap:
 *   - each second one pipelined SCARD per set, O(1) for Redis: a size
 *     other than the one read means a change;
 *   - Redis' change notices (watch.c) name a changed key at once, so a
 *     change that keeps the size (an SREM and an SADD) is seen too;
 *   - every redis_list_resync, at a random phase per host: with notices,
 *     the change counter (below) is compared with the one read, O(1),
 *     and a counter that moved means taking the latest copy; without
 *     notices, each set is read whatever happened.
 * A notice names the key, not the member (Redis keeps no change log of a
 * set), so a change costs a read of that set, none of the others.
 *
 * One host reads, the fleet copies: reading a million members costs
 * Redis some 650 ms of CPU, so fifty hosts reading the same change would
 * keep it busy for half a minute.  A host told of a change adds one to
 * the change counter PREFIX seq:KIND and tries to take the lock
 * PREFIX lock:KIND (SET NX, 10 s).  The host that takes it waits
 * LISTSYNC_SETTLE_MS, so that the other hosts' counts land first, reads
 * the set, writes what it read as one string PREFIX copy:KIND (with the
 * counter as the read began, listcopy.c) and frees the lock.  The others
 * wait for a copy whose counter is at least the one their own count
 * gave, which then holds their change, and read it in 1 MB pieces
 * (GETRANGE): a copy costs Redis about a memcpy.  A copy that does not
 * come (its reader died: the lock expires) makes a waiting host take the
 * lock and read itself, and so does a copy that is not recent enough.
 * The worst a mistake costs is a host reading the set itself.
 *
 * A read is SSCAN, LISTSYNC_SCAN_COUNT members a step, so Redis serves
 * everyone else between steps; the snapshot in force is replaced only
 * when a read or copy is complete and its members differ (an order-blind
 * digest), so bad entries are logged once per change.  SCARD goes with
 * the first step: a change during the read shows as a size the next check
 * does not expect.  A set that changes while it is read is read again
 * after a pause as long as the read took, so a bulk load of SADDs keeps
 * Redis scanning half the time at most.  Reads wait, at start, for the
 * notices to begin (a second at most), which would otherwise repeat them.
 *
 * A check or read that fails (no reply within redis_timeout, Redis down)
 * changes nothing: the snapshot in force stays; the first failure is
 * logged with the snapshot's age, and so is the first success after it.
 * A key of the wrong type counts as an empty set, with a warning.  The
 * state (when the lists were last known current, their sizes, whether
 * notices come) goes to the health hash as lists@HOST, for --stats.
 */
#include <event2/event.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/hash.h"
#include "lib/msg.h"
#include "lists/listcopy.h"
#include "lists/lists.h"
#include "lists/listsync.h"
#include "redis/store.h"
#include "redis/watch.h"
#include "stats/stats.h"

/* Check period, and the quicker one until every set was read once. */
#define LISTSYNC_PERIOD_MS	1000
#define LISTSYNC_FIRST_MS	100

/*
 * Members asked for in one SSCAN step: Redis spends well under a
 * millisecond on it, and a million members take 200 round trips.
 */
#define LISTSYNC_SCAN_COUNT	5000

/* How long the host that takes the lock waits for the others' counts. */
#define LISTSYNC_SETTLE_MS	50

/* How long a lock lives: a reader that dies holds it no longer. */
#define LISTSYNC_LOCK_MS	10000

/*
 * How long a host waits for a copy before it reads the set itself,
 * unless its own last read took longer: a lock whose reader is gone, or
 * was never there (the answer to its SET lost), delays no change longer.
 */
#define LISTSYNC_PATIENCE_MS	3000

/* Bytes of a copy asked for at once: some 8 ms on a 1 Gb/s network. */
#define LISTSYNC_PIECE		(1024 * 1024)

/* The largest set read or copy taken (a million IPv6 prefixes: 45 MB). */
#define LISTSYNC_COPY_MAX	((size_t) 256 * 1024 * 1024)

struct listsync;

/* One of the three sets. */
struct listsync_set {
	struct listsync *sync;		/* back pointer, for replies */
	size_t	kind;			/* LIST_RELAY is kind 0, and so on */
	char	key[256];		/* the Redis set's name */
	char	seq_key[256];		/* its change counter */
	char	lock_key[256];		/* who reads it for the fleet */
	char	copy_key[256];		/* what that host read */
	struct listcopy have;		/* the members in force */
	struct listcopy next;		/* the read or copy under way */
	struct listcopy_header header;	/* of the copy under way */
	char   *raw;			/* its members as they come */
	size_t	raw_len;		/* bytes of them so far */
	bool	read;			/* read once since the start */
	bool	dirty;			/* may have changed since the members
					 * in force (or under way) were read */
	bool	claiming;		/* counting the change, asking for
					 * the lock */
	bool	owner;			/* holds the lock: reads for all */
	bool	reading;		/* a read of the set is under way */
	bool	waiting;		/* for a copy with seq >= need */
	bool	fetching;		/* a copy is being read */
	bool	checking;		/* a SCARD (or counter) check is out */
	bool	ok;			/* the last check or read succeeded */
	bool	locked;			/* the last SET NX took the lock */
	long long need;			/* the counter a copy must reach: our
					 * count, or what a resync saw */
	struct timespec waited;		/* when waiting for a copy began */
	struct timespec began;		/* when the last read began */
	struct timespec ended;		/* when the last read ended */
	long	took_ms;		/* what the last read took */
	struct event *pause;		/* ends the pause between reads, or
					 * the owner's settling */
};

struct listsync {
	struct event *timer;		/* each second: checks */
	struct event *resync;		/* every resync_s */
	struct store *store;
	struct lists *lists;
	struct stats *stats;		/* NULL: nowhere to say the state */
	struct watch *watch;		/* Redis' change notices */
	struct listsync_set set[LIST_KINDS];
	unsigned resync_s;
	char	token[17];		/* in the locks this host takes */
	bool	failing;		/* a failure is out, not its end */
	struct timespec current;	/* when the lists were last known
					 * current (CLOCK_MONOTONIC) */
	time_t	current_wall;		/* the same, time(NULL) */
	unsigned warned;		/* kinds warned about as not sets */
	struct msg_limit refused;	/* copies refused: once a minute */
};

/* Milliseconds from a to b. */
static long
listsync_ms(const struct timespec *a, const struct timespec *b)
{
	return (long) ((b->tv_sec - a->tv_sec) * 1000
		       + (b->tv_nsec - a->tv_nsec) / 1000000);
}

/* Whether a set is doing anything but waiting to be wanted. */
static bool
listsync_busy(const struct listsync_set *set)
{
	return set->claiming || set->owner || set->reading || set->waiting
	    || set->fetching;
}
/* Warn once per episode about a key that is not a set. */
static void
listsync_warn(struct listsync *sync, const struct listsync_set *set)
{
	unsigned bit = 1u << set->kind;

	if (set->have.skipped > 0)
		msg_warn("redis key %s: %zu members with a NUL or a newline skipped",
			 set->key, set->have.skipped);
	if (set->have.card != LISTCOPY_NOT_A_SET) {
		sync->warned &= ~bit;
	} else if (!(sync->warned & bit)) {
		msg_warn("redis key %s is not a set; the %s list from Redis "
			 "is empty until it is one", set->key,
			 lists_kind_name(set->kind));
		sync->warned |= bit;
	}
}

/* Make the members in force the lists' Redis part; changed was read. */
static int
listsync_apply(struct listsync *sync, const struct listsync_set *changed)
{
	const char *sources[LIST_KINDS];
	char  **members[LIST_KINDS];
	size_t	counts[LIST_KINDS];
	size_t	kind;

	for (kind = 0; kind < LIST_KINDS; kind++) {
		members[kind] = sync->set[kind].have.index;
		counts[kind] = sync->set[kind].have.count;
		sources[kind] = sync->set + kind == changed ?
		    sync->set[kind].key : NULL;
	}
	return lists_update(sync->lists, (char *const *const *) members,
			    counts, sources);
}

/* Seconds since the lists were last known current. */
static long
listsync_age(const struct listsync *sync)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long) (now.tv_sec - sync->current.tv_sec);
}

/* Tell --stats how current the lists are. */
static void
listsync_report(const struct listsync *sync)
{
	char	text[300];
	char	when[32];
	struct tm tm;

	if (sync->stats == NULL)
		return;
	if (sync->current_wall == 0)
		snprintf(when, sizeof(when), "never");
	else
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
			 gmtime_r(&sync->current_wall, &tm));
	snprintf(text, sizeof(text), "checked=%s age=%lds relay=%zu allow=%zu "
		 "deny=%zu notices=%s", when, sync->current_wall ?
		 listsync_age(sync) : -1L, sync->set[0].have.count,
		 sync->set[1].have.count, sync->set[2].have.count,
		 watch_state_name(watch_state(sync->watch)));
	stats_set_lists(sync->stats, text);
}

/* A check or read failed: say so once, with what stays in force. */
static void
listsync_failed(struct listsync_set *set)
{
	struct listsync *sync = set->sync;

	set->ok = false;
	if (sync->failing)
		return;
	sync->failing = true;
	if (listsync_synced(sync))
		msg_warn("redis lists: a poll of the relay, allow and deny sets "
			 "failed (no reply within redis_timeout, or none at "
			 "all); the lists read %ld s ago stay in force",
			 listsync_age(sync));
	else
		msg_warn("redis lists: a poll of the relay, allow and deny sets "
			 "failed (no reply within redis_timeout, or none at "
			 "all); only the list files are in force");
}

/*
 * A check or read succeeded: when each set's last one did and none is
 * known to be stale, the lists are current; say so when that ends a
 * failure.
 */
static void
listsync_succeeded(struct listsync_set *set)
{
	struct listsync *sync = set->sync;

	set->ok = true;
	for (set = sync->set; set < sync->set + LIST_KINDS; set++)
		if (!set->ok || !set->read || set->dirty || listsync_busy(set))
			return;
	if (sync->failing)
		msg_info("redis lists: polls succeed again; the lists in force "
			 "had not been read for %ld s", listsync_age(sync));
	sync->failing = false;
	clock_gettime(CLOCK_MONOTONIC, &sync->current);
	sync->current_wall = time(NULL);
}

/*
 * Whether Redis says the key is not a set.  Any other error (an ACL
 * refusing the command, say) is a failure: the list in force stays, for
 * an empty deny list would let its clients in.
 */
static bool
listsync_not_a_set(const redisReply *reply)
{
	return reply->type == REDIS_REPLY_ERROR
	    && strncmp(reply->str, "WRONGTYPE", 9) == 0;
}

/* An integer reply, or a number in a string (GET); -1 otherwise. */
static long long
listsync_number(const redisReply *reply)
{
	char   *end;
	long long value;

	if (reply->type == REDIS_REPLY_INTEGER)
		return reply->integer;
	if (reply->type == REDIS_REPLY_NIL)
		return 0;
	if (reply->type != REDIS_REPLY_STRING)
		return -1;
	value = strtoll(reply->str, &end, 10);
	return *end == 0 && end != reply->str && value >= 0 ? value : -1;
}

/* Schedule the set's pause timer ms from now. */
static void
listsync_after(struct listsync_set *set, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(set->pause, &tv);
}

static void listsync_claim(struct listsync_set *);

/* Count the change and claim the set now, or after a read's pause. */
static void
listsync_kick(struct listsync_set *set)
{
	struct timespec now;
	long	wait_ms;

	if (listsync_busy(set) || !set->dirty
	    || evtimer_pending(set->pause, NULL)
	    || store_state(set->sync->store) != STORE_READY
	    || watch_state(set->sync->watch) == WATCH_STARTING)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	wait_ms = set->took_ms - listsync_ms(&set->ended, &now);
	if (set->read && wait_ms > 0)
		listsync_after(set, wait_ms);
	else
		listsync_claim(set);
}

/* Something may have changed the set. */
static void
listsync_want(struct listsync_set *set)
{
	set->dirty = true;
	listsync_kick(set);
}

/*
 * Make what was read or copied (next) the members in force, if they
 * differ; then the set is current.
 */
static void
listsync_install(struct listsync_set *set)
{
	struct listsync *sync = set->sync;
	struct listcopy old;

	if (listcopy_index(&set->next) < 0)
		goto nomem;
	if (set->read && set->next.digest == set->have.digest
	    && set->next.count == set->have.count
	    && set->next.card == set->have.card) {
		set->have.seq = set->next.seq;
		listcopy_clear(&set->next);
	} else {
		old = set->have;
		set->have = set->next;
		memset(&set->next, 0, sizeof(set->next));
		if (listsync_apply(sync, set) < 0) {
			listcopy_clear(&set->have);
			set->have = old;
			goto nomem;
		}
		listcopy_clear(&old);
		listsync_warn(sync, set);
	}
	set->read = true;
	listsync_succeeded(set);
	listsync_report(sync);
	listsync_kick(set);
	return;

nomem:
	msg_warn("redis lists: out of memory; the previous %s list stays in "
		 "force", lists_kind_name(set->kind));
	listcopy_clear(&set->next);
	set->dirty = true;
}

/*
 * Free the lock of a read done (or given up).  Unconditionally: a lock
 * another host took once ours expired goes too, which costs at most one
 * more read; and a DEL that cannot be sent leaves the lock to expire.
 */
static void
listsync_release(struct listsync_set *set)
{
	set->owner = false;
	(void) store_command(set->sync->store, NULL, NULL, "DEL %s",
			     set->lock_key);
}

/* The owner's read is complete: write the copy for the fleet. */
static void
listsync_publish(struct listsync_set *set)
{
	size_t	len;
	char   *text;

	/* No copy (no memory, Redis gone): the others read themselves. */
	if ((text = listcopy_format(&set->next, &len)) == NULL)
		return;
	(void) store_command(set->sync->store, NULL, NULL, "SET %s %b",
			     set->copy_key, text, len);
	free(text);
}

/* A read ended, complete or not. */
static void
listsync_end(struct listsync_set *set, bool complete)
{
	set->reading = false;
	clock_gettime(CLOCK_MONOTONIC, &set->ended);
	set->took_ms = listsync_ms(&set->began, &set->ended);
	if (complete)
		listsync_publish(set);
	listsync_release(set);
	if (complete) {
		listsync_install(set);
		return;
	}
	listcopy_clear(&set->next);
	set->dirty = true;
	listsync_failed(set);
}

/* Send the SSCAN step at cursor; false when it cannot be sent. */
static bool listsync_step(struct listsync_set *, const char *cursor);

/* An SSCAN step answered: keep its members, go on or end. */
static void
listsync_on_scan(redisReply *reply, void *arg)
{
	struct listsync_set *set = arg;
	const redisReply *members;
	size_t	i;

	if (reply == NULL) {
		listsync_end(set, false);
		return;
	}
	if (listsync_not_a_set(reply)) {
		set->next.card = LISTCOPY_NOT_A_SET;
		listsync_end(set, true);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
	    || reply->element[0]->type != REDIS_REPLY_STRING
	    || reply->element[1]->type != REDIS_REPLY_ARRAY) {
		listsync_end(set, false);
		return;
	}
	members = reply->element[1];
	for (i = 0; i < members->elements; i++)
		if (members->element[i]->type == REDIS_REPLY_STRING
		    && listcopy_add(&set->next, set->kind,
				    members->element[i]->str,
				    members->element[i]->len) < 0) {
			listsync_end(set, false);
			return;
		}
	if (strcmp(reply->element[0]->str, "0") == 0)
		listsync_end(set, true);
	/* A cursor that never ends (a broken server) ends at the bound. */
	else if (set->next.used > LISTSYNC_COPY_MAX
		 || !listsync_step(set, reply->element[0]->str))
		listsync_end(set, false);
}

static bool
listsync_step(struct listsync_set *set, const char *cursor)
{
	return store_command(set->sync->store, listsync_on_scan, set,
			     "SSCAN %s %s COUNT %d", set->key, cursor,
			     LISTSYNC_SCAN_COUNT) == 0;
}

/* The counter sent with a read's first step: the copy will carry it. */
static void
listsync_on_seq(redisReply *reply, void *arg)
{
	struct listsync_set *set = arg;
	long long value;

	/* No reply: the SSCAN step after it fails as well. */
	if (reply == NULL)
		return;
	/* Garbage in the counter counts as 0: no copy is then recent. */
	value = listsync_number(reply);
	set->next.seq = value < 0 ? 0 : value;
}

/* The SCARD sent with a read's first step answered. */
static void
listsync_on_card(redisReply *reply, void *arg)
{
	struct listsync_set *set = arg;

	/* No reply or an error: the SSCAN step after it fails as well. */
	if (reply != NULL)
		set->next.card = reply->type == REDIS_REPLY_INTEGER ?
		    reply->integer : LISTCOPY_NOT_A_SET;
}

/* The owner reads the whole set: counter, size, then SSCAN steps. */
static void
listsync_start(struct listsync_set *set)
{
	set->reading = true;
	clock_gettime(CLOCK_MONOTONIC, &set->began);
	listcopy_clear(&set->next);
	if (store_command(set->sync->store, listsync_on_seq, set, "GET %s",
			  set->seq_key) < 0
	    || store_command(set->sync->store, listsync_on_card, set,
			     "SCARD %s", set->key) < 0
	    || !listsync_step(set, "0"))
		/* Not sent: Redis went down; the next check starts again. */
		listsync_end(set, false);
}

/* A copy could not be had, or was not the one waited for. */
static void
listsync_fetch_end(struct listsync_set *set)
{
	set->fetching = false;
	free(set->raw);
	set->raw = NULL;
	memset(&set->header, 0, sizeof(set->header));
	listcopy_clear(&set->next);
}

static void listsync_on_piece(redisReply *, void *);

/* Ask for the next piece of the copy's members. */
static void
listsync_piece(struct listsync_set *set)
{
	size_t	offset = set->header.length + set->raw_len;
	size_t	len = set->header.bytes - set->raw_len;

	if (len > LISTSYNC_PIECE)
		len = LISTSYNC_PIECE;
	/* hiredis' format knows %lu, not %zu. */
	if (store_command(set->sync->store, listsync_on_piece, set,
			  "GETRANGE %s %lu %lu", set->copy_key,
			  (unsigned long) offset,
			  (unsigned long) (offset + len - 1)) < 0)
		listsync_fetch_end(set);
}

/*
 * Say, once a minute, that a copy was refused: the set is read whole in
 * its place, safe but at the cost the copies exist to save.  A copy
 * replaced while it was read is refused too, and rarely.
 */
static void
listsync_refuse(struct listsync_set *set, const char *why)
{
	msg_warn_limited(&set->sync->refused, 60, "redis key %s: %s; the "
			 "set is read whole instead (a writer of garbage, or "
			 "a proxy that cuts values?)", set->copy_key, why);
	listsync_fetch_end(set);
}

/* The copy is whole: its members become the ones in force. */
static void
listsync_copied(struct listsync_set *set)
{
	if (listcopy_parse(&set->next, set->kind, set->raw,
			   &set->header) < 0) {
		listsync_refuse(set, "a copy whose members do not match its "
				"count and digest");
		return;
	}
	free(set->raw);
	set->raw = NULL;
	memset(&set->header, 0, sizeof(set->header));
	set->fetching = false;
	set->waiting = false;
	listsync_install(set);
}

/* Take a copy's header: read on only a copy recent and new enough. */
static void
listsync_on_header(redisReply *reply, void *arg)
{
	struct listsync_set *set = arg;

	if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
		if (reply == NULL)
			listsync_failed(set);
		listsync_fetch_end(set);
		return;
	}
	if (listcopy_header(reply->str, reply->len, &set->header) <= 0
	    || set->header.bytes > LISTSYNC_COPY_MAX) {
		listsync_refuse(set, "not a copy of a list (bad header)");
		return;
	}
	if (set->header.seq < set->need) {
		listsync_fetch_end(set);
		return;
	}
	/* The members in force already: only the counter moves on. */
	if (set->read && set->header.digest == set->have.digest
	    && set->header.count == set->have.count
	    && set->header.card == set->have.card) {
		set->have.seq = set->header.seq;
		listsync_fetch_end(set);
		set->waiting = false;
		listsync_succeeded(set);
		listsync_kick(set);
		return;
	}
	if ((set->raw = malloc(set->header.bytes + 1)) == NULL) {
		listsync_fetch_end(set);
		return;
	}
	set->raw_len = 0;
	if (set->header.bytes == 0)
		listsync_copied(set);
	else
		listsync_piece(set);
}

/* A piece of the copy's members: a copy replaced meanwhile is dropped. */
static void
listsync_on_piece(redisReply *reply, void *arg)
{
	struct listsync_set *set = arg;

	if (reply == NULL || reply->type != REDIS_REPLY_STRING
	    || reply->len == 0
	    || reply->len > set->header.bytes - set->raw_len) {
		if (reply == NULL)
			listsync_failed(set);
		listsync_fetch_end(set);
		return;
	}
	memcpy(set->raw + set->raw_len, reply->str, reply->len);
	set->raw_len += reply->len;
	if (set->raw_len < set->header.bytes)
		listsync_piece(set);
	else
		listsync_copied(set);
}

/* Read the copy's header, when one is waited for. */
static void
listsync_fetch(struct listsync_set *set)
{
	if (!set->waiting || set->fetching)
		return;
	set->fetching = true;
	if (store_command(set->sync->store, listsync_on_header, set,
			  "GETRANGE %s 0 %d", set->copy_key,
			  LISTCOPY_HEADER_MAX - 1) < 0)
		listsync_fetch_end(set);
}

/* SET NX answered (the GET after it says who holds the lock). */
static void
listsync_on_lock(redisReply *reply, void *arg)
{
	struct listsync_set *set = arg;

	set->locked = reply != NULL && reply->type == REDIS_REPLY_STATUS;
}

/*
 * Who holds the lock: we do when SET NX took it, or when an earlier SET
 * whose answer was lost did (the lock holds our token); then read for
 * the fleet after settling.  Else wait for the holder's copy.
 */
static void
listsync_on_holder(redisReply *reply, void *arg)
{
	struct listsync_set *set = arg;

	set->claiming = false;
	if (reply == NULL) {
		listsync_failed(set);
		set->waiting = false;
		set->dirty = true;
		return;
	}
	if (set->locked || (reply->type == REDIS_REPLY_STRING
			    && strcmp(reply->str, set->sync->token) == 0)) {
		set->waiting = false;
		set->owner = true;
		listsync_after(set, LISTSYNC_SETTLE_MS);
		return;
	}
	if (!set->waiting)
		clock_gettime(CLOCK_MONOTONIC, &set->waited);
	set->waiting = true;
	listsync_fetch(set);
}

/* Our count of the change: a copy must be at least this recent. */
static void
listsync_on_count(redisReply *reply, void *arg)
{
	struct listsync_set *set = arg;

	/* No count (garbage in the counter): only our own read will do. */
	set->need = reply != NULL && reply->type == REDIS_REPLY_INTEGER ?
	    reply->integer : LLONG_MAX;
}

/* Ask for the lock; first count the change when count is set. */
static void
listsync_lock(struct listsync_set *set, bool count)
{
	set->claiming = true;
	if ((count && store_command(set->sync->store, listsync_on_count, set,
				    "INCR %s", set->seq_key) < 0)
	    || store_command(set->sync->store, listsync_on_lock, set,
			     "SET %s %s NX PX %d", set->lock_key,
			     set->sync->token, LISTSYNC_LOCK_MS) < 0
	    || store_command(set->sync->store, listsync_on_holder, set,
			     "GET %s", set->lock_key) < 0) {
		set->claiming = false;
		set->dirty = true;
	}
}

static void
listsync_claim(struct listsync_set *set)
{
	set->dirty = false;
	listsync_lock(set, true);
}

/* A check's SCARD answered: a size not read means a change. */
static void
listsync_on_check(redisReply *reply, void *arg)
{
	struct listsync_set *set = arg;
	long long card;

	set->checking = false;
	if (reply == NULL || (reply->type != REDIS_REPLY_INTEGER
			      && !listsync_not_a_set(reply))) {
		listsync_failed(set);
		return;
	}
	card = reply->type == REDIS_REPLY_INTEGER ? reply->integer
	    : LISTCOPY_NOT_A_SET;
	if (card != set->have.card)
		listsync_want(set);
	else
		listsync_succeeded(set);
}

/*
 * The resync's look at the change counter.  One that moved since the
 * members in force were read means changes this host may have missed:
 * it waits for a copy at least that recent, without counting a change
 * itself (a count would make every other host's resync read again, and
 * theirs this host's), and reads only when no such copy comes.
 */
static void
listsync_on_counter(redisReply *reply, void *arg)
{
	struct listsync_set *set = arg;
	long long counter;

	set->checking = false;
	if (reply == NULL) {
		listsync_failed(set);
		return;
	}
	if ((counter = listsync_number(reply)) < 0) {
		listsync_want(set);
		return;
	}
	if (counter == set->have.seq || listsync_busy(set))
		return;
	set->need = counter;
	set->waiting = true;
	clock_gettime(CLOCK_MONOTONIC, &set->waited);
	listsync_fetch(set);
}

/* Redis' notices: a key changed, everything may have, or none come. */
static void
listsync_on_notice(enum watch_event event, const char *text, size_t len,
		   void *arg)
{
	struct listsync *sync = arg;
	struct listsync_set *set;

	if (event == WATCH_REFUSED)
		msg_warn("redis lists: Redis sends no change notices (%s); a "
			 "change that keeps a set's size (SREM and SADD) takes "
			 "effect at the next full read, within "
			 "redis_list_resync = %u s", text, sync->resync_s);
	for (set = sync->set; set < sync->set + LIST_KINDS; set++) {
		if (event == WATCH_REFUSED)
			listsync_kick(set);
		else if (event == WATCH_ALL || (strlen(set->key) == len
						&& memcmp(set->key, text,
							  len) == 0))
			listsync_want(set);
		else if (strlen(set->copy_key) == len
			 && memcmp(set->copy_key, text, len) == 0)
			listsync_fetch(set);
	}
}

/* No copy yet: ask for the lock again, or read without it at last. */
static void
listsync_wait(struct listsync_set *set)
{
	struct timespec now;
	long	patience = set->took_ms > LISTSYNC_PATIENCE_MS ? set->took_ms
	    : LISTSYNC_PATIENCE_MS;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (listsync_ms(&set->waited, &now) < patience) {
		listsync_lock(set, false);
		return;
	}
	set->waiting = false;
	set->owner = true;
	listsync_start(set);
}

/* Each second: follow the notices, check the sizes, mind the waits. */
static void
listsync_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct listsync *sync = arg;
	struct listsync_set *set;
	struct timeval tv;
	unsigned ms = listsync_synced(sync) ? LISTSYNC_PERIOD_MS
	    : LISTSYNC_FIRST_MS;

	(void) fd;
	(void) what;
	watch_poll(sync->watch);
	for (set = sync->set; set < sync->set + LIST_KINDS; set++) {
		if (store_state(sync->store) != STORE_READY || set->checking)
			continue;
		/* A copy still not come: its reader may be gone. */
		if (set->waiting && !set->fetching && !set->claiming)
			listsync_wait(set);
		else if (set->dirty || listsync_busy(set)
			 || evtimer_pending(set->pause, NULL))
			listsync_kick(set);
		else
			set->checking = store_command(sync->store,
						      listsync_on_check, set,
						      "SCARD %s",
						      set->key) == 0;
	}
	listsync_report(sync);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(sync->timer, &tv);
}

/* The owner has settled: read; or a read's pause ended: claim again. */
static void
listsync_on_pause(evutil_socket_t fd, short what, void *arg)
{
	struct listsync_set *set = arg;

	(void) fd;
	(void) what;
	if (set->owner)
		listsync_start(set);
	else
		listsync_kick(set);
}

/*
 * Every resync_s (a random first phase per host).  With notices, a
 * counter other than the one read means a change this host was not told
 * of; without, each set is read, for a change that kept its size.
 */
static void
listsync_on_resync(evutil_socket_t fd, short what, void *arg)
{
	struct listsync *sync = arg;
	struct listsync_set *set;
	struct timeval tv = {sync->resync_s, 0};

	(void) fd;
	(void) what;
	for (set = sync->set; set < sync->set + LIST_KINDS; set++) {
		if (watch_state(sync->watch) != WATCH_ON)
			listsync_want(set);
		else if (!set->checking && !listsync_busy(set)
			 && store_state(sync->store) == STORE_READY)
			set->checking = store_command(sync->store,
						      listsync_on_counter, set,
						      "GET %s",
						      set->seq_key) == 0;
	}
	evtimer_add(sync->resync, &tv);
}

struct listsync *
listsync_create(struct event_base *base, struct store *store,
		struct lists *lists, struct stats *stats, const char *prefix,
		unsigned resync_s)
{
	const char *watched[LIST_KINDS + 1];
	char	copies[256];
	struct listsync *sync;
	struct listsync_set *set;
	struct timeval tv = {0, 0};
	const char *name;

	if ((sync = calloc(1, sizeof(*sync))) == NULL)
		return NULL;
	sync->store = store;
	sync->lists = lists;
	sync->stats = stats;
	sync->resync_s = resync_s;
	snprintf(sync->token, sizeof(sync->token), "%08" PRIx32 "%08" PRIx32,
		 arc4random(), arc4random());
	for (set = sync->set; set < sync->set + LIST_KINDS; set++) {
		set->sync = sync;
		set->kind = (size_t) (set - sync->set);
		set->dirty = true;
		name = lists_kind_name(set->kind);
		snprintf(set->key, sizeof(set->key), "%s%s", prefix, name);
		snprintf(set->seq_key, sizeof(set->seq_key), "%sseq:%s",
			 prefix, name);
		snprintf(set->lock_key, sizeof(set->lock_key), "%slock:%s",
			 prefix, name);
		snprintf(set->copy_key, sizeof(set->copy_key), "%scopy:%s",
			 prefix, name);
		watched[set->kind] = set->key;
		if ((set->pause = evtimer_new(base, listsync_on_pause,
					      set)) == NULL) {
			listsync_free(sync);
			return NULL;
		}
	}
	snprintf(copies, sizeof(copies), "%scopy:", prefix);
	watched[LIST_KINDS] = copies;
	if ((sync->timer = evtimer_new(base, listsync_on_timer, sync)) == NULL
	    || (sync->resync = evtimer_new(base, listsync_on_resync,
					   sync)) == NULL
	    || (sync->watch = watch_create(base, store, watched,
					   LIST_KINDS + 1, listsync_on_notice,
					   sync)) == NULL) {
		listsync_free(sync);
		return NULL;
	}
	/* Hosts started together do not resync together ever after. */
	tv.tv_sec = resync_s / 2 + arc4random_uniform(resync_s / 2 + 1);
	evtimer_add(sync->resync, &tv);
	event_active(sync->timer, EV_TIMEOUT, 1);
	return sync;
}

void
listsync_free(struct listsync *sync)
{
	struct listsync_set *set;

	if (sync == NULL)
		return;
	watch_free(sync->watch);
	if (sync->timer != NULL)
		event_free(sync->timer);
	if (sync->resync != NULL)
		event_free(sync->resync);
	for (set = sync->set; set < sync->set + LIST_KINDS; set++) {
		if (set->pause != NULL)
			event_free(set->pause);
		listcopy_clear(&set->have);
		listcopy_clear(&set->next);
		free(set->raw);
	}
	free(sync);
}

bool
listsync_synced(const struct listsync *sync)
{
	const struct listsync_set *set;

	for (set = sync->set; set < sync->set + LIST_KINDS; set++)
		if (!set->read)
			return false;
	return true;
}
