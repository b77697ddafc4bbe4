/*
 * server - the Prometheus endpoint (metrics_socket): GET /metrics over
 * HTTP on the daemon's loop thread, beside the policy service.
 */
#ifndef RBL_METRICS_SERVER_H
#define RBL_METRICS_SERVER_H

#include <stddef.h>

struct event_base;
struct metrics_server;
struct worker;

/* Serve on the listening socket fd (taken over); NULL with err. */
struct metrics_server *metrics_server_create(struct event_base *base,
					     struct worker *worker, int fd,
					     char *err, size_t errlen);

/* Loop thread: close the socket and every connection. */
void	metrics_server_free(struct metrics_server *server);

#endif
