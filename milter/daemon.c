/*
 * daemon - rblmilter as a service: open the milter socket, detach, write
 * the pid file, drop privileges, start the loop thread and libmilter, and
 * turn signals into reloads and a clean stop.
 *
 * Signals: libmilter runs its own thread that sigwait()s for SIGHUP,
 * SIGTERM and SIGINT and stops the milter on any of them, which would
 * make SIGHUP a stop.  So the main thread keeps those signals unblocked,
 * with handlers that only write to a pipe, from before the milter thread
 * starts, while every other thread blocks them: Linux delivers a process
 * signal to the main thread first when it accepts it, so libmilter's
 * thread never sees one, and the main thread reloads on SIGHUP and calls
 * smfi_stop() on SIGTERM/SIGINT.
 *
 * What a session decides is not here (filter.c, decide/), nor how lookups
 * are made (worker.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libmilter/mfapi.h>
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
#include "lib/msg.h"
#include "milter/daemon.h"
#include "milter/filter.h"
#include "milter/worker.h"

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

/* Give a unix socket path the configured mode and group; -1 with err. */
static int
daemon_socket_owner(const struct config *config, const char *path,
		    char *err, size_t errlen)
{
	struct group *group = NULL;

	if (*config->socket_group
	    && (group = getgrnam(config->socket_group)) == NULL) {
		snprintf(err, errlen, "socket_group %s: no such group",
			 config->socket_group);
		return -1;
	}
	if (chmod(path, (mode_t) config->socket_mode) < 0
	    || (group != NULL && chown(path, (uid_t) -1, group->gr_gid) < 0)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Open the policy service's listening socket (policy_socket), before
 * privileges are dropped; *fd is -1 when there is none.  -1 with err.
 */
static int
daemon_policy_socket(const struct config *config, int *fd, char *err,
		     size_t errlen)
{
	const char *spec = config->policy_socket;
	struct sockaddr_storage ss;
	struct sockaddr_un *sun = (struct sockaddr_un *) &ss;
	struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;
	socklen_t len;
	int	one = 1;

	*fd = -1;
	if (*spec == 0)
		return 0;
	memset(&ss, 0, sizeof(ss));
	if (config->policy_port == 0) {
		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", spec + 5);
		unlink(sun->sun_path);
		len = sizeof(*sun);
	} else if (config->policy_addr.family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t) config->policy_port);
		memcpy(&sin->sin_addr, config->policy_addr.bytes, 4);
		len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t) config->policy_port);
		memcpy(&sin6->sin6_addr, config->policy_addr.bytes, 16);
		len = sizeof(*sin6);
	}
	if ((*fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC
			  | SOCK_NONBLOCK, 0)) < 0
	    || setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0
	    || bind(*fd, (struct sockaddr *) &ss, len) < 0
	    || listen(*fd, 128) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s",
			 config->policy_socket, strerror(errno));
		return -1;
	}
	if (ss.ss_family == AF_UNIX)
		return daemon_socket_owner(config, sun->sun_path, err, errlen);
	return 0;
}

/* Open the milter socket with its mode and group; -1 with err. */
static int
daemon_socket(const struct config *config, char *err, size_t errlen)
{
	const char *path = daemon_socket_path(config->milter_socket);

	if (filter_register() < 0
	    || smfi_setconn((char *) config->milter_socket) != MI_SUCCESS
	    || smfi_opensocket(true) != MI_SUCCESS) {
		snprintf(err, errlen, "cannot listen on %s (in use? no "
			 "permission?)", config->milter_socket);
		return -1;
	}
	return path == NULL ? 0 : daemon_socket_owner(config, path, err, errlen);
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

/* Write the pid file, if one is configured. */
static int
daemon_pidfile(const struct config *config, char *err, size_t errlen)
{
	FILE   *fp;

	if (*config->pidfile == 0)
		return 0;
	if ((fp = fopen(config->pidfile, "w")) == NULL
	    || fprintf(fp, "%ld\n", (long) getpid()) < 0 || fclose(fp) != 0) {
		snprintf(err, errlen, "pidfile %s: %s", config->pidfile,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* The user to become, looked up once before anything is opened. */
struct daemon_user {
	bool	set;			/* "user" is configured */
	uid_t	uid;
	gid_t	gid;
};

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

	user->set = *config->user != 0;
	if (!user->set) {
		if (geteuid() != 0)
			return 0;
		snprintf(err, errlen, "refusing to run as root without the "
			 "\"user\" setting: set user = rblmilter (or another "
			 "unprivileged user) in the configuration file");
		return -1;
	}
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
	if (*pidfile)
		unlink(pidfile);
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
		return;
	}
	if (worker_reload(worker, config, err, sizeof(err)) < 0) {
		msg_error("reload failed, the running configuration stays: %s",
			  err);
		return;
	}
	msg_info("configuration reloaded from %s (milter_socket, "
		 "socket_mode, socket_group, user, pidfile and syslog_facility "
		 "take effect at restart)", path);
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
	int	ready = -1;
	int	policy_fd = -1;
	unsigned busy;
	int	fds[2];

	/* Until it is detached, a failed start is told on the terminal too. */
	msg_open("rblmilter", MSG_SYSLOG | MSG_STDERR, config->syslog_facility);
	snprintf(pidfile, sizeof(pidfile), "%s", config->pidfile);
	snprintf(socket, sizeof(socket), "%s", config->milter_socket);
	if (daemon_user(config, &user, err, sizeof(err)) < 0) {
		msg_error("%s", err);
		config_free(config);
		return EX_CONFIG;
	}
	if (daemon_socket(config, err, sizeof(err)) < 0
	    || daemon_policy_socket(config, &policy_fd, err, sizeof(err)) < 0
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
	/* The loop thread never takes our signals. */
	daemon_mask(SIG_BLOCK);
	if ((worker = worker_start(config, policy_fd, err, sizeof(err))) == NULL) {
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
	if (*pidfile)
		unlink(pidfile);
	close(fds[0]);
	close(fds[1]);
	msg_info("stopped");
	/* Not 0: an init system that restarts on failure must restart it. */
	return atomic_load(&milter.failed) ? EX_SOFTWARE : 0;
}
