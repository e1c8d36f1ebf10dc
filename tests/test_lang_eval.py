"""Evaluation of BST through a real image: semantics, names, methods, errors, compilation."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

import batos
from batos.errors import (BSTRuntimeError, BSTSyntaxError, MessageNotUnderstood,
                          MethodDefinitionError, NameNotFound, SourceError)
from batos.lang import compile_method, evaluate
from batos.lang.compiler import compile_script, python_source


@pytest.fixture(autouse=True)
def _no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATOS_LLM", "off")  # misses raise instead of asking the model




def ps(image: Any, source: str) -> str:
    return image.print_string(image.evaluate(source))


# --- values and precedence ----------------------------------------------------------------

@pytest.mark.parametrize("source, expected", [
    ("3 + 4 * 2", "14"),
    ("3 + (4 * 2)", "11"),
    ("2 raisedTo: 3 + 1", "16"),
    ("3 - -2", "5"),
    ("-5 abs + 1", "6"),
    ("1.5 + 2", "3.5"),
    ("2 * 0.5", "1.0"),
    ("(1/2) + 1", "(3/2)"),
    ("1/2 + (1/2)", "1"),
    ("7 // 2", "3"),
    ("-7 \\\\ 2", "1"),
    ("3 = 3", "true"),
    ("3 ~= 4", "true"),
    ("3 < 4.5", "true"),
    ("(2 raisedTo: 100) + 1", "1267650600228229401496703205377"),
    ("100 factorial printString size", "158"),
    ("16r1F + 2r1010", "41"),
    ("1.5e3", "1500.0"),
    ("$a", "$a"),
    ("#at:put:", "#at:put:"),
    ("'it''s'", "'it''s'"),
    ("#(1 $a 'x' #y (2 3) true nil foo)", "#(1 $a 'x' #y #(2 3) true nil #foo)"),
    ("{1. 2 + 3. 'x'}", "#(1 5 'x')"),
    ("nil", "nil"),
    ("x := 3. x := x + 1. x", "4"),
])
def test_values(image: Any, source: str, expected: str) -> None:
    assert ps(image, source) == expected


def test_nil_is_none_and_last_statement_is_the_value(image: Any) -> None:
    assert image.evaluate("3. 4. nil") is None
    assert image.evaluate("3. 4") == 4
    assert image.evaluate("") is None
    assert image.evaluate("^5. 6") == 5


def test_cascades(image: Any) -> None:
    assert ps(image, "OrderedCollection new add: 1; add: 2; yourself") == \
        "an OrderedCollection(1 2)"
    # the value of a cascade is the value of its last message
    assert ps(image, "OrderedCollection new add: 1; add: 2") == "2"
    # chained messages inside a cascade part go to the previous result
    assert ps(image, "(OrderedCollection new) add: 3; yourself; size") == "1"


def test_literal_arrays_are_fresh_each_time(image: Any) -> None:
    src = "| a | a := #(1 2 3). a at: 1 put: 99. a"
    assert ps(image, src) == "#(99 2 3)"
    assert ps(image, src) == "#(99 2 3)"
    assert ps(image, "#(1 2 3)") == "#(1 2 3)"


# --- blocks ---------------------------------------------------------------------------------

def test_blocks_are_closures(image: Any) -> None:
    assert ps(image, "[:a :b | a + b] value: 1 value: 2") == "3"
    assert ps(image, "| n inc | n := 0. inc := [n := n + 1]. inc value. inc value. n") == "2"
    assert ps(image, "| make c | make := [:start | | x | x := start. [x := x + 1]]. "
                     "c := make value: 10. c value. c value") == "12"
    assert ps(image, "[] value") == "nil"
    assert ps(image, "[:x | ] value: 3") == "nil"
    assert ps(image, "[:a :b | a] numArgs") == "2"


def test_loop_variables_are_fresh_per_iteration(image: Any) -> None:
    assert ps(image, "| bs | bs := OrderedCollection new. "
                     "1 to: 3 do: [:i | bs add: [i]]. bs collect: [:b | b value]") == \
        "an OrderedCollection(1 2 3)"
    assert ps(image, "| bs n | bs := OrderedCollection new. n := 0. "
                     "[n < 3] whileTrue: [| k | n := n + 1. k := n * 10. bs add: [k]]. "
                     "bs collect: [:b | b value]") == "an OrderedCollection(10 20 30)"


def test_arguments_are_read_only(image: Any) -> None:
    for source, column in [("[:x | x := 3] value: 1", 7), ("1 to: 3 do: [:i | i := 5]", 19)]:
        with pytest.raises(BSTSyntaxError, match="cannot assign to argument") as info:
            image.evaluate(source)
        assert (info.value.line, info.value.column) == (1, column)
    with pytest.raises(BSTSyntaxError, match="argument 'n'"):
        image.evaluate("genesis >> bad: n [ n := 1 ]")


def test_exceptions_and_handlers(image: Any) -> None:
    assert ps(image, "[1/0] on: ZeroDivide do: [:e | 5]") == "5"
    image.evaluate("genesis >> z [ ^1/0 ]")
    # errors leaving a BST method carry a position and keep their class
    assert ps(image, "[genesis z] on: ZeroDivide do: [:e | e messageText]") == \
        "'division by zero'"
    assert ps(image, "[genesis frob] on: MessageNotUnderstood do: [:e | e message selector]") \
        == "#frob"
    assert ps(image, "| r | r := OrderedCollection new. "
                     "[#(1 2 3) do: [:x | x = 2 ifTrue: [^r]. r add: x]] ensure: [r add: 0]. r") \
        == "an OrderedCollection(1 0)"


def test_non_local_return(image: Any) -> None:
    assert ps(image, "#(1 2 3 4) do: [:e | e > 2 ifTrue: [^e]]. 0") == "3"
    image.evaluate("genesis >> firstEven: coll [ coll do: [:x | x even ifTrue: [^x]]. ^nil ]")
    assert ps(image, "genesis firstEven: #(1 3 6 8)") == "6"
    assert ps(image, "genesis firstEven: #(1 3)") == "nil"
    image.evaluate("b := [:x | ^x]")
    with pytest.raises(BSTRuntimeError, match="block cannot return"):
        image.evaluate("b value: 3")


# --- inlined control structures ---------------------------------------------------------------

@pytest.mark.parametrize("source, expected", [
    ("3 > 2 ifTrue: ['yes'] ifFalse: ['no']", "'yes'"),
    ("3 > 2 ifFalse: ['no']", "nil"),
    ("3 < 2 ifFalse: ['no'] ifTrue: ['yes']", "'no'"),
    ("(3 > 2) and: [2 > 1]", "true"),
    ("(3 > 2) & (2 > 3)", "false"),
    ("(3 < 2) or: [2 > 1]", "true"),
    ("true and: [7]", "7"),
    ("| a | a := 0. [a < 10] whileTrue: [a := a + 1]. a", "10"),
    ("| a | a := 10. [a <= 0] whileFalse: [a := a - 3]. a", "-2"),
    ("| a | a := 0. [a := a + 1. a < 5] whileTrue. a", "5"),
])
def test_inlined_control(image: Any, source: str, expected: str) -> None:
    assert ps(image, source) == expected


def test_loops(image: Any) -> None:
    assert ps(image, "| s | s := 0. 1 to: 10 do: [:i | s := s + i]. s") == "55"
    assert ps(image, "| s | s := 0. 10 to: 1 by: -3 do: [:i | s := s * 10 + i]. s") == "10741"
    assert ps(image, "| s | s := 0. 1 to: 2 by: 0.5 do: [:i | s := s + i]. s") == "4.5"
    assert ps(image, "| s n | s := 0. n := 4. 1 to: n do: [:i | s := s + i]. s") == "10"
    assert ps(image, "| s | s := 0. 1 to: 0 do: [:i | s := 1]. s") == "0"
    assert ps(image, "| s | s := 0. 3 timesRepeat: [s := s + 2]. s") == "6"
    assert ps(image, "1 to: 3 do: [:i | i]") == "1"
    assert ps(image, "| a | a := 0. [a := a + 1. a = 3 ifTrue: [^a]] repeat") == "3"
    assert ps(image, "nil ifNil: [1] ifNotNil: [:x | x]") == "1"
    assert ps(image, "5 ifNil: [1] ifNotNil: [:x | x * 2]") == "10"
    assert ps(image, "5 ifNil: [1]") == "5"
    assert ps(image, "nil ifNotNil: [:x | 1]") == "nil"


def test_inlining_needs_literal_blocks(image: Any) -> None:
    # a block in a variable is sent the real message
    assert ps(image, "| b | b := ['yes']. 3 > 2 ifTrue: b") == "'yes'"
    assert ps(image, "| c | c := [false]. (3 > 2) and: c") == "false"
    assert "for v_i in range(1, 1000000 + 1)" in python_source(
        "| s | s := 0. 1 to: 1000000 do: [:i | s := s + i]. s")


def test_non_boolean_receivers(image: Any) -> None:
    with pytest.raises(MessageNotUnderstood):
        image.evaluate("3 ifTrue: [4]")
    with pytest.raises(BSTRuntimeError, match="not a boolean"):
        image.evaluate("[3] whileTrue: [4]")
    # a prototype may answer ifTrue: itself: the inlined form falls back to a real send
    image.evaluate("Image at: #yes put: genesis clone. yes >> ifTrue: aBlock [ ^aBlock value ]")
    assert ps(image, "yes ifTrue: [42]") == "42"


# --- names --------------------------------------------------------------------------------------

def test_workspace_variables(image: Any) -> None:
    image.evaluate("x := 41")
    assert image.workspace["x"] == 41
    assert image.evaluate("x + 1") == 42
    image.evaluate("| y | y := 5")
    assert "y" not in image.workspace
    ws: dict[str, Any] = {}
    assert evaluate(image, "z := 3. z * 2", workspace=ws) == 6
    assert ws == {"z": 3}


def test_globals_and_builtins(image: Any) -> None:
    assert ps(image, "genesis") == "a Proto(genesis)"
    image.evaluate("Image at: #thing put: 7")
    assert image.globals["thing"] == 7
    image.evaluate("thing := 8")   # assigning an existing global rebinds it
    assert image.globals["thing"] == 8
    assert "thing" not in image.workspace
    with pytest.raises(BSTRuntimeError, match="builtin"):
        image.evaluate("Transcript := 3")


def test_unknown_names_suggest_close_matches(image: Any) -> None:
    image.evaluate("counter := 3")
    with pytest.raises(NameNotFound) as info:
        image.evaluate("1 + countr", filename="x.bst")
    err = info.value
    assert "unknown name 'countr'" in err.message and "did you mean counter" in err.message
    assert (err.filename, err.line, err.column) == ("x.bst", 1, 5)
    with pytest.raises(NameNotFound, match="genesis"):
        image.evaluate("genesys")
    with pytest.raises(NameNotFound, match=r"did you mean total\?"):
        image.evaluate("| total | total := 0. #(1 2) do: [:each | total := totl + each]")


# --- methods ------------------------------------------------------------------------------------

def test_methods_read_and_write_slots(image: Any) -> None:
    image.evaluate("Image at: #counter put: genesis clone. counter setSlot: #count value: 0")
    assert ps(image, "counter >> increment [ count := count + 1. ^count ]") == "#increment"
    assert ps(image, "counter increment. counter increment") == "2"
    counter = image.globals["counter"]
    assert counter.count == 2
    method = counter.method("increment")
    assert method.language == "bst"
    assert method.source == "increment\n\tcount := count + 1. ^count"
    # Python callers use the same method
    assert counter.increment() == 3


def test_method_forms_and_self(image: Any) -> None:
    image.evaluate("genesis >> greet: name [ ^'Hello, ', name ]")
    assert ps(image, "genesis greet: 'Bob'") == "'Hello, Bob'"
    image.evaluate("genesis >> + other [ ^other * 2 ]")
    assert ps(image, "genesis + 5") == "10"
    image.evaluate("genesis >> at: k put: v [\n  | t |\n  t := v.\n  description := t\n]")
    assert image.evaluate("genesis at: 1 put: 'new'") is image.globals["genesis"]  # no ^ → self
    assert image.globals["genesis"].description == "new"


def test_inherited_slot_written_on_receiver(image: Any) -> None:
    image.evaluate("Image at: #base put: genesis clone. base setSlot: #size value: 1. "
                   "Image at: #kid put: genesis clone. kid setSlot: #'parent*' value: base. "
                   "base >> grow [ size := size + 1 ]")
    image.evaluate("kid grow")
    assert image.globals["kid"].get_slot("size") == 2
    assert image.globals["base"].get_slot("size") == 1


def test_super_send(image: Any) -> None:
    image.evaluate("Image at: #animal put: genesis clone. animal >> speak [ ^'...' ]. "
                   "Image at: #dog put: animal clone. "  # dog's family* is animal
                   "dog >> speak [ ^'Woof ', super speak ]")
    assert ps(image, "dog speak") == "'Woof ...'"


def test_method_names_resolve_to_globals_and_errors(image: Any) -> None:
    image.evaluate("genesis >> oops [ ^nonesuch ]")
    with pytest.raises(NameNotFound, match="nonesuch"):
        image.evaluate("genesis oops")
    image.evaluate("genesis >> set [ nothere := 3 ]")
    with pytest.raises(NameNotFound, match="cannot assign"):
        image.evaluate("genesis set")


def test_define_on_non_prototype_is_an_error(image: Any) -> None:
    with pytest.raises(BSTRuntimeError, match="prototypes"):
        image.evaluate("3 >> foo [ ^1 ]")


def test_compile_method_directly(image: Any) -> None:
    fn = compile_method("double: x\n\t^x * 2", selector="double:")
    assert fn(None, 21) == 42
    assert compile_method("^7", selector="seven")(None) == 7   # a unary body alone
    with pytest.raises(MethodDefinitionError):
        compile_method("foo: x\n\t^x", selector="bar:")
    with pytest.raises(BSTSyntaxError):
        compile_method("foo: x\n\t^x +", selector="foo:")
    genesis = image.globals["genesis"]
    genesis.define("triple:", "triple: x\n\t^x * 3", language="bst")
    assert image.evaluate("genesis triple: 4") == 12
    image.evaluate("genesis define: #quad: as: 'quad: x\n\t^x * 4'")
    assert image.evaluate("genesis quad: 2") == 8


def test_methods_persist_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "p.fs"
    with batos.open_image(path) as im:
        im.execute(lambda: im.evaluate(
            "Image at: #counter put: genesis clone. counter setSlot: #count value: 40. "
            "counter >> increment [ count := count + 1. ^count ]"), note="define")
    script = textwrap.dedent(f"""
        import batos
        with batos.open_image({str(path)!r}) as im:
            v = im.execute(lambda: im.evaluate("counter increment"), note="inc")
            print(v, im.globals["counter"].increment())
            print(im.globals["counter"].method("increment").source.splitlines()[0])
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, env={**__import__("os").environ, "BATOS_LLM": "off"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["41 42", "increment"]


# --- errors point into the source ----------------------------------------------------------------

def test_runtime_errors_have_positions(image: Any) -> None:
    with pytest.raises(MessageNotUnderstood) as info:
        image.evaluate("x := 3.\n#(1 2) do: [:e |\n   e frobnicate]", filename="s.bst")
    err = info.value
    assert isinstance(err, BSTRuntimeError) and isinstance(err, SourceError)
    assert (err.receiver, err.selector) == (1, "frobnicate")
    assert (err.filename, err.line, err.column) == ("s.bst", 3, 6)
    assert err.pretty() == ("s.bst:3:6: 1 does not understand #frobnicate\n"
                            "     e frobnicate]\n       ^")
    assert err.exit_code == 1


def test_errors_inside_methods_point_at_the_method(image: Any) -> None:
    image.evaluate("genesis >> bad [\n\t| t |\n\tt := 3.\n\t^t zork ]")
    with pytest.raises(MessageNotUnderstood) as info:
        image.evaluate("genesis bad")
    err = info.value
    assert err.filename == "<method #bad>"
    assert (err.line, err.column) == (4, 5)
    assert err.source_line() == "\t^t zork"


def test_python_errors_become_runtime_errors(image: Any) -> None:
    with pytest.raises(BSTRuntimeError) as info:
        image.evaluate("1/0")
    assert info.value.line == 1 and info.value.column == 2


def test_compiled_code_is_cached_by_source(image: Any) -> None:
    a = compile_script("3 + 4")
    assert compile_script("3 + 4") is a
    assert compile_script("3 + 5") is not a
    assert type(a.__code__).__name__ == "code"


def test_methods_called_from_python_see_the_image(image: Any) -> None:
    image.evaluate("Image at: #limit put: 10. "
                   "genesis >> capped: n [ ^n min: limit ]. "
                   "genesis >> log: x [ Transcript show: x printString ]")
    genesis = image.globals["genesis"]
    assert genesis.send("capped:", 42) == 10     # a global, outside any evaluate
    assert genesis.capped_(3) == 3


def test_evaluate_without_an_image() -> None:
    ws: dict[str, Any] = {}
    assert evaluate(None, "x := OrderedCollection new. x add: 3; yourself. x size",
                    workspace=ws) == 1
    assert evaluate(None, "#(3 1 2) asSortedCollection asArray") == [1, 2, 3]
    with pytest.raises(NameNotFound):
        evaluate(None, "genesis")
