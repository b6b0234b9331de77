"""docs/LEDGER.md against the code, the way tests/test_budget.py pins docs/PROTOCOL.md.

Names are read from the document and looked up in the code, so whatever drifts on either side
fails here, with the name:

- the module table: each file exists and defines what its row says it owns;
- the parameters table: each backticked parameter is a keyword of ``Replica``, and its default
  is the code's (through the constant the row names, or the attribute a fresh replica has);
- the outcomes table: under each outcome, exactly the ``why`` values the code gives it
  (``Ingested(Outcome.X, why=...)``), and the extra ``counters`` keys the code counts;
- the verdicts table: the codes, names and labels of ``Reason``, all of them;
- the store's tables (its ``CREATE TABLE``s), the fault points (``faults.reached(...)``), the
  account fields, and the snapshot, pull and recovery numbers the text gives;
- every backticked API name: ``Class.attr``, ``Class(...)`` (keywords exist; a signature's
  defaults are the code's), ``name(...)`` (a method of the class the section is about — the
  store, the durable replica, else the replica — or a function of ``node``), dotted
  ``node.…``/``protocol.…`` names, file paths, and ``UPPER_CASE`` constants.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import pkgutil
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType

import node
import protocol
from node.core.verdicts import Outcome, Reason
from protocol import errors
from protocol.genesis import LOCAL

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "LEDGER.md"
SECTION_CLASS = {
    "The store": "Store",
    "The durable replica": "DurableReplica",
    "A key without its data": "DurableReplica",
}
"""The class an unqualified ``name(...)`` belongs to, by the ``###`` heading it is under."""
DEFAULT_CLASS = "Replica"


# --------------------------------------------------------------------------- the code


@cache
def modules() -> tuple[ModuleType, ...]:
    """Every module of ``node`` and ``protocol``, and PyNaCl's signing module."""
    found = [importlib.import_module("nacl.signing")]
    for package in (node, protocol):
        found.append(package)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            found.append(importlib.import_module(info.name))
    return tuple(found)


@cache
def all_classes() -> dict[str, tuple[type, ...]]:
    """Every class defined in :func:`modules`, by name (a name may be defined twice)."""
    index: dict[str, tuple[type, ...]] = {}
    for module in modules():
        for name, obj in vars(module).items():
            if isinstance(obj, type) and obj.__module__ == module.__name__:
                index[name] = (*index.get(name, ()), obj)
    return index


def classes() -> dict[str, type]:
    """One class per name: the ledger's (``node``, not the craps engine's) before others."""

    def rank(cls: type) -> tuple[bool, bool]:
        module = cls.__module__
        return module.startswith("node.core.craps"), not module.startswith("node.")

    return {name: min(found, key=rank) for name, found in all_classes().items()}


def source_of(module_name: str) -> Path:
    return ROOT / (module_name.replace(".", "/") + ".py")


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def node_trees() -> Iterator[ast.Module]:
    for path in sorted((ROOT / "node").rglob("*.py")):
        yield tree(path)


def class_def(cls: type) -> ast.ClassDef | None:
    path = source_of(cls.__module__)
    if not path.is_file():
        return None
    for item in ast.walk(tree(path)):
        if isinstance(item, ast.ClassDef) and item.name == cls.__name__:
            return item
    return None


def self_attributes(cls: type) -> set[str]:
    """Names a class and its bases assign on ``self`` or declare in their body (from source)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        definition = class_def(klass)
        if definition is None:
            continue
        for item in ast.walk(definition):
            targets: list[ast.expr] = []
            if isinstance(item, ast.Assign):
                targets = item.targets
            elif isinstance(item, ast.AnnAssign | ast.AugAssign):
                targets = [item.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                    if target.value.id == "self":
                        names.add(target.attr)
                elif isinstance(target, ast.Name):
                    names.add(target.id)
    return names


def has(cls: type, attr: str) -> bool:
    return hasattr(cls, attr) or attr in self_attributes(cls)


def function_def(owner: type | ModuleType, name: str) -> ast.FunctionDef | None:
    """The source definition of method ``name`` of a class (or its bases), or of a function."""
    if isinstance(owner, ModuleType):
        path = source_of(owner.__name__)
        scopes: list[ast.AST] = [tree(path)] if path.is_file() else []
    else:
        scopes = [d for d in map(class_def, owner.__mro__) if d is not None]
    for scope in scopes:
        for item in ast.iter_child_nodes(scope):
            if isinstance(item, ast.FunctionDef) and item.name == name:
                return item
    return None


def module_function(name: str) -> ModuleType | None:
    """The ``node`` module that defines a function ``name``."""
    for module in modules():
        obj = getattr(module, name, None)
        defined_here = getattr(obj, "__module__", None) == module.__name__
        if callable(obj) and defined_here and module.__name__.startswith("node"):
            return module
    return None


def resolve_dotted(name: str) -> object:
    """Import the longest module prefix of ``name`` and look up the rest."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(name)


