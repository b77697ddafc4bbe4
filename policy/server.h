/*
 * server - the Postfix policy service (check_policy_service) on the
 * daemon's loop thread, deciding with decide() like the milter.
 */
#ifndef RBL_POLICY_SERVER_H
#define RBL_POLICY_SERVER_H

#include <stddef.h>

struct event_base;
struct policy_server;
struct worker;

/* Serve on the listening socket fd (taken over); NULL with err. */
struct policy_server *policy_server_create(struct event_base *base,
					   struct worker *worker, int fd,
					   char *err, size_t errlen);

/* Loop thread: close the socket and every connection. */
void	policy_server_free(struct policy_server *server);

#endif
