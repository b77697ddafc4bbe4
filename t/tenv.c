/*
 * tenv - what the tests run against: a scratch directory, a real rbldnsd
 * on a loopback port, dnsdelay in front of it to slow or drop zones,
 * dnsfault for DNS answers no real server gives on demand, redis-server,
 * and the milter daemons under test.
 *
 * rbldnsd gets a port that was free a moment before; readiness is proved
 * by a real DNS query answered, not by sleeping.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "t/mclient.h"
#include "t/tenv.h"

#define RBLDNSD	"/usr/sbin/rbldnsd"

/* Words on the command line of dnsdelay or dnsfault, at most. */
#define TENV_HELPER_ARGS	80
#define TENV_PORT_LOW	2000		/* test ports: 2000 to 11999 */
#define TENV_PORT_COUNT	10000
#define TENV_PORTS_GIVEN	256		/* remembered per process */
#define TENV_PORT_LOCKS	"/tmp/rbltest-ports.lock"	/* see tenv_port_claim() */

char   *
tenv_mkdir(void)
{
	char	template[] = "/tmp/rbltest.XXXXXX";
	char   *dir;

	ck_assert_msg(mkdtemp(template) != NULL, "mkdtemp: %s", strerror(errno));
	ck_assert_int_eq(chmod(template, 0755), 0);
	ck_assert_ptr_nonnull(dir = strdup(template));
	return dir;
}

void
tenv_rmdir(char *dir)
{
	char	command[512];

	snprintf(command, sizeof(command), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(command), 0);
	free(dir);
}

char   *
tenv_write(const char *dir, const char *name, const char *text)
{
	char   *path;
	FILE   *fp;

	ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
	ck_assert_msg((fp = fopen(path, "w")) != NULL, "%s: %s", path,
		      strerror(errno));
	ck_assert_int_ge(fputs(text, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
	chmod(path, 0644);
	return path;
}

/* Whether 127.0.0.1:port can be bound with type right now. */
static bool
tenv_port_free(int type, int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int	fd;
	int	ok;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short) port);
	ck_assert_int_ge(fd = socket(AF_INET, type, 0), 0);
	ok = bind(fd, (struct sockaddr *) &sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/*
 * Claim port against the other test programs running side by side (make
 * -j): a write lock on its byte of one shared file, held until the
 * process ends, so two of them never hand out the same port before its
 * server binds it.  Open file description locks are not released by a
 * close() elsewhere in the process.  0 or -1 when another holds it.
 */
static int
tenv_port_claim(int port)
{
	static int fd = -1;
	struct flock lock = {
		.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = port,
		.l_len = 1,
	};

	if (fd < 0) {
		fd = open(TENV_PORT_LOCKS, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
		ck_assert_msg(fd >= 0, "%s: %s", TENV_PORT_LOCKS,
			      strerror(errno));
		/* Any user's tests take their locks in it. */
		(void) fchmod(fd, 0666);
	}
	if (fcntl(fd, F_OFD_SETLK, &lock) == 0)
		return 0;
	ck_assert_msg(errno == EAGAIN || errno == EACCES, "%s: lock: %s",
		      TENV_PORT_LOCKS, strerror(errno));
	return -1;
}

/*
 * Ports come from a range below the kernel's ephemeral ports (32768 and
 * up), never from the kernel: a server restarted on its port would
 * otherwise find it taken, for 60 s, by a client connection of the load
 * that got it as its local port and ended in TIME_WAIT.  The shell tests
 * have 12000 and up (t/lib.sh).  Free on UDP and TCP both, so that one
 * port serves DNS on both; one this process handed out is not handed out
 * again, as its server may not listen yet.
 */
int
tenv_free_port(void)
{
	static int given[TENV_PORTS_GIVEN];
	static int ngiven;
	int	port;
	int	tries;
	int	i;

	for (tries = 0; tries < 1000; tries++) {
		port = TENV_PORT_LOW + (int) arc4random_uniform(TENV_PORT_COUNT);
		for (i = 0; i < ngiven && given[i] != port; i++)
			continue;
		if (i < ngiven || !tenv_port_free(SOCK_STREAM, port)
		    || !tenv_port_free(SOCK_DGRAM, port)
		    || tenv_port_claim(port) < 0)
			continue;
		if (ngiven < TENV_PORTS_GIVEN)
			given[ngiven++] = port;
		return port;
	}
	ck_abort_msg("no free port from %d to %d", TENV_PORT_LOW,
		     TENV_PORT_LOW + TENV_PORT_COUNT - 1);
	return -1;
}

int
tenv_connect(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int	fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short) port);
	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
	return fd;
}

size_t
tenv_answers(int fd, char *buf, size_t size, int count)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	size_t	len = 0;
	ssize_t	n;
	int	seen = 0;
	char   *cp;

	buf[0] = 0;
	while (seen < count && len + 1 < size && poll(&pfd, 1, 5000) == 1) {
		if ((n = read(fd, buf + len, size - len - 1)) <= 0)
			break;
		len += (size_t) n;
		buf[len] = 0;
		for (seen = 0, cp = buf; (cp = strstr(cp, "\n\n")) != NULL; cp += 2)
			seen++;
	}
	return len;
}

