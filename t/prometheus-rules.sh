#!/bin/bash
# t/prometheus-rules.sh - the alerting rules in etc/prometheus: "promtool
# check rules" on them, and "promtool test rules" on
# t/prometheus/rblmilter-rules-test.yml, where each alert fires on
# made-up series and stays quiet on its near misses.  promtool comes
# with Debian's prometheus package; without it the test is skipped (exit
# 77), except in CI (CI=true), where it fails.
#
# Prints "ok: ..." or "FAIL: ..." lines; exits 1 on any failure.
set -u
top=${srcdir:-.}
rules=$top/etc/prometheus/rblmilter-rules.yml
tests=$top/t/prometheus/rblmilter-rules-test.yml

if ! command -v promtool >/dev/null; then
	if [ "${CI:-}" = true ]; then
		echo "FAIL: promtool is missing (apt-get install prometheus)"
		exit 1
	fi
	echo "skip: promtool is missing (apt-get install prometheus)"
	exit 77
fi

failed=0
if out=$(promtool check rules "$rules" 2>&1); then
	echo "ok: promtool check rules: $(grep -o '[0-9]* rules found' <<<"$out")"
else
	echo "FAIL: promtool check rules $rules"
	echo "$out"
	failed=1
fi
alerts=$(grep -c '^ *- alert:' "$rules")
tested=$(grep -o 'alertname: [A-Za-z]*' "$tests" | sort -u | wc -l)
[ "$tested" -eq "$alerts" ] ||
	{ echo "FAIL: $alerts alerts, $tested of them tested"; failed=1; }
if out=$(promtool test rules "$tests" 2>&1); then
	echo "ok: promtool test rules: each of the $alerts alerts fires"
else
	echo "FAIL: promtool test rules $tests"
	echo "$out"
	failed=1
fi
exit "$failed"
