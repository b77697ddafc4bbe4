/*
 * msg - diagnostics with severity tiers, to stderr and/or syslog.
 *
 * Modules return error codes and texts; the caller that decides what an
 * error means logs it here, once.  This module does no formatting of
 * key=value decision lines (see kvline.h).
 */
#ifndef RBL_LIB_MSG_H
#define RBL_LIB_MSG_H

#include <stdarg.h>

#define MSG_STDERR	(1 << 0)	/* write to standard error */
#define MSG_SYSLOG	(1 << 1)	/* write to syslog, facility mail */

/*
 * Longest message, its NUL included; longer ones are cut.  rsyslog's
 * default maxMessageSize: a decision line with a long quoted recipient,
 * a TXT record and names must reach --report whole.
 */
#define MSG_MAX		8192

/*
 * Choose destinations and the syslog facility (LOG_MAIL...); call at
 * startup, before any thread exists.
 */
void	msg_open(const char *ident, int dest, int facility);

void	msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Where a warning that may repeat was last logged (zeroed to start). */
struct msg_limit {
	long	last;			/* monotonic second + 1 (atomic) */
	unsigned skipped;		/* left out since (atomic) */
};

/*
 * A warning that may come once per session or request: logged at most
 * once every period seconds per limit, saying how many were left out
 * since the last one.  Any thread may call it.
 */
void	msg_warn_limited(struct msg_limit *limit, unsigned period,
			 const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* A broken invariant: log and abort, so that a core shows where. */
void	msg_panic(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
