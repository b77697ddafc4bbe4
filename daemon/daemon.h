/*
 * daemon - rblmilter as a service: the milter socket, detaching, pid
 * file, privileges, threads, reloads and stopping.
 */
#ifndef RBL_DAEMON_DAEMON_H
#define RBL_DAEMON_DAEMON_H

#include <stdbool.h>

struct config;

/*
 * Serve as a milter with config (owned from now), read from path (for
 * reloads); in the foreground when asked.  Returns the exit status.
 */
int	daemon_run(struct config *config, const char *path, bool foreground);

#endif
