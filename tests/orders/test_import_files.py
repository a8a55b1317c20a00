"""CSV files as shops really export them: Excel encodings and delimiters, broken rows, repeats."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from ivr.cli import main
from ivr.models import Order
from ivr.orders.importer import CSV_HEADER

HEADER = ",".join(CSV_HEADER)


def _row(number: int, name: str = "Erika Mustermann", sep: str = ",", items: str = "1 × Wanderschuhe") -> str:
    fields = [
        str(number),
        name,
        "0151 12345678",
        "erika@example.de",
        "10115",
        "shipped",
        "DHL",
        "",
        "2026-11-12",
        "",
        "2026-11-26",
        "",
        items,
    ]
    return sep.join(fields)


def _import(runner, tmp_path, data: bytes):
    path = tmp_path / "orders.csv"
    path.write_bytes(data)
    return path, runner.invoke(main, ["orders", "import", str(path)])


def _numbers(session) -> list[str]:
    return sorted(session.scalars(select(Order.order_number)))


def test_an_excel_file_in_windows_1252_with_semicolons_imports(runner, session, tmp_path):
    text = "\r\n".join(
        [";".join(CSV_HEADER), _row(4711, "Jürgen Müller", ";"), _row(4712, "Renée Weiß", ";")]
    )
    path, result = _import(runner, tmp_path, text.encode("cp1252") + b"\r\n")
    assert result.exit_code == 0, result.output
    assert f"{path}: read as Windows-1252, fields separated by ';'" in result.output
    assert result.output.strip().endswith(
        "2 orders imported (2 new, 0 updated, 0 unchanged), 0 duplicate rows, 0 rows rejected"
    )
    names = session.scalars(select(Order.customer_name).order_by(Order.order_number)).all()
    assert names == ["Jürgen Müller", "Renée Weiß"]


def test_utf8_with_bom_and_columns_in_another_order_import(runner, session, tmp_path):
    columns = list(reversed(CSV_HEADER))
    row = list(reversed(_row(4711, "Jürgen Müller").split(",")))
    path, result = _import(
        runner, tmp_path, ("\ufeff" + ",".join(columns) + "\n" + ",".join(row) + "\n").encode()
    )
    assert f"{path}: read as UTF-8, fields separated by ','" in result.output
    order = session.scalar(select(Order))
    assert (order.order_number, order.customer_name, order.status) == ("4711", "Jürgen Müller", "shipped")


def test_a_file_in_no_known_encoding_says_what_to_do(runner, session, tmp_path):
    path, result = _import(runner, tmp_path, HEADER.encode() + b"\n4711,\x81\x8d\n")
    assert result.exit_code == 1
    assert "neither UTF-8 nor Windows-1252; save it from Excel as 'CSV UTF-8'" in result.output
    assert _numbers(session) == []


def test_an_unclosed_quote_costs_one_row_not_the_thousand_after_it(runner, session, tmp_path):
    rows = [_row(4700), _row(4701, '"Erika Mustermann')] + [_row(10000 + i) for i in range(1000)]
    path, result = _import(runner, tmp_path, "\n".join([HEADER, *rows, ""]).encode())
    assert f"{path}:3: a quote is not closed" in result.output
    assert result.output.strip().endswith(
        "1001 orders imported (1001 new, 0 updated, 0 unchanged), 0 duplicate rows, 1 rows rejected"
    )
    assert len(_numbers(session)) == 1001 and "4701" not in _numbers(session)
    assert "Mustermann" not in result.output


def test_an_unclosed_quote_before_a_quoted_field_costs_one_row(runner, session, tmp_path):
    rows = [_row(4701, '"Erika Mustermann'), _row(4702), _row(4703, items='"Schuhe, rot"'), _row(4704)]
    path, result = _import(runner, tmp_path, "\n".join([HEADER, *rows, ""]).encode())
    assert f"{path}:2: a quote is not closed" in result.output
    assert _numbers(session) == ["4702", "4703", "4704"]
    assert session.scalar(select(Order.items).where(Order.order_number == "4703")) == "Schuhe, rot"


def test_a_quoted_field_over_two_lines_is_one_row(runner, session, tmp_path):
    rows = [_row(4711, items='"1 × Wanderschuhe\n1 × Socken"'), _row(4712)]
    _, result = _import(runner, tmp_path, "\n".join([HEADER, *rows, ""]).encode())
    assert "2 orders imported" in result.output
    assert (
        session.scalar(select(Order.items).where(Order.order_number == "4711"))
        == "1 × Wanderschuhe\n1 × Socken"
    )


def test_a_field_over_128_kib_costs_its_row_only(runner, session, tmp_path):
    rows = [_row(4711), _row(4712, items="Artikel " * 20_000), _row(4713)]
    path, result = _import(runner, tmp_path, "\n".join([HEADER, *rows, ""]).encode())
    assert f"{path}:3: a field is longer than 128 KiB" in result.output
    assert _numbers(session) == ["4711", "4713"]
    assert "Artikel" not in result.output


def test_a_nul_byte_rejects_its_row_without_showing_it(runner, session, tmp_path):
    rows = [_row(4711), _row(4712, "Erika\x00Mustermann"), _row(4713)]
    path, result = _import(runner, tmp_path, "\n".join([HEADER, *rows, ""]).encode())
    assert result.exit_code == 0
    assert f"{path}:3: customer_name contains a NUL byte" in result.output
    assert _numbers(session) == ["4711", "4713"]
    assert "Mustermann" not in result.output
    assert "Traceback" not in result.output


def test_duplicates_are_named_and_counted_once(runner, session, tmp_path):
    rows = [_row(4711), _row(4712)] + [_row(4711, "Erika Neu")] * 5
    path, result = _import(runner, tmp_path, "\n".join([HEADER, *rows, ""]).encode())
    for line in range(4, 9):
        assert f"{path}:{line}: repeats the order number of line 2; the later row is used" in result.output
    assert result.output.strip().endswith(
        "2 orders imported (2 new, 0 updated, 0 unchanged), 5 duplicate rows, 0 rows rejected"
    )
    assert session.scalar(select(Order.customer_name).where(Order.order_number == "4711")) == "Erika Neu"
    _, again = _import(
        runner, tmp_path, "\n".join([HEADER, _row(4711, "Erika Neu"), _row(4712, "Max"), ""]).encode()
    )
    assert again.output.strip().endswith(
        "2 orders imported (0 new, 1 updated, 1 unchanged), 0 duplicate rows, 0 rows rejected"
    )


def test_a_data_row_where_the_header_belongs_is_not_echoed(runner, session, tmp_path):
    path, result = _import(runner, tmp_path, ";".join(_row(4711).split(",")).encode("utf-8") + b"\n")
    assert result.exit_code == 1
    assert f"{path}: line 1 has 13 columns separated by ';'; missing: order_number" in result.output
    assert "unknown names in columns 1, 2, 3" in result.output
    assert "Mustermann" not in result.output and "12345678" not in result.output


@pytest.fixture
def refusing_database(session):
    """The orders table refuses order 4712 (a database-side constraint the import cannot know)."""
    if session.get_bind().dialect.name == "postgresql":
        create = [
            "CREATE FUNCTION refuse_4712() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.order_number = '4712' THEN RAISE EXCEPTION 'refused: %', NEW.customer_name; END IF; "
            "RETURN NEW; END $$",
            "CREATE TRIGGER refuse_4712 BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION refuse_4712()",
        ]
        drop = ["DROP TRIGGER refuse_4712 ON orders", "DROP FUNCTION refuse_4712()"]
    else:
        create = [
            "CREATE TRIGGER refuse_4712 BEFORE INSERT ON orders WHEN NEW.order_number = '4712' "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ]
        drop = ["DROP TRIGGER refuse_4712"]
    for statement in create:
        session.execute(text(statement))
    session.commit()
    yield
    for statement in drop:
        session.execute(text(statement))
    session.commit()


@pytest.mark.usefixtures("refusing_database")
def test_a_row_the_database_refuses_costs_only_that_row(runner, session, tmp_path, caplog):
    rows = [_row(4711), _row(4712, "Erika Geheim"), _row(4713)]
    path, result = _import(runner, tmp_path, "\n".join([HEADER, *rows, ""]).encode())
    assert f"{path}:3: the database refused this row" in result.output
    assert result.output.strip().endswith(
        "2 orders imported (2 new, 0 updated, 0 unchanged), 0 duplicate rows, 1 rows rejected"
    )
    assert _numbers(session) == ["4711", "4713"]
    assert "Geheim" not in result.output and "Geheim" not in caplog.text
    assert "line 3 refused" in caplog.text