# --------------------------------------------------------------------------- the document


def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def flat(text: str) -> str:
    return " ".join(text.split())


def sections() -> Iterator[tuple[str, str]]:
    """``(### heading or "", text)`` for each part of the document between headings."""
    heading = ""
    lines: list[str] = []
    for line in doc().splitlines():
        if line.startswith("#"):
            yield heading, "\n".join(lines)
            heading = line.lstrip("#").strip() if line.startswith("### ") else ""
            lines = []
        else:
            lines.append(line)
    yield heading, "\n".join(lines)


def backticked(text: str) -> list[str]:
    """Every backticked span (one may wrap over a line), whitespace collapsed."""
    return [flat(span) for span in re.findall(r"`([^`\n]+(?:\n[^`\n]+)?)`", text)]


def table(title_row: str) -> list[list[str]]:
    """The body rows of the table whose header row starts with ``title_row``."""
    lines = doc().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title_row))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    assert rows, f"no rows under {title_row!r}"
    return rows


def names_in(cell: str) -> list[str]:
    return [t for t in backticked(cell) if re.fullmatch(r"[A-Za-z_]\w*", t)]


# --------------------------------------------------------------------------- the tables


def test_module_table_files_define_what_they_own() -> None:
    for path_cell, owns in table("| Module | Owns |"):
        (path,) = backticked(path_cell)
        assert (ROOT / path).is_file(), path
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        owners: list[type] = []
        for token in backticked(owns):
            name = token.removesuffix("()")
            if not re.fullmatch(r"[A-Za-z_]\w*", name):
                continue
            if hasattr(module, name):
                obj = getattr(module, name)
                if isinstance(obj, type):
                    owners.append(obj)
                continue
            assert any(has(cls, name) for cls in owners), f"{path} has no {name}"


def _replica_init() -> tuple[dict[str, ast.expr | None], set[str]]:
    definition = function_def(classes()["Replica"], "__init__")
    assert definition is not None
    args = definition.args
    positional = args.posonlyargs + args.args
    defaults: dict[str, ast.expr | None] = {a.arg: None for a in positional + args.kwonlyargs}
    for arg, default in zip(positional[::-1], args.defaults[::-1], strict=False):
        defaults[arg.arg] = default
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        defaults[arg.arg] = kw_default
    return defaults, {a.arg for a in args.kwonlyargs}


def test_parameter_table_matches_the_replica_and_its_constants() -> None:
    from node.core.replica import Replica  # noqa: PLC0415

    defaults, _ = _replica_init()
    replica = Replica(LOCAL)
    for name_cell, default_cell, where, _meaning in table("| Parameter | Default | Where |"):
        tokens = names_in(name_cell)
        name = tokens[0] if tokens else name_cell.split()[0]
        text = (backticked(default_cell) or [default_cell])[0]
        constants = [t for t in names_in(where) if t.isupper()]
        paths = [t for t in backticked(where) if t.endswith(".py")]
        if not tokens:  # a derived attribute, not a keyword: compare the fresh replica's
            namespace = {key: getattr(replica, key) for key in re.findall(r"[a-z_]+", text)}
            assert getattr(replica, name) == eval(text, {}, namespace), name
            continue
        assert name in defaults, f"Replica has no keyword {name!r}"
        code_default = defaults[name]
        if constants:
            (constant,) = constants
            (path,) = paths
            module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
            assert getattr(module, constant) == int(text.replace(",", "")), constant
            assert isinstance(code_default, ast.Name) and code_default.id == constant, name
        elif text.endswith("()"):  # a default object made when the keyword is None
            held = getattr(replica, "_" + name)
            assert type(held).__name__ == text.removesuffix("()"), name
            for path in paths:
                assert source_of(type(held).__module__) == ROOT / path
        elif "." in text:  # a function: the default is that name
            assert resolve_dotted(text) is not None, text
            assert isinstance(code_default, ast.Name), name
            assert code_default.id == text.rsplit(".", 1)[1], name
        else:
            assert code_default is not None, name
            assert ast.literal_eval(code_default) == ast.literal_eval(text), name


