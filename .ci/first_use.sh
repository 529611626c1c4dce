#!/usr/bin/env bash
# The README's two commands as a new user runs them, one after the other, in a fresh
# virtual environment, with the package used from outside the repository in between
# and after (issue 13, finding 1: caches written into site-packages by the first
# install used to shadow the editable install of the second command).
#
#   bash .ci/first_use.sh "<the README's test command>" ["<a command to run after>"]
#
# The test command runs inside the fresh environment: this is CI's test run. The
# optional second command runs last, in the same environment, from the repository.
set -euo pipefail
test_command=$1
after_command=${2:-}
repo=$(pwd)
outside=$(mktemp -d)
python -m venv "$outside/venv"
# shellcheck disable=SC1091
. "$outside/venv/bin/activate"
cd "$outside"  # a user's own folder: nothing of the repository on sys.path

use_installed() {  # $1: the folder the package must be imported from
  python - "$1" <<'PY'
import os
import sys

import mtlreg
from mtlreg import GroupLassoRegressor
from mtlreg.datasets import load_school

expected = os.path.realpath(sys.argv[1])
assert os.path.realpath(mtlreg.__file__).startswith(expected), (mtlreg.__file__, expected)
X, y = load_school(return_X_y=True)
model = GroupLassoRegressor(alpha=1.0, task_column=0).fit(X, y)
print(f"first use outside the repository: {mtlreg.__file__}, coef_ {model.coef_.shape}")
PY
}

no_caches_in_site_packages() {
  local site
  site=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  if find "$site" -path '*mtlreg*' \( -name '*.nbi' -o -name '*.nbc' \) | grep -q .; then
    echo "numba cache files were written inside site-packages" >&2
    exit 1
  fi
}

echo "== README command 1, then the package used from outside the repository"
(cd "$repo" && pip install -q . && mtlreg-demo)
use_installed "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
no_caches_in_site_packages

echo "== README command 2 (the tests), in the same environment"
(cd "$repo" && eval "$test_command")

echo "== after both: import (the editable install) and demo from outside the repository"
use_installed "$repo"
mtlreg-demo > /dev/null
no_caches_in_site_packages
echo "first use: OK"

if [ -n "$after_command" ]; then
  (cd "$repo" && eval "$after_command")
fi
