/*
 * check_mclient - the milter client against a real libmilter filter
 * (nullmilter, over TCP and a unix socket) and against a scripted filter
 * that logs the bytes it receives and sends chosen replies, well-formed
 * or hostile.
 *
 * The scripted filter checks what libmilter cannot show: the exact bytes
 * on the wire, the steps and replies left out after negotiation, and the
 * errors for bad lengths, bad strings and a filter that stops talking.
 */
#include <check.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t/mclient.h"
#include "t/msession.h"
#include "t/tenv.h"

/* Deadline of each packet when the filter is expected to answer. */
#define TIMEOUT_MS	5000

/* Deadline when a hostile filter may stay silent. */
#define SHORT_TIMEOUT_MS	500

/* A string literal's bytes without the NUL the compiler adds. */
#define RAW(text)	text, sizeof(text) - 1

/* Open and negotiate, or fail the test with the reason. */
static struct mclient *
open_client(const char *spec, unsigned long *actions, unsigned long *protocol)
{
	struct mclient *client;
	char	err[512];

	client = mclient_open(spec, TIMEOUT_MS, err, sizeof(err));
	ck_assert_msg(client != NULL, "%s", err);
	ck_assert_msg(mclient_negotiate(client, actions, protocol) == 0, "%s",
		      mclient_error(client));
	return client;
}

/* Start nullmilter on spec with flag ("-D", "-H" or NULL). */
static pid_t
null_start(const char *spec, const char *flag)
{
	char   *program = getenv("NULLMILTER");
	char   *argv[] = {program, "-p", (char *) spec, (char *) flag, NULL};

	ck_assert_msg(program != NULL, "NULLMILTER is not set (run via make "
		      "check)");
	return tenv_milter_start(argv, spec, NULL);
}

/* A step that must succeed with the filter saying "continue". */
static void
continues(struct mclient *client, int status, const struct mreply *reply,
	  const char *step)
{
	ck_assert_msg(status == 0, "%s: %s", step, mclient_error(client));
	ck_assert_msg(reply->code == SMFIR_CONTINUE, "%s: reply '%c'", step,
		      reply->code);
}

/* The SMTP connection: connect and helo. */
static void
greet(struct mclient *client, const char *ip)
{
	struct mreply reply;

	continues(client, mclient_connect(client, "client.example", ip, 54321,
					  &reply), &reply, "connect");
	continues(client, mclient_helo(client, "helo.example", &reply), &reply,
		  "helo");
}

/* One message; returns the headers the filter added at end of message. */
static void
message(struct mclient *client, char *headers, size_t size)
{
	struct mreply reply;

	continues(client, mclient_mail(client, "<a@example.org>", &reply),
		  &reply, "mail");
	continues(client, mclient_rcpt(client, "<b@example.net>", &reply),
		  &reply, "rcpt");
	continues(client, mclient_data(client, &reply), &reply, "data");
	continues(client, mclient_header(client, "Subject", "test", &reply),
		  &reply, "header");
	continues(client, mclient_eoh(client, &reply), &reply, "eoh");
	continues(client, mclient_body(client, "line 1\r\nline 2\r\n", &reply),
		  &reply, "body");
	continues(client, mclient_eom(client, &reply), &reply, "eom");
	snprintf(headers, size, "%s", reply.headers);
}

/* What nullmilter asks for without -D. */
#define NULL_PROTOCOL	(SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH \
			 | SMFIP_NOUNKNOWN)

/* A whole session with nullmilter on TCP for an SMTP client at ip. */
static void
inet_session(const char *ip)
{
	unsigned long actions;
	unsigned long protocol;
	struct mclient *client;
	char	spec[64];
	char	headers[2048];
	pid_t	pid;

	snprintf(spec, sizeof(spec), "inet:%d@127.0.0.1",
		 tenv_free_port());
	pid = null_start(spec, NULL);
	client = open_client(spec, &actions, &protocol);
	ck_assert_uint_eq(actions, 0);
	ck_assert_uint_eq(protocol, NULL_PROTOCOL);
	greet(client, ip);
	message(client, headers, sizeof(headers));
	ck_assert_str_eq(headers, "");
	mclient_close(client);
	tenv_milter_stop(pid, spec);
}

START_TEST(test_ipv4)
{
	inet_session("192.0.2.1");
}
END_TEST

START_TEST(test_ipv6)
{
	/* libmilter parses the address: a bad one would end the session. */
	inet_session("2001:db8::1");
}
END_TEST

