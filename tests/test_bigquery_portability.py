"""The dbt project stays portable to BigQuery: DuckDB-only SQL lives only in
adapter-dispatched macros (README "Past one machine").

One ``dbt compile`` of every model for DuckDB (the in-memory ``lint`` target,
an empty landing folder, so staging models render their typed empty
relation), then two checks per model:

* the model's own SQL (``dbt_project/models/**.sql`` with Jinja and comments
  stripped) holds none of a curated list of DuckDB-only tokens (``::`` casts,
  ``read_parquet``, ``list_*`` / ``struct_*`` / ``map_*`` functions,
  ``strftime``, ``epoch_ms``, lambdas, ``GLOB``, ``ILIKE``, ``DATE_TRUNC('month', x)``
  argument order, ``x['key']`` access, ``LIKE ... ESCAPE``, ``VALUES`` lists,
  DuckDB type names ...);
* the compiled SQL, parsed with sqlglot's DuckDB dialect, has no construct
  that BigQuery spells differently or lacks (functions sqlglot does not know or
  renders under another name for BigQuery, DuckDB type names, lambdas,
  subscripts, ``ESCAPE``, ``VALUES``, ``UNION BY NAME``, string intervals ...)
  unless it comes from an adapter-dispatched macro (a ``default__`` /
  ``duckdb__`` implementation of a macro that calls ``adapter.dispatch``),
  found through the model's macro dependencies in the manifest.

Each violation names the model, the construct and where it comes from (the
model itself, a macro that is not dispatched, or the rendering of
``source()`` / ``ref()``); the test fails on any, so DuckDB-only SQL added to
a model is caught here.

The ``bigquery__`` implementations cannot run here (no dbt-bigquery, no
BigQuery): they are rendered by name and read with sqlglot's BigQuery dialect,
with the type translations checked against spellings worked out by hand.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError

from helpers import BIN, ROOT

PROJECT = ROOT / "dbt_project"

# (needle searched in model / macro text, regex over the model's own SQL, what it is)
RAW_TOKENS: list[tuple[str, str, str]] = [
    ("::", r"::", "`::` cast (BigQuery: CAST(x AS t))"),
    ("read_parquet", r"\bread_(parquet|csv|json)\w*\s*\(", "read_parquet / read_csv"),
    ("list_", r"\blist_\w+\s*\(", "list_* function"),
    ("struct_", r"\bstruct_\w+\s*\(", "struct_* function"),
    ("map_", r"\bmap_\w+\s*\(|\bmap\s*\(\s*\)", "map_* function"),
    (
        "strftime",
        r"\bstr[fp]time\s*\(",
        "strftime / strptime (BigQuery: FORMAT_ / PARSE_TIMESTAMP)",
    ),
    ("epoch_ms", r"\bepoch(_ms|_us|_ns)?\s*\(", "epoch / epoch_ms"),
    ("regexp_matches", r"\bregexp_(matches|full_match|split_to_array)\s*\(", "regexp_matches"),
    ("regexp_extract", r"\bregexp_extract\s*\(", "regexp_extract with a group argument"),
    ("lambda", r"->|\blambda\s+\w+\s*:", "lambda"),
    ("glob", r"\bglob\b", "GLOB"),
    ("ilike", r"\bilike\b", "ILIKE"),
    ("date_trunc", r"\bdate_trunc\s*\(\s*'", "DATE_TRUNC('part', x) argument order"),
    ("datediff", r"\bdate_?diff\s*\(\s*'", "DATEDIFF('part', a, b) argument order"),
    ("[", r"\w\s*\[\s*['\d]", "x['key'] / x[1] subscript"),
    ("by name", r"\bunion\s+(all\s+)?by\s+name\b", "UNION BY NAME"),
    ("escape", r"\blike\b[^;]*?\bescape\s*'", "LIKE ... ESCAPE"),
    ("try_cast", r"\btry_cast\s*\(", "TRY_CAST (BigQuery: SAFE_CAST)"),
    ("interval '", r"\binterval\s*'", "INTERVAL 'n unit' string"),
    ("generate_series", r"\b(generate_series|range)\s*\(", "generate_series / range"),
    ("values", r"\(\s*values\s*\(", "VALUES list as a table"),
    ("exclude", r"\*\s*exclude\b", "SELECT * EXCLUDE"),
    ("filter", r"\bfilter\s*\(\s*where\b", "aggregate FILTER (WHERE ...)"),
    (
        "varchar text double float real hugeint timestamptz blob uuid",
        r"\bas\s+(varchar|text|double|real|hugeint|timestamptz|blob|uuid)\b",
        "DuckDB type name",
    ),
    ("{'", r"\{\s*'", "struct literal {'k': v}"),
    (
        "string_split",
        r"\b(string_split|str_split|split_part|string_to_array)\s*\(",
        "string_split / split_part",
    ),
    ("concat_ws", r"\bconcat_ws\s*\(", "CONCAT_WS"),
    ("md5", r"\b(md5|hash)\s*\(", "md5 / hash (BigQuery MD5 returns BYTES)"),
    ("materialized", r"\bas\s+(not\s+)?materialized\b", "CTE [NOT] MATERIALIZED hint"),
]

# BigQuery's type names (and the aliases it accepts).
BIGQUERY_TYPES = {
    "INT64", "INT", "INTEGER", "SMALLINT", "BIGINT", "TINYINT", "BYTEINT", "NUMERIC",
    "DECIMAL", "BIGNUMERIC", "BIGDECIMAL", "FLOAT64", "BOOL", "BOOLEAN", "STRING", "BYTES",
    "DATE", "DATETIME", "TIME", "TIMESTAMP", "INTERVAL", "JSON", "GEOGRAPHY", "ARRAY", "STRUCT",
}  # fmt: skip
# sqlglot renders these differently for BigQuery only in style (IF for CASE, NULLS LAST).
COSMETIC_FUNCTIONS = (exp.If, exp.Case, exp.Coalesce, exp.AggFunc, exp.Cast, exp.Nullif)
# AND / OR / XOR: operators that sqlglot also classes as functions. Their SQL
# starts with their left operand, so `contains(a, 'x') and b` read as a
# "function contains()" spelled `and`, a word every model holds; the operand
# is reported on its own node.
CONNECTORS = (exp.Connector,)
# Date functions whose argument order differs between the two.
ORDER_SENSITIVE = (exp.DateTrunc, exp.TimestampTrunc, exp.DateDiff, exp.DateAdd, exp.DateSub)


@dataclass(frozen=True, order=True)
class Violation:
    model: str
    construct: str
    origin: str

    def __str__(self) -> str:
        return f"{self.model}: {self.construct} ({self.origin})"


def strip_jinja_and_comments(sql: str) -> str:
    # the config block first, whole (to its closing `}}` alone on a line): its
    # dicts and the `{{ }}` of its hooks would end a `{{ .*? }}` early
    sql = re.sub(r"\A\s*\{\{\s*config\(.*?^\}\}", " ", sql, flags=re.S | re.M)
    sql = re.sub(r"\{#.*?#\}", " ", sql, flags=re.S)
    sql = re.sub(r"\{%.*?%\}", " ", sql, flags=re.S)
    sql = re.sub(r"\{\{.*?\}\}", " ", sql, flags=re.S)
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    return re.sub(r"--[^\n]*", " ", sql).lower()


# --- compiled SQL: constructs BigQuery lacks or spells otherwise ------------


def _head(sql: str) -> str:
    return sql.split("(", 1)[0].strip().lower()


def _spellings() -> dict[type, set[str]]:
    """Every name sqlglot's DuckDB dialect reads as each function class."""
    from sqlglot.dialects.duckdb import DuckDB

    names: dict[type, set[str]] = {}
    for name, builder in DuckDB.Parser.FUNCTIONS.items():
        owner = getattr(builder, "__self__", None)
        if isinstance(owner, type):
            names.setdefault(owner, set()).add(name.lower())
    return names


