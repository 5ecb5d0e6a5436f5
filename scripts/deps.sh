# deps.sh - sourced by the setup scripts: install the Debian packages
# kvfs needs to build, run and be tested, if any is missing.
KVFS_PACKAGES="build-essential autoconf automake libtool pkg-config libpq-dev
	fuse3 libfuse3-dev liblmdb-dev lmdb-utils libjansson-dev attr rsync
	util-linux valgrind"

install_deps() {
	# shellcheck disable=SC2086
	if ! dpkg -s $KVFS_PACKAGES >/dev/null 2>&1; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# shellcheck disable=SC2086
		apt-get install -y -qq $KVFS_PACKAGES >/dev/null
	fi
	[ -c /dev/fuse ] || modprobe fuse 2>/dev/null || true
}

# Only for the tests: node and npm for tests/37-kvdiff.sh, which installs
# Miniflare (Cloudflare's Workers KV) from npm and checks kvctl against
# it (Debian 12's nodejs is 18, which the test's pinned Miniflare runs
# on); PostgreSQL's server for the remote store's tests, which start
# clusters of their own (tests/pg.sh).
KVFS_TEST_PACKAGES="nodejs npm postgresql"

install_test_deps() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null ||
	   ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# shellcheck disable=SC2086
		apt-get install -y -qq $KVFS_TEST_PACKAGES >/dev/null
	fi
}

build_kvfs() {
	autoreconf -fi >/dev/null 2>&1
	# shellcheck disable=SC2086
	./configure -q ${KVFS_CONFIGURE_FLAGS:-}
	make -j"$(nproc)" >/dev/null
}