START_TEST(test_unix)
{
	unsigned long actions;
	unsigned long protocol;
	struct mclient *client;
	char   *dir = tenv_mkdir();
	char	spec[300];
	char	headers[2048];
	pid_t	pid;

	snprintf(spec, sizeof(spec), "unix:%s/null.sock", dir);
	pid = null_start(spec, NULL);
	client = open_client(spec, &actions, &protocol);
	ck_assert_uint_eq(protocol, NULL_PROTOCOL);
	greet(client, NULL);
	message(client, headers, sizeof(headers));
	ck_assert_str_eq(headers, "");
	mclient_close(client);
	tenv_milter_stop(pid, spec);
	tenv_rmdir(dir);
}
END_TEST

START_TEST(test_nodata)
{
	unsigned long actions;
	unsigned long protocol;
	struct mclient *client;
	char	spec[64];
	char	headers[2048];
	pid_t	pid;

	snprintf(spec, sizeof(spec), "inet:%d@127.0.0.1",
		 tenv_free_port());
	pid = null_start(spec, "-D");
	client = open_client(spec, &actions, &protocol);
	ck_assert_uint_eq(protocol, NULL_PROTOCOL | SMFIP_NODATA);
	greet(client, "192.0.2.1");
	message(client, headers, sizeof(headers));
	mclient_close(client);
	tenv_milter_stop(pid, spec);
}
END_TEST

START_TEST(test_added_header)
{
	unsigned long actions;
	unsigned long protocol;
	struct mclient *client;
	char	spec[64];
	char	headers[2048];
	pid_t	pid;

	snprintf(spec, sizeof(spec), "inet:%d@127.0.0.1",
		 tenv_free_port());
	pid = null_start(spec, "-H");
	client = open_client(spec, &actions, &protocol);
	ck_assert_uint_eq(actions, SMFIF_ADDHDRS);
	ck_assert_uint_eq(protocol, NULL_PROTOCOL);
	greet(client, "192.0.2.1");
	message(client, headers, sizeof(headers));
	ck_assert_str_eq(headers, "X-Null-Milter: yes\n");
	mclient_close(client);
	tenv_milter_stop(pid, spec);
}
END_TEST

START_TEST(test_two_sessions)
{
	unsigned long actions;
	unsigned long protocol;
	struct mclient *client;
	char	spec[64];
	char	headers[2048];
	pid_t	pid;
	int	session;

	snprintf(spec, sizeof(spec), "inet:%d@127.0.0.1",
		 tenv_free_port());
	pid = null_start(spec, "-H");
	for (session = 0; session < 2; session++) {
		client = open_client(spec, &actions, &protocol);
		greet(client, "192.0.2.1");
		/* Two messages, and an abort between them as after RSET. */
		message(client, headers, sizeof(headers));
		ck_assert_str_eq(headers, "X-Null-Milter: yes\n");
		ck_assert_msg(mclient_abort(client) == 0, "%s",
			      mclient_error(client));
		message(client, headers, sizeof(headers));
		ck_assert_str_eq(headers, "X-Null-Milter: yes\n");
		mclient_close(client);
	}
	tenv_milter_stop(pid, spec);
}
END_TEST

START_TEST(test_macros)
{
	static const char *const conn[] = {"j", "mx.example",
	"{daemon_name}", "smtpd", NULL};
	static const char *const mail[] = {"{mail_addr}", "a@example.org",
	"{mail_mailer}", "smtp", NULL};
	static const char *const odd[] = {"{mail_addr}", NULL};
	unsigned long actions;
	unsigned long protocol;
	struct mclient *client;
	struct mreply reply;
	char	spec[64];
	char	err[512];
	pid_t	pid;

	snprintf(spec, sizeof(spec), "inet:%d@127.0.0.1",
		 tenv_free_port());
	pid = null_start(spec, NULL);
	client = open_client(spec, &actions, &protocol);
	ck_assert_int_eq(mclient_macro(client, SMFIC_CONNECT, conn), 0);
	continues(client, mclient_connect(client, "client.example",
					  "192.0.2.1", 25, &reply), &reply,
		  "connect");
	ck_assert_int_eq(mclient_macro(client, SMFIC_MAIL, mail), 0);
	continues(client, mclient_mail(client, "<a@example.org>", &reply),
		  &reply, "mail");
	mclient_close(client);

	/* A name without a value is refused before anything is sent. */
	client = open_client(spec, &actions, &protocol);
	ck_assert_int_eq(mclient_macro(client, SMFIC_MAIL, odd), -1);
	ck_assert_str_eq(mclient_error(client),
			 "macro {mail_addr} has no value");
	mclient_close(client);

	/* Negotiation comes once, and first. */
	client = open_client(spec, &actions, &protocol);
	ck_assert_int_eq(mclient_negotiate(client, &actions, &protocol), -1);
	ck_assert_str_eq(mclient_error(client), "options negotiated twice");
	mclient_close(client);
	ck_assert_ptr_nonnull(client = mclient_open(spec, TIMEOUT_MS, err,
						    sizeof(err)));
	ck_assert_int_eq(mclient_macro(client, SMFIC_MAIL, mail), -1);
	ck_assert_str_eq(mclient_error(client), "options not negotiated yet");
	mclient_close(client);
	tenv_milter_stop(pid, spec);
}
END_TEST

