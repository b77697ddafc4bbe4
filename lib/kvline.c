/*
 * kvline - build one "key=value key=value" line for logs and --check.
 *
 * The buffer grows as needed.  A failed allocation marks the line broken
 * instead of truncating it silently, so that a half line is never logged
 * as if it were whole.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/kvline.h"

struct kvline {
	char   *data;			/* NUL-terminated text */
	size_t	len;			/* bytes used, without the NUL */
	size_t	size;			/* bytes allocated */
	bool	broken;			/* an allocation failed */
};

struct kvline *
kvline_create(void)
{
	struct kvline *line;

	if ((line = calloc(1, sizeof(*line))) == NULL)
		return NULL;
	line->size = 256;
	if ((line->data = malloc(line->size)) == NULL) {
		free(line);
		return NULL;
	}
	line->data[0] = 0;
	return line;
}

void
kvline_free(struct kvline *line)
{
	if (line == NULL)
		return;
	free(line->data);
	free(line);
}

/* Make room for need more bytes plus the NUL; false when out of memory. */
static bool
kvline_reserve(struct kvline *line, size_t need)
{
	size_t	size;
	char   *data;

	if (line->broken)
		return false;
	if (line->len + need < line->size)
		return true;
	for (size = line->size; line->len + need >= size; size *= 2)
		;
	if ((data = realloc(line->data, size)) == NULL) {
		line->broken = true;
		return false;
	}
	line->data = data;
	line->size = size;
	return true;
}

/* Append bytes verbatim. */
static void
kvline_append(struct kvline *line, const char *text, size_t len)
{
	if (!kvline_reserve(line, len))
		return;
	memcpy(line->data + line->len, text, len);
	line->len += len;
	line->data[line->len] = 0;
}

void
kvline_key(struct kvline *line, const char *key)
{
	if (line->len > 0)
		kvline_append(line, " ", 1);
	kvline_append(line, key, strlen(key));
	kvline_append(line, "=", 1);
}

void
kvline_printf(struct kvline *line, const char *fmt, ...)
{
	va_list	ap;
	int	len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0 || !kvline_reserve(line, (size_t) len))
		return;
	va_start(ap, fmt);
	vsnprintf(line->data + line->len, line->size - line->len, fmt, ap);
	va_end(ap);
	line->len += (size_t) len;
}

void
kvline_quote(struct kvline *line, const char *text)
{
	const unsigned char *cp;
	char	esc[5];

	kvline_append(line, "\"", 1);
	for (cp = (const unsigned char *) text; *cp; cp++) {
		if (*cp == '"' || *cp == '\\') {
			esc[0] = '\\';
			esc[1] = (char) *cp;
			kvline_append(line, esc, 2);
		} else if (*cp < 0x20 || *cp >= 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", *cp);
			kvline_append(line, esc, 4);
		} else {
			kvline_append(line, (const char *) cp, 1);
		}
	}
	kvline_append(line, "\"", 1);
}

void
kvline_value(struct kvline *line, const char *text)
{
	const char *cp;

	for (cp = text; *cp > 0x20 && *cp < 0x7f && *cp != '"' && *cp != '\\'
	     && *cp != '='; cp++)
		;
	if (*cp == 0)
		kvline_append(line, text, (size_t) (cp - text));
	else
		kvline_quote(line, text);
}

const char *
kvline_text(const struct kvline *line)
{
	return line->broken ? NULL : line->data;
}
