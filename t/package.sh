#!/bin/bash
# The Debian package (debian/), built, linted, installed, run, upgraded,
# removed and purged on this machine:
#  - dpkg-buildpackage -us -uc -b in a copy of the tree (the tree stays
#    clean), twice: the second time with a newer changelog entry and a
#    changed shipped configuration; dpkg-source -b for the source;
#  - lintian on both: no error, and every warning named in
#    debian/README.source;
#  - apt-get install ./rblmilter_*.deb: rblmilter -V, -n with the
#    packaged configuration (0640 root:rblmilter, a conffile), the user,
#    the socket directory in Postfix's chroot, docs and examples;
#  - the configuration pointed at a test rbldnsd: --check rejects
#    127.0.0.2 and passes 127.0.0.1; the packaged unit's ExecStart line
#    starts the daemon, which runs as rblmilter (real and effective uid
#    in /proc: no ps needed);
#  - the second build installed over the first with --force-confold
#    keeps the changed configuration;
#  - remove keeps the configuration, purge removes it and the socket
#    directory, and keeps the user and group rblmilter (rblmilter(8),
#    FILES).
# Needs root (apt-get); skipped (exit 77) when not root, or when the
# package is installed already (etc/setup-debian) or /etc/rblmilter
# exists (etc/setup-source): the test would replace the operator's, and
# its purge would remove the configuration.  Leaves the package purged.  Run by t/run-all.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
RBLMILTER=/usr/sbin/rblmilter
. "$here/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "package: needs root to install the package; skipped"
	exit 77
fi
if dpkg-query -W -f='${db:Status-Abbrev}' rblmilter 2>/dev/null |
    grep -qv '^un'; then
	echo "package: the rblmilter package is installed here; skipped"
	exit 77
fi
if [ -e /etc/rblmilter ]; then
	echo "package: /etc/rblmilter exists (a build from source?); skipped"
	exit 77
fi
lib_setup package 16000
conf=/etc/rblmilter/rblmilter.conf
unit=/lib/systemd/system/rblmilter.service
export DEBIAN_FRONTEND=noninteractive
package_cleanup() {
	if dpkg-query -W -f='${db:Status-Abbrev}' rblmilter 2>/dev/null |
	    grep -qv '^un'; then
		apt-get purge -y -q rblmilter >>"$dir/apt.log" 2>&1
	fi
	lib_cleanup
}
trap package_cleanup EXIT
lib_need dpkg-buildpackage dpkg-source dh lintian rbldnsd

# copy DEST: the source tree, as git has it (tracked files and untracked
# ones not ignored, as in the working tree), or without _build when
# this is no git checkout.
copy() {
	mkdir -p "$1"
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$top" ls-files -z -c -o --exclude-standard |
			(cd "$top" && tar --null -T - -cf -) | tar -xf - -C "$1"
	else
		(cd "$top" && tar --exclude=./_build -cf - .) | tar -xf - -C "$1"
	fi
}
# build DIR: dpkg-buildpackage in DIR/rblmilter; the .deb goes to DIR.
build() {
	(cd "$1/rblmilter" &&
		DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
			dpkg-buildpackage -us -uc -b -Pnocheck) \
		>"$1/build.log" 2>&1 || { cat "$1/build.log"; lib_die "$1: dpkg-buildpackage failed"; }
}
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
lib_check "debian/changelog's version is configure.ac's ($version)" \
	grep -q "^AC_INIT(\[rblmilter\], \[$version\]" "$top/configure.ac"

copy "$dir/src/rblmilter"
(cd "$dir/src" && dpkg-source -b rblmilter >source.log 2>&1) ||
	lib_die "dpkg-source -b failed: $(cat "$dir/src/source.log")"