START_TEST(test_bad_client_address)
{
	unsigned long actions;
	unsigned long protocol;
	struct mclient *client;
	struct mreply reply;
	char	spec[64];
	pid_t	pid;

	snprintf(spec, sizeof(spec), "inet:%d@127.0.0.1",
		 tenv_free_port());
	pid = null_start(spec, NULL);
	/* Postfix sends IPv6 text bare, so a prefixed one is a caller bug. */
	client = open_client(spec, &actions, &protocol);
	ck_assert_int_eq(mclient_connect(client, "client.example",
					 "IPv6:2001:db8::1", 25, &reply), -1);
	ck_assert_str_eq(mclient_error(client), "client address "
			 "\"IPv6:2001:db8::1\" is not IPv4 or IPv6 text");
	/* Failed once, failed for good. */
	ck_assert_int_eq(mclient_helo(client, "helo.example", &reply), -1);
	mclient_close(client);
	tenv_milter_stop(pid, spec);
}
END_TEST

START_TEST(test_refused)
{
	static const char *bad[][2] = {
		{"tcp:25@127.0.0.1", "tcp:25@127.0.0.1: expected "
		 "inet:PORT@HOST, inet6:PORT@HOST or unix:/path"},
		{"inet:25", "inet:25: expected inet:PORT@HOST or "
		 "inet6:PORT@HOST, PORT 1 to 65535"},
		{"inet:0@127.0.0.1", "inet:0@127.0.0.1: expected "
		 "inet:PORT@HOST or inet6:PORT@HOST, PORT 1 to 65535"},
		{"inet:65536@127.0.0.1", "inet:65536@127.0.0.1: expected "
		 "inet:PORT@HOST or inet6:PORT@HOST, PORT 1 to 65535"},
		{"unix:", "unix:: socket path empty or longer than 107 bytes"},
		{"unix:/nonexistent/null.sock", "unix:/nonexistent/null.sock: "
		 "connect: No such file or directory"},
	};
	char	spec[64];
	char	want[128];
	char	err[512];
	size_t	i;

	snprintf(spec, sizeof(spec), "inet:%d@127.0.0.1",
		 tenv_free_port());
	snprintf(want, sizeof(want), "%s: connect: Connection refused", spec);
	ck_assert_ptr_null(mclient_open(spec, TIMEOUT_MS, err, sizeof(err)));
	ck_assert_str_eq(err, want);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_ptr_null(mclient_open(bad[i][0], TIMEOUT_MS, err,
						sizeof(err)));
		ck_assert_str_eq(err, bad[i][1]);
	}
	ck_assert_ptr_null(mclient_open(spec, 0, err, sizeof(err)));
	ck_assert_str_eq(err, "timeout 0 ms, not 1 to 3600000");
}
END_TEST

/*
 * What a scripted filter sends: one reply per command that it receives,
 * other than SMFIC_MACRO, SMFIC_ABORT and SMFIC_QUIT.  A reply is any
 * number of packets, none for a filter that stays silent.
 */
struct script {
	unsigned char bytes[4096];	/* the replies, one after another */
	size_t	ends[16];		/* where each reply ends */
	size_t	len;			/* bytes used */
	size_t	count;			/* replies ended */
	bool	hangup;			/* then half-close */
};

/* Add raw bytes to the reply being written. */
static void
script_raw(struct script *script, const void *bytes, size_t len)
{
	ck_assert_uint_le(len, sizeof(script->bytes) - script->len);
	memcpy(script->bytes + script->len, bytes, len);
	script->len += len;
}

