/*
 * server - the Prometheus endpoint: GET /metrics answers this process's
 * metrics in the text format 0.0.4 (exposition.c); any other path is
 * 404, any other method than GET 501 (libevent's answer; it would send
 * a body to HEAD, which HTTP forbids).
 *
 * libevent's evhttp, on the loop thread: no thread and no library more,
 * and what the page reads (the generation in force, zone health, Redis's
 * state) is the loop thread's anyway.  A scrape holds a reference on the
 * generation while it writes, like a policy request.  Requests are small
 * and bounded (headers 8 KiB, no body, 10 s of silence); the endpoint is
 * for a Prometheus on loopback or a private network, not for the world.
 *
 * When accept() fails, listening pauses as the policy service's does
 * (runtime/listener.c).  libevent hands the listener's error callback
 * evhttp's own pointer, not ours, so the one endpoint of the process is
 * also found through metrics_server_running.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/exposition.h"
#include "metrics/server.h"
#include "runtime/listener.h"
#include "runtime/worker.h"

/* Limits of a request. */
#define METRICS_TIMEOUT_S	10
#define METRICS_MAX_HEADERS	8192
#define METRICS_MAX_BODY	0

struct metrics_server {
	struct evhttp *http;
	struct listener_guard *guard;	/* pauses the listener */
	struct worker *worker;
};

/* The endpoint whose listener may fail (loop thread). */
static struct metrics_server *metrics_server_running;

/* A request: the metrics, or 404. */
static void
metrics_on_request(struct evhttp_request *request, void *arg)
{
	struct metrics_server *server = arg;
	const char *path = evhttp_uri_get_path(
				      evhttp_request_get_evhttp_uri(request));
	struct generation *generation;
	struct evbuffer *body;

	listener_guard_accepted(server->guard);
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(request, HTTP_NOTFOUND, NULL);
		return;
	}
	if ((body = evbuffer_new()) == NULL) {
		evhttp_send_error(request, HTTP_SERVUNAVAIL, NULL);
		return;
	}
	generation = worker_acquire(server->worker);
	exposition_write(body, generation_config(generation),
			 generation_stack(generation));
	worker_release(generation);
	evhttp_add_header(evhttp_request_get_output_headers(request),
			  "Content-Type", "text/plain; version=0.0.4; "
			  "charset=utf-8");
	evhttp_send_reply(request, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

/* accept() failed: pause listening, so that the loop does not spin. */
static void
metrics_on_accept_error(struct evconnlistener *listener, void *arg)
{
	(void) listener;
	(void) arg;
	listener_guard_failed(metrics_server_running->guard);
}

struct metrics_server *
metrics_server_create(struct event_base *base, struct worker *worker, int fd,
		      char *err, size_t errlen)
{
	struct metrics_server *server;
	struct evhttp_bound_socket *bound;
	struct evconnlistener *listener;

	if ((server = calloc(1, sizeof(*server))) == NULL
	    || (server->http = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "metrics: out of memory");
		free(server);
		evutil_closesocket(fd);
		return NULL;
	}
	server->worker = worker;
	evhttp_set_allowed_methods(server->http, EVHTTP_REQ_GET);
	evhttp_set_timeout(server->http, METRICS_TIMEOUT_S);
	evhttp_set_max_headers_size(server->http, METRICS_MAX_HEADERS);
	evhttp_set_max_body_size(server->http, METRICS_MAX_BODY);
	evhttp_set_gencb(server->http, metrics_on_request, server);
	if ((bound = evhttp_accept_socket_with_handle(server->http, fd)) == NULL
	    || (listener = evhttp_bound_socket_get_listener(bound)) == NULL
	    || (server->guard = listener_guard_create(listener,
						      "metrics")) == NULL) {
		snprintf(err, errlen, "metrics: cannot listen");
		if (bound == NULL)
			evutil_closesocket(fd);
		evhttp_free(server->http);
		free(server);
		return NULL;
	}
	evconnlistener_set_error_cb(listener, metrics_on_accept_error);
	metrics_server_running = server;
	return server;
}

void
metrics_server_free(struct metrics_server *server)
{
	if (server == NULL)
		return;
	if (metrics_server_running == server)
		metrics_server_running = NULL;
	listener_guard_free(server->guard);
	evhttp_free(server->http);
	free(server);
}