def _code_whys() -> dict[str, set[str]]:
    """Per outcome name, the ``why`` literals the code passes to ``Ingested`` with it."""
    whys: dict[str, set[str]] = {}
    for module in node_trees():
        for call in ast.walk(module):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
                continue
            if call.func.id != "Ingested" or not call.args:
                continue
            outcome = call.args[0]
            if not (isinstance(outcome, ast.Attribute) and isinstance(outcome.value, ast.Name)):
                continue
            if outcome.value.id != "Outcome":
                continue
            why = [k.value for k in call.keywords if k.arg == "why"]
            why += call.args[3:4]
            for value in why:
                if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
                    whys.setdefault(outcome.attr, set()).add(value.value)
    return whys


def _code_counter_keys() -> set[str]:
    """String keys the replica counts directly in a ``counters`` dict (the node core's own
    counters are docs/NODE.md's)."""
    keys: set[str] = set()
    for module in (tree(source_of("node.core.replica")),):
        for item in ast.walk(module):
            key = None
            if isinstance(item, ast.Subscript) and isinstance(item.value, ast.Attribute):
                if item.value.attr in ("counters", "_counters"):
                    key = item.slice
            elif isinstance(item, ast.Call) and isinstance(item.func, ast.Attribute):
                owner = item.func.value
                named = owner.attr if isinstance(owner, ast.Attribute) else ""
                counts = named in ("counters", "_counters") and item.func.attr == "get"
                if (counts or item.func.attr == "_count_event") and item.args:
                    key = item.args[0]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                keys.add(key.value)
    return keys


def test_outcome_table_lists_the_why_values_the_code_gives() -> None:
    code = _code_whys()
    rows = table("| Outcome | Meaning |")
    assert sorted(names_in(row[0])[0] for row in rows) == sorted(o.name for o in Outcome)
    for outcome_cell, _meaning, whys_cell in rows:
        outcome = Outcome[names_in(outcome_cell)[0]]
        documented = set(names_in(whys_cell))
        if outcome is Outcome.REJECTED:  # the error class of the frame
            for name in documented:
                assert issubclass(getattr(errors, name), errors.Rejected), name
            continue
        given = code.get(outcome.name, set())
        assert given <= documented, f"{outcome.name}: undocumented {given - documented}"
        extra = documented - given - {outcome.value}  # no why: counted under the outcome
        assert not extra, f"{outcome.name}: the code never gives {extra}"
    assert set(code) <= {o.name for o in Outcome}


def test_extra_counters_are_the_ones_the_code_counts() -> None:
    sentence = re.search(r"`counters` also counts (.*?)\(", flat(doc()))
    assert sentence is not None
    assert set(names_in(sentence.group(1))) == _code_counter_keys()


def test_verdict_table_is_the_reason_enum() -> None:
    rows = table("| Code | Reason | Label | When |")
    seen = []
    for code, name_cell, label_cell, _when in rows:
        reason = Reason[names_in(name_cell)[0]]
        assert reason.value == int(code), reason
        assert backticked(label_cell) == [reason.label], reason
        seen.append(reason)
    assert seen == list(Reason)


def test_store_tables_are_the_ones_the_store_creates() -> None:
    store = source_of(classes()["Store"].__module__).read_text(encoding="utf-8")
    created = set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", store))
    documented = {names_in(row[0])[0] for row in table("| Table | Holds |")}
    assert documented == created


def test_fault_points_are_the_ones_the_code_can_kill_at() -> None:
    points = set()
    for module in node_trees():
        for call in ast.walk(module):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
                continue
            if call.func.attr == "reached" and isinstance(call.args[0], ast.Constant):
                points.add(call.args[0].value)
    documented = {names_in(row[0])[0] for row in table("| Point | Where |")}
    assert documented == points


def test_account_fields_exist() -> None:
    account = classes()["Account"]
    for field_cell, _meaning in table("| Field | Meaning |"):
        (field,) = names_in(field_cell)
        assert has(account, field), field


def test_numbers_in_the_text_are_the_code_constants() -> None:
    text = flat(doc())
    durable = importlib.import_module(classes()["DurableReplica"].__module__)
    spacing = re.search(
        r"`max\((\d+), (\d+) × \(senders \+ accounts \+ credit lines \+ pending credits\)\)`",
        text,
    )
    assert spacing is not None
    assert (int(spacing[1]), int(spacing[2])) == (
        durable.SNAPSHOT_ROWS,
        durable.SNAPSHOT_SIZE_FACTOR,
    )
    asks = re.search(r"at most (\d+) versions asked by `h` \(`VERSION_ASKS`\)", text)
    assert asks is not None and int(asks[1]) == resolve_dotted("node.core.pulls.VERSION_ASKS")
    peers = re.search(r"Recovery is done when (\d+) distinct peers confirm", text)
    assert peers is not None and int(peers[1]) == durable.RECOVERY_PEERS


# --------------------------------------------------------------------------- every API name

