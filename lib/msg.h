/*
 * msg - diagnostics with severity tiers, to stderr and/or syslog.
 *
 * Modules return error codes and texts; the caller that decides what an
 * error means logs it here, once.  This module does no formatting of
 * key=value decision lines (see kvline.h).
 */
#ifndef RBL_MSG_H
#define RBL_MSG_H

#include <stdarg.h>

#define MSG_STDERR	(1 << 0)	/* write to standard error */
#define MSG_SYSLOG	(1 << 1)	/* write to syslog, facility mail */

/*
 * Choose destinations and the syslog facility (LOG_MAIL...); call at
 * startup, before any thread exists.
 */
void	msg_open(const char *ident, int dest, int facility);

void	msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A broken invariant: log and abort, so that a core shows where. */
void	msg_panic(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