/* Add a packet to the reply being written. */
static void
script_packet(struct script *script, char cmd, const void *data, size_t len)
{
	unsigned char head[MILTER_LEN_BYTES + 1];

	head[0] = (unsigned char) ((len + 1) >> 24);
	head[1] = (unsigned char) ((len + 1) >> 16);
	head[2] = (unsigned char) ((len + 1) >> 8);
	head[3] = (unsigned char) (len + 1);
	head[4] = (unsigned char) cmd;
	script_raw(script, head, sizeof(head));
	script_raw(script, data, len);
}

/* End the reply being written. */
static void
script_end(struct script *script)
{
	ck_assert_uint_lt(script->count, sizeof(script->ends)
			  / sizeof(script->ends[0]));
	script->ends[script->count++] = script->len;
}

/* A whole reply of one packet without data. */
static void
script_reply(struct script *script, char cmd)
{
	script_packet(script, cmd, "", 0);
	script_end(script);
}

/* The negotiation reply: version, actions, protocol flags. */
static void
script_optneg(struct script *script, unsigned long version,
	      unsigned long actions, unsigned long protocol)
{
	unsigned long value[3] = {version, actions, protocol};
	unsigned char data[MILTER_OPTLEN];
	size_t	i;

	for (i = 0; i < 3; i++) {
		data[4 * i] = (unsigned char) (value[i] >> 24);
		data[4 * i + 1] = (unsigned char) (value[i] >> 16);
		data[4 * i + 2] = (unsigned char) (value[i] >> 8);
		data[4 * i + 3] = (unsigned char) value[i];
	}
	script_packet(script, SMFIC_OPTNEG, data, sizeof(data));
	script_end(script);
}

/* A scripted filter: a child process serving one connection. */
struct fake {
	pid_t	pid;
	char	spec[300];		/* "unix:" and its socket */
	char	log[300];		/* what it received */
};

/* Read exactly len bytes; -1 at end of input or on an error. */
static int
read_full(int fd, unsigned char *bytes, size_t len)
{
	ssize_t	got;

	for (; len > 0; bytes += got, len -= (size_t) got)
		if ((got = read(fd, bytes, len)) <= 0)
			return -1;
	return 0;
}

/*
 * The child's side: log each command as its letter, a space and its data
 * (bytes outside printable ASCII as <hex>), and send its reply.  Runs
 * until SMFIC_QUIT or the end of input; the exit status of the child.
 */
static int
fake_serve(int listener, const struct script *script, const char *path)
{
	unsigned char head[MILTER_LEN_BYTES + 1];
	unsigned char *data;
	size_t	reply = 0;
	size_t	start;
	size_t	len;
	size_t	i;
	FILE   *log;
	int	fd;

	if ((fd = accept(listener, NULL, NULL)) < 0
	    || (log = fopen(path, "w")) == NULL
	    || (data = malloc(MILTER_MAX_DATA_SIZE)) == NULL)
		return 1;
	while (read_full(fd, head, sizeof(head)) == 0) {
		len = ((size_t) head[0] << 24 | (size_t) head[1] << 16
		       | (size_t) head[2] << 8 | head[3]) - 1;
		if (len > MILTER_MAX_DATA_SIZE || read_full(fd, data, len) < 0)
			return 1;
		fprintf(log, "%c ", head[4]);
		for (i = 0; i < len; i++)
			if (data[i] >= ' ' && data[i] <= '~')
				fputc(data[i], log);
			else
				fprintf(log, "<%02x>", data[i]);
		fputc('\n', log);
		fflush(log);
		if (head[4] == SMFIC_QUIT)
			break;
		if (head[4] == SMFIC_MACRO || head[4] == SMFIC_ABORT
		    || reply == script->count)
			continue;
		start = reply > 0 ? script->ends[reply - 1] : 0;
		len = script->ends[reply] - start;
		if (send(fd, script->bytes + start, len, MSG_NOSIGNAL)
		    != (ssize_t) len)
			return 1;
		if (++reply == script->count && script->hangup)
			shutdown(fd, SHUT_WR);
	}
	free(data);
	return fclose(log) == 0 ? 0 : 1;
}

