/*
 * msg - diagnostics with severity tiers, to stderr and/or syslog.
 *
 * The destination is process state, like syslog's own openlog(): it is set
 * once by msg_open() before threads start and only read afterwards, so the
 * loggers need no lock.  Nothing here allocates memory, so running out of
 * it never silences a message.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>

#include "lib/msg.h"

/* Destinations and the program name, fixed by msg_open(). */
static struct {
	int	dest;
	const char *ident;
} msg_sink = { MSG_STDERR, "rblmilter" };

void
msg_open(const char *ident, int dest, int facility)
{
	msg_sink.ident = ident;
	msg_sink.dest = dest;
	if (dest & MSG_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

/* Write one message with a severity prefix to every destination. */
static void
msg_vlog(int priority, const char *label, const char *fmt, va_list ap)
{
	char	text[MSG_MAX];

	vsnprintf(text, sizeof(text), fmt, ap);
	if (msg_sink.dest & MSG_STDERR)
		fprintf(stderr, "%s: %s%s\n", msg_sink.ident, label, text);
	if (msg_sink.dest & MSG_SYSLOG)
		syslog(priority, "%s%s", label, text);
}

void
msg_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	msg_vlog(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void
msg_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	msg_vlog(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void
msg_warn_limited(struct msg_limit *limit, unsigned period, const char *fmt,
		 ...)
{
	struct timespec ts;
	char	text[MSG_MAX];
	va_list	ap;
	long	last = __atomic_load_n(&limit->last, __ATOMIC_ACQUIRE);
	long	now;
	unsigned skipped;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long) ts.tv_sec + 1;
	if ((last != 0 && now - last < (long) period)
	    || !__atomic_compare_exchange_n(&limit->last, &last, now, false,
					    __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE)) {
		__atomic_add_fetch(&limit->skipped, 1, __ATOMIC_RELAXED);
		return;
	}
	skipped = __atomic_exchange_n(&limit->skipped, 0, __ATOMIC_RELAXED);
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (skipped > 0)
		msg_warn("%s (%u more like it since the last)", text, skipped);
	else
		msg_warn("%s", text);
}

void
msg_error(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	msg_vlog(LOG_ERR, "error: ", fmt, ap);
	va_end(ap);
}

void
msg_panic(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	msg_vlog(LOG_CRIT, "panic: ", fmt, ap);
	va_end(ap);
	abort();
}
