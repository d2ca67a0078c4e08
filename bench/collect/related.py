"""What the audited containers point at and the Engine API describes: the containers whose
namespaces they share (--network/--pid/--ipc container:X) and the local volumes they mount, whose
options can bind a host directory. Each is asked for once."""
from __future__ import annotations


from bench.engine_api.errors import describe_api_error, is_not_found
from bench.engine_api.session import EngineSession
from bench.container_values import find_container as _find, shared_with
from bench.facts import ContainerFacts, ContainersFacts
from bench.redact import redact_inspect, redact_volume

def collect_related(session: EngineSession, facts: ContainersFacts) -> None:
    """Add the referenced containers and the local volumes to `facts` (in place)."""
    pending = [ref for c in facts.items for ref in shared_with(c.inspect)]
    while pending:
        ref = pending.pop()
        if _find(facts.items + facts.referenced, ref) is not None:
            continue
        referenced = _inspect(session, ref)
        facts.referenced.append(referenced)
        pending += shared_with(referenced.inspect)  # it may share another's, the host's at the end
    volumes = sorted({str(m.get("Name")) for c in facts.items for m in c.inspect.get("Mounts") or []
                      if m.get("Type") == "volume" and m.get("Driver") == "local" and m.get("Name")})
    for name in volumes:
        try:
            facts.volumes[name] = redact_volume(session.client().inspect_volume(name))
        except Exception as exc:
            # Left out: the containers mounting it are ERROR on 5.5, saying so.
            facts.notes.append(f"volume {name} could not be inspected: {describe_api_error(exc)}")


def _inspect(session: EngineSession, ref: str) -> ContainerFacts:
    try:
        data = session.client().inspect_container(ref)
    except Exception as exc:
        why = "no such container" if is_not_found(exc) else describe_api_error(exc)
        return ContainerFacts(id=ref, name=ref, error=f"inspect failed: {why}")
    name = str(data.get("Name") or ref).lstrip("/")
    return ContainerFacts(id=str(data.get("Id") or ref), name=name, inspect=redact_inspect(data, in_place=True))
