/*
 * dnsdelay - UDP DNS forwarder that delays or drops queries by zone, for tests.
 *
 * What it does:
 *   Listens on one UDP address (-l) and forwards every DNS query, byte for
 *   byte, to one upstream DNS server (-u), for instance an rbldnsd serving
 *   test zones.  Rules (-r SUFFIX=MS or -r SUFFIX=drop) select queries by the
 *   question name (case-insensitive, on a label boundary); the first matching
 *   rule wins.  Matching queries are forwarded after MS milliseconds, or never
 *   answered at all.  Queries without a matching rule are forwarded at once.
 *   Each forwarded query gets its own connected UDP socket; the first reply
 *   received on it is sent back unchanged to the client from the listening
 *   socket.  If no reply arrives within 10 seconds the query is forgotten.
 *   Many queries can be in flight at once; they do not wait for each other.
 *   After binding, "port N" is printed on stdout, so a test can use -l with
 *   port 0 and learn the port that was chosen.
 *
 * What it does not:
 *   No TCP, no caching, no retries, no rewriting of queries or replies, no
 *   checking that a reply matches its query, no EDNS or truncation handling,
 *   no IPv6 scope ids, no daemonizing.  Packets that are not well-formed
 *   queries (too short, a response, no question, compressed or over-long
 *   question name) are silently ignored.  It is a test tool, not a resolver.
 *
 * With -L LOGFILE, the question name of every query received is appended
 * to LOGFILE, one per line, so that a test can count the queries a client
 * sent.
 *
 * Usage: dnsdelay -l ADDR:PORT -u ADDR:PORT [-r SUFFIX=MS | -r SUFFIX=drop]...
 *                 [-L LOGFILE]
 *   ADDR is an IPv4 address or an IPv6 address in brackets ([::1]:53).
 *   Exits 0 on SIGTERM or SIGINT, 64 on a bad command line, 1 on other errors.
 */

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <event2/event.h>

#define PROG "dnsdelay"
#define EXIT_USAGE 64
#define MAX_RULES 32
#define MAX_DELAY_MS 3600000L
#define REPLY_TIMEOUT_SEC 10
#define DNS_HEADER_LEN 12
#define DNS_MAX_WIRE_NAME 255
#define DNS_MAX_TEXT_NAME 253
#define DNS_MAX_LABEL 63
#define RECV_BATCH 64

/* One -r option: a lower-case zone suffix and what to do with its queries. */
struct rule {
	char suffix[DNS_MAX_TEXT_NAME + 1];
	size_t len;
	int drop;
	long delay_ms;
};

/* The question name of a query, lower-cased, with where each label starts. */
struct qname {
	char text[DNS_MAX_TEXT_NAME + 1];
	size_t len;
	size_t starts[DNS_MAX_WIRE_NAME / 2];
	size_t nlabels;
};

struct dnsdelay;

/* One query on its way: waiting for its delay, or for the upstream reply. */
struct pending {
	struct dnsdelay *dd;
	struct pending *prev;
	struct pending *next;
	struct event *timer;
	struct event *reader;
	evutil_socket_t fd;
	struct sockaddr_storage client;
	socklen_t clientlen;
	size_t len;
	unsigned char pkt[];
};

/* All state of the running forwarder, so it can be freed on exit. */
struct dnsdelay {
	struct event_base *base;
	evutil_socket_t listenfd;
	struct event *listener;
	struct event *sigterm;
	struct event *sigint;
	struct sockaddr_storage upstream;
	socklen_t upstreamlen;
	struct rule rules[MAX_RULES];
	size_t nrules;
	struct pending *head;
	FILE *log;		/* -L: every question name received */
	unsigned char buf[65536];
};

/* Report a command-line problem and exit with the usage status. */
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s -l ADDR:PORT -u ADDR:PORT "
		"[-r SUFFIX=MS | -r SUFFIX=drop]... [-L LOGFILE]\n", PROG);
	exit(EXIT_USAGE);
}

/* Report a failed system call at run time; the tool keeps going. */
static void warn_errno(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", PROG, what, strerror(errno));
}

