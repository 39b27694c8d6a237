# Where `make tools` keeps the pinned tools (tools/build-tools.sh: <cache>/<component>-<version>/bin), for every
# profile's scripts. Needs $root.
# shellcheck shell=bash

# tool_dir COMPONENT: that component's bin directory (it may not be built yet); empty and non-zero for an unknown one.
tool_dir() {
  "${root:?}/tools/build-tools.sh" --print-dirs | sed -n "s/^$1=//p" | grep .
}
