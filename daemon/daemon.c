/*
 * daemon - rblmilter as a service: open the milter socket, detach, write
 * the pid file, drop privileges, start the loop thread and libmilter, and
 * turn signals into reloads and a clean stop.
 *
 * Signals: libmilter runs its own thread that sigwait()s for SIGHUP,
 * SIGTERM and SIGINT and stops the milter on any of them, which would
 * make SIGHUP a stop.  So the main thread keeps those signals unblocked,
 * with handlers that only write to a pipe, from before the milter thread
 * starts, while every other thread blocks them; and libmilter's sigwait()
 * is this file's, which never returns for them.  Linux gives a process
 * signal to the main thread first, but to another thread that accepts it
 * while the main thread is stopped or has a signal pending; a thread in
 * libc's sigwait() accepts it, so a second signal close behind a first
 * (or one under strace) would have stopped the milter.  The main thread
 * reloads on SIGHUP and calls smfi_stop() on SIGTERM/SIGINT.
 *
 * Paths: the pid file and unix sockets live in directories that the
 * daemon's user may write (so that it can remove them at the stop), so
 * nothing found at those paths is trusted.  The pid file is made anew
 * with O_EXCL | O_NOFOLLOW, never opened through what is there; a unix
 * socket is bound with the user's identity, socket_group and a umask
 * from socket_mode, so it is never chmod'ed or chown'ed by path; a path
 * that holds something other than a socket is refused, and so is a
 * socket that another process still serves; at the stop only a socket
 * we own and a pid file with our pid are removed.
 *
 * What a session decides is not here (filter.c, decide/), nor how lookups
 * are made (worker.c).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"
#include "daemon/daemon.h"
#include "lib/msg.h"
#include "metrics/server.h"
#include "milter/filter.h"
#include "policy/server.h"
#include "runtime/worker.h"
#include "stats/metrics.h"

/* The signals the main thread handles. */
static const int daemon_signals[] = {SIGHUP, SIGTERM, SIGINT};

/*
 * The write end of the signal pipe: the one thing a signal handler may
 * touch.  Set before the handlers are installed, never changed after.
 */
static int daemon_signal_pipe = -1;

/* Signal handler: pass the signal number to the main thread. */
static void
daemon_on_signal(int sig)
{
	unsigned char byte = (unsigned char) sig;
	int	saved = errno;

	if (write(daemon_signal_pipe, &byte, 1) < 0) {
		/* The pipe is full: a signal is pending anyway. */
	}
	errno = saved;
}

/*
 * libmilter's signal thread calls this in place of libc's sigwait(): a
 * definition in the program comes before the C library's for every
 * shared library.  Asked for a signal the main thread handles, it never
 * returns, so the thread keeps them blocked and the kernel has no other
 * thread to give them to; any other set is waited for as libc does.
 */
int
sigwait(const sigset_t *set, int *sig)
{
	size_t	i;
	int	got;

	for (i = 0; i < sizeof(daemon_signals) / sizeof(daemon_signals[0]); i++)
		if (sigismember(set, daemon_signals[i]) == 1)
			for (;;)
				pause();
	while ((got = sigwaitinfo(set, NULL)) < 0)
		if (errno != EINTR)
			return errno;
	*sig = got;
	return 0;
}

/* Block (how = SIG_BLOCK) or unblock our signals in this thread. */
static void
daemon_mask(int how)
{
	sigset_t set;
	size_t	i;

	sigemptyset(&set);
	for (i = 0; i < sizeof(daemon_signals) / sizeof(daemon_signals[0]); i++)
		sigaddset(&set, daemon_signals[i]);
	pthread_sigmask(how, &set, NULL);
}

