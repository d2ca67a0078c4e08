"""File checks with logic: the API socket's owner depends on how the daemon was configured."""
from __future__ import annotations

from bench.check import Item, Status, check, daemon_view, errored, rollup, skipped


@check("file-docker-sock-owner", title="The API socket is owned by root and the docker group",
       needs=("files", "daemon", "docker_group"),
       rationale=("Access to the socket is full control of the daemon and so root on the host; it "
                  "must belong to root and be shared only with the one group meant to hold that "
                  "power."),
       references=("https://docs.docker.com/reference/cli/dockerd/#daemon-socket-option",
                   "https://docs.docker.com/engine/install/linux-postinstall/",
                   "https://man7.org/linux/man-pages/man7/unix.7.html"))
def docker_sock_owner(facts):
    """Stats each unix socket the API is served on: the ones the daemon's process holds (read from
    the host's /proc; with socket activation the unit's), else the ones its configuration declares
    (unix:// entries of `hosts`, by default /var/run/docker.sock). It PASSes when the socket is
    owned by uid 0 and by the group dockerd gives it: the `group` option, a name or a numeric gid
    as dockerd looks it up (default docker), or root when the option is empty or there is no
    docker group; for a rootless daemon it must belong to the daemon's own uid. No socket SKIPs;
    unknown socket locations or an unstat-able socket are ERROR."""
    files = facts.files
    if "api-socket" not in files.locations:
        # The collector drops a role it cannot locate (daemon configuration unknown): not knowing
        # where the socket is is an error, not "no socket here" (that is an empty list).
        return errored(f"cannot tell where the API socket is: {files.notes.get('api-socket', 'not located')}")
    view = daemon_view(facts)
    group = view.group() if not view.config.error else None
    named = {facts.docker_group.name: facts.docker_group.gid} if facts.docker_group.exists else {}
    gid = group.gid(named) if group is not None else None
    wanted = (group.value or "root") if group is not None else "docker"
    rootless = view.rootless
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
            # Without the docker group dockerd leaves the socket root:root: stricter still.
            ok = file.uid == 0 and (file.gid == gid or grp == wanted
                                    or (file.gid == 0 and wanted == "docker" and not facts.docker_group.exists))
            expected = f"root:{wanted}" + (f" (gid {gid})" if gid not in (None, 0) and str(gid) != wanted else "")
        items.append(Item(path, Status.PASS if ok else Status.FAIL, shown if ok else f"{shown}, expected {expected}"))
    return rollup("file-docker-sock-owner", items, none=skipped("no API socket exists on this host"))
