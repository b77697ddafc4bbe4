/*
 * dnsfault - a DNS server for tests that misbehaves on purpose, one way
 * per zone, so that the engine can be shown each fault a resolver or a
 * list server can send it.
 *
 * Usage: dnsfault -l 127.0.0.1:PORT -z ZONE=MODE... [-L LOGFILE]
 *
 * It listens on UDP and TCP on the same loopback port (the caller picks
 * one free on both), and prints "port N" on stdout once both listen.  Each zone
 * lists one client, 127.0.0.2: an A query for 2.0.0.127.ZONE is answered
 * 127.0.0.2, any other name in the zone NXDOMAIN with the zone's SOA in
 * the authority section (RFC 2308), TTL 300 on every record, unless the
 * zone's MODE says otherwise:
 *   ok          just that
 *   ttl:N       the same with TTL N (0 to 4294967295), the SOA's MINIMUM
 *               included
 *   servfail    RCODE 2 to every query; refused: RCODE 5
 *   tc          over UDP an empty answer with TC set; over TCP, as ok
 *   tcclose     TC over UDP; a TCP connection that asks is closed unanswered
 *   wrongtype   the listed name has TXT, AAAA and MX records but no A
 *   wrongname   the listed name gets A 127.0.0.2 owned by another name
 *   cname       the listed name is a CNAME (TTL 120) to a CNAME to an A
 *   cnameloop   every name is a CNAME to a name that is a CNAME back
 *   malformed   the listed name's A record ends short of its RDLENGTH
 *   badclass    the listed name's A record has class CH (3), not IN
 *   badrdlen    the listed name's A record has RDLENGTH 5 (and 5 bytes)
 *   garbage     three datagrams for every query, none a reply: 5 bytes,
 *               the right answer under the wrong ID, 64 random bytes
 *               (over TCP: nothing)
 *   silent      no reply, ever
 * Queries of other types than A get an empty answer (NODATA) for the
 * listed name.  A name in no zone gets REFUSED.  With -L every query
 * received is appended to LOGFILE as "udp|tcp TYPE NAME", so a test can
 * see the retry over TCP that a truncated answer causes.
 *
 * What it does not: recurse, forward, read zone files, speak EDNS, answer
 * more than one question, listen beyond one IPv4 address, or accept
 * compressed names in queries (such queries are ignored, as are responses
 * and other opcodes).  Exit status 0 on SIGTERM or SIGINT, 64 for a bad
 * command line, 1 when it cannot listen.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DF_EX_USAGE	64

#define DF_MAX_ZONES	32
#define DF_MAX_CONNS	64		/* TCP connections at once */
#define DF_TTL		300u
#define DF_CNAME_TTL	120u
#define DF_HEADER	12
#define DF_MAX_NAME	255		/* text of a name, without the root */
#define DF_TCP_QUERY	1024		/* longest query taken over TCP */
#define DF_MAX_MSG	4096		/* longest reply built */
#define DF_PORT_WAIT_MS	5000		/* for a port held by another */
#define DF_PORT_PAUSE_MS	50
#define DF_RANDOM_LEN	64

#define DF_TYPE_A	1
#define DF_TYPE_CNAME	5
#define DF_TYPE_SOA	6
#define DF_TYPE_MX	15
#define DF_TYPE_TXT	16
#define DF_TYPE_AAAA	28

#define DF_RCODE_OK	0
#define DF_RCODE_SERVFAIL 2
#define DF_RCODE_NXDOMAIN 3
#define DF_RCODE_REFUSED 5

enum df_mode {
	DF_OK, DF_SERVFAIL, DF_REFUSED, DF_TC, DF_TCCLOSE, DF_WRONGTYPE,
	DF_WRONGNAME, DF_CNAME, DF_CNAMELOOP, DF_MALFORMED, DF_BADCLASS,
	DF_BADRDLEN, DF_GARBAGE, DF_SILENT,
};

static const char *const df_mode_names[] = {
	"ok", "servfail", "refused", "tc", "tcclose", "wrongtype",
	"wrongname", "cname", "cnameloop", "malformed", "badclass",
	"badrdlen", "garbage", "silent",
};

struct df_zone {
	char	name[DF_MAX_NAME + 1];	/* lower case */
	enum df_mode mode;
	uint32_t ttl;
};

