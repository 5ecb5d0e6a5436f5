/*
 * status.c - kvctl status MOUNT: where a mount stands, as JSON.
 *
 * The daemon answers it as the root's user.kv.status (fs/status.c):
 * local or remote mode, and for a replica of a shared store whether it
 * reaches PostgreSQL, the newest revision it holds and its lag.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "common/xattr.h"
#include "kvctl/kvctl.h"

static const char status_usage[] = "status MOUNT [--pretty]";

int kc_cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pretty", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char buf[4096];
	bool pretty = false;
	json_error_t err;
	ssize_t n;
	json_t *j;
	int c;

	while ((c = getopt_long(argc, argv, "ph", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pretty = true; break;
		case 'h':
			printf("usage: kvctl %s\n\n"
			       "Where the mount stands, as one JSON object:\n"
			       "  mode           \"local\", or \"remote\" (a "
			       "replica of a store in PostgreSQL)\n"
			       "  value_bytes    bytes of values this host "
			       "holds\n"
			       "  values_cached  \"all\": every value is kept "
			       "on this host; under value_cache,\n"
			       "                 the count of values kept\n"
			       "and for a replica:\n"
			       "  value_cache    bytes of values it keeps at "
			       "most (null: all)\n"
			       "  cached_bytes   bytes of the values it keeps "
			       "(null: all)\n"
			       "  connected      its last exchange with "
			       "PostgreSQL went through\n"
			       "  listening      it hears other hosts' writes "
			       "as they commit\n"
			       "  sweeper        it is the host that deletes "
			       "expired keys\n"
			       "  revision       the newest revision it holds\n"
			       "  lag_seconds    seconds since it last held "
			       "every commit (null: never)\n"
			       "  rounds         rounds of the change feed "
			       "that brought it changes\n",
			       status_usage);
			return 0;
		default:
			return kc_usage(status_usage);
		}
	}
	if (argc - optind != 1)
		return kc_usage(status_usage);
	if (kc_check_mount(argv[optind]))
		return 1;
	n = getxattr(argv[optind], KVX_STATUS, buf, sizeof(buf) - 1);
	if (n < 0)
		return kc_error("%s: cannot read its status: %s", argv[optind],
				strerror(errno));
	buf[n] = '\0';
	j = json_loads(buf, 0, &err);
	if (!j)
		return kc_error("%s: the daemon's status is not JSON",
				argv[optind]);
	return kc_print(j, pretty);
}
