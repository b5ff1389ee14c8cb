"""What every resource does with an operation, and a page of a list."""

from typing import Any, Dict, Generic, Iterator, List, Optional, Tuple, TypeVar

T = TypeVar("T")


class Page(Generic[T]):
    """One page of a list: its items (iterate it), how many there are in all
    (``total_count``, ``total_pages``: page-numbered lists), and the next page, by
    number or by cursor as the API's ``Link`` header says."""

    def __init__(self, data: List[T], headers: Dict[str, str], client: Any) -> None:
        self.data = data
        self._client = client
        count = headers.get("x-total-count")
        pages = headers.get("x-total-pages")
        self.total_count: Optional[int] = int(count) if count else None
        self.total_pages: Optional[int] = int(pages) if pages else None
        self._next = _link(headers.get("link", ""), "next")

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def has_next(self) -> bool:
        return self._next is not None

    def next_page(self) -> "Optional[Page[T]]":
        """The next page, or None after the last."""
        if self._next is None:
            return None
        answer, headers = self._client.request("GET", self._next)
        return Page(answer, headers, self._client)

    def auto_paging_iter(self) -> Iterator[T]:
        """Every item of this page and of each page after it."""
        page: Optional[Page[T]] = self
        while page is not None:
            yield from page.data
            page = page.next_page()


def _link(header: str, rel: str) -> Optional[str]:
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if f'rel="{rel}"' in pieces[1:]:
            return pieces[0].lstrip("<").rstrip(">")
    return None


class Resource:
    """A resource of the API, bound to a client."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def _call(self, operation: str, ids: Tuple[str, ...], params: Dict[str, Any]) -> Any:
        answer, _ = self._client.call(operation, ids, params)
        return answer

    def _list(self, operation: str, ids: Tuple[str, ...], params: Dict[str, Any]) -> Page[Any]:
        answer, headers = self._client.call(operation, ids, params)
        return Page(answer, headers, self._client)
