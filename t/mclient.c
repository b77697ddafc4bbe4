/*
 * mclient - the MTA side of the milter protocol, version 6 as Postfix
 * speaks it, for tests and load generators.
 *
 * The socket is non-blocking and every wait is a poll() for the time left
 * before a deadline, so a filter that stops talking costs at most
 * timeout_ms per packet.  A packet from the filter is read whole into one
 * buffer once its length is known to be within the protocol's 64 KB
 * limit, and every string in it is looked for within that length.  The
 * first error is kept for mclient_error().  Macro packets and the
 * commands the filter gives no reply to are held back and written with
 * the next command whose reply is waited for (or QUIT or ABORT), in one
 * send(), as Postfix's buffered stream does (it flushes only before it
 * reads): written alone, Nagle's algorithm would hold the next command
 * until the filter's delayed ACK, 40 ms later on Linux.  A dropped
 * connection loses what was held, as an MTA that dies does.
 *
 * What it does not: retry, reconnect, try more than the first address a
 * host name has, or write to stderr.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "t/mclient.h"

/* What Postfix 3.7 offers with milter_protocol = 6: every action... */
#define MCLIENT_ACTIONS	SMFI_CURR_ACTS

/* ...and every step flag (its MILTER8_V6_PROTO_MASK). */
#define MCLIENT_STEPS	SMFI_CURR_PROT

/* A packet starts with its length and its command byte. */
#define MCLIENT_HEAD	(MILTER_LEN_BYTES + 1)

/* Held packets, up to Postfix's VSTREAM_BUFSIZE; more is written at once. */
#define MCLIENT_HELD_SIZE	4096

/* Steps a filter may give macro lists for: SMFIM_CONNECT to SMFIM_EOH. */
#define MCLIENT_CLASSES	(SMFIM_EOH + 1)

/* The longest macro list of a step that a filter may ask for. */
#define MCLIENT_LIST_SIZE	256

/* Longest deadline, so that milliseconds left always fit poll()'s int. */
#define MCLIENT_MAX_TIMEOUT	3600000u

struct mclient {
	int	fd;			/* to the filter, non-blocking */
	unsigned timeout_ms;		/* deadline of each packet */
	unsigned long protocol;		/* SMFIP_* the filter wants */
	unsigned long off;		/* SMFIP_NO* of steps not sent */
	bool	negotiated;		/* mclient_negotiate() done */
	/* The macro lists the filter asked for (SMFIF_SETSYMLIST), by step. */
	char	macro_list[MCLIENT_CLASSES][MCLIENT_LIST_SIZE];
	bool	has_list[MCLIENT_CLASSES];
	bool	failed;			/* a call returned -1 */
	char	skip;			/* step answered SMFIR_SKIP */
	char	error[256];		/* the first error */
	unsigned char held[MCLIENT_HELD_SIZE];	/* packets not written yet */
	size_t	held_len;
	/* The packet being written or read. */
	unsigned char buf[MCLIENT_HEAD + MILTER_MAX_DATA_SIZE];
};

static int mclient_fail(struct mclient *, const char *,...)
	    __attribute__((format(printf, 2, 3)));

/* Keep the first reason a call failed; the connection is now unusable. */
static int
mclient_fail(struct mclient *client, const char *fmt,...)
{
	va_list	ap;

	if (!client->failed) {
		va_start(ap, fmt);
		vsnprintf(client->error, sizeof(client->error), fmt, ap);
		va_end(ap);
		client->failed = true;
	}
	return -1;
}

/* The protocol's numbers are 32 bits, most significant byte first. */
static void
mclient_put32(unsigned char *bytes, unsigned long value)
{
	bytes[0] = (unsigned char) (value >> 24);
	bytes[1] = (unsigned char) (value >> 16);
	bytes[2] = (unsigned char) (value >> 8);
	bytes[3] = (unsigned char) value;
}

/* Read a number written by mclient_put32() or by the filter. */
static unsigned long
mclient_get32(const unsigned char *bytes)
{
	return (unsigned long) bytes[0] << 24 | (unsigned long) bytes[1] << 16
	    | (unsigned long) bytes[2] << 8 | bytes[3];
}

