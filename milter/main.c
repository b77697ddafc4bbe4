/*
 * main - the rblmilter command: options, configuration, then one mode.
 *
 * Modes so far: -n prints the configuration, --check asks the zones about
 * IPs.  Exit statuses follow sysexits(3) where they apply: 64 for a bad
 * command line, 78 (EX_CONFIG) for a configuration that must not run.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "conf/config.h"
#include "lib/msg.h"
#include "milter/check.h"

/* Print how to call us, to out. */
static void
usage(FILE *out)
{
	fprintf(out,
		"usage: rblmilter [-c FILE] -n\n"
		"       rblmilter [-c FILE] --check [IP...]\n"
		"  -c, --config FILE  configuration (default %s)\n"
		"  -n                 print the settings FILE makes, "
		"like postconf -n\n"
		"      --check [IP...] print the DNSBL verdict for each IP "
		"(or each line\n"
		"                     of standard input); exit 0 pass, "
		"1 reject, 2 error\n"
		"  -V, --version      print the version\n"
		"  -h, --help         print this help\n",
		RBLMILTER_CONF);
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = RBLMILTER_CONF;
	struct config *config;
	char	err[CONFIG_ERR_SIZE];
	bool	print = false;
	bool	check = false;
	int	status;
	int	ch;

	msg_open("rblmilter", MSG_STDERR);
	while ((ch = getopt_long(argc, argv, "c:hnV", options, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'n':
			print = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("rblmilter %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (print == check || (print && optind < argc)) {
		usage(stderr);
		return EX_USAGE;
	}
	if (config_load(path, &config, err, sizeof(err)) < 0) {
		msg_error("%s", err);
		return EX_CONFIG;
	}
	if (print) {
		config_print(config, stdout);
		status = 0;
	} else {
		status = check_run(config, argv + optind, argc - optind, stdin,
				   stdout);
	}
	config_free(config);
	return status;
}
