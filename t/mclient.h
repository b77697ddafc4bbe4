/*
 * mclient - the MTA side of the milter protocol, version 6 as Postfix
 * speaks it, for tests and load generators.
 *
 * One call sends one SMTP step to a filter and waits for its reply.  The
 * steps the filter negotiated away (SMFIP_NO*) are not sent, and replies
 * it negotiated away (SMFIP_NR_*) are not waited for (such a step is
 * written with the next one that is, as Postfix's buffered stream does);
 * both are reported as SMFIR_CONTINUE, as Postfix treats them.  Every packet read or
 * written, and the connect, has a deadline.  Lengths read from the filter
 * are checked before use, so a hostile filter gets an error, not a crash.
 *
 * What it does not: keep the MTA's state machine (after accept, reject or
 * tempfail the caller decides what to send next; Postfix closes the
 * connection after a decision at connect or helo), apply message changes
 * (added headers are reported as text, other changes are dropped), send
 * ESMTP arguments or SMFIC_UNKNOWN, pick the macros a step sends (it
 * keeps the lists a filter asks for at negotiation, for the caller: see
 * t/msession), or rewrite "unknown" client names as Postfix does
 * ("[ip]": pass that as the host name).  No threads, no global state:
 * one struct mclient is one filter connection for one thread at a time.
 * It does not use Check, so a load generator can link it.
 */
#ifndef RBL_MCLIENT_H
#define RBL_MCLIENT_H

#include <stddef.h>

struct mclient;

/* The filter's answer to one step. */
struct mreply {
	/*
	 * SMFIR_* reply: 'c' continue, 'a' accept, 'r' reject, 't'
	 * tempfail, 'd' discard, 'y' replycode, 's' skip, '4' shutdown;
	 * 'c' when the step or its reply was negotiated away.
	 */
	char	code;
	char	text[1024];		/* 'y': "550 5.7.1 text" as sent,
					 * cut to fit; else "" */
	/*
	 * At eom, "Name: value\n" for each header the filter added or
	 * inserted; a header that does not fit whole is left out.
	 */
	char	headers[2048];
};

/*
 * Connect to a filter at spec, "inet:PORT@HOST", "inet6:PORT@HOST" or
 * "unix:/path" ("local:/path"), as libmilter writes them; timeout_ms (1
 * ms to 1 hour) bounds the connect and each packet read or written
 * later.  NULL with the reason in err on failure.
 */
struct mclient *mclient_open(const char *spec, unsigned timeout_ms,
			     char *err, size_t errlen);

/* Send SMFIC_QUIT (unless the connection failed), close, free; NULL is ok. */
void	mclient_close(struct mclient *client);

/*
 * Vanish: close without SMFIC_QUIT, with a TCP reset where the socket
 * is TCP, as an MTA that crashed or lost the connection; then free.
 */
void	mclient_drop(struct mclient *client);

/*
 * Why the last call returned -1; after that the connection is unusable
 * and only mclient_close() is left to do.
 */
const char *mclient_error(const struct mclient *client);

/*
 * Option negotiation as Postfix 3.7 opens it (version 6, every SMFIF_*
 * action, every SMFIP_* step flag); stores the SMFIF_* actions and SMFIP_*
 * flags the filter asked for.  Must come first.  0 or -1.
 */
int	mclient_negotiate(struct mclient *client, unsigned long *actions,
			  unsigned long *protocol);

/*
 * The macro list the filter asked for at negotiation for the step of
 * class (SMFIM_CONNECT, SMFIM_ENVFROM, ...), names one space apart, or
 * NULL when it asked for none.
 */
const char *mclient_macro_list(const struct mclient *client, int class);

/*
 * SMFIC_MACRO for the step cmd (SMFIC_CONNECT, SMFIC_MAIL, ...) with a
 * NULL-terminated list of name, value, name, value...; names as Postfix
 * sends them ("j", "{daemon_name}").  No reply.  0 or -1.
 */
int	mclient_macro(struct mclient *client, char cmd,
		      const char *const *pairs);

/*
 * The steps.  0 with the answer in *reply, or -1 on an I/O error, a
 * timeout or a protocol error.  mclient_connect() takes the client's
 * address as IPv4 or IPv6 text, sent as Postfix sends it (family '4' or
 * '6', IPv6 without an "IPv6:" prefix), or NULL for a client with no
 * address (family 'U').  mclient_body() sends a chunk of body text, with
 * CRLF line ends as Postfix sends them, in pieces of at most 65535 bytes.
 * mclient_header() takes the value without the space after the colon and
 * adds one when the filter asked for SMFIP_HDR_LEADSPC, as Postfix does.
 */
int	mclient_connect(struct mclient *client, const char *hostname,
			const char *ip, unsigned port, struct mreply *reply);
int	mclient_helo(struct mclient *client, const char *name,
		     struct mreply *reply);
int	mclient_mail(struct mclient *client, const char *from,
		     struct mreply *reply);
int	mclient_rcpt(struct mclient *client, const char *rcpt,
		     struct mreply *reply);
int	mclient_data(struct mclient *client, struct mreply *reply);
int	mclient_header(struct mclient *client, const char *name,
		       const char *value, struct mreply *reply);
int	mclient_eoh(struct mclient *client, struct mreply *reply);
int	mclient_body(struct mclient *client, const char *chunk,
		     struct mreply *reply);

/* End of message: collects added headers until the final reply. */
int	mclient_eom(struct mclient *client, struct mreply *reply);

/* SMFIC_ABORT: forget the current message; no reply.  0 or -1. */
int	mclient_abort(struct mclient *client);

#endif