/* Listen in dir, then serve one connection with the script in a child. */
static void
fake_start(struct fake *fake, const char *dir, const struct script *script)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	pid_t	parent = getpid();
	int	fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/fake.sock", dir);
	snprintf(fake->spec, sizeof(fake->spec), "unix:%s", sa.sun_path);
	snprintf(fake->log, sizeof(fake->log), "%s/fake.log", dir);
	ck_assert_int_ge(fd = socket(AF_UNIX, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_ge(fake->pid = fork(), 0);
	if (fake->pid == 0) {
		tenv_child_guard(parent);
		_exit(fake_serve(fd, script, fake->log));
	}
	close(fd);
}

/* Wait for the scripted filter to end well; its log into text. */
static void
fake_wait(const struct fake *fake, char *text, size_t size)
{
	FILE   *fp;
	size_t	len;
	int	status;

	ck_assert_int_eq(waitpid(fake->pid, &status, 0), fake->pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "scripted filter ended with status 0x%x", status);
	ck_assert_ptr_nonnull(fp = fopen(fake->log, "r"));
	len = fread(text, 1, size - 1, fp);
	ck_assert_int_eq(ferror(fp), 0);
	text[len] = 0;
	fclose(fp);
}

/* Protocol flags of the scripted filter in test_wire. */
#define WIRE_PROTOCOL	(SMFIP_NODATA | SMFIP_NOEOH | SMFIP_NR_HDR \
			 | SMFIP_HDR_LEADSPC | SMFIP_SKIP)

START_TEST(test_wire)
{
	static const char *const mail[] = {"{mail_addr}", "a@example.org",
	NULL};
	static const char *const want =
	"O <00><00><00><06><00><00><01><ff><00><1f><ff><ff>\n"
	"C client.example<00>6<00><19>2001:db8::1<00>\n"
	"H helo.example<00>\n"
	"D M{mail_addr}<00>a@example.org<00>\n"
	"M <a@example.org><00>\n"
	"R <b@example.net><00>\n"
	"L Subject<00> hello<00>\n"
	"B line 1<0d><0a>\n"
	"E \n"
	"A \n"
	"Q \n";
	struct script script = {.len = 0};
	unsigned long actions;
	unsigned long protocol;
	struct mclient *client;
	struct mreply reply;
	struct fake fake;
	char   *dir = tenv_mkdir();
	char	log[4096];

	script_optneg(&script, 6, SMFIF_ADDHDRS, WIRE_PROTOCOL);
	script_reply(&script, SMFIR_CONTINUE);		/* connect */
	script_packet(&script, SMFIR_REPLYCODE, "451 4.7.1 later",
		      sizeof("451 4.7.1 later"));	/* helo */
	script_end(&script);
	script_packet(&script, SMFIR_PROGRESS, "", 0);	/* mail */
	script_reply(&script, SMFIR_CONTINUE);
	script_reply(&script, SMFIR_REJECT);		/* rcpt */
	script_end(&script);				/* header: none */
	script_reply(&script, SMFIR_SKIP);		/* body */
	script_packet(&script, SMFIR_ADDHEADER, "X-Added\0 yes",
		      sizeof("X-Added\0 yes"));		/* eom */
	script_packet(&script, SMFIR_QUARANTINE, "why", sizeof("why"));
	script_packet(&script, SMFIR_INSHEADER, "\0\0\0\0X-First\0 one",
		      sizeof("\0\0\0\0X-First\0 one"));
	script_packet(&script, SMFIR_CHGHEADER, "\0\0\0\1Subject\0 new",
		      sizeof("\0\0\0\1Subject\0 new"));
	script_reply(&script, SMFIR_CONTINUE);
	fake_start(&fake, dir, &script);

	client = open_client(fake.spec, &actions, &protocol);
	ck_assert_uint_eq(actions, SMFIF_ADDHDRS);
	ck_assert_uint_eq(protocol, WIRE_PROTOCOL);
	continues(client, mclient_connect(client, "client.example",
					  "2001:db8::1", 25, &reply), &reply,
		  "connect");
	ck_assert_int_eq(mclient_helo(client, "helo.example", &reply), 0);
	ck_assert_int_eq(reply.code, SMFIR_REPLYCODE);
	ck_assert_str_eq(reply.text, "451 4.7.1 later");
	ck_assert_int_eq(mclient_macro(client, SMFIC_MAIL, mail), 0);
	continues(client, mclient_mail(client, "<a@example.org>", &reply),
		  &reply, "mail");
	ck_assert_int_eq(mclient_rcpt(client, "<b@example.net>", &reply), 0);
	ck_assert_int_eq(reply.code, SMFIR_REJECT);
	/* SMFIP_NODATA, SMFIP_NR_HDR, SMFIP_NOEOH: answered here. */
	continues(client, mclient_data(client, &reply), &reply, "data");
	continues(client, mclient_header(client, "Subject", "hello", &reply),
		  &reply, "header");
	continues(client, mclient_eoh(client, &reply), &reply, "eoh");
	ck_assert_int_eq(mclient_body(client, "line 1\r\n", &reply), 0);
	ck_assert_int_eq(reply.code, SMFIR_SKIP);
	/* Skipped: the rest of the body is not sent. */
	continues(client, mclient_body(client, "line 2\r\n", &reply), &reply,
		  "body");
	continues(client, mclient_eom(client, &reply), &reply, "eom");
	ck_assert_str_eq(reply.headers, "X-Added: yes\nX-First: one\n");
	ck_assert_int_eq(mclient_abort(client), 0);
	mclient_close(client);
	fake_wait(&fake, log, sizeof(log));
	ck_assert_str_eq(log, want);
	tenv_rmdir(dir);
}
END_TEST

