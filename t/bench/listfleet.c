/*
 * listfleet - a fleet of simulated MX hosts keeping the client lists of
 * one Redis, for the list benchmark (t/bench/lists.sh).
 *
 *     listfleet -p PORT -n HOSTS [-b] [-i IDLE_S]
 *
 * Each host is a thread with its own event loop, Redis connection and
 * lists, as a daemon has: listsync (the product), or with -b the way
 * rblmilter read lists before (all three sets with SMEMBERS each second,
 * rebuilt when their digest changed), the baseline.  The sets
 * rblmilter:relay/allow/deny must be loaded already; 192.0.2.1 must be on
 * the relay set.  It prints, on one line each:
 *   idle: Redis CPU per host and second over IDLE_S seconds (INFO's
 *         used_cpu_sys + used_cpu_user), less what Redis spends with no
 *         host at all (measured first, as long), and the hosts' own CPU;
 *   add, swap: the time from an SADD to the relay set (the set grows), and
 *         from an SREM with an SADD (its size stays), until the first and
 *         the last host match the new member, and Redis' CPU and the
 *         hosts' CPU meanwhile (on a small machine the hosts' own work,
 *         which a fleet does on as many machines, can be what "all"
 *         waits for).
 */
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/hash.h"
#include "lists/lists.h"
#include "lists/listsync.h"
#include "redis/store.h"

#define FLEET_MAX	200

/* One simulated host. */
struct host {
	pthread_t thread;
	struct event_base *base;
	struct store *store;
	struct lists *lists;
	struct listsync *sync;		/* the product */
	struct event *poll;		/* the baseline's timer */
	/* The baseline's poll: what each SMEMBERS got, in order. */
	unsigned answers;
	char  **members[LIST_KINDS];
	size_t	counts[LIST_KINDS];
	uint64_t digest;		/* of the sets last applied */
	uint64_t next_digest;		/* of the poll under way */
};

static const char *const keys[LIST_KINDS] = {
	"rblmilter:relay", "rblmilter:allow", "rblmilter:deny",
};

/* Baseline: one SMEMBERS reply; when all three are in, rebuild if new. */
static void
old_on_reply(redisReply *reply, void *arg)
{
	struct host *host = arg;
	size_t	kind = host->answers++;
	size_t	i;

	if (reply != NULL && reply->type == REDIS_REPLY_ARRAY) {
		host->members[kind] = calloc(reply->elements + 1,
					     sizeof(char *));
		for (i = 0; i < reply->elements; i++) {
			host->members[kind][i] = strndup(reply->element[i]->str,
						reply->element[i]->len);
			host->next_digest += hash_bytes(kind,
							reply->element[i]->str,
							reply->element[i]->len);
		}
		host->counts[kind] = reply->elements;
	}
	if (host->answers < LIST_KINDS)
		return;
	if (host->next_digest != host->digest) {
		lists_update(host->lists, (char *const *const *) host->members,
			     host->counts, keys);
		host->digest = host->next_digest;
	}
	for (kind = 0; kind < LIST_KINDS; kind++) {
		for (i = 0; i < host->counts[kind]; i++)
			free(host->members[kind][i]);
		free(host->members[kind]);
		host->members[kind] = NULL;
		host->counts[kind] = 0;
	}
	host->answers = 0;
	host->next_digest = 0;
}

/* Baseline: each second, fetch the three sets whole. */
static void
old_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct host *host = arg;
	struct timeval tv = {1, 0};
	size_t	kind;

	(void) fd;
	(void) what;
	if (store_state(host->store) == STORE_READY)
		for (kind = 0; kind < LIST_KINDS; kind++)
			store_command(host->store, old_on_reply, host,
				      "SMEMBERS %s", keys[kind]);
	evtimer_add(host->poll, &tv);
}

static void *
host_run(void *arg)
{
	struct host *host = arg;

	event_base_dispatch(host->base);
	return NULL;
}

/* Milliseconds of the monotonic clock. */
static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Redis' own CPU time so far, in milliseconds. */
static double
redis_cpu_ms(redisContext *redis)
{
	redisReply *reply = redisCommand(redis, "INFO cpu");
	double	sys = 0;
	double	user = 0;
	const char *at;

	if (reply != NULL && reply->type == REDIS_REPLY_STRING) {
		if ((at = strstr(reply->str, "used_cpu_sys:")) != NULL)
			sys = atof(at + 13);
		if ((at = strstr(reply->str, "used_cpu_user:")) != NULL)
			user = atof(at + 14);
	}
	freeReplyObject(reply);
	return (sys + user) * 1e3;
}

/* Our own CPU time so far, in milliseconds. */
static double
self_cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3
	    + ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

/* How many hosts have ip on the relay list. */
static int
relaying(struct host *hosts, int n, const char *ip)
{
	struct addr addr;
	int	count = 0;
	int	i;

	addr_parse(ip, &addr);
	for (i = 0; i < n; i++)
		count += (lists_match(hosts[i].lists, &addr) & LIST_RELAY) != 0;
	return count;
}

