"""The nightly build's data tests read the months the night changed
(dbt_project/macros/tests_follow_months.sql), and a bad month still stops
it: a test that passed every other month fails the build on the month it
reads, records nothing, and the published warehouse stays as it was.

Which months each test reads on a night that changes some is checked in
test_incremental_new_month.py.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from harness import sha256
from test_incremental import last_build_log
from test_incremental_new_month import months_tested, passed_months

from transform.build import BuildError

NOT_NULL_TYPE = "not_null_stg_aws__cur_line_items_line_item_type"


def test_a_bad_row_in_a_month_the_night_changed_fails_the_build(workspace):
    # GIVEN the published warehouse of January and February, whose data tests
    # passed on both months
    warehouse = workspace.warehouse
    published = sha256(warehouse)
    assert passed_months(warehouse, NOT_NULL_TYPE) == {"2025-01", "2025-02"}
    # WHEN February's landed CUR partition comes back with a line item
    # without a type (written again: its files change)
    part = next((workspace.landing / "aws_cur" / "line_items" / "month=2025-02").glob("*.parquet"))
    table = pq.read_table(part)
    index = table.schema.get_field_index("line_item_line_item_type")
    types = table.column(index).to_pylist()
    types[0] = None
    field = table.schema.field(index).with_nullable(True)
    pq.write_table(table.set_column(index, field, pa.array(types, type=field.type)), part)
    # THEN the nightly build fails on that test, which read February alone
    with pytest.raises(BuildError, match=NOT_NULL_TYPE):
        workspace.build("nightly")
    assert months_tested(last_build_log(workspace))[NOT_NULL_TYPE] == "2025-02"
    # AND the published warehouse is the one before, with what its tests passed
    assert sha256(warehouse) == published
    assert passed_months(warehouse, NOT_NULL_TYPE) == {"2025-01", "2025-02"}
