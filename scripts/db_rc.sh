#!/bin/sh
# db_rc.sh: every db_* function that db/db.h declares as returning enum
# db_rc is compared against the enum's names (DB_OK, DB_ERROR, ...), not
# against a number, in db/, server/ and test/: "db_commit(...) == -1",
# "(t = db_cert_get(...)) == 1", "assert_int_equal(db_audit(...), 0)",
# "!db_commit(...)" and "if (db_commit(...))" are reported with their
# file and line.  Comments and strings are left out.  A result kept in a
# variable and compared or switched on later is not followed: declare
# the variable as enum db_rc.  Exits non-zero if anything is found.
set -eu
cd "$(dirname "$0")/.."

funcs=$(sed -n 's/^enum db_rc[	 ]*\(db_[a-z0-9_]*\)(.*/\1/p' db/db.h |
    paste -sd '|' -)
[ -n "$funcs" ] || { echo "db_rc.sh: no enum db_rc function in db/db.h" >&2
	exit 1; }
find db server test -name '*.c' | sort | FUNCS=$funcs perl -e '
	my $f = qr/\b(?:$ENV{FUNCS})/;
	my $args = qr/(\((?:[^()]++|(?-1))*\))/;
	my ($calls, $files, $bad) = (0, 0, 0);
	while (my $path = <STDIN>) {
		chomp $path;
		open(my $fh, "<", $path) or die "$path: $!\n";
		local $/;
		my $s = <$fh>;
		close $fh;
		# Blank out comments, strings and characters; keep the lines.
		$s =~ s{/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\x27(?:\\.|[^\x27\\\n])*\x27}
		    {my $m = $&; $m =~ tr/\n//cd; $m}gse;
		my $n = () = $s =~ /$f\s*\(/g;
		next if $n == 0;
		$calls += $n;
		$files++;
		while ($s =~ /(?:$f\s*$args\s*\)?\s*(?:[=!<>]=|<|>)\s*-?\d
		    |assert_int_(?:not_)?equal\(\s*$f\s*$args\s*,\s*-?\d
		    |!\s*$f\s*\(
		    |\b(?:if|while)\s*\(\s*$f\s*$args\s*\))/xg) {
			my ($at, $what) = ($-[0], $&);
			my $line = 1 + (() = substr($s, 0, $at) =~ /\n/g);
			$what =~ s/\s+/ /g;
			print "$path:$line: $what\n";
			$bad++;
		}
	}
	if ($bad) {
		print "$bad db_* status(es) compared against a number\n";
		exit 1;
	}
	print "every db_* status is compared against its enum db_rc name " .
	    "($calls calls in $files files)\n";
'
