#!/usr/bin/env bash
# Tests _tools/setup.sh the way a fresh machine meets it: each case runs the
# script with a PATH that holds only the basic commands it uses plus stubs of
# go/node/npm/python3/apt-get, so cfn-lint and chromium are really absent and
# nothing is downloaded (pip and apt-get are stubs that succeed or fail on cue).
# Run by `make test` before anything is compiled; takes about a second.
set -euo pipefail
here=$(cd "${0%/*}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# base: the real commands setup.sh needs, and nothing else.
base=$work/base
mkdir -p "$base"
for cmd in bash sh env head tail grep mktemp rm mkdir cat true chmod dirname; do
  ln -s "$(command -v "$cmd")" "$base/$cmd"
done

stub() { # stub DIR NAME BODY: an executable shell script DIR/NAME
  mkdir -p "$1"
  printf '#!%s\n%s\n' "$(command -v bash)" "$3" >"$1/$2"
  chmod +x "$1/$2"
}

# newcase NAME: a fresh stub folder with working go, node 20 and npm.
newcase() {
  case_name=$1
  bin=$work/$1/bin
  venv=$work/$1/venv
  stub "$bin" go 'echo go1.26.8'
  stub "$bin" node 'echo 20'
  stub "$bin" npm 'echo 10.8.2'
}

# run: setup.sh under the case's PATH; sets out and rc.
run() {
  rc=0
  out=$(env -i HOME="$work" PATH="$bin:$base" SETUP_VENV="$venv" "$(command -v bash)" "$here/setup.sh" 2>&1) || rc=$?
}

expect() { # expect RC TEXT...: the exit status and substrings of the output
  local want=$1
  shift
  if [ "$rc" != "$want" ]; then
    echo "FAIL $case_name: exit status $rc, want $want; output:"$'\n'"$out" >&2
    failures=$((failures + 1))
    return
  fi
  for s in "$@"; do
    if [[ $out != *"$s"* ]]; then
      echo "FAIL $case_name: output lacks \"$s\":"$'\n'"$out" >&2
      failures=$((failures + 1))
    fi
  done
}

# Everything present (cfn-lint 1.51 and chromium on PATH): silent success.
newcase all-present
stub "$bin" cfn-lint 'echo "cfn-lint 1.51.0"'
stub "$bin" chromium 'exit 0'
run
expect 0
[ -z "$out" ] || { echo "FAIL all-present: printed $out" >&2; failures=$((failures + 1)); }

# cfn-lint missing and PyPI unreachable; no apt-get: one message that names
# both tools with their commands, exit 2, and no half-made venv left behind.
newcase nothing-installable
stub "$bin" python3 'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin"; printf "#!/bin/sh\necho \"ERROR: Could not find a version that satisfies the requirement cfn-lint==1.51.*\" >&2; exit 1\n" >"$3/bin/pip"; chmod +x "$3/bin/pip"; fi'
run
expect 2 "make test cannot run yet" "installing cfn-lint==1.51.* into" \
  "cfn-lint 1.51 (infra's TestCfnLint) could not be installed" "Could not find a version" \
  "python3 -m pip install --user 'cfn-lint==1.51.*'" \
  "Chromium (the browser test of the emailed link): sudo apt-get install chromium"
[ ! -e "$venv" ] || { echo "FAIL nothing-installable: the failed venv was left at $venv" >&2; failures=$((failures + 1)); }

# cfn-lint of another version on PATH, pip works: the pinned one goes into the
# venv; chromium present. Success, and the venv's cfn-lint is 1.51.
newcase pip-works
stub "$bin" cfn-lint 'echo "cfn-lint 0.87.1"'
stub "$bin" chromium 'exit 0'
stub "$bin" python3 'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin"; printf "#!/bin/sh\nprintf \"#!/bin/sh\\\\necho cfn-lint 1.51.0\\\\n\" >\"\$(dirname \"\$0\")/cfn-lint\"; chmod +x \"\$(dirname \"\$0\")/cfn-lint\"\n" >"$3/bin/pip"; chmod +x "$3/bin/pip"; fi'
run
expect 0 "installing cfn-lint==1.51.* into"
if [ "$("$venv/bin/cfn-lint" --version 2>&1)" != "cfn-lint 1.51.0" ]; then
  echo "FAIL pip-works: no cfn-lint 1.51 in $venv" >&2
  failures=$((failures + 1))
fi
# A second run finds the venv and installs nothing.
run
expect 0
[ -z "$out" ] || { echo "FAIL pip-works (second run): printed $out" >&2; failures=$((failures + 1)); }

# No Python, Node 18, no Go: each is named with its command.
newcase old-machine
rm "$bin/go"
stub "$bin" node 'echo 18'
run
expect 2 "Go 1.26 or newer: https://go.dev/dl/" "Node.js 20 or newer with npm (found: 18)" \
  "needs Python 3 with venv: sudo apt-get install python3-venv"

# Chromium through apt-get: installed when root (or passwordless sudo), named otherwise.
newcase apt
stub "$bin" cfn-lint 'echo "cfn-lint 1.51.0"'
stub "$bin" apt-get 'if [ "$1" = install ]; then printf "#!/bin/sh\nexit 0\n" >"'"$bin"'/chromium"; chmod +x "'"$bin"'/chromium"; fi'
run
if [ "$EUID" = 0 ]; then
  expect 0 "installing Debian's chromium"
  [ -x "$bin/chromium" ] || { echo "FAIL apt: chromium was not installed with apt-get as root" >&2; failures=$((failures + 1)); }
else
  expect 2 "sudo apt-get install chromium"
fi

if [ "$failures" -gt 0 ]; then
  echo "_tools/setup_test.sh: $failures failure(s)" >&2
  exit 1
fi
echo "ok  _tools/setup_test.sh (setup.sh on a machine that lacks tools)"
