/*
 * worker - the loop thread of the daemon: one libevent loop that owns the
 * DNS engine, Redis and the caches, and the hand-off of lookups from the
 * milter's session threads to it.
 *
 * Threads meet in three places, each with its own lock:
 *  - the inbox (worker.lock): messages for the loop thread, which an
 *    event made active from any thread (libevent's pthreads locking) wakes;
 *  - the generation in force (worker.lock) and generation reference counts
 *    (atomic): the last reference posts the generation's retirement to the
 *    loop thread, which writes its counters and frees it once those writes
 *    have been answered (a second at most);
 *  - each lookup (lookup.lock, lookup.cond): the loop thread fills it in,
 *    the session thread waits for it with a deadline; whichever of the two
 *    lets go last frees it.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decide/stack.h"
#include "conf/config.h"
#include "dnsbl/verdict.h"
#include "greylist/greylist.h"
#include "lib/domain.h"
#include "lib/msg.h"
#include "runtime/worker.h"

/* Wait this much longer than Redis and DNS may take together. */
#define WORKER_MARGIN_MS	250

/*
 * A retired generation lives until its counters are written, looking
 * every WORKER_RETIRE_POLL_MS, WORKER_RETIRE_POLLS times at most.
 */
#define WORKER_RETIRE_POLL_MS	20
#define WORKER_RETIRE_POLLS	50

/*
 * A stop waits this long for the generations still in use (a session
 * stuck in libmilter) before the loop ends without them.
 */
#define WORKER_STOP_MS		1500

/* Something for the loop thread to do. */
struct worker_msg {
	void	(*run) (struct worker *, void *);
	void   *arg;
	struct worker_msg *next;
};

struct generation {
	struct config *config;
	struct stack *stack;
	unsigned refs;			/* atomic; +1 while in force */
	struct worker *worker;
	struct worker_msg retire;	/* posted by the last release */
	struct event *timer;		/* frees it after retirement */
	unsigned polls;			/* of the timer, since retirement */
	struct generation *next;	/* in worker->all (loop thread) */
	struct generation **prev;
};

struct worker_lookup {
	pthread_mutex_t lock;		/* guards done, verdict, level, refs */
	pthread_cond_t cond;		/* done became true */
	unsigned refs;			/* the session, and the loop until done */
	bool	done;
	struct verdict *verdict;
	enum cache_level level;
	int	kind;			/* enum dnsbl_kind */
	char	subject[DOMAIN_NAME_SIZE];	/* the IP as text, or a name */
	struct greylist_triplet triplet;	/* a greylisting check's */
	int	greylist;		/* its enum greylist_outcome */
	unsigned wait;			/* and seconds */
	struct generation *generation;	/* referenced */
	struct timespec deadline;	/* CLOCK_MONOTONIC */
	struct worker *worker;
	struct worker_msg msg;		/* the hand-off to the loop */
};

struct worker {
	struct event_base *base;
	pthread_t thread;
	struct event *wakeup;		/* active: the inbox has messages */
	pthread_mutex_t lock;		/* guards inbox and current */
	struct worker_msg *inbox;	/* newest first */
	struct generation *current;
	pthread_cond_t reloaded;	/* a reload message was handled */
	int	reload_status;
	char	reload_err[256];
	bool	reload_done;
	unsigned generations;		/* not yet freed (loop thread) */
	struct generation *all;		/* those generations (loop thread) */
	struct worker_frontend frontend[WORKER_FRONTENDS];	/* on the loop */
	void   *front[WORKER_FRONTENDS];	/* their states */
	size_t	fronts;			/* open */
	bool	stopping;		/* end the loop when none is left */
	struct event *stop_timer;	/* ends it anyway (WORKER_STOP_MS) */
	struct worker_msg abort;	/* worker_abort()'s message */
};

/* Post a message to the loop thread. */
static void
worker_post(struct worker *worker, struct worker_msg *msg)
{
	pthread_mutex_lock(&worker->lock);
	msg->next = worker->inbox;
	worker->inbox = msg;
	pthread_mutex_unlock(&worker->lock);
	event_active(worker->wakeup, EV_READ, 1);
}

