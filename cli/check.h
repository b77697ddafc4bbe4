/*
 * check - "rblmilter --check": the daemon's decision on IPs, one line each.
 *
 * For administrators and tests: the same lookup stack (lists, memory
 * cache, Redis, zones) and the same decide() as the daemon at
 * reject_stage; no milter, no recipients, no SASL.
 */
#ifndef RBL_CLI_CHECK_H
#define RBL_CLI_CHECK_H

#include <stdio.h>

struct config;

/*
 * Check the count IPs in ips, or when count is 0 the IPs on in (one per
 * line, # comments).  Prints to out; returns the exit status: 0 all pass,
 * 1 one would be rejected, 2 an error (bad IP, engine failure).
 */
int	check_run(const struct config *config, char **ips, int count,
		  FILE *in, FILE *out);

#endif
