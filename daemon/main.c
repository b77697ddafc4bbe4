/*
 * main - the rblmilter command: options, configuration, then one mode.
 *
 * Modes: the milter daemon (the default), -n prints the configuration,
 * -d the defaults of every parameter,
 * --check asks about IPs, --stats prints the fleet's counters from Redis,
 * --report summarises decision log lines (it needs no configuration).
 * Exit statuses follow sysexits(3) where they apply: 64 for a bad command
 * line, 78 (EX_CONFIG) for a configuration that must not run.
 */
#include <event2/event.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <syslog.h>

#include "decide/stack.h"
#include "conf/config.h"
#include "lib/msg.h"
#include "cli/check.h"
#include "daemon/daemon.h"
#include "cli/report.h"

/* Print how to call us, to out. */
static void
usage(FILE *out)
{
	fprintf(out,
		"usage: rblmilter [-c FILE] [-f]\n"
		"       rblmilter [-c FILE] -n\n"
		"       rblmilter -d\n"
		"       rblmilter [-c FILE] --check [IP [helo=NAME] "
		"[sender=ADDRESS]\n"
		"                 [client_name=NAME]]...\n"
		"       rblmilter [-c FILE] --stats\n"
		"       rblmilter --report [FILE|-] [--json]\n"
		"  -c, --config FILE  configuration (default %s)\n"
		"  -f                 run the milter in the foreground, "
		"logging to stderr too\n"
		"  -n                 print the settings FILE makes, "
		"like postconf -n\n"
		"  -d                 print every parameter's default, "
		"like postconf -d\n"
		"      --check [IP...] print the DNSBL verdict for each IP "
		"(or each line\n"
		"                     of standard input), with the names "
		"after it;\n"
		"                     exit 0 pass, 1 reject, 2 error\n"
		"      --stats        print the counters kept in Redis\n"
		"      --report [FILE] summarise rblmilter's log lines in FILE "
		"(or standard\n"
		"                     input); exit 0, or 2 when it cannot be "
		"read\n"
		"      --json         print the --report as JSON\n"
		"  -V, --version      print the version\n"
		"  -h, --help         print this help\n",
		RBLMILTER_CONF);
}

/* rblmilter --stats; returns the exit status. */
static int
print_stats(const struct config *config)
{
	struct event_base *base;
	struct stack *stack = NULL;
	char	err[256] = "out of memory";
	int	status = 2;

	if ((base = event_base_new()) != NULL
	    && (stack = stack_create(base, config, err,
					 sizeof(err))) != NULL) {
		stack_start(stack, false);
		if (stack_print_stats(stack, stdout, err, sizeof(err)) == 0)
			status = 0;
	}
	if (status != 0)
		msg_error("--stats: %s", err);
	if (stack != NULL) {
		stack_drain(stack);
		stack_free(stack);
	}
	if (base != NULL)
		event_base_free(base);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'C'},
		{"stats", no_argument, NULL, 'S'},
		{"report", no_argument, NULL, 'R'},
		{"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = RBLMILTER_CONF;
	struct config *config;
	char	err[CONFIG_ERR_SIZE];
	char	full[PATH_MAX];
	bool	print = false;
	bool	defaults = false;
	bool	check = false;
	bool	stats = false;
	bool	report = false;
	bool	json = false;
	bool	foreground = false;
	int	status;
	int	ch;

	msg_open("rblmilter", MSG_STDERR, LOG_MAIL);
	while ((ch = getopt_long(argc, argv, "c:dfhnV", options, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 'n':
			print = true;
			break;
		case 'd':
			defaults = true;
			break;
		case 'S':
			stats = true;
			break;
		case 'R':
			report = true;
			break;
		case 'J':
			json = true;
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
	if (print + defaults + check + stats + report + foreground > 1
	    || (!check && !report && optind < argc)
	    || (report && argc - optind > 1) || (json && !report)) {
		usage(stderr);
		return EX_USAGE;
	}
	if (defaults) {
		config_print_defaults(stdout);
		return 0;
	}
	if (report)
		return report_run(optind < argc ? argv[optind] : "-", json,
				  stdout);
	if (config_load(path, &config, err, sizeof(err)) < 0) {
		msg_error("%s", err);
		return EX_CONFIG;
	}
	/* A detached daemon runs in /: reloads need the full path. */
	if (!print && !check && !stats)
		return daemon_run(config, realpath(path, full) ? full : path,
				  foreground);
	if (print) {
		config_print(config, stdout);
		status = 0;
	} else if (stats) {
		status = print_stats(config);
	} else {
		status = check_run(config, argv + optind, argc - optind, stdin,
				   stdout);
	}
	config_free(config);
	return status;
}