/* The deadline of one packet or connect: timeout_ms from now. */
static struct timespec
mclient_deadline(const struct mclient *client)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += client->timeout_ms / 1000;
	deadline.tv_nsec += (long) (client->timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	return deadline;
}

/* Milliseconds left before the deadline, rounded up; 0 once it passed. */
static int
mclient_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long) (deadline->tv_sec - now.tv_sec) * 1000000000
	    + (deadline->tv_nsec - now.tv_nsec);
	return ns <= 0 ? 0 : (int) ((ns + 999999) / 1000000);
}

/* Wait until the connection is ready for events, before the deadline. */
static int
mclient_wait(struct mclient *client, short events,
	     const struct timespec *deadline)
{
	struct pollfd pfd = {.fd = client->fd, .events = events};
	int	ms;
	int	ready;

	for (;;) {
		if ((ms = mclient_left(deadline)) == 0)
			return mclient_fail(client, "timed out after %u ms",
					    client->timeout_ms);
		if ((ready = poll(&pfd, 1, ms)) > 0)
			return 0;
		if (ready < 0 && errno != EINTR)
			return mclient_fail(client, "poll: %s",
					    strerror(errno));
	}
}

/* Read exactly len bytes before the deadline. */
static int
mclient_read(struct mclient *client, unsigned char *bytes, size_t len,
	     const struct timespec *deadline)
{
	size_t	done = 0;
	ssize_t	got;

	while (done < len) {
		if ((got = recv(client->fd, bytes + done, len - done, 0)) > 0)
			done += (size_t) got;
		else if (got == 0)
			return mclient_fail(client, "the filter closed the "
					    "connection");
		else if (errno == EAGAIN) {
			if (mclient_wait(client, POLLIN, deadline) < 0)
				return -1;
		} else if (errno != EINTR)
			return mclient_fail(client, "read: %s",
					    strerror(errno));
	}
	return 0;
}

/*
 * Write the held bytes, then len bytes, before the deadline; a closed
 * peer is an error, not a SIGPIPE.
 */
static int
mclient_write(struct mclient *client, unsigned char *bytes, size_t len,
	      const struct timespec *deadline)
{
	struct iovec iov[2] = {
		{client->held, client->held_len}, {bytes, len},
	};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	size_t	left = client->held_len + len;
	ssize_t	sent;

	client->held_len = 0;
	while (left > 0) {
		if ((sent = sendmsg(client->fd, &msg, MSG_NOSIGNAL)) >= 0) {
			left -= (size_t) sent;
			/* Step over what went, in one or both buffers. */
			while (msg.msg_iovlen > 0
			       && (size_t) sent >= msg.msg_iov->iov_len) {
				sent -= (ssize_t) msg.msg_iov->iov_len;
				msg.msg_iov++;
				msg.msg_iovlen--;
			}
			if (msg.msg_iovlen > 0) {
				msg.msg_iov->iov_base =
				    (char *) msg.msg_iov->iov_base + sent;
				msg.msg_iov->iov_len -= (size_t) sent;
			}
		} else if (errno == EAGAIN) {
			if (mclient_wait(client, POLLOUT, deadline) < 0)
				return -1;
		} else if (errno != EINTR)
			return mclient_fail(client, "write: %s",
					    strerror(errno));
	}
	return 0;
}

/* Append n bytes to the data of the command being built in the buffer. */
static int
mclient_put(struct mclient *client, size_t *len, const void *bytes, size_t n)
{
	if (n > MILTER_MAX_DATA_SIZE - *len)
		return mclient_fail(client, "command data longer than %d bytes",
				    MILTER_MAX_DATA_SIZE);
	memcpy(client->buf + MCLIENT_HEAD + *len, bytes, n);
	*len += n;
	return 0;
}

/* Append a string with its NUL, as the protocol carries strings. */
static int
mclient_puts(struct mclient *client, size_t *len, const char *text)
{
	return mclient_put(client, len, text, strlen(text) + 1);
}

