"""ReadStream and WriteStream over strings and arrays: ``String streamContents: [:s |
s << 'n = '; print: 3]``, ``'a b' readStream upTo: $ ``. Streams are working values,
not image data (they cannot be stored in slots)."""
from __future__ import annotations

from typing import Any

from batos.errors import BatosError
from batos.lang.block import call_block
from batos.lang.protocol import Table, prim
from batos.lang.values import Character, st_class

WRITE_STREAM: Table = {}
READ_STREAM: Table = {}


class WriteStream:
    """Accumulates a String (when made on a string) or an Array."""

    st_class_name = "WriteStream"

    def __init__(self, collection: Any = "", append: bool = False) -> None:
        self.is_string = isinstance(collection, str)
        self.items: list[Any] = []
        if append:
            self.items.extend(str(collection) if self.is_string else list(collection))

    def put(self, item: Any) -> None:
        if self.is_string:
            if type(item) is Character:
                item = chr(item.value)
            elif not isinstance(item, str) or len(item) != 1:
                from batos.lang.printing import print_string
                raise BatosError(f"a String stream only takes Characters, not {print_string(item)}")
        self.items.append(item)

    def put_all(self, items: Any) -> None:
        if self.is_string:
            if not isinstance(items, str):
                from batos.lang.printing import print_string
                raise BatosError(f"nextPutAll: on a String stream takes a String, not "
                                 f"{print_string(items)}; use print: or <<")
            self.items.extend(items)
        else:
            from batos.lang.protocol.sequences import to_list
            self.items.extend(to_list(items))

    def contents(self) -> Any:
        return "".join(self.items) if self.is_string else list(self.items)

    def __repr__(self) -> str:
        return f"<WriteStream {self.contents()!r}>"


class ReadStream:
    """Reads a String (as Characters) or an Array, element by element."""

    st_class_name = "ReadStream"

    def __init__(self, collection: Any) -> None:
        from batos.lang.protocol.sequences import elements
        self.is_string = isinstance(collection, str)
        self.items = list(elements(collection))
        self.position = 0

    def species(self, items: list[Any]) -> Any:
        return "".join(chr(c.value) for c in items) if self.is_string else items

    def __repr__(self) -> str:
        return f"<ReadStream at {self.position}>"


# --- WriteStream ------------------------------------------------------------------------------

@prim(WRITE_STREAM, "nextPut:")
def next_put(self: WriteStream, item: Any) -> Any:
    self.put(item)
    return item


@prim(WRITE_STREAM, "nextPutAll:")
def next_put_all(self: WriteStream, items: Any) -> Any:
    self.put_all(items)
    return items


@prim(WRITE_STREAM, "<<")
def shift(self: WriteStream, value: Any) -> WriteStream:
    """Strings go in as they are, anything else as its displayString."""
    if self.is_string and not isinstance(value, str):
        from batos.lang.printing import display_string
        value = display_string(value)
    self.put_all(value)
    return self


@prim(WRITE_STREAM, "print:")
def print_(self: WriteStream, value: Any) -> WriteStream:
    from batos.lang.printing import print_string
    self.put_all(print_string(value) if self.is_string else [value])
    return self


@prim(WRITE_STREAM, "display:")
def display(self: WriteStream, value: Any) -> WriteStream:
    from batos.lang.printing import display_string
    self.put_all(display_string(value) if self.is_string else [value])
    return self


def _char(text: str) -> Any:
    def put(self: WriteStream, count: Any = 1) -> WriteStream:
        for _ in range(int(count)):
            self.put(text)
        return self
    return put


for _sel, _text in (("space", " "), ("tab", "\t"), ("cr", "\r"), ("lf", "\n")):
    WRITE_STREAM[_sel] = WRITE_STREAM[_sel + ":"] = _char(_text)


@prim(WRITE_STREAM, "contents")
def contents(self: WriteStream) -> Any:
    return self.contents()