void
tenv_send(int fd, const char *text)
{
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
}

/* Does 127.0.0.1:port answer an A query for 2.0.0.127.zone within ms? */
static int
tenv_dns_answers(int port, const char *zone, int ms)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	unsigned char packet[512] = {0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	unsigned char reply[512];
	struct pollfd pfd;
	char	name[300];
	char   *label;
	char   *save;
	size_t	len = 12;
	int	answered;

	snprintf(name, sizeof(name), "2.0.0.127.%s", zone);
	for (label = strtok_r(name, ".", &save); label != NULL;
	     label = strtok_r(NULL, ".", &save)) {
		packet[len++] = (unsigned char) strlen(label);
		memcpy(packet + len, label, strlen(label));
		len += strlen(label);
	}
	memcpy(packet + len, "\0\0\1\0\1", 5);
	len += 5;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short) port);
	ck_assert_int_ge(pfd.fd = socket(AF_INET, SOCK_DGRAM, 0), 0);
	pfd.events = POLLIN;
	sendto(pfd.fd, packet, len, 0, (struct sockaddr *) &sin, sizeof(sin));
	answered = poll(&pfd, 1, ms) == 1
	    && recv(pfd.fd, reply, sizeof(reply), 0) >= 12;
	close(pfd.fd);
	return answered;
}

pid_t
tenv_rbldnsd(const char *dir, const char *const *datasets,
	     const char *probe_zone, int *port)
{
	const char *argv[40];
	char	bind[64];
	pid_t	pid;
	int	argc = 0;
	int	tries;

	ck_assert_msg(access(RBLDNSD, X_OK) == 0, "%s not found: "
		      "apt-get install rbldnsd", RBLDNSD);
	*port = tenv_free_port();
	snprintf(bind, sizeof(bind), "127.0.0.1/%d", *port);
	argv[argc++] = RBLDNSD;
	argv[argc++] = "-n";
	argv[argc++] = "-q";
	argv[argc++] = "-b";
	argv[argc++] = bind;
	argv[argc++] = "-w";
	argv[argc++] = dir;
	while (*datasets && argc < 38)
		argv[argc++] = *datasets++;
	argv[argc] = NULL;
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		execv(RBLDNSD, (char *const *) argv);
		_exit(127);
	}
	for (tries = 0; tries < 50; tries++)
		if (tenv_dns_answers(*port, probe_zone, 100))
			return pid;
	tenv_stop(pid);
	ck_abort_msg("rbldnsd on port %d does not answer", *port);
	return -1;
}

void
tenv_rbldnsd_reload(pid_t pid, const char *dir, const char *name,
		    const char *text)
{
	struct timespec times[2] = {{0}};
	struct stat st;
	char   *path;

	ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	free(path);
	path = tenv_write(dir, name, text);
	times[0].tv_sec = times[1].tv_sec = st.st_mtime + 10;
	ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
	ck_assert_int_eq(kill(pid, SIGHUP), 0);
	free(path);
}

/*
 * Start a DNS helper: argv holds the program and its first argc words;
 * "FLAG ITEM" is added for each of the NULL-terminated items, and
 * "-L LOG" when log is not NULL.  The helper prints "port N" on its
 * standard output once it listens; returns its pid and sets *port.
 */
static pid_t
tenv_helper(const char **argv, int argc, const char *flag,
	    const char *const *items, const char *log, int *port)
{
	char	line[64];
	FILE   *fp;
	pid_t	parent = getpid();
	pid_t	pid;
	int	fds[2];

	for (; *items && argc < TENV_HELPER_ARGS - 3; items++) {
		argv[argc++] = flag;
		argv[argc++] = *items;
	}
	if (log != NULL) {
		argv[argc++] = "-L";
		argv[argc++] = log;
	}
	argv[argc] = NULL;
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		tenv_child_guard(parent);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], (char *const *) argv);
		_exit(127);
	}
	close(fds[1]);
	ck_assert_ptr_nonnull(fp = fdopen(fds[0], "r"));
	ck_assert_msg(fgets(line, sizeof(line), fp) != NULL
		      && sscanf(line, "port %d", port) == 1,
		      "%s did not start", argv[0]);
	fclose(fp);
	return pid;
}

