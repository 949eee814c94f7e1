#!/usr/bin/env bash
# Sets up, or names, what `make test` needs beyond the repository: Go, Node.js
# 20+ with npm, cfn-lint 1.51 (infra's TestCfnLint) and Chromium (the browser
# test of the emailed link). It runs before anything is compiled, so that a
# fresh machine learns in seconds, not after a 7-minute build, what is missing.
#
# What it installs itself, because that is the normal route on a developer's
# machine and needs no privileges:
#   cfn-lint  into the project-local venv .local-tools/venv (gitignored), pinned;
#             the Makefile puts its bin/ first on PATH, infra's test looks there too.
#   chromium  from Debian's apt, only when running as root (CI) or with
#             passwordless sudo, as .ci/run always did.
# Anything else missing stops the run at once with one message that lists each
# missing tool and the command that installs it (exit status 2).
#
# Environment: SETUP_VENV overrides the venv folder (tests use a temporary one).
set -euo pipefail

root=$(cd "${0%/*}/.." && pwd)
venv=${SETUP_VENV:-$root/.local-tools/venv}
cfn_lint_pin='cfn-lint==1.51.*'
cfn_lint_version='cfn-lint 1.51.'
missing=()

say() { printf 'setup: %s\n' "$*" >&2; }
need() { missing+=("$1"); }

# Go: the toolchain of go.mod is fetched by the go command itself if older.
if ! command -v go >/dev/null 2>&1; then
  need "Go 1.26 or newer: https://go.dev/dl/ (or: sudo apt-get install golang-go, if your release has 1.26)"
fi

# Node.js 20+ and npm: the emulators and the CDK CLI (installed by the Makefile from _tools/package-lock.json).
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)
case $node_major in '' | *[!0-9]*) node_major=0 ;; esac
if [ "$node_major" -lt 20 ] || ! command -v npm >/dev/null 2>&1; then
  need "Node.js 20 or newer with npm (found: $(node --version 2>/dev/null || echo none)): https://nodejs.org/en/download (or: sudo apt-get install nodejs npm, if your release has 20+)"
fi

# cfn-lint 1.51: the one on PATH if it is that version, else the project's venv.
has_cfn_lint() { "$1" --version 2>/dev/null | grep -q "^$cfn_lint_version"; }
if command -v cfn-lint >/dev/null 2>&1 && has_cfn_lint cfn-lint; then
  :
elif [ -x "$venv/bin/cfn-lint" ] && has_cfn_lint "$venv/bin/cfn-lint"; then
  :
elif ! command -v python3 >/dev/null 2>&1; then
  need "cfn-lint 1.51 (infra's TestCfnLint) needs Python 3 with venv: sudo apt-get install python3-venv, then make test again (or: python3 -m pip install --user '$cfn_lint_pin')"
else
  say "installing $cfn_lint_pin into ${venv#"$root"/} (first time only, about 30 s; needs PyPI)"
  log=$(mktemp)
  if python3 -m venv "$venv" >"$log" 2>&1 && "$venv/bin/pip" install -q --disable-pip-version-check "$cfn_lint_pin" >>"$log" 2>&1 &&
    has_cfn_lint "$venv/bin/cfn-lint"; then
    rm -f "$log"
  else
    # A half-made venv would be taken for a working one next time.
    rm -rf "$venv"
    need "cfn-lint 1.51 (infra's TestCfnLint) could not be installed into ${venv#"$root"/} ($(tail -n 1 "$log")): python3 -m pip install --user '$cfn_lint_pin' (or make python3 -m venv work: sudo apt-get install python3-venv)"
    rm -f "$log"
  fi
fi

# Chromium: the browser test clicks the emailed link in headless Debian chromium.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  as_root=()
  if [ "$EUID" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  fi
  if command -v apt-get >/dev/null 2>&1 && { [ "$EUID" = 0 ] || [ ${#as_root[@]} -gt 0 ]; }; then
    say "installing Debian's chromium for the browser test (first time only, about 1-2 min)"
    if ! { "${as_root[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq chromium >/dev/null; } ||
      ! command -v chromium >/dev/null 2>&1; then
      need "Chromium (the browser test of the emailed link); apt-get could not install it: sudo apt-get install chromium"
    fi
  else
    need "Chromium (the browser test of the emailed link): sudo apt-get install chromium (on macOS: brew install --cask chromium)"
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  {
    echo "make test cannot run yet; install what is missing, then run make test again:"
    for m in "${missing[@]}"; do echo "  - $m"; done
  } >&2
  exit 2
fi
