/*
 * kvline - build one "key=value key=value" line for logs and --check.
 *
 * Values that come from outside (DNS TXT records, SMTP and Postfix data) are
 * added with kvline_quote(), which escapes anything that could split the
 * line or fake a field.  Memory errors are sticky: the line reports them
 * once, at kvline_text().
 */
#ifndef RBL_LIB_KVLINE_H
#define RBL_LIB_KVLINE_H

#include <stddef.h>

struct kvline;

struct kvline *kvline_create(void);
void	kvline_free(struct kvline *line);

/* Start a new "key=" field (a space first unless the line is empty). */
void	kvline_key(struct kvline *line, const char *key);

/* Append printf text as is: callers promise it has no space or quote. */
void	kvline_printf(struct kvline *line, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Append a string as a double-quoted, escaped value. */
void	kvline_quote(struct kvline *line, const char *text);

/*
 * Append a string bare when it is one word of printable ASCII without
 * '"', '\\' or '=' (or empty), else as kvline_quote() does.
 */
void	kvline_value(struct kvline *line, const char *text);

/* The line so far, or NULL if memory ran out while building it. */
const char *kvline_text(const struct kvline *line);

#endif
