#!/usr/bin/env bash
# Milter benchmark (issue 18): see milter_run.py. python3-milter is a Debian package: a python3
# earlier on PATH (pyenv, a venv) may not see it.
set -euo pipefail
python=python3
if [[ -x /usr/bin/python3 ]]; then python=/usr/bin/python3; fi
exec "$python" "$(dirname "$(readlink -f "$0")")/milter_run.py" "$@"