SPELLINGS = _spellings()
# How a model or macro may spell a type sqlglot prints in its DuckDB form.
TYPE_SPELLINGS = {
    "text": ("varchar", "text", "string"),
    "double": ("double", "float"),
    "timestamptz": ("timestamptz", "timestamp with time zone"),
}


def _names(node: exp.Func) -> tuple[str, ...]:
    spelled = {name.lower() for name in type(node).sql_names()} | SPELLINGS.get(type(node), set())
    return tuple(sorted(spelled | {_head(node.sql("duckdb"))}))


def compiled_findings(sql: str) -> list[tuple[tuple[str, ...], str]]:
    """(how the model or a macro may spell it, construct) for every DuckDB-only
    construct sqlglot finds in compiled SQL."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except ParseError as error:
        return [((), f"not parseable as DuckDB by sqlglot: {str(error).splitlines()[0][:80]}")]
    found: list[tuple[tuple[str, ...], str]] = []
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
            found.append(((name,), f"function {name}() (unknown to BigQuery)"))
        elif isinstance(node, exp.Lambda):
            found.append((("lambda",), "lambda"))
        elif isinstance(node, exp.Bracket):
            found.append((("[",), "x[...] subscript"))
        elif isinstance(node, exp.Escape):
            found.append((("escape",), "LIKE ... ESCAPE"))
        elif isinstance(node, exp.Values):
            found.append((("values",), "VALUES list as a table"))
        elif isinstance(node, exp.Union) and node.args.get("by_name"):
            found.append((("by name",), "UNION BY NAME"))
        elif isinstance(node, exp.ILike):
            found.append((("ilike",), "ILIKE"))
        elif isinstance(node, exp.Glob):
            found.append((("glob",), "GLOB"))
        elif isinstance(node, exp.Filter):
            found.append((("filter",), "aggregate FILTER (WHERE ...)"))
        elif isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
            found.append((("materialized",), "CTE [NOT] MATERIALIZED hint"))
        elif isinstance(node, exp.Struct):
            found.append((("{'",), "struct literal {'k': v}"))
        elif isinstance(node, exp.Interval) and node.this and node.this.is_string:
            if not node.args.get("unit"):
                found.append((("interval '",), "INTERVAL 'n unit' string"))
        elif isinstance(node, exp.DataType):
            text = node.sql("duckdb")
            base = re.split(r"[\s(<\[]", text, maxsplit=1)[0].upper()
            if base not in BIGQUERY_TYPES or "[]" in text or ("(" in text and base == "STRUCT"):
                needles = TYPE_SPELLINGS.get(base.lower(), (base.lower(),))
                found.append((needles, f"type {text}"))
        elif isinstance(node, ORDER_SENSITIVE):
            duck = node.sql("duckdb")
            bigquery = node.sql("bigquery", unsupported_level=ErrorLevel.IGNORE)
            if duck.replace(" ", "").lower() != bigquery.replace(" ", "").lower():
                found.append((_names(node), f"{_head(duck).upper()}(...) argument order"))
        elif isinstance(node, exp.Func) and not isinstance(node, COSMETIC_FUNCTIONS + CONNECTORS):
            duck = _head(node.sql("duckdb"))
            bigquery = _head(node.sql("bigquery", unsupported_level=ErrorLevel.IGNORE))
            if duck != bigquery and re.fullmatch(r"[a-z_0-9]+", duck):
                found.append((_names(node), f"function {duck}() (BigQuery: {bigquery or '?'})"))
    return sorted(set(found))


# --- where a construct comes from ------------------------------------------


class Macros:
    """The manifest's macros: their text, dependencies and which are dispatched."""

    def __init__(self, manifest: dict) -> None:
        self.macros = manifest["macros"]
        by_name: dict[str, list[str]] = {}
        for unique_id, macro in self.macros.items():
            by_name.setdefault(macro["name"], []).append(unique_id)
        self.implementations: dict[str, list[str]] = {}
        self.dispatched: set[str] = set()
        for unique_id, macro in self.macros.items():
            if "adapter.dispatch(" in macro["macro_sql"]:
                impls = [
                    impl
                    for name, ids in by_name.items()
                    if name.endswith(f"__{macro['name']}")
                    for impl in ids
                ]
                self.implementations[unique_id] = impls
                self.dispatched.update(impls)

    def closure(self, roots: list[str]) -> set[str]:
        seen: set[str] = set()
        stack = list(roots)
        while stack:
            unique_id = stack.pop()
            if unique_id in seen or unique_id not in self.macros:
                continue
            seen.add(unique_id)
            stack.extend(self.macros[unique_id]["depends_on"]["macros"])
            stack.extend(self.implementations.get(unique_id, []))
        return seen

    def origin(self, needles: tuple[str, ...], roots: list[str]) -> str | None:
        """None when a dispatched implementation writes one of ``needles``; else where it
        comes from."""
        holders = [
            unique_id
            for unique_id in sorted(self.closure(roots))
            if mentions(self.macros[unique_id]["macro_sql"].lower(), needles)
        ]
        if any(holder in self.dispatched for holder in holders):
            return None
        if holders:
            names = ", ".join(self.macros[h]["name"] for h in holders)
            return f"from macro {names}, not adapter-dispatched"
        return "from source() / ref() rendering"


