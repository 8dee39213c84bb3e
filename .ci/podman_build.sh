# shellcheck shell=bash
# podman_build LOG ARGS...: `podman build ARGS...`, its output in LOG; sourced by .ci/image.sh.
#
# On a host with hybrid cgroups (cgroup v1 controllers plus a cgroup2 mount at
# /sys/fs/cgroup/unified, as systemd's "hybrid" layout and some CI sandboxes have), crun
# refuses to create the container of every RUN step: "cgroups in hybrid mode not
# supported". `--isolation chroot` runs the RUN steps chrooted, with no cgroup of their
# own, and builds the same image, so the build is tried once more that way. Any other
# failure is a failure.
podman_build() {
    local log="$1"
    shift
    if nice -n 10 podman build "$@" >"$log" 2>&1; then
        return 0
    fi
    if grep -q "cgroups in hybrid mode not supported" "$log"; then
        echo "podman_build: this host has hybrid cgroups (crun cannot create RUN steps' containers); building again with --isolation chroot" >&2
        nice -n 10 podman build --isolation chroot "$@" >"$log" 2>&1
        return
    fi
    return 1
}