/*
 * The macro lists a filter asks for at negotiation: mclient keeps them,
 * and t/msession sends at each step the macros of its list (not
 * Postfix's defaults), also for a step negotiated away (as Postfix 3.7
 * does; they go with the next step), and waits for no reply where the
 * filter gives none.  A list cut short fails.
 */
START_TEST(test_macro_lists)
{
	static const unsigned char lists[] =
	"\0\0\0\6\0\0\1\0\0\0\x10\x04"		/* v6, SETSYMLIST; NOMAIL,
						 * NR_CONN */
	"\0\0\0\0{daemon_name}\0"
	"\0\0\0\3i {mail_addr}\0";
	static const char *const want =
	"O <00><00><00><06><00><00><01><ff><00><1f><ff><ff>\n"
	"D C{daemon_name}<00>mx-a<00>\n"
	"C client.example<00>4<00><19>192.0.2.1<00>\n"
	"H helo.example<00>\n"
	"D Mi<00>QID7<00>{mail_addr}<00>a@example.org<00>\n"
	"D Ri<00>QID7<00>{mail_addr}<00>a@example.org<00>\n"
	"R <b@example.net><00>\n"
	"Q \n";
	const struct msession_smtp smtp = {
		.daemon = "mx-a", .host = "client.example", .ip = "192.0.2.1",
		.port = 25, .helo = "helo.example", .queue_id = "QID7",
		.from = "<a@example.org>", .rcpt = "<b@example.net>",
		.mailer = "smtp",
	};
	struct script script = {.len = 0};
	struct msession s;
	struct fake fake;
	char   *dir = tenv_mkdir();
	char	log[4096];

	script_packet(&script, SMFIC_OPTNEG, lists, sizeof(lists) - 1);
	script_end(&script);
	script_reply(&script, SMFIR_CONTINUE);		/* helo */
	script_reply(&script, SMFIR_CONTINUE);		/* rcpt */
	fake_start(&fake, dir, &script);
	msession_init(&s, fake.spec, 5000, &smtp);
	ck_assert_msg(msession_run(&s, MSESSION_RCPT) == 0, "%s", s.err);
	ck_assert_str_eq(mclient_macro_list(s.client, SMFIM_ENVRCPT),
			 "i {mail_addr}");
	ck_assert_ptr_null(mclient_macro_list(s.client, SMFIM_ENVFROM));
	msession_close(&s);
	fake_wait(&fake, log, sizeof(log));
	ck_assert_str_eq(log, want);
	tenv_rmdir(dir);
	/* A list without its end. */
	dir = tenv_mkdir();
	script.len = script.count = 0;
	script_packet(&script, SMFIC_OPTNEG, lists, sizeof(lists) - 2);
	script_end(&script);
	fake_start(&fake, dir, &script);
	msession_init(&s, fake.spec, 5000, &smtp);
	ck_assert_int_eq(msession_run(&s, MSESSION_OPEN), -1);
	ck_assert_str_eq(s.err, "open: macro list without end");
	fake_wait(&fake, log, sizeof(log));
	tenv_rmdir(dir);
}
END_TEST

/*
 * Steps the filter gives no reply to are not written until a step that
 * waits for one, as Postfix's buffered stream writes them: alone, a
 * step would wait on Nagle's algorithm for the filter's delayed ACK.
 */