/* Frame the command whose len data bytes mclient_put() left in the buffer. */
static void
mclient_frame(struct mclient *client, char cmd, size_t len)
{
	mclient_put32(client->buf, (unsigned long) len + 1);
	client->buf[MILTER_LEN_BYTES] = (unsigned char) cmd;
}

/* Send the command whose len data bytes mclient_put() left in the buffer. */
static int
mclient_send(struct mclient *client, char cmd, size_t len)
{
	struct timespec deadline = mclient_deadline(client);

	mclient_frame(client, cmd, len);
	return mclient_write(client, client->buf, MCLIENT_HEAD + len,
			     &deadline);
}

/*
 * Hold the command whose len data bytes mclient_put() left in the buffer,
 * after those held before; send them all now if they do not fit.
 */
static int
mclient_hold(struct mclient *client, char cmd, size_t len)
{
	if (client->held_len + MCLIENT_HEAD + len > sizeof(client->held))
		return mclient_send(client, cmd, len);
	mclient_frame(client, cmd, len);
	memcpy(client->held + client->held_len, client->buf, MCLIENT_HEAD + len);
	client->held_len += MCLIENT_HEAD + len;
	return 0;
}

/* Read one packet: its command, and its data in the buffer. */
static int
mclient_recv(struct mclient *client, char *cmd, const unsigned char **data,
	     size_t *len)
{
	struct timespec deadline = mclient_deadline(client);
	unsigned long size;

	if (mclient_read(client, client->buf, MILTER_LEN_BYTES, &deadline) < 0)
		return -1;
	size = mclient_get32(client->buf);
	if (size < 1 || size > 1 + MILTER_MAX_DATA_SIZE)
		return mclient_fail(client, "reply length %lu, not 1 to %d",
				    size, 1 + MILTER_MAX_DATA_SIZE);
	if (mclient_read(client, client->buf, size, &deadline) < 0)
		return -1;
	*cmd = (char) client->buf[0];
	*data = client->buf + 1;
	*len = size - 1;
	return 0;
}

/* The string at *pos in data, moving *pos past its NUL; NULL if it has none. */
static const char *
mclient_string(const unsigned char *data, size_t len, size_t *pos)
{
	const unsigned char *nul;
	const char *text;

	if (*pos >= len || (nul = memchr(data + *pos, 0, len - *pos)) == NULL)
		return NULL;
	text = (const char *) data + *pos;
	*pos = (size_t) (nul - data) + 1;
	return text;
}

/* Add "Name: value\n" to the headers of the reply when it fits whole. */
static void
mclient_addheader(struct mreply *reply, const char *name, const char *space,
		  const char *value)
{
	size_t	used = strlen(reply->headers);
	int	n;

	n = snprintf(reply->headers + used, sizeof(reply->headers) - used,
		     "%s:%s%s\n", name, space, value);
	if (n < 0 || (size_t) n >= sizeof(reply->headers) - used)
		reply->headers[used] = 0;
}

/* Keep an SMFIR_REPLYCODE text, which must start like a 4xx or 5xx reply. */
static int
mclient_replycode(struct mclient *client, const unsigned char *data,
		  size_t len, struct mreply *reply)
{
	size_t	n = strnlen((const char *) data, len);

	if (n < 3 || (data[0] != '4' && data[0] != '5') || !isdigit(data[1])
	    || !isdigit(data[2]) || (n > 3 && data[3] != ' ' && data[3] != '-'))
		return mclient_fail(client, "malformed reply code text");
	if (n >= sizeof(reply->text))
		n = sizeof(reply->text) - 1;
	memcpy(reply->text, data, n);
	reply->text[n] = 0;
	reply->code = SMFIR_REPLYCODE;
	return 0;
}

/*
 * A message change, allowed at end of message only: added and inserted
 * headers are kept as text (with the space Postfix puts after the colon
 * unless the filter sends its own), the other changes are dropped.
 */
