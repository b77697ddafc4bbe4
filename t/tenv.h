/*
 * tenv - what the tests run against: a scratch directory, a real rbldnsd
 * on a loopback port, and dnsdelay in front of it to slow or drop zones.
 *
 * Every server is started by the test and stopped by PID; nothing here
 * fakes DNS.  Failures end the test with a message saying what is missing.
 */
#ifndef RBL_TENV_H
#define RBL_TENV_H

#include <check.h>
#include <sys/types.h>

/* A new 0755 directory (rbldnsd drops to user rbldns and must read it). */
char   *tenv_mkdir(void);

/* Remove a directory made by tenv_mkdir() and everything in it. */
void	tenv_rmdir(char *dir);

/* Write text to dir/name; returns the malloc'd path. */
char   *tenv_write(const char *dir, const char *name, const char *text);

/*
 * Start rbldnsd on 127.0.0.1 serving the NULL-terminated datasets
 * ("zone:ip4set:file", files relative to dir); wait until it answers
 * probe_zone.  Returns its pid and sets *port.
 */
pid_t	tenv_rbldnsd(const char *dir, const char *const *datasets,
		     const char *probe_zone, int *port);

/*
 * Start dnsdelay in front of 127.0.0.1:upstream with the NULL-terminated
 * rules ("zone=MS", "zone=drop").  Returns its pid and sets *port.
 */
pid_t	tenv_dnsdelay(int upstream, const char *const *rules, int *port);

/* Remove " dns_ms=N" fields in place: the only output that varies. */
void	tenv_cut_dns_ms(char *text);

/* Run a suite with Check's usual output; the exit status for main(). */
int	tenv_run(Suite *suite);

/* SIGTERM and reap. */
void	tenv_stop(pid_t pid);

#endif