def mentions(text: str, needles: tuple[str, ...]) -> bool:
    for needle in needles:
        if re.fullmatch(r"\w+", needle):
            if re.search(rf"(?<![\w.]){re.escape(needle)}(?!\w)", text):
                return True
        elif needle in text:
            return True
    return False


# --- the compile, once ------------------------------------------------------


def dbt_compile(work: Path, *args: str) -> str:
    """``dbt compile`` with the in-memory lint target over an empty landing in ``work``."""
    (work / "landing").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "AI_CARBON_LANDING": str(work / "landing"),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    result = subprocess.run(
        [
            str(BIN / "dbt"),
            "compile",
            "--project-dir",
            str(PROJECT),
            "--profiles-dir",
            str(PROJECT),
            "--target",
            "lint",
            "--quiet",
            *args,
        ],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> tuple[dict, Path]:
    work = tmp_path_factory.mktemp("portability")
    dbt_compile(work, "--select", "resource_type:model")
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    return manifest, work / "target"


def violations(manifest: dict, target: Path) -> list[Violation]:
    macros = Macros(manifest)
    found: set[Violation] = set()
    models = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == "ai_carbon"
    ]
    for node in models:
        name = node["name"]
        raw = strip_jinja_and_comments((PROJECT / node["original_file_path"]).read_text())
        for _, pattern, what in RAW_TOKENS:
            match = re.search(pattern, raw)
            if match:
                shown = " ".join(match.group(0).split())
                found.add(Violation(name, f"{what}: `{shown}`", "in the model"))
        compiled_file = target / "compiled" / "ai_carbon" / node["original_file_path"]
        for needles, construct in compiled_findings(compiled_file.read_text()):
            if mentions(raw, needles):
                # the raw scan names it, or it is the model's own all the same
                named = [p for n, p, _ in RAW_TOKENS if set(n.split()) & set(needles)]
                if not any(re.search(p, raw) for p in named):
                    found.add(Violation(name, construct, "in the model"))
                continue
            origin = macros.origin(needles, node["depends_on"]["macros"])
            if origin is not None:
                found.add(Violation(name, construct, origin))
    return sorted(found)