/* The helper program named by the environment variable name. */
static const char *
tenv_program(const char *name)
{
	const char *program = getenv(name);

	ck_assert_msg(program != NULL, "%s is not set (run via make check)",
		      name);
	return program;
}

pid_t
tenv_dnsdelay(int upstream, const char *const *rules, const char *log,
	      int *port)
{
	char	listen[64];
	char	up[64];
	const char *argv[TENV_HELPER_ARGS] = {
		tenv_program("DNSDELAY"), "-l", listen, "-u", up,
	};

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", tenv_free_port());
	snprintf(up, sizeof(up), "127.0.0.1:%d", upstream);
	return tenv_helper(argv, 5, "-r", rules, log, port);
}

pid_t
tenv_dnsfault(const char *const *zones, const char *log, int *port)
{
	char	listen[64];
	const char *argv[TENV_HELPER_ARGS] = {
		tenv_program("DNSFAULT"), "-l", listen,
	};

	snprintf(listen, sizeof(listen), "127.0.0.1:%d",
		 *port ? *port : tenv_free_port());
	return tenv_helper(argv, 3, "-z", zones, log, port);
}

void
tenv_stop(pid_t pid)
{
	int	status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}

int
tenv_run(Suite *suite)
{
	SRunner *runner = srunner_create(suite);
	int	failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? 0 : 1;
}

void
tenv_cut(char *text, const char *key)
{
	char	field[64];
	char   *cp;
	size_t	skip;

	snprintf(field, sizeof(field), " %s=", key);
	while ((cp = strstr(text, field)) != NULL) {
		skip = strlen(field) + strcspn(cp + strlen(field), " \n");
		memmove(cp, cp + skip, strlen(cp + skip) + 1);
	}
}

/* Connect to the test's Redis and authenticate; NULL when it is not up. */
static redisContext *
tenv_redis_connect(const struct tenv_redis *redis)
{
	struct timeval tv = {1, 0};
	redisContext *c;
	redisReply *reply;

	c = redis->port ? redisConnectWithTimeout("127.0.0.1", redis->port, tv)
	    : redisConnectUnixWithTimeout(redis->path, tv);
	if (c == NULL || c->err) {
		if (c)
			redisFree(c);
		return NULL;
	}
	if (*redis->password) {
		reply = redisCommand(c, "AUTH %s", redis->password);
		ck_assert_msg(reply != NULL && reply->type == REDIS_REPLY_STATUS,
			      "AUTH failed");
		freeReplyObject(reply);
	}
	return c;
}

void
tenv_redis_restart(struct tenv_redis *redis, const char *dir)
{
	char	port[16];
	const char *argv[24];
	redisContext *c;
	pid_t	parent = getpid();
	int	argc = 0;
	int	tries;

	snprintf(port, sizeof(port), "%d", redis->port);
	argv[argc++] = "/usr/bin/redis-server";
	argv[argc++] = "--bind";
	argv[argc++] = "127.0.0.1";
	argv[argc++] = "--port";
	argv[argc++] = port;
	argv[argc++] = "--save";
	argv[argc++] = "";
	argv[argc++] = "--appendonly";
	argv[argc++] = "no";
	argv[argc++] = "--dir";
	argv[argc++] = dir;
	argv[argc++] = "--loglevel";
	argv[argc++] = "warning";
	argv[argc++] = "--logfile";
	argv[argc++] = "redis.log";
	if (*redis->path) {
		argv[argc++] = "--unixsocket";
		argv[argc++] = redis->path;
		argv[argc++] = "--unixsocketperm";
		argv[argc++] = "700";
	}
	if (*redis->password) {
		argv[argc++] = "--requirepass";
		argv[argc++] = redis->password;
	}
	argv[argc] = NULL;
	for (tries = 0; tries < 100; tries++) {
		/*
		 * Started again if it ended: a port it had before may be a
		 * client connection's local port for a moment.
		 */
		if (tries == 0 || waitpid(redis->pid, NULL, WNOHANG) == redis->pid) {
			ck_assert_int_ge(redis->pid = fork(), 0);
			if (redis->pid == 0) {
				tenv_child_guard(parent);
				execv(argv[0], (char *const *) argv);
				_exit(127);
			}
		}
		if ((c = tenv_redis_connect(redis)) != NULL) {
			redisFree(c);
			return;
		}
		usleep(50000);
	}
	ck_abort_msg("redis-server did not start");
}