/* Install the handlers and the pipe they write to; -1 with err. */
static int
daemon_signals_init(int fds[2], char *err, size_t errlen)
{
	struct sigaction sa;
	size_t	i;

	/* The handler must never block; the main thread may. */
	if (pipe2(fds, O_CLOEXEC) < 0
	    || fcntl(fds[1], F_SETFL, O_NONBLOCK) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	daemon_signal_pipe = fds[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = daemon_on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(daemon_signals) / sizeof(daemon_signals[0]); i++)
		sigaction(daemon_signals[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* The unix socket path of a milter_socket, or NULL for inet sockets. */
static const char *
daemon_socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return NULL;
}

/* The user to become, looked up once before anything is opened. */
struct daemon_user {
	bool	set;			/* "user" is configured */
	uid_t	uid;
	gid_t	gid;
	bool	group_set;		/* socket_group is configured */
	gid_t	socket_gid;		/* its gid */
};

/* What daemon_unix_begin() changed, for daemon_unix_end(). */
struct daemon_unix_ids {
	mode_t	umask;
	bool	switched;		/* euid and egid are the user's */
};

/*
 * Make way for a unix socket at path: nothing there, or a socket nobody
 * serves (removed).  Anything else is refused: a regular file is not
 * ours to remove, and a live socket is another daemon's.
 */
static int
daemon_unix_claim(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int	fd;
	int	status;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket: not "
			 "removed, not started", path);
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	status = connect(fd, (struct sockaddr *) &sun, sizeof(sun));
	close(fd);
	if (status == 0) {
		snprintf(err, errlen, "another process serves %s: not started",
			 path);
		return -1;
	}
	if (errno != ECONNREFUSED || unlink(path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Before binding a unix socket: the umask that gives it socket_mode, and
 * as root the user's uid and socket_group's gid (or the user's), so that
 * the socket is made as it must be and never changed by path after.
 */
static int
daemon_unix_begin(const struct config *config, const struct daemon_user *user,
		  struct daemon_unix_ids *saved, char *err, size_t errlen)
{
	gid_t	gid = user->group_set ? user->socket_gid : user->gid;

	saved->umask = umask(~(mode_t) config->socket_mode & 0777);
	saved->switched = false;
	if (!user->set || geteuid() != 0)
		return 0;
	if (setegid(gid) < 0 || seteuid(user->uid) < 0) {
		snprintf(err, errlen, "cannot make sockets as user %s: %s",
			 config->user, strerror(errno));
		if (setegid(0) < 0)
			msg_warn("setegid(0): %s", strerror(errno));
		umask(saved->umask);
		return -1;
	}
	saved->switched = true;
	return 0;
}

/*
 * After the bind: back to root and the old umask.  Without root, the
 * socket at path (NULL: the bind failed) gets socket_group here (lchown:
 * a link is never followed).
 */
static int
daemon_unix_end(const struct daemon_user *user, const char *path,
		const struct daemon_unix_ids *saved, char *err, size_t errlen)
{
	umask(saved->umask);
	if (saved->switched && (seteuid(0) < 0 || setegid(0) < 0)) {
		snprintf(err, errlen, "cannot become root again: %s",
			 strerror(errno));
		return -1;
	}
	if (!saved->switched && user->group_set && path != NULL
	    && lchown(path, (uid_t) -1, user->socket_gid) < 0) {
		snprintf(err, errlen, "socket_group for %s: %s", path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* At the stop: remove the unix socket at path if it is still ours. */
static void
daemon_unix_remove(const char *path)
{
	struct stat st;

	if (path != NULL && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)
	    && st.st_uid == geteuid() && unlink(path) < 0)
		msg_warn("cannot remove %s: %s", path, strerror(errno));
}

/*
 * Open the listening socket of a front end on the loop thread
 * (policy_socket, metrics_socket), before privileges are dropped; *fd is
 * -1 when there is none.  -1 with err.
 */
static int
daemon_listen(const struct config *config,
	      const struct config_endpoint *endpoint,
	      const struct daemon_user *user, int *fd, char *err,
	      size_t errlen)
{
	const char *spec = endpoint->text;
	struct sockaddr_storage ss;
	struct sockaddr_un *sun = (struct sockaddr_un *) &ss;
	struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;
	struct daemon_unix_ids saved;
	socklen_t len;
	int	one = 1;
	int	status;
	int	bind_errno;

	*fd = -1;
	if (*spec == 0)
		return 0;
	memset(&ss, 0, sizeof(ss));
	if (endpoint->port == 0) {
		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", spec + 5);
		if (daemon_unix_claim(sun->sun_path, err, errlen) < 0)
			return -1;
		len = sizeof(*sun);
	} else if (endpoint->addr.family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t) endpoint->port);
		memcpy(&sin->sin_addr, endpoint->addr.bytes, 4);
		len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t) endpoint->port);
		memcpy(&sin6->sin6_addr, endpoint->addr.bytes, 16);
		len = sizeof(*sin6);
	}
	if ((*fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC
			  | SOCK_NONBLOCK, 0)) < 0
	    || setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s",
			 endpoint->text, strerror(errno));
		return -1;
	}
	if (ss.ss_family == AF_UNIX
	    && daemon_unix_begin(config, user, &saved, err, errlen) < 0)
		return -1;
	status = bind(*fd, (struct sockaddr *) &ss, len);
	bind_errno = errno;
	if (ss.ss_family == AF_UNIX
	    && daemon_unix_end(user, status < 0 ? NULL : sun->sun_path, &saved,
			       err, errlen) < 0)
		return -1;
	if (status < 0 || listen(*fd, 128) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s",
			 endpoint->text,
			 strerror(status < 0 ? bind_errno : errno));
		return -1;
	}
	return 0;
}

/* The policy service as the loop thread's front end: arg is its fd. */
static void *
daemon_policy_open(struct event_base *base, struct worker *worker, void *arg,
		   char *err, size_t errlen)
{
	return policy_server_create(base, worker, *(int *) arg, err, errlen);
}

static void
daemon_policy_close(void *state)
{
	policy_server_free(state);
}

/* The metrics endpoint as the loop thread's front end: arg is its fd. */
static void *
daemon_metrics_open(struct event_base *base, struct worker *worker, void *arg,
		    char *err, size_t errlen)
{
	return metrics_server_create(base, worker, *(int *) arg, err, errlen);
}

static void
daemon_metrics_close(void *state)
{
	metrics_server_free(state);
}

/*
 * Set TCP_NODELAY on libmilter's listening TCP socket, which it keeps to
 * itself: the connections it accepts inherit it.  Without it a reply of
 * two packets, a tag header and the end-of-message answer, waits on
 * Nagle's algorithm for Postfix's delayed ACK (40 ms on Linux), since
 * Postfix writes nothing between them.  Called once libmilter listens
 * and before the daemon opens a socket of its own, so every listening
 * TCP socket of the process is libmilter's.  -1 with err if none is.
 */
static int
daemon_milter_nodelay(char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct dirent *entry;
	socklen_t len;
	DIR    *dir;
	int	listening;
	int	on = 1;
	int	found = 0;
	int	fd;

	if ((dir = opendir("/proc/self/fd")) == NULL) {
		snprintf(err, errlen, "/proc/self/fd: %s", strerror(errno));
		return -1;
	}
	while ((entry = readdir(dir)) != NULL) {
		fd = atoi(entry->d_name);
		len = sizeof(listening);
		if (fd == dirfd(dir)
		    || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
				  &len) < 0 || !listening)
			continue;
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0
		    || (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
			       sizeof(on)) < 0) {
			snprintf(err, errlen, "TCP_NODELAY: %s", strerror(errno));
			closedir(dir);
			return -1;
		}
		found++;
	}
	closedir(dir);
	if (found == 0) {
		snprintf(err, errlen, "libmilter's listening socket not found");
		return -1;
	}
	return 0;
}

