"""File checks with logic: the API socket's owner depends on how the daemon was configured."""
from __future__ import annotations

from bench.check import Item, Status, check, daemon_config, errored, rollup, skipped


@check("file-docker-sock-owner", title="The API socket is owned by root and the docker group",
       needs=("files", "daemon", "docker_group"),
       rationale=("Access to the socket is full control of the daemon and so root on the host; it "
                  "must belong to root and be shared only with the one group meant to hold that "
                  "power."),
       references=("https://docs.docker.com/reference/cli/dockerd/#daemon-socket-option",
                   "https://docs.docker.com/engine/install/linux-postinstall/",
                   "https://man7.org/linux/man-pages/man7/unix.7.html"))
def docker_sock_owner(facts):
    """Stats each existing unix socket the daemon listens on (unix:// entries of `hosts`, by default
    /var/run/docker.sock; for fd:// the ListenStream paths of docker.socket). It PASSes when the
    socket is owned by uid 0 and by the group the daemon's `group` option names (default docker),
    or by root:root when /etc/group has no such group; for a rootless daemon it must belong to
    the daemon's own uid. No socket SKIPs; unknown socket locations (daemon configuration
    unknown) or an unstat-able socket are ERROR."""
    files = facts.files
    if "api-socket" not in files.locations:
        # The collector drops a role it cannot locate (daemon configuration unknown): not knowing
        # where the socket is is an error, not "no socket here" (that is an empty list).
        return errored(f"cannot tell where the API socket is: {files.notes.get('api-socket', 'not located')}")
    config = daemon_config(facts)
    group = str(config.value("group") or "docker") if not config.error else "docker"
    rootless = facts.daemon.rootless
    items = []
    for path in files.locations["api-socket"]:
        file = files.files.get(path)
        if file is None or file.error:
            items.append(Item(path, Status.ERROR, file.error if file else "not examined"))
            continue
        if not file.exists:
            continue
        owner, grp = file.owner or str(file.uid), file.group or str(file.gid)
        shown = f"owner {owner}:{grp}"
        if rootless:
            ok = file.uid == facts.daemon.uid
            expected = f"the rootless daemon's user (uid {facts.daemon.uid})"
        else:
            # Without a docker group dockerd makes the socket root:root: stricter still.
            ok = file.uid == 0 and (grp == group or (file.gid == 0 and not facts.docker_group.exists))
            expected = f"root:{group}"
        items.append(Item(path, Status.PASS if ok else Status.FAIL, shown if ok else f"{shown}, expected {expected}"))
    return rollup("file-docker-sock-owner", items, none=skipped("no API socket exists on this host"))

