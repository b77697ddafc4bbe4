/*
 * fuzz_config - libFuzzer target for the rblmilter.conf reader: the input
 * is a whole file, loaded by config_load() as the daemon loads its own,
 * from a memory file so that nothing is written to disk.  A refused file
 * must be named in the message, with a line number the file has, if any;
 * an accepted one must hold what the daemon relies on, and print as
 * "rblmilter -n" does.
 * Not fuzzed: the list files a configuration names (only checked to be
 * readable), reloads, and what the daemon does with the values.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf/config.h"
#include "dnsbl/site.h"

/* The memory file, and the name config_load() opens it by. */
static int fuzz_fd;
static char fuzz_path[64];

/* Where accepted files are printed. */
static FILE *fuzz_null;

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	if ((fuzz_fd = memfd_create("fuzz_config", 0)) < 0
	    || (fuzz_null = fopen("/dev/null", "w")) == NULL)
		abort();
	snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
	return 0;
}

/* Lines of the file as the reader counts them: a last one needs no \n. */
static long
count_lines(const uint8_t *data, size_t size)
{
	long	lines = 0;
	size_t	i;

	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	return lines + (size > 0 && data[size - 1] != '\n');
}

/* "PATH: ..." or "PATH:LINE: ..." with a line of the file. */
static void
check_error(const char *err, const uint8_t *data, size_t size)
{
	size_t	len = strlen(fuzz_path);
	long	line;

	if (strncmp(err, fuzz_path, len) != 0 || err[len] != ':')
		abort();
	if (isdigit((unsigned char) err[len + 1])) {
		line = strtol(err + len + 1, NULL, 10);
		if (line < 1 || line > count_lines(data, size))
			abort();
	}
}

/*
 * What the daemon relies on in an accepted file: sites to query, a TTL
 * range, and a port for every TCP socket (port 0 means a unix socket).
 */
static void
check_config(const struct config *config)
{
	if (dnsbl_sites_zone_count(config->dnsbl_sites) == 0
	    || config->dnsbl_min_ttl > config->dnsbl_max_ttl
	    || (strncmp(config->policy_socket.text, "inet:", 5) == 0
		&& config->policy_socket.port == 0)
	    || (config->redis_server.port == 0 && *config->redis_server.text != 0
		&& *config->redis_server.text != '/'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *config = NULL;
	char	err[CONFIG_ERR_SIZE] = "";

	if (ftruncate(fuzz_fd, 0) < 0
	    || pwrite(fuzz_fd, data, size, 0) != (ssize_t) size)
		abort();
	if (config_load(fuzz_path, &config, err, sizeof(err)) < 0) {
		check_error(err, data, size);
		return 0;
	}
	check_config(config);
	config_print(config, fuzz_null);
	config_free(config);
	return 0;
}
