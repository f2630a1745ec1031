#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Module lifecycle (TAP). mmu_notifier_sim cannot be unloaded while any of
# its devices is open: a bare open, a device bound by a live process, a
# device whose bound process exited. Each open holds one module reference.
# Once the last device is closed it unloads, its node goes away, and it
# loads again from the file vm-run.sh loaded it from (/etc/mnsim/modules).
# sec_tlb cannot be unloaded while mmu_notifier_sim uses it. A bad
# default_capacity fails the load. Both modules are left loaded, as found.
MOD=mmu_notifier_sim
LIB=sec_tlb
DEV=/dev/$MOD
# shellcheck source-path=SCRIPTDIR source=mnsim_tap.sh
. "$(dirname "$0")/mnsim_tap.sh"

loaded() { [ -d "/sys/module/$1" ]; }
refcnt() { cat "/sys/module/$MOD/refcnt" 2>/dev/null || echo none; }

# rmmod_refused NAME MODULE: rmmod fails as "in use" and the module stays.
rmmod_refused() {
	out=$(rmmod "$2" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# /'
	if [ "$rc" != 0 ] && loaded "$2" && [ -c "$DEV" ] &&
	   echo "$out" | grep -qiE 'in use|temporarily unavailable|busy'; then
		tap OK "$1"
	else
		echo "# rmmod $2: exit status $rc"
		tap FAIL "$1"
	fi
}

# hold [PID]: start mnsim_hold in the background; HOLDER is its pid.
hold() {
	rm -f /tmp/mnsim_hold.out
	mnsim_hold "$@" >/tmp/mnsim_hold.out 2>&1 &
	HOLDER=$!
	i=0
	while ! grep -q bound /tmp/mnsim_hold.out 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || { cat /tmp/mnsim_hold.out; return 1; }
		usleep 20000
	done
}

unhold() {
	kill "$HOLDER" 2>/dev/null
	wait "$HOLDER" 2>/dev/null
}

ko=$(awk -v m="$MOD" '$2 == m { print "/lib/mnsim/" $1 }' /etc/mnsim/modules 2>/dev/null)

echo "TAP version 13"
if ! loaded "$MOD" || [ ! -c "$DEV" ] || [ -z "$ko" ] || [ ! -f "$ko" ]; then
	echo "1..0 # SKIP $MOD not loaded from /etc/mnsim/modules (vm-run.sh)"
	exit 4
fi
echo "1..14"

r0=$(refcnt)
exec 3<>"$DEV"
r1=$(refcnt)
exec 4<>"$DEV"
r2=$(refcnt)
exec 4>&-
r3=$(refcnt)
echo "# refcnt: $r0 closed, $r1 one open, $r2 two, $r3 one again"
check refcnt.per_open [ "$r0$r1$r2$r3" = 0121 ]
rmmod_refused rmmod.busy_open "$MOD"
exec 3>&-

if hold; then
	rmmod_refused rmmod.busy_bound "$MOD"
else
	tap FAIL rmmod.busy_bound
fi
unhold

# Bound to a process that then exits: still open, still in use.
sleep 60 &
target=$!
if hold "$target"; then
	kill "$target"
	wait "$target" 2>/dev/null
	rmmod_refused rmmod.busy_bound_exited "$MOD"
else
	kill "$target"
	tap FAIL rmmod.busy_bound_exited
fi
unhold

rmmod_refused rmmod.lib_in_use "$LIB"
check refcnt.all_closed [ "$(refcnt)" = 0 ]

out=$(rmmod "$MOD" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check rmmod.idle [ "$rc" = 0 ]
check rmmod.gone sh -c "! [ -d /sys/module/$MOD ]"
i=0
while [ -e "$DEV" ] && [ "$i" -lt 50 ]; do
	i=$((i + 1))
	usleep 20000
done
check node.gone [ ! -e "$DEV" ]

# A default_capacity outside 1..SEC_TLB_MAX_CAPACITY: the load fails with
# EINVAL (mnsim_init()) and leaves neither the module nor its node.
for cap in 0 2097152; do
	out=$(insmod "$ko" default_capacity=$cap 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# /'
	ok=0
	if [ "$rc" != 0 ] && echo "$out" | grep -qi 'invalid' &&
	   ! loaded "$MOD" && [ ! -e "$DEV" ]; then
		ok=1
	fi
	check "insmod.bad_default_capacity_$cap" [ "$ok" = 1 ]
done

out=$(insmod "$ko" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check insmod.again [ "$rc" = 0 ]
i=0
while [ ! -c "$DEV" ] && [ "$i" -lt 100 ]; do
	i=$((i + 1))
	usleep 20000
done
# The reloaded module works: open, bind, hold, release.
if hold; then
	r=$(refcnt)
	unhold
	check reloaded.works [ "$r$(refcnt)" = 10 ]
else
	unhold
	tap FAIL reloaded.works
fi
rmmod_refused rmmod.lib_in_use_again "$LIB"

tap_done