copy "$dir/b1/rblmilter"
build "$dir/b1"
# The second build: a newer version whose shipped configuration differs.
copy "$dir/b2/rblmilter"
{
	printf 'rblmilter (%s+t1) unstable; urgency=medium\n\n' "$version"
	printf '  * t/package.sh: the upgrade test.\n\n'
	printf ' -- t/package.sh <test@rblmilter.invalid>  %s\n\n' "$(date -R)"
	cat "$top/debian/changelog"
} >"$dir/b2/rblmilter/debian/changelog"
echo "# The upgrade test's line." >>"$dir/b2/rblmilter/etc/rblmilter.conf"
build "$dir/b2"
deb1=$(echo "$dir"/b1/rblmilter_"$version"_*.deb)
deb2=$(echo "$dir"/b2/rblmilter_"$version"+t1_*.deb)
lib_check "two builds: $(basename "$deb1") and $(basename "$deb2")" \
	test -f "$deb1" -a -f "$deb2"
lib_check "the source tree is not dirtied" \
	test ! -e "$top/debian/rblmilter" -a ! -e "$top/debian/files"

# lintian: no error; each warning explained in debian/README.source.
runuser -u nobody -- env HOME="$dir" lintian --tag-display-limit 0 \
	"$deb1" "$dir/src/rblmilter_$version.dsc" >"$dir/lintian.log" 2>&1
sed 's/^/    lintian: /' "$dir/lintian.log" | grep -E '^    lintian: [EW]:'
lib_check "lintian: no error" \
	test "$(grep -c '^E:' "$dir/lintian.log")" -eq 0
explained() {
	local tag
	for tag in $(awk '/^W:/ { print $3 }' "$dir/lintian.log" | sort -u); do
		grep -qw -- "$tag" "$top/debian/README.source" ||
			{ echo "    $tag: not in debian/README.source"; return 1; }
	done
}
lib_check "lintian: each warning explained in debian/README.source" explained

# Install the first build, as README's etc/setup-debian does.
apt-get install -y -q "$deb1" >"$dir/apt.log" 2>&1 ||
	{ cat "$dir/apt.log"; lib_die "apt-get install $deb1 failed"; }
lib_check "installed: $version" \
	test "$(dpkg-query -W -f='${Version}' rblmilter)" = "$version"
lib_check "rblmilter -V: rblmilter $version" \
	test "$("$RBLMILTER" -V)" = "rblmilter $version"
lib_check "rblmilter -c $conf -n" sh -c "$RBLMILTER -c $conf -n >/dev/null"
lib_check "the user and group rblmilter" \
	sh -c 'getent passwd rblmilter >/dev/null && getent group rblmilter >/dev/null'
lib_check "$conf: a conffile" \
	sh -c "dpkg-query -W -f='\${Conffiles}' rblmilter | grep -q ' $conf '"
lib_check "$conf: 640 root:rblmilter" \
	test "$(stat -c '%a %U:%G' "$conf")" = "640 root:rblmilter"
lib_check "$conf: readable by the user rblmilter (SIGHUP)" \
	runuser -u rblmilter -- test -r "$conf"
lib_check "$conf: not readable by others" \
	runuser -u nobody -- test ! -r "$conf"
if getent group postfix >/dev/null; then
	lib_check "/var/spool/postfix/rblmilter: 750 rblmilter:postfix" \
		test "$(stat -c '%a %U:%G' /var/spool/postfix/rblmilter)" = \
		"750 rblmilter:postfix"
fi
if getent group postfix >/dev/null; then
	rmdir /var/spool/postfix/rblmilter
	dpkg-reconfigure rblmilter >>"$dir/apt.log" 2>&1
	lib_check "dpkg-reconfigure makes /var/spool/postfix/rblmilter again" \
		test -d /var/spool/postfix/rblmilter
fi
lib_check "the unit runs /usr/sbin/rblmilter" \
	grep -qx "ExecStart=$RBLMILTER -c $conf" "$unit"
lib_check "docs, examples and manual pages" test -f \
	/usr/share/doc/rblmilter/DEPLOYING.gz -a -f \
	/usr/share/doc/rblmilter/examples/postfix/main.cf -a -f \
	/usr/share/doc/rblmilter/examples/unbound/rblmilter.conf -a -f \
	/usr/share/doc/rblmilter/examples/haproxy/haproxy.cfg -a -f \
	/usr/share/man/man8/rblmilter.8.gz -a -f \
	/usr/share/man/man5/rblmilter.conf.5.gz