/* Lower-case one byte without depending on the locale. */
static char lower(unsigned char c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/* Parse a decimal number in [min, max]; returns 0 on success, -1 if not. */
static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Parse "1.2.3.4:PORT" or "[::1]:PORT" into a socket address. */
static int parse_addr(const char *s, long minport, struct sockaddr_storage *ss,
		      socklen_t *sslen)
{
	char host[INET6_ADDRSTRLEN];
	const char *hend, *portstr;
	long port;
	size_t hlen;
	int v6 = (s[0] == '[');

	if (v6) {
		hend = strchr(s, ']');
		if (hend == NULL || hend[1] != ':')
			return -1;
		s++;
		portstr = hend + 2;
	} else {
		hend = strrchr(s, ':');
		if (hend == NULL)
			return -1;
		portstr = hend + 1;
	}
	hlen = (size_t)(hend - s);
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (parse_long(portstr, minport, 65535, &port) != 0)
		return -1;

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -1;
		*sslen = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -1;
		*sslen = sizeof(*sin);
	}
	return 0;
}

/* Parse "SUFFIX=MS" or "SUFFIX=drop" into a rule; "." matches every name. */
static int parse_rule(const char *arg, struct rule *r)
{
	const char *eq = strrchr(arg, '=');
	size_t n, i, label = 0;

	if (eq == NULL || eq == arg)
		return -1;
	n = (size_t)(eq - arg);
	if (arg[n - 1] == '.')
		n--;
	if (n > DNS_MAX_TEXT_NAME)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)arg[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (!isgraph(c) || ++label > DNS_MAX_LABEL) {
			return -1;
		}
		r->suffix[i] = lower(c);
	}
	if (n > 0 && label == 0)
		return -1;
	r->suffix[n] = '\0';
	r->len = n;

	if (strcmp(eq + 1, "drop") == 0) {
		r->drop = 1;
		r->delay_ms = 0;
		return 0;
	}
	r->drop = 0;
	return parse_long(eq + 1, 0, MAX_DELAY_MS, &r->delay_ms);
}

/* Extract the first question name of a query; -1 if it is not well-formed. */
static int parse_qname(const unsigned char *pkt, size_t len, struct qname *q)
{
	size_t off = DNS_HEADER_LEN, wire = 0;

	if (len < DNS_HEADER_LEN)
		return -1;
	if (pkt[2] & 0x80)
		return -1;
	if (pkt[4] == 0 && pkt[5] == 0)
		return -1;

	q->len = 0;
	q->nlabels = 0;
	for (;;) {
		size_t l, i, sep;

		if (off >= len)
			return -1;
		l = pkt[off++];
		if (l > DNS_MAX_LABEL)
			return -1;
		wire += l + 1;
		if (wire > DNS_MAX_WIRE_NAME)
			return -1;
		if (l == 0)
			break;
		if (l > len - off)
			return -1;
		sep = (q->nlabels > 0);
		if (q->len + sep + l > DNS_MAX_TEXT_NAME ||
		    q->nlabels >= sizeof(q->starts) / sizeof(q->starts[0]))
			return -1;
		if (sep)
			q->text[q->len++] = '.';
		q->starts[q->nlabels++] = q->len;
		for (i = 0; i < l; i++)
			q->text[q->len++] = lower(pkt[off + i]);
		off += l;
	}
	q->text[q->len] = '\0';
	if (len - off < 4)
		return -1;
	return 0;
}

/* Find the first rule whose suffix matches the name on a label boundary. */
static const struct rule *match_rule(const struct dnsdelay *dd,
				     const struct qname *q)
{
	size_t i, j;

	for (i = 0; i < dd->nrules; i++) {
		const struct rule *r = &dd->rules[i];

		if (r->len == 0)
			return r;
		for (j = 0; j < q->nlabels; j++) {
			if (q->len - q->starts[j] == r->len &&
			    memcmp(q->text + q->starts[j], r->suffix,
				   r->len) == 0)
				return r;
		}
	}
	return NULL;
}

/* Forget a query: unlink it and release its events, socket and memory. */
static void pending_free(struct pending *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		p->dd->head = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	if (p->reader != NULL)
		event_free(p->reader);
	if (p->timer != NULL)
		event_free(p->timer);
	if (p->fd >= 0 && close(p->fd) != 0)
		warn_errno("close upstream socket");
	free(p);
}

/* Pass the first upstream reply back to the client, then forget the query. */
static void reply_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	struct dnsdelay *dd = p->dd;
	ssize_t n;

	(void)what;
	n = recv(fd, dd->buf, sizeof(dd->buf), 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (errno != ECONNREFUSED)
			warn_errno("recv from upstream");
		pending_free(p);
		return;
	}
	if (sendto(dd->listenfd, dd->buf, (size_t)n, 0,
		   (struct sockaddr *)&p->client, p->clientlen) != n)
		warn_errno("send reply to client");
	pending_free(p);
}