def test_every_model_is_portable_to_bigquery(compiled):
    manifest, target = compiled
    found = violations(manifest, target)
    assert not found, f"{len(found)} violation(s):\n" + "\n".join(map(str, found))


def test_the_checks_catch_duckdb_only_sql():
    # GIVEN compiled SQL with DuckDB-only constructs
    sql = (
        "select list_transform(xs, lambda x: x + 1) as a, tags['k'] as b, "
        "cast(v as varchar) as c, date_trunc('month', t) as d, "
        "epoch_ms(ms) as e, name like 'a\\_%' escape '\\' as f "
        "from (values (1), (2)) as v (x)"
    )
    sql = f"with rows as not materialized ({sql}) select * from rows"
    # WHEN sqlglot reads it as DuckDB
    constructs = " | ".join(construct for _, construct in compiled_findings(sql))
    # THEN each is reported
    for expected in (
        "lambda",
        "subscript",
        "type TEXT",
        "DATE_TRUNC",
        "ESCAPE",
        "VALUES",
        "MATERIALIZED",
    ):
        assert expected in constructs, (expected, constructs)
    # AND an AND / OR over a function is not read as a function spelled `and`
    connected = compiled_findings("select contains(a, 'x') and b as c from t")
    assert [needles for needles, _ in connected] == [("contains",)], connected
    # AND the raw-token scan sees through Jinja but not into it
    raw = strip_jinja_and_comments(
        "with r as {{ cte_inlined() }} (select 1) "
        "select {{ map_value('t', 'k') }} as x, y::int -- z::int, as not materialized\n"
    )
    hits = [what for _, pattern, what in RAW_TOKENS if re.search(pattern, raw)]
    assert hits == ["`::` cast (BigQuery: CAST(x AS t))"]
    assert re.search(RAW_TOKENS[-1][1], "with r as not materialized (select 1)")


