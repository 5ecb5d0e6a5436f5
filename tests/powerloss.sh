# powerloss.sh - the power-loss harness, sourced after lib.sh by
# tests/41-power-loss.sh (a bounded sample) and scripts/power-loss (the
# long run).
#
#   pl_record SEED PHASES...   record a workload: kvfs runs under the
#                              recorder (tests/crashrec.c), each PHASE
#                              "BOOT OPS MIX END [FAIL]" mounts with boot id
#                              BOOT, runs tests/powerload for OPS operations
#                              and ends with END: umount (clean), kill
#                              (kill -9, the next mount in the same boot),
#                              or killreboot (kill -9, then a clean
#                              reboot: everything on disk; the next mount
#                              finds what a power cut leaves, so only as
#                              the last phase); FAIL is a
#                              CRASHREC_FAIL rule for that mount; each
#                              mount must find every operation acknowledged
#                              before it (in a new boot after an unmount
#                              that followed a failed flush: what kvfs's
#                              last checkpoint kept, and at least what was
#                              durable) (PL_REC_BAD counts those that do
#                              not, one line each in
#                              $TEST_DIR/failures-recording)
#   pl_images N SEED           build N crash images of that log
#                              (tests/crashimg.c) and check each: kvfs
#                              mounts it with the plan's boot id, the keys
#                              hold what was promised (powerload check),
#                              mdb_stat and mdb_dump read it whole, and a
#                              key written then reads back after a remount;
#                              counts in PL_IMAGES, PL_BAD; one line per
#                              failure in $TEST_DIR/failures
#
# The recording starts from a store made and cleanly unmounted before it
# (its files copied to $PL_INIT), with checkpoints only on fsync, every 64
# commits and on map growth (KVFS_CKPT_SECONDS=3600) and a 64 KiB map, so
# that the map grows and a checkpoint is old when the power goes.

: "${CRASHREC:=$top_builddir/tests/crashrec.so}"
: "${CRASHIMG:=$top_builddir/tests/crashimg}"
: "${POWERLOAD:=$top_builddir/tests/powerload}"
[ -f "$CRASHREC" ] || skip_all "crashrec.so not built at $CRASHREC"
[ -x "$CRASHIMG" ] || skip_all "crashimg not built at $CRASHIMG"
[ -x "$POWERLOAD" ] || skip_all "powerload not built at $POWERLOAD"
command -v mdb_stat >/dev/null || skip_all "no mdb_stat (lmdb-utils)"
command -v mdb_dump >/dev/null || skip_all "no mdb_dump (lmdb-utils)"

PL_LOG=$TEST_DIR/rec.log
PL_INIT=$TEST_DIR/init
# the boot id is a test hook: the daemon built with them
: "${KVFS_HOOKS_BIN:=$top_builddir/tests/kvfs-hooks}"
[ -x "$KVFS_HOOKS_BIN" ] || skip_all "kvfs-hooks not built at $KVFS_HOOKS_BIN"
PL_KVFS=$KVFS_HOOKS_BIN
PL_OPTS="-o min_expiration_ttl=1"
PL_IMAGES=0
PL_BAD=0
PL_REC_BAD=0
: > "$TEST_DIR/failures"
: > "$TEST_DIR/failures-recording"
export KVFS_CKPT_SECONDS=3600

# the daemon under the recorder (ASan wants its runtime first: told not to
# mind the recorder before it)
cat > "$TEST_DIR/kvfs-rec" <<EOF
#!/bin/sh
CRASHREC_DIR='$STORE' CRASHREC_LOG='$PL_LOG' \
LD_PRELOAD='$CRASHREC'\${LD_PRELOAD:+:\$LD_PRELOAD} \
ASAN_OPTIONS=\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0 \
exec '$PL_KVFS' "\$@"
EOF
chmod +x "$TEST_DIR/kvfs-rec"

pl_mark() {
	"$POWERLOAD" mark "$PL_LOG" "$@"
}

# pl_snap N: the store's files as they are now, for crashimg verify
pl_snap() {
	mkdir -p "$TEST_DIR/snap$1"
	cp "$STORE/data.mdb" "$STORE/kvfs.sync" "$TEST_DIR/snap$1/"
	pl_mark "SNAP $TEST_DIR/snap$1"
}

