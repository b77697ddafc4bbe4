/*
 * request - one Postfix policy delegation request (SMTPD_POLICY_README):
 * "name=value" lines ended by an empty line.
 *
 * A byte-at-a-time state machine, so that a request split anywhere by the
 * network parses the same, and nothing is buffered beyond the attribute
 * values kept (longer values are cut, which only matters for logging).
 */
#include <string.h>

#include "policy/request.h"

/* The attributes kept, and where. */
static const struct {
	const char *name;
	size_t	offset;
	size_t	size;
} request_fields[] = {
#define FIELD(n) {#n, offsetof(struct policy_request, n), \
	sizeof(((struct policy_request *) 0)->n)}
	FIELD(client_address),
	FIELD(protocol_state),
	FIELD(sasl_username),
	FIELD(recipient),
	FIELD(instance),
	FIELD(helo_name),
	FIELD(sender),
	FIELD(client_name),
	FIELD(queue_id),
	FIELD(policy_context),
#undef FIELD
};

#define REQUEST_FIELDS	(sizeof(request_fields) / sizeof(request_fields[0]))

void
request_init(struct policy_request *request)
{
	memset(request, 0, sizeof(*request));
	request->field = -1;
}

/* The name is complete: is it one we keep? */
static void
request_name_done(struct policy_request *request)
{
	size_t	i;

	request->field = -1;
	request->in_value = true;
	request->value_len = 0;
	for (i = 0; i < REQUEST_FIELDS; i++) {
		if (strlen(request_fields[i].name) == request->name_len
		    && memcmp(request_fields[i].name, request->name,
			      request->name_len) == 0) {
			request->field = (int) i;
			/* A repeated attribute: the last one counts. */
			memset((char *) request + request_fields[i].offset, 0,
			       request_fields[i].size);
			return;
		}
	}
}

/* One byte of a value. */
static void
request_value_byte(struct policy_request *request, char ch)
{
	char   *value;

	if (request->field < 0
	    || request->value_len + 1 >= request_fields[request->field].size)
		return;
	value = (char *) request + request_fields[request->field].offset;
	value[request->value_len++] = ch;
}

enum request_status
request_feed(struct policy_request *request, const char *data, size_t len,
	     size_t *used, const char **err)
{
	size_t	i;
	char	ch;

	for (i = 0; i < len; i++) {
		ch = data[i];
		*used = i;
		if (ch == 0) {
			*err = "NUL byte in request";
			return REQUEST_BAD;
		}
		/* A request written with CRLF still ends at its empty line. */
		if (ch == '\r')
			continue;
		if (++request->size > REQUEST_MAX_SIZE) {
			*err = "request longer than 64 KiB";
			return REQUEST_BAD;
		}
		if (ch == '\n') {
			if (request->line == 0) {
				*used = i + 1;
				return REQUEST_DONE;
			}
			request->line = 0;
			request->name_len = 0;
			request->in_value = false;
			request->field = -1;
			continue;
		}
		if (++request->line > REQUEST_MAX_LINE) {
			*err = "line longer than 4 KiB";
			return REQUEST_BAD;
		}
		if (request->in_value)
			request_value_byte(request, ch);
		else if (ch == '=')
			request_name_done(request);
		else if (request->name_len < sizeof(request->name))
			request->name[request->name_len++] = ch;
		else
			request->name_len = sizeof(request->name) + 1;
	}
	*used = len;
	return REQUEST_MORE;
}
