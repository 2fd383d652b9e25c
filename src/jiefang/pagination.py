"""One page of a filtered SELECT, with the total count of matches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func
from sqlalchemy.orm import Session

from jiefang.schemas import Page, PageParams

T = TypeVar("T")


def paginate(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    page: PageParams,
    order_by: Sequence[Any],
    convert: Callable[[Any], T],
    whole_rows: bool = False,
) -> Page[T]:
    """Return the page of ``stmt`` ordered by ``order_by``, each result passed through ``convert``.

    Results are the first column of each row unless ``whole_rows`` (then the Row itself).
    """
    count = stmt.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
    total = session.scalar(count) or 0
    query = stmt.order_by(*order_by).offset(page.offset).limit(page.page_size)
    rows = session.execute(query) if whole_rows else session.scalars(query)
    return Page(items=[convert(r) for r in rows], total=total, page=page.page, page_size=page.page_size)
