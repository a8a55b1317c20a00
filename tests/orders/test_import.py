"""CSV import: upserts by order number, bad rows reported with line and reason."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ivr.cli import main
from ivr.models import Customer, Order
from ivr.orders.importer import CSV_HEADER

HEADER = ",".join(CSV_HEADER)
GOOD = (
    "4711,Erika Mustermann,0151 12345678,erika@example.de,10115,shipped,DHL,JJD0001,2026-11-12,,"
    "2026-11-26,,1 × Wanderschuhe"
)


def _write(tmp_path, *lines):
    path = tmp_path / "orders.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def test_import_stores_orders_and_links_customers(runner, session, tmp_path):
    no_phone = "4712,Max Muster,,max@example.de,80331,processing,,,2026-11-20T14:03:00+01:00,,,,"
    path = _write(tmp_path, GOOD, no_phone)
    result = runner.invoke(main, ["orders", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(
        "2 orders imported (2 new, 0 updated, 0 unchanged), 0 duplicate rows, 0 rows rejected"
    )
    order = session.scalar(select(Order).where(Order.order_number == "4711"))
    assert (order.phone, order.status) == ("+4915112345678", "shipped")
    assert order.expected_delivery == date(2026, 11, 26)
    customer = session.get(Customer, order.customer_id)
    assert customer.phone == "+4915112345678" and customer.name == "Erika Mustermann"
    other = session.scalar(select(Order).where(Order.order_number == "4712"))
    assert other.ordered_at == date(2026, 11, 20) and other.customer_id is None


def test_reimport_updates_by_order_number(runner, session, tmp_path):
    runner.invoke(main, ["orders", "import", str(_write(tmp_path, GOOD))])
    delayed = GOOD.replace(",shipped,", ",delayed,").replace("2026-11-26", "2026-11-30")
    result = runner.invoke(main, ["orders", "import", str(_write(tmp_path, delayed))])
    assert "1 orders imported (0 new, 1 updated, 0 unchanged)" in result.output
    orders = session.scalars(select(Order)).all()
    assert [(o.status, o.expected_delivery) for o in orders] == [("delayed", date(2026, 11, 30))]


def test_bad_rows_are_reported_with_line_and_reason_and_the_rest_imports(runner, session, tmp_path):
    path = _write(
        tmp_path,
        GOOD,
        GOOD.replace("4711,", "12ab,", 1),
        GOOD.replace("4711,", "4713,", 1).replace(",shipped,", ",lost,"),
        GOOD.replace("4711,", "4714,", 1).replace("2026-11-26", "26.11.2026"),
        GOOD.replace("4711,", "4715,", 1).replace("0151 12345678", "call me"),
        "4716,too,few,fields",
        GOOD.replace("4711,", "4717,", 1),
    )
    result = runner.invoke(main, ["orders", "import", str(path)])
    assert result.exit_code == 0
    assert f"{path}:3: order_number must be 3 to 20 digits" in result.output
    assert f"{path}:4: status must be one of" in result.output
    assert f"{path}:5: expected_delivery is not an ISO 8601 date (YYYY-MM-DD)" in result.output
    assert f"{path}:6: phone is not a valid phone number" in result.output
    assert f"{path}:7: expected 13 fields, found 4" in result.output
    assert result.output.strip().endswith(
        "2 orders imported (2 new, 0 updated, 0 unchanged), 0 duplicate rows, 5 rows rejected"
    )
    assert "26.11.2026" not in result.output and "call me" not in result.output
    assert sorted(session.scalars(select(Order.order_number))) == ["4711", "4717"]


def test_a_wrong_header_imports_nothing(runner, session, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("number,status\n4711,shipped\n", encoding="utf-8")
    result = runner.invoke(main, ["orders", "import", str(path)])
    assert result.exit_code == 1
    assert "line 1 has 2 columns separated by ','; missing: order_number, customer_name" in result.output
    assert (
        "The header must name these columns, separated by ',' or ';': order_number,customer_name,"
        in result.output
    )
    assert session.scalars(select(Order)).all() == []


def test_thousands_of_rows_import_in_batches_with_duplicates(runner, session, tmp_path):
    rows = [
        f"{100000 + i % 2500},Kunde {i},+49151{i % 2500:07d},k{i}@example.de,10115,shipped,DHL,,"
        f"2026-11-12,,2026-11-26,,Artikel"
        for i in range(3000)
    ]  # 500 numbers appear twice
    result = runner.invoke(main, ["orders", "import", str(_write(tmp_path, *rows))])
    assert result.output.strip().endswith(
        "2500 orders imported (2500 new, 0 updated, 0 unchanged), 500 duplicate rows, 0 rows rejected"
    )
    assert "orders.csv:2502: repeats the order number of line 2; the later row is used" in result.output
    assert "480 more duplicate rows" in result.output
    assert len(session.scalars(select(Order.id)).all()) == 2500
    assert session.scalar(select(Order.customer_name).where(Order.order_number == "100000")) == "Kunde 2500"


def test_a_long_import_reports_progress_on_stderr(runner, session, tmp_path):
    rows = [
        f"{100000 + i},Kunde {i},,k{i}@example.de,10115,shipped,DHL,,2026-11-12,,2026-11-26,,Artikel"
        for i in range(10_500)
    ]
    path = _write(tmp_path, *rows)
    result = runner.invoke(main, ["orders", "import", str(path)])
    assert result.exit_code == 0
    assert f"{path}: 10000 rows read, 10000 orders stored so far" in result.stderr
    assert "10000 rows read" not in result.stdout
    assert result.stdout.strip().endswith(
        "10500 orders imported (10500 new, 0 updated, 0 unchanged), 0 duplicate rows, 0 rows rejected"
    )
