/*
 * request - one Postfix policy delegation request (SMTPD_POLICY_README):
 * "name=value" lines ended by an empty line.
 *
 * The parser is fed bytes as they arrive and keeps the few attributes
 * rblmilter uses; it ignores the others, as the protocol asks.  It does
 * no I/O and decides nothing.
 */
#ifndef RBL_POLICY_REQUEST_H
#define RBL_POLICY_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

/* Limits: a longer line or request is an attack or a bug, not mail. */
#define REQUEST_MAX_LINE	4096
#define REQUEST_MAX_SIZE	65536

struct policy_request {
	char	client_address[64];
	char	protocol_state[32];	/* CONNECT, EHLO, MAIL, RCPT... */
	char	sasl_username[256];
	char	recipient[512];
	char	instance[64];
	char	helo_name[256];
	char	sender[512];		/* the envelope sender, "" for <> */
	char	client_name[256];	/* verified, or "unknown" */
	char	queue_id[64];
	char	policy_context[64];	/* "relay": the relay question */
	size_t	size;			/* bytes of this request so far */
	size_t	line;			/* bytes of the line so far */
	char	name[32];		/* the name of the line being read */
	size_t	name_len;
	int	field;			/* index of the attribute kept, or -1 */
	bool	in_value;		/* past the "=" */
	size_t	value_len;
};

enum request_status {
	REQUEST_MORE,			/* give it more bytes */
	REQUEST_DONE,			/* a whole request: the empty line */
	REQUEST_BAD,			/* NUL byte, line or request too long */
};

/* Start (or restart, after REQUEST_DONE) a request. */
void	request_init(struct policy_request *request);

/*
 * Feed bytes; *used says how many were taken (a request may end before
 * the buffer does; on REQUEST_BAD, the bytes before the bad one).  On
 * REQUEST_BAD, err says why.  CR bytes are dropped, so that a request
 * with CRLF line ends ends at its empty line too.
 */
enum request_status request_feed(struct policy_request *request,
				 const char *data, size_t len, size_t *used,
				 const char **err);

#endif