/* Loop thread: run the messages in the order they came. */
static void
worker_on_wakeup(evutil_socket_t fd, short what, void *arg)
{
	struct worker *worker = arg;
	struct worker_msg *list;
	struct worker_msg *reversed = NULL;
	struct worker_msg *msg;

	(void) fd;
	(void) what;
	pthread_mutex_lock(&worker->lock);
	list = worker->inbox;
	worker->inbox = NULL;
	pthread_mutex_unlock(&worker->lock);
	while ((msg = list) != NULL) {
		list = msg->next;
		msg->next = reversed;
		reversed = msg;
	}
	while ((msg = reversed) != NULL) {
		reversed = msg->next;
		msg->run(worker, msg->arg);
	}
}

/* Loop thread: free a generation (its stack first: it uses the config). */
static void
worker_free_generation(struct worker *worker, struct generation *generation)
{
	if (generation->timer != NULL)
		event_free(generation->timer);
	if ((*generation->prev = generation->next) != NULL)
		generation->next->prev = generation->prev;
	stack_free(generation->stack);
	config_free(generation->config);
	free(generation);
	if (--worker->generations == 0 && worker->stopping)
		event_base_loopbreak(worker->base);
}

/* Loop thread: free a retired generation once its counters are written. */
static void
worker_on_retired(evutil_socket_t fd, short what, void *arg)
{
	struct generation *generation = arg;
	struct timeval later = {0, WORKER_RETIRE_POLL_MS * 1000};

	(void) fd;
	(void) what;
	if (stack_flush(generation->stack) > 0
	    && generation->polls++ < WORKER_RETIRE_POLLS
	    && evtimer_add(generation->timer, &later) == 0)
		return;
	worker_free_generation(generation->worker, generation);
}

/* Loop thread: a generation nobody uses any more. */
static void
worker_retire(struct worker *worker, void *arg)
{
	struct generation *generation = arg;

	generation->timer = evtimer_new(worker->base, worker_on_retired,
					generation);
	if (generation->timer == NULL)
		worker_free_generation(worker, generation);
	else
		worker_on_retired(-1, EV_TIMEOUT, generation);
}

void
worker_release(struct generation *generation)
{
	if (__atomic_sub_fetch(&generation->refs, 1, __ATOMIC_ACQ_REL) == 0)
		worker_post(generation->worker, &generation->retire);
}

struct generation *
worker_acquire(struct worker *worker)
{
	struct generation *generation;

	pthread_mutex_lock(&worker->lock);
	generation = worker->current;
	__atomic_add_fetch(&generation->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&worker->lock);
	return generation;
}

const struct config *
generation_config(const struct generation *generation)
{
	return generation->config;
}

struct stack *
generation_stack(const struct generation *generation)
{
	return generation->stack;
}

/* A generation for config, on the loop's base; NULL with err. */
static struct generation *
worker_generation(struct worker *worker, struct config *config,
		  char *err, size_t errlen)
{
	struct generation *generation;

	if ((generation = calloc(1, sizeof(*generation))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	generation->stack = stack_create(worker->base, config, err, errlen);
	if (generation->stack == NULL) {
		free(generation);
		return NULL;
	}
	generation->config = config;
	generation->refs = 1;
	worker->generations++;
	if ((generation->next = worker->all) != NULL)
		worker->all->prev = &generation->next;
	generation->prev = &worker->all;
	worker->all = generation;
	generation->worker = worker;
	generation->retire.run = worker_retire;
	generation->retire.arg = generation;
	return generation;
}

/* Drop a reference on a lookup; the last one frees it. */
static void
worker_lookup_unref(struct worker_lookup *lookup)
{
	unsigned refs;

	pthread_mutex_lock(&lookup->lock);
	refs = --lookup->refs;
	pthread_mutex_unlock(&lookup->lock);
	if (refs != 0)
		return;
	verdict_free(lookup->verdict);
	worker_release(lookup->generation);
	pthread_cond_destroy(&lookup->cond);
	pthread_mutex_destroy(&lookup->lock);
	free(lookup);
}

/* Hand the result to the waiting session. */
static void
worker_complete(struct worker_lookup *lookup, struct verdict *verdict,
		enum cache_level level)
{
	pthread_mutex_lock(&lookup->lock);
	lookup->verdict = verdict;
	lookup->level = level;
	lookup->done = true;
	pthread_cond_broadcast(&lookup->cond);
	pthread_mutex_unlock(&lookup->lock);
}

/* Loop thread: the stack has the verdict. */
static void
worker_on_verdict(struct verdict *verdict, enum cache_level level, void *arg)
{
	struct worker_lookup *lookup = arg;

	worker_complete(lookup, verdict, level);
	worker_lookup_unref(lookup);
}

/* Loop thread: start the lookup a session submitted. */
static void
worker_lookup_run(struct worker *worker, void *arg)
{
	struct worker_lookup *lookup = arg;

	(void) worker;
	if (stack_lookup(lookup->generation->stack, lookup->kind,
			 lookup->subject, worker_on_verdict, lookup) < 0)
		worker_on_verdict(NULL, CACHE_MISS, lookup);
}

/*
 * A lookup with its deadline ms from now and a reference on generation,
 * held by the caller (refs 1); NULL when out of memory.
 */
static struct worker_lookup *
worker_lookup_new(struct worker *worker, struct generation *generation,
		  unsigned ms)
{
	struct worker_lookup *lookup;
	pthread_condattr_t attr;

	if ((lookup = calloc(1, sizeof(*lookup))) == NULL)
		return NULL;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&lookup->lock, NULL) != 0
	    || pthread_cond_init(&lookup->cond, &attr) != 0) {
		pthread_condattr_destroy(&attr);
		free(lookup);
		return NULL;
	}
	pthread_condattr_destroy(&attr);
	lookup->worker = worker;
	lookup->generation = generation;
	__atomic_add_fetch(&generation->refs, 1, __ATOMIC_ACQ_REL);
	clock_gettime(CLOCK_MONOTONIC, &lookup->deadline);
	lookup->deadline.tv_sec += ms / 1000;
	lookup->deadline.tv_nsec += (long) (ms % 1000) * 1000000;
	if (lookup->deadline.tv_nsec >= 1000000000) {
		lookup->deadline.tv_sec++;
		lookup->deadline.tv_nsec -= 1000000000;
	}
	lookup->refs = 1;
	return lookup;
}

