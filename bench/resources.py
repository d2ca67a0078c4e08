"""How reports name the resources a finding is about."""
from __future__ import annotations

from typing import Any


def image_name(image: dict[str, Any]) -> str:
    """An image's first tag, else its short id (dangling images have no tag)."""
    tags = [t for t in image.get("RepoTags") or [] if t and t != "<none>:<none>"]
    if tags:
        return tags[0]
    return str(image.get("Id", "?")).replace("sha256:", "")[:12]