/*
 * Wait until every host relays ip (or 60 s pass); print the time to the
 * first and to the last, and Redis CPU meanwhile.
 */
static void
measure(const char *name, redisContext *redis, struct host *hosts, int n,
	const char *ip, double start, double cpu)
{
	double	self = self_cpu_ms();
	double	first = -1;
	double	t;
	int	count;

	do {
		count = relaying(hosts, n, ip);
		t = now_ms() - start;
		if (count > 0 && first < 0)
			first = t;
		if (count < n)
			usleep(1000);
	} while (count < n && t < 60000);
	printf("%s: first %.0f ms, all %d of %d %.0f ms, redis cpu %.1f ms, "
	       "hosts' cpu %.0f ms\n", name, first, count, n, t,
	       redis_cpu_ms(redis) - cpu, self_cpu_ms() - self);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	static const char *const no_files[LIST_KINDS] = {"", "", ""};
	static struct host hosts[FLEET_MAX];
	struct store_options options = {
		.host = "127.0.0.1", .sentinels = "", .master_name = "",
		.username = "", .password = "", .timeout_ms = 10000,
	};
	redisContext *redis;
	bool	baseline = false;
	double	alone;
	double	cpu;
	double	self;
	double	start;
	char	err[256];
	int	idle_s = 10;
	int	n = 1;
	int	opt;
	int	i;

	while ((opt = getopt(argc, argv, "bi:n:p:")) != -1) {
		switch (opt) {
		case 'b':
			baseline = true;
			break;
		case 'i':
			idle_s = atoi(optarg);
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 'p':
			options.port = (unsigned) atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: listfleet -p PORT -n HOSTS [-b] "
				"[-i IDLE_S]\n");
			return 2;
		}
	}
	if (n < 1 || n > FLEET_MAX || options.port == 0
	    || (redis = redisConnect("127.0.0.1", (int) options.port)) == NULL
	    || redis->err) {
		fprintf(stderr, "listfleet: bad arguments, or no Redis\n");
		return 2;
	}
	freeReplyObject(redisCommand(redis, "SREM rblmilter:relay 192.0.2.2 "
				     "192.0.2.3"));
	/* What Redis spends on itself (serverCron) with no host at all. */
	cpu = redis_cpu_ms(redis);
	sleep((unsigned) idle_s);
	alone = (redis_cpu_ms(redis) - cpu) / idle_s;
	for (i = 0; i < n; i++) {
		struct host *host = hosts + i;

		host->base = event_base_new();
		host->store = store_create(host->base, &options, err,
					   sizeof(err));
		host->lists = lists_create(no_files, 8, 16, err, sizeof(err));
		if (host->base == NULL || host->store == NULL
		    || host->lists == NULL) {
			fprintf(stderr, "listfleet: %s\n", err);
			return 1;
		}
		if (baseline) {
			host->poll = evtimer_new(host->base, old_on_timer, host);
			event_active(host->poll, EV_TIMEOUT, 1);
		} else
			host->sync = listsync_create(host->base, host->store,
						     host->lists, NULL,
						     "rblmilter:", 300);
		pthread_create(&host->thread, NULL, host_run, host);
	}
	start = now_ms();
	while (relaying(hosts, n, "192.0.2.1") < n && now_ms() - start < 120000)
		usleep(10000);
	printf("start: %d hosts synced in %.0f ms\n", relaying(hosts, n,
	       "192.0.2.1"), now_ms() - start);
	sleep(2);
	cpu = redis_cpu_ms(redis);
	self = self_cpu_ms();
	sleep((unsigned) idle_s);
	printf("idle: redis cpu %.3f ms per host per second (%.2f ms/s in "
	       "all, %.2f of them with no host); hosts' cpu %.3f ms per host "
	       "per second\n",
	       ((redis_cpu_ms(redis) - cpu) / idle_s - alone) / n,
	       (redis_cpu_ms(redis) - cpu) / idle_s, alone,
	       (self_cpu_ms() - self) / idle_s / n);
	cpu = redis_cpu_ms(redis);
	start = now_ms();
	freeReplyObject(redisCommand(redis, "SADD rblmilter:relay 192.0.2.2"));
	measure("add", redis, hosts, n, "192.0.2.2", start, cpu);
	sleep(2);
	cpu = redis_cpu_ms(redis);
	start = now_ms();
	freeReplyObject(redisCommand(redis, "SREM rblmilter:relay 192.0.2.2"));
	freeReplyObject(redisCommand(redis, "SADD rblmilter:relay 192.0.2.3"));
	measure("swap", redis, hosts, n, "192.0.2.3", start, cpu);
	fflush(stdout);
	/* The hosts' threads end with the process. */
	_exit(0);
}