START_TEST(test_held_steps)
{
	static const char *const opened =
	"O <00><00><00><06><00><00><01><ff><00><1f><ff><ff>\n";
	static const char *const want =
	"C client.example<00>4<00><19>192.0.2.1<00>\n"
	"H helo.example<00>\n"
	"R <b@example.net><00>\n"
	"Q \n";
	struct script script = {.len = 0};
	unsigned long actions;
	unsigned long protocol;
	struct mclient *client;
	struct mreply reply;
	struct fake fake;
	char   *dir = tenv_mkdir();
	char	log[4096];
	char	path[300];

	script_optneg(&script, 6, 0, SMFIP_NR_CONN | SMFIP_NR_HELO
		      | SMFIP_NOMAIL);
	script_reply(&script, SMFIR_CONTINUE);		/* rcpt */
	fake_start(&fake, dir, &script);
	client = open_client(fake.spec, &actions, &protocol);
	continues(client, mclient_connect(client, "client.example",
					  "192.0.2.1", 25, &reply), &reply,
		  "connect");
	continues(client, mclient_helo(client, "helo.example", &reply),
		  &reply, "helo");
	/* Time for the filter to log anything written so far. */
	usleep(200000);
	snprintf(path, sizeof(path), "%s/fake.log", dir);
	tenv_slurp(path, log, sizeof(log));
	ck_assert_str_eq(log, opened);
	continues(client, mclient_rcpt(client, "<b@example.net>", &reply),
		  &reply, "rcpt");
	mclient_close(client);
	fake_wait(&fake, log, sizeof(log));
	ck_assert_str_eq(log + strlen(opened), want);
	tenv_rmdir(dir);
}
END_TEST

/* A filter that adds more headers than struct mreply holds. */
START_TEST(test_many_headers)
{
	struct script script = {.len = 0};
	unsigned long actions;
	unsigned long protocol;
	struct mclient *client;
	struct mreply reply;
	struct fake fake;
	char	value[400];
	char	data[512];
	char	log[4096];
	char   *dir = tenv_mkdir();
	size_t	i;

	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = 0;
	script_optneg(&script, 6, SMFIF_ADDHDRS, 0);
	for (i = 0; i < 8; i++) {
		snprintf(data, sizeof(data), "X-Big-%zu", i);
		memcpy(data + 8, value, sizeof(value));
		script_packet(&script, SMFIR_ADDHEADER, data,
			      8 + sizeof(value));
	}
	script_reply(&script, SMFIR_CONTINUE);
	fake_start(&fake, dir, &script);
	client = open_client(fake.spec, &actions, &protocol);
	continues(client, mclient_eom(client, &reply), &reply, "eom");
	/* 409 bytes each: five fit in 2048, the rest are left out whole. */
	ck_assert_uint_eq(strlen(reply.headers), 5 * (7 + 2 + 399 + 1));
	ck_assert_ptr_nonnull(strstr(reply.headers, "X-Big-4: vvv"));
	ck_assert_ptr_null(strstr(reply.headers, "X-Big-5"));
	mclient_close(client);
	fake_wait(&fake, log, sizeof(log));
	tenv_rmdir(dir);
}
END_TEST

/* A body longer than a packet goes in pieces of 65535 bytes. */
START_TEST(test_long_body)
{
	struct script script = {.len = 0};
	unsigned long actions;
	unsigned long protocol;
	struct mclient *client;
	struct mreply reply;
	struct fake fake;
	char   *dir = tenv_mkdir();
	char   *body;
	char   *log;
	char   *want;

	ck_assert_ptr_nonnull(body = malloc(70001));
	ck_assert_ptr_nonnull(log = malloc(80000));
	ck_assert_ptr_nonnull(want = malloc(80000));
	memset(body, 'x', 70000);
	body[70000] = 0;
	snprintf(want, 80000, "O %s\nB %.65535s\nB %.4465s\nQ \n",
		 "<00><00><00><06><00><00><01><ff><00><1f><ff><ff>", body,
		 body);
	script_optneg(&script, 6, 0, 0);
	script_reply(&script, SMFIR_CONTINUE);
	script_reply(&script, SMFIR_CONTINUE);
	fake_start(&fake, dir, &script);
	client = open_client(fake.spec, &actions, &protocol);
	continues(client, mclient_body(client, body, &reply), &reply, "body");
	mclient_close(client);
	fake_wait(&fake, log, 80000);
	ck_assert_str_eq(log, want);
	free(body);
	free(log);
	free(want);
	tenv_rmdir(dir);
}
END_TEST

