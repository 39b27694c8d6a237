# Where `make tools` keeps the pinned tools (tools/build-tools.sh: <cache>/<component>-<version>/bin), for every
# profile's scripts. Needs $root. The directories are read once, when this file is sourced.
# shellcheck shell=bash

TOOL_DIRS="$("${root:?}/tools/build-tools.sh" --print-dirs)"

# tool_dir COMPONENT: that component's bin directory (it may not be built yet); empty and non-zero for an unknown one.
tool_dir() {
  local line
  while IFS= read -r line; do
    if [[ $line == "$1="* ]]; then
      echo "${line#*=}"
      return 0
    fi
  done <<<"$TOOL_DIRS"
  return 1
}
