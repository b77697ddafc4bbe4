/*
 * filter - the libmilter callbacks: one SMTP session's facts in, the
 * decision's answer out, one log line per decision.
 *
 * It decides nothing itself (decide/decision.c does) and talks to no
 * server (the worker does).
 */
#ifndef RBL_MILTER_FILTER_H
#define RBL_MILTER_FILTER_H

struct worker;

/* Register the callbacks with libmilter (before smfi_opensocket()). */
int	filter_register(void);

/* Serve sessions with worker until smfi_stop(); 0 or -1. */
int	filter_run(struct worker *worker);

/*
 * After smfi_stop() has returned: release what the sessions still open
 * hold, ending their lookups if they wait too long (about 1.5 s at most);
 * later callbacks answer tempfail.  Returns the sessions still inside a
 * callback, which free themselves when it returns.
 */
unsigned filter_stop(void);

#endif
