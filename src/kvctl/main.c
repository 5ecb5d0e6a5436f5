/*
 * main.c - the Workers KV / Azion KV API from the shell, on a mounted
 * kvfs (SPEC section 5).
 *
 *     kvctl COMMAND [ARGS...]
 *
 * Each command lives in its own file and parses its own options.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvctl/kvctl.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *what;
} commands[] = {
	{ "get", kc_cmd_get, "print the value of a key, or of several as JSON" },
	{ "put", kc_cmd_put, "write a key with its metadata and expiration" },
	{ "delete", kc_cmd_delete, "delete keys" },
	{ "list", kc_cmd_list, "list keys with a prefix, a page at a time" },
	{ "namespace", kc_cmd_namespace,
	  "create, list, get or delete namespaces" },
	{ "import", kc_cmd_import, "write keys from a bulk JSON file" },
	{ "export", kc_cmd_export, "print keys as a bulk JSON file" },
	{ "status", kc_cmd_status,
	  "where a mount stands: local or remote, connected, lag" },
};

static void help(void)
{
	size_t i;

	printf("usage: kvctl COMMAND [ARGS...]\n\n"
	       "The Workers KV / Azion KV operations on a mounted kvfs, with "
	       "JSON output.\nNSDIR is a namespace's directory (MOUNT/NAME); "
	       "KEY a key in it.\n\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].what);
	printf("\nKeys starting with '-' follow '--', after the options: "
	       "kvctl get NS -- -KEY\n"
	       "`kvctl COMMAND --help` describes each; `man kvctl` all.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return kc_usage("COMMAND [ARGS...]");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		help();
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("kvctl %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	kc_error("unknown command '%s'", argv[1]);
	return kc_usage("COMMAND [ARGS...]");
}