/* Send the query upstream on its own socket and start the reply timeout. */
static void forward(struct pending *p)
{
	struct dnsdelay *dd = p->dd;
	struct timeval tv = { REPLY_TIMEOUT_SEC, 0 };

	p->fd = socket(dd->upstream.ss_family,
		       SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		warn_errno("socket");
		pending_free(p);
		return;
	}
	if (connect(p->fd, (struct sockaddr *)&dd->upstream,
		    dd->upstreamlen) != 0) {
		warn_errno("connect to upstream");
		pending_free(p);
		return;
	}
	if (send(p->fd, p->pkt, p->len, 0) != (ssize_t)p->len) {
		warn_errno("send to upstream");
		pending_free(p);
		return;
	}
	p->reader = event_new(dd->base, p->fd, EV_READ | EV_PERSIST, reply_cb,
			      p);
	if (p->reader == NULL || event_add(p->reader, NULL) != 0 ||
	    evtimer_add(p->timer, &tv) != 0) {
		fprintf(stderr, "%s: cannot watch upstream socket\n", PROG);
		pending_free(p);
	}
}

/* Timer of a query: the delay is over (forward it) or the reply is too late. */
static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;

	(void)fd;
	(void)what;
	if (p->fd < 0)
		forward(p);
	else
		pending_free(p);
}

/* Remember a query from a client and schedule it for forwarding. */
static void pending_new(struct dnsdelay *dd, size_t len,
			const struct sockaddr_storage *client,
			socklen_t clientlen, long delay_ms)
{
	struct timeval tv;
	struct pending *p = calloc(1, sizeof(*p) + len);

	if (p == NULL) {
		warn_errno("calloc");
		return;
	}
	p->dd = dd;
	p->fd = -1;
	p->client = *client;
	p->clientlen = clientlen;
	p->len = len;
	memcpy(p->pkt, dd->buf, len);
	p->next = dd->head;
	if (dd->head != NULL)
		dd->head->prev = p;
	dd->head = p;

	tv.tv_sec = delay_ms / 1000;
	tv.tv_usec = (delay_ms % 1000) * 1000;
	p->timer = evtimer_new(dd->base, timer_cb, p);
	if (p->timer == NULL || evtimer_add(p->timer, &tv) != 0) {
		fprintf(stderr, "%s: cannot schedule query\n", PROG);
		pending_free(p);
	}
}

/* Read the queries waiting on the listening socket and apply the rules. */
static void listen_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dnsdelay *dd = arg;
	int i;

	(void)what;
	for (i = 0; i < RECV_BATCH; i++) {
		struct sockaddr_storage client;
		socklen_t clientlen = sizeof(client);
		struct qname q;
		const struct rule *r;
		ssize_t n;

		n = recvfrom(fd, dd->buf, sizeof(dd->buf), 0,
			     (struct sockaddr *)&client, &clientlen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				warn_errno("recvfrom");
			return;
		}
		if (parse_qname(dd->buf, (size_t)n, &q) != 0)
			continue;
		if (dd->log != NULL) {
			fprintf(dd->log, "%s\n", q.text);
			fflush(dd->log);
		}
		r = match_rule(dd, &q);
		if (r != NULL && r->drop)
			continue;
		pending_new(dd, (size_t)n, &client, clientlen,
			    r != NULL ? r->delay_ms : 0);
	}
}

/* SIGTERM or SIGINT: stop the event loop so that main can clean up. */
static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct dnsdelay *dd = arg;

	(void)sig;
	(void)what;
	if (event_base_loopbreak(dd->base) != 0)
		fprintf(stderr, "%s: cannot stop event loop\n", PROG);
}