/* Hand a lookup to the loop thread, which holds it until run ends it. */
static void
worker_lookup_post(struct worker_lookup *lookup,
		   void (*run) (struct worker *, void *))
{
	lookup->refs = 2;
	lookup->msg.run = run;
	lookup->msg.arg = lookup;
	worker_post(lookup->worker, &lookup->msg);
}

/* Wait (lock held) for the loop thread until the deadline; done? */
static bool
worker_lookup_await(struct worker_lookup *lookup)
{
	while (!lookup->done
	       && pthread_cond_timedwait(&lookup->cond, &lookup->lock,
					 &lookup->deadline) != ETIMEDOUT)
		;
	return lookup->done;
}

struct worker_lookup *
worker_submit(struct worker *worker, struct generation *generation,
	      int kind, const char *subject)
{
	const struct config *config = generation->config;
	struct worker_lookup *lookup;
	struct verdict *verdict;

	if (strlen(subject) >= DOMAIN_NAME_SIZE
	    || (lookup = worker_lookup_new(worker, generation,
					   config->redis_timeout
					   + config->dnsbl_timeout
					   + WORKER_MARGIN_MS)) == NULL)
		return NULL;
	lookup->kind = kind;
	strcpy(lookup->subject, subject);
	if ((verdict = stack_cached(generation->stack, kind, subject)) != NULL) {
		worker_complete(lookup, verdict, CACHE_MEMORY);
		return lookup;
	}
	worker_lookup_post(lookup, worker_lookup_run);
	return lookup;
}

const struct verdict *
worker_wait(struct worker_lookup *lookup, enum cache_level *level)
{
	const struct verdict *verdict = NULL;

	pthread_mutex_lock(&lookup->lock);
	if (worker_lookup_await(lookup)) {
		verdict = lookup->verdict;
		*level = lookup->level;
	}
	pthread_mutex_unlock(&lookup->lock);
	return verdict;
}

void
worker_lookup_free(struct worker_lookup *lookup)
{
	worker_lookup_unref(lookup);
}

/* Loop thread: the greylisting state answered a session's check. */
static void
worker_on_greylist(enum greylist_outcome outcome, unsigned wait, void *arg)
{
	struct worker_lookup *lookup = arg;

	pthread_mutex_lock(&lookup->lock);
	lookup->greylist = outcome;
	lookup->wait = wait;
	lookup->done = true;
	pthread_cond_broadcast(&lookup->cond);
	pthread_mutex_unlock(&lookup->lock);
	worker_lookup_unref(lookup);
}

/* Loop thread: start the greylisting check a session submitted. */
static void
worker_greylist_run(struct worker *worker, void *arg)
{
	struct worker_lookup *lookup = arg;

	(void) worker;
	stack_greylist(lookup->generation->stack, &lookup->triplet,
		       worker_on_greylist, lookup);
}

