"""The REPL's core, independent of the terminal: run one input unit, show the outcome.

A :class:`ReplSession` is shared by the interactive prompt (``app.py``) and the
non-interactive pipe mode (:func:`run_batch`). Every statement goes through the
one send path every batos command uses::

    image.execute(lambda: image.evaluate(text), note=text[:200])

so it is one transaction: committed when it succeeds, rolled back on an error or
an interrupt (Ctrl-C raises KeyboardInterrupt in the main thread while a
statement runs; the transaction is aborted and the REPL carries on).
"""
from __future__ import annotations

import contextlib
import logging
import signal
import sys
from typing import IO, Any, Callable, Iterable, Iterator

from rich.console import Console, RenderableType

from batos.repl.config import ReplConfig, timeout_setting
from batos.repl.statements import is_command, iter_units

__all__ = ["ReplSession", "run_batch", "INTERRUPTED"]

log = logging.getLogger("batos.repl")

INTERRUPTED = "interrupted; rolled back"


class _InterruptGuard:
    """While a statement runs, SIGINT raises KeyboardInterrupt (whatever handler an
    embedding application installed) and is remembered: when the statement swallowed
    the exception (it landed in a callback or finalizer, or in code that catches
    everything), :meth:`check` raises it again before the transaction can commit."""

    def __init__(self) -> None:
        self.requested = False

    def _handler(self, signum: int, frame: Any) -> None:
        self.requested = True
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def armed(self) -> Iterator["_InterruptGuard"]:
        self.requested = False
        try:
            old = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread: nothing to install
            yield self
            return
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, old)


