"""Progress bars for long loops (evaluation, generation): tqdm with an ETA, a widget in notebooks, removed when done
so that no saved notebook keeps a frozen bar."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
MIN_ITEMS = 2  # a loop of one step shows no bar


def progress(items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """`items` with a progress bar (description, rate, ETA) that disappears when the loop ends."""
    from tqdm.auto import tqdm

    total = total if total is not None else (len(items) if hasattr(items, "__len__") else None)  # type: ignore[arg-type]
    if total is not None and total < MIN_ITEMS:
        yield from items
        return
    yield from tqdm(items, desc=desc, total=total, leave=False, dynamic_ncols=True)


def bar(total: int, desc: str):
    """A progress bar (description, rate, ETA) to update by hand, e.g. once per generated token; close it when done
    (it then disappears)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True)
