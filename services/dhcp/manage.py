"""DHCP objects on a Kea server: scopes, reservations, options, classes, shared networks, settings.

Each operation is an edit applied through ``ConfigEditor`` (get → check → test → set → write);
the checks of ``services.common.dhcp.checks`` run inside the edit, against the configuration
just read from Kea's memory, so a scope added behind Burrow's back is seen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from services.common.dhcp.checks import (
    Problem,
    check_class,
    check_option_def,
    check_options,
    check_properties,
    check_reservations,
    check_scope,
    check_shared_network,
    raise_problems,
)
from services.common.dhcp.contract import (
    ChangeResult,
    ClientClass,
    OptionDef,
    OptionValue,
    Reservation,
    Scope,
    ServerProperties,
    SharedNetwork,
    normal_id,
)
from services.common.dhcp.kea import (
    apply_properties,
    class_from_kea,
    class_to_kea,
    inherited_from,
    iter_subnets,
    option_def_from_kea,
    option_def_to_kea,
    option_to_kea,
    options_from,
    properties_from_config,
    reservation_to_kea,
    reservations_from,
    scope_from_kea,
    scope_to_kea,
    scopes_from_config,
    shared_network_from_kea,
    shared_network_to_kea,
    subnet_key,
)
from services.common.dhcp.options import Family, base_space
from services.common.errors import BurrowError, ConflictError, DaemonError, NotFoundError
from services.dhcp.changes import ConfigEditor
from services.dhcp.refusals import KeaPath, Locate, model_field

Json = dict[str, Any]
log = logging.getLogger(__name__)


def _find_subnet(
    config: Json, family: Family, scope_id: int
) -> tuple[Json, str | None, list[Json]]:
    for entry, network, container in iter_subnets(config, family):
        if entry.get("id") == scope_id:
            return entry, network, container
    raise NotFoundError(f"There is no {family} scope with id {scope_id}.", field="scope_id")


def _container(config: Json, family: Family, network: str | None) -> list[Json]:
    if network is None:
        subnets: list[Json] = config.setdefault(subnet_key(family), [])
        return subnets
    for entry in config.get("shared-networks", []):
        if entry.get("name") == network:
            inner: list[Json] = entry.setdefault(subnet_key(family), [])
            return inner
    raise_problems([Problem("shared_network", f"there is no shared network {network!r}")])
    raise AssertionError("not reached")


#: The highest scope (subnet) id ever given, kept in the daemon's own configuration as a
#: ``user-context`` (Kea keeps it and writes it with the rest): a deleted scope's id is never
#: given again, so an id's history in Central is one scope's.
LAST_ID = "burrow-last-subnet-id"


def _next_id(config: Json, family: Family) -> int:
    highest = max((int(e.get("id", 0)) for e, _n, _c in iter_subnets(config, family)), default=0)
    last = config.get("user-context", {}).get(LAST_ID, 0)
    return max(highest, int(last) if isinstance(last, int) else 0) + 1


def _remember_id(config: Json, family: Family, scope_id: int) -> None:
    """Keep ``scope_id`` as the highest given if it is (see ``LAST_ID``)."""
    context = config.setdefault("user-context", {})
    last = context.get(LAST_ID, 0)
    context[LAST_ID] = max(int(last) if isinstance(last, int) else 0, scope_id)


# --- where Kea's refusals are, in the request's terms (services.dhcp.refusals) -------------
class Edited:
    """The daemon configuration an edit made, kept to resolve the place Kea names."""

    def __init__(self) -> None:
        self.config: Json = {}

    def element(self, path: KeaPath) -> Any:
        """The element at ``path`` below the daemon key (``["Dhcp4", "subnet4", 2]``)."""
        node: Any = self.config
        for part in path[1:]:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        return node


def _scope_part(edited: Edited, family: Family, path: KeaPath) -> tuple[Json, KeaPath] | None:
    """The subnet entry a Kea path is in, and the rest of the path inside it."""
    key = subnet_key(family)
    for length in (3, 5):  # Dhcp4.subnet4[i] or Dhcp4.shared-networks[j].subnet4[i]
        head = path[:length]
        if len(head) == length and head[-2] == key and isinstance(head[-1], int):
            entry = edited.element(head)
            if isinstance(entry, dict):
                return entry, path[length:]
    return None


def _scope_locator(edited: Edited, family: Family, scope_id: Callable[[], int | None]) -> Locate:
    def locate(path: KeaPath) -> str | None:
        found = _scope_part(edited, family, path)
        if found is None or found[0].get("id") != scope_id():
            return None
        return model_field(found[1]) or None

    return locate


def _put(
    items: list[Json], matches: Callable[[Json], bool], entry_of: Callable[[Json | None], Json]
) -> None:
    """Put an object in a top-level list: in place of the one that ``matches`` (the order
    stays; the old entry is the base of the new one) or at the end (no base)."""
    for index, entry in enumerate(items):
        if matches(entry):
            items[index] = entry_of(entry)
            return
    items.append(entry_of(None))


def _item_locator(
    edited: Edited, key: str, matches: Callable[[Json], bool], prefix: str = ""
) -> Locate:
    """For an object of the top-level list ``key`` (classes, shared networks, definitions):
    a place inside the one that ``matches`` is that field of the request."""

    def locate(path: KeaPath) -> str | None:
        if len(path) < 3 or path[1] != key or not isinstance(path[2], int):
            return None
        entry = edited.element(path[:3])
        if not isinstance(entry, dict) or not matches(entry):
            return None
        return model_field(path[3:], prefix) or None

    return locate


class DhcpServer:
    """The DHCP objects of one appliance's Kea daemons (v4 and v6)."""

    def __init__(self, editor: ConfigEditor) -> None:
        self.editor = editor

    # --- scopes ----------------------------------------------------------------
    def scopes(self, family: Family) -> list[Scope]:
        return scopes_from_config(self.editor.read(family), family)

    def scope(self, family: Family, scope_id: int) -> Scope:
        config = self.editor.read(family)
        _find_subnet(config, family, scope_id)
        return next(s for s in scopes_from_config(config, family) if s.id == scope_id)

    def create_scope(self, family: Family, scope: Scope) -> tuple[Scope, ChangeResult]:
        created: list[Scope] = []
        edited = Edited()

        def edit(config: Json) -> None:
            edited.config = config
            check_scope(scope, config, family, replacing=None)
            scope_id = scope.id or _next_id(config, family)
            new = scope.model_copy(update={"id": scope_id})
            _container(config, family, scope.shared_network).append(scope_to_kea(new))
            _remember_id(config, family, scope_id)
            created.append(new)

        locate = _scope_locator(edited, family, lambda: created[0].id if created else None)
        result = self.editor.apply(family, edit, field="subnet", locate=locate)
        return created[0], result

    def update_scope(self, family: Family, scope_id: int, scope: Scope) -> ChangeResult:
        edited = Edited()

        def edit(config: Json) -> None:
            edited.config = config
            entry, network, container = _find_subnet(config, family, scope_id)
            new = scope.model_copy(update={"id": scope_id})
            check_scope(new, config, family, replacing=scope_id)
            rendered = scope_to_kea(new, base=entry)
            if network == scope.shared_network:
                container[container.index(entry)] = rendered
            else:
                container.remove(entry)
                _container(config, family, scope.shared_network).append(rendered)

        locate = _scope_locator(edited, family, lambda: scope_id)
        return self.editor.apply(family, edit, field="subnet", locate=locate)

    def delete_scope(self, family: Family, scope_id: int) -> ChangeResult:
        """Remove a scope, then its leases.

        Leases left behind would fail Kea's lease sanity check (a warning for each of them)
        every time the lease file is read, which ``config-set`` does.
        """

        def edit(config: Json) -> None:
            entry, _network, container = _find_subnet(config, family, scope_id)
            container.remove(entry)
            _remember_id(config, family, scope_id)

        result = self.editor.apply(family, edit)
        command = "lease4-wipe" if family == "v4" else "lease6-wipe"
        try:
            self.editor.kea.command(command, family, {"subnet-id": scope_id})
        except DaemonError as exc:  # the scope is gone either way; say so in the log
            log.warning("the leases of scope %s stay: %s", scope_id, exc)
        return result

    # --- reservations ---------------------------------------------------------
    def add_reservation(
        self, family: Family, scope_id: int, reservation: Reservation
    ) -> ChangeResult:
        edited = Edited()
        at: list[int] = []

        def edit(config: Json) -> None:
            edited.config = config
            entry, network, container = _find_subnet(config, family, scope_id)
            current = _editable_reservations(scope_from_kea(entry, network))
            if any(r.identifier == reservation.identifier for r in current.reservations):
                kind, value = reservation.identifier
                raise ConflictError(
                    f"The scope {current.subnet} already has a reservation for {value}.",
                    field=kind,
                )
            index = len(current.reservations)
            at.append(index)
            updated = current.model_copy(
                update={"reservations": [*current.reservations, reservation]}
            )
            try:
                check_scope(updated, config, family, replacing=scope_id)
            except Exception as exc:
                _rename_reservation_fields(exc, index)
                raise
            container[container.index(entry)] = scope_to_kea(updated, base=entry)

        def locate(path: KeaPath) -> str | None:
            found = _scope_part(edited, family, path)
            if found is None or found[0].get("id") != scope_id or not at:
                return None
            rest = found[1]
            if rest[:2] != ["reservations", at[0]]:
                return None
            return model_field(rest[2:]) or None

        kind = reservation.identifier[0]
        return self.editor.apply(family, edit, field=kind, locate=locate)

    def delete_reservation(
        self, family: Family, scope_id: int, kind: str, value: str
    ) -> ChangeResult:
        def edit(config: Json) -> None:
            entry, network, container = _find_subnet(config, family, scope_id)
            current = _editable_reservations(scope_from_kea(entry, network))
            keep = [r for r in current.reservations if r.identifier != (kind, normal_id(value))]
            if len(keep) == len(current.reservations):
                raise NotFoundError(f"No reservation for {value} in {current.subnet}.", field=kind)
            updated = current.model_copy(update={"reservations": keep})
            container[container.index(entry)] = scope_to_kea(updated, base=entry)

        return self.editor.apply(family, edit)

    def put_reservation(
        self, family: Family, scope_id: int, kind: str, value: str, reservation: Reservation
    ) -> ChangeResult:
        """Replace the scope's reservation for ``kind``/``value`` (or add it)."""
        if reservation.identifier != (kind, normal_id(value)):
            raise_problems([Problem(kind, "differs from the identifier in the path")])
        edited = Edited()

        def edit(config: Json) -> None:
            edited.config = config
            entry, network, container = _find_subnet(config, family, scope_id)
            current = _editable_reservations(scope_from_kea(entry, network))
            mine = [r.identifier == reservation.identifier for r in current.reservations]
            kept = list(current.reservations)
            if True in mine:
                kept[mine.index(True)] = reservation
            else:
                kept.append(reservation)
            updated = current.model_copy(update={"reservations": kept})
            try:
                check_scope(updated, config, family, replacing=scope_id)
            except Exception as exc:
                _rename_reservation_fields(exc, kept.index(reservation))
                raise
            container[container.index(entry)] = scope_to_kea(updated, base=entry)

        locate = _scope_locator(edited, family, lambda: scope_id)
        return self.editor.apply(family, edit, field=kind, locate=locate)

    # --- global reservations (Kea's top-level ``reservations``) -----------------------
    def global_reservations(self, family: Family) -> list[Reservation]:
        return reservations_from(self.editor.read(family))

    def put_global_reservation(
        self, family: Family, kind: str, value: str, reservation: Reservation
    ) -> ChangeResult:
        """Replace the server's global reservation for ``kind``/``value`` (or add it)."""
        if reservation.identifier != (kind, normal_id(value)):
            raise_problems([Problem(kind, "differs from the identifier in the path")])
        edited = Edited()

        def edit(config: Json) -> None:
            edited.config = config
            entries: list[Json] = config.setdefault("reservations", [])
            current = reservations_from(config)
            mine = [r.identifier == reservation.identifier for r in current]
            kept = list(current)
            if True in mine:
                kept[mine.index(True)] = reservation
            else:
                kept.append(reservation)
            try:
                raise_problems(check_reservations(kept, config, family, None))
            except Exception as exc:
                _rename_reservation_fields(exc, kept.index(reservation))
                raise
            rendered = reservation_to_kea(reservation, family)
            if True in mine:
                entries[mine.index(True)] = rendered
            else:
                entries.append(rendered)

        def locate(path: KeaPath) -> str | None:
            return model_field(path[3:]) or None if path[1:2] == ["reservations"] else None

        return self.editor.apply(family, edit, field=kind, locate=locate)

    def delete_global_reservation(self, family: Family, kind: str, value: str) -> ChangeResult:
        def edit(config: Json) -> None:
            current = reservations_from(config)
            mine = [r.identifier == (kind, normal_id(value)) for r in current]
            if True not in mine:
                raise NotFoundError(f"No global reservation for {value}.", field=kind)
            del config["reservations"][mine.index(True)]

        return self.editor.apply(family, edit)

    # --- global options and option definitions -----------------------------------
    def options(self, family: Family) -> list[OptionValue]:
        return options_from(self.editor.read(family))

    def set_options(self, family: Family, options: list[OptionValue]) -> ChangeResult:
        def edit(config: Json) -> None:
            raise_problems(check_options(options, family, config, "options"))
            config["option-data"] = [option_to_kea(o) for o in options]

        def locate(path: KeaPath) -> str | None:
            return model_field(path[1:]) if path[1:2] == ["option-data"] else None

        return self.editor.apply(family, edit, field="options", locate=locate)

    def option_defs(self, family: Family) -> list[OptionDef]:
        return [option_def_from_kea(d) for d in self.editor.read(family).get("option-def", [])]

    def add_option_def(self, family: Family, definition: OptionDef) -> ChangeResult:
        edited = Edited()
        space_of = definition.space or base_space(family)

        def edit(config: Json) -> None:
            edited.config = config
            raise_problems(check_option_def(definition, family, config))
            space = definition.space or base_space(family)
            rendered = option_def_to_kea(definition, family)
            _put(config.setdefault("option-def", []),
                 lambda d: d.get("code") == definition.code and d.get("space", "") == space,
                 lambda _entry: rendered)  # fmt: skip

        locate = _item_locator(
            edited, "option-def",
            lambda d: d.get("code") == definition.code and d.get("space", space_of) == space_of,
        )  # fmt: skip
        return self.editor.apply(family, edit, field="code", locate=locate)

    def delete_option_def(self, family: Family, space: str, code: int) -> ChangeResult:
        def edit(config: Json) -> None:
            defs = config.get("option-def", [])
            keep = [d for d in defs if not (d["code"] == code and d.get("space") == space)]
            if len(keep) == len(defs):
                raise NotFoundError(f"No option definition {code} in space {space}.", field="code")
            config["option-def"] = keep

        return self.editor.apply(family, edit, field="code")

    # --- client classes -------------------------------------------------------
    def classes(self, family: Family) -> list[ClientClass]:
        return [class_from_kea(c) for c in self.editor.read(family).get("client-classes", [])]

    def put_class(self, family: Family, cls: ClientClass) -> ChangeResult:
        edited = Edited()

        def named(entry: Json) -> bool:
            return entry.get("name") == cls.name

        def edit(config: Json) -> None:
            edited.config = config
            check_class(cls, config, family)
            _put(config.setdefault("client-classes", []), named,
                 lambda entry: class_to_kea(cls, family, base=entry))  # fmt: skip

        locate = _item_locator(edited, "client-classes", named)
        return self.editor.apply(family, edit, field="test", locate=locate)

    def delete_class(self, family: Family, name: str) -> ChangeResult:
        def edit(config: Json) -> None:
            classes = config.get("client-classes", [])
            if not any(c.get("name") == name for c in classes):
                raise NotFoundError(f"There is no client class {name!r}.", field="name")
            for entry, _network, _container in iter_subnets(config, family):
                users = [entry.get("client-class")]
                users += [p.get("client-class") for p in entry.get("pools", [])]
                if name in users:
                    raise ConflictError(
                        f"The client class {name!r} is assigned to scope {entry['subnet']}.",
                        field="name",
                    )
            config["client-classes"] = [c for c in classes if c.get("name") != name]

        return self.editor.apply(family, edit)

    # --- shared networks --------------------------------------------------------
    def shared_networks(self, family: Family) -> list[SharedNetwork]:
        config = self.editor.read(family)
        server = inherited_from(config)
        return [shared_network_from_kea(n, server) for n in config.get("shared-networks", [])]

    def put_shared_network(self, family: Family, network: SharedNetwork) -> ChangeResult:
        edited = Edited()

        def matches(entry: Json) -> bool:
            return entry.get("name") == network.name

        def edit(config: Json) -> None:
            edited.config = config
            check_shared_network(network, config, family)
            _put(config.setdefault("shared-networks", []), matches,
                 lambda entry: shared_network_to_kea(network, family, entry))  # fmt: skip

        named = _item_locator(edited, "shared-networks", matches)

        def locate(path: KeaPath) -> str | None:
            if subnet_key(family) in path:
                return None  # about one of its scopes, not the network's own settings
            return named(path)

        return self.editor.apply(family, edit, field="name", locate=locate)

    def delete_shared_network(self, family: Family, name: str) -> ChangeResult:
        def edit(config: Json) -> None:
            networks = config.get("shared-networks", [])
            entry = next((n for n in networks if n.get("name") == name), None)
            if entry is None:
                raise NotFoundError(f"There is no shared network {name!r}.", field="name")
            if entry.get(subnet_key(family)):
                raise ConflictError(
                    f"The shared network {name!r} still has scopes; move or delete them first.",
                    field="name",
                )
            networks.remove(entry)

        return self.editor.apply(family, edit)

    # --- server properties --------------------------------------------------------
    def properties(self, family: Family) -> ServerProperties:
        return properties_from_config(self.editor.read(family), family)

    def set_properties(self, family: Family, props: ServerProperties) -> ChangeResult:
        def edit(config: Json) -> None:
            check_properties(props, config, family)
            current = (config.get("control-socket") or {}).get("socket-name")
            if props.control_socket is not None and props.control_socket != current:
                # The Control Agent and the launcher reach the daemon at this path: moving it
                # here alone would cut the agent off from Kea.
                raise_problems(
                    [Problem("control_socket", f"is fixed by the appliance at {current}")]
                )
            apply_properties(config, props)

        def locate(path: KeaPath) -> str | None:
            name = model_field(path[1:2])
            return name if len(path) >= 2 and name in ServerProperties.model_fields else None

        return self.editor.apply(family, edit, field="properties", locate=locate)


def _editable_reservations(scope: Scope) -> Scope:
    """``scope``, when its reservations are in the model (not kept verbatim in ``extra``)."""
    if scope.extra and "reservations" in scope.extra:
        raise ConflictError(
            f"The reservations of scope {scope.subnet} are kept as Kea has them (raw): Central "
            "cannot read them all; change them in the raw configuration.",
            field="reservations",
        )
    return scope


def _rename_reservation_fields(exc: Exception, index: int) -> None:
    """Errors about ``reservations[i].x`` of a single added reservation name just ``x``."""
    if not isinstance(exc, BurrowError) or not exc.problems:
        return
    prefix = f"reservations[{index}]."
    exc.problems = [
        replace(p, field=p.field.removeprefix(prefix)) if p.field.startswith(prefix) else p
        for p in exc.problems
    ]
    first = exc.problems[0]
    exc.message = f"{first.field}: {first.message}"
    exc.args = (exc.message,)