static int
mclient_change(struct mclient *client, char step, char cmd,
	       const unsigned char *data, size_t len, struct mreply *reply)
{
	const char *name;
	const char *value;
	size_t	pos;

	if (step == SMFIC_BODYEOB)
		switch (cmd) {
		case SMFIR_ADDHEADER:
		case SMFIR_INSHEADER:
			pos = cmd == SMFIR_INSHEADER ? MILTER_LEN_BYTES : 0;
			name = mclient_string(data, len, &pos);
			value = mclient_string(data, len, &pos);
			if (name == NULL || value == NULL)
				return mclient_fail(client, "malformed header "
						    "change '%c'", cmd);
			mclient_addheader(reply, name, client->protocol
					  & SMFIP_HDR_LEADSPC ? "" : " ",
					  value);
			return 0;
		case SMFIR_CHGHEADER:
		case SMFIR_ADDRCPT:
		case SMFIR_DELRCPT:
		case SMFIR_ADDRCPT_PAR:
		case SMFIR_CHGFROM:
		case SMFIR_REPLBODY:
			return 0;
		}
	return mclient_fail(client, "unexpected reply 0x%02x to command '%c'",
			    (unsigned char) cmd, step);
}

/* Read the replies to a step until the filter decides. */
static int
mclient_reply(struct mclient *client, char step, struct mreply *reply)
{
	const unsigned char *data;
	size_t	len;
	char	cmd;

	for (;;) {
		if (mclient_recv(client, &cmd, &data, &len) < 0)
			return -1;
		switch (cmd) {
		case SMFIR_PROGRESS:
		case SMFIR_CONTINUE:
		case SMFIR_ACCEPT:
		case SMFIR_REJECT:
		case SMFIR_TEMPFAIL:
		case SMFIR_DISCARD:
		case SMFIR_SKIP:
		case SMFIR_SHUTDOWN:
			if (len != 0)
				return mclient_fail(client, "reply '%c' with "
						    "data (%zu bytes)", cmd,
						    len);
			if (cmd == SMFIR_PROGRESS)
				continue;
			if (cmd == SMFIR_SKIP)
				client->skip = step;
			reply->code = cmd;
			return 0;
		case SMFIR_REPLYCODE:
			return mclient_replycode(client, data, len, reply);
		case SMFIR_QUARANTINE:
			continue;
		default:
			if (mclient_change(client, step, cmd, data, len,
					   reply) < 0)
				return -1;
		}
	}
}

/* Refuse calls on a failed connection, and steps before negotiation. */
static int
mclient_usable(struct mclient *client)
{
	if (client->failed)
		return -1;
	if (!client->negotiated)
		return mclient_fail(client, "options not negotiated yet");
	return 0;
}

/* Start a reply as "continue", what a step not sent or not answered gets. */
static void
mclient_clear(struct mreply *reply)
{
	reply->code = SMFIR_CONTINUE;
	reply->text[0] = 0;
	reply->headers[0] = 0;
}

/*
 * Send a step whose data mclient_put() built, unless the filter turned it
 * off (flag off) or skips its kind, and wait for the reply; a step the
 * filter gives no reply to (flag noreply) is held for the next write.
 * Postfix's milter8_event() in short.
 */
static int
mclient_step(struct mclient *client, char cmd, unsigned long off,
	     unsigned long noreply, size_t len, struct mreply *reply)
{
	mclient_clear(reply);
	if (mclient_usable(client) < 0)
		return -1;
	if (client->skip == cmd)
		return 0;
	client->skip = 0;
	if (client->off & off)
		return 0;
	if (client->protocol & noreply)
		return mclient_hold(client, cmd, len);
	if (mclient_send(client, cmd, len) < 0)
		return -1;
	return mclient_reply(client, cmd, reply);
}

