#!/usr/bin/env bash
# Refuse hand-written poll loops in the project's shell scripts: every wait goes through wait_until
# (tools/lib/wait.sh), which treats a failing or empty answer as "not yet" and states its timeout. The rule is
# mechanical: no `sleep` outside tools/lib/wait.sh. Usage: tools/lint-waits.sh [FILE...] (default: every tracked
# shell script). Prints one line per offence and exits 1 when there is any.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if (($#)); then files=("$@"); else
  mapfile -t files < <(git ls-files '*.sh' .ci/run)
fi
status=0
for file in "${files[@]}"; do
  [[ $file == tools/lib/wait.sh ]] && continue
  # Comment lines may speak of sleeping; code may not.
  if hits="$(grep -nE '(^|[^#[:alnum:]_-])sleep([[:space:]]|$|;)' "$file" | grep -vE '^[0-9]+:[[:space:]]*#')"; then
    while IFS= read -r hit; do
      echo "$file:${hit%%:*}: a hand-written wait; use wait_until from tools/lib/wait.sh (errors mean 'not yet', with a timeout)"
    done <<<"$hits"
    status=1
  fi
done
exit "$status"
