"""A reified message: what a receiver was sent and did not understand."""
from __future__ import annotations

import time
from typing import Any

from persistent import Persistent


class Message(Persistent):
    """Receiver, selector and arguments of one send, with the time it was sent.

    Persistent so failure records and generation logs can keep it; it is only
    written to the image when something stores it.
    """

    def __init__(self, receiver: Any, selector: str, arguments: list[Any]) -> None:
        self.receiver = receiver
        self.selector = selector
        self.arguments = list(arguments)
        self.time = time.time()

    @property
    def name(self) -> str:
        """The Python name of the selector (``at:put:`` → ``at_put_``)."""
        from batos.image.selectors import selector_to_name
        return selector_to_name(self.selector)

    def __repr__(self) -> str:
        return f"<Message #{self.selector} {self.arguments!r}>"
