"""The address space tree, custom properties and claims: checks, changes and their history.

Rules of the tree: a block is a prefix; a range is ``start``-``end``; both sit inside a parent
block or at the top. A child lies inside its parent; siblings (blocks and ranges under the
same parent) never overlap. So two ranges never overlap anywhere, and an address belongs to
at most one range. Each rule broken is a 422 naming the field, and nothing is changed.

Every change records a history entry in its own transaction: ``ipam-block``, ``ipam-range``
(by id), ``ipam-property`` (by name) and ``ipam-claim`` (``RANGE:ADDRESS``).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.core.db import now
from central.core.deps import Principal
from central.history.service import record
from central.ipam import addresses as ad
from central.ipam.addresses import Span
from central.ipam.models import (
    IpamBlock,
    IpamClaim,
    IpamDiscoverySchedule,
    IpamProperty,
    IpamRange,
)
from central.ipam.schemas import (
    BlockBody,
    BlockChange,
    BlockPublic,
    ClaimPublic,
    PropertyBody,
    PropertyChange,
    PropertyPublic,
    RangeBody,
    RangeChange,
    RangePublic,
)
from services.common.errors import ConflictError, FieldProblem, NotFoundError, ValidationError

#: Checks of the tree and the change they allow are one step: two changes at once in this
#: process could each pass the overlap check before the other is written.
TREE_LOCK = threading.Lock()


def block_span(block: IpamBlock) -> Span:
    return Span(block.family, ad.from_key(block.first_key), ad.from_key(block.last_key))


def range_span(rng: IpamRange) -> Span:
    return Span(rng.family, ad.from_key(rng.first_key), ad.from_key(rng.last_key))


def get_block(db: Session, block_id: int, field: str = "block_id") -> IpamBlock:
    block = db.get(IpamBlock, block_id)
    if block is None:
        raise NotFoundError(f"There is no IPAM block {block_id}.", field=field)
    return block


def get_range(db: Session, range_id: int) -> IpamRange:
    rng = db.get(IpamRange, range_id)
    if rng is None:
        raise NotFoundError(f"There is no IPAM range {range_id}.", field="range_id")
    return rng


def get_property(db: Session, name: str) -> IpamProperty:
    found = db.scalar(select(IpamProperty).where(IpamProperty.name == name))
    if found is None:
        raise NotFoundError(f"There is no IPAM property {name!r}.", field="property_name")
    return found


def block_public(block: IpamBlock) -> dict[str, Any]:
    return BlockPublic.model_validate(block).model_dump(mode="json")


def range_public(rng: IpamRange) -> dict[str, Any]:
    return RangePublic.model_validate(rng).model_dump(mode="json")


def claim_public(claim: IpamClaim) -> dict[str, Any]:
    return ClaimPublic.model_validate(claim).model_dump(mode="json")


# --- the tree's rules ----------------------------------------------------------------------------
def _parent(db: Session, parent_id: int | None, field: str) -> IpamBlock | None:
    if parent_id is None:
        return None
    parent = db.get(IpamBlock, parent_id)
    if parent is None:
        raise ValidationError(f"There is no IPAM block {parent_id}.", field=field)
    return parent


def check_place(
    db: Session, span: Span, parent: IpamBlock | None, field: str,
    *, block_id: int | None = None, range_id: int | None = None,
) -> None:  # fmt: skip
    """422 naming ``field`` unless ``span`` lies inside ``parent`` and overlaps no sibling
    (``block_id``/``range_id``: the object itself, when it is being changed)."""
    if parent is not None and not block_span(parent).contains(span):
        raise ValidationError(
            f"{span.describe()} lies outside its parent block {parent.id} ({parent.prefix})",
            field=field,
        )
    parent_id = parent.id if parent is not None else None
    first, last = ad.key(span.first), ad.key(span.last)
    blocks = select(IpamBlock).where(
        IpamBlock.family == span.family, IpamBlock.first_key <= last, IpamBlock.last_key >= first,
        IpamBlock.parent_id.is_(None) if parent_id is None else IpamBlock.parent_id == parent_id,
    )  # fmt: skip
    if block_id is not None:
        blocks = blocks.where(IpamBlock.id != block_id)
    clash = db.scalars(blocks.limit(1)).first()
    if clash is not None:
        raise ValidationError(
            f"{span.describe()} overlaps its sibling block {clash.id} ({clash.prefix})",
            field=field,
        )
    ranges = select(IpamRange).where(
        IpamRange.family == span.family, IpamRange.first_key <= last, IpamRange.last_key >= first,
        IpamRange.block_id.is_(None) if parent_id is None else IpamRange.block_id == parent_id,
    )  # fmt: skip
    if range_id is not None:
        ranges = ranges.where(IpamRange.id != range_id)
    other = db.scalars(ranges.limit(1)).first()
    if other is not None:
        raise ValidationError(
            f"{span.describe()} overlaps its sibling range {other.id} ({other.start}-{other.end})",
            field=field,
        )


def _check_holds_children(db: Session, block: IpamBlock, span: Span) -> None:
    """422 (``prefix``) when a changed block would no longer hold all its children."""
    for child in db.scalars(select(IpamBlock).where(IpamBlock.parent_id == block.id)):
        if not span.contains(block_span(child)):
            raise ValidationError(
                f"{ad.prefix_text(span)} would not hold its child block {child.id} "
                f"({child.prefix})", field="prefix",
            )  # fmt: skip
    for rng in db.scalars(select(IpamRange).where(IpamRange.block_id == block.id)):
        if not span.contains(range_span(rng)):
            raise ValidationError(
                f"{ad.prefix_text(span)} would not hold its range {rng.id} "
                f"({rng.start}-{rng.end})", field="prefix",
            )  # fmt: skip


# --- properties --------------------------------------------------------------------------------
def _property_value(definition: IpamProperty, value: Any) -> str | None:
    """Why ``value`` does not suit the property, or None when it does."""
    kind = definition.kind
    if kind == "text":
        ok = isinstance(value, str) and len(value) <= 1000
        return None if ok else "takes text (at most 1,000 characters)"
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "takes a number"
    if kind == "boolean":
        return None if isinstance(value, bool) else "takes true or false"
    if value not in definition.choices:
        return f"takes one of {', '.join(repr(c) for c in definition.choices)}"
    return None


def merge_properties(
    db: Session, current: dict[str, Any], changes: dict[str, Any]
) -> dict[str, Any]:
    """``current`` with ``changes`` applied (``None`` removes); every unknown property and
    wrong value is a problem naming ``properties.NAME``."""
    definitions = {p.name: p for p in db.scalars(select(IpamProperty))}
    merged = dict(current)
    problems = []
    for name, value in changes.items():
        field = f"properties.{name}"
        definition = definitions.get(name)
        if definition is None:
            known = ", ".join(sorted(definitions)) or "none yet"
            problems.append(
                FieldProblem(field, f"no property {name!r} is defined (known: {known})")
            )
        elif value is None:
            merged.pop(name, None)
        elif (reason := _property_value(definition, value)) is not None:
            problems.append(FieldProblem(field, f"{name} {reason}"))
        else:
            merged[name] = value
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ValidationError(f"{problems[0].field}: {problems[0].message}{more}",
                              problems=problems)  # fmt: skip
    return merged


def _uses(db: Session, name: str) -> list[tuple[str, int, Any]]:
    """Every block and range that sets the property ``name``, with its value."""
    found: list[tuple[str, int, Any]] = []
    for kind, model in (("block", IpamBlock), ("range", IpamRange)):
        for row_id, values in db.execute(select(model.id, model.properties)):
            if isinstance(values, dict) and name in values:
                found.append((kind, row_id, values[name]))
    return found


def create_property(db: Session, user: Principal, body: PropertyBody) -> IpamProperty:
    choices = list(dict.fromkeys(body.choices))
    if body.kind == "choice" and not choices:
        raise ValidationError("a choice property needs its choices", field="choices")
    if body.kind != "choice" and choices:
        raise ValidationError(f"a {body.kind} property takes no choices", field="choices")
    if db.scalar(select(IpamProperty.id).where(IpamProperty.name == body.name)) is not None:
        raise ValidationError(f"the property {body.name!r} exists already", field="name")
    prop = IpamProperty(name=body.name, kind=body.kind, choices=choices,
                        description=body.description, created_at=now())  # fmt: skip
    db.add(prop)
    db.flush()
    record(db, user, "ipam-property", prop.name, "create",
           after=PropertyPublic.model_validate(prop).model_dump(mode="json"),
           comment=body.comment)  # fmt: skip
    db.commit()
    return prop


def change_property(
    db: Session, user: Principal, prop: IpamProperty, body: PropertyChange
) -> IpamProperty:
    before = PropertyPublic.model_validate(prop).model_dump(mode="json")
    if body.choices is not None:
        choices = list(dict.fromkeys(body.choices))
        if prop.kind != "choice":
            raise ValidationError(f"a {prop.kind} property takes no choices", field="choices")
        if not choices:
            raise ValidationError("a choice property needs its choices", field="choices")
        stranded = [(k, i, v) for k, i, v in _uses(db, prop.name) if v not in choices]
        if stranded:
            kind, row_id, value = stranded[0]
            raise ValidationError(
                f"{len(stranded)} objects use a value no longer offered ({kind} {row_id} has "
                f"{value!r}): change them first", field="choices",
            )  # fmt: skip
        prop.choices = choices
    if body.description is not None:
        prop.description = body.description
    record(db, user, "ipam-property", prop.name, "update", before=before,
           after=PropertyPublic.model_validate(prop).model_dump(mode="json"),
           comment=body.comment)  # fmt: skip
    db.commit()
    return prop


def delete_property(db: Session, user: Principal, prop: IpamProperty, comment: str) -> None:
    uses = _uses(db, prop.name)
    if uses:
        kind, row_id, _value = uses[0]
        raise ConflictError(
            f"{len(uses)} blocks and ranges set the property {prop.name!r} ({kind} {row_id} "
            "among them): remove it from them first", field="property_name",
        )  # fmt: skip
    before = PropertyPublic.model_validate(prop).model_dump(mode="json")
    db.delete(prop)
    record(db, user, "ipam-property", prop.name, "delete", before=before, comment=comment)
    db.commit()


# --- blocks ------------------------------------------------------------------------------------
def create_block(db: Session, user: Principal, body: BlockBody) -> IpamBlock:
    span = ad.parse_prefix(body.prefix, "prefix")
    with TREE_LOCK:
        parent = _parent(db, body.parent_id, "parent_id")
        check_place(db, span, parent, "prefix")
        properties = merge_properties(db, {}, body.properties)
        moment = now()
        block = IpamBlock(
            parent_id=body.parent_id, family=span.family, prefix=ad.prefix_text(span),
            first_key=ad.key(span.first), last_key=ad.key(span.last), name=body.name,
            description=body.description, properties=properties, created_at=moment,
            updated_at=moment,
        )  # fmt: skip
        db.add(block)
        db.flush()
        record(db, user, "ipam-block", block.id, "create", after=block_public(block),
               comment=body.comment)  # fmt: skip
        db.commit()
    return block


def change_block(db: Session, user: Principal, block: IpamBlock, body: BlockChange) -> IpamBlock:
    before = block_public(block)
    with TREE_LOCK:
        if body.prefix is not None:
            span = ad.parse_prefix(body.prefix, "prefix")
            check_place(db, span, _parent(db, block.parent_id, "parent_id"), "prefix",
                        block_id=block.id)  # fmt: skip
            _check_holds_children(db, block, span)
            block.family, block.prefix = span.family, ad.prefix_text(span)
            block.first_key, block.last_key = ad.key(span.first), ad.key(span.last)
        if body.properties is not None:
            block.properties = merge_properties(db, block.properties, body.properties)
        if body.name is not None:
            block.name = body.name
        if body.description is not None:
            block.description = body.description
        block.updated_at = now()
        record(db, user, "ipam-block", block.id, "update", before=before,
               after=block_public(block), comment=body.comment)  # fmt: skip
        db.commit()
    return block


def delete_block(db: Session, user: Principal, block: IpamBlock, comment: str) -> None:
    with TREE_LOCK:
        children = db.scalar(select(func.count()).where(IpamBlock.parent_id == block.id)) or 0
        ranges = db.scalar(select(func.count()).where(IpamRange.block_id == block.id)) or 0
        if children or ranges:
            raise ConflictError(
                f"Block {block.id} holds {children} blocks and {ranges} ranges: delete them "
                "first.", field="block_id",
            )  # fmt: skip
        before = block_public(block)
        db.delete(block)
        record(db, user, "ipam-block", block.id, "delete", before=before, comment=comment)
        db.commit()


def next_free_block(db: Session, block: IpamBlock, length: int) -> Span | None:
    """The lowest prefix of ``length`` in ``block`` that no child block or range overlaps."""
    span = block_span(block)
    bits = ad.BITS[span.family]
    own = bits - (span.size.bit_length() - 1)
    if not own <= length <= bits:
        raise ValidationError(
            f"prefix_length must be {own} to {bits} in block {block.id} ({block.prefix})",
            field="prefix_length",
        )
    children = [block_span(b) for b in db.scalars(select(IpamBlock).where(
        IpamBlock.parent_id == block.id))]  # fmt: skip
    children += [range_span(r) for r in db.scalars(select(IpamRange).where(
        IpamRange.block_id == block.id))]  # fmt: skip
    return ad.next_free_prefix(span, length, children)


# --- ranges ------------------------------------------------------------------------------------
def _check_holds_claims(db: Session, rng: IpamRange, span: Span) -> None:
    outside = db.scalar(
        select(func.count()).where(
            IpamClaim.range_id == rng.id,
            or_(IpamClaim.key < ad.key(span.first), IpamClaim.key > ad.key(span.last)),
        )
    )
    if outside:
        raise ValidationError(
            f"{outside} claimed addresses of range {rng.id} would lie outside "
            f"{span.describe()}: release them first", field="start",
        )  # fmt: skip


def create_range(db: Session, user: Principal, body: RangeBody) -> IpamRange:
    span = ad.parse_range(body.start, body.end)
    with TREE_LOCK:
        parent = _parent(db, body.block_id, "block_id")
        check_place(db, span, parent, "start")
        properties = merge_properties(db, {}, body.properties)
        moment = now()
        rng = IpamRange(
            block_id=body.block_id, family=span.family, start=ad.text(span.family, span.first),
            end=ad.text(span.family, span.last), first_key=ad.key(span.first),
            last_key=ad.key(span.last), name=body.name, description=body.description,
            properties=properties, created_at=moment, updated_at=moment,
        )  # fmt: skip
        db.add(rng)
        db.flush()
        record(db, user, "ipam-range", rng.id, "create", after=range_public(rng),
               comment=body.comment)  # fmt: skip
        db.commit()
    return rng


def change_range(db: Session, user: Principal, rng: IpamRange, body: RangeChange) -> IpamRange:
    before = range_span(rng), range_public(rng)
    with TREE_LOCK:
        if body.start is not None or body.end is not None:
            span = ad.parse_range(body.start or rng.start, body.end or rng.end)
            check_place(db, span, _parent(db, rng.block_id, "block_id"), "start",
                        range_id=rng.id)  # fmt: skip
            _check_holds_claims(db, rng, span)
            rng.family, rng.start = span.family, ad.text(span.family, span.first)
            rng.end = ad.text(span.family, span.last)
            rng.first_key, rng.last_key = ad.key(span.first), ad.key(span.last)
        if body.properties is not None:
            rng.properties = merge_properties(db, rng.properties, body.properties)
        if body.name is not None:
            rng.name = body.name
        if body.description is not None:
            rng.description = body.description
        rng.updated_at = now()
        record(db, user, "ipam-range", rng.id, "update", before=before[1],
               after=range_public(rng), comment=body.comment)  # fmt: skip
        db.commit()
    return rng


def delete_range(db: Session, user: Principal, rng: IpamRange, comment: str) -> None:
    claims = db.scalar(select(func.count()).where(IpamClaim.range_id == rng.id)) or 0
    if claims:
        raise ConflictError(
            f"Range {rng.id} has {claims} claimed addresses: release them first.",
            field="range_id",
        )
    schedules = db.scalar(
        select(func.count()).where(IpamDiscoverySchedule.range_id == rng.id)
    ) or 0  # fmt: skip
    if schedules:
        raise ConflictError(f"Range {rng.id} is swept by {schedules} discovery schedules: "
                            "delete them first.", field="range_id")  # fmt: skip
    before = range_public(rng)
    db.delete(rng)
    record(db, user, "ipam-range", rng.id, "delete", before=before, comment=comment)
    db.commit()


# --- claims ------------------------------------------------------------------------------------
def claim_id(range_id: int, address: str) -> str:
    return f"{range_id}:{address}"


def range_address(rng: IpamRange, address: str, field: str = "address") -> int:
    """The integer of ``address``; 422 naming ``field`` unless it lies in the range."""
    family, value = ad.parse_address(address, field)
    if family != rng.family or not range_span(rng).holds(value):
        raise ValidationError(
            f"{address} is not in range {rng.id} ({rng.start}-{rng.end})", field=field
        )
    return value


def try_claim(
    db: Session, user: Principal, range_id: int, family: int, value: int, owner: str,
    comment: str,
) -> IpamClaim | None:  # fmt: skip
    """Claim ``value`` and record it in one transaction; None when someone holds it already
    (the unique (range, key) constraint refused it: nothing was written)."""
    # End the reading transaction first: the insert then waits for the write lock (SQLite's
    # busy timeout) instead of failing to upgrade a snapshot another writer has moved past.
    db.commit()
    address = ad.text(family, value)
    claim = IpamClaim(range_id=range_id, address=address, key=ad.key(value), owner=owner,
                      comment=comment, claimed_by=user.username, created_at=now())  # fmt: skip
    db.add(claim)
    try:
        db.flush()
        record(db, user, "ipam-claim", claim_id(range_id, address), "create",
               after=claim_public(claim), comment=comment)  # fmt: skip
        db.commit()
    except IntegrityError:
        db.rollback()
        return None
    return claim


def claim(
    db: Session, user: Principal, rng: IpamRange, address: str, owner: str, comment: str
) -> IpamClaim:
    value = range_address(rng, address)
    made = try_claim(db, user, rng.id, rng.family, value, owner, comment)
    if made is None:
        held = db.scalar(select(IpamClaim).where(IpamClaim.range_id == rng.id,
                                                 IpamClaim.key == ad.key(value)))  # fmt: skip
        who = f" by {held.owner or held.claimed_by}" if held is not None else ""
        raise ConflictError(f"{ad.text(rng.family, value)} is claimed already{who}.",
                            field="address")  # fmt: skip
    return made


def find_claim(db: Session, rng: IpamRange, address: str) -> IpamClaim:
    value = range_address(rng, address)
    found = db.scalar(select(IpamClaim).where(IpamClaim.range_id == rng.id,
                                              IpamClaim.key == ad.key(value)))  # fmt: skip
    if found is None:
        raise NotFoundError(f"{address} is not claimed in range {rng.id}.", field="address")
    return found


def release(db: Session, user: Principal, rng: IpamRange, address: str, comment: str) -> None:
    found = find_claim(db, rng, address)
    before = claim_public(found)
    db.delete(found)
    rng.releases = (rng.releases or 0) + 1
    record(db, user, "ipam-claim", claim_id(rng.id, found.address), "delete", before=before,
           comment=comment)  # fmt: skip
    db.commit()