# --- the bigquery__ implementations -----------------------------------------

BIGQUERY_RENDERED = """
{%- set empties = {} -%}
{%- for dataset, columns in bigquery__landing_contract().items() -%}
    {%- do empties.update({dataset: bigquery__landing_typed_empty(columns) | string}) -%}
{%- endfor -%}
{%- for dataset, columns in bigquery__disclosure_contract().items() -%}
    {%- do empties.update({dataset: bigquery__landing_typed_empty(columns) | string}) -%}
{%- endfor -%}
{{ tojson({
    'empties': empties,
    'types': {
        'varchar': bigquery_type('varchar'),
        'double': bigquery_type('double'),
        'bigint': bigquery_type('bigint'),
        'timestamptz': bigquery_type('timestamptz'),
        'date': bigquery_type('date'),
        'varchar[]': bigquery_type('varchar[]'),
        'map': bigquery_type('map(varchar, varchar)'),
        'labels': bigquery_type('struct("key" varchar, "value" varchar)[]'),
        'project': bigquery_type(
            'struct(id varchar, "name" varchar, labels struct("key" varchar, "value" varchar)[])'
        ),
    },
    'sql': {
        'type_double': 'select cast(x as ' ~ bigquery__type_double() ~ ') as y from t',
        'like_column': 'select ' ~ bigquery__like_escaped('host', 'rules.like_pattern', none)
            ~ ' as y from t',
        'like_literal': 'select ' ~ bigquery__like_escaped('sku', none, 'Standard\\_%\\_%') ~ ' as y from t',
        'join_non_null': 'select ' ~ bigquery__join_non_null(' | ', ['a', 'b', 'c']) ~ ' as y from t',
        'empty_map': 'select coalesce(tags, ' ~ bigquery__empty_map() ~ ') as y from t',
    },
}) }}
"""


@pytest.fixture(scope="module")
def bigquery_rendered(tmp_path_factory) -> dict:
    output = dbt_compile(
        tmp_path_factory.mktemp("bigquery_rendered"), "--inline", BIGQUERY_RENDERED
    )
    return json.loads(output[output.index("{") :])