/* A bad reply from the filter, and the error it must give. */
static const struct hostile {
	char	step;			/* 'O' optneg, 'H' helo, 'E' eom */
	const char *bytes;		/* the reply to that step, raw */
	size_t	len;
	bool	hangup;			/* then the filter closes */
	const char *error;		/* mclient_error() */
} hostile[] = {
	{'O', RAW("\177\377\377\377O"), false,
	 "reply length 2147483647, not 1 to 65536"},
	{'O', RAW("\0\0\0\0"), false, "reply length 0, not 1 to 65536"},
	{'O', RAW("\0\1\0\1O"), false, "reply length 65537, not 1 to 65536"},
	{'O', RAW("\0\0\0\5O\0\0\0\6"), false,
	 "bad negotiation reply 0x4f with 4 bytes"},
	{'O', RAW("\0\0\0\1c"), false,
	 "bad negotiation reply 0x63 with 0 bytes"},
	{'O', RAW("\0\0\0\15O\0\0\0\7\0\0\0\0\0\0\0\0"), false,
	 "filter speaks protocol version 7, not 2 to 6"},
	{'O', RAW("\0\0\0\15O\0\0\0\6\0\0\2\0\0\0\0\0"), false,
	 "filter asks for actions 0x200, offered 0x1ff"},
	{'H', RAW("\0\0\0\2cX"), false, "reply 'c' with data (1 bytes)"},
	{'H', RAW("\0\0\0\1p\0\0\0\2pX"), false,
	 "reply 'p' with data (1 bytes)"},
	{'H', RAW("\0\0\0\1Z"), false, "unexpected reply 0x5a to command 'H'"},
	{'H', RAW("\0\0\0\14hName\0value\0"), false,
	 "unexpected reply 0x68 to command 'H'"},
	{'H', RAW("\0\0\0\7yhello\0"), false, "malformed reply code text"},
	{'H', RAW("\0\0\0\1y"), false, "malformed reply code text"},
	{'H', RAW("\0\0\0\1"), true, "the filter closed the connection"},
	{'H', RAW(""), false, "timed out after 500 ms"},
	{'E', RAW("\0\0\0\4hAbc"), false, "malformed header change 'h'"},
	{'E', RAW("\0\0\0\10hName\0va"), false, "malformed header change 'h'"},
	{'E', RAW("\0\0\0\3i\0\0"), false, "malformed header change 'i'"},
	{'E', RAW("\0\0\0\1l"), false, "unexpected reply 0x6c to command 'E'"},
};

START_TEST(test_hostile)
{
	const struct hostile *bad = &hostile[_i];
	struct script script = {.hangup = bad->hangup};
	unsigned long actions;
	unsigned long protocol;
	struct mclient *client;
	struct mreply reply;
	struct fake fake;
	char   *dir = tenv_mkdir();
	char	err[512];
	char	log[4096];
	int	status;

	if (bad->step != 'O')
		script_optneg(&script, 6, 0, 0);
	script_raw(&script, bad->bytes, bad->len);
	script_end(&script);
	fake_start(&fake, dir, &script);
	client = mclient_open(fake.spec, SHORT_TIMEOUT_MS, err, sizeof(err));
	ck_assert_msg(client != NULL, "%s", err);
	status = mclient_negotiate(client, &actions, &protocol);
	if (status == 0 && bad->step == 'H')
		status = mclient_helo(client, "x", &reply);
	else if (status == 0 && bad->step == 'E')
		status = mclient_eom(client, &reply);
	ck_assert_int_eq(status, -1);
	ck_assert_str_eq(mclient_error(client), bad->error);
	mclient_close(client);
	fake_wait(&fake, log, sizeof(log));
	tenv_rmdir(dir);
}
END_TEST

static Suite *
mclient_suite(void)
{
	Suite  *suite = suite_create("mclient");
	TCase  *tc = tcase_create("mclient");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_ipv4);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_unix);
	tcase_add_test(tc, test_nodata);
	tcase_add_test(tc, test_added_header);
	tcase_add_test(tc, test_two_sessions);
	tcase_add_test(tc, test_macros);
	tcase_add_test(tc, test_bad_client_address);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_wire);
	tcase_add_test(tc, test_macro_lists);
	tcase_add_test(tc, test_held_steps);
	tcase_add_test(tc, test_many_headers);
	tcase_add_test(tc, test_long_body);
	tcase_add_loop_test(tc, test_hostile, 0,
			    sizeof(hostile) / sizeof(hostile[0]));
	suite_add_tcase(suite, tc);
	return suite;
}

int
main(void)
{
	return tenv_run(mclient_suite());
}