class ReplSession:
    """One REPL session over an open image: evaluation, meta commands, output."""

    def __init__(self, image: Any, console: Console, *, config: ReplConfig | None = None,
                 interactive: bool = True) -> None:
        self.image = image
        self.console = console
        self.config = config or ReplConfig()
        self.interactive = interactive
        self.debug = self.config.debug
        self.done = False
        self.failures = 0
        self.statements = 0
        self._transcript_column = 0
        self._guard = _InterruptGuard()
        self.past: Any = None       # a read-only view of the past (:at WHEN), else None
        self._past_exit: contextlib.ExitStack | None = None

    # -- the past (:at WHEN / :now) ------------------------------------------------------
    def prompt_text(self) -> str:
        """``batos> ``, or ``batos@2026-12-02 15:04> `` in a view of the past."""
        if self.past is None:
            return "batos> "
        when = str((getattr(self.past, "when", None) or {}).get("when", "past"))
        return f"batos@{when[:16]}> "

    def enter_past(self, when: str) -> Any:
        """Look at the image as of ``when`` (batos.image.past.open_at); answer the view."""
        from batos.image import past
        stack = contextlib.ExitStack()
        view = stack.enter_context(past.open_at(self.image, when))
        self.leave_past()
        self.past, self._past_exit = view, stack
        return view

    def leave_past(self) -> bool:
        """Back to the present; True when a view of the past was open."""
        stack, self._past_exit, self.past = self._past_exit, None, None
        if stack is None:
            return False
        stack.close()
        return True

    # -- dispatch ---------------------------------------------------------------------
    def handle(self, text: str) -> bool:
        """Run one input unit (a meta command or BST statements); True when it succeeded."""
        text = text.strip()
        if not text:
            return True
        if is_command(text):
            from batos.repl.commands import run_command
            ok = run_command(self, text)
        else:
            ok = self.run_statement(text)
        if not ok:
            self.failures += 1
        return ok

    # -- statements --------------------------------------------------------------------
    def run_statement(self, text: str) -> bool:
        """Evaluate ``text`` as one transaction and echo its printString (or the error)."""
        self.statements += 1
        image = self.image

        view = self.past

        def action() -> tuple[str, bool]:
            from batos.lang.prose import is_prose
            with self.transcript(), self.generation():
                if view is not None:    # :at WHEN: read-only, nothing is saved
                    value = _in_past(view, text)
                    prose = is_prose(value)
                    shown = value if prose else view.print_string(value)
                else:
                    value = image.evaluate(text, filename="<repl>")
                    prose = is_prose(value)     # an ask: answer: shown as text
                    shown = value if prose else image.print_string(value)
            self._guard.check()     # interrupted but swallowed: roll back, never commit
            return shown, prose

        saved = dict(image.workspace)   # a failed unit leaves the workspace as it was too
        try:
            try:
                with self._guard.armed():
                    shown, prose = image.execute(action, note=text[:200],
                                                 save=view is None,
                                                 timeout=timeout_setting(self.config))
            except BaseException:
                image.workspace.clear()
                image.workspace.update(saved)
                raise
        except KeyboardInterrupt:
            self._rolled_back()
            if not self.interactive:
                raise               # a pipe run stops at Ctrl-C (exit 130)
            return False
        except Exception as exc:
            from batos.errors import Interrupted
            if isinstance(exc, Interrupted):
                self._rolled_back()
            else:
                self.show_error(exc, text)
            return False
        self.show_value(shown, prose=prose)
        return True

    def peek(self, source: str, use: Callable[[Any], Any] | None = None, *,
             present: bool = False) -> Any:
        """Evaluate ``source`` and roll back, workspace included (for :inspect, :source,
        :audit): ``use`` is called with the value inside the same transaction and its
        result returned. In a view of the past (``:at``) ``source`` is evaluated there,
        unless ``present``."""
        image = self.image
        view = None if present else self.past

        def action() -> Any:
            with self.transcript(), self.generation():
                value = (_in_past(view, source) if view is not None
                         else image.evaluate(source, filename="<repl>"))
                result = use(value) if use is not None else value
            self._guard.check()
            return result

        saved = dict(image.workspace)
        try:
            with self._guard.armed():
                return image.execute(action, note=f"peek {source[:190]}", save=False,
                                     timeout=timeout_setting(self.config))
        finally:
            image.workspace.clear()
            image.workspace.update(saved)

    def _rolled_back(self) -> None:
        try:
            self.image.abort()
        finally:
            self._end_transcript_line()
            if self.interactive:
                self.console.print(f"[yellow]{INTERRUPTED}[/yellow]")
            else:
                self.console.print(f"ERROR: {INTERRUPTED}", markup=False, highlight=False)

    # -- output ------------------------------------------------------------------------
    def show_value(self, shown: str, *, prose: bool = False) -> None:
        """Echo a result: a printString (highlighted as BST), or prose as plain text."""
        self._end_transcript_line()
        if self.interactive and not prose:
            from batos.repl.render import highlight
            self.console.print(highlight(shown), soft_wrap=True)
        else:
            from batos.guardian.hygiene import printable  # escapes reach no terminal
            self.console.print(printable(shown), markup=False, highlight=False, soft_wrap=True)

    def show_error(self, exc: BaseException, source: str | None = None) -> None:
        self._end_transcript_line()
        if self.debug:
            log.debug("error in %r", source, exc_info=exc)
        if self.interactive:
            from batos.repl.render import error_panel
            self.console.print(error_panel(exc, source=source, debug=self.debug))
        else:
            from batos.repl.render import error_message
            self.console.print(f"ERROR: {error_message(exc)}", markup=False, highlight=False,
                               soft_wrap=True)

    def print(self, renderable: RenderableType | str, **kw: Any) -> None:
        """Print a command's output (markup off for plain strings)."""
        self._end_transcript_line()
        if isinstance(renderable, str):
            from batos.guardian.hygiene import printable  # image text: escapes shown
            renderable = printable(renderable)
            kw.setdefault("markup", False)
            kw.setdefault("highlight", False)
        self.console.print(renderable, **kw)

    # -- model generation ------------------------------------------------------------------
    def generation(self) -> contextlib.AbstractContextManager[Any]:
        """Receive the tokens of methods the model writes: shown live on stderr (when it
        is a terminal, or with ``BATOS_STREAM=1``), and a pending Ctrl-C stops the
        generation at the next token."""
        try:
            from batos.mind.dnu import stream_to
        except ImportError:
            return contextlib.nullcontext()
        return stream_to(self._on_token)

    def _on_token(self, text: str) -> None:
        self._guard.check()
        from batos.settings import setting
        mode = setting("stream")
        if mode == "1" or (mode != "0" and sys.stderr.isatty()):
            from batos.guardian.hygiene import printable
            sys.stderr.write(printable(text))
            sys.stderr.flush()
            if text:
                self._stream_open = not text.endswith("\n")

    def _end_stream_line(self) -> None:
        """Finish a streamed generation cut short (Ctrl-C): what follows starts a line."""
        if getattr(self, "_stream_open", False):
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._stream_open = False

    # -- the Transcript ------------------------------------------------------------------
    @contextlib.contextmanager
    def transcript(self) -> Iterator[None]:
        """Send ``Transcript show:`` output straight to the terminal while evaluating."""
        try:
            from batos.lang.transcript import capture_transcript
        except ImportError:
            yield
            return
        with capture_transcript(self._transcript_write, render=self._transcript_render):
            yield

    def _transcript_write(self, text: str) -> None:
        if not text:
            return
        stream: IO[str] = self.console.file
        stream.write(text)
        stream.flush()
        last_newline = text.rfind("\n")
        self._transcript_column = (len(text) - last_newline - 1 if last_newline >= 0
                                   else self._transcript_column + len(text))

    def _transcript_render(self, renderable: Any) -> None:
        self._end_transcript_line()
        self.console.print(renderable)

    def _end_transcript_line(self) -> None:
        """Finish a Transcript line left open (``Transcript show: 'x'`` without ``cr``)."""
        self._end_stream_line()
        if self._transcript_column:
            self.console.file.write("\n")
            self.console.file.flush()
            self._transcript_column = 0


def _in_past(view: Any, source: str) -> Any:
    """Evaluate ``source`` in a view of the past; a write is refused, saying where we are."""
    from batos.errors import ReadOnlyError
    try:
        return view.evaluate(source)
    except ReadOnlyError as exc:
        raise ReadOnlyError(f"{exc} (:now returns to the present)") from None


def run_batch(session: ReplSession, lines: Iterable[str]) -> int:
    """Non-interactive mode: evaluate each input unit of ``lines``, printing one line per
    statement (its printString or ``ERROR: message``). Returns the exit code: 0, or 1
    when any unit failed, or 130 when interrupted."""
    for _number, unit in iter_units(lines):
        try:
            session.handle(unit)
        except KeyboardInterrupt:
            return 130
        sys.stdout.flush()          # a reader on the other end of a pipe sees each answer
        if session.done:
            break
    sys.stdout.flush()
    return 1 if session.failures else 0