int
worker_greylist(struct worker *worker, struct generation *generation,
		const struct greylist_triplet *triplet, unsigned *wait)
{
	struct worker_lookup *lookup;
	int	outcome = GREYLIST_OFF;

	*wait = 0;
	if ((lookup = worker_lookup_new(worker, generation,
					3 * generation->config->redis_timeout
					+ WORKER_MARGIN_MS)) == NULL)
		return GREYLIST_OFF;
	lookup->triplet = *triplet;
	worker_lookup_post(lookup, worker_greylist_run);
	pthread_mutex_lock(&lookup->lock);
	if (worker_lookup_await(lookup)) {
		outcome = lookup->greylist;
		*wait = lookup->wait;
	}
	pthread_mutex_unlock(&lookup->lock);
	worker_lookup_unref(lookup);
	return outcome;
}

/* What a reload message carries. */
struct worker_reload_msg {
	struct worker_msg msg;
	struct config *config;
	struct generation *generation;	/* the new one, once built */
	struct event *timer;		/* polls its Redis start */
	unsigned polls;
	char	err[256];
};

/* How often, and how many times, a reload looks whether Redis is up. */
#define WORKER_RELOAD_POLL_MS	50
#define WORKER_RELOAD_POLLS	60

/* Loop thread: end a reload, with its new generation in force or not. */
static void
worker_reload_end(struct worker *worker, struct worker_reload_msg *reload)
{
	struct generation *old = NULL;

	if (reload->timer != NULL)
		event_free(reload->timer);
	pthread_mutex_lock(&worker->lock);
	if (reload->generation != NULL) {
		old = worker->current;
		worker->current = reload->generation;
	}
	worker->reload_status = reload->generation != NULL ? 0 : -1;
	snprintf(worker->reload_err, sizeof(worker->reload_err), "%s",
		 reload->err);
	worker->reload_done = true;
	pthread_cond_broadcast(&worker->reloaded);
	pthread_mutex_unlock(&worker->lock);
	if (old != NULL)
		worker_release(old);
}

/*
 * Loop thread: put the new generation in force once its Redis lists are
 * read (or Redis is found down, or three seconds passed), so that a
 * reload never serves a moment without the relay, allow and deny sets.
 */
static void
worker_on_reload_poll(evutil_socket_t fd, short what, void *arg)
{
	struct worker_reload_msg *reload = arg;
	struct worker *worker = reload->generation->worker;
	struct timeval tv = {0, WORKER_RELOAD_POLL_MS * 1000};

	(void) fd;
	(void) what;
	if (stack_starting(reload->generation->stack)
	    && reload->polls++ < WORKER_RELOAD_POLLS
	    && evtimer_add(reload->timer, &tv) == 0)
		return;
	worker_reload_end(worker, reload);
}

/* Loop thread: build the new generation, then wait for its Redis. */
static void
worker_reload_run(struct worker *worker, void *arg)
{
	struct worker_reload_msg *reload = arg;

	reload->generation = worker_generation(worker, reload->config,
					       reload->err,
					       sizeof(reload->err));
	if (reload->generation == NULL
	    || (reload->timer = evtimer_new(worker->base,
					    worker_on_reload_poll,
					    reload)) == NULL) {
		worker_reload_end(worker, reload);
		return;
	}
	worker_on_reload_poll(-1, EV_TIMEOUT, reload);
}

int
worker_reload(struct worker *worker, struct config *config, char *err,
	      size_t errlen)
{
	struct worker_reload_msg reload = {.config = config};
	int	status;

	reload.msg.run = worker_reload_run;
	reload.msg.arg = &reload;
	pthread_mutex_lock(&worker->lock);
	worker->reload_done = false;
	pthread_mutex_unlock(&worker->lock);
	worker_post(worker, &reload.msg);
	pthread_mutex_lock(&worker->lock);
	while (!worker->reload_done)
		pthread_cond_wait(&worker->reloaded, &worker->lock);
	status = worker->reload_status;
	snprintf(err, errlen, "%s", worker->reload_err);
	pthread_mutex_unlock(&worker->lock);
	if (status < 0)
		config_free(config);
	return status;
}

/* The loop thread: runs until worker_stop() and the last generation. */
static void *
worker_main(void *arg)
{
	struct worker *worker = arg;

	if (event_base_loop(worker->base, EVLOOP_NO_EXIT_ON_EMPTY) < 0)
		msg_error("event loop failed");
	return NULL;
}