/* Open the milter socket with its mode and group; -1 with err. */
static int
daemon_socket(const struct config *config, const struct daemon_user *user,
	      char *err, size_t errlen)
{
	const char *path = daemon_socket_path(config->milter_socket);
	struct daemon_unix_ids saved;
	bool	opened;

	if (filter_register() < 0
	    || smfi_setconn((char *) config->milter_socket) != MI_SUCCESS) {
		snprintf(err, errlen, "cannot register with libmilter");
		return -1;
	}
	if (path != NULL && (daemon_unix_claim(path, err, errlen) < 0
			     || daemon_unix_begin(config, user, &saved, err,
						  errlen) < 0))
		return -1;
	/* A stale socket is gone: libmilter must not remove what is there. */
	opened = smfi_opensocket(false) == MI_SUCCESS;
	if (path != NULL
	    && daemon_unix_end(user, opened ? path : NULL, &saved, err,
			       errlen) < 0)
		return -1;
	if (!opened) {
		snprintf(err, errlen, "cannot listen on %s (in use? no "
			 "permission?%s)", config->milter_socket, path == NULL
			 ? "" : " the directory must let user make files");
		return -1;
	}
	/* Not fatal: replies are right, a tagged message only slower. */
	if (path == NULL && daemon_milter_nodelay(err, errlen) < 0)
		msg_warn("%s: over TCP, a tag header may wait 40 ms for "
			 "Postfix's ACK", err);
	return 0;
}

/*
 * Become a background process, detached from the terminal.  The parent
 * waits for the child to report through *ready (daemon_ready()) and exits
 * with its status, so that whoever started rblmilter learns whether it
 * came up, not just whether it forked.
 */