void
tenv_redis_start(struct tenv_redis *redis, const char *dir, bool on_socket,
		 const char *password)
{
	memset(redis, 0, sizeof(*redis));
	ck_assert_msg(access("/usr/bin/redis-server", X_OK) == 0,
		      "redis-server not found: apt-get install redis-server");
	snprintf(redis->password, sizeof(redis->password), "%s", password);
	if (on_socket)
		snprintf(redis->path, sizeof(redis->path), "%s/redis.sock", dir);
	else
		redis->port = tenv_free_port();
	tenv_redis_restart(redis, dir);
}

redisReply *
tenv_redis_cmd(const struct tenv_redis *redis, const char *format, ...)
{
	redisContext *c;
	redisReply *reply;
	va_list	ap;

	ck_assert_ptr_nonnull(c = tenv_redis_connect(redis));
	va_start(ap, format);
	reply = redisvCommand(c, format, ap);
	va_end(ap);
	ck_assert_msg(reply != NULL, "redis: %s", c->errstr);
	redisFree(c);
	return reply;
}

/* Lines of path from offset on equal to text (whole) or containing it. */
static int
tenv_count(const char *path, long offset, const char *text, bool whole)
{
	char	line[4096];
	FILE   *fp;
	int	count = 0;

	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	ck_assert_int_eq(fseek(fp, offset, SEEK_SET), 0);
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = 0;
		count += whole ? strcmp(line, text) == 0
		    : strstr(line, text) != NULL;
	}
	fclose(fp);
	return count;
}

int
tenv_count_lines(const char *path, const char *text)
{
	return tenv_count(path, 0, text, true);
}

int
tenv_count_matches(const char *path, const char *text)
{
	return tenv_count(path, 0, text, false);
}

int
tenv_count_since(const char *path, long offset, const char *text)
{
	return tenv_count(path, offset, text, false);
}

long
tenv_size(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return (long) st.st_size;
}

bool
tenv_wait_line(const char *path, long offset, const char *text, unsigned ms)
{
	unsigned waited;

	for (waited = 0; waited < ms; waited += 20) {
		if (tenv_count_since(path, offset, text) > 0)
			return true;
		usleep(20000);
	}
	return tenv_count_since(path, offset, text) > 0;
}

bool
tenv_last_line(const char *path, long offset, const char *text, char *buf,
	       size_t size)
{
	char	line[4096];
	FILE   *fp;
	bool	found = false;

	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	ck_assert_int_eq(fseek(fp, offset, SEEK_SET), 0);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strstr(line, text) != NULL) {
			line[strcspn(line, "\n")] = 0;
			snprintf(buf, size, "%s", line);
			found = true;
		}
	fclose(fp);
	return found;
}

void
tenv_milter_reload(pid_t pid, const char *log)
{
	static const char done[] = "configuration reloaded";
	long	offset = tenv_size(log);

	ck_assert_int_eq(kill(pid, SIGHUP), 0);
	ck_assert_msg(tenv_wait_line(log, offset, done, 4000),
		      "no reload after SIGHUP; the log ends:\n%s",
		      tenv_tail(log, 600));
}

void
tenv_child_guard(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(127);
}

