"""Where images come from and whether containers run the image their tag names now (CIS v1.6.0+
4.12 and 5.28): evidence for a human, as the registry's side cannot be seen from the Engine API."""
from __future__ import annotations

import re

from bench.check import check, container_check, image_name, info

_IMAGE_ID = re.compile(r"^(?:sha256:)?[0-9a-f]{12,64}$")


@check("manual-signed-artifacts", title="Signed artifacts are verified before use (evidence)", needs=("images",),
       wants=("containers",),
       rationale=("A signature ties an image to its publisher; verifying it before the image runs stops "
                  "a tampered or substituted image, which a tag alone cannot."),
       references=("https://docs.docker.com/engine/security/trust/", "https://docs.sigstore.dev/cosign/verifying/verify/",
                   "https://notaryproject.dev/docs/"))
def manual_signed_artifacts(facts):
    """Always INFO: counts the images that came from a registry (they carry a RepoDigest) and those
    built or imported here, and the audited containers that name their image by digest. Whether
    signatures were verified is not recorded by the Engine: Docker Content Trust
    (DOCKER_CONTENT_TRUST=1) is being retired by Docker, and signature verification with cosign or
    Notation, in the pipeline or an admission or image-verification policy, replaces it."""
    images = facts.images.items
    pulled = sum(1 for i in images if i.get("RepoDigests"))
    text = (f"{len(images)} images: {pulled} from a registry (with a digest), {len(images) - pulled} built or "
            "imported here")
    if not facts.containers.unavailable() and facts.containers.items:
        pinned = sum(1 for c in facts.containers.items if "@sha256:" in str(lookup_image(c.inspect)))
        text += f"; {pinned} of {len(facts.containers.items)} containers name their image by digest"
    return info(f"{text}. The Engine does not record whether signatures were verified: verify them with "
                "cosign or Notation before use (Docker Content Trust is being retired by Docker)")


def lookup_image(inspect: dict) -> str:
    config = inspect.get("Config") or {}
    return str(config.get("Image") or "")


def _tagged(facts) -> dict:
    """Tag -> the image it names, made once per audit (not once per container)."""
    if "image_tags" not in facts.derived:
        facts.derived["image_tags"] = {t: i for i in facts.images.items for t in i.get("RepoTags") or []}
    return facts.derived["image_tags"]


def familiar(reference: str) -> str:
    """A reference as `docker images` shows its tag: docker.io/library/busybox -> busybox:latest."""
    name = reference
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            if name.startswith("library/") and name.count("/") == 1:
                name = name[len("library/"):]
            break
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


@container_check("manual-latest-images", title="Containers run the image their tag names now (evidence)",
                 needs=("images",),
                 rationale=("A container keeps the image it was created from. When the tag has moved on (a "
                            "newer pull or build), the container still runs the old image, with the fixes the "
                            "new one brought missing, until it is recreated."),
                 references=("https://docs.docker.com/reference/cli/docker/image/pull/",
                             "https://docs.docker.com/build/building/best-practices/#pin-base-image-versions"))
def manual_latest_images(container, facts):
    """Always INFO, per container: the image reference it was created with (Config.Image) and the
    image it runs (Image), against what that tag names on this host now. Says when the tag has moved
    to another image (recreate the container to run it), is gone, or when the container names its
    image by digest or id. Whether the registry has a newer image cannot be seen from the Engine."""
    reference = lookup_image(container.inspect)
    running = str(container.get("Image", ""))
    short = running.replace("sha256:", "")[:12]
    if "@" in reference:
        return info(f"pinned by digest ({reference.split('@', 1)[1][:19]}...): runs exactly that image")
    if not reference or (_IMAGE_ID.match(reference) and running.replace("sha256:", "").startswith(
            reference.replace("sha256:", ""))):
        return info(f"created from image id {short}, not a tag")
    tag = familiar(reference)
    current = _tagged(facts).get(tag)
    if current is None:
        return info(f"{tag} names no image here any more; the container runs {short}")
    if current.get("Id") == running:
        return info(f"{tag} still names the image it runs ({short})")
    return info(f"{tag} now names image {image_name({'Id': current.get('Id')})}; the container still runs "
                f"{short}: recreate it to run what the tag names")