def bigquery_findings(sql: str) -> list[str]:
    """What sqlglot's BigQuery dialect cannot read, or types BigQuery lacks."""
    # dbt-bigquery quotes names with backticks; the DuckDB adapter rendered them
    sql = re.sub(r'"(\w+)"', r"`\1`", sql)
    try:
        tree = sqlglot.parse_one(sql, read="bigquery")
    except ParseError as error:
        return [f"not BigQuery: {str(error).splitlines()[0][:120]}"]

    # sqlglot reads DuckDB's names too (DOUBLE, VARCHAR) and prints BigQuery's:
    # a type is BigQuery's own when printing it gives back what was written
    def normal(text: str) -> str:
        text = re.sub(r"\s*([<>,])\s*", r"\1", " ".join(text.split()))
        return text.lower().replace("`", "")

    written = normal(sql)
    found = []
    for node in tree.find_all(exp.DataType):
        printed = normal(node.sql("bigquery"))
        if not re.search(rf"(?<!\w){re.escape(printed)}(?!\w)", written):
            found.append(f"type {printed} is BigQuery's spelling, not what was written")
    return found


def test_landing_contract_types_are_spelled_for_bigquery(bigquery_rendered):
    # GIVEN the contract's DuckDB types translated by bigquery_type
    types = bigquery_rendered["types"]
    # THEN each is BigQuery's spelling, worked out by hand from its type docs:
    # scalars by name, STRUCT(...) -> STRUCT<...>, t[] -> ARRAY<t> (innermost
    # first), quoted field names in backticks, and a MAP as the repeated
    # key / value record of BigQuery's billing export labels
    assert types == {
        "varchar": "string",
        "double": "float64",
        "bigint": "int64",
        "timestamptz": "timestamp",
        "date": "date",
        "varchar[]": "array<string>",
        "map": "array<struct<key string, value string>>",
        "labels": "array<struct<`key` string, `value` string>>",
        "project": (
            "struct<id string, `name` string, labels array<struct<`key` string, `value` string>>>"
        ),
    }


def test_bigquery_implementations_render_bigquery_sql(bigquery_rendered):
    # GIVEN every typed empty relation of both contracts and each bigquery__
    # macro, rendered as dbt-bigquery would call them
    statements = {**bigquery_rendered["empties"], **bigquery_rendered["sql"]}
    assert len(bigquery_rendered["empties"]) >= 25, sorted(bigquery_rendered["empties"])
    # (the check tells DuckDB's type names from BigQuery's)
    assert bigquery_findings("select cast(null as double) as x from t")
    assert bigquery_findings("select cast(null as struct(a varchar)) as x from t")
    assert not bigquery_findings("select cast(null as struct<a string>) as x from t")
    # WHEN sqlglot reads them as BigQuery
    problems = {name: bigquery_findings(sql) for name, sql in statements.items()}
    # THEN all parse, with BigQuery's types only
    assert not {name: found for name, found in problems.items() if found}, problems
    # AND the pieces are BigQuery's own spellings: no ESCAPE clause (a raw
    # literal keeps the backslashes), ARRAY_TO_STRING skips nulls as CONCAT_WS
    # does, FLOAT64 for DuckDB's DOUBLE, and the empty relation filters
    # outside a FROM (BigQuery has no WHERE without one)
    sql = bigquery_rendered["sql"]
    assert sql["like_column"] == "select host like rules.like_pattern as y from t"
    assert sql["like_literal"] == "select sku like r'Standard\\_%\\_%' as y from t"
    assert sql["join_non_null"] == "select array_to_string([a, b, c], ' | ') as y from t"
    assert sql["type_double"] == "select cast(x as float64) as y from t"
    empty = " ".join(bigquery_rendered["empties"]["org.sites"].split())
    assert empty.startswith("select * from ( select cast(null as string) as ")
    assert empty.endswith(") as typed_empty where false")
