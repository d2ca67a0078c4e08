"""Image recommendations. Most need a human: these checks gather the evidence."""
from __future__ import annotations

import datetime

from bench.check import check, image_name, info, warned

DANGLING = "<none>:<none>"


def _dangling(image) -> bool:
    tags = [t for t in image.get("RepoTags") or [] if t != DANGLING]
    return not tags


@check("images-trusted-sources", title="Images come from trusted sources (evidence)", needs=("images",),
       rationale=("An image from an unknown publisher runs its code on the host with whatever "
                  "access the container has; images should come from registries and publishers "
                  "the operator trusts."),
       references=("https://docs.docker.com/build/building/best-practices/#choose-the-right-base-image",
                   "https://docs.docker.com/engine/security/trust/"))
def images_trusted_sources(facts):
    """Always INFO: counts the images (the top-level image list), names the registries in their tags
    (docker.io where a tag names none) and how many carry a RepoDigest (pulled from a registry)
    rather than being built or imported locally, for a human to confirm each source."""
    images = facts.images.items
    registries = sorted({_registry(t) for i in images for t in i.get("RepoTags") or [] if t != DANGLING})
    pinned = sum(1 for i in images if i.get("RepoDigests"))
    return info(f"{len(images)} images from {', '.join(registries) or 'no registry'}; {pinned} have a registry "
                "digest (pulled), the rest were built or imported here. Confirm each source is trusted.")


def _registry(tag: str) -> str:
    first = tag.split("/", 1)[0]
    if "/" in tag and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


@check("images-minimal", title="Images hold only what they need (evidence)", needs=("images",),
       rationale=("Every package in an image is code that can carry vulnerabilities or help an "
                  "intruder; a minimal image has less to exploit and less to patch."),
       references=("https://docs.docker.com/build/building/best-practices/",
                   "https://docs.docker.com/build/building/multi-stage/"))
def images_minimal(facts):
    """Always INFO: counts the images and names the ten largest with their size, for a human to
    review what each contains (the audit runs nothing inside containers or images)."""
    images = sorted(facts.images.items, key=lambda i: -(i.get("Size") or 0))
    largest = ", ".join(f"{image_name(i)} {(i.get('Size') or 0) // 1_000_000} MB" for i in images[:10])
    return info(f"{len(images)} images; largest: {largest or 'none'}. Review the packages in each "
                "(the audit does not run commands inside containers).")


@check("images-rebuilt", title="Images are rebuilt with security updates (evidence)", needs=("images",),
       rationale=("Images are frozen at build time, so fixes to their base and packages arrive "
                  "only by rebuilding; old images keep carrying known vulnerabilities."),
       references=("https://docs.docker.com/build/building/best-practices/#rebuild-your-images-often",))
def images_rebuilt(facts):
    """Always INFO: from each image's Created time, counts the images built more than 90 days ago
    and names up to ten of them, oldest first, as a prompt to rebuild on patched bases."""
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    aged = sorted(((now - (i.get("Created") or now)) / 86400, image_name(i)) for i in facts.images.items)
    old = [f"{name} ({int(days)} days)" for days, name in reversed(aged) if days > 90]
    if not aged:
        return info("no images")
    shown = ", ".join(old[:10]) + (f" and {len(old) - 10} more" if len(old) > 10 else "")
    return info(f"{len(aged)} images; {len(old)} built more than 90 days ago{': ' + shown if old else ''}. "
                "Rebuild them on patched base images.")


SPRAWL_IMAGES = 100


@check("images-sprawl", title="Unused and dangling images are kept in check", needs=("images", "containers"),
       rationale=("Piles of unused images waste disk space and keep old, vulnerable software on "
                  "the host where it can be started by mistake; regular pruning keeps the "
                  "inventory reviewable."),
       references=("https://docs.docker.com/engine/manage-resources/pruning/",
                   "https://docs.docker.com/reference/cli/docker/image/prune/"))
def images_sprawl(facts):
    """Counts the images, those used by the inspected containers (running ones unless --all), the
    unused ones and the dangling ones (no tag); more than 100 images WARNs, otherwise INFO."""
    images = facts.images.items
    used = {c.inspect.get("Image") for c in facts.containers.items}
    in_use = sum(1 for i in images if i.get("Id") in used)
    dangling = sum(1 for i in images if _dangling(i))
    scope = "all containers" if facts.containers.scope == "all" else "running containers (use --all to count stopped ones)"
    text = (f"{len(images)} images, {in_use} used by {scope}, {len(images) - in_use} unused, "
            f"{dangling} dangling")
    if len(images) > SPRAWL_IMAGES:
        return warned(f"{text}: more than {SPRAWL_IMAGES} images")
    return info(text)
