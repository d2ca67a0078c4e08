"""A busy host as recorded facts: the hardened host's two containers copied into many, with names
like Docker's own (adjective_scientist), some very long, and findings of several kinds."""
from __future__ import annotations

import copy
from typing import Any, Callable

from helpers import hardened_data

ADJECTIVES = ("beautiful", "admiring", "brave", "clever", "dazzling", "eager", "festive", "gallant", "hopeful",
              "jolly", "keen", "loving", "modest", "nifty", "optimistic", "pensive", "quirky", "relaxed")
NAMES = ("hopper", "turing", "lovelace", "curie", "darwin", "euler", "fermi", "galileo", "hawking", "kepler",
         "lamport", "noether", "pascal", "ritchie", "shannon", "thompson", "wozniak")
LONG = "payments-api-worker-with-a-rather-long-deployment-name-eu-west-1-canary"


def container_name(n: int, long_names: bool) -> str:
    if long_names and n % 10 == 3:
        return f"{LONG}-{n:04d}"
    return f"{ADJECTIVES[n % len(ADJECTIVES)]}_{NAMES[(n * 7) % len(NAMES)]}{n}"


Container = dict[str, Any]


def container_copies(data: dict[str, Any], count: int, name: Callable[[int, Container], str]) -> list[Container]:
    """`count` containers copied round-robin from those of `data`, each with an id and a name of its own."""
    base = data["containers"]["items"]
    items = []
    for n in range(count):
        item = copy.deepcopy(base[n % len(base)])
        item["id"] = f"{n:064x}"
        item["name"] = name(n, item)
        items.append(item)
    return items


def busy_host(count: int = 100, long_names: bool = True) -> dict[str, Any]:
    """`count` running containers: every one privileged but the first three (5.4: 97 of 100), no
    memory limit on every third (5.10), and no read-only root filesystem for the long-named ones."""
    data = hardened_data()
    items = container_copies(data, count, lambda n, _: container_name(n, long_names))
    for n, item in enumerate(items):
        config = item["inspect"]["HostConfig"]
        config["Privileged"] = n >= 3
        if n % 3 == 0:
            config["Memory"] = 0
        if long_names and n % 10 == 3:
            config["ReadonlyRootfs"] = False
    data["containers"]["items"] = items
    data["host"]["hostname"] = "busy-host"
    return data