/* tenv_milter_start() with RLIMIT_NOFILE at nofile (0: unchanged). */
static pid_t
tenv_milter_spawn(char *const argv[], const char *spec, const char *log,
		  unsigned nofile)
{
	unsigned long actions;
	unsigned long protocol;
	struct rlimit limit = {nofile, nofile};
	struct mclient *client;
	pid_t	parent = getpid();
	pid_t	pid;
	char	err[512] = "";
	int	tries;
	int	fd;
	int	ok;

	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		tenv_child_guard(parent);
		if (nofile != 0 && setrlimit(RLIMIT_NOFILE, &limit) != 0)
			_exit(127);
		if (log != NULL && (fd = open(log, O_WRONLY | O_CREAT | O_APPEND,
					      0644)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	for (tries = 0; tries < 250; tries++) {
		if ((client = mclient_open(spec, 1000, err, sizeof(err))) != NULL) {
			ok = mclient_negotiate(client, &actions, &protocol) == 0;
			mclient_close(client);
			if (ok)
				return pid;
		}
		ck_assert_msg(waitpid(pid, NULL, WNOHANG) == 0, "%s on %s exited",
			      argv[0], spec);
		usleep(20000);
	}
	tenv_stop(pid);
	ck_abort_msg("%s does not answer on %s: %s", argv[0], spec, err);
	return -1;
}

pid_t
tenv_milter_start(char *const argv[], const char *spec, const char *log)
{
	return tenv_milter_spawn(argv, spec, log, 0);
}

pid_t
tenv_rblmilter(const char *dir, const char *name, const char *spec,
	       unsigned nofile, char **log)
{
	char   *argv[] = {(char *) tenv_program("RBLMILTER"), "-f", "-c", NULL,
	NULL};
	pid_t	pid;

	ck_assert_int_ge(asprintf(log, "%s/%s.log", dir, name), 0);
	ck_assert_int_ge(asprintf(&argv[3], "%s/%s.conf", dir, name), 0);
	pid = tenv_milter_spawn(argv, spec, *log, nofile);
	free(argv[3]);
	return pid;
}

void
tenv_command(struct tenv_output *r, const char *dir, const char *args,
	     const char *in)
{
	char	command[4096];
	int	status;

	snprintf(command, sizeof(command), "cd '%s' && '%s' %s <'%s' "
		 ">stdout 2>stderr", dir, tenv_program("RBLMILTER"), args, in);
	status = system(command);
	ck_assert_msg(WIFEXITED(status), "%s", command);
	r->status = WEXITSTATUS(status);
	snprintf(command, sizeof(command), "%s/stdout", dir);
	tenv_slurp(command, r->out, sizeof(r->out));
	snprintf(command, sizeof(command), "%s/stderr", dir);
	tenv_slurp(command, r->err, sizeof(r->err));
}

int
tenv_rblmilter_exit(const char *dir, const char *name, char **log)
{
	char	command[2048];
	int	status;

	ck_assert_int_ge(asprintf(log, "%s/%s.log", dir, name), 0);
	snprintf(command, sizeof(command),
		 "exec timeout 10 '%s' -f -c '%s/%s.conf' </dev/null >>'%s' 2>&1",
		 tenv_program("RBLMILTER"), dir, name, *log);
	status = system(command);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 124,
		      "rblmilter -c %s/%s.conf did not exit", dir, name);
	return WEXITSTATUS(status);
}

void
tenv_milter_stop(pid_t pid, const char *spec)
{
	char	err[512];
	pid_t	done;
	int	status;
	int	tries;

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	for (tries = 0; tries < 1000; tries++) {
		ck_assert_int_ge(done = waitpid(pid, &status, WNOHANG), 0);
		if (done == pid)
			break;
		mclient_close(mclient_open(spec, 1000, err, sizeof(err)));
		usleep(10000);
	}
	ck_assert_msg(done == pid, "milter on %s does not stop", spec);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "milter on %s ended with status 0x%x", spec, status);
}

const char *
tenv_tail(const char *path, size_t size)
{
	static char buf[4096];
	FILE   *fp;
	size_t	len;

	if (size >= sizeof(buf))
		size = sizeof(buf) - 1;
	buf[0] = 0;
	if ((fp = fopen(path, "r")) == NULL)
		return buf;
	if (fseek(fp, -(long) size, SEEK_END) < 0)
		rewind(fp);
	len = fread(buf, 1, size, fp);
	buf[len] = 0;
	fclose(fp);
	return buf;
}

int
tenv_log_to(const char *path)
{
	int	saved;
	int	fd;

	fflush(stderr);
	ck_assert_int_ge(saved = dup(2), 0);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
	ck_assert_int_eq(dup2(fd, 2), 2);
	close(fd);
	return saved;
}

void
tenv_log_restore(int saved)
{
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
}

void
tenv_report(const char *tag, const char *fmt,...)
{
	va_list	ap;

	printf("%s: ", tag);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

unsigned
tenv_elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (unsigned) ((now.tv_sec - since->tv_sec) * 1000
			   + (now.tv_nsec - since->tv_nsec) / 1000000);
}

const char *
tenv_user(void)
{
	return geteuid() == 0 ? "user = nobody\n" : "";
}

void
tenv_slurp(const char *path, char *buf, size_t size)
{
	FILE   *fp;
	size_t	len;

	ck_assert_msg((fp = fopen(path, "r")) != NULL, "%s: %s", path,
		      strerror(errno));
	len = fread(buf, 1, size - 1, fp);
	buf[len] = 0;
	fclose(fp);
}