# The local change: the test rbldnsd, a milter port of the test's own.
lib_rbldnsd
milter_port=$(lib_port)
awk '/^(dns_servers|dnsbl_sites) =/ { skip = 1; next }
	skip && /^[ \t]/ { next } { skip = 0; print }' "$conf" >"$dir/conf"
cat >>"$dir/conf" <<EOF
# t/package.sh: the local change.
dns_servers = $dns_server
dnsbl_sites = bl.test*3
milter_socket = inet:$milter_port@127.0.0.1
EOF
cat "$dir/conf" >"$conf"
lib_wait_for 5 sh -c "$RBLMILTER -c $conf --check 127.0.0.2 | grep -q action=reject"
lib_check "--check 127.0.0.2: rejected (bl.test)" \
	sh -c "$RBLMILTER -c $conf --check 127.0.0.2 | grep -q 'action=reject reason=dnsbl'"
lib_check "--check 127.0.0.1: passed" \
	sh -c "$RBLMILTER -c $conf --check 127.0.0.1 | grep -q 'action=pass'"

# The daemon, started with the unit's ExecStart line as systemd would
# (RuntimeDirectory=rblmilter: /run/rblmilter made first).
start=$(sed -n 's/^ExecStart=//p' "$unit")
made_run=""
[ -d /run/rblmilter ] || made_run=yes
install -d -m 0755 /run/rblmilter
$start >"$dir/start.log" 2>&1
lib_check "ExecStart: the daemon started (status 0)" test "$?" -eq 0
pid=$(cat /run/rblmilter/rblmilter.pid 2>/dev/null)
[ -n "$pid" ] && lib_pids+=("$pid")
lib_check "the daemon is $RBLMILTER" \
	test "$(readlink "/proc/${pid:-0}/exe")" = "$RBLMILTER"
lib_check "the daemon runs as rblmilter" \
	test "$(awk '/^Uid:/ { print $2, $3 }' "/proc/${pid:-0}/status" 2>/dev/null)" = \
	"$(id -u rblmilter) $(id -u rblmilter)"
lib_check "the daemon listens on $milter_port" lib_listening "$milter_port"
[ -n "$pid" ] && kill -TERM "$pid"
gone() { ! kill -0 "$1" 2>/dev/null; }
lib_check "SIGTERM stops it" lib_wait_for 10 gone "${pid:-0}"
[ -z "$made_run" ] || rm -rf /run/rblmilter

# The upgrade keeps the local change.
apt-get install -y -q -o Dpkg::Options::=--force-confold "$deb2" \
	>>"$dir/apt.log" 2>&1 || { cat "$dir/apt.log"; lib_die "upgrade failed"; }
lib_check "upgraded: $version+t1" \
	test "$(dpkg-query -W -f='${Version}' rblmilter)" = "$version+t1"
lib_check "upgrade: the changed $conf kept" \
	grep -q '^# t/package.sh: the local change' "$conf"
lib_check "upgrade: the new one beside it (.dpkg-dist)" \
	grep -q "^# The upgrade test's line" "$conf.dpkg-dist"
lib_check "upgrade: $conf still 640 root:rblmilter" \
	test "$(stat -c '%a %U:%G' "$conf")" = "640 root:rblmilter"

apt-get remove -y -q rblmilter >>"$dir/apt.log" 2>&1
lib_check "remove: the program is gone" test ! -e "$RBLMILTER"
lib_check "remove: $conf kept" grep -q '^# t/package.sh' "$conf"
apt-get purge -y -q rblmilter >>"$dir/apt.log" 2>&1
lib_check "purge: the package is gone" \
	sh -c "! dpkg-query -W -f='\${db:Status-Abbrev}' rblmilter 2>/dev/null | grep -qv '^un'"
lib_check "purge: /etc/rblmilter is gone" test ! -e /etc/rblmilter
lib_check "purge: /var/spool/postfix/rblmilter is gone" \
	test ! -e /var/spool/postfix/rblmilter
lib_check "purge: the user rblmilter stays" \
	sh -c 'getent passwd rblmilter >/dev/null'
exit "$failed"