pl_record() {
	pl_seed=$1
	shift
	rm -rf "$STORE" "$PL_INIT" "$PL_LOG" "$TEST_DIR"/snap*
	KVFS_BIN=$PL_KVFS
	export KVFS_BOOT_ID=init-$pl_seed
	KVFS_INITIAL_MAP=65536 mount_kvfs $PL_OPTS || return 1
	mkdir "$MNT/default/p"
	umount_kvfs || return 1
	cp -r "$STORE" "$PL_INIT"
	KVFS_BIN=$TEST_DIR/kvfs-rec
	pl_phase=0
	for p in "$@"; do
		pl_phase=$((pl_phase + 1))
		set -- $p
		export KVFS_BOOT_ID=$1
		pl_mark "MOUNT $1"
		if [ -n "${5:-}" ]; then
			export CRASHREC_FAIL=$5
		fi
		KVFS_INITIAL_MAP=65536 mount_kvfs $PL_OPTS || return 1
		unset CRASHREC_FAIL
		pl_mark "MOUNTED"
		# what the mount finds: every operation acknowledged before
		pl_out=$("$POWERLOAD" check "$MNT/default/p" "$PL_LOG" 999999999 \
			acked 2>&1)
		if [ "$pl_out" != OK ]; then
			PL_REC_BAD=$((PL_REC_BAD + 1))
			echo "mount $pl_phase ($1): $(echo "$pl_out" | head -3 |
				tr '\n' ';')" >> "$TEST_DIR/failures-recording"
		fi
		"$POWERLOAD" run "$MNT/default/p" "$PL_LOG" \
			"$((pl_seed * 100 + pl_phase))" "$2" "$3" > "$TEST_DIR/ops" ||
			return 1
		case $4 in
		umount)
			umount_kvfs || return 1
			pl_mark "A umount" ;;
		kill*)
			kill_kvfs
			pl_out=$("$CRASHIMG" settle "$PL_LOG" "$PL_INIT" \
				"$STORE") || return 1
			echo "# $pl_out"
			pl_mark "KILL" ;;
		esac
		pl_snap "$pl_phase"
		[ "$4" = killreboot ] && pl_mark "A reboot"
	done
	KVFS_BIN=$PL_KVFS
	return 0
}

# pl_check_image N CUT MODE BOOT SEED: one image; a line in failures if bad
pl_check_image() {
	n=$1 cut=$2 mode=$3 boot=$4 iseed=$5
	why= desc=
	rm -rf "$STORE"
	desc=$("$CRASHIMG" build "$PL_LOG" "$PL_INIT" "$STORE" "$cut" "$mode" \
		"$iseed") || { why="cannot build"; }
	export KVFS_BOOT_ID=$boot
	# A kill -9 in the same boot keeps every acknowledged operation; a
	# kill -9 then a reboot before kvfs is mounted again cannot be told
	# from a machine crash and keeps what a power cut keeps (README,
	# Durability)
	expect=power
	[ "$mode" = kill ] && expect=acked
	: > "$TEST_DIR/kvfs.err"
	if [ -z "$why" ] && ! KVFS_MOUNT_WAIT=200 mount_kvfs $PL_OPTS >/dev/null
	then
		wait $! 2>/dev/null
		st=$?
		[ $st -gt 128 ] && st="killed by signal $((st - 128))" ||
			st="status $st"
		why="does not mount ($st): $(tail -2 "$TEST_DIR/kvfs.err" | tr '\n' ' ')"
	fi
	if [ -z "$why" ]; then
		out=$("$POWERLOAD" check "$MNT/default/p" "$PL_LOG" "$cut" \
			"$expect" 2>&1)
		[ "$out" = OK ] ||
			why="keys: $(echo "$out" | head -3 | tr '\n' ';')"
		echo "probe $n" > "$MNT/default/probe" 2>/dev/null ||
			why="${why:+$why; }cannot write after"
		umount_kvfs || why="${why:+$why; }unmount failed"
		mdb_stat -a -f "$STORE" > "$TEST_DIR/stat.out" 2>&1 ||
			why="${why:+$why; }mdb_stat: $(tail -1 "$TEST_DIR/stat.out")"
		mdb_dump -a "$STORE" > /dev/null 2> "$TEST_DIR/dump.out" ||
			why="${why:+$why; }mdb_dump: $(tail -1 "$TEST_DIR/dump.out")"
		if KVFS_MOUNT_WAIT=200 mount_kvfs $PL_OPTS; then
			[ "$(cat "$MNT/default/probe" 2>&1)" = "probe $n" ] ||
				why="${why:+$why; }the key written after is not there"
			umount_kvfs
		else
			why="${why:+$why; }does not mount again"
		fi
	fi
	PL_IMAGES=$((PL_IMAGES + 1))
	if [ -n "$why" ]; then
		PL_BAD=$((PL_BAD + 1))
		echo "image $n: cut $cut $mode boot $boot seed $iseed ($desc): $why" \
			>> "$TEST_DIR/failures"
		if [ -n "${PL_KEEP:-}" ] && [ "$PL_BAD" -le "${PL_KEEP_MAX:-20}" ]; then
			mkdir -p "$PL_KEEP"
			rm -rf "$PL_KEEP/image$n"
			"$CRASHIMG" build "$PL_LOG" "$PL_INIT" "$PL_KEEP/image$n" \
				"$cut" "$mode" "$iseed" >/dev/null
		fi
		return 1
	fi
	return 0
}

pl_images() {
	pl_i=0
	"$CRASHIMG" plan "$PL_LOG" "$1" "$2" > "$TEST_DIR/plan"
	while read -r pl_cut pl_mode pl_boot pl_iseed; do
		pl_i=$((pl_i + 1))
		pl_check_image "$pl_i" "$pl_cut" "$pl_mode" "$pl_boot" \
			"$pl_iseed" </dev/null
	done < "$TEST_DIR/plan"
}
