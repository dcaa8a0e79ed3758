#!/usr/bin/env bash
# The long fuzz run: 10,000 Hypothesis examples per fuzz test: spec dicts and JSON, run
# options, CLI argv (including --flag=VALUE forms), damaged trace files, session JSON and
# trace metadata (ten tests; about 10 minutes on two cores). CI runs the same tests with the
# quick "core" profile (tests/conftest.py).
#
#   tools/fuzz_long.sh            # log to stdout
#   tools/fuzz_long.sh > /tmp/fuzz_long.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
python -m pytest tests/test_fuzz.py --hypothesis-profile=long -q -p no:cacheprovider \
    --hypothesis-show-statistics "$@"
echo "fuzz_long: $(( $(date +%s) - start )) s"