/* Loop thread: end every generation's lookups now (stack_abort()). */
static void
worker_abort_run(struct worker *worker, void *arg)
{
	struct generation *generation;

	(void) arg;
	for (generation = worker->all; generation != NULL;
	     generation = generation->next)
		stack_abort(generation->stack);
}

void
worker_abort(struct worker *worker)
{
	worker->abort.run = worker_abort_run;
	worker_post(worker, &worker->abort);
}

/* Loop thread: WORKER_STOP_MS after the stop, some generation is in use. */
static void
worker_on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
	struct worker *worker = arg;

	(void) fd;
	(void) what;
	msg_warn("stopping with %u configuration generation(s) still in use",
		 worker->generations);
	event_base_loopbreak(worker->base);
}

/* Close the front ends, the last opened first. */
static void
worker_close_fronts(struct worker *worker)
{
	while (worker->fronts > 0) {
		worker->fronts--;
		worker->frontend[worker->fronts].close(
					      worker->front[worker->fronts]);
	}
}

/*
 * Loop thread: close the front ends, end the lookups in flight (no
 * session waits for them any more), and retire the generation in force;
 * the loop ends when every generation is freed, that is when the last
 * lookup has finished and the counters have been written, or after
 * WORKER_STOP_MS.
 */
static void
worker_stop_run(struct worker *worker, void *arg)
{
	struct timeval later = {WORKER_STOP_MS / 1000,
	(WORKER_STOP_MS % 1000) * 1000};
	struct generation *generation;

	worker_close_fronts(worker);
	worker_abort_run(worker, arg);
	pthread_mutex_lock(&worker->lock);
	generation = worker->current;
	worker->current = NULL;
	worker->stopping = true;
	pthread_mutex_unlock(&worker->lock);
	if ((worker->stop_timer = evtimer_new(worker->base, worker_on_stop_timer,
					      worker)) != NULL)
		evtimer_add(worker->stop_timer, &later);
	worker_release(generation);
}

void
worker_stop(struct worker *worker)
{
	struct worker_msg stop = {.run = worker_stop_run};

	worker_post(worker, &stop);
	pthread_join(worker->thread, NULL);
	/* A generation still in use is left to the process's exit. */
	if (worker->generations != 0)
		return;
	if (worker->stop_timer != NULL)
		event_free(worker->stop_timer);
	event_free(worker->wakeup);
	event_base_free(worker->base);
	pthread_cond_destroy(&worker->reloaded);
	pthread_mutex_destroy(&worker->lock);
	free(worker);
}

struct worker *
worker_start(struct config *config, const struct worker_frontend *frontends,
	     size_t count, char *err, size_t errlen)
{
	struct worker *worker;

	if (count > WORKER_FRONTENDS)
		msg_panic("worker_start: %zu front ends", count);
	if (evthread_use_pthreads() < 0
	    || (worker = calloc(1, sizeof(*worker))) == NULL) {
		snprintf(err, errlen, "out of memory");
		config_free(config);
		return NULL;
	}
	pthread_mutex_init(&worker->lock, NULL);
	pthread_cond_init(&worker->reloaded, NULL);
	if ((worker->base = event_base_new()) == NULL
	    || (worker->wakeup = event_new(worker->base, -1, EV_READ,
					   worker_on_wakeup, worker)) == NULL) {
		snprintf(err, errlen, "cannot make an event loop");
		goto fail;
	}
	if ((worker->current = worker_generation(worker, config, err,
						 errlen)) == NULL)
		goto fail;
	config = NULL;
	for (; worker->fronts < count; worker->fronts++) {
		worker->frontend[worker->fronts] = frontends[worker->fronts];
		if ((worker->front[worker->fronts] =
		     frontends[worker->fronts].open(worker->base, worker,
						    frontends[worker->fronts].arg,
						    err, errlen)) == NULL) {
			worker_close_fronts(worker);
			worker_free_generation(worker, worker->current);
			goto fail;
		}
	}
	/* Before any session: Redis connected and the lists read. */
	stack_start(worker->current->stack, true);
	if (pthread_create(&worker->thread, NULL, worker_main, worker) != 0) {
		snprintf(err, errlen, "cannot start the loop thread");
		worker_close_fronts(worker);
		worker_free_generation(worker, worker->current);
		goto fail;
	}
	return worker;

fail:
	config_free(config);
	if (worker->wakeup)
		event_free(worker->wakeup);
	if (worker->base)
		event_base_free(worker->base);
	pthread_cond_destroy(&worker->reloaded);
	pthread_mutex_destroy(&worker->lock);
	free(worker);
	return NULL;
}