CALL = re.compile(r"([A-Za-z_][\w.]*)\((.*)\)(?:\s*->.*)?")


def _check_arguments(owner: type | ModuleType, name: str, args: str, *, signature: bool) -> None:
    """The keywords ``args`` shows exist; for a constructor's signature, the defaults too."""
    definition = function_def(owner, name)
    if definition is None:  # a C function or a class without its own __init__: names only
        return
    code = definition.args
    params = {a.arg for a in code.posonlyargs + code.args + code.kwonlyargs}
    kwonly = {a.arg: d for a, d in zip(code.kwonlyargs, code.kw_defaults, strict=True)}
    positional = code.posonlyargs + code.args
    defaults = dict(
        zip([a.arg for a in positional][::-1], code.defaults[::-1], strict=False), **kwonly
    )
    where = f"{getattr(owner, '__name__', owner)}.{name}"
    try:
        shown = ast.parse(f"def f({args}): pass").body[0]
    except SyntaxError:
        call = ast.parse(f"f({args})", mode="eval").body
        assert isinstance(call, ast.Call)
        for keyword in call.keywords:
            assert code.kwarg or keyword.arg in params, f"{where} has no {keyword.arg!r}"
        return
    assert isinstance(shown, ast.FunctionDef)
    doc_args = shown.args
    doc_positional = doc_args.posonlyargs + doc_args.args
    named: list[tuple[ast.arg, ast.expr | None]] = list(
        zip(doc_positional[::-1], doc_args.defaults[::-1], strict=False)
    )
    named += zip(doc_args.kwonlyargs, doc_args.kw_defaults, strict=True)
    for arg, default in named:
        assert code.kwarg or arg.arg in params, f"{where} has no {arg.arg!r}"
        if signature and default is not None:
            code_default = defaults.get(arg.arg)
            assert code_default is not None, f"{where}: {arg.arg} has no default"
            assert ast.dump(code_default) == ast.dump(default), f"{where}: {arg.arg}'s default"
    if signature:
        for arg in doc_args.kwonlyargs:
            assert arg.arg in kwonly, f"{where}: {arg.arg} is not keyword-only"


def api_names() -> Iterator[tuple[str, str]]:
    for heading, text in sections():
        for token in backticked(text):
            yield heading, token


def check(heading: str, token: str) -> None:
    if re.fullmatch(r"(node|protocol|tests|docs|benchmarks|transports|scripts)/[\w/.]*", token):
        assert (ROOT / token).exists(), token
        return
    if re.fullmatch(r"[A-Z][A-Z0-9]*_[A-Z0-9_]+", token):
        sources = "".join(
            p.read_text(encoding="utf-8")
            for d in ("node", "protocol", "benchmarks")
            for p in (ROOT / d).rglob("*.py")
        )
        assert re.search(rf"\b{token}\b", sources), f"{token} is nowhere in the code"
        return
    if token in {reason.label for reason in Reason}:
        return
    call = CALL.fullmatch(token)
    name, args = (call[1], call[2]) if call else (token, None)
    if not re.fullmatch(r"[A-Za-z_][\w.]*", name):
        return
    first, _, rest = name.partition(".")
    if first in ("node", "protocol"):
        obj = resolve_dotted(name)
        if args is not None:
            owner = importlib.import_module(getattr(obj, "__module__", name))
            _check_arguments(owner, name.rsplit(".", 1)[1], args, signature=False)
        return
    cls = classes().get(first)
    if cls is not None and len(first) > 1:
        if rest:
            attr = rest.split(".")[0]
            owners = [c for c in all_classes()[first] if has(c, attr)]
            assert owners, f"{first} has no {attr!r}"
            if args is not None:
                _check_arguments(owners[0], attr, args, signature=False)
        elif args is not None:
            _check_arguments(cls, "__init__", args, signature="..." not in args)
        return
    if args is None or rest or len(name) == 1 or hasattr(builtins, name):
        return  # a term of the text, a formula, or Python's own
    about = classes()[SECTION_CLASS.get(heading, DEFAULT_CLASS)]
    if has(about, name):
        _check_arguments(about, name, args, signature=False)
        return
    module = module_function(name)
    assert module is not None, f"neither {about.__name__} nor node has {name}()"
    _check_arguments(module, name, args, signature=False)


def test_every_api_name_the_document_gives_exists() -> None:
    wrong = []
    for heading, token in sorted(set(api_names())):
        try:
            check(heading, token)
        except (AssertionError, AttributeError, ImportError, KeyError) as exc:
            wrong.append(f"`{token}` ({heading or 'top level'}): {exc}".splitlines()[0])
    assert not wrong, "docs/LEDGER.md names what the code lacks:\n" + "\n".join(wrong)