/* Bind the listening socket and announce its port on stdout. */
static int open_listener(struct dnsdelay *dd,
			 const struct sockaddr_storage *addr, socklen_t addrlen)
{
	struct sockaddr_storage bound;
	socklen_t boundlen = sizeof(bound);
	unsigned port;

	dd->listenfd = socket(addr->ss_family,
			      SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (dd->listenfd < 0) {
		warn_errno("socket");
		return -1;
	}
	if (bind(dd->listenfd, (const struct sockaddr *)addr, addrlen) != 0) {
		warn_errno("bind");
		return -1;
	}
	if (getsockname(dd->listenfd, (struct sockaddr *)&bound,
			&boundlen) != 0) {
		warn_errno("getsockname");
		return -1;
	}
	if (bound.ss_family == AF_INET6)
		port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
	else
		port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
	if (printf("port %u\n", port) < 0 || fflush(stdout) != 0) {
		warn_errno("write to stdout");
		return -1;
	}
	return 0;
}

/* Create the event base and the listening and signal events. */
static int setup_events(struct dnsdelay *dd)
{
	dd->base = event_base_new();
	if (dd->base == NULL)
		return -1;
	dd->listener = event_new(dd->base, dd->listenfd, EV_READ | EV_PERSIST,
				 listen_cb, dd);
	if (dd->listener == NULL || event_add(dd->listener, NULL) != 0)
		return -1;
	dd->sigterm = evsignal_new(dd->base, SIGTERM, signal_cb, dd);
	if (dd->sigterm == NULL || event_add(dd->sigterm, NULL) != 0)
		return -1;
	dd->sigint = evsignal_new(dd->base, SIGINT, signal_cb, dd);
	if (dd->sigint == NULL || event_add(dd->sigint, NULL) != 0)
		return -1;
	return 0;
}

/* Release everything: queries in flight, events, sockets, the event base. */
static void cleanup(struct dnsdelay *dd)
{
	while (dd->head != NULL)
		pending_free(dd->head);
	if (dd->listener != NULL)
		event_free(dd->listener);
	if (dd->sigterm != NULL)
		event_free(dd->sigterm);
	if (dd->sigint != NULL)
		event_free(dd->sigint);
	if (dd->base != NULL)
		event_base_free(dd->base);
	if (dd->listenfd >= 0 && close(dd->listenfd) != 0)
		warn_errno("close listening socket");
	if (dd->log != NULL && fclose(dd->log) != 0)
		warn_errno("close query log");
	libevent_global_shutdown();
}

/* Parse the command line, run the forwarder until a signal, clean up. */
int main(int argc, char **argv)
{
	struct sockaddr_storage listenaddr;
	socklen_t listenlen = 0;
	struct dnsdelay state = { .listenfd = -1 };
	struct dnsdelay *dd = &state;
	int opt, status = EXIT_SUCCESS;

	opterr = 0;
	while ((opt = getopt(argc, argv, ":l:u:r:L:")) != -1) {
		switch (opt) {
		case 'L':
			if (dd->log != NULL)
				usage_error("-L given more than once");
			if ((dd->log = fopen(optarg, "a")) == NULL)
				usage_error("cannot open '%s': %s", optarg,
					    strerror(errno));
			break;
		case 'l':
			if (listenlen != 0)
				usage_error("-l given more than once");
			if (parse_addr(optarg, 0, &listenaddr, &listenlen) != 0)
				usage_error("bad listen address '%s'", optarg);
			break;
		case 'u':
			if (dd->upstreamlen != 0)
				usage_error("-u given more than once");
			if (parse_addr(optarg, 1, &dd->upstream,
				       &dd->upstreamlen) != 0)
				usage_error("bad upstream address '%s'",
					    optarg);
			break;
		case 'r':
			if (dd->nrules >= MAX_RULES)
				usage_error("more than %d rules", MAX_RULES);
			if (parse_rule(optarg, &dd->rules[dd->nrules]) != 0)
				usage_error("bad rule '%s' (want SUFFIX=MS "
					    "or SUFFIX=drop, MS <= %ld)",
					    optarg, MAX_DELAY_MS);
			dd->nrules++;
			break;
		case ':':
			usage_error("option -%c needs an argument", optopt);
			break;
		default:
			usage_error("unknown option -%c", optopt);
			break;
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (listenlen == 0)
		usage_error("missing -l listen address");
	if (dd->upstreamlen == 0)
		usage_error("missing -u upstream address");

	if (open_listener(dd, &listenaddr, listenlen) != 0) {
		status = EXIT_FAILURE;
	} else if (setup_events(dd) != 0) {
		fprintf(stderr, "%s: cannot set up libevent\n", PROG);
		status = EXIT_FAILURE;
	} else if (event_base_dispatch(dd->base) < 0) {
		fprintf(stderr, "%s: event loop failed\n", PROG);
		status = EXIT_FAILURE;
	}
	cleanup(dd);
	return status;
}