@prim(WRITE_STREAM, "isEmpty")
def is_empty(self: WriteStream) -> bool:
    return not self.items


@prim(WRITE_STREAM, "position")
def write_position(self: WriteStream) -> int:
    return len(self.items)


@prim(WRITE_STREAM, "reset")
def reset(self: WriteStream) -> WriteStream:
    self.items.clear()
    return self


# --- ReadStream -------------------------------------------------------------------------------

@prim(READ_STREAM, "atEnd")
def at_end(self: ReadStream) -> bool:
    return self.position >= len(self.items)


@prim(READ_STREAM, "next")
def next_(self: ReadStream) -> Any:
    if at_end(self):
        return None
    item = self.items[self.position]
    self.position += 1
    return item


@prim(READ_STREAM, "next:")
def next_n(self: ReadStream, count: Any) -> Any:
    taken = self.items[self.position:self.position + int(count)]
    self.position += len(taken)
    return self.species(taken)


@prim(READ_STREAM, "peek")
def peek(self: ReadStream) -> Any:
    return None if at_end(self) else self.items[self.position]


@prim(READ_STREAM, "skip:")
def skip(self: ReadStream, count: Any) -> ReadStream:
    self.position = max(0, min(len(self.items), self.position + int(count)))
    return self


@prim(READ_STREAM, "upTo:")
def up_to(self: ReadStream, stop: Any) -> Any:
    from batos.lang.protocol.objects import st_equal
    taken = []
    while not at_end(self):
        item = next_(self)
        if st_equal(item, stop):
            break
        taken.append(item)
    return self.species(taken)


@prim(READ_STREAM, "upToEnd")
def up_to_end(self: ReadStream) -> Any:
    taken = self.items[self.position:]
    self.position = len(self.items)
    return self.species(taken)


@prim(READ_STREAM, "skipSeparators")
def skip_separators(self: ReadStream) -> ReadStream:
    while not at_end(self) and type(peek(self)) is Character and chr(peek(self).value).isspace():
        self.position += 1
    return self


@prim(READ_STREAM, "position")
def position(self: ReadStream) -> int:
    return self.position


@prim(READ_STREAM, "position:")
def set_position(self: ReadStream, value: Any) -> ReadStream:
    if type(value) is not int or not 0 <= value <= len(self.items):
        raise BatosError(f"position {value!r} is outside the stream (0 to {len(self.items)})")
    self.position = value
    return self


@prim(READ_STREAM, "reset")
def read_reset(self: ReadStream) -> ReadStream:
    self.position = 0
    return self


@prim(READ_STREAM, "contents")
def read_contents(self: ReadStream) -> Any:
    return self.species(self.items)


@prim(READ_STREAM, "do:")
def read_do(self: ReadStream, block: Any) -> ReadStream:
    while not at_end(self):
        call_block(block, next_(self))
    return self


# --- class side and conversions -----------------------------------------------------------------

def stream_contents(cls: Any, block: Any) -> Any:
    """``String streamContents: [:s | ...]`` (``Array streamContents:`` for arrays)."""
    stream = WriteStream("" if cls.name in ("String", "ByteString", "Symbol") else [])
    call_block(block, stream)
    return stream.contents()


def _define_class_side() -> None:
    write, read = st_class("WriteStream"), st_class("ReadStream")
    write.define("on:", lambda cls, coll: WriteStream(coll))
    write.define("with:", lambda cls, coll: WriteStream(coll, append=True))
    read.define("on:", lambda cls, coll: ReadStream(coll))
    for name in ("String", "Array", "OrderedCollection"):
        st_class(name).define("streamContents:", stream_contents)


_define_class_side()


def extra_chains(obj: Table) -> dict[type, list[Table]]:
    return {WriteStream: [WRITE_STREAM, obj], ReadStream: [READ_STREAM, obj]}


__all__ = ["WriteStream", "ReadStream", "WRITE_STREAM", "READ_STREAM", "stream_contents",
           "extra_chains"]
