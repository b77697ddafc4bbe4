/*
 * tenv - what the tests run against: a scratch directory, a real rbldnsd
 * on a loopback port, dnsdelay in front of it to slow or drop zones,
 * dnsfault for DNS answers no real server gives on demand, redis-server,
 * and the milter daemons under test.
 *
 * Every server is started by the test and stopped by PID; listings come
 * from rbldnsd, and dnsfault only plays the faults it is told to.
 * Failures end the test with a message saying what is missing.
 */
#ifndef RBL_TENV_H
#define RBL_TENV_H

#include <check.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

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
 * Write text to dir/name, a dataset of the rbldnsd pid, with a modification
 * time 10 s past the old one, so that rbldnsd sees the change however soon
 * it comes, and make rbldnsd read it (SIGHUP).  Returns at once.
 */
void	tenv_rbldnsd_reload(pid_t pid, const char *dir, const char *name,
			    const char *text);

/*
 * Start dnsdelay in front of 127.0.0.1:upstream with the NULL-terminated
 * rules ("zone=MS", "zone=drop"), logging query names to log (or NULL).
 * Returns its pid and sets *port.  It dies with the process that started
 * it.
 */
pid_t	tenv_dnsdelay(int upstream, const char *const *rules, const char *log,
		      int *port);

/*
 * Start t/dnsfault answering the NULL-terminated zones ("zone=mode", see
 * t/dnsfault.c) on UDP and TCP port *port of 127.0.0.1, or on a free one
 * when *port is 0, logging queries to log (or NULL).  Returns its pid and
 * sets *port.  It dies with the process that started it.
 */
pid_t	tenv_dnsfault(const char *const *zones, const char *log, int *port);

/* A Redis server of the tests: TCP on 127.0.0.1, or a unix socket. */
struct tenv_redis {
	pid_t	pid;
	int	port;			/* 0 with a unix socket */
	char	path[256];		/* the unix socket, or "" */
	char	password[64];		/* requirepass, or "" */
};

/*
 * Start redis-server with its files in dir, on a free TCP port, or on
 * dir/redis.sock when unix is set; with requirepass when password is not
 * "".  Returns when it answers PING.
 */
void	tenv_redis_start(struct tenv_redis *redis, const char *dir, bool on_socket,
			 const char *password);

/*
 * Start it again after it was stopped, on the same port or socket.  It
 * dies with the process that started it.
 */
void	tenv_redis_restart(struct tenv_redis *redis, const char *dir);

/* Run one command (hiredis format) and return the reply, or fail. */
redisReply *tenv_redis_cmd(const struct tenv_redis *redis,
			   const char *format, ...);

/* The lines of a file that equal text. */
int	tenv_count_lines(const char *path, const char *text);

/* The lines of a file from byte offset on that contain text. */
int	tenv_count_since(const char *path, long offset, const char *text);

/* The size of a file: the offset of what is written next. */
long	tenv_size(const char *path);

/* Wait up to ms for a line with text from offset on; whether one came. */
bool	tenv_wait_line(const char *path, long offset, const char *text,
		       unsigned ms);

/* The last line from offset on that contains text, into buf; found? */
bool	tenv_last_line(const char *path, long offset, const char *text,
		       char *buf, size_t size);

/* Read a whole small file into buf (size - 1 bytes at most), or fail. */
void	tenv_slurp(const char *path, char *buf, size_t size);

/* The last (up to) size bytes of a file, in a static buffer. */
const char *tenv_tail(const char *path, size_t size);

/* The lines of a file that contain text. */
int	tenv_count_matches(const char *path, const char *text);

/* Remove " key=VALUE" fields (times that vary from run to run) in place. */
void	tenv_cut(char *text, const char *key);

/*
 * One "TAG: ..." line of what a test measured, for its log (the test's
 * standard output), flushed at once.
 */
void	tenv_report(const char *tag, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Milliseconds of CLOCK_MONOTONIC since *since. */
unsigned tenv_elapsed_ms(const struct timespec *since);

/*
 * Send this process's messages (standard error, where msg writes) to
 * path, truncated; returns the old standard error for tenv_log_restore().
 */
int	tenv_log_to(const char *path);
void	tenv_log_restore(int saved);

/* Run a suite with Check's usual output; the exit status for main(). */
int	tenv_run(Suite *suite);

/* In a forked child: die with the test process (parent), leave no server. */
void	tenv_child_guard(pid_t parent);

/*
 * The "user" line a daemon's test configuration needs: rblmilter refuses
 * to run as root without one, so as root "user = nobody\n", else "".
 */
const char *tenv_user(void);

/*
 * A port on 127.0.0.1, free on TCP and UDP right now, below the kernel's
 * ephemeral ports and not handed out before by this process.
 */
int	tenv_free_port(void);

/* A TCP connection to 127.0.0.1:port, or fail. */
int	tenv_connect(int port);

/* Write all of text to fd, or fail. */
void	tenv_send(int fd, const char *text);

/*
 * Read policy answers (each ends with an empty line) from fd into buf
 * until count of them, EOF, or 5 s without data; returns the length.
 */
size_t	tenv_answers(int fd, char *buf, size_t size, int count);

/*
 * Start a milter (argv[0] is the program), its output appended to log
 * when not NULL, and return once it negotiates on spec ("inet:PORT@HOST"
 * or "unix:/path").  It dies with the test process.
 */
pid_t	tenv_milter_start(char *const argv[], const char *spec,
			  const char *log);

/*
 * Start the rblmilter daemon ($RBLMILTER -f) on spec with the
 * configuration dir/NAME.conf, its output appended to dir/NAME.log (the
 * path, malloc'd, in *log), and soft and hard RLIMIT_NOFILE at nofile
 * (0: unchanged), as tenv_milter_start() does.
 */
pid_t	tenv_rblmilter(const char *dir, const char *name, const char *spec,
		       unsigned nofile, char **log);

/* What one run of a command printed, and how it ended. */
struct tenv_output {
	int	status;			/* exit status */
	char	out[65536];		/* standard output */
	char	err[4096];		/* standard error */
};

/*
 * Run "$RBLMILTER args" (args as a shell reads them) in dir, standard
 * input from the file in, to its end; fill out, or fail.
 */
void	tenv_command(struct tenv_output *out, const char *dir, const char *args,
		     const char *in);

/*
 * Run the rblmilter daemon ($RBLMILTER -f) with dir/NAME.conf to its end
 * (10 s at most, or fail), its output appended to dir/NAME.log (the path,
 * malloc'd, in *log); returns its exit status.  For starts that must fail.
 */
int	tenv_rblmilter_exit(const char *dir, const char *name, char **log);

/* SIGHUP the rblmilter daemon and wait until its log says it reloaded. */
void	tenv_milter_reload(pid_t pid, const char *log);

/*
 * SIGTERM; the milter must end with exit status 0.  libmilter looks at
 * its stop flag only every 5 seconds or after a connection, so this
 * connects until the milter is gone.
 */
void	tenv_milter_stop(pid_t pid, const char *spec);

/* SIGTERM and reap. */
void	tenv_stop(pid_t pid);

#endif