/* A query as received: its bytes, and what its question asks. */
struct df_query {
	const unsigned char *pkt;
	size_t	qend;			/* the end of the question */
	char	name[DF_MAX_NAME + 1];	/* lower case, no final dot */
	unsigned type;
	bool	tcp;
};

/* A reply being built. */
struct df_msg {
	unsigned char buf[DF_MAX_MSG];
	size_t	len;
};

/* What to do with a query. */
enum df_action {
	DF_SEND, DF_NONE, DF_CLOSE, DF_JUNK,
};

/* A TCP connection and the query it is sending. */
struct df_conn {
	int	fd;
	size_t	len;
	unsigned char buf[2 + DF_TCP_QUERY];
};

static struct df_zone df_zones[DF_MAX_ZONES];
static size_t df_zone_count;
static FILE *df_log;

/* Lower-case one byte of a name, whatever the locale. */
static char
df_lower(unsigned char c)
{
	return (char) (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

static void
df_usage(const char *why)
{
	fprintf(stderr, "dnsfault: %s\nusage: dnsfault -l 127.0.0.1:PORT "
		"-z ZONE=MODE... [-L LOGFILE]\n", why);
	exit(DF_EX_USAGE);
}

/* "ZONE=MODE" into the next zone. */
static void
df_add_zone(const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct df_zone *zone = df_zones + df_zone_count;
	unsigned long long ttl;
	char   *end;
	size_t	i;

	if (df_zone_count == DF_MAX_ZONES)
		df_usage("too many zones");
	if (eq == NULL || eq == arg || (size_t) (eq - arg) > DF_MAX_NAME)
		df_usage("expected -z ZONE=MODE");
	for (i = 0; arg + i < eq; i++)
		zone->name[i] = df_lower((unsigned char) arg[i]);
	zone->name[i] = 0;
	zone->ttl = DF_TTL;
	zone->mode = DF_OK;
	if (strncmp(eq + 1, "ttl:", 4) == 0) {
		errno = 0;
		ttl = strtoull(eq + 5, &end, 10);
		if (eq[5] < '0' || eq[5] > '9' || *end != 0 || errno != 0
		    || ttl > UINT32_MAX)
			df_usage("ttl:N wants N from 0 to 4294967295");
		zone->ttl = (uint32_t) ttl;
		df_zone_count++;
		return;
	}
	for (i = 0; i < sizeof(df_mode_names) / sizeof(df_mode_names[0]); i++)
		if (strcmp(eq + 1, df_mode_names[i]) == 0) {
			zone->mode = (enum df_mode) i;
			df_zone_count++;
			return;
		}
	df_usage("unknown mode");
}

/* The zone a name falls in, or NULL. */
static const struct df_zone *
df_find_zone(const char *name)
{
	size_t	len = strlen(name);
	size_t	zlen;
	size_t	i;

	for (i = 0; i < df_zone_count; i++) {
		zlen = strlen(df_zones[i].name);
		if (len == zlen && strcmp(name, df_zones[i].name) == 0)
			return df_zones + i;
		if (len > zlen && name[len - zlen - 1] == '.'
		    && strcmp(name + len - zlen, df_zones[i].name) == 0)
			return df_zones + i;
	}
	return NULL;
}

/* Read the question of a query; -1 when it is not one this server takes. */
static int
df_parse(const unsigned char *pkt, size_t len, bool tcp, struct df_query *q)
{
	size_t	pos = DF_HEADER;
	size_t	used = 0;
	size_t	label;
	size_t	i;

	if (len < DF_HEADER || (pkt[2] & 0xf8) != 0 || pkt[4] != 0 || pkt[5] != 1)
		return -1;
	while (pos < len && (label = pkt[pos]) != 0) {
		if (label > 63 || pos + 1 + label > len
		    || used + label + 1 > DF_MAX_NAME)
			return -1;
		if (used > 0)
			q->name[used++] = '.';
		for (i = 0; i < label; i++)
			q->name[used++] = df_lower(pkt[pos + 1 + i]);
		pos += 1 + label;
	}
	if (pos + 5 > len)
		return -1;
	q->name[used] = 0;
	q->pkt = pkt;
	q->type = (unsigned) pkt[pos + 1] << 8 | pkt[pos + 2];
	q->qend = pos + 5;
	q->tcp = tcp;
	return 0;
}

static void
df_put(struct df_msg *m, const void *bytes, size_t n)
{
	if (n > sizeof(m->buf) - m->len)
		n = sizeof(m->buf) - m->len;
	memcpy(m->buf + m->len, bytes, n);
	m->len += n;
}

static void
df_put16(struct df_msg *m, unsigned value)
{
	unsigned char b[2] = {(unsigned char) (value >> 8), (unsigned char) value};

	df_put(m, b, 2);
}

static void
df_put32(struct df_msg *m, uint32_t value)
{
	df_put16(m, value >> 16);
	df_put16(m, value & 0xffff);
}

/* A name from its text, label by label ("" is the root). */
static void
df_put_name(struct df_msg *m, const char *text)
{
	unsigned char len;
	size_t	n;

	while (*text != 0) {
		n = strcspn(text, ".");
		len = (unsigned char) n;
		df_put(m, &len, 1);
		df_put(m, text, n);
		text += n + (text[n] == '.');
	}
	df_put(m, "", 1);
}

/*
 * Start the reply to q: the header, with the TC bit when tc is 0x02 and
 * the counts of answer and authority records, and the question.
 */
static void
df_header(struct df_msg *m, const struct df_query *q, unsigned rcode,
	  unsigned char tc, unsigned answers, unsigned authority)
{
	unsigned char head[4] = {q->pkt[0], q->pkt[1],
		(unsigned char) (0x84 | tc | (q->pkt[2] & 0x01)),
	(unsigned char) rcode};

	m->len = 0;
	df_put(m, head, sizeof(head));
	df_put16(m, 1);
	df_put16(m, answers);
	df_put16(m, authority);
	df_put16(m, 0);
	df_put(m, q->pkt + DF_HEADER, q->qend - DF_HEADER);
}

/*
 * Start a record owned by owner (NULL: the question's name, compressed);
 * returns where its RDLENGTH goes, for df_rr_end().
 */
static size_t
df_rr(struct df_msg *m, const char *owner, unsigned type, uint32_t ttl)
{
	size_t	at;

	if (owner == NULL)
		df_put16(m, 0xc000 | DF_HEADER);
	else
		df_put_name(m, owner);
	df_put16(m, type);
	df_put16(m, 1);
	df_put32(m, ttl);
	at = m->len;
	df_put16(m, 0);
	return at;
}

/* Fill in the RDLENGTH of the record started at at. */
static void
df_rr_end(struct df_msg *m, size_t at)
{
	size_t	rdlen = m->len - at - 2;

	if (at + 2 <= m->len) {
		m->buf[at] = (unsigned char) (rdlen >> 8);
		m->buf[at + 1] = (unsigned char) rdlen;
	}
}

/* An A record 127.0.0.2. */
static void
df_a(struct df_msg *m, const char *owner, uint32_t ttl)
{
	static const unsigned char listed[4] = {127, 0, 0, 2};
	size_t	at = df_rr(m, owner, DF_TYPE_A, ttl);

	df_put(m, listed, sizeof(listed));
	df_rr_end(m, at);
}

/* A record whose data is one name: a CNAME, or an MX with its preference. */
static void
df_name_rr(struct df_msg *m, const char *owner, unsigned type, uint32_t ttl,
	   const char *target)
{
	size_t	at = df_rr(m, owner, type, ttl);

	if (type == DF_TYPE_MX)
		df_put16(m, 10);
	df_put_name(m, target);
	df_rr_end(m, at);
}

/* The zone's SOA, for the authority section of a negative answer. */
static void
df_soa(struct df_msg *m, const struct df_zone *zone)
{
	char	host[DF_MAX_NAME + 8];
	size_t	at = df_rr(m, zone->name, DF_TYPE_SOA, zone->ttl);

	snprintf(host, sizeof(host), "ns.%s", zone->name);
	df_put_name(m, host);
	snprintf(host, sizeof(host), "admin.%s", zone->name);
	df_put_name(m, host);
	df_put32(m, 1);
	df_put32(m, 3600);
	df_put32(m, 600);
	df_put32(m, 86400);
	df_put32(m, zone->ttl);
	df_rr_end(m, at);
}

/* The records of the listed name that the mode calls for. */
static void
df_listed(struct df_msg *m, const struct df_query *q,
	  const struct df_zone *zone)
{
	static const unsigned char aaaa[16] = {
		0x20, 0x01, 0x0d, 0xb8, [15] = 2,
	};
	char	one[DF_MAX_NAME + 16];
	char	two[DF_MAX_NAME + 16];
	size_t	at;

	snprintf(one, sizeof(one), "c1.%s", zone->name);
	snprintf(two, sizeof(two), "c2.%s", zone->name);
	switch (zone->mode) {
	case DF_WRONGTYPE:
		df_header(m, q, DF_RCODE_OK, 0, 3, 0);
		at = df_rr(m, NULL, DF_TYPE_TXT, zone->ttl);
		df_put(m, "\x09" "127.0.0.2", 10);
		df_rr_end(m, at);
		at = df_rr(m, NULL, DF_TYPE_AAAA, zone->ttl);
		df_put(m, aaaa, sizeof(aaaa));
		df_rr_end(m, at);
		df_name_rr(m, NULL, DF_TYPE_MX, zone->ttl, one);
		return;
	case DF_WRONGNAME:
		df_header(m, q, DF_RCODE_OK, 0, 1, 0);
		df_a(m, "2.0.0.127.elsewhere.invalid", zone->ttl);
		return;
	case DF_CNAME:
		df_header(m, q, DF_RCODE_OK, 0, 3, 0);
		df_name_rr(m, NULL, DF_TYPE_CNAME, DF_CNAME_TTL, one);
		df_name_rr(m, one, DF_TYPE_CNAME, zone->ttl, two);
		df_a(m, two, zone->ttl);
		return;
	default:
		df_header(m, q, DF_RCODE_OK, 0, 1, 0);
		at = m->len;
		df_a(m, NULL, zone->ttl);
		if (zone->mode == DF_MALFORMED)
			m->len -= 2;
		/* The class follows the owner (2 bytes) and the type. */
		if (zone->mode == DF_BADCLASS)
			m->buf[at + 5] = 3;
		if (zone->mode == DF_BADRDLEN) {
			df_put(m, "", 1);
			m->buf[at + 11] = 5;
		}
		return;
	}
}

/* Build the reply to q in m, as the zone's mode says. */
static enum df_action
df_answer(const struct df_query *q, struct df_msg *m)
{
	const struct df_zone *zone = df_find_zone(q->name);
	char	listed[DF_MAX_NAME + 16];
	char	loop[DF_MAX_NAME + 16];

	if (zone == NULL) {
		df_header(m, q, DF_RCODE_REFUSED, 0, 0, 0);
		return DF_SEND;
	}
	snprintf(listed, sizeof(listed), "2.0.0.127.%s", zone->name);
	switch (zone->mode) {
	case DF_SILENT:
		return DF_NONE;
	case DF_GARBAGE:
		if (q->tcp)
			return DF_NONE;
		df_header(m, q, DF_RCODE_OK, 0, 1, 0);
		df_a(m, NULL, zone->ttl);
		m->buf[0] ^= 0xff;
		return DF_JUNK;
	case DF_SERVFAIL:
	case DF_REFUSED:
		df_header(m, q, zone->mode == DF_SERVFAIL ? DF_RCODE_SERVFAIL
			  : DF_RCODE_REFUSED, 0, 0, 0);
		return DF_SEND;
	case DF_TC:
	case DF_TCCLOSE:
		if (!q->tcp) {
			df_header(m, q, DF_RCODE_OK, 0x02, 0, 0);
			return DF_SEND;
		}
		if (zone->mode == DF_TCCLOSE)
			return DF_CLOSE;
		break;
	case DF_CNAMELOOP:
		snprintf(loop, sizeof(loop), "loop.%s", zone->name);
		df_header(m, q, DF_RCODE_OK, 0, 2, 0);
		df_name_rr(m, NULL, DF_TYPE_CNAME, zone->ttl, loop);
		df_name_rr(m, loop, DF_TYPE_CNAME, zone->ttl, q->name);
		return DF_SEND;
	default:
		break;
	}
	if (strcmp(q->name, listed) != 0) {
		df_header(m, q, DF_RCODE_NXDOMAIN, 0, 0, 1);
		df_soa(m, zone);
	} else if (q->type != DF_TYPE_A) {
		df_header(m, q, DF_RCODE_OK, 0, 0, 1);
		df_soa(m, zone);
	} else
		df_listed(m, q, zone);
	return DF_SEND;
}

/* Note a query in the log. */
static void
df_note(const struct df_query *q)
{
	if (df_log == NULL)
		return;
	if (q->type == DF_TYPE_A)
		fprintf(df_log, "%s A %s\n", q->tcp ? "tcp" : "udp", q->name);
	else if (q->type == DF_TYPE_TXT)
		fprintf(df_log, "%s TXT %s\n", q->tcp ? "tcp" : "udp", q->name);
	else
		fprintf(df_log, "%s TYPE%u %s\n", q->tcp ? "tcp" : "udp",
			q->type, q->name);
	if (fflush(df_log) != 0)
		perror("dnsfault: log");
}

/* Send one datagram; a failure is reported, and the server goes on. */
static void
df_sendto(int fd, const void *bytes, size_t len, const struct sockaddr_in *to)
{
	if (sendto(fd, bytes, len, 0, (const struct sockaddr *) to,
		   sizeof(*to)) < 0)
		perror("dnsfault: sendto");
}

/* garbage: a short packet, the answer m under a wrong ID, random bytes. */
static void
df_junk(int fd, const struct df_query *q, const struct df_msg *m,
	const struct sockaddr_in *to)
{
	unsigned char noise[DF_RANDOM_LEN];
	size_t	i;

	df_sendto(fd, m->buf, 5, to);
	df_sendto(fd, m->buf, m->len, to);
	for (i = 0; i < sizeof(noise); i++)
		noise[i] = (unsigned char) random();
	noise[0] = (unsigned char) ~q->pkt[0];
	df_sendto(fd, noise, sizeof(noise), to);
}

/* A datagram on the UDP socket. */
static void
df_udp(int fd)
{
	unsigned char pkt[DF_TCP_QUERY];
	struct sockaddr_in from;
	socklen_t fromlen = sizeof(from);
	struct df_query q;
	struct df_msg m;
	ssize_t	n;

	if ((n = recvfrom(fd, pkt, sizeof(pkt), 0, (struct sockaddr *) &from,
			  &fromlen)) < 0) {
		if (errno != EINTR)
			perror("dnsfault: recvfrom");
		return;
	}
	if (df_parse(pkt, (size_t) n, false, &q) < 0)
		return;
	df_note(&q);
	switch (df_answer(&q, &m)) {
	case DF_SEND:
		df_sendto(fd, m.buf, m.len, &from);
		break;
	case DF_JUNK:
		df_junk(fd, &q, &m, &from);
		break;
	default:
		break;
	}
}

/* Answer the queries a TCP connection has sent in full; -1: close it. */
static int
df_tcp_queries(struct df_conn *conn)
{
	struct df_query q;
	struct df_msg m;
	unsigned char len[2];
	size_t	size;

	while (conn->len >= 2
	       && conn->len >= 2 + (size = (size_t) conn->buf[0] << 8
				    | conn->buf[1])) {
		if (df_parse(conn->buf + 2, size, true, &q) < 0)
			return -1;
		df_note(&q);
		switch (df_answer(&q, &m)) {
		case DF_CLOSE:
			return -1;
		case DF_SEND:
			len[0] = (unsigned char) (m.len >> 8);
			len[1] = (unsigned char) m.len;
			if (write(conn->fd, len, 2) != 2
			    || write(conn->fd, m.buf, m.len) != (ssize_t) m.len)
				return -1;
			break;
		default:
			break;
		}
		conn->len -= 2 + size;
		memmove(conn->buf, conn->buf + 2 + size, conn->len);
	}
	return 0;
}

/* Data, or the end, on a TCP connection; -1: close it. */
static int
df_tcp(struct df_conn *conn)
{
	ssize_t	n;

	if (conn->len == sizeof(conn->buf))
		return -1;
	n = read(conn->fd, conn->buf + conn->len, sizeof(conn->buf) - conn->len);
	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return -1;
	conn->len += (size_t) n;
	return df_tcp_queries(conn);
}

/* Bind one socket of type to addr and listen when it is TCP; -1 or fd. */
static int
df_bind(int type, const struct sockaddr_in *addr)
{
	int	fd;
	int	one = 1;

	if ((fd = socket(AF_INET, type | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if ((type == SOCK_STREAM
	     && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
	    || bind(fd, (const struct sockaddr *) addr, sizeof(*addr)) < 0
	    || (type == SOCK_STREAM && listen(fd, 16) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Listen on UDP and TCP at addr, trying again while another socket holds
 * the port: a server restarted where it was may find it held for a moment
 * by a client connection of a test's load.  fds[0] is UDP, fds[1] TCP.
 * 0 or -1.
 */
static int
df_listen(const struct sockaddr_in *addr, int fds[2])
{
	const struct timespec pause = {0, DF_PORT_PAUSE_MS * 1000000L};
	int	tries;
	int	error;

	for (tries = 1;; tries++) {
		if ((fds[0] = df_bind(SOCK_DGRAM, addr)) < 0)
			error = errno;
		else if ((fds[1] = df_bind(SOCK_STREAM, addr)) >= 0)
			return 0;
		else {
			error = errno;
			close(fds[0]);
		}
		if (error != EADDRINUSE
		    || tries * DF_PORT_PAUSE_MS >= DF_PORT_WAIT_MS) {
			errno = error;
			return -1;
		}
		nanosleep(&pause, NULL);
	}
}

static volatile sig_atomic_t df_stop;

static void
df_on_signal(int sig)
{
	(void) sig;
	df_stop = 1;
}

/*
 * Serve until SIGTERM or SIGINT.  The signals are blocked except inside
 * ppoll(), so one that comes between two polls is not lost.
 */
static void
df_serve(int fds[2])
{
	struct df_conn conns[DF_MAX_CONNS];
	struct pollfd pfd[2 + DF_MAX_CONNS];
	struct sigaction sa = {.sa_handler = df_on_signal};
	sigset_t block;
	sigset_t wait;
	size_t	nconns = 0;
	size_t	i;
	int	fd;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (sigprocmask(SIG_BLOCK, &block, &wait) < 0
	    || sigaction(SIGTERM, &sa, NULL) < 0
	    || sigaction(SIGINT, &sa, NULL) < 0) {
		perror("dnsfault: signals");
		return;
	}
	while (!df_stop) {
		pfd[0].fd = fds[0];
		pfd[1].fd = nconns < DF_MAX_CONNS ? fds[1] : -1;
		for (i = 0; i < nconns; i++)
			pfd[2 + i].fd = conns[i].fd;
		for (i = 0; i < 2 + nconns; i++)
			pfd[i].events = POLLIN;
		if (ppoll(pfd, 2 + nconns, NULL, &wait) < 0) {
			if (errno != EINTR) {
				perror("dnsfault: poll");
				return;
			}
			continue;
		}
		if (pfd[0].revents)
			df_udp(fds[0]);
		for (i = nconns; i-- > 0;)
			if (pfd[2 + i].revents && df_tcp(conns + i) < 0) {
				close(conns[i].fd);
				conns[i] = conns[--nconns];
			}
		if (pfd[1].revents
		    && (fd = accept4(fds[1], NULL, NULL, SOCK_CLOEXEC)) >= 0) {
			conns[nconns].fd = fd;
			conns[nconns++].len = 0;
		}
	}
	while (nconns > 0)
		close(conns[--nconns].fd);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	char	host[32] = "";
	unsigned port = 0;
	int	fds[2];
	int	ch;

	while ((ch = getopt(argc, argv, "l:z:L:")) != -1) {
		switch (ch) {
		case 'l':
			if (sscanf(optarg, "%31[0-9.]:%u", host, &port) != 2
			    || port == 0 || port > 65535
			    || inet_pton(AF_INET, host, &addr.sin_addr) != 1)
				df_usage("-l wants IPv4:PORT, PORT from 1");
			addr.sin_port = htons((uint16_t) port);
			break;
		case 'z':
			df_add_zone(optarg);
			break;
		case 'L':
			if ((df_log = fopen(optarg, "a")) == NULL)
				df_usage("cannot open the log file");
			break;
		default:
			df_usage("unknown option");
		}
	}
	if (optind != argc || host[0] == 0 || df_zone_count == 0)
		df_usage("-l and at least one -z are needed");
	srandom((unsigned) time(NULL) ^ (unsigned) getpid());
	if (df_listen(&addr, fds) < 0) {
		perror("dnsfault: listen");
		return 1;
	}
	if (printf("port %u\n", ntohs(addr.sin_port)) < 0 || fflush(stdout) != 0)
		return 1;
	df_serve(fds);
	close(fds[0]);
	close(fds[1]);
	if (df_log != NULL && fclose(df_log) != 0)
		perror("dnsfault: log");
	return 0;
}