/* Connect a non-blocking socket to the filter before the deadline. */
static int
mclient_dial(struct mclient *client, int family, const struct sockaddr *addr,
	     socklen_t addrlen)
{
	struct timespec deadline = mclient_deadline(client);
	socklen_t len = sizeof(int);
	int	error;

	if ((client->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK
				 | SOCK_CLOEXEC, 0)) < 0)
		return mclient_fail(client, "socket: %s", strerror(errno));
	if (connect(client->fd, addr, addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return mclient_fail(client, "connect: %s", strerror(errno));
	if (mclient_wait(client, POLLOUT, &deadline) < 0)
		return -1;
	if (getsockopt(client->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
		return mclient_fail(client, "getsockopt: %s", strerror(errno));
	if (error != 0)
		return mclient_fail(client, "connect: %s", strerror(error));
	return 0;
}

/* Connect to the first address of HOST in "inet:PORT@HOST" or "inet6:...". */
static int
mclient_inet(struct mclient *client, const char *spec)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
	struct addrinfo *res;
	const char *digits = strchr(spec, ':') + 1;
	unsigned long number = strtoul(digits, NULL, 10);
	char	port[6];
	size_t	n = strspn(digits, "0123456789");
	int	status;

	if (n < 1 || n >= sizeof(port) || digits[n] != '@' || digits[n + 1] == 0
	    || number < 1 || number > 65535)
		return mclient_fail(client, "expected inet:PORT@HOST or "
				    "inet6:PORT@HOST, PORT 1 to 65535");
	memcpy(port, digits, n);
	port[n] = 0;
	hints.ai_family = strncmp(spec, "inet6:", 6) == 0 ? AF_INET6 : AF_INET;
	hints.ai_flags = AI_NUMERICSERV;
	if ((status = getaddrinfo(digits + n + 1, port, &hints, &res)) != 0)
		return mclient_fail(client, "%s", gai_strerror(status));
	status = mclient_dial(client, res->ai_family, res->ai_addr,
			      res->ai_addrlen);
	freeaddrinfo(res);
	return status;
}

/* Connect to a unix-domain socket. */
static int
mclient_unix(struct mclient *client, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (*path == 0 || strlen(path) >= sizeof(sa.sun_path))
		return mclient_fail(client, "socket path empty or longer than "
				    "%zu bytes", sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	return mclient_dial(client, AF_UNIX, (struct sockaddr *) &sa,
			    sizeof(sa));
}

struct mclient *
mclient_open(const char *spec, unsigned timeout_ms, char *err, size_t errlen)
{
	struct mclient *client;
	int	status;

	if (timeout_ms < 1 || timeout_ms > MCLIENT_MAX_TIMEOUT) {
		snprintf(err, errlen, "timeout %u ms, not 1 to %u", timeout_ms,
			 MCLIENT_MAX_TIMEOUT);
		return NULL;
	}
	if ((client = calloc(1, sizeof(*client))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	client->fd = -1;
	client->timeout_ms = timeout_ms;
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
		status = mclient_unix(client, strchr(spec, ':') + 1);
	else if (strncmp(spec, "inet:", 5) == 0
		 || strncmp(spec, "inet6:", 6) == 0)
		status = mclient_inet(client, spec);
	else
		status = mclient_fail(client, "expected inet:PORT@HOST, "
				      "inet6:PORT@HOST or unix:/path");
	if (status < 0) {
		snprintf(err, errlen, "%s: %s", spec, client->error);
		if (client->fd >= 0)
			close(client->fd);
		free(client);
		return NULL;
	}
	return client;
}

void
mclient_close(struct mclient *client)
{
	if (client == NULL)
		return;
	if (!client->failed)
		(void) mclient_send(client, SMFIC_QUIT, 0);
	close(client->fd);
	free(client);
}

void
mclient_drop(struct mclient *client)
{
	struct linger reset = {.l_onoff = 1, .l_linger = 0};

	if (setsockopt(client->fd, SOL_SOCKET, SO_LINGER, &reset,
		       sizeof(reset)) < 0) {
		/* Not TCP: a plain close is the client gone all the same. */
	}
	close(client->fd);
	free(client);
}

const char *
mclient_macro_list(const struct mclient *client, int class)
{
	if (class < 0 || class >= MCLIENT_CLASSES || !client->has_list[class])
		return NULL;
	return client->macro_list[class];
}

const char *
mclient_error(const struct mclient *client)
{
	return client->error;
}

/*
 * The macro lists after the three numbers of the negotiation reply: a
 * step's number, then its list as a string, as many times as the filter
 * set lists.  0, or -1 on a malformed or repeated list.
 */
static int
mclient_lists(struct mclient *client, const unsigned char *data, size_t len)
{
	const unsigned char *nul;
	unsigned long class;
	size_t	size;

	while (len > 0) {
		if (len < MILTER_LEN_BYTES + 1)
			return mclient_fail(client, "macro list cut short");
		class = mclient_get32(data);
		data += MILTER_LEN_BYTES;
		len -= MILTER_LEN_BYTES;
		if ((nul = memchr(data, 0, len)) == NULL)
			return mclient_fail(client, "macro list without end");
		size = (size_t) (nul - data) + 1;
		if (class >= MCLIENT_CLASSES || client->has_list[class])
			return mclient_fail(client, "macro list for step %lu "
					    "unknown or repeated", class);
		if (size > MCLIENT_LIST_SIZE)
			return mclient_fail(client, "macro list of %zu bytes",
					    size);
		memcpy(client->macro_list[class], data, size);
		client->has_list[class] = true;
		data += size;
		len -= size;
	}
	return 0;
}

int
mclient_negotiate(struct mclient *client, unsigned long *actions,
		  unsigned long *protocol)
{
	unsigned char offer[MILTER_OPTLEN];
	const unsigned char *data;
	unsigned long version;
	unsigned long asked;
	size_t	len = 0;
	char	cmd;

	if (client->failed)
		return -1;
	if (client->negotiated)
		return mclient_fail(client, "options negotiated twice");
	mclient_put32(offer, SMFI_PROT_VERSION);
	mclient_put32(offer + MILTER_LEN_BYTES, MCLIENT_ACTIONS);
	mclient_put32(offer + 2 * MILTER_LEN_BYTES, MCLIENT_STEPS);
	if (mclient_put(client, &len, offer, sizeof(offer)) < 0
	    || mclient_send(client, SMFIC_OPTNEG, len) < 0
	    || mclient_recv(client, &cmd, &data, &len) < 0)
		return -1;
	if (cmd != SMFIC_OPTNEG || len < MILTER_OPTLEN)
		return mclient_fail(client, "bad negotiation reply 0x%02x "
				    "with %zu bytes", (unsigned char) cmd, len);
	version = mclient_get32(data);
	asked = mclient_get32(data + MILTER_LEN_BYTES);
	if (version < 2 || version > SMFI_PROT_VERSION)
		return mclient_fail(client, "filter speaks protocol version "
				    "%lu, not 2 to %d", version,
				    SMFI_PROT_VERSION);
	if (asked & ~MCLIENT_ACTIONS)
		return mclient_fail(client, "filter asks for actions 0x%lx, "
				    "offered 0x%lx", asked,
				    (unsigned long) MCLIENT_ACTIONS);
	client->protocol = mclient_get32(data + 2 * MILTER_LEN_BYTES);
	if (mclient_lists(client, data + MILTER_OPTLEN, len - MILTER_OPTLEN) < 0)
		return -1;
	/* Like Postfix: no DATA step for filters older than version 4. */
	client->off = client->protocol | (version < 4 ? SMFIP_NODATA : 0);
	client->negotiated = true;
	*actions = asked;
	*protocol = client->protocol;
	return 0;
}

int
mclient_macro(struct mclient *client, char cmd, const char *const *pairs)
{
	size_t	len = 0;

	if (mclient_usable(client) < 0
	    || mclient_put(client, &len, &cmd, 1) < 0)
		return -1;
	for (; *pairs != NULL; pairs += 2) {
		if (pairs[1] == NULL)
			return mclient_fail(client, "macro %.64s has no value",
					    pairs[0]);
		if (mclient_puts(client, &len, pairs[0]) < 0
		    || mclient_puts(client, &len, pairs[1]) < 0)
			return -1;
	}
	/* Held after any held before (a step turned off sends none). */
	return mclient_hold(client, SMFIC_MACRO, len);
}

int
mclient_connect(struct mclient *client, const char *hostname, const char *ip,
		unsigned port, struct mreply *reply)
{
	unsigned char addr[sizeof(struct in6_addr)];
	unsigned char nport[2];
	char	family = SMFIA_UNKNOWN;
	size_t	len = 0;

	if (ip != NULL && inet_pton(AF_INET, ip, addr) == 1)
		family = SMFIA_INET;
	else if (ip != NULL && inet_pton(AF_INET6, ip, addr) == 1)
		family = SMFIA_INET6;
	else if (ip != NULL)
		return mclient_fail(client, "client address \"%.64s\" is not "
				    "IPv4 or IPv6 text", ip);
	if (port > 65535)
		return mclient_fail(client, "client port %u above 65535", port);
	nport[0] = (unsigned char) (port >> 8);
	nport[1] = (unsigned char) port;
	if (mclient_puts(client, &len, hostname) < 0
	    || mclient_put(client, &len, &family, 1) < 0)
		return -1;
	if (ip != NULL && (mclient_put(client, &len, nport, 2) < 0
			   || mclient_puts(client, &len, ip) < 0))
		return -1;
	return mclient_step(client, SMFIC_CONNECT, SMFIP_NOCONNECT,
			    SMFIP_NR_CONN, len, reply);
}

/* A step whose data is one string: HELO, MAIL FROM, RCPT TO. */
static int
mclient_string_step(struct mclient *client, char cmd, unsigned long off,
		    unsigned long noreply, const char *text,
		    struct mreply *reply)
{
	size_t	len = 0;

	if (mclient_puts(client, &len, text) < 0)
		return -1;
	return mclient_step(client, cmd, off, noreply, len, reply);
}

int
mclient_helo(struct mclient *client, const char *name, struct mreply *reply)
{
	return mclient_string_step(client, SMFIC_HELO, SMFIP_NOHELO,
				   SMFIP_NR_HELO, name, reply);
}

int
mclient_mail(struct mclient *client, const char *from, struct mreply *reply)
{
	return mclient_string_step(client, SMFIC_MAIL, SMFIP_NOMAIL,
				   SMFIP_NR_MAIL, from, reply);
}

int
mclient_rcpt(struct mclient *client, const char *rcpt, struct mreply *reply)
{
	return mclient_string_step(client, SMFIC_RCPT, SMFIP_NORCPT,
				   SMFIP_NR_RCPT, rcpt, reply);
}

int
mclient_data(struct mclient *client, struct mreply *reply)
{
	return mclient_step(client, SMFIC_DATA, SMFIP_NODATA, SMFIP_NR_DATA, 0,
			    reply);
}

int
mclient_header(struct mclient *client, const char *name, const char *value,
	       struct mreply *reply)
{
	size_t	len = 0;

	if (mclient_puts(client, &len, name) < 0
	    || ((client->protocol & SMFIP_HDR_LEADSPC)
		&& mclient_put(client, &len, " ", 1) < 0)
	    || mclient_puts(client, &len, value) < 0)
		return -1;
	return mclient_step(client, SMFIC_HEADER, SMFIP_NOHDRS, SMFIP_NR_HDR,
			    len, reply);
}

int
mclient_eoh(struct mclient *client, struct mreply *reply)
{
	return mclient_step(client, SMFIC_EOH, SMFIP_NOEOH, SMFIP_NR_EOH, 0,
			    reply);
}

int
mclient_body(struct mclient *client, const char *chunk, struct mreply *reply)
{
	size_t	left = strlen(chunk);
	size_t	len;
	size_t	n;

	mclient_clear(reply);
	if (mclient_usable(client) < 0)
		return -1;
	while (left > 0 && reply->code == SMFIR_CONTINUE) {
		n = left < MILTER_CHUNK_SIZE ? left : MILTER_CHUNK_SIZE;
		len = 0;
		if (mclient_put(client, &len, chunk, n) < 0
		    || mclient_step(client, SMFIC_BODY, SMFIP_NOBODY,
				    SMFIP_NR_BODY, len, reply) < 0)
			return -1;
		chunk += n;
		left -= n;
	}
	return 0;
}

int
mclient_eom(struct mclient *client, struct mreply *reply)
{
	return mclient_step(client, SMFIC_BODYEOB, 0, 0, 0, reply);
}

int
mclient_abort(struct mclient *client)
{
	if (mclient_usable(client) < 0)
		return -1;
	return mclient_send(client, SMFIC_ABORT, 0);
}