static int
daemon_detach(int *ready, char *err, size_t errlen)
{
	unsigned char status = EX_OSERR;
	pid_t	pid;
	int	fds[2];
	int	fd;

	if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		snprintf(err, errlen, "cannot detach: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &status, 1) != 1)
			status = EX_OSERR;
		_exit(status);
	}
	close(fds[0]);
	*ready = fds[1];
	setsid();
	if (chdir("/") < 0 || (fd = open("/dev/null", O_RDWR)) < 0) {
		snprintf(err, errlen, "cannot detach: %s", strerror(errno));
		return -1;
	}
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	return 0;
}

/* Tell the waiting parent (if any) how the start went. */
static void
daemon_ready(int *ready, int status)
{
	unsigned char byte = (unsigned char) status;

	if (*ready < 0)
		return;
	if (write(*ready, &byte, 1) != 1)
		msg_warn("cannot report the start to the parent process");
	close(*ready);
	*ready = -1;
}

/*
 * Write the pid file, if one is configured: a new file in place of
 * whatever is there (unlink() removes a link, not what it points to),
 * created with O_EXCL | O_NOFOLLOW, so that nothing planted in its
 * directory between the two is ever opened or truncated.
 */
static int
daemon_pidfile(const struct config *config, char *err, size_t errlen)
{
	char	text[32];
	int	len = snprintf(text, sizeof(text), "%ld\n", (long) getpid());
	int	fd;

	if (*config->pidfile == 0)
		return 0;
	if ((unlink(config->pidfile) < 0 && errno != ENOENT)
	    || (fd = open(config->pidfile, O_WRONLY | O_CREAT | O_EXCL
			  | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0) {
		snprintf(err, errlen, "pidfile %s: %s", config->pidfile,
			 strerror(errno));
		return -1;
	}
	if (write(fd, text, (size_t) len) != len) {
		snprintf(err, errlen, "pidfile %s: %s", config->pidfile,
			 strerror(errno));
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Remove the pid file if it still holds our pid. */
static void
daemon_pidfile_remove(const char *path)
{
	char	text[32];
	ssize_t	len;
	int	fd;

	if (*path == 0 || (fd = open(path, O_RDONLY | O_NOFOLLOW
				      | O_CLOEXEC)) < 0)
		return;
	len = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (len > 0 && (text[len] = 0, atol(text) == (long) getpid())
	    && unlink(path) < 0)
		msg_warn("cannot remove %s: %s", path, strerror(errno));
}

/*
 * Look up config->user.  Root must name an unprivileged user to become:
 * a filter that parses what any SMTP client sends, and DNS answers, must
 * not keep root's powers because a setting was forgotten.  Checked before
 * anything is opened, so a refusal has no side effects.
 */
static int
daemon_user(const struct config *config, struct daemon_user *user,
	    char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *group;

	user->set = *config->user != 0;
	if (!user->set && geteuid() == 0) {
		snprintf(err, errlen, "refusing to run as root without the "
			 "\"user\" setting: set user = rblmilter (or another "
			 "unprivileged user) in the configuration file");
		return -1;
	}
	user->gid = getegid();
	if (*config->socket_group) {
		if ((group = getgrnam(config->socket_group)) == NULL) {
			snprintf(err, errlen, "socket_group %s: no such group",
				 config->socket_group);
			return -1;
		}
		user->group_set = true;
		user->socket_gid = group->gr_gid;
	}
	if (!user->set)
		return 0;
	if ((pw = getpwnam(config->user)) == NULL) {
		snprintf(err, errlen, "user %s: no such user", config->user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s: has uid 0; name an "
			 "unprivileged user", config->user);
		return -1;
	}
	user->uid = pw->pw_uid;
	user->gid = pw->pw_gid;
	return 0;
}

/* Run as the configured user from now on, if one is configured. */
static int
daemon_drop(const char *name, const struct daemon_user *user, char *err,
	    size_t errlen)
{
	if (!user->set)
		return 0;
	if (initgroups(name, user->gid) < 0 || setgid(user->gid) < 0
	    || setuid(user->uid) < 0) {
		snprintf(err, errlen, "cannot become user %s: %s", name,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* A start that failed: no pid file left behind, the parent told. */
static void
daemon_fail(int *ready, const char *pidfile, int status)
{
	daemon_pidfile_remove(pidfile);
	daemon_ready(ready, status);
}

/* What the milter thread is given, and tells back. */
struct daemon_milter {
	struct worker *worker;
	atomic_bool failed;		/* libmilter ended on its own */
};

/*
 * The milter thread: libmilter's accept loop and sessions.  It blocks our
 * signals first, before smfi_main() makes libmilter's signal thread,
 * which inherits the mask; a signal that lands here before that runs the
 * same handler as in the main thread.
 */
static void *
daemon_milter(void *arg)
{
	struct daemon_milter *milter = arg;

	daemon_mask(SIG_BLOCK);
	if (filter_run(milter->worker) < 0) {
		msg_error("libmilter stopped with an error");
		atomic_store(&milter->failed, true);
		/* Wake the main thread, which waits for signals. */
		kill(getpid(), SIGTERM);
	}
	return NULL;
}

/* SIGHUP: load the configuration again and put it in force. */
static void
daemon_reload(struct worker *worker, const char *path)
{
	struct config *config;
	char	err[CONFIG_ERR_SIZE];

	if (config_load(path, &config, err, sizeof(err)) < 0) {
		msg_error("reload refused, the running configuration stays: %s",
			  err);
		metrics_count_reload(false);
		return;
	}
	if (worker_reload(worker, config, err, sizeof(err)) < 0) {
		msg_error("reload failed, the running configuration stays: %s",
			  err);
		metrics_count_reload(false);
		return;
	}
	metrics_count_reload(true);
	msg_info("configuration reloaded from %s (milter_socket, "
		 "policy_socket, metrics_socket, socket_mode, socket_group, "
		 "user, pidfile and syslog_facility take effect at restart)",
		 path);
}

/* Connect to the milter socket and hang up; a wildcard via loopback. */
static void
daemon_wake(const char *spec)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
		struct sockaddr_un un;
	}	peer;
	const char *path = daemon_socket_path(spec);
	const char *at = strchr(spec, '@');
	socklen_t len;
	int	fd;

	memset(&peer, 0, sizeof(peer));
	if (path != NULL && strlen(path) < sizeof(peer.un.sun_path)) {
		peer.un.sun_family = AF_UNIX;
		memcpy(peer.un.sun_path, path, strlen(path) + 1);
		len = sizeof(peer.un);
	} else if (at != NULL && strncmp(spec, "inet6:", 6) == 0
		   && inet_pton(AF_INET6, at + 1, &peer.in6.sin6_addr) == 1) {
		peer.in6.sin6_family = AF_INET6;
		peer.in6.sin6_port = htons((unsigned short) atoi(spec + 6));
		if (IN6_IS_ADDR_UNSPECIFIED(&peer.in6.sin6_addr))
			peer.in6.sin6_addr = in6addr_loopback;
		len = sizeof(peer.in6);
	} else if (at != NULL && strncmp(spec, "inet:", 5) == 0
		   && inet_pton(AF_INET, at + 1, &peer.in.sin_addr) == 1) {
		peer.in.sin_family = AF_INET;
		peer.in.sin_port = htons((unsigned short) atoi(spec + 5));
		if (peer.in.sin_addr.s_addr == htonl(INADDR_ANY))
			peer.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(peer.in);
	} else
		return;
	if ((fd = socket(peer.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void) connect(fd, &peer.sa, len);
	close(fd);
}

/* smfi_stop(), in a thread of its own; done says it has returned. */
static void *
daemon_stopper(void *arg)
{
	atomic_bool *done = arg;

	smfi_stop();
	atomic_store(done, true);
	return NULL;
}

/*
 * libmilter's accept loop holds a lock while it polls the listening
 * socket for up to 5 seconds (MI_CHK_TIME), and smfi_stop() waits for
 * that lock: a stop would leave Postfix 5 more seconds of
 * milter_default_action.  So smfi_stop() runs in a thread while this one
 * wakes the loop with connections of its own until it has returned.
 * Best effort: if waking fails, the stop only takes those 5 seconds.
 */
static void
daemon_stop_milter(const char *socket)
{
	struct timespec pause = {0, 20 * 1000 * 1000};
	atomic_bool done = false;
	pthread_t stopper;

	if (pthread_create(&stopper, NULL, daemon_stopper, &done) != 0) {
		smfi_stop();
		return;
	}
	while (!atomic_load(&done)) {
		daemon_wake(socket);
		nanosleep(&pause, NULL);
	}
	pthread_join(stopper, NULL);
}

/* Main thread: wait for signals until told to stop. */
static void
daemon_wait(struct worker *worker, const char *path, int fd)
{
	unsigned char sig;
	ssize_t	n;

	for (;;) {
		if ((n = read(fd, &sig, 1)) < 0 && errno == EINTR)
			continue;
		if (n <= 0 || sig != SIGHUP)
			break;
		daemon_reload(worker, path);
	}
	msg_info("stopping on signal %d", n > 0 ? sig : 0);
}

int
daemon_run(struct config *config, const char *path, bool foreground)
{
	struct daemon_milter milter = {.failed = false};
	struct daemon_user user = {.set = false};
	struct worker *worker;
	pthread_t thread;
	char	err[CONFIG_ERR_SIZE];
	char	pidfile[512];
	char	socket[128];		/* the worker owns config from start */
	char	policy[128];		/* a unix policy_socket's path, or "" */
	int	ready = -1;
	int	policy_fd = -1;
	int	metrics_fd = -1;
	struct worker_frontend fronts[2];
	size_t	nfronts = 0;
	unsigned busy;
	int	fds[2];

	/* Until it is detached, a failed start is told on the terminal too. */
	msg_open("rblmilter", MSG_SYSLOG | MSG_STDERR, config->syslog_facility);
	snprintf(pidfile, sizeof(pidfile), "%s", config->pidfile);
	snprintf(socket, sizeof(socket), "%s", config->milter_socket);
	snprintf(policy, sizeof(policy), "%s", config->policy_socket.port == 0
		 && strncmp(config->policy_socket.text, "unix:", 5) == 0 ?
		 config->policy_socket.text + 5 : "");
	if (daemon_user(config, &user, err, sizeof(err)) < 0) {
		msg_error("%s", err);
		config_free(config);
		return EX_CONFIG;
	}
	if (daemon_socket(config, &user, err, sizeof(err)) < 0
	    || daemon_listen(config, &config->policy_socket, &user,
			     &policy_fd, err, sizeof(err)) < 0
	    || daemon_listen(config, &config->metrics_socket, &user,
			     &metrics_fd, err, sizeof(err)) < 0
	    || (!foreground && daemon_detach(&ready, err, sizeof(err)) < 0)
	    || daemon_pidfile(config, err, sizeof(err)) < 0
	    || daemon_drop(config->user, &user, err, sizeof(err)) < 0
	    || daemon_signals_init(fds, err, sizeof(err)) < 0) {
		msg_error("%s", err);
		config_free(config);
		daemon_fail(&ready, pidfile, EX_OSERR);
		return EX_OSERR;
	}
	if (!foreground)
		msg_open("rblmilter", MSG_SYSLOG, config->syslog_facility);
	if (policy_fd >= 0)
		fronts[nfronts++] = (struct worker_frontend) {
			daemon_policy_open, daemon_policy_close, &policy_fd};
	if (metrics_fd >= 0)
		fronts[nfronts++] = (struct worker_frontend) {
			daemon_metrics_open, daemon_metrics_close, &metrics_fd};
	/* The loop thread never takes our signals. */
	daemon_mask(SIG_BLOCK);
	if ((worker = worker_start(config, fronts, nfronts, err,
				   sizeof(err))) == NULL) {
		msg_error("%s", err);
		daemon_fail(&ready, pidfile, EX_CONFIG);
		return EX_CONFIG;
	}
	/*
	 * Unblocked here before the milter thread exists: there is no moment
	 * when libmilter's signal thread listens and this one does not.
	 */
	daemon_mask(SIG_UNBLOCK);
	milter.worker = worker;
	if (pthread_create(&thread, NULL, daemon_milter, &milter) != 0) {
		msg_error("cannot start the milter thread");
		worker_stop(worker);
		daemon_fail(&ready, pidfile, EX_OSERR);
		return EX_OSERR;
	}
	msg_info("rblmilter %s started", PACKAGE_VERSION);
	daemon_ready(&ready, 0);
	daemon_wait(worker, path, fds[0]);
	if (!atomic_load(&milter.failed))
		daemon_stop_milter(socket);
	pthread_join(thread, NULL);
	if ((busy = filter_stop()) > 0)
		msg_warn("stopping with %u milter session(s) still answering",
			 busy);
	worker_stop(worker);
	daemon_unix_remove(daemon_socket_path(socket));
	daemon_unix_remove(*policy ? policy : NULL);
	daemon_pidfile_remove(pidfile);
	close(fds[0]);
	close(fds[1]);
	msg_info("stopped");
	/* Not 0: an init system that restarts on failure must restart it. */
	return atomic_load(&milter.failed) ? EX_SOFTWARE : 0;
}
